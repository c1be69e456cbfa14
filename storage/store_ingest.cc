// Store: physical import (docs/STORAGE.md, "Physical import"). An empty object is filled
// with sorted files written from the streamed batches and ingested at the end in one
// atomic step of the engine.
//
// Records arrive in increasing id order, so they are written to the records file as
// they come. Index entries do not: they are collected through AddIndexEntries (the one
// source of them) into a bounded buffer, which is sorted and written as a chunk file when
// full. At commit the chunks of a column family are ingested side by side when they are
// few, or first merged into one sorted run of non-overlapping files.

#include <algorithm>
#include <filesystem>
#include <queue>
#include <system_error>

#include "storage/key_encoding.h"
#include "storage/record_codec.h"
#include "storage/store_internal.h"

namespace cotenant::storage {
namespace {

namespace fs = std::filesystem;

constexpr const char* kIngestDir = "ingest";

std::string IngestRoot(const std::string& data_dir) {
  return (fs::path(data_dir) / kIngestDir).string();
}

// Entries of one column family, unsorted, in one arena so a small entry costs its bytes
// plus 16, not two std::string objects.
struct Buffer {
  struct Entry {
    uint64_t offset;
    uint32_t key_len;
    uint32_t value_len;
  };
  std::string arena;
  std::vector<Entry> entries;

  size_t bytes() const { return arena.size() + entries.size() * sizeof(Entry); }
  std::string_view key(const Entry& e) const { return {arena.data() + e.offset, e.key_len}; }
  std::string_view value(const Entry& e) const {
    return {arena.data() + e.offset + e.key_len, e.value_len};
  }
  void Add(std::string_view k, std::string_view v) {
    entries.push_back({arena.size(), static_cast<uint32_t>(k.size()), static_cast<uint32_t>(v.size())});
    arena.append(k);
    arena.append(v);
  }
  void Clear() {
    arena.clear();
    entries.clear();
  }
};

// What AddIndexEntries writes for new records, kept per column family. A new record's
// entries are puts; a delete cannot be carried by a file of new entries and fails the
// ingest rather than be dropped.
class CollectingBatch final : public KvBatch {
 public:
  CollectingBatch(std::array<Buffer, kNumCfs>* buffers, size_t budget)
      : buffers_(buffers), budget_(budget) {}
  void Put(Cf cf, std::string_view key, std::string_view value) override {
    Buffer& b = (*buffers_)[static_cast<int>(cf)];
    // Reserved once: the arena never grows by reallocation (which would hold the old and
    // the new copy at once); pages are only touched as entries arrive.
    if (b.arena.capacity() < budget_) b.arena.reserve(budget_);
    b.Add(key, value);
    ++count_;
  }
  void Delete(Cf, std::string_view) override {
    has_delete_ = true;
    ++count_;
  }
  size_t Count() const override { return count_; }
  // Sorted files have no conditions: the writes an ingest makes expect nothing.
  void Expect(Cf, std::string_view, std::optional<std::string_view>) override {
    has_condition_ = true;
  }
  bool conditional() const override { return has_condition_; }
  bool has_delete() const { return has_delete_; }

 private:
  std::array<Buffer, kNumCfs>* buffers_;
  const size_t budget_;
  size_t count_ = 0;
  bool has_delete_ = false;
  bool has_condition_ = false;
};

std::atomic<uint64_t> ingest_counter{0};

}  // namespace

Status RemoveLeftoverIngests(const std::string& data_dir) {
  std::error_code ec;
  fs::remove_all(IngestRoot(data_dir), ec);
  if (ec) {
    return Status::Internal("cannot remove the files of an unfinished physical import under " +
                            IngestRoot(data_dir) + ": " + ec.message());
  }
  return Status::OK();
}

Status Store::Impl::RefuseDuringIngest(TenantState* ts, const ObjectDef& def) const {
  if (ts->ingest_count.load(std::memory_order_acquire) == 0) return Status::OK();
  std::lock_guard<std::mutex> l(ts->ingest_mu);
  auto it = ts->ingests.find(def.id);
  if (it == ts->ingests.end()) return Status::OK();
  return Status::Conflict("object " + def.name + " is being filled by physical import " +
                          it->second + "; records can be added once it commits or aborts");
}

// ---- Ingest::Rep --------------------------------------------------------------------

class Store::Ingest::Rep {
 public:
  Rep(Store::Impl* impl, KvEngine* kv, const StoreOptions& options, TenantId tenant,
      std::shared_ptr<TenantState> ts, std::shared_ptr<const ObjectDef> def, UserId user,
      const RecordScope* scope, std::string name, std::string dir)
      : impl_(impl), kv_(kv), options_(options), tenant_(tenant), ts_(std::move(ts)),
        def_(std::move(def)), user_(user), name_(std::move(name)), dir_(std::move(dir)) {
    if (scope != nullptr) {
      scope_ = *scope;
      has_scope_ = true;
    }
  }
  ~Rep() { Finish(); }

  Status Add(const std::vector<FieldValues>& records, std::vector<ImportOutcome>* out);
  Status Commit(uint64_t* records);
  // Conflict when the object holds a record.
  Status CheckEmpty() const;
  void Abort() {
    std::lock_guard<std::mutex> l(mu_);
    Finish();
  }
  uint64_t chunks_written() const {
    std::lock_guard<std::mutex> l(mu_);
    return chunks_written_;
  }

 private:
  std::string NextPath(Cf cf) {
    return (fs::path(dir_) / (std::string(CfName(cf)) + "-" + std::to_string(++file_seq_) + ".sst"))
        .string();
  }
  // The answer once the ingest is over: what ended it, if that was a failure.
  Status Ended() const {
    if (!failed_.ok()) return failed_;
    return Status::InvalidArgument("physical import " + name_ + " is finished");
  }
  // Latches the first failure: the files written so far may lack entries of it.
  Status Fail(Status s) {
    if (failed_.ok()) failed_ = s;
    return s;
  }
  Status PutRecord(const std::string& key, const std::string& value);
  Status SpillAll();
  Status Spill(Cf cf);
  Status MergeChunks(Cf cf, std::vector<KvIngestFile>* files);
  // Conflict for an index key put twice, with the two records' ids as its values: only a
  // unique value's entry can repeat (every other entry's key holds its record's id).
  Status RepeatedUniqueValue(std::string_view key, std::string_view first,
                             std::string_view second) const;
  // Ends the ingest: forgets the registration, deletes every file. Idempotent.
  // REQUIRES: mu_ held (or the destructor).
  void Finish();

  Store::Impl* const impl_;
  KvEngine* const kv_;
  const StoreOptions& options_;
  const TenantId tenant_;
  const std::shared_ptr<TenantState> ts_;
  const std::shared_ptr<const ObjectDef> def_;
  const UserId user_;
  RecordScope scope_;
  bool has_scope_ = false;
  const std::string name_;
  const std::string dir_;

  mutable std::mutex mu_;  // serialises Add, Commit and Abort
  bool finished_ = false;
  Status failed_;
  uint64_t file_seq_ = 0;
  std::unique_ptr<KvFileWriter> records_writer_;
  std::string records_path_;
  std::vector<KvIngestFile> records_files_;
  std::array<Buffer, kNumCfs> buffers_;
  std::array<std::vector<std::string>, kNumCfs> chunks_;
  uint64_t chunks_written_ = 0;
  uint64_t count_ = 0;
  int64_t bytes_ = 0;
};

void Store::Ingest::Rep::Finish() {
  if (finished_) return;
  finished_ = true;
  records_writer_.reset();
  for (auto& b : buffers_) {
    b.Clear();
    b.arena.shrink_to_fit();
    b.entries.shrink_to_fit();
  }
  {
    std::unique_lock<std::shared_mutex> gate(ts_->write_gate);
    std::lock_guard<std::mutex> l(ts_->ingest_mu);
    ts_->ingests.erase(def_->id);
    ts_->ingest_count.store(static_cast<int>(ts_->ingests.size()), std::memory_order_release);
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);  // a failure is retried by the next Open
}

Status Store::Ingest::Rep::PutRecord(const std::string& key, const std::string& value) {
  if (!records_writer_) {
    records_path_ = NextPath(Cf::kRecords);
    COTENANT_RETURN_IF_ERROR(kv_->NewFileWriter(Cf::kRecords, records_path_, &records_writer_));
  }
  COTENANT_RETURN_IF_ERROR(records_writer_->Put(key, value));
  if (records_writer_->FileSize() >= options_.ingest_file_bytes) {
    COTENANT_RETURN_IF_ERROR(records_writer_->Finish());
    records_writer_.reset();
    records_files_.push_back({Cf::kRecords, records_path_});
  }
  return Status::OK();
}

Status Store::Ingest::Rep::Spill(Cf cf) {
  Buffer& b = buffers_[static_cast<int>(cf)];
  if (b.entries.empty()) return Status::OK();
  std::stable_sort(b.entries.begin(), b.entries.end(),
                   [&b](const Buffer::Entry& x, const Buffer::Entry& y) { return b.key(x) < b.key(y); });
  std::string path = NextPath(cf);
  std::unique_ptr<KvFileWriter> w;
  COTENANT_RETURN_IF_ERROR(kv_->NewFileWriter(cf, path, &w));
  for (size_t i = 0; i < b.entries.size(); ++i) {
    if (i + 1 < b.entries.size() && b.key(b.entries[i]) == b.key(b.entries[i + 1])) {
      if (cf == Cf::kIndexes) {
        return RepeatedUniqueValue(b.key(b.entries[i]), b.value(b.entries[i]),
                                   b.value(b.entries[i + 1]));
      }
      continue;  // elsewhere the later put wins, as in a write batch
    }
    COTENANT_RETURN_IF_ERROR(w->Put(b.key(b.entries[i]), b.value(b.entries[i])));
  }
  COTENANT_RETURN_IF_ERROR(w->Finish());
  chunks_[static_cast<int>(cf)].push_back(path);
  ++chunks_written_;
  b.Clear();
  return Status::OK();
}

Status Store::Ingest::Rep::SpillAll() {
  for (int cf = 0; cf < kNumCfs; ++cf) COTENANT_RETURN_IF_ERROR(Spill(static_cast<Cf>(cf)));
  return Status::OK();
}

Status Store::Ingest::Rep::MergeChunks(Cf cf, std::vector<KvIngestFile>* files) {
  const auto& chunks = chunks_[static_cast<int>(cf)];
  std::vector<std::unique_ptr<KvIterator>> its(chunks.size());
  for (size_t i = 0; i < chunks.size(); ++i) {
    COTENANT_RETURN_IF_ERROR(kv_->OpenFile(chunks[i], &its[i]));
    its[i]->SeekToFirst();
    COTENANT_RETURN_IF_ERROR(its[i]->status());
  }
  // Smallest key first; of equal keys the later chunk's (it was put later).
  auto later = [&its](size_t a, size_t b) {
    int c = its[a]->key().compare(its[b]->key());
    return c != 0 ? c > 0 : a < b;
  };
  std::priority_queue<size_t, std::vector<size_t>, decltype(later)> heap(later);
  for (size_t i = 0; i < its.size(); ++i) {
    if (its[i]->Valid()) heap.push(i);
  }
  std::unique_ptr<KvFileWriter> w;
  std::string path;
  std::string key;
  std::string value;
  while (!heap.empty()) {
    size_t top = heap.top();
    key.assign(its[top]->key());
    value.assign(its[top]->value());
    if (!w) {
      path = NextPath(cf);
      COTENANT_RETURN_IF_ERROR(kv_->NewFileWriter(cf, path, &w));
    }
    COTENANT_RETURN_IF_ERROR(w->Put(key, its[top]->value()));
    bool first = true;
    while (!heap.empty() && its[heap.top()]->key() == key) {
      size_t i = heap.top();
      if (!first && cf == Cf::kIndexes) return RepeatedUniqueValue(key, value, its[i]->value());
      first = false;
      heap.pop();
      its[i]->Next();
      if (its[i]->Valid()) {
        heap.push(i);
      } else {
        COTENANT_RETURN_IF_ERROR(its[i]->status());
      }
    }
    // Files end between keys, so the run's files do not overlap.
    if (w->FileSize() >= options_.ingest_file_bytes) {
      COTENANT_RETURN_IF_ERROR(w->Finish());
      w.reset();
      files->push_back({cf, path});
    }
  }
  if (w) {
    COTENANT_RETURN_IF_ERROR(w->Finish());
    files->push_back({cf, path});
  }
  its.clear();
  std::error_code ec;
  for (const auto& c : chunks) fs::remove(c, ec);  // the merged run replaces them
  return Status::OK();
}

Status Store::Ingest::Rep::RepeatedUniqueValue(std::string_view key, std::string_view first,
                                               std::string_view second) const {
  if (key.size() < kIndexPrefixLen || first.size() != 8 || second.size() != 8) {
    return Status::Internal("physical import " + name_ + " wrote an index entry twice");
  }
  size_t slot = DecodeU16(key.data() + kIndexPrefixLen - 2) & (kUniqueSlotFlag - 1u);
  std::string field = slot < def_->fields.size() ? def_->fields[slot].name : "?";
  std::string what = "the same value";
  std::string_view rest = key.substr(kIndexPrefixLen);
  Value v;
  if (slot < def_->fields.size() && DecodeOrdered(&rest, def_->fields[slot].type, &v)) {
    what = "the value " + v.Quoted();
  }
  RecordId a = DecodeU64(first.data()), b = DecodeU64(second.data());
  return Status::Conflict("records " + std::to_string(std::min(a, b)) + " and " +
                          std::to_string(std::max(a, b)) + " of physical import " + name_ +
                          " both have " + what + " in unique field " + field + " of " +
                          def_->name + "; nothing of the import is kept");
}

Status Store::Ingest::Rep::CheckEmpty() const {
  std::string prefix = ObjectPrefix(tenant_, def_->id);
  auto it = kv_->NewIterator(Cf::kRecords, prefix, PrefixSuccessor(prefix));
  it->SeekToFirst();
  COTENANT_RETURN_IF_ERROR(it->status());
  if (it->Valid()) {
    return Status::Conflict("object " + def_->name +
                            " holds records; a physical import fills only an empty object");
  }
  return Status::OK();
}

Status Store::Ingest::Rep::Add(const std::vector<FieldValues>& records,
                               std::vector<ImportOutcome>* out) {
  out->clear();
  std::lock_guard<std::mutex> l(mu_);
  if (finished_) return Ended();
  COTENANT_RETURN_IF_ERROR(failed_);
  COTENANT_RETURN_IF_ERROR(CheckBatch(records.size(), "import", options_.limits));
  const RecordScope* scope = has_scope_ ? &scope_ : nullptr;
  int64_t now = NowMicros();
  std::vector<Record> recs(records.size());
  std::vector<std::string> encoded(records.size());
  std::vector<ImportOutcome> outcomes(records.size());
  uint64_t count = 0;
  for (size_t i = 0; i < records.size(); ++i) {
    outcomes[i].status =
        PrepareAdd(*def_, records[i], user_, now, scope, options_.limits, &recs[i], &encoded[i]);
    if (outcomes[i].status.ok()) ++count;
  }
  uint64_t next = 0;
  if (count > 0) {
    std::shared_lock<std::shared_mutex> gate;
    Status entered = impl_->EnterWrite(ts_.get(), &gate);
    if (!entered.ok()) {
      // The tenant is being deleted: nothing of this ingest can land; drop its files now.
      if (failed_.ok()) failed_ = entered;
      Finish();
      return entered;
    }
    COTENANT_RETURN_IF_ERROR(impl_->AllocateIds(ts_.get(), tenant_, "record", count, &next));
  }
  // An arena may pass the budget by the entries of one record.
  CollectingBatch collect(&buffers_, options_.ingest_buffer_bytes + (64u << 10));
  for (size_t i = 0; i < recs.size(); ++i) {
    if (!outcomes[i].status.ok()) continue;
    RecordId id = next++;
    outcomes[i].id = id;
    Status put = PutRecord(RecordKey(tenant_, def_->id, id), encoded[i]);
    if (!put.ok()) return Fail(put);
    AddIndexEntries(&collect, tenant_, *def_, id, recs[i].values, /*expect_free=*/false);
    if (collect.has_delete()) {
      return Fail(Status::Internal("the index entries of a new record include a delete, which a "
                                   "physical import cannot carry; use a logical import"));
    }
    ++count_;
    bytes_ += static_cast<int64_t>(kRecordKeyLen + encoded[i].size());
    // Chunks end between records, so one record's entries are never split across two.
    size_t buffered = 0;
    for (const auto& b : buffers_) buffered += b.bytes();
    if (buffered >= options_.ingest_buffer_bytes) {
      Status spilled = SpillAll();
      if (!spilled.ok()) return Fail(spilled);
    }
  }
  *out = std::move(outcomes);
  return Status::OK();
}

Status Store::Ingest::Rep::Commit(uint64_t* records) {
  *records = 0;
  std::lock_guard<std::mutex> l(mu_);
  if (finished_) return Ended();
  struct Ender {
    Rep* rep;
    ~Ender() { rep->Finish(); }
  } ender{this};
  COTENANT_RETURN_IF_ERROR(failed_);
  if (count_ == 0) return Status::OK();

  std::vector<KvIngestFile> files = records_files_;
  if (records_writer_) {
    COTENANT_RETURN_IF_ERROR(records_writer_->Finish());
    records_writer_.reset();
    files.push_back({Cf::kRecords, records_path_});
  }
  COTENANT_RETURN_IF_ERROR(SpillAll());
  size_t max_overlapping = std::max<uint32_t>(1, options_.ingest_max_overlapping_files);
  for (int cf = 0; cf < kNumCfs; ++cf) {
    const auto& chunks = chunks_[cf];
    // A unique value given twice is two equal keys, in one chunk (found by Spill) or in
    // two (found only by merging them).
    bool repeats_matter = cf == static_cast<int>(Cf::kIndexes) && chunks.size() > 1 &&
                          std::any_of(def_->fields.begin(), def_->fields.end(),
                                      [](const FieldDef& f) { return f.unique; });
    if (chunks.size() > max_overlapping || repeats_matter) {
      COTENANT_RETURN_IF_ERROR(MergeChunks(static_cast<Cf>(cf), &files));
    } else {
      for (const auto& c : chunks) files.push_back({static_cast<Cf>(cf), c});
    }
  }

  if (ts_->HasStoreQuota()) COTENANT_RETURN_IF_ERROR(impl_->EnsureUsage(ts_.get(), tenant_));
  std::shared_lock<std::shared_mutex> gate;
  COTENANT_RETURN_IF_ERROR(impl_->EnterWrite(ts_.get(), &gate));
  // Writes adding records to the object are refused while the ingest is registered; this
  // re-check keeps the commit exact even so.
  COTENANT_RETURN_IF_ERROR(CheckEmpty());
  Growth growth(ts_.get());
  auto n = static_cast<int64_t>(count_);
  COTENANT_RETURN_IF_ERROR(growth.Add(impl_->Grow(ts_.get(), tenant_, n, bytes_), n, bytes_));
  COTENANT_RETURN_IF_ERROR(kv_->IngestFiles(files));
  growth.Commit();
  *records = count_;
  return Status::OK();
}

// ---- Ingest -------------------------------------------------------------------------

Store::Ingest::Ingest(std::unique_ptr<Rep> rep) : rep_(std::move(rep)) {}
Store::Ingest::~Ingest() = default;

Status Store::Ingest::Add(const std::vector<FieldValues>& records, std::vector<ImportOutcome>* out) {
  return rep_->Add(records, out);
}
Status Store::Ingest::Commit(uint64_t* records) { return rep_->Commit(records); }
void Store::Ingest::Abort() { rep_->Abort(); }
uint64_t Store::Ingest::chunks_written() const { return rep_->chunks_written(); }

Status Store::BeginIngest(TenantId tenant, std::string_view object, UserId user,
                          const RecordScope* scope, std::unique_ptr<Ingest>* out) {
  std::shared_ptr<TenantState> ts;
  std::shared_ptr<const ObjectDef> def;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, object, &ts, &def));
  std::string name = std::to_string(tenant) + "-" + std::to_string(def->id) + "-" +
                     std::to_string(NowMicros()) + "-" + std::to_string(++ingest_counter);
  std::string dir = (fs::path(IngestRoot(options_.path)) / name).string();
  {
    // Exclusive: a write that adds records and passed its check before the registration
    // has landed once the gate is ours, so the emptiness check below sees it.
    std::unique_lock<std::shared_mutex> gate(ts->write_gate);
    {
      std::shared_lock<std::shared_mutex> l(impl_->catalog_mu_);
      if (ts->deleting) return Status::NotFound("tenant " + std::to_string(tenant) + " does not exist");
    }
    std::lock_guard<std::mutex> l(ts->ingest_mu);
    if (auto it = ts->ingests.find(def->id); it != ts->ingests.end()) {
      return Status::Conflict("object " + def->name + " is already being filled by physical import " +
                              it->second);
    }
    ts->ingests.emplace(def->id, name);
    ts->ingest_count.store(static_cast<int>(ts->ingests.size()), std::memory_order_release);
  }
  // From here on the Rep owns the registration and the directory: any early return
  // below ends it through its destructor.
  auto rep = std::make_unique<Ingest::Rep>(impl_.get(), engine_.get(), options_, tenant, ts, def,
                                           user, scope, name, dir);
  COTENANT_RETURN_IF_ERROR(rep->CheckEmpty());
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::Internal("cannot create " + dir + ": " + ec.message());
  out->reset(new Ingest(std::move(rep)));
  return Status::OK();
}

}  // namespace cotenant::storage
