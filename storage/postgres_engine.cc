// The replicated engine: KvEngine over PostgreSQL (15 or later) through libpq.
//
// Each column family is one table (k bytea PRIMARY KEY, v bytea NOT NULL) in the schema
// the connection's search_path names; bytea orders bytewise, as the embedded engine does.
//   - A write batch is one transaction: the batch is reduced to the last operation of
//     each key, then sent as one pipeline (an upsert and a delete per column family, each
//     over arrays) ending in one Sync, so it costs one round trip and applies all or none.
//   - A snapshot is a REPEATABLE READ READ ONLY transaction on a connection of its own;
//     every read through it runs in that transaction.
//   - Iteration is a keyset-paged range scan: pages of rows in key order (or reverse),
//     each page a query bounded by the last key seen. Without a snapshot each page reads
//     the latest committed state.
//   - DropRange is a range DELETE (autovacuum reclaims the space).
// Every commit is durable when it returns (synchronous_commit as the server sets it, and
// with synchronous replication on the standby too), so `sync` and SyncWal add nothing.
//
// Connections come from a pool of at most StoreOptions::storage_connections. A read whose
// connection was lost is retried once on a new connection; a write whose connection was
// lost after it was sent may or may not have committed, and answers Unavailable.
//
// The schema is created, and upgraded, at open under a transaction-scoped advisory lock,
// so front-ends starting together create it once; cotenant_schema holds its version.

#include <libpq-fe.h>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <array>
#include <condition_variable>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "storage/key_encoding.h"
#include "storage/kv.h"
#include "storage/storage.h"

namespace cotenant::storage {
namespace {

// The store schema this build creates and reads. Version 1: the four tables.
constexpr int kSchemaVersion = 2;  // 2: conditional writes
constexpr std::array<const char*, kNumCfs> kTables = {"kv_records", "kv_indexes", "kv_meta",
                                                      "kv_audit"};
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kByteaArrayOid = 1001;
// Longest key: a btree entry of PostgreSQL holds at most about 2.7 KB. Keys are short but
// for index entries, which hold the indexed value.
constexpr size_t kMaxKeyBytes = 2048;
constexpr int64_t kPageRows = 256;
constexpr size_t kIngestRows = 1000;    // rows per statement of an ingest
// How long an open waits for the store's lock (below) before it calls the holder live.
constexpr std::chrono::seconds kLockWait{5};       // rows per page of an iteration
constexpr int64_t kScanPageRows = 2048;  // ... of a long scan (fill_cache = false)

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;

// libpq's message without its trailing newline.
std::string Trimmed(const char* msg) {
  std::string s = msg == nullptr ? "" : msg;
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool Lost(PGconn* c) { return PQstatus(c) != CONNECTION_OK; }

// The Status of a failed statement, from its SQLSTATE.
Status FromResult(PGconn* c, const PGresult* r) {
  // The primary message (and its detail) on one line; libpq's own when the server sent
  // none (a lost connection).
  const char* primary = r != nullptr ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  const char* detail = r != nullptr ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : nullptr;
  std::string msg = primary != nullptr ? primary : Trimmed(PQerrorMessage(c));
  if (detail != nullptr) msg += std::string(" (") + detail + ")";
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string code = state == nullptr ? "" : state;
  if (Lost(c) || code.rfind("08", 0) == 0 || code == "57P01" || code == "57P02" ||
      code == "57P03") {
    return Status::Unavailable("PostgreSQL connection lost: " + msg);
  }
  // A standby refuses writes: the primary changed (failover) and this connection still
  // points at the old one.
  if (code == "25006") return Status::Unavailable("PostgreSQL server is read-only: " + msg);
  if (code == "40001" || code == "40P01" || code == "55P03") {
    return Status::Busy("PostgreSQL: " + msg);
  }
  if (code == "CT409") return ConditionFailed(msg);
  if (code == "53100") return Status::ResourceExhausted("disk full: " + msg);
  if (code.rfind("53", 0) == 0) return Status::Busy("PostgreSQL: " + msg);
  return Status::Internal("PostgreSQL: " + msg);
}

Status TooLong(size_t key_bytes) {
  return Status::InvalidArgument(
      "a value is too long to index on the PostgreSQL engine: its key takes " +
      std::to_string(key_bytes) + " bytes, over the limit of " + std::to_string(kMaxKeyBytes) +
      " (index a shorter field instead)");
}

bool ResultOk(const PGresult* r) {
  auto st = PQresultStatus(r);
  return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

// A bytea[] parameter in the binary array format (big-endian, as the key encoding's
// integers are); a nullopt item is a NULL element.
std::string ByteaArray(const std::vector<std::optional<std::string_view>>& items) {
  std::string out;
  size_t total = 20;
  bool nulls = false;
  for (auto i : items) {
    total += 4 + (i ? i->size() : 0);
    nulls = nulls || !i;
  }
  out.reserve(total);
  AppendU32(&out, 1);  // dimensions
  AppendU32(&out, nulls ? 1 : 0);
  AppendU32(&out, kByteaOid);
  AppendU32(&out, static_cast<uint32_t>(items.size()));
  AppendU32(&out, 1);  // lower bound
  for (auto i : items) {
    AppendU32(&out, i ? static_cast<uint32_t>(i->size()) : 0xFFFFFFFFu);  // -1 = NULL
    if (i) out.append(*i);
  }
  return out;
}

std::string ByteaArray(const std::vector<std::string_view>& items) {
  return ByteaArray(std::vector<std::optional<std::string_view>>(items.begin(), items.end()));
}

std::string Int8(int64_t v) {
  std::string out;
  AppendU64(&out, static_cast<uint64_t>(v));
  return out;
}

// The parameters of one prepared statement, all binary.
struct Params {
  std::deque<std::string> owned;  // stable: a deque never moves its elements
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  void Add(std::string_view v) {
    values.push_back(v.data());
    lengths.push_back(static_cast<int>(v.size()));
    formats.push_back(1);
  }
  void Own(std::string v) {
    owned.push_back(std::move(v));
    Add(owned.back());
  }
};

// The prepared statements of each connection: name = kind letter + column family.
struct StatementDef {
  char kind;
  const char* sql;  // %s = the table
  int nparams;
  std::array<Oid, 3> types;
};
constexpr std::array<StatementDef, 15> kStatements = {{
    {'g', "SELECT v FROM %s WHERE k = $1", 1, {kByteaOid}},
    {'m', "SELECT k, v FROM %s WHERE k = ANY($1)", 1, {kByteaArrayOid}},
    {'u',
     "INSERT INTO %s (k, v) SELECT * FROM unnest($1::bytea[], $2::bytea[]) "
     "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v",
     2,
     {kByteaArrayOid, kByteaArrayOid}},
    {'d', "DELETE FROM %s WHERE k = ANY($1)", 1, {kByteaArrayOid}},
    // Pages: forward from a key (inclusive, exclusive) to the upper bound; backward from
    // a key (inclusive, exclusive) down to the lower bound.
    {'f', "SELECT k, v FROM %s WHERE k >= $1 AND k < $2 ORDER BY k LIMIT $3", 3,
     {kByteaOid, kByteaOid, kInt8Oid}},
    {'F', "SELECT k, v FROM %s WHERE k > $1 AND k < $2 ORDER BY k LIMIT $3", 3,
     {kByteaOid, kByteaOid, kInt8Oid}},
    {'b', "SELECT k, v FROM %s WHERE k <= $1 AND k >= $2 ORDER BY k DESC LIMIT $3", 3,
     {kByteaOid, kByteaOid, kInt8Oid}},
    {'B', "SELECT k, v FROM %s WHERE k < $1 AND k >= $2 ORDER BY k DESC LIMIT $3", 3,
     {kByteaOid, kByteaOid, kInt8Oid}},
    {'r', "DELETE FROM %s WHERE k >= $1 AND k < $2", 2, {kByteaOid, kByteaOid}},
    // Unbounded above (an iteration whose upper bound is empty).
    {'U', "SELECT k, v FROM %s WHERE k >= $1 ORDER BY k LIMIT $2", 2, {kByteaOid, kInt8Oid}},
    {'L', "SELECT k, v FROM %s WHERE k >= $1 ORDER BY k DESC LIMIT $2", 2, {kByteaOid, kInt8Oid}},
    // One key (the common batch): cheaper for the server than the array forms.
    {'p', "INSERT INTO %s (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v", 2,
     {kByteaOid, kByteaOid}},
    {'x', "DELETE FROM %s WHERE k = $1", 1, {kByteaOid}},
    // A conditional write (KvBatch::Expect): first the keys' transaction-scoped locks, in
    // one order (families in turn, hashes ascending) so that conditional writes of the
    // same keys queue instead of deadlocking; then, in a statement of its own and so with
    // a snapshot taken after the locks, the check, which raises CT409 on the first key
    // that does not hold its expected value (NULL = absent).
    {'l',
     "SELECT count(*) FROM (SELECT pg_advisory_xact_lock(hashtext('%s'), h) FROM "
     "(SELECT DISTINCT hashtext(encode(k, 'hex')) AS h FROM unnest($1::bytea[]) AS k) s "
     "ORDER BY h) l",
     1,
     {kByteaArrayOid}},
    {'c',
     "SELECT cotenant_condition_failed(x.k) FROM unnest($1::bytea[], $2::bytea[]) AS x(k, v) "
     "LEFT JOIN %s t ON t.k = x.k WHERE t.v IS DISTINCT FROM x.v LIMIT 1",
     2,
     {kByteaArrayOid, kByteaArrayOid}},
}};

std::string StatementName(char kind, Cf cf) {
  return std::string(1, kind) + std::to_string(static_cast<int>(cf));
}

// Runs one prepared statement and waits for its result (one round trip).
Result Exec(PGconn* c, const std::string& name, const Params& p) {
  return Result(PQexecPrepared(c, name.c_str(), static_cast<int>(p.values.size()),
                               p.values.data(), p.lengths.data(), p.formats.data(),
                               /*resultFormat=*/1));
}

Status ExecOk(PGconn* c, const std::string& name, const Params& p, Result* out = nullptr) {
  Result r = Exec(c, name, p);
  if (r == nullptr || !ResultOk(r.get())) return FromResult(c, r.get());
  if (out != nullptr) *out = std::move(r);
  return Status::OK();
}

Status Simple(PGconn* c, const std::string& sql, Result* out = nullptr) {
  Result r(PQexec(c, sql.c_str()));
  if (r == nullptr || !ResultOk(r.get())) return FromResult(c, r.get());
  if (out != nullptr) *out = std::move(r);
  return Status::OK();
}

std::string_view Cell(const PGresult* r, int row, int col) {
  return {PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col))};
}

// ---- Connections ---------------------------------------------------------------------

class Pool {
 public:
  Pool(std::string conninfo, size_t max) : conninfo_(std::move(conninfo)), max_(max) {}

  // A connection, opened and prepared, or Unavailable.
  Status Acquire(Conn* out) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [&] { return !idle_.empty() || open_ < max_; });
      if (!idle_.empty()) {
        *out = std::move(idle_.back());
        idle_.pop_back();
        return Status::OK();
      }
      ++open_;
    }
    Status s = Connect(out);
    if (!s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      --open_;
      cv_.notify_one();
    }
    return s;
  }

  // Returns a connection: kept when it is healthy and idle, closed otherwise.
  void Release(Conn c) {
    bool keep = c != nullptr && !Lost(c.get()) && PQtransactionStatus(c.get()) == PQTRANS_IDLE;
    if (!keep) c.reset();
    std::lock_guard<std::mutex> l(mu_);
    if (keep) {
      idle_.push_back(std::move(c));
    } else {
      --open_;
    }
    cv_.notify_one();
  }

  // Closes every idle connection (after a failover they point at the old primary).
  void DropIdle() {
    std::deque<Conn> gone;
    {
      std::lock_guard<std::mutex> l(mu_);
      gone.swap(idle_);
      open_ -= gone.size();
      cv_.notify_all();
    }
  }

  // A new connection; with `prepare` its statements are prepared (the tables exist).
  Status Connect(Conn* out, bool prepare = true) const {
    Conn c(PQconnectdb(conninfo_.c_str()));
    if (c == nullptr) return Status::Unavailable("PostgreSQL: out of memory connecting");
    if (Lost(c.get())) {
      return Status::Unavailable("cannot connect to PostgreSQL: " + Trimmed(PQerrorMessage(c.get())));
    }
    // The server's notices ("... already exists, skipping") go to the debug log, not to
    // standard error.
    PQsetNoticeProcessor(
        c.get(), [](void*, const char* msg) { spdlog::debug("PostgreSQL: {}", Trimmed(msg)); },
        nullptr);
    for (int cf = 0; prepare && cf < kNumCfs; ++cf) {
      for (const auto& st : kStatements) {
        char sql[256];
        std::snprintf(sql, sizeof sql, st.sql, kTables[cf]);
        Result r(PQprepare(c.get(), StatementName(st.kind, static_cast<Cf>(cf)).c_str(), sql,
                           st.nparams, st.types.data()));
        if (r == nullptr || !ResultOk(r.get())) return FromResult(c.get(), r.get());
      }
    }
    *out = std::move(c);
    return Status::OK();
  }

 private:
  const std::string conninfo_;
  const size_t max_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Conn> idle_;
  size_t open_ = 0;
};

// A pooled connection for the length of one call.
class Lease {
 public:
  explicit Lease(Pool* pool) : pool_(pool) {}
  ~Lease() {
    if (conn_ != nullptr) pool_->Release(std::move(conn_));
  }
  Status Open() { return pool_->Acquire(&conn_); }
  PGconn* get() const { return conn_.get(); }
  // Closes a connection that lost its server and opens another.
  Status Renew() {
    pool_->Release(std::move(conn_));
    pool_->DropIdle();
    return pool_->Acquire(&conn_);
  }

 private:
  Pool* pool_;
  Conn conn_;
};

// ---- Snapshots -----------------------------------------------------------------------

class PgSnapshot final : public KvSnapshot {
 public:
  explicit PgSnapshot(Pool* pool) : pool_(pool) {}
  ~PgSnapshot() override {
    if (conn_ == nullptr) return;
    (void)Simple(conn_.get(), "COMMIT");
    pool_->Release(std::move(conn_));
  }

  // Starts the transaction and takes its snapshot now (the first statement takes it).
  // On an error the snapshot holds no connection and its reads answer the error.
  void Begin() {
    error_ = pool_->Acquire(&conn_);
    if (error_.ok()) {
      error_ = Simple(conn_.get(), "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SELECT 1");
    }
    if (!error_.ok()) {
      spdlog::warn("PostgreSQL snapshot: {}", error_.ToString());
      if (conn_ != nullptr) pool_->Release(std::move(conn_));
      conn_.reset();
    }
  }

  PGconn* conn() const { return conn_.get(); }
  std::mutex& mu() const { return mu_; }
  const Status& error() const { return error_; }

 private:
  Pool* pool_;
  Conn conn_;
  mutable std::mutex mu_;  // one statement at a time on the shared transaction
  Status error_;
};

// Runs `run` on a connection: the snapshot's (under its lock) or a pooled one; a pooled
// read whose connection was lost is retried once on a new connection.
template <typename Fn>
Status WithReadConn(Pool* pool, const KvReadOptions& options, Fn&& run) {
  if (options.snapshot != nullptr) {
    const auto* snap = static_cast<const PgSnapshot*>(options.snapshot);
    if (snap->conn() == nullptr) return snap->error();
    std::lock_guard<std::mutex> l(snap->mu());
    return run(snap->conn());
  }
  Lease lease(pool);
  COTENANT_RETURN_IF_ERROR(lease.Open());
  Status s = run(lease.get());
  if (s.IsUnavailable()) {
    COTENANT_RETURN_IF_ERROR(lease.Renew());
    s = run(lease.get());
  }
  return s;
}

// ---- Batches -------------------------------------------------------------------------

class PgBatch final : public KvBatch {
 public:
  void Put(Cf cf, std::string_view key, std::string_view value) override {
    Op(cf, key) = std::string(value);
    ++count_;
  }
  void Delete(Cf cf, std::string_view key) override {
    Op(cf, key).reset();
    ++count_;
  }
  size_t Count() const override { return count_; }
  void Expect(Cf cf, std::string_view key, std::optional<std::string_view> value) override {
    expected_[static_cast<int>(cf)][std::string(key)] =
        value ? std::optional<std::string>(std::string(*value)) : std::nullopt;
    conditional_ = true;
  }
  bool conditional() const override { return conditional_; }
  // Per family: the value each key must hold for the batch to be written (nullopt =
  // absent).
  const std::map<std::string, std::optional<std::string>>& expected(int cf) const {
    return expected_[cf];
  }

  // The last operation of each key: a value to put, or nullopt to delete.
  const std::unordered_map<std::string, std::optional<std::string>>& ops(int cf) const {
    return ops_[cf];
  }

 private:
  std::optional<std::string>& Op(Cf cf, std::string_view key) {
    return ops_[static_cast<int>(cf)][std::string(key)];
  }
  std::array<std::unordered_map<std::string, std::optional<std::string>>, kNumCfs> ops_;
  std::array<std::map<std::string, std::optional<std::string>>, kNumCfs> expected_;
  bool conditional_ = false;
  size_t count_ = 0;
};

// ---- Iterators -----------------------------------------------------------------------

class PgIterator final : public KvIterator {
 public:
  PgIterator(Pool* pool, Cf cf, std::string lower, std::string upper, KvReadOptions options)
      : pool_(pool), cf_(cf), lower_(std::move(lower)), upper_(std::move(upper)),
        options_(options), page_rows_(options.fill_cache ? kPageRows : kScanPageRows) {}

  bool Valid() const override { return pos_ < rows_.size(); }
  void Seek(std::string_view key) override {
    Load(/*forward=*/true, std::max(key, std::string_view(lower_)), /*inclusive=*/true);
  }
  void SeekForPrev(std::string_view key) override {
    if (!upper_.empty() && key >= upper_) {
      SeekToLast();
      return;
    }
    Load(/*forward=*/false, key, /*inclusive=*/true);
  }
  void SeekToFirst() override { Load(/*forward=*/true, lower_, /*inclusive=*/true); }
  void SeekToLast() override {
    if (upper_.empty()) {
      Load(/*forward=*/false, std::nullopt, /*inclusive=*/true);
    } else {
      Load(/*forward=*/false, upper_, /*inclusive=*/false);
    }
  }
  void Next() override { Step(/*forward=*/true); }
  void Prev() override { Step(/*forward=*/false); }
  std::string_view key() const override { return rows_[pos_].first; }
  std::string_view value() const override { return rows_[pos_].second; }
  Status status() const override { return status_; }

 private:
  // Moves one row within the page, or reads the next page in that direction (none when
  // the last read one found the range's end there).
  void Step(bool forward) {
    const bool inside = forward ? pos_ + 1 < rows_.size() : pos_ > 0 && pos_ < rows_.size();
    if (inside) {
      pos_ = forward ? pos_ + 1 : pos_ - 1;
      return;
    }
    if (forward ? end_after_ : end_before_) {
      pos_ = rows_.size();
      return;
    }
    std::string from = rows_[pos_].first;
    Load(forward, from, /*inclusive=*/false);
  }

  // Reads the page that starts at `from` (nullopt: backward from the table's end).
  void Load(bool forward, std::optional<std::string_view> from_key, bool inclusive) {
    rows_.clear();
    pos_ = 0;
    end_after_ = end_before_ = false;
    std::string_view from = from_key.value_or(std::string_view());
    if (forward && !upper_.empty() && from >= upper_) return;
    if (!forward && from_key && from < lower_) return;
    Params p;
    std::string name;
    if (!from_key) {
      name = StatementName('L', cf_);
      p.Add(lower_);
    } else if (forward) {
      p.Add(from);
      if (upper_.empty()) {
        name = StatementName('U', cf_);
        if (!inclusive) {
          // k > from == k >= from + "\0".
          p = Params();
          p.Own(std::string(from) + '\0');
        }
      } else {
        name = StatementName(inclusive ? 'f' : 'F', cf_);
        p.Add(upper_);
      }
    } else {
      p.Add(from);
      name = StatementName(inclusive ? 'b' : 'B', cf_);
      p.Add(lower_);
    }
    p.Own(Int8(page_rows_));
    Status s = WithReadConn(pool_, options_, [&](PGconn* c) {
      Result r;
      COTENANT_RETURN_IF_ERROR(ExecOk(c, name, p, &r));
      int n = PQntuples(r.get());
      rows_.clear();
      rows_.reserve(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) {
        rows_.emplace_back(std::string(Cell(r.get(), i, 0)), std::string(Cell(r.get(), i, 1)));
      }
      return Status::OK();
    });
    if (!s.ok()) {
      status_ = s;
      rows_.clear();
      return;
    }
    bool short_page = static_cast<int64_t>(rows_.size()) < page_rows_;
    if (forward) {
      end_after_ = short_page;
      pos_ = 0;
    } else {
      std::reverse(rows_.begin(), rows_.end());
      end_before_ = short_page;
      pos_ = rows_.empty() ? 0 : rows_.size() - 1;
    }
  }

  Pool* pool_;
  const Cf cf_;
  const std::string lower_, upper_;
  const KvReadOptions options_;
  const int64_t page_rows_;
  std::vector<std::pair<std::string, std::string>> rows_;  // ascending
  size_t pos_ = 0;
  bool end_after_ = false;   // nothing after the page's last row (within the bounds)
  bool end_before_ = false;  // nothing before its first
  Status status_;
};

// ---- Sorted files (physical import) --------------------------------------------------
//
// The engine's own simple format: a magic line, then per entry a 4-byte big-endian key
// length, the key, a 4-byte value length, the value. Read forward only.

constexpr std::string_view kFileMagic = "cotenant sorted file 1\n";

class PgFileWriter final : public KvFileWriter {
 public:
  ~PgFileWriter() override {
    if (f_ != nullptr) std::fclose(f_);
  }
  Status Open(const std::string& path) {
    path_ = path;
    f_ = std::fopen(path.c_str(), "wbx");  // a new file
    if (f_ == nullptr) return Status::Internal("cannot create " + path + ": " + std::strerror(errno));
    return Append(kFileMagic);
  }
  Status Put(std::string_view key, std::string_view value) override {
    if (key.size() > kMaxKeyBytes) return TooLong(key.size());
    if (entries_ > 0 && key <= last_) {
      return Status::InvalidArgument("sorted file " + path_ + ": keys out of order");
    }
    last_.assign(key);
    ++entries_;
    std::string head;
    AppendU32(&head, static_cast<uint32_t>(key.size()));
    COTENANT_RETURN_IF_ERROR(Append(head));
    COTENANT_RETURN_IF_ERROR(Append(key));
    head.clear();
    AppendU32(&head, static_cast<uint32_t>(value.size()));
    COTENANT_RETURN_IF_ERROR(Append(head));
    return Append(value);
  }
  uint64_t FileSize() const override { return size_; }
  Status Finish() override {
    if (entries_ == 0) return Status::InvalidArgument("sorted file " + path_ + " has no entry");
    int rc = std::fclose(f_);
    f_ = nullptr;
    if (rc != 0) return Status::Internal("cannot write " + path_ + ": " + std::strerror(errno));
    return Status::OK();
  }

 private:
  Status Append(std::string_view bytes) {
    if (bytes.empty()) return Status::OK();
    if (std::fwrite(bytes.data(), 1, bytes.size(), f_) != bytes.size()) {
      return Status::Internal("cannot write " + path_ + ": " + std::strerror(errno));
    }
    size_ += bytes.size();
    return Status::OK();
  }

  std::string path_;
  std::FILE* f_ = nullptr;
  uint64_t size_ = 0;
  uint64_t entries_ = 0;
  std::string last_;
};

class PgFileIterator final : public KvIterator {
 public:
  ~PgFileIterator() override {
    if (f_ != nullptr) std::fclose(f_);
  }
  Status Open(const std::string& path) {
    path_ = path;
    f_ = std::fopen(path.c_str(), "rb");
    if (f_ == nullptr) return Status::Internal("cannot open " + path + ": " + std::strerror(errno));
    return Status::OK();
  }
  bool Valid() const override { return valid_; }
  void SeekToFirst() override {
    valid_ = false;
    std::string magic(kFileMagic.size(), '\0');
    if (std::fseek(f_, 0, SEEK_SET) != 0 ||
        std::fread(magic.data(), 1, magic.size(), f_) != magic.size() || magic != kFileMagic) {
      status_ = Status::Internal(path_ + " is not a sorted file of this engine");
      return;
    }
    Next();
  }
  void Seek(std::string_view target) override {
    for (SeekToFirst(); valid_ && key_ < target; Next()) {
    }
  }
  void Next() override {
    valid_ = false;
    std::string head(4, '\0');
    size_t got = std::fread(head.data(), 1, 4, f_);
    if (got == 0 && std::feof(f_)) return;  // the end
    if (got != 4 || !ReadBytes(Length(head), &key_) || std::fread(head.data(), 1, 4, f_) != 4 ||
        !ReadBytes(Length(head), &value_)) {
      status_ = Status::Internal("sorted file " + path_ + " is truncated");
      return;
    }
    valid_ = true;
  }
  // Read forward only.
  void SeekForPrev(std::string_view) override { Backward(); }
  void SeekToLast() override { Backward(); }
  void Prev() override { Backward(); }
  std::string_view key() const override { return key_; }
  std::string_view value() const override { return value_; }
  Status status() const override { return status_; }

 private:
  static uint32_t Length(const std::string& b) { return DecodeU32(b.data()); }
  bool ReadBytes(uint32_t n, std::string* out) {
    out->resize(n);
    return n == 0 || std::fread(out->data(), 1, n, f_) == n;
  }
  void Backward() {
    valid_ = false;
    status_ = Status::InvalidArgument("the PostgreSQL engine's sorted files are read forward only");
  }

  std::string path_;
  std::FILE* f_ = nullptr;
  bool valid_ = false;
  std::string key_, value_;
  Status status_;
};

// ---- The engine ----------------------------------------------------------------------

class PostgresEngine final : public KvEngine {
 public:
  PostgresEngine(std::string conninfo, size_t connections)
      : pool_(std::move(conninfo), connections) {}

  ~PostgresEngine() override {
    if (dir_lock_ >= 0) ::close(dir_lock_);
  }

  // Holds the store's advisory lock for as long as the engine is open: shared by servers
  // (several front-ends serve one store), taken alone with `exclusive` (the offline
  // checker), so neither runs while the other has the store. When `local_dir` is given,
  // that directory (created when missing) is locked too: it holds transient files (a
  // physical import's) that a second process on it would take for leftovers.
  Status Init(bool exclusive, const std::string& local_dir) {
    if (!local_dir.empty()) COTENANT_RETURN_IF_ERROR(LockDir(local_dir));
    COTENANT_RETURN_IF_ERROR(pool_.Connect(&lock_conn_, /*prepare=*/false));
    Result r;
    COTENANT_RETURN_IF_ERROR(Simple(lock_conn_.get(), "SELECT current_schema()", &r));
    if (PQntuples(r.get()) != 1 || PQgetisnull(r.get(), 0, 0)) {
      return Status::InvalidArgument(
          "PostgreSQL: no schema to keep the store in (the schemas search_path names do not exist)");
    }
    schema_ = PQgetvalue(r.get(), 0, 0);
    COTENANT_RETURN_IF_ERROR(Migrate());
    // A process killed a moment ago holds the lock until PostgreSQL sees its connection
    // close: waits that long before taking the lock for a live process's.
    const std::string take = exclusive
        ? "SELECT pg_try_advisory_lock(hashtext('cotenant store ' || current_schema()))"
        : "SELECT pg_try_advisory_lock_shared(hashtext('cotenant store ' || current_schema()))";
    const auto give_up = std::chrono::steady_clock::now() + kLockWait;
    for (;;) {
      COTENANT_RETURN_IF_ERROR(Simple(lock_conn_.get(), take.c_str(), &r));
      if (std::string_view(PQgetvalue(r.get(), 0, 0)) == "t") break;
      if (std::chrono::steady_clock::now() >= give_up) {
        return Status::Conflict(
            exclusive ? "a cotenantd serves the store in PostgreSQL schema " + schema_
                      : "the store in PostgreSQL schema " + schema_ +
                            " is taken alone (by the offline checker)");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return Status::OK();
  }

  std::unique_ptr<KvBatch> NewBatch() override { return std::make_unique<PgBatch>(); }
  bool shared() const override { return true; }

  Status Write(KvBatch* kv_batch, bool /*sync: every commit is durable*/) override {
    auto* batch = static_cast<PgBatch*>(kv_batch);
    // Arrays of the keys and values of each statement; views into the batch.
    struct Stmt {
      std::string name;
      Params params;
    };
    std::deque<Stmt> stmts;  // never moved: their parameters point into them
    for (int cf = 0; cf < kNumCfs; ++cf) {
      const auto& expected = batch->expected(cf);
      if (expected.empty()) continue;
      std::vector<std::string_view> keys;
      std::vector<std::optional<std::string_view>> values;
      for (const auto& [k, v] : expected) {
        if (k.size() > kMaxKeyBytes) return TooLong(k.size());
        keys.push_back(k);
        values.push_back(v ? std::optional<std::string_view>(*v) : std::nullopt);
      }
      Stmt& lock = stmts.emplace_back();
      lock.name = StatementName('l', static_cast<Cf>(cf));
      lock.params.Own(ByteaArray(keys));
      Stmt& check = stmts.emplace_back();
      check.name = StatementName('c', static_cast<Cf>(cf));
      check.params.Own(ByteaArray(keys));
      check.params.Own(ByteaArray(values));
    }
    for (int cf = 0; cf < kNumCfs; ++cf) {
      std::vector<std::string_view> put_keys, put_values, deletes;
      for (const auto& [k, v] : batch->ops(cf)) {
        if (k.size() > kMaxKeyBytes) return TooLong(k.size());
        if (v) {
          put_keys.push_back(k);
          put_values.push_back(*v);
        } else {
          deletes.push_back(k);
        }
      }
      if (deletes.size() == 1) {
        Stmt& s = stmts.emplace_back();
        s.name = StatementName('x', static_cast<Cf>(cf));
        s.params.Add(deletes[0]);
      } else if (!deletes.empty()) {
        Stmt& s = stmts.emplace_back();
        s.name = StatementName('d', static_cast<Cf>(cf));
        s.params.Own(ByteaArray(deletes));
      }
      if (put_keys.size() == 1) {
        Stmt& s = stmts.emplace_back();
        s.name = StatementName('p', static_cast<Cf>(cf));
        s.params.Add(put_keys[0]);
        s.params.Add(put_values[0]);
      } else if (!put_keys.empty()) {
        Stmt& s = stmts.emplace_back();
        s.name = StatementName('u', static_cast<Cf>(cf));
        s.params.Own(ByteaArray(put_keys));
        s.params.Own(ByteaArray(put_values));
      }
    }
    if (stmts.empty()) return Status::OK();
    Lease lease(&pool_);
    COTENANT_RETURN_IF_ERROR(lease.Open());
    PGconn* c = lease.get();
    if (stmts.size() == 1 && !batch->conditional()) {
      // One statement is its own transaction.
      Status s = ExecOk(c, stmts[0].name, stmts[0].params);
      return Unknown(c, s);
    }
    // One pipeline, one Sync: the statements run in one implicit transaction, and an
    // error in any rolls all back.
    if (PQenterPipelineMode(c) != 1) return Unknown(c, FromResult(c, nullptr));
    for (const auto& s : stmts) {
      const Params& p = s.params;
      if (PQsendQueryPrepared(c, s.name.c_str(), static_cast<int>(p.values.size()),
                              p.values.data(), p.lengths.data(), p.formats.data(), 1) != 1) {
        return Unknown(c, FromResult(c, nullptr));
      }
    }
    if (PQpipelineSync(c) != 1) return Unknown(c, FromResult(c, nullptr));
    Status first;
    for (size_t i = 0; i < stmts.size(); ++i) {
      Result r(PQgetResult(c));
      if (r == nullptr) return Unknown(c, FromResult(c, nullptr));
      if (!ResultOk(r.get()) && first.ok() &&
          PQresultStatus(r.get()) != PGRES_PIPELINE_ABORTED) {
        first = FromResult(c, r.get());
      }
      Result end(PQgetResult(c));  // NULL after each statement's result
    }
    Result sync(PQgetResult(c));
    if (sync == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
      return Unknown(c, first.ok() ? FromResult(c, sync.get()) : first);
    }
    if (PQexitPipelineMode(c) != 1) return Unknown(c, FromResult(c, nullptr));
    return Unknown(c, first);
  }

  Status Get(Cf cf, std::string_view key, std::string* value,
             const KvReadOptions& options) const override {
    // Every read is a round trip to the server: there is no memory-only answer.
    if (options.cache_only) return Status::Busy("read needs I/O");
    Params p;
    p.Add(key);
    return WithReadConn(pool(), options, [&](PGconn* c) {
      Result r;
      COTENANT_RETURN_IF_ERROR(ExecOk(c, StatementName('g', cf), p, &r));
      if (PQntuples(r.get()) == 0) return Status::NotFound("key not found");
      value->assign(Cell(r.get(), 0, 0));
      return Status::OK();
    });
  }

  void MultiGet(Cf cf, const std::vector<std::string>& keys, std::vector<std::string>* values,
                std::vector<Status>* statuses, const KvReadOptions& options) const override {
    values->assign(keys.size(), std::string());
    statuses->assign(keys.size(), Status::NotFound("key not found"));
    if (keys.empty()) return;
    if (options.cache_only) {
      statuses->assign(keys.size(), Status::Busy("read needs I/O"));
      return;
    }
    std::vector<std::string_view> views(keys.begin(), keys.end());
    Params p;
    p.Own(ByteaArray(views));
    Status s = WithReadConn(pool(), options, [&](PGconn* c) {
      Result r;
      COTENANT_RETURN_IF_ERROR(ExecOk(c, StatementName('m', cf), p, &r));
      std::unordered_map<std::string_view, int> rows;
      for (int i = 0; i < PQntuples(r.get()); ++i) rows.emplace(Cell(r.get(), i, 0), i);
      for (size_t i = 0; i < keys.size(); ++i) {
        auto it = rows.find(keys[i]);
        if (it == rows.end()) continue;
        (*values)[i].assign(Cell(r.get(), it->second, 1));
        (*statuses)[i] = Status::OK();
      }
      return Status::OK();
    });
    if (!s.ok()) statuses->assign(keys.size(), s);
  }

  std::unique_ptr<KvIterator> NewIterator(Cf cf, std::string lower, std::string upper,
                                          const KvReadOptions& options) const override {
    return std::make_unique<PgIterator>(pool(), cf, std::move(lower), std::move(upper), options);
  }

  std::shared_ptr<const KvSnapshot> GetSnapshot() const override {
    auto snap = std::make_shared<PgSnapshot>(pool());
    snap->Begin();
    return snap;
  }

  Status DropRange(Cf cf, std::string_view begin, std::string_view end) override {
    Params p;
    p.Add(begin);
    p.Add(end);
    Lease lease(&pool_);
    COTENANT_RETURN_IF_ERROR(lease.Open());
    return Unknown(lease.get(), ExecOk(lease.get(), StatementName('r', cf), p));
  }

  Status SyncWal() override { return Status::OK(); }

  void MemoryUsage(uint64_t* block_cache, uint64_t* memtables) const override {
    *block_cache = 0;
    *memtables = 0;
  }

  Status NewFileWriter(Cf, const std::string& path, std::unique_ptr<KvFileWriter>* out) override {
    auto w = std::make_unique<PgFileWriter>();
    COTENANT_RETURN_IF_ERROR(w->Open(path));
    *out = std::move(w);
    return Status::OK();
  }

  Status OpenFile(const std::string& path, std::unique_ptr<KvIterator>* out) const override {
    auto it = std::make_unique<PgFileIterator>();
    COTENANT_RETURN_IF_ERROR(it->Open(path));
    *out = std::move(it);
    return Status::OK();
  }

  // One transaction: every file's entries upserted in list order (a key in a later file
  // replaces the same key of an earlier one), in statements of kIngestRows rows.
  Status IngestFiles(const std::vector<KvIngestFile>& files) override {
    if (files.empty()) return Status::OK();
    Lease lease(&pool_);
    COTENANT_RETURN_IF_ERROR(lease.Open());
    PGconn* c = lease.get();
    COTENANT_RETURN_IF_ERROR(Unknown(c, Simple(c, "BEGIN")));
    Status s = [&]() -> Status {
      for (const auto& f : files) {
        std::unique_ptr<KvIterator> it;
        COTENANT_RETURN_IF_ERROR(OpenFile(f.path, &it));
        std::vector<std::string> keys, values;
        auto flush = [&]() -> Status {
          if (keys.empty()) return Status::OK();
          std::vector<std::string_view> kv(keys.begin(), keys.end()), vv(values.begin(), values.end());
          Params p;
          p.Own(ByteaArray(kv));
          p.Own(ByteaArray(vv));
          keys.clear();
          values.clear();
          return ExecOk(c, StatementName('u', f.cf), p);
        };
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
          keys.emplace_back(it->key());
          values.emplace_back(it->value());
          if (keys.size() == kIngestRows) COTENANT_RETURN_IF_ERROR(flush());
        }
        COTENANT_RETURN_IF_ERROR(it->status());
        COTENANT_RETURN_IF_ERROR(flush());
      }
      return Status::OK();
    }();
    if (!s.ok()) {
      if (!Lost(c)) (void)Simple(c, "ROLLBACK");
      return Unknown(c, s);
    }
    return Unknown(c, Simple(c, "COMMIT"));
  }

  Status Backup(const std::string&, uint32_t, BackupInfo*) override {
    return Status::InvalidArgument(
        "a store in PostgreSQL is backed up with PostgreSQL's own tools (pg_basebackup, "
        "continuous archiving), not by cotenantd");
  }

 private:
  Pool* pool() const { return &pool_; }

  // A write's status: when its connection was lost after sending, whether it committed is
  // unknown, and it is reported so.
  Status Unknown(PGconn* c, Status s) const {
    if (s.IsUnavailable() || Lost(c)) {
      pool_.DropIdle();
      return Status::Unavailable("PostgreSQL connection lost during a write; its outcome is unknown (" +
                                 s.message() + ")");
    }
    return s;
  }

  Status LockDir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status::Internal("cannot create " + dir + ": " + ec.message());
    const std::string path = dir + "/cotenantd.lock";
    dir_lock_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (dir_lock_ < 0) return Status::Internal("cannot open " + path + ": " + std::strerror(errno));
    if (::flock(dir_lock_, LOCK_EX | LOCK_NB) != 0) {
      return Status::Conflict("another cotenantd uses the data directory " + dir);
    }
    return Status::OK();
  }

  Status Migrate() {
    PGconn* c = lock_conn_.get();
    COTENANT_RETURN_IF_ERROR(Simple(c, "BEGIN"));
    Status s = [&]() -> Status {
      COTENANT_RETURN_IF_ERROR(
          Simple(c, "SELECT pg_advisory_xact_lock(hashtext('cotenant schema ' || current_schema()))"));
      COTENANT_RETURN_IF_ERROR(Simple(
          c, "CREATE TABLE IF NOT EXISTS cotenant_schema (one boolean PRIMARY KEY DEFAULT true "
             "CHECK (one), version integer NOT NULL)"));
      Result r;
      COTENANT_RETURN_IF_ERROR(Simple(c, "SELECT version FROM cotenant_schema", &r));
      int version = PQntuples(r.get()) == 0 ? 0 : std::atoi(PQgetvalue(r.get(), 0, 0));
      if (version > kSchemaVersion) {
        return Status::InvalidArgument("the store in PostgreSQL schema " + schema_ +
                                       " has version " + std::to_string(version) +
                                       ", newer than this cotenantd reads (" +
                                       std::to_string(kSchemaVersion) + ")");
      }
      if (version < 1) {
        for (const char* t : kTables) {
          COTENANT_RETURN_IF_ERROR(Simple(
              c, std::string("CREATE TABLE IF NOT EXISTS ") + t +
                     " (k bytea PRIMARY KEY, v bytea NOT NULL)"));
        }
        COTENANT_RETURN_IF_ERROR(Simple(c, "INSERT INTO cotenant_schema (version) VALUES (0)"));
      }
      if (version < 2) {
        // Raised by the check of a conditional write (statement 'c').
        COTENANT_RETURN_IF_ERROR(Simple(
            c, "CREATE OR REPLACE FUNCTION cotenant_condition_failed(k bytea) RETURNS boolean "
               "LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION USING ERRCODE = 'CT409', "
               "MESSAGE = 'key ' || encode(k, 'hex') || ' no longer holds what the write "
               "expected'; END$$"));
      }
      if (version < kSchemaVersion) {
        COTENANT_RETURN_IF_ERROR(Simple(c, "UPDATE cotenant_schema SET version = " +
                                               std::to_string(kSchemaVersion)));
        if (version == 0) {
          spdlog::info("created the store in PostgreSQL schema {} (version {})", schema_,
                       kSchemaVersion);
        } else {
          spdlog::info("upgraded the store in PostgreSQL schema {} from version {} to {}",
                       schema_, version, kSchemaVersion);
        }
      }
      // Later versions upgrade here, one step at a time, in this transaction.
      return Status::OK();
    }();
    if (!s.ok()) {
      (void)Simple(c, "ROLLBACK");
      return s;
    }
    return Simple(c, "COMMIT");
  }

  mutable Pool pool_;
  Conn lock_conn_;    // holds the store's advisory lock while the engine is open
  int dir_lock_ = -1;  // holds the local directory's lock (flock)
  std::string schema_;
};

}  // namespace

Status OpenPostgresEngine(const StoreOptions& options, std::unique_ptr<KvEngine>* out) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.storage.c_str(), &err);
  if (parsed == nullptr) {
    std::string why = err != nullptr ? Trimmed(err) : "out of memory";
    PQfreemem(err);
    return Status::InvalidArgument("--storage: not a PostgreSQL connection URI: " + why);
  }
  PQconninfoFree(parsed);
  if (options.storage_connections < 2) {
    return Status::InvalidArgument("storage connections must be at least 2");
  }
  auto engine = std::make_unique<PostgresEngine>(options.storage, options.storage_connections);
  COTENANT_RETURN_IF_ERROR(engine->Init(options.exclusive, options.path));
  *out = std::move(engine);
  return Status::OK();
}

}  // namespace cotenant::storage
