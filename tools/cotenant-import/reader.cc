// cotenant-import: inputs (plain or gzip files, standard input) and the CSV / JSON Lines
// row reader.
//
// The content is read in large chunks and split into physical lines with memchr. CSV
// rows are parsed by libcsv, fed one physical line at a time: a row is complete when
// libcsv ended one on the line's '\n'; otherwise a quoted field goes on over the line end
// and the next physical line belongs to the same row. That way each row's original text,
// first line and end offset are known exactly, which resume and reject files depend on.

#include "reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <limits>
#include <utility>

#include <csv.h>

namespace cotenant::import {
namespace {

constexpr size_t kChunk = size_t{1} << 20;  // content read at a time
constexpr size_t kGzipChunk = size_t{256} << 10;  // compressed bytes read at a time

std::string ErrnoText(int err) { return std::strerror(err); }

// One file descriptor: a regular file, a pipe, or standard input. gzip content (told by
// its magic bytes, whatever the name) is inflated on the way.
class FdInput final : public Input {
 public:
  FdInput(std::string name, int fd, bool is_stdin) : fd_(fd), stdin_(is_stdin) {
    name_ = std::move(name);
    struct stat st {};
    // Standard input is never resumable, even when redirected from a file: the next run
    // may well be given other bytes.
    if (!stdin_ && ::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode)) {
      regular_ = true;
      size_ = static_cast<uint64_t>(st.st_size);
    }
    // Peek at the first two bytes. A short read is possible on a pipe, so read until
    // there are two or the content ends.
    while (peekLen_ < 2) {
      size_t k = readFile(peek_ + peekLen_, 2 - peekLen_);
      if (k == 0) break;
      peekLen_ += k;
    }
    if (peekLen_ == 2 && static_cast<unsigned char>(peek_[0]) == 0x1f &&
        static_cast<unsigned char>(peek_[1]) == 0x8b) {
      startGzip();
    }
  }

  ~FdInput() override {
    if (gzip_) inflateEnd(&z_);
    if (!stdin_) ::close(fd_);
  }

  size_t read(char* buf, size_t n) override {
    if (n == 0) return 0;
    size_t k = gzip_ ? readGzip(buf, n) : readPlain(buf, n);
    contentPos_ += k;
    return k;
  }

  uint64_t fileBytesRead() const override { return fileRead_; }
  std::optional<uint64_t> fileSize() const override {
    if (!regular_) return std::nullopt;
    return size_;
  }
  bool resumable() const override { return regular_; }

  void skipTo(uint64_t offset) override {
    if (offset < contentPos_) {
      throw InputError("cannot skip back in " + name_ + " to offset " + std::to_string(offset) +
                       " (already at " + std::to_string(contentPos_) + ")");
    }
    if (offset == contentPos_) return;
    if (!gzip_ && regular_) {
      // The content is the file: seek. What was peeked lies before the offset.
      if (offset > size_) throw shorterThan(offset, size_);
      if (::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) {
        int err = errno;
        throw InputError("cannot seek in " + name_ + ": " + ErrnoText(err));
      }
      peekPos_ = peekLen_;
      contentPos_ = offset;
      fileRead_ = offset;
      return;
    }
    std::unique_ptr<char[]> scratch(new char[kChunk]);
    while (contentPos_ < offset) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(kChunk, offset - contentPos_));
      if (read(scratch.get(), want) == 0) throw shorterThan(offset, contentPos_);
    }
  }

 private:
  InputError shorterThan(uint64_t offset, uint64_t size) const {
    return InputError("cannot skip to offset " + std::to_string(offset) + " of " + name_ +
                      ": its content has only " + std::to_string(size) + " bytes");
  }

  // One read(2) of the file itself, retried when interrupted; 0 at its end.
  size_t readFile(char* buf, size_t n) {
    n = std::min<size_t>(n, SSIZE_MAX);
    while (true) {
      ssize_t k = ::read(fd_, buf, n);
      if (k >= 0) {
        fileRead_ += static_cast<uint64_t>(k);
        return static_cast<size_t>(k);
      }
      int err = errno;
      if (err == EINTR) continue;
      throw InputError("cannot read " + name_ + ": " + ErrnoText(err));
    }
  }

  size_t readPlain(char* buf, size_t n) {
    size_t got = 0;
    if (peekPos_ < peekLen_) {  // the peeked bytes first, then straight into buf
      got = std::min(n, peekLen_ - peekPos_);
      std::memcpy(buf, peek_ + peekPos_, got);
      peekPos_ += got;
      if (got == n) return got;
    }
    return got + readFile(buf + got, n - got);
  }

  void startGzip() {
    gzip_ = true;
    zbuf_.reset(new char[kGzipChunk]);
    std::memcpy(zbuf_.get(), peek_, peekLen_);
    peekPos_ = peekLen_;
    std::memset(&z_, 0, sizeof z_);
    // 16 + MAX_WBITS: a gzip wrapper, not zlib's own.
    int rc = inflateInit2(&z_, 16 + MAX_WBITS);
    if (rc != Z_OK) {
      gzip_ = false;
      throw InputError("cannot read " + name_ + ": cannot start gzip decompression: " +
                       (z_.msg != nullptr ? z_.msg : zError(rc)));
    }
    z_.next_in = reinterpret_cast<Bytef*>(zbuf_.get());
    z_.avail_in = static_cast<uInt>(peekLen_);
  }

  size_t readGzip(char* buf, size_t n) {
    n = std::min<size_t>(n, UINT_MAX);
    while (true) {
      if (z_.avail_in == 0 && !fileEnded_) {
        size_t k = readFile(zbuf_.get(), kGzipChunk);
        if (k == 0) fileEnded_ = true;
        z_.next_in = reinterpret_cast<Bytef*>(zbuf_.get());
        z_.avail_in = static_cast<uInt>(k);
      }
      if (memberEnded_) {
        if (z_.avail_in == 0) return 0;  // the file ends after a whole member
        // Another member follows (concatenated gzip, as `cat a.gz b.gz` makes).
        inflateReset(&z_);
        memberEnded_ = false;
      }
      if (z_.avail_in == 0) {
        throw InputError("cannot read " + name_ +
                         ": the gzip stream is truncated (unexpected end of file)");
      }
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = static_cast<uInt>(n);
      int rc = inflate(&z_, Z_NO_FLUSH);
      size_t produced = n - z_.avail_out;
      if (rc == Z_STREAM_END) {
        memberEnded_ = true;
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        throw InputError("cannot read " + name_ + ": corrupt gzip data: " +
                         (z_.msg != nullptr ? z_.msg : zError(rc)));
      }
      if (produced > 0) return produced;
    }
  }

  int fd_;
  bool stdin_;
  bool regular_ = false;
  uint64_t size_ = 0;
  uint64_t fileRead_ = 0;    // bytes of the file consumed
  uint64_t contentPos_ = 0;  // bytes of the content handed out (or skipped)
  char peek_[2] = {};
  size_t peekLen_ = 0;
  size_t peekPos_ = 0;
  bool gzip_ = false;
  z_stream z_{};
  std::unique_ptr<char[]> zbuf_;
  bool fileEnded_ = false;
  bool memberEnded_ = false;
};

// libcsv trims "spaces" around unquoted fields and allows them after a closing quote.
// Only '\r' counts here: cells keep their blanks as written (RFC 4180), while the '\r' of
// a CRLF line end is dropped after an unquoted last field or a closing quote. Inside
// quotes it is data, so a quoted CRLF stays in the value.
int CsvSpace(unsigned char c) { return c == '\r'; }
// Only '\n' ends a row, so a row can end only where a physical line does.
int CsvTerm(unsigned char c) { return c == '\n'; }

// CSV_STRICT: a stray quote is an error rather than guessed at. CSV_STRICT_FINI: csv_fini
// reports a quoted field still open at the end of the content. CSV_REPALL_NL: a line end
// outside any row is reported too, which is how blank lines are told apart.
constexpr unsigned char kCsvOptions = CSV_STRICT | CSV_STRICT_FINI | CSV_REPALL_NL;
// libcsv grows its field buffer by this much at a time (the default, 128, makes a long
// field cost thousands of reallocations).
constexpr size_t kCsvBlock = size_t{64} << 10;
// A field buffer grown past this by one long row is given back after it.
constexpr size_t kCsvKeep = size_t{1} << 20;

std::string TooLong(uint64_t size, size_t limit) {
  return "row of " + std::to_string(size) + " bytes exceeds the limit of " +
         std::to_string(limit) + " bytes";
}

}  // namespace

std::unique_ptr<Input> Input::open(const std::string& path) {
  if (path == "-") return std::make_unique<FdInput>("-", 0, /*is_stdin=*/true);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    throw InputError("cannot open " + path + ": " + ErrnoText(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw InputError("cannot open " + path + ": " + ErrnoText(EISDIR));
  }
  try {
    return std::make_unique<FdInput>(path, fd, /*is_stdin=*/false);
  } catch (...) {
    ::close(fd);  // the constructor failed, so no destructor closes it
    throw;
  }
}

// ---- rows ---------------------------------------------------------------------------------

class RowReader::Impl {
 public:
  Impl(Input* in, const ReaderOptions& options)
      : in_(in), options_(options), buf_(new char[kChunk]) {
    // Room for a row of the limit plus its "\r\n": whether a row is too long is only
    // known at its line end.
    size_t max = options_.max_row_bytes;
    cap_ = max > std::numeric_limits<size_t>::max() - 2 ? max : max + 2;
    if (options_.format == Format::kCsv) startCsv();
  }
  ~Impl() {
    if (options_.format == Format::kCsv) csv_free(&csv_);
  }

  // One physical line as scanned.
  struct Line {
    uint64_t bytes = 0;    // its bytes, its '\n' included
    bool newline = false;  // ended by '\n' (else by the end of the content)
    bool cr = false;       // a '\r' just before that '\n'
  };

  // Makes content available at buf_[pos_]; false at its end.
  bool fill() {
    while (pos_ == len_) {
      if (eof_) return false;
      pos_ = 0;
      len_ = in_->read(buf_.get(), kChunk);
      if (len_ == 0) {
        eof_ = true;
        return false;
      }
      if (!bomChecked_) {
        bomChecked_ = true;
        // A byte-order mark may arrive split over reads (a pipe, a gzip member).
        while (len_ < 3) {
          size_t k = in_->read(buf_.get() + len_, kChunk - len_);
          if (k == 0) break;
          len_ += k;
        }
        if (len_ >= 3 && std::memcmp(buf_.get(), "\xEF\xBB\xBF", 3) == 0) {
          pos_ = 3;
          offset_ = 3;
        }
      }
    }
    return true;
  }

  // Consumes one physical line (none at the end of the content: bytes == 0). Appends to
  // *text what fits under cap_, and hands every piece of the line to feed(p, n).
  template <typename Feed>
  Line scanLine(std::string* text, Feed&& feed) {
    Line line;
    char last = 0;
    while (fill()) {
      const char* p = buf_.get() + pos_;
      size_t avail = len_ - pos_;
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', avail));
      size_t n = nl != nullptr ? static_cast<size_t>(nl - p) + 1 : avail;
      if (text->size() < cap_) text->append(p, std::min(n, cap_ - text->size()));
      feed(p, n);
      pos_ += n;
      offset_ += n;
      line.bytes += n;
      if (nl != nullptr) {
        line.newline = true;
        line.cr = n >= 2 ? nl[-1] == '\r' : last == '\r';
        ++lines_;
        return line;
      }
      last = p[n - 1];
    }
    if (line.bytes > 0) ++lines_;  // a last line without a line end
    return line;
  }

  // Cuts the final line end off a row of `bytes` bytes whose last line was `last`. False
  // (with row->error set and the text cut to the limit) when the row is too long.
  bool finishText(Row* row, uint64_t bytes, const Line& last) {
    uint64_t size = bytes - (last.newline ? (last.cr ? 2 : 1) : 0);
    if (size > options_.max_row_bytes) {
      if (row->text.size() > options_.max_row_bytes) row->text.resize(options_.max_row_bytes);
      row->error = TooLong(size, options_.max_row_bytes);
      return false;
    }
    row->text.resize(static_cast<size_t>(size));  // all of it is there: size <= cap_
    return true;
  }

  void startCsv() {
    csv_init(&csv_, kCsvOptions);
    csv_set_delim(&csv_, static_cast<unsigned char>(options_.delimiter));
    csv_set_space_func(&csv_, CsvSpace);
    csv_set_term_func(&csv_, CsvTerm);
    csv_set_blk_size(&csv_, kCsvBlock);
  }
  // A fresh parser: after a bad row, and to give back a buffer a long field grew.
  void resetCsv() {
    csv_free(&csv_);
    startCsv();
  }

  static void onField(void* s, size_t n, void* data) {
    auto* self = static_cast<Impl*>(data);
    std::vector<std::string>& cells = self->row_->cells;
    const char* p = s != nullptr ? static_cast<const char*>(s) : "";
    // Cells are assigned in place: their strings keep their capacity from row to row.
    if (self->cells_ < cells.size()) {
      cells[self->cells_].assign(p, n);
    } else {
      cells.emplace_back(p, n);
    }
    ++self->cells_;
  }
  static void onRow(int, void* data) { static_cast<Impl*>(data)->rowEnded_ = true; }

  bool nextCsv(Row* row) {
    while (true) {
      if (!fill()) return false;
      row->line = lines_ + 1;
      row->text.clear();
      row->error.clear();
      row_ = row;
      cells_ = 0;
      rowEnded_ = false;
      uint64_t bytes = 0;     // of the row so far, line ends included
      bool feeding = true;    // libcsv took every byte so far
      bool malformed = false;
      Line last;              // the last non-empty physical line of the row
      auto feed = [&](const char* p, size_t n) {
        bytes += n;
        if (!feeding) return;
        // Too long already: libcsv sees no more of it, so its buffer stays bounded.
        if (bytes > cap_) {
          feeding = false;
          return;
        }
        if (csv_parse(&csv_, p, n, onField, onRow, this) != n) {
          feeding = false;
          malformed = true;
        }
      };
      while (true) {
        Line line = scanLine(&row->text, feed);
        if (line.bytes > 0) last = line;
        // Stop at the line end after a bad row (to start afresh there), after the end
        // of a row, and at the end of the content.
        if (!feeding || !line.newline || rowEnded_) break;
      }

      if (!feeding) {
        resetCsv();
        row->cells.clear();
        if (finishText(row, bytes, last)) {
          row->error = "malformed quoted field (a quote inside an unquoted field, or text "
                       "after a closing quote)";
        }
        return true;
      }
      if (!rowEnded_) {
        // The end of the content inside a row: flush it.
        if (csv_fini(&csv_, onField, onRow, this) != 0) {
          resetCsv();
          row->cells.clear();
          if (finishText(row, bytes, last)) row->error = "unterminated quoted field";
          return true;
        }
        if (!rowEnded_) continue;  // only '\r' before the end: nothing (fill() is false)
      }
      if (cells_ == 0) continue;  // a blank line between rows
      if (csv_get_buffer_size(&csv_) > kCsvKeep) resetCsv();
      row->cells.resize(cells_);
      if (!finishText(row, bytes, last)) row->cells.clear();
      return true;
    }
  }

  bool nextJsonl(Row* row) {
    while (true) {
      if (!fill()) return false;
      row->line = lines_ + 1;
      row->text.clear();
      row->error.clear();
      row->cells.clear();
      row->object = nullptr;
      Line line = scanLine(&row->text, [](const char*, size_t) {});
      if (!finishText(row, line.bytes, line)) return true;
      if (row->text.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank
      try {
        row->object = nlohmann::json::parse(row->text.data(), row->text.data() + row->text.size());
      } catch (const nlohmann::json::exception& e) {
        // "[json.exception.parse_error.101] parse error at ...": the tag says nothing to
        // the person reading the reject file.
        std::string what = e.what();
        if (!what.empty() && what[0] == '[') {
          size_t close = what.find("] ");
          if (close != std::string::npos) what.erase(0, close + 2);
        }
        row->error = "invalid JSON: " + what;
        row->object = nullptr;
        return true;
      }
      if (!row->object.is_object()) {
        row->error = "a JSON Lines row must be an object";
        row->object = nullptr;
      }
      return true;
    }
  }

  // Moves to `offset` (>= where reading is now), `lines` lines into the content.
  void resumeAt(uint64_t offset, uint64_t lines) {
    if (offset < offset_) {
      throw InputError("cannot resume " + in_->name() + " at offset " + std::to_string(offset) +
                       ": the header row ends at " + std::to_string(offset_));
    }
    uint64_t ahead = offset - offset_;
    if (ahead <= len_ - pos_) {
      pos_ += static_cast<size_t>(ahead);  // still in the buffer (a small header's chunk)
    } else {
      if (eof_) {
        throw InputError("cannot skip to offset " + std::to_string(offset) + " of " +
                         in_->name() + ": its content has only " +
                         std::to_string(offset_ + (len_ - pos_)) + " bytes");
      }
      pos_ = len_ = 0;
      in_->skipTo(offset);
    }
    offset_ = offset;
    lines_ = lines;
    bomChecked_ = true;  // a mark is only one at offset 0
    reportedOffset_ = offset;
    reportedLine_ = lines;
  }

  Input* in_;
  ReaderOptions options_;
  size_t cap_;
  std::vector<std::string> columns_;

  std::unique_ptr<char[]> buf_;
  size_t pos_ = 0;
  size_t len_ = 0;
  bool eof_ = false;
  bool bomChecked_ = false;
  uint64_t offset_ = 0;  // content offset of buf_[pos_]
  uint64_t lines_ = 0;   // physical lines consumed
  uint64_t reportedOffset_ = 0;  // after the last row returned
  uint64_t reportedLine_ = 0;

  csv_parser csv_{};
  Row* row_ = nullptr;  // the row libcsv's callbacks fill
  size_t cells_ = 0;    // cells of it so far
  bool rowEnded_ = false;
};

RowReader::RowReader(Input* in, const ReaderOptions& options, uint64_t start_offset,
                     uint64_t start_line)
    : impl_(std::make_unique<Impl>(in, options)) {
  if (options.format == Format::kCsv && options.header) {
    Row header;
    if (!impl_->nextCsv(&header)) {
      throw InputError(in->name() + " has no header row (it is empty); with a header-less "
                       "file, use --no-header");
    }
    if (!header.error.empty()) {
      throw InputError("cannot read the header row of " + in->name() + " (line " +
                       std::to_string(header.line) + "): " + header.error);
    }
    impl_->columns_ = std::move(header.cells);
  }
  if (start_offset > 0) impl_->resumeAt(start_offset, start_line);
}

RowReader::~RowReader() = default;

const std::vector<std::string>& RowReader::columns() const { return impl_->columns_; }

bool RowReader::next(Row* row) {
  bool got = impl_->options_.format == Format::kCsv ? impl_->nextCsv(row) : impl_->nextJsonl(row);
  if (!got) return false;
  row->end_offset = impl_->offset_;
  impl_->reportedOffset_ = impl_->offset_;
  impl_->reportedLine_ = impl_->lines_;
  return true;
}

uint64_t RowReader::offset() const { return impl_->reportedOffset_; }
uint64_t RowReader::line() const { return impl_->reportedLine_; }

}  // namespace cotenant::import
