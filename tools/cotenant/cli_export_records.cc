// `cotenant export-records OBJECT`: every record of an object the caller sees (with
// --context, another tenant's, through its data-sharing policy) as JSON Lines or CSV that
// `cotenant-import OBJECT FILE` reads back into the same records (docs/CLI.md).
//
// Records are read page by page with continuation tokens; the next page is asked for while
// the last one is written. Values are written in the forms the importer's coercion takes
// (tools/cotenant-import/mapping.h), so export and import are inverses: JSON Lines exactly,
// CSV up to its one ambiguity (an empty cell is null, so an empty text comes back null).

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <future>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "commands.h"

namespace cotenant::cli {
namespace {

using Clock = std::chrono::steady_clock;

enum class Format { kJsonl, kCsv };

struct ExportOptions {
  std::string object, format = "jsonl", context, output;
  SearchSpec search;
  uint32_t page = 1000;
  bool withIds = false, quiet = false;
};

// ---- values in the forms the importer reads -------------------------------------------------

// ISO-8601 text, and so the importer, holds years 0001..9999 only.
constexpr int64_t kFirstIsoMicros = int64_t{-62135596800} * 1000000;           // 0001-01-01T00:00:00Z
constexpr int64_t kLastIsoMicros = int64_t{253402300799} * 1000000 + 999999;  // 9999-12-31T23:59:59.999999Z

// "2024-05-01T12:00:00.000250Z": always six fraction digits, so a column reads alike.
// REQUIRES: kFirstIsoMicros <= micros <= kLastIsoMicros.
std::string isoMicros(int64_t micros) {
  std::string t = formatTimestamp(micros);  // "YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]Z"
  std::string fraction = t.substr(19, t.size() - 20);
  if (fraction.empty()) fraction = ".";
  fraction.resize(7, '0');
  return t.substr(0, 19) + fraction + "Z";
}

// The shortest text that reads back as the same double.
std::string floatText(double d) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, d);
  return std::string(buf, res.ptr);
}

std::string jsonString(const std::string& s) {
  return nlohmann::json(s).dump();  // throws nlohmann::json::type_error for invalid UTF-8
}

// RFC 4180: quoted when it holds the delimiter, a quote, CR or LF; quotes doubled.
void appendCsvCell(const std::string& s, std::string* out) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    *out += s;
    return;
  }
  *out += '"';
  for (char c : s) {
    if (c == '"') *out += '"';
    *out += c;
  }
  *out += '"';
}

// Turns records into lines of one format. The columns are the visible fields in declaration
// order (after id and version with --with-ids); a field a record lacks is written as null.
class RecordWriter {
 public:
  RecordWriter(Format format, std::vector<std::string> fields, bool withIds)
      : format_(format), fields_(std::move(fields)), withIds_(withIds) {}

  // CSV: the header row. JSON Lines has none.
  void header(std::string* out) const {
    if (format_ != Format::kCsv) return;
    std::vector<std::string> names;
    if (withIds_) names = {"id", "version"};
    names.insert(names.end(), fields_.begin(), fields_.end());
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) *out += ',';
      appendCsvCell(names[i], out);
    }
    *out += '\n';
  }

  // Throws Failed for a value the importer could not read back (a NaN or infinite float;
  // in CSV, a timestamp outside years 0001..9999), naming the record and the field.
  void record(const Record& r, std::string* out) const {
    try {
      if (format_ == Format::kCsv) {
        csvRow(r, out);
      } else {
        jsonLine(r, out);
      }
    } catch (const nlohmann::json::type_error&) {
      throw unwritable(r, "", "text that is not valid UTF-8");
    }
  }

 private:
  void jsonLine(const Record& r, std::string* out) const {
    *out += '{';
    bool first = true;
    auto key = [&](const std::string& name) {
      if (!first) *out += ',';
      first = false;
      *out += jsonString(name);
      *out += ':';
    };
    if (withIds_) {
      key("id");
      *out += jsonString(r.idString());  // a string, as every id in the CLI's JSON
      key("version");
      *out += std::to_string(r.version());
    }
    for (const std::string& name : fields_) {
      key(name);
      const Value& v = r.get(name);
      switch (v.type()) {
        case Value::Type::Null: *out += "null"; break;
        case Value::Type::Text: *out += jsonString(v.asText()); break;
        case Value::Type::Int: *out += std::to_string(v.asInt()); break;
        case Value::Type::Float: {
          checkFinite(r, name, v.asFloat());
          std::string f = floatText(v.asFloat());
          // JSON reads "-0" as the integer 0; "-0.0" keeps the sign.
          *out += f == "-0" ? "-0.0" : f;
          break;
        }
        case Value::Type::Bool: *out += v.asBool() ? "true" : "false"; break;
        case Value::Type::Timestamp: {
          int64_t t = v.asTimestamp();
          // Outside ISO's years, the importer's other form: a JSON integer of microseconds.
          if (t < kFirstIsoMicros || t > kLastIsoMicros) {
            *out += std::to_string(t);
          } else {
            *out += '"' + isoMicros(t) + '"';
          }
          break;
        }
      }
    }
    *out += "}\n";
  }

  void csvRow(const Record& r, std::string* out) const {
    size_t start = out->size();
    bool first = true;
    auto cell = [&](const std::string& text) {
      if (!first) *out += ',';
      first = false;
      appendCsvCell(text, out);
    };
    if (withIds_) {
      cell(r.idString());
      cell(std::to_string(r.version()));
    }
    for (const std::string& name : fields_) {
      const Value& v = r.get(name);
      switch (v.type()) {
        case Value::Type::Null: cell(""); break;
        case Value::Type::Text: cell(v.asText()); break;
        case Value::Type::Int: cell(std::to_string(v.asInt())); break;
        case Value::Type::Float:
          checkFinite(r, name, v.asFloat());
          cell(floatText(v.asFloat()));
          break;
        case Value::Type::Bool: cell(v.asBool() ? "true" : "false"); break;
        case Value::Type::Timestamp: {
          int64_t t = v.asTimestamp();
          if (t < kFirstIsoMicros || t > kLastIsoMicros) {
            throw unwritable(r, name, "a timestamp outside the years 0001..9999, which CSV can "
                                      "only hold as ISO-8601 text (--format jsonl writes it as "
                                      "microseconds since the epoch)");
          }
          cell(isoMicros(t));
          break;
        }
      }
    }
    // A line of one empty cell would read as a blank line, which the importer skips.
    if (out->size() == start) *out += "\"\"";
    *out += '\n';
  }

  void checkFinite(const Record& r, const std::string& field, double d) const {
    if (!std::isfinite(d)) {
      throw unwritable(r, field, "the float " + Value::floating(d).toString() +
                                     ", which cotenant-import does not accept");
    }
  }

  static Failed unwritable(const Record& r, const std::string& field, const std::string& what) {
    std::string where = "record " + r.idString() + (field.empty() ? "" : " field '" + field + "'");
    return Failed{ErrorCode::InvalidArgument, where + " holds " + what};
  }

  Format format_;
  std::vector<std::string> fields_;
  bool withIds_;
};

// ---- where the lines go ---------------------------------------------------------------------

// Standard output, or FILE written as FILE.tmp and renamed over FILE once all of it is
// there, so a failed export never leaves a FILE that looks complete: the temporary file is
// removed when the export fails (a killed export may leave FILE.tmp, never FILE).
class Output {
 public:
  // "" or "-": standard output. Throws UsageError when FILE.tmp cannot be created.
  explicit Output(const std::string& path) : path_(path == "-" ? "" : path) {
    if (path_.empty()) return;
    tmp_ = path_ + ".tmp";
    fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd_ < 0) throw UsageError("--output: cannot create " + tmp_ + ": " + std::strerror(errno));
  }
  ~Output() {
    if (!toFile() || committed_) return;
    if (fd_ >= 0) ::close(fd_);
    ::unlink(tmp_.c_str());
  }
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  bool toFile() const { return !path_.empty(); }
  std::string name() const { return toFile() ? path_ : "standard output"; }
  std::string* buffer() { return &buf_; }

  // Writes what the buffer holds. Throws Failed when the write fails.
  void flush() {
    const char* p = buf_.data();
    size_t left = buf_.size();
    while (left > 0) {
      ssize_t n = ::write(fd_, p, left);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("cannot write " + (toFile() ? tmp_ : name()));
      p += n;
      left -= static_cast<size_t>(n);
    }
    buf_.clear();
  }

  // Flushes; for a file, syncs it and renames FILE.tmp to FILE. Throws Failed.
  void commit() {
    flush();
    if (!toFile()) return;
    if (::fsync(fd_) != 0) fail("cannot sync " + tmp_);
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot write " + tmp_);
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) fail("cannot rename " + tmp_ + " to " + path_);
    committed_ = true;
  }

 private:
  [[noreturn]] static void fail(const std::string& what) {
    throw Failed{ErrorCode::Internal, what + ": " + std::strerror(errno)};
  }

  std::string path_;
  std::string tmp_;
  int fd_ = STDOUT_FILENO;
  bool committed_ = false;
  std::string buf_;
};

// ---- progress on stderr ---------------------------------------------------------------------

// One updating line on a terminal; otherwise a line every few seconds, for logs.
class Progress {
 public:
  Progress(bool quiet, std::string label)
      : quiet_(quiet),
        // The updating line would tear records shown on the same terminal.
        tty_(::isatty(STDERR_FILENO) == 1 && ::isatty(STDOUT_FILENO) != 1),
        label_(std::move(label)),
        start_(Clock::now()),
        last_(start_) {}
  ~Progress() { endLine(); }  // before an error message, when the export fails

  void update(uint64_t records) {
    if (quiet_) return;
    auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_).count() < (tty_ ? 0.2 : 5.0)) return;
    last_ = now;
    std::ostringstream line;
    line << label_ << ": " << records << " records written, " << static_cast<uint64_t>(rate(records))
         << " records/s";
    if (tty_) {
      std::cerr << "\r" << line.str() << "\033[K" << std::flush;
      open_ = true;
    } else {
      std::cerr << line.str() << "\n" << std::flush;
    }
  }

  void endLine() {
    if (!open_) return;
    std::cerr << "\n" << std::flush;
    open_ = false;
  }

  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
  double rate(uint64_t records) const {
    double s = seconds();
    return s > 0 ? static_cast<double>(records) / s : 0;
  }

 private:
  bool quiet_;
  bool tty_;
  bool open_ = false;  // an updating line is on the terminal
  std::string label_;
  Clock::time_point start_;
  Clock::time_point last_;
};

// ---- the command ----------------------------------------------------------------------------

void exportRecords(CliContext& s, const ExportOptions& o) {
  Format format = o.format == "csv" ? Format::kCsv : Format::kJsonl;
  bool toFile = !o.output.empty() && o.output != "-";
  if (s.json && !toFile) {
    throw UsageError("--json prints a summary on standard output, which holds the records "
                     "unless --output FILE is given");
  }
  SearchQuery q;
  q.object = o.object;
  applySearchSpec(o.search, q);
  q.numberOfRows = o.page;

  Client& c = s.client();
  std::optional<TenantContext> tc = tenantContextFor(s, o.context);
  Outcome<ObjectInfo> def = tc ? c.describeObject(o.object, *tc) : c.describeObject(o.object);
  check(def);
  std::vector<std::string> fields;
  for (const FieldDef& f : def.value().fields) {
    if (o.withIds && (f.name == "id" || f.name == "version")) {
      throw UsageError("--with-ids: " + o.object + " has a field named '" + f.name +
                       "', which the id column would hide; export without --with-ids");
    }
    if (!q.fields.empty()) q.fields += ',';
    q.fields += f.name;
    fields.push_back(f.name);
  }

  auto fetch = [&] { return tc ? c.searchAsync(q, *tc) : c.searchAsync(q); };
  // The first page before the output is touched: a bad --where or a refusal writes nothing.
  Result page = fetch().get();
  check(page);

  Output out(o.output);
  RecordWriter writer(format, fields, o.withIds);
  Progress progress(o.quiet, "export-records " + o.object);
  uint64_t written = 0;
  try {
    writer.header(out.buffer());
    while (true) {
      bool more = !page.complete();
      std::future<Result> next;
      if (more) {
        if (page.continuation().empty()) {
          throw Failed{ErrorCode::Internal,
                       "the server said more records follow but sent no continuation token"};
        }
        q.continuation = page.continuation();
        next = fetch();
      }
      for (const Record& r : page.getRecords()) {
        writer.record(r, out.buffer());
        ++written;
      }
      out.flush();  // page by page, so whoever reads standard output gets records as they come
      progress.update(written);
      if (!more) break;
      page = next.get();
      check(page);
    }
    out.commit();
  } catch (const Failed& f) {
    progress.endLine();
    throw Failed{f.code, f.message + " (export stopped after " + std::to_string(written) +
                             (written == 1 ? " record; " : " records; ") +
                             (toFile ? o.output + " was not written)" : "the output is incomplete)")};
  }
  progress.endLine();

  double secs = progress.seconds();
  if (s.json) {
    std::cout << nlohmann::json{{"object", o.object},
                                {"format", o.format},
                                {"records", written},
                                {"output", o.output},
                                {"seconds", secs},
                                {"recordsPerSecond", progress.rate(written)}}
                     .dump(2)
              << "\n";
  } else if (!o.quiet) {
    std::cerr << "export-records: " << written << (written == 1 ? " record" : " records") << " of "
              << o.object << " written to " << out.name() << " in " << std::fixed
              << std::setprecision(1) << secs << " s (" << static_cast<uint64_t>(progress.rate(written))
              << " records/s)\n";
  }
}

}  // namespace

void AddExportRecordsCommand(CLI::App& app, CliContext& s) {
  auto& o = s.keep<ExportOptions>();
  auto* sub = s.leaf(&app, "export-records",
                     "Write every record of an object you can see as JSON Lines or CSV, for "
                     "cotenant-import",
                     [&s, &o] { exportRecords(s, o); });
  sub->footer(
      "The output re-imports with `cotenant-import OBJECT FILE` into the same records (new ids).\n"
      "JSON Lines is exact. CSV cannot tell an empty text from null: both are an empty cell\n"
      "and come back null. With --with-ids, import with --skip id --skip version.\n"
      "With --output FILE, the records go to FILE.tmp, renamed to FILE only when all are written.");
  sub->add_option("OBJECT", o.object, "object name")->required();
  addSearchSpecOptions(sub, o.search);
  sub->add_option("--format", o.format,
                  "jsonl (one JSON object per line; exact) or csv (header row, RFC 4180 quoting; "
                  "an empty text is written like null, as an empty cell)")
      ->check(CLI::IsMember({"jsonl", "csv"}))
      ->capture_default_str();
  sub->add_option("--context", o.context,
                  "export this tenant's records through its data-sharing policy");
  sub->add_option("--output", o.output,
                  "write to FILE (via FILE.tmp, renamed at the end) instead of standard output");
  sub->add_option("--page", o.page, "records per search page, 1..1000 (at most the server's "
                                    "--max-page-rows)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  sub->add_flag("--with-ids", o.withIds,
                "also write each record's id and version, first (cotenant-import then needs "
                "--skip id --skip version)");
  sub->add_flag("-q,--quiet", o.quiet, "no progress or summary on stderr");
}

}  // namespace cotenant::cli
