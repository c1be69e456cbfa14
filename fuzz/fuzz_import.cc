// cotenant-import's input parsers (tools/cotenant-import/reader.cc, mapping.cc): arbitrary
// bytes read as CSV (with or without a header, one of four delimiters) or as JSON Lines,
// and each row turned into record values for an object with a field of every type.
//
// Properties:
//   - reading never fails but with InputError, and mapping never but with MappingError;
//   - rows come in order: their lines never go back, their end offsets grow and stay
//     within the content, and each row's text is the content's bytes just before its end
//     offset (up to the line end), cut to the row limit;
//   - a row is either read (cells or an object) or carries an error, never both;
//   - resuming at any row's end offset, as a rerun after a checkpoint does, reads exactly
//     the rows that followed it, with the same lines, offsets, texts, cells and errors;
//   - converting a row either gives values or names why not (a column, or the row).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz/fuzz_util.h"
#include "mapping.h"
#include "reader.h"

namespace {

using cotenant::import::Format;
using cotenant::import::Input;
using cotenant::import::InputError;
using cotenant::import::Mapping;
using cotenant::import::MappingError;
using cotenant::import::MappingOptions;
using cotenant::import::ReaderOptions;
using cotenant::import::Rejection;
using cotenant::import::Row;
using cotenant::import::RowReader;

// The content in memory, handed out in reads of the sizes the input chose (so rows and
// quoted fields straddle the reader's buffer in every way).
class MemoryInput final : public Input {
 public:
  MemoryInput(std::string content, size_t chunk) : content_(std::move(content)), chunk_(chunk) {
    name_ = "fuzz.in";
  }
  size_t read(char* buf, size_t n) override {
    size_t k = std::min({n, chunk_, content_.size() - pos_});
    std::memcpy(buf, content_.data() + pos_, k);
    pos_ += k;
    return k;
  }
  uint64_t fileBytesRead() const override { return pos_; }
  std::optional<uint64_t> fileSize() const override { return content_.size(); }
  void skipTo(uint64_t offset) override {
    if (offset < pos_ || offset > content_.size()) throw InputError("cannot skip in fuzz.in");
    pos_ = static_cast<size_t>(offset);
  }
  bool resumable() const override { return true; }

 private:
  const std::string content_;
  const size_t chunk_;
  size_t pos_ = 0;
};

std::vector<Row> ReadAll(const std::string& content, size_t chunk, const ReaderOptions& options,
                         uint64_t start_offset, uint64_t start_line,
                         std::vector<std::string>* columns, bool* refused,
                         std::vector<uint64_t>* lines_after) {
  std::vector<Row> rows;
  *refused = false;
  MemoryInput in(content, chunk);
  try {
    RowReader reader(&in, options, start_offset, start_line);
    *columns = reader.columns();
    Row row;
    while (reader.next(&row)) {
      FUZZ_CHECK(reader.offset() == row.end_offset, "offset() is not the last row's end");
      FUZZ_CHECK(reader.line() >= row.line, "line() is before the last row");
      rows.push_back(row);
      lines_after->push_back(reader.line());
      FUZZ_CHECK(rows.size() <= content.size() + 1, "more rows than bytes");
    }
  } catch (const InputError& e) {
    // Only a CSV with a header may be refused, and only for want of a header row.
    FUZZ_CHECK(options.format == Format::kCsv && options.header,
               std::string("an input refused: ") + e.what());
    *refused = true;
  }
  return rows;
}

bool SameRow(const Row& a, const Row& b) {
  return a.line == b.line && a.end_offset == b.end_offset && a.text == b.text &&
         a.cells == b.cells && a.error == b.error && a.object == b.object;
}

std::vector<cotenant::FieldDef> Fields() {
  std::vector<cotenant::FieldDef> f(5);
  const char* names[] = {"name", "age", "score", "active", "seen"};
  cotenant::FieldType types[] = {cotenant::FieldType::Text, cotenant::FieldType::Int,
                                 cotenant::FieldType::Float, cotenant::FieldType::Bool,
                                 cotenant::FieldType::Timestamp};
  for (size_t i = 0; i < f.size(); ++i) {
    f[i].name = names[i];
    f[i].type = types[i];
  }
  return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2 || size > 65536) return 0;
  const uint8_t mode = data[0];
  const size_t chunk = 1 + data[1] % 64;
  std::string content(reinterpret_cast<const char*>(data) + 2, size - 2);

  ReaderOptions options;
  options.format = (mode & 1) != 0 ? Format::kJsonl : Format::kCsv;
  options.header = (mode & 2) != 0;
  const char delimiters[] = {',', ';', '\t', '|'};
  options.delimiter = delimiters[(mode >> 2) & 3];
  options.max_row_bytes = (mode & 16) != 0 ? 64 : 4096;  // small limits reach the cut rows

  std::vector<std::string> columns;
  bool refused = false;
  std::vector<uint64_t> lines_after;
  std::vector<Row> rows = ReadAll(content, chunk, options, 0, 0, &columns, &refused, &lines_after);
  if (refused) return 0;

  uint64_t last_line = 0, last_end = 0;
  for (const Row& r : rows) {
    FUZZ_CHECK(r.line >= 1 && r.line >= last_line, "a row's line goes back");
    FUZZ_CHECK(r.end_offset > last_end, "a row's end offset does not grow");
    FUZZ_CHECK(r.end_offset <= content.size(), "a row ends past the content");
    FUZZ_CHECK(r.text.size() <= options.max_row_bytes, "a row's text is over the limit");
    // The text starts where the row does: somewhere in the bytes since the last row.
    FUZZ_CHECK(content.substr(last_end, r.end_offset - last_end).find(r.text) != std::string::npos,
               "a row's text is not in the content it was read from");
    if (r.error.empty()) {
      FUZZ_CHECK(options.format == Format::kCsv ? r.object.is_null() : r.object.is_object(),
                 "a read row without its cells or object");
    } else {
      FUZZ_CHECK(r.cells.empty() && r.object.is_null(), "a row with an error and values");
    }
    last_line = r.line;
    last_end = r.end_offset;
  }

  // Resume after a row the input chooses, as a rerun after a checkpoint does.
  if (!rows.empty()) {
    size_t k = (static_cast<size_t>(data[1]) * 131u) % rows.size();
    std::vector<std::string> again_columns;
    std::vector<uint64_t> again_lines;
    bool again_refused = false;
    // What a checkpoint keeps: the row's end offset and the reader's line() after it.
    std::vector<Row> rest = ReadAll(content, chunk, options, rows[k].end_offset, lines_after[k],
                                    &again_columns, &again_refused, &again_lines);
    FUZZ_CHECK(!again_refused, "a resumed read refused the input");
    FUZZ_CHECK(again_columns == columns, "a resumed read has other columns");
    FUZZ_CHECK(rest.size() == rows.size() - k - 1,
               "a resumed read at row " + std::to_string(k) + " gives " +
                   std::to_string(rest.size()) + " rows, not " + std::to_string(rows.size() - k - 1));
    for (size_t i = 0; i < rest.size(); ++i) {
      FUZZ_CHECK(SameRow(rest[i], rows[k + 1 + i]),
                 "resumed row " + std::to_string(i) + " differs: '" + rest[i].text + "' line " +
                     std::to_string(rest[i].line) + " against '" + rows[k + 1 + i].text +
                     "' line " + std::to_string(rows[k + 1 + i].line));
    }
  }

  // Map the columns that are fields; skip the others.
  MappingOptions mo;
  for (const auto& c : columns) {
    bool field = false;
    for (const auto& f : Fields()) field = field || f.name == c;
    if (!field) mo.skipped.insert(c);
  }
  if ((mode & 32) != 0) mo.renames["label"] = "name";
  try {
    Mapping mapping(Fields(), columns, mo, options.format);
    for (const Row& r : rows) {
      if (!r.error.empty()) continue;
      cotenant::Parameters values;
      Rejection why;
      if (!mapping.convert(r, &values, &why)) {
        FUZZ_CHECK(!why.reason.empty(), "a row refused without a reason");
      }
    }
  } catch (const MappingError& e) {
    FUZZ_CHECK(std::strlen(e.what()) > 0, "a mapping error without a message");
  }
  return 0;
}
