// cotenant-import: the bulk loader (docs/IMPORT.md).
//
//   cotenant-import OBJECT FILE... [--format csv|jsonl] [--map COL=FIELD] [--skip COL]
//                   [--context TENANT] [--rejects FILE] [--max-errors N] [--resume]
//                   [--dry-run] [--batch N] [--window N] [--quiet] [--json] [--physical]
//
// Reads each file (or standard input, "-"), turns its rows into records by the object's
// schema (mapping.h), and sends them as importRecords batches, many in flight on one
// connection, while the next rows are read. Bad rows go to a reject file with their
// line, column, reason and text; nothing of a bad row is written.
//
// Resuming. Every batch names the import (a random id kept in the checkpoint file) and
// its sequence number; the server records both in the same write as the batch's records
// and answers a batch it already has from that record. The checkpoint says where the
// first unacknowledged batch starts in the file; batches are cut the same way from there
// on every run, so a resumed import sends the same batches under the same numbers, and
// those that had landed before the importer died are recognised, not added again. The
// reject file is written in batch order and cut back to the checkpoint's length, so it
// too ends up with every bad row exactly once.
//
// --physical sends the same batches to one physical import of the (empty) object, begun
// before the first file and committed after the last: the records become visible all at
// once, or (when the import stops, fails, or is interrupted) not at all. There is no
// checkpoint: an interrupted physical import is started over.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdio>
#include <deque>
#include <iomanip>
#include <set>
#include <thread>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "cotenant/client.h"
#include "mapping.h"
#include "reader.h"

namespace cotenant::import {
namespace {

using cli::CliContext;
using cli::Failed;
using cli::UsageError;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string object;
  std::vector<std::string> files;
  std::string format;  // "", "csv", "jsonl"
  std::string delimiter = ",";
  bool noHeader = false;
  std::vector<std::string> maps;
  std::vector<std::string> skips;
  std::string context;
  std::string rejects;
  uint64_t maxErrors = 0;
  bool resume = false;
  bool dryRun = false;
  size_t batch = 500;
  size_t window = 8;
  bool quiet = false;
  bool json = false;
  std::string upsertOn;  // a unique field: rows whose value of it a record holds update it
  bool physical = false;  // one physical import of the empty object (Client::beginPhysicalImport)
};

// ---- small helpers --------------------------------------------------------------------

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Format formatOf(const Options& o, const std::string& file) {
  if (o.format == "csv") return Format::kCsv;
  if (o.format == "jsonl") return Format::kJsonl;
  std::string f = endsWith(file, ".gz") ? file.substr(0, file.size() - 3) : file;
  if (endsWith(f, ".jsonl") || endsWith(f, ".ndjson") || endsWith(f, ".json")) return Format::kJsonl;
  return Format::kCsv;
}

char delimiterOf(const std::string& d) {
  if (d == "\\t" || d == "tab" || d == "\t") return '\t';
  if (d.size() != 1 || d[0] == '"' || d[0] == '\n' || d[0] == '\r') {
    throw UsageError("--delimiter must be one character other than a quote or a line end (or 'tab'), not '" +
                     d + "'");
  }
  return d[0];
}

// A CSV cell of the reject file.
std::string csvCell(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string newImportId() {
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd() ^
                      static_cast<uint64_t>(Clock::now().time_since_epoch().count()));
  char buf[40];
  std::snprintf(buf, sizeof buf, "imp-%016llx%08llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng() & 0xffffffffULL));
  return buf;
}

// A digest of the file's first 64 KiB and its size, so a resume refuses a file that changed.
std::string fileFingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(64 << 10, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<size_t>(in.gcount()));
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : head) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  struct stat st {};
  ::stat(path.c_str(), &st);
  return std::to_string(static_cast<uint64_t>(st.st_size)) + ":" + std::to_string(h);
}

std::string humanBytes(double b) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (b >= 1000 && u < 4) {
    b /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

std::string humanDuration(double s) {
  if (s < 0 || s > 1e7) return "--:--";
  auto t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) {
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  }
  return buf;
}

// ---- the checkpoint ---------------------------------------------------------------------

struct Checkpoint {
  std::string importId;
  std::string object;
  std::string fingerprint;  // of the input file
  std::string settings;     // what decides how batches are cut (they must be cut alike)
  uint64_t nextSequence = 1;
  uint64_t offset = 0;      // where the first unacknowledged batch starts
  uint64_t line = 0;        // lines before it
  uint64_t rejectBytes = 0; // the reject file's length up to it
  uint64_t rowsRead = 0;
  uint64_t added = 0;
  uint64_t updated = 0;     // --upsert-on: rows that updated a record
  uint64_t rejected = 0;
  bool done = false;

  nlohmann::json toJson() const {
    return {{"importId", importId}, {"object", object}, {"fingerprint", fingerprint},
            {"settings", settings}, {"nextSequence", nextSequence}, {"offset", offset},
            {"line", line}, {"rejectBytes", rejectBytes}, {"rowsRead", rowsRead},
            {"added", added}, {"updated", updated}, {"rejected", rejected}, {"done", done}};
  }
  static Checkpoint fromJson(const nlohmann::json& j) {
    Checkpoint c;
    c.importId = j.at("importId").get<std::string>();
    c.object = j.at("object").get<std::string>();
    c.fingerprint = j.at("fingerprint").get<std::string>();
    c.settings = j.at("settings").get<std::string>();
    c.nextSequence = j.at("nextSequence").get<uint64_t>();
    c.offset = j.at("offset").get<uint64_t>();
    c.line = j.at("line").get<uint64_t>();
    c.rejectBytes = j.at("rejectBytes").get<uint64_t>();
    c.rowsRead = j.at("rowsRead").get<uint64_t>();
    c.added = j.at("added").get<uint64_t>();
    c.updated = j.value("updated", uint64_t{0});
    c.rejected = j.at("rejected").get<uint64_t>();
    c.done = j.at("done").get<bool>();
    return c;
  }
};

// Written whole to a temporary file, synced, and renamed over the old one: a kill at any
// point leaves the old checkpoint or the new one, never a torn one.
void saveCheckpoint(const std::string& path, const Checkpoint& c) {
  std::string tmp = path + ".tmp";
  std::string text = c.toJson().dump() + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw InputError("cannot write checkpoint " + tmp + ": " + std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fdatasync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    throw InputError("cannot write checkpoint " + path + ": " + std::strerror(errno));
  }
}

std::optional<Checkpoint> loadCheckpoint(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  try {
    return Checkpoint::fromJson(nlohmann::json::parse(in));
  } catch (const std::exception& e) {
    throw UsageError("checkpoint " + path + " is unreadable (" + e.what() +
                     "); delete it to start the import over");
  }
}

// ---- progress ---------------------------------------------------------------------------

class Progress {
 public:
  Progress(bool quiet, const std::string& name, std::optional<uint64_t> size)
      : quiet_(quiet), tty_(::isatty(2) == 1), name_(name), size_(size), start_(Clock::now()),
        last_(start_) {}

  void update(uint64_t rows, uint64_t bytes, bool final = false) {
    if (quiet_) return;
    auto now = Clock::now();
    auto since = std::chrono::duration<double>(now - last_).count();
    if (!final && since < (tty_ ? 0.2 : 5.0)) return;
    last_ = now;
    double secs = std::chrono::duration<double>(now - start_).count();
    double rate = secs > 0 ? rows / secs : 0;
    std::ostringstream line;
    if (tty_ && size_ && *size_ > 0) {
      double frac = std::min(1.0, static_cast<double>(bytes) / static_cast<double>(*size_));
      int filled = static_cast<int>(frac * 30);
      double eta = frac > 0 ? secs * (1 - frac) / frac : -1;
      line << "\r" << name_ << " [" << std::string(static_cast<size_t>(filled), '#')
           << std::string(static_cast<size_t>(30 - filled), '-') << "] "
           << static_cast<int>(frac * 100) << "% " << rows << " rows " << humanBytes(bytes)
           << " " << static_cast<uint64_t>(rate) << " rows/s ETA " << humanDuration(eta) << "\033[K";
    } else if (tty_) {
      line << "\r" << name_ << ": " << rows << " rows " << humanBytes(bytes) << " "
           << static_cast<uint64_t>(rate) << " rows/s\033[K";
    } else {
      line << name_ << ": " << rows << " rows, " << humanBytes(bytes) << " read, "
           << static_cast<uint64_t>(rate) << " rows/s";
      if (size_ && *size_ > 0) {
        line << ", " << (100 * std::min(bytes, *size_) / *size_) << "%";
      }
      line << "\n";
    }
    std::cerr << line.str();
    if (final && tty_) std::cerr << "\n";
    std::cerr.flush();
  }

 private:
  bool quiet_;
  bool tty_;
  std::string name_;
  std::optional<uint64_t> size_;
  Clock::time_point start_;
  Clock::time_point last_;
};

// ---- one file -----------------------------------------------------------------------------

struct Totals {
  uint64_t rowsRead = 0;
  uint64_t added = 0;
  uint64_t updated = 0;
  uint64_t rejected = 0;
  std::string stopped;  // why the import stopped early (--max-errors); "" = it did not
};

// A batch in flight: what it holds, where it ends in the file, and the reject lines
// waiting for it (its client-side rejects now, its server-side ones when it is answered).
struct Batch {
  uint64_t sequence = 0;
  uint64_t endOffset = 0;
  uint64_t endLine = 0;
  uint64_t rowsRead = 0;                 // rows of the file up to its end
  std::vector<Parameters> records;
  std::vector<std::pair<uint64_t, std::string>> sources;  // line and text of each record
  std::string rejectLines;               // CSV lines for the reject file
  uint64_t clientRejects = 0;
  std::future<Outcome<ImportReply>> reply;
  bool sent = false;
};

class FileImport {
 public:
  // `physical`: the physical import the batches go to; null for importRecords batches.
  FileImport(const Options& o, CliContext& cli, std::optional<TenantContext>& ctx,
             const std::vector<FieldDef>& fields, std::string file, PhysicalImport* physical)
      : o_(o), cli_(cli), ctx_(ctx), fields_(fields), file_(std::move(file)), physical_(physical) {}

  // Imports the file; throws Failed for a call that fails as a whole.
  Totals run() {
    in_ = Input::open(file_);
    ReaderOptions ro;
    ro.format = formatOf(o_, file_);
    ro.delimiter = delimiterOf(o_.delimiter);
    ro.header = !o_.noHeader;
    std::string base = file_ == "-" ? std::string("stdin") : file_;
    rejectsPath_ = o_.rejects.empty() ? base + ".rejects.csv" : o_.rejects;
    checkpointPath_ = base + ".checkpoint";
    bool checkpointed = !o_.dryRun && in_->resumable() && physical_ == nullptr;

    cp_.object = o_.object;
    cp_.settings = settings(ro);
    if (checkpointed) cp_.fingerprint = fileFingerprint(file_);
    std::optional<Checkpoint> old = checkpointed ? loadCheckpoint(checkpointPath_) : std::nullopt;
    if (o_.dryRun && o_.rejects.empty() && in_->resumable()) {
      std::optional<Checkpoint> unfinished = loadCheckpoint(checkpointPath_);
      if (unfinished && !unfinished->done) {
        throw UsageError(file_ + " has an unfinished import (" + checkpointPath_ + "): a dry run would "
                         "overwrite its reject file " + rejectsPath_ + "; give the dry run --rejects FILE");
      }
    }
    if (o_.resume && !in_->resumable()) {
      throw UsageError("--resume needs a regular file; " + file_ + " cannot be read again");
    }
    if (old && !o_.resume && !old->done) {
      throw UsageError(file_ + " has an unfinished import (" + checkpointPath_ +
                       "): pass --resume to finish it, or delete the checkpoint to start over");
    }
    if (o_.resume && old) {
      if (old->object != o_.object || old->settings != cp_.settings) {
        throw UsageError("--resume: the checkpoint " + checkpointPath_ +
                         " was made with another object or other format, mapping or --batch "
                         "settings; give the same ones");
      }
      if (old->fingerprint != cp_.fingerprint) {
        throw UsageError("--resume: " + file_ + " changed since the checkpoint " + checkpointPath_);
      }
      if (old->done) {
        if (!o_.quiet) std::cerr << file_ << ": already imported (" << checkpointPath_ << ")\n";
        alreadyDone_ = true;
        return Totals{};
      }
      cp_ = *old;
      resumed_ = true;
    } else {
      cp_.importId = newImportId();
    }

    nextSequence_ = cp_.nextSequence;
    rowsBase_ = readSoFar_ = cp_.rowsRead;
    reader_ = std::make_unique<RowReader>(in_.get(), ro, cp_.offset, cp_.line);
    mapping_ = std::make_unique<Mapping>(fields_, reader_->columns(),
                                         MappingOptions{renames(), skips()}, ro.format);
    openRejects(resumed_ ? cp_.rejectBytes : 0);
    if (checkpointed) saveProgress();

    Progress progress(o_.quiet, file_, in_->fileSize());
    std::deque<Batch> inflight;
    bool more = true;
    try {
      while (more || !inflight.empty()) {
        if (more && inflight.size() < o_.window && !stopped_) {
          Batch b = cut(&more);
          if (!b.records.empty()) send(&b);
          inflight.push_back(std::move(b));
          // The client's rejects are known before anything is sent: no batch is cut after
          // the one holding the --max-errors'th (settling the batches in flight stops it).
          uint64_t known = cp_.rejected;
          for (const Batch& x : inflight) known += x.clientRejects;
          if (o_.maxErrors != 0 && known >= o_.maxErrors) more = false;
          progress.update(readSoFar_, in_->fileBytesRead());
          continue;
        }
        settle(&inflight.front());
        inflight.pop_front();
        if (stopped_) more = false;
        if (checkpointed && (inflight.empty() || Clock::now() - lastSave_ > std::chrono::milliseconds(250))) {
          saveProgress();
          lastSave_ = Clock::now();
        }
        progress.update(readSoFar_, in_->fileBytesRead());
      }
    } catch (...) {
      // What was settled stays settled: a resume starts after it.
      if (checkpointed) saveProgress();
      throw;
    }
    progress.update(readSoFar_, in_->fileBytesRead(), /*final=*/true);
    if (rejects_ != nullptr) {
      ::fdatasync(::fileno(rejects_));
      std::fclose(rejects_);
      rejects_ = nullptr;
    }
    if (stopped_) {
      if (checkpointed) saveProgress();
      return Totals{cp_.rowsRead, cp_.added, cp_.updated, cp_.rejected,
                    "stopped after " + std::to_string(cp_.rejected) + " rejected rows (--max-errors " +
                        std::to_string(o_.maxErrors) + "); they are in " + rejectsPath_ +
                        (checkpointed ? "; --resume continues after them" : "")};
    }
    if (checkpointed) {
      cp_.done = true;
      saveProgress();
      // The server's batch records are no longer needed once the checkpoint says done.
      auto f = ctx_ ? cli_.client().finishImport(o_.object, cp_.importId, *ctx_)
                    : cli_.client().finishImport(o_.object, cp_.importId);
      (void)f;  // a failure leaves only those records behind; the import is complete
    }
    return Totals{cp_.rowsRead, cp_.added, cp_.updated, cp_.rejected, ""};
  }

  bool alreadyDone() const { return alreadyDone_; }
  bool resumed() const { return resumed_; }
  const std::string& rejectsPath() const { return rejectsPath_; }
  bool wroteRejects() const { return wroteRejects_; }

 private:
  // The checkpoint, after the reject lines it counts are on disk: a crash never leaves a
  // checkpoint past rejects that were lost.
  void saveProgress() {
    if (rejects_ != nullptr && ::fdatasync(::fileno(rejects_)) != 0) {
      throw InputError("cannot sync the reject file " + rejectsPath_ + ": " + std::strerror(errno));
    }
    saveCheckpoint(checkpointPath_, cp_);
  }

  std::string settings(const ReaderOptions& ro) const {
    nlohmann::json j = {{"format", ro.format == Format::kCsv ? "csv" : "jsonl"},
                        {"delimiter", std::string(1, ro.delimiter)},
                        {"header", ro.header},
                        {"map", o_.maps},
                        {"skip", o_.skips},
                        {"batch", o_.batch}};
    if (!o_.upsertOn.empty()) j["upsertOn"] = o_.upsertOn;
    return j.dump();
  }

  std::map<std::string, std::string> renames() const {
    std::map<std::string, std::string> m;
    for (const auto& spec : o_.maps) {
      auto [col, field] = cli::parseAssignment(spec);
      if (col.empty() || field.empty()) throw UsageError("--map takes COLUMN=FIELD, not '" + spec + "'");
      if (!m.emplace(col, field).second) throw UsageError("--map names column '" + col + "' twice");
    }
    return m;
  }
  std::set<std::string> skips() const { return {o_.skips.begin(), o_.skips.end()}; }

  void openRejects(uint64_t keep) {
    // Cut back to the checkpoint: what was written after it is written again. A file
    // shorter than that lost rejects of the earlier runs; truncate() would pad it with
    // zero bytes where they were.
    struct stat st {};
    if (keep > 0 && (::stat(rejectsPath_.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) < keep)) {
      throw UsageError("--resume: the reject file " + rejectsPath_ + " is shorter than the checkpoint " +
                       checkpointPath_ + " says (" + std::to_string(keep) +
                       " bytes): it was changed since the interrupted run; restore it, or delete "
                       "the checkpoint to start over");
    }
    if (::truncate(rejectsPath_.c_str(), static_cast<off_t>(keep)) != 0 && errno != ENOENT) {
      throw InputError("cannot truncate reject file " + rejectsPath_ + ": " + std::strerror(errno));
    }
    rejectBytes_ = keep;
  }

  void appendRejects(const std::string& lines) {
    if (lines.empty()) return;
    if (rejects_ == nullptr) {
      rejects_ = std::fopen(rejectsPath_.c_str(), "ab");
      if (rejects_ == nullptr) {
        throw InputError("cannot write reject file " + rejectsPath_ + ": " + std::strerror(errno));
      }
      if (rejectBytes_ == 0) {
        static const std::string kHeader = "line,column,reason,text\n";
        std::fwrite(kHeader.data(), 1, kHeader.size(), rejects_);
        rejectBytes_ += kHeader.size();
      }
    }
    wroteRejects_ = true;
    if (std::fwrite(lines.data(), 1, lines.size(), rejects_) != lines.size() || std::fflush(rejects_) != 0) {
      throw InputError("cannot write reject file " + rejectsPath_ + ": " + std::strerror(errno));
    }
    rejectBytes_ += lines.size();
  }

  static std::string rejectLine(uint64_t line, const std::string& column, const std::string& reason,
                                const std::string& text) {
    return std::to_string(line) + "," + csvCell(column) + "," + csvCell(reason) + "," + csvCell(text) + "\n";
  }

  // The next batch: rows from where the last one ended up to o_.batch good ones (or the
  // end of the file). Rows that cannot become records are rejected into it.
  Batch cut(bool* more) {
    Batch b;
    b.sequence = nextSequence_++;
    Row row;
    while (b.records.size() < o_.batch) {
      if (!reader_->next(&row)) {
        *more = false;
        break;
      }
      ++readSoFar_;
      Parameters p;
      Rejection why;
      if (!row.error.empty()) {
        b.rejectLines += rejectLine(row.line, "", row.error, row.text);
        ++b.clientRejects;
      } else if (!mapping_->convert(row, &p, &why)) {
        b.rejectLines += rejectLine(row.line, why.column, why.reason, row.text);
        ++b.clientRejects;
      } else {
        b.records.push_back(std::move(p));
        b.sources.emplace_back(row.line, std::move(row.text));
      }
    }
    b.endOffset = reader_->offset();
    b.endLine = reader_->line();
    return b;
  }

  void send(Batch* b) {
    b->sent = true;
    if (physical_ != nullptr) {
      b->reply = physical_->addAsync(b->records);
      return;
    }
    ImportBatch ib{cp_.importId, b->sequence, o_.upsertOn};
    if (o_.dryRun) ib.importId.clear();
    b->reply = ctx_ ? cli_.client().importRecordsAsync(o_.object, b->records, ib, *ctx_, o_.dryRun)
                    : cli_.client().importRecordsAsync(o_.object, b->records, ib, o_.dryRun);
  }

  // Waits for the oldest batch, retrying while the server is busy, then counts it, writes
  // its rejects in file order and moves the checkpoint past it.
  void settle(Batch* b) {
    uint64_t added = 0;
    uint64_t updated = 0;
    uint64_t rejected = b->clientRejects;
    std::string lines = std::move(b->rejectLines);
    if (b->sent) {
      Outcome<ImportReply> r = b->reply.get();
      for (int attempt = 0; r.getCode() == ErrorCode::Busy && attempt < 50; ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
        send(b);
        r = b->reply.get();
      }
      if (!r.ok()) {
        std::string where = "batch " + std::to_string(b->sequence) + " (lines " +
                            std::to_string(b->sources.front().first) + "-" +
                            std::to_string(b->sources.back().first) + ")";
        std::string hint = physical_ != nullptr ? "; nothing of the physical import is visible"
                           : in_->resumable() && !o_.dryRun
                               ? "; everything before it is imported: continue with --resume"
                               : "";
        throw Failed{r.getCode(), where + ": " + r.getMessage() + hint};
      }
      const auto& results = r.value().results;
      if (results.size() != b->records.size()) {
        throw Failed{ErrorCode::Internal, "the server answered " + std::to_string(results.size()) +
                                              " results for " + std::to_string(b->records.size()) +
                                              " records"};
      }
      // Server-side rejects, merged with the client-side ones by line.
      std::vector<std::pair<uint64_t, std::string>> server;
      for (size_t i = 0; i < results.size(); ++i) {
        if (results[i].ok()) {
          ++(results[i].updated ? updated : added);
          continue;
        }
        ++rejected;
        std::string reason = std::string(errorCodeName(results[i].code)) + ": " + results[i].message;
        server.emplace_back(b->sources[i].first,
                            rejectLine(b->sources[i].first, "", reason, b->sources[i].second));
      }
      if (!server.empty()) lines = mergeByLine(lines, server);
    }
    appendRejects(lines);
    cp_.added += added;
    cp_.updated += updated;
    cp_.rejected += rejected;
    cp_.nextSequence = b->sequence + 1;
    cp_.offset = b->endOffset;
    cp_.line = b->endLine;
    cp_.rejectBytes = rejectBytes_;
    rowsSettled_ += b->records.size() + b->clientRejects;
    cp_.rowsRead = rowsBase_ + rowsSettled_;
    if (o_.maxErrors != 0 && cp_.rejected >= o_.maxErrors) stopped_ = true;
  }

  // Client-side reject lines (in file order) and server-side ones, merged by line.
  static std::string mergeByLine(const std::string& client,
                                 const std::vector<std::pair<uint64_t, std::string>>& server) {
    std::vector<std::pair<uint64_t, std::string>> all = server;
    size_t pos = 0;
    while (pos < client.size()) {
      // Each client line starts with its line number; a line's text may hold line ends
      // only inside quotes, so find the record's end by counting quotes.
      size_t end = pos;
      bool quoted = false;
      for (; end < client.size(); ++end) {
        if (client[end] == '"') quoted = !quoted;
        if (client[end] == '\n' && !quoted) break;
      }
      std::string one = client.substr(pos, end + 1 - pos);
      all.emplace_back(std::stoull(one), one);
      pos = end + 1;
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string out;
    for (auto& [line, text] : all) out += text;
    return out;
  }

  const Options& o_;
  CliContext& cli_;
  std::optional<TenantContext>& ctx_;
  const std::vector<FieldDef>& fields_;
  std::string file_;
  PhysicalImport* physical_;
  std::unique_ptr<Input> in_;
  std::unique_ptr<RowReader> reader_;
  std::unique_ptr<Mapping> mapping_;
  Checkpoint cp_;
  std::string rejectsPath_;
  std::string checkpointPath_;
  FILE* rejects_ = nullptr;
  uint64_t rejectBytes_ = 0;
  bool wroteRejects_ = false;
  bool resumed_ = false;
  bool alreadyDone_ = false;
  bool stopped_ = false;
  uint64_t nextSequence_ = 0;
  uint64_t readSoFar_ = 0;
  uint64_t rowsBase_ = 0;
  uint64_t rowsSettled_ = 0;
  Clock::time_point lastSave_ = Clock::now();
};

int run(int argc, char** argv) {
  CLI::App app{"cotenant-import: load CSV or JSON Lines files into a Cotenant object.\n"
               "See docs/IMPORT.md. Exit codes: 0 every row added, 1 error, 2 usage, 3 denied, "
               "4 object not found, 5 rows rejected or the import stopped."};
  CliContext cli;
  Options o;
  cli::AddConnectionOptions(app, cli);
  app.add_option("object", o.object, "the object to add the records to")->required();
  app.add_option("files", o.files, "input files, read in order; - reads standard input; "
                                   ".gz files are decompressed")
      ->required();
  app.add_option("--format", o.format, "csv or jsonl (default: jsonl for .jsonl/.ndjson/.json "
                                       "names, else csv)")
      ->check(CLI::IsMember({"csv", "jsonl"}));
  app.add_option("--delimiter", o.delimiter, "CSV field delimiter: one character, or 'tab'")
      ->capture_default_str();
  app.add_flag("--no-header", o.noHeader,
               "the CSV has no header row: columns are the object's fields in order");
  app.add_option("--map", o.maps, "COLUMN=FIELD: the column fills that field (repeatable)");
  app.add_option("--skip", o.skips, "COLUMN: leave the column out (repeatable)");
  app.add_option("--context", o.context,
                 "import into this tenant's object, through its data-sharing policy");
  app.add_option("--rejects", o.rejects,
                 "reject file (CSV: line, column, reason, text); default FILE.rejects.csv");
  app.add_option("--max-errors", o.maxErrors, "stop after this many rejected rows (0 = never)")
      ->capture_default_str();
  app.add_flag("--resume", o.resume, "continue an interrupted import from its checkpoint "
                                     "(FILE.checkpoint), adding every row exactly once");
  app.add_flag("--dry-run", o.dryRun,
               "check every row against the schema and the policy; write nothing");
  app.add_option("--batch", o.batch, "rows per batch (1..1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--window", o.window, "batches in flight at once (1..64)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--upsert-on", o.upsertOn,
                 "FIELD (unique): a row whose value of it a record holds updates that record "
                 "instead of adding another (re-running a daily import)");
  app.add_flag("--physical", o.physical,
               "physical import into an empty object: the server writes sorted files and makes "
               "every record visible at once at the end (or none, if the import fails or is "
               "interrupted); no --resume, --dry-run or --upsert-on");
  app.add_flag("-q,--quiet", o.quiet, "no progress output");
  app.add_flag("--json", o.json, "print the summary as one JSON document on stdout");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? cli::kExitOk : cli::kExitUsage;
  }

  auto started = Clock::now();
  try {
    if (o.files.size() > 1 && !o.rejects.empty()) {
      throw UsageError("--rejects names one file; with several inputs each gets FILE.rejects.csv");
    }
    if (std::count(o.files.begin(), o.files.end(), "-") > 1) {
      throw UsageError("standard input (-) can be read only once");
    }
    if (o.physical && (o.resume || o.dryRun || !o.upsertOn.empty())) {
      throw UsageError("--physical cannot be combined with --resume, --dry-run or --upsert-on: a "
                       "physical import is all or nothing and only adds");
    }
    delimiterOf(o.delimiter);
    Client& client = cli.client();
    std::optional<TenantContext> ctx;
    if (!o.context.empty()) ctx.emplace(client, cli::parseId(o.context, "--context tenant id"));
    Outcome<ObjectInfo> def = ctx ? client.describeObject(o.object, *ctx) : client.describeObject(o.object);
    cli::check(def);
    std::unique_ptr<PhysicalImport> physical;
    if (o.physical) physical = ctx ? client.beginPhysicalImport(o.object, *ctx) : client.beginPhysicalImport(o.object);

    Totals total;
    nlohmann::json files = nlohmann::json::array();
    std::vector<std::string> rejectFiles;
    for (const auto& file : o.files) {
      auto t0 = Clock::now();
      FileImport fi(o, cli, ctx, def.value().fields, file, physical.get());
      Totals t = fi.run();
      total.rowsRead += t.rowsRead;
      total.added += t.added;
      total.updated += t.updated;
      total.rejected += t.rejected;
      double secs = std::chrono::duration<double>(Clock::now() - t0).count();
      files.push_back({{"file", file}, {"rowsRead", t.rowsRead}, {"added", t.added},
                       {"updated", t.updated}, {"rejected", t.rejected}, {"resumed", fi.resumed()},
                       {"alreadyImported", fi.alreadyDone()},
                       {"rejects", fi.wroteRejects() ? nlohmann::json(fi.rejectsPath()) : nlohmann::json(nullptr)},
                       {"seconds", secs}});
      if (fi.wroteRejects()) rejectFiles.push_back(fi.rejectsPath());
      if (!t.stopped.empty()) {  // the files after it are not read
        total.stopped = t.stopped;
        break;
      }
    }
    if (physical != nullptr) {
      if (!total.stopped.empty()) {
        total.stopped += "; the physical import was abandoned: nothing of it is visible";
        total.added = 0;
      } else {
        Outcome<uint64_t> committed = physical->commit();
        if (!committed.ok()) {
          throw Failed{committed.getCode(), "the physical import did not commit: " +
                                                committed.getMessage() + "; nothing of it is visible"};
        }
        total.added = committed.value();
      }
    }
    double secs = std::chrono::duration<double>(Clock::now() - started).count();
    double rate = secs > 0 ? total.rowsRead / secs : 0;
    if (o.json) {
      std::cout << nlohmann::json{{"object", o.object},
                                  {"dryRun", o.dryRun},
                                  {"physical", o.physical},
                                  {"rowsRead", total.rowsRead},
                                  {"added", total.added},
                                  {"updated", total.updated},
                                  {"rejected", total.rejected},
                                  {"stopped", total.stopped.empty() ? nlohmann::json(nullptr)
                                                                    : nlohmann::json(total.stopped)},
                                  {"seconds", secs},
                                  {"rowsPerSecond", rate},
                                  {"files", files}}
                       .dump(2)
                << "\n";
    } else if (!o.quiet || total.rejected > 0) {
      std::cerr << (o.dryRun ? "dry run: " : "") << total.rowsRead << " rows read, " << total.added
                << (o.dryRun ? " would be added, " : " added, ");
      if (!o.upsertOn.empty()) std::cerr << total.updated << " updated, ";
      std::cerr << total.rejected << " rejected in "
                << std::fixed << std::setprecision(1) << secs << " s ("
                << static_cast<uint64_t>(rate) << " rows/s)";
      for (const auto& r : rejectFiles) std::cerr << "; rejects in " << r;
      std::cerr << "\n";
    }
    if (!total.stopped.empty()) {
      std::cerr << "cotenant-import: ResourceExhausted: " << total.stopped << "\n";
      return cli::exitCodeFor(ErrorCode::ResourceExhausted);
    }
    return total.rejected > 0 ? cli::kExitRejected : cli::kExitOk;
  } catch (const UsageError& e) {
    std::cerr << "cotenant-import: usage: " << e.what() << "\n";
    return cli::kExitUsage;
  } catch (const MappingError& e) {
    std::cerr << "cotenant-import: InvalidArgument: " << e.what() << "\n";
    return cli::kExitRejected;
  } catch (const InputError& e) {
    std::cerr << "cotenant-import: " << e.what() << "\n";
    return cli::kExitError;
  } catch (const Failed& f) {
    std::cerr << "cotenant-import: " << errorCodeName(f.code) << ": " << f.message << "\n";
    return cli::exitCodeFor(f.code);
  } catch (const Error& e) {  // connect, TenantContext
    std::cerr << "cotenant-import: " << errorCodeName(e.code()) << ": " << e.message() << "\n";
    return cli::exitCodeFor(e.code());
  } catch (const std::exception& e) {
    std::cerr << "cotenant-import: Internal: " << e.what() << "\n";
    return cli::kExitError;
  }
}

}  // namespace
}  // namespace cotenant::import

int main(int argc, char** argv) { return cotenant::import::run(argc, argv); }
