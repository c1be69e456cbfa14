// cotenant-import: reading an input file into rows (docs/IMPORT.md, "Input formats").
//
// An Input is the bytes of one file or of standard input, gzip-compressed or not (told
// by the gzip magic bytes, not by the name). A RowReader splits them into rows: CSV per
// RFC 4180 (libcsv: quoted fields, quotes doubled inside them, line ends inside quotes,
// CRLF or LF line ends, a UTF-8 byte-order mark at the start, any one-byte delimiter), or
// JSON Lines (one JSON object per line; blank lines are skipped).
//
// Every row keeps what a reject file needs to point at it: the line it starts on, its
// original text, and the offset just after it, from which a resumed import reads on.
//
// Thread safety: none; one reader per thread.

#ifndef COTENANT_TOOLS_COTENANT_IMPORT_READER_H_
#define COTENANT_TOOLS_COTENANT_IMPORT_READER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace cotenant::import {

// An input that cannot be opened or read (a gzip stream that is corrupt or ends early
// included). The message names the file.
class InputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Input {
 public:
  // "-" is standard input. Throws InputError "cannot open FILE: <reason>".
  static std::unique_ptr<Input> open(const std::string& path);
  virtual ~Input() = default;

  // Reads up to n bytes of the (decompressed) content; 0 only at its end. Throws InputError.
  virtual size_t read(char* buf, size_t n) = 0;
  // Bytes of the file itself consumed so far (compressed bytes for gzip): progress.
  virtual uint64_t fileBytesRead() const = 0;
  // The file's size when it is a regular file (for an ETA); nullopt for pipes and stdin.
  virtual std::optional<uint64_t> fileSize() const = 0;
  // Skips to `offset` bytes into the content, so the next read starts there (resume).
  // Plain regular files seek; anything else reads and discards. Throws InputError when
  // the content is shorter than `offset`.
  virtual void skipTo(uint64_t offset) = 0;
  // True for a regular file (only those can be resumed: standard input cannot be re-read).
  virtual bool resumable() const = 0;
  const std::string& name() const { return name_; }  // the path given, "-" for stdin

 protected:
  std::string name_;
};

enum class Format { kCsv, kJsonl };

struct ReaderOptions {
  Format format = Format::kCsv;
  char delimiter = ',';             // CSV only
  bool header = true;               // CSV only: the first row names the columns
  size_t max_row_bytes = 16u << 20; // a longer row is a bad row (memory stays bounded)
};

struct Row {
  uint64_t line = 0;        // 1-based line of the content on which the row starts
  uint64_t end_offset = 0;  // offset in the content just after the row and its line end
  std::string text;         // the row exactly as in the input, without its final line end
                            // (cut to max_row_bytes when longer)
  std::vector<std::string> cells;  // CSV: the fields, unquoted, in order
  nlohmann::json object;           // JSONL: the parsed object
  // Non-empty when the row cannot be read: "unterminated quoted field", "invalid JSON:
  // <reason>", "a JSON Lines row must be an object", "row of N bytes exceeds the limit of
  // M bytes". Reading goes on with the next row.
  std::string error;
};

class RowReader {
 public:
  // Reads from `in` (not owned; must outlive the reader). With a CSV header, reads the
  // header row at once: see columns(). Starting at `start_offset` (a Row::end_offset of
  // an earlier run, for resume) skips there first; the header is still read from the
  // start of the content, and line numbers continue from `start_line` (the earlier
  // reader's line() just after that row: the lines before the offset).
  // Throws InputError when the input cannot be read, or a CSV with a header has no
  // header row.
  RowReader(Input* in, const ReaderOptions& options, uint64_t start_offset = 0,
            uint64_t start_line = 0);
  ~RowReader();
  RowReader(const RowReader&) = delete;
  RowReader& operator=(const RowReader&) = delete;

  // CSV with a header: the column names (BOM stripped from the first). Otherwise empty.
  const std::vector<std::string>& columns() const;
  // Next row; false at the end of the input. Throws InputError on a read error.
  bool next(Row* row);
  // Offset in the content just after the last row returned (0 before the first).
  uint64_t offset() const;
  // The line just after the last row returned.
  uint64_t line() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cotenant::import

#endif  // COTENANT_TOOLS_COTENANT_IMPORT_READER_H_
