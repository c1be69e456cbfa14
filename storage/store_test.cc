#include <gtest/gtest.h>

#include <random>

#include "storage/criteria.h"
#include "storage/storage.h"
#include "storage/testing.h"

namespace cotenant::storage {
namespace {

using testing::CheckIndexes;
using testing::OpenStore;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenStore(dir_.path());
    ASSERT_TRUE(store_);
    ASSERT_TRUE(store_->CreateTenant("acme", TenantKind::kTenant, 0, &tenant_).ok());
    ObjectDef def;
    Status s = store_->CreateObject(tenant_.id, "Customers",
                                    {{"first_name", FieldType::kText, true, true},
                                     {"last_name", FieldType::kText, false, false},
                                     {"age", FieldType::kInt, false, true},
                                     {"score", FieldType::kFloat, false, false},
                                     {"active", FieldType::kBool, false, true},
                                     {"born", FieldType::kTimestamp, false, true}},
                                    &def);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  Record Add(FieldValues f) {
    Record r;
    Status s = store_->AddRecord(tenant_.id, "Customers", f, 7, &r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return r;
  }

  cotenant::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
  TenantInfo tenant_;
};

TEST_F(StoreTest, ObjectDefinitionsAreValidated) {
  ObjectDef def;
  EXPECT_TRUE(store_->CreateObject(tenant_.id, "Customers", {}, &def).IsConflict());
  EXPECT_TRUE(store_->CreateObject(tenant_.id, "9lives", {}, &def).IsInvalidArgument());
  EXPECT_TRUE(store_->CreateObject(tenant_.id, "Bad-Name", {}, &def).IsInvalidArgument());
  Status s = store_->CreateObject(tenant_.id, "Orders", {{"id", FieldType::kInt}}, &def);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("reserved"), std::string::npos) << s.message();
  s = store_->CreateObject(tenant_.id, "Orders", {{"x", FieldType::kInt}, {"x", FieldType::kText}}, &def);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("twice"), std::string::npos);
  std::vector<FieldDef> many;
  for (int i = 0; i < 300; ++i) many.push_back({"f" + std::to_string(i), FieldType::kInt});
  EXPECT_EQ(store_->CreateObject(tenant_.id, "Wide", many, &def).code(),
            Status::Code::kResourceExhausted);
  EXPECT_TRUE(store_->CreateObject(999999, "Orders", {}, &def).IsNotFound());
  ASSERT_TRUE(store_->CreateObject(tenant_.id, "Orders", {{"total", FieldType::kFloat}}, &def).ok());
  std::vector<ObjectDef> all;
  ASSERT_TRUE(store_->ListObjects(tenant_.id, &all).ok());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "Customers");
  EXPECT_EQ(all[1].name, "Orders");
}

TEST_F(StoreTest, AddAndGetCoercesAndStampsRecords) {
  Record r = Add({{"first_name", Value::Text("Ann")},
                  {"age", Value::Text("42")},
                  {"score", Value::Int(3)},
                  {"active", Value::Text("true")},
                  {"born", Value::Text("1990-05-01T00:00:00Z")}});
  EXPECT_GT(r.id, 0u);
  EXPECT_EQ(r.version, 1u);
  EXPECT_EQ(r.created_by, 7u);
  EXPECT_GT(r.created_at, 0);
  Record got;
  std::shared_ptr<const ObjectDef> def;
  ASSERT_TRUE(store_->GetRecord(tenant_.id, "Customers", r.id, &got, &def).ok());
  EXPECT_EQ(got.values[0], Value::Text("Ann"));
  EXPECT_TRUE(got.values[1].is_null());
  EXPECT_EQ(got.values[2], Value::Int(42));
  EXPECT_EQ(got.values[3], Value::Float(3.0));
  EXPECT_EQ(got.values[4], Value::Bool(true));
  int64_t born = 0;
  ASSERT_TRUE(ParseTimestamp("1990-05-01T00:00:00Z", &born).ok());
  EXPECT_EQ(got.values[5], Value::Time(born));
  EXPECT_EQ(got.version, 1u);
  EXPECT_EQ(got.created_at, r.created_at);
}

TEST_F(StoreTest, AddRejectsBadRecords) {
  Record r;
  Status s = store_->AddRecord(tenant_.id, "Customers", {{"age", Value::Int(3)}}, 1, &r);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("first_name"), std::string::npos) << s.message();
  s = store_->AddRecord(tenant_.id, "Customers",
                        {{"first_name", Value::Text("a")}, {"nope", Value::Int(1)}}, 1, &r);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("nope"), std::string::npos);
  s = store_->AddRecord(tenant_.id, "Customers",
                        {{"first_name", Value::Text("a")}, {"age", Value::Text("old")}}, 1, &r);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("age"), std::string::npos);
  s = store_->AddRecord(tenant_.id, "Customers",
                        {{"first_name", Value::Text("a")}, {"version", Value::Int(9)}}, 1, &r);
  EXPECT_TRUE(s.IsInvalidArgument());
  s = store_->AddRecord(tenant_.id, "Customers",
                        {{"first_name", Value::Text("a")}, {"first_name", Value::Text("b")}}, 1, &r);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_TRUE(store_->AddRecord(tenant_.id, "Nope", {}, 1, &r).IsNotFound());
  EXPECT_TRUE(store_->AddRecord(424242, "Customers", {}, 1, &r).IsNotFound());
  // Nothing of the above was written.
  SearchRequest all;
  all.object = "Customers";
  SearchResult res;
  ASSERT_TRUE(store_->Search(tenant_.id, all, &res).ok());
  EXPECT_TRUE(res.records.empty());
}

TEST_F(StoreTest, RecordSizeLimit) {
  Record r;
  Status s = store_->AddRecord(tenant_.id, "Customers",
                               {{"first_name", Value::Text(std::string(2 << 20, 'x'))}}, 1, &r);
  EXPECT_EQ(s.code(), Status::Code::kResourceExhausted);
  EXPECT_NE(s.message().find("limit"), std::string::npos);
}

TEST_F(StoreTest, UpdateIsPartialVersionedAndOptimistic) {
  Record r = Add({{"first_name", Value::Text("Ann")}, {"age", Value::Int(30)}});
  Record u;
  ASSERT_TRUE(store_->UpdateRecord(tenant_.id, "Customers", r.id, {{"age", Value::Int(31)}}, 1, 9, &u).ok());
  EXPECT_EQ(u.version, 2u);
  EXPECT_EQ(u.modified_by, 9u);
  EXPECT_EQ(u.created_by, 7u);
  EXPECT_EQ(u.values[0], Value::Text("Ann"));
  EXPECT_EQ(u.values[2], Value::Int(31));
  // A stale expected version is a conflict and changes nothing.
  Status s = store_->UpdateRecord(tenant_.id, "Customers", r.id, {{"age", Value::Int(99)}}, 1, 9, &u);
  EXPECT_TRUE(s.IsConflict()) << s.ToString();
  Record got;
  ASSERT_TRUE(store_->GetRecord(tenant_.id, "Customers", r.id, &got, nullptr).ok());
  EXPECT_EQ(got.values[2], Value::Int(31));
  EXPECT_EQ(got.version, 2u);
  // expected version 0 = any.
  ASSERT_TRUE(store_->UpdateRecord(tenant_.id, "Customers", r.id, {{"age", Value::Null()}}, 0, 9, &u).ok());
  EXPECT_TRUE(u.values[2].is_null());
  EXPECT_TRUE(store_->UpdateRecord(tenant_.id, "Customers", r.id, {{"first_name", Value::Null()}}, 0, 9, &u)
                  .IsInvalidArgument());
  EXPECT_TRUE(store_->UpdateRecord(tenant_.id, "Customers", r.id + 1000, {{"age", Value::Int(1)}}, 0, 9, &u)
                  .IsNotFound());
  EXPECT_TRUE(store_->UpdateRecord(tenant_.id, "Customers", r.id, {}, 0, 9, &u).IsInvalidArgument());
  EXPECT_EQ(CheckIndexes(*store_, tenant_.id, "Customers"), "");
}

TEST_F(StoreTest, DeleteHonoursExpectedVersion) {
  Record r = Add({{"first_name", Value::Text("Ann")}, {"age", Value::Int(30)}});
  EXPECT_TRUE(store_->DeleteRecord(tenant_.id, "Customers", r.id, 5).IsConflict());
  ASSERT_TRUE(store_->DeleteRecord(tenant_.id, "Customers", r.id, 1).ok());
  Record got;
  EXPECT_TRUE(store_->GetRecord(tenant_.id, "Customers", r.id, &got, nullptr).IsNotFound());
  EXPECT_TRUE(store_->DeleteRecord(tenant_.id, "Customers", r.id, 0).IsNotFound());
  EXPECT_EQ(CheckIndexes(*store_, tenant_.id, "Customers"), "");
}

TEST_F(StoreTest, IndexesMatchRecordsAfterEveryChange) {
  std::mt19937_64 rng(12345);
  std::vector<RecordId> live;
  const char* names[] = {"Ann", "Bob", "Cid", "Dee", ""};
  for (int op = 0; op < 1500; ++op) {
    int kind = static_cast<int>(rng() % 10);
    auto rand_fields = [&](bool add) {
      FieldValues f;
      if (add || rng() % 2) f.push_back({"first_name", Value::Text(names[rng() % 5])});
      if (rng() % 3) f.push_back({"age", rng() % 4 ? Value::Int(static_cast<int64_t>(rng() % 50) - 10) : Value()});
      if (rng() % 3) f.push_back({"active", rng() % 3 ? Value::Bool(rng() % 2) : Value()});
      if (rng() % 3) f.push_back({"born", Value::Time(static_cast<int64_t>(rng() % 1000) - 500)});
      if (!add && f.empty()) f.push_back({"score", Value::Float(1.5)});
      return f;
    };
    if (kind < 5 || live.empty()) {
      Record r;
      ASSERT_TRUE(store_->AddRecord(tenant_.id, "Customers", rand_fields(true), 1, &r).ok());
      live.push_back(r.id);
    } else if (kind < 8) {
      Record r;
      RecordId id = live[rng() % live.size()];
      ASSERT_TRUE(store_->UpdateRecord(tenant_.id, "Customers", id, rand_fields(false), 0, 1, &r).ok());
    } else if (kind < 9) {
      size_t i = rng() % live.size();
      ASSERT_TRUE(store_->DeleteRecord(tenant_.id, "Customers", live[i], 0).ok());
      live.erase(live.begin() + static_cast<long>(i));
    } else {
      std::vector<FieldValues> batch;
      for (int i = 0; i < 5; ++i) batch.push_back(rand_fields(true));
      std::vector<RecordId> ids;
      ASSERT_TRUE(store_->AddRecords(tenant_.id, "Customers", batch, 1, &ids).ok());
      live.insert(live.end(), ids.begin(), ids.end());
    }
    if (op % 100 == 0) {
      ASSERT_EQ(CheckIndexes(*store_, tenant_.id, "Customers"), "") << "after op " << op;
    }
  }
  ASSERT_EQ(CheckIndexes(*store_, tenant_.id, "Customers"), "");
  store_.reset();
  store_ = OpenStore(dir_.path());
  EXPECT_EQ(CheckIndexes(*store_, tenant_.id, "Customers"), "");
}

TEST_F(StoreTest, BatchAddIsAllOrNothing) {
  std::vector<FieldValues> batch;
  for (int i = 0; i < 5; ++i) batch.push_back({{"first_name", Value::Text("n" + std::to_string(i))}});
  batch[3] = {{"age", Value::Int(1)}};  // misses the required first_name
  std::vector<RecordId> ids;
  Status s = store_->AddRecords(tenant_.id, "Customers", batch, 1, &ids);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("record 3"), std::string::npos) << s.message();
  SearchRequest all;
  all.object = "Customers";
  SearchResult res;
  ASSERT_TRUE(store_->Search(tenant_.id, all, &res).ok());
  EXPECT_TRUE(res.records.empty());

  std::vector<FieldValues> big(1001, FieldValues{{"first_name", Value::Text("x")}});
  EXPECT_EQ(store_->AddRecords(tenant_.id, "Customers", big, 1, &ids).code(),
            Status::Code::kResourceExhausted);
  EXPECT_TRUE(store_->AddRecords(tenant_.id, "Customers", {}, 1, &ids).IsInvalidArgument());
  batch[3] = {{"first_name", Value::Text("ok")}};
  ASSERT_TRUE(store_->AddRecords(tenant_.id, "Customers", batch, 1, &ids).ok());
  ASSERT_EQ(ids.size(), 5u);
  for (size_t i = 1; i < ids.size(); ++i) EXPECT_EQ(ids[i], ids[i - 1] + 1);
}

TEST_F(StoreTest, RecordIdsAreNeverReusedAcrossRestarts) {
  Record a = Add({{"first_name", Value::Text("a")}});
  Record b = Add({{"first_name", Value::Text("b")}});
  ASSERT_TRUE(store_->DeleteRecord(tenant_.id, "Customers", b.id, 0).ok());
  store_.reset();
  store_ = OpenStore(dir_.path());
  Record c = Add({{"first_name", Value::Text("c")}});
  EXPECT_GT(c.id, b.id);
  Record got;
  EXPECT_TRUE(store_->GetRecord(tenant_.id, "Customers", a.id, &got, nullptr).ok());
}

TEST_F(StoreTest, SyncDurabilityKeepsWritesAcrossReopen) {
  store_.reset();
  StoreOptions o;
  o.durability = Durability::kSync;
  store_ = OpenStore(dir_.path(), o);
  Record r = Add({{"first_name", Value::Text("durable")}});
  store_.reset();
  store_ = OpenStore(dir_.path());
  Record got;
  ASSERT_TRUE(store_->GetRecord(tenant_.id, "Customers", r.id, &got, nullptr).ok());
  EXPECT_EQ(got.values[0], Value::Text("durable"));
}

TEST_F(StoreTest, MetadataAndSequences) {
  Store::MetaBatch b;
  b.Put(tenant_.id, "user/1", "alice");
  b.Put(tenant_.id, "user/2", "bob");
  b.Put(kGlobalTenant, "index/x", "y");
  ASSERT_TRUE(store_->MetaWrite(b).ok());
  std::string v;
  ASSERT_TRUE(store_->MetaGet(tenant_.id, "user/2", &v).ok());
  EXPECT_EQ(v, "bob");
  EXPECT_TRUE(store_->MetaGet(tenant_.id, "user/3", &v).IsNotFound());
  std::vector<std::string> keys;
  ASSERT_TRUE(store_->MetaScan(tenant_.id, "user/", [&](std::string_view k, std::string_view) {
    keys.emplace_back(k);
    return true;
  }).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"user/1", "user/2"}));
  Store::MetaBatch reserved;
  reserved.Put(tenant_.id, std::string(1, '\x01') + "Customers", "{}");
  EXPECT_TRUE(store_->MetaWrite(reserved).IsInvalidArgument());
  Store::MetaBatch other;
  other.Put(777777, "x", "y");
  EXPECT_TRUE(store_->MetaWrite(other).IsNotFound());

  uint64_t a = 0, c = 0;
  ASSERT_TRUE(store_->NextId(kGlobalTenant, "user", &a).ok());
  store_.reset();
  store_ = OpenStore(dir_.path());
  ASSERT_TRUE(store_->NextId(kGlobalTenant, "user", &c).ok());
  EXPECT_GT(c, a);
}

TEST_F(StoreTest, AuditScanByTimeRange) {
  ASSERT_TRUE(store_->AuditAppend(tenant_.id, 100, "a").ok());
  ASSERT_TRUE(store_->AuditAppend(tenant_.id, 200, "b").ok());
  ASSERT_TRUE(store_->AuditAppend(tenant_.id, 200, "c").ok());
  ASSERT_TRUE(store_->AuditAppend(tenant_.id, 300, "d").ok());
  std::string seen;
  ASSERT_TRUE(store_->AuditScan(tenant_.id, 150, 300, [&](int64_t t, std::string_view e) {
    EXPECT_GE(t, 150);
    seen += e;
    return true;
  }).ok());
  EXPECT_EQ(seen, "bc");
}

// A store several times larger than its block cache, read memory-only (as the server's
// first attempt on its event loop is): each batched or single read either answers the
// stored records or says it needs I/O (Busy), never a corrupt record. RocksDB's batched
// MultiGet can answer OK with no value for an uncached block under kBlockCacheTier.
TEST_F(StoreTest, MemoryOnlyReadsOfAStoreLargerThanItsCacheAnswerOrNeedIo) {
  std::mt19937_64 rng(5);
  auto text = [&rng](size_t n) {  // incompressible, so the files are as large as the data
    std::string t(n, ' ');
    for (char& c : t) c = static_cast<char>('a' + rng() % 26);
    return t;
  };
  std::vector<RecordId> ids;
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<FieldValues> records;
    for (int i = 0; i < 1000; ++i) {
      records.push_back({{"first_name", Value::Text("n" + std::to_string(batch * 1000 + i))},
                         {"last_name", Value::Text(text(1000))}});
    }
    std::vector<RecordId> added;
    Status s = store_->AddRecords(tenant_.id, "Customers", records, 7, &added);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ids.insert(ids.end(), added.begin(), added.end());
  }
  // Newer versions of many records over the older ones, in other files (as a write-heavy
  // load leaves them).
  for (int i = 0; i < 20000; ++i) {
    Record updated;
    Status s = store_->UpdateRecord(tenant_.id, "Customers", ids[rng() % ids.size()],
                                    {{"last_name", Value::Text(text(1000))}}, 0, 7, &updated);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // Reopened: the log is replayed into files, and the cache starts empty.
  store_.reset();
  store_ = OpenStore(dir_.path());
  ASSERT_TRUE(store_);
  int busy = 0, answered = 0;
  for (int call = 0; call < 2000; ++call) {
    std::vector<RecordId> want;
    for (int i = 0; i < 16; ++i) want.push_back(ids[rng() % ids.size()]);
    std::vector<Store::RecordRead> got;
    Status s = store_->GetRecords(tenant_.id, "Customers", want, &got, nullptr, /*cache_only=*/true);
    if (s.code() == Status::Code::kBusy) {
      ++busy;
    } else {
      ASSERT_TRUE(s.ok()) << "call " << call << ": " << s.ToString();
      ++answered;
      for (size_t i = 0; i < want.size(); ++i) {
        ASSERT_TRUE(got[i].status.ok()) << got[i].status.ToString();
        EXPECT_EQ(got[i].record.id, want[i]);
      }
    }
    Record one;
    Status single = store_->GetRecord(tenant_.id, "Customers", want[0], &one, nullptr, true);
    ASSERT_TRUE(single.ok() || single.code() == Status::Code::kBusy) << single.ToString();
    // With I/O allowed, the same reads always answer.
    if (call % 100 == 0) {
      ASSERT_TRUE(store_->GetRecords(tenant_.id, "Customers", want, &got, nullptr, false).ok());
    }
  }
  EXPECT_GT(busy, 0) << "the store fitted in its cache: nothing was tested";
  std::printf("memory-only batched reads: %d answered, %d needed I/O\n", answered, busy);
}

TEST_F(StoreTest, GetRecordsAnswersEachIdInOrder) {
  Record a = Add({{"first_name", Value::Text("Ann")}, {"age", Value::Int(20)}});
  Record b = Add({{"first_name", Value::Text("Bob")}, {"age", Value::Int(70)}});
  ASSERT_TRUE(store_->DeleteRecord(tenant_.id, "Customers", a.id, 0).ok());
  Record c = Add({{"first_name", Value::Text("Cy")}, {"age", Value::Int(30)}});
  std::vector<Store::RecordRead> got;
  std::shared_ptr<const ObjectDef> def;
  // Any order, repeats, a deleted id and one never used: each answered on its own.
  std::vector<RecordId> ids = {c.id, b.id, a.id, 999, c.id};
  ASSERT_TRUE(store_->GetRecords(tenant_.id, "Customers", ids, &got, &def).ok());
  ASSERT_EQ(got.size(), ids.size());
  ASSERT_NE(def, nullptr);
  EXPECT_TRUE(got[0].status.ok());
  EXPECT_EQ(got[0].record.id, c.id);
  EXPECT_EQ(got[0].record.values, c.values);
  EXPECT_EQ(got[1].record.id, b.id);
  EXPECT_EQ(got[1].record.version, b.version);
  EXPECT_TRUE(got[2].status.IsNotFound());
  Record single;
  EXPECT_EQ(got[2].status.message(),
            store_->GetRecord(tenant_.id, "Customers", a.id, &single, nullptr).message());
  EXPECT_TRUE(got[3].status.IsNotFound());
  EXPECT_NE(got[3].status.message().find("999"), std::string::npos);
  EXPECT_TRUE(got[4].status.ok());
  EXPECT_EQ(got[4].record.values, c.values);

  // A row outside the scope's filter is answered exactly like a missing one.
  std::unique_ptr<criteria::BoundExpr> filter;
  ASSERT_TRUE(criteria::Compile("age < 65", *def, &filter).ok());
  RecordScope scope;
  scope.row_filter = filter.get();
  ASSERT_TRUE(store_->GetRecords(tenant_.id, "Customers", {b.id, c.id}, &got, nullptr, false, &scope).ok());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].status.IsNotFound());
  EXPECT_EQ(got[0].status.message(),
            "record " + std::to_string(b.id) + " of object Customers does not exist");
  EXPECT_TRUE(got[1].status.ok());

  // Nothing asked, nothing answered; an unknown object fails the whole call.
  ASSERT_TRUE(store_->GetRecords(tenant_.id, "Customers", {}, &got, nullptr).ok());
  EXPECT_TRUE(got.empty());
  Status unknown = store_->GetRecords(tenant_.id, "Nope", {c.id}, &got, nullptr);
  EXPECT_EQ(unknown.code(), store_->GetRecord(tenant_.id, "Nope", c.id, &single, nullptr).code());
  EXPECT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("Nope"), std::string::npos) << unknown.message();
}

TEST_F(StoreTest, ScopeHidesRowsAndFields) {
  Record young = Add({{"first_name", Value::Text("Young")}, {"age", Value::Int(20)}});
  Record old = Add({{"first_name", Value::Text("Old")}, {"age", Value::Int(70)}});
  std::shared_ptr<const ObjectDef> def;
  ASSERT_TRUE(store_->GetObject(tenant_.id, "Customers", &def).ok());
  std::unique_ptr<criteria::BoundExpr> filter;
  ASSERT_TRUE(criteria::Compile("age < 65", *def, &filter).ok());
  RecordScope scope;
  scope.row_filter = filter.get();
  scope.visible_fields = {true, false, true, true, true, true};  // last_name hidden

  Record got;
  EXPECT_TRUE(store_->GetRecord(tenant_.id, "Customers", young.id, &got, nullptr, false, &scope).ok());
  EXPECT_TRUE(store_->GetRecord(tenant_.id, "Customers", old.id, &got, nullptr, false, &scope).IsNotFound());
  Record u;
  EXPECT_TRUE(store_->UpdateRecord(tenant_.id, "Customers", old.id, {{"age", Value::Int(1)}}, 0, 1, &u, &scope)
                  .IsNotFound());
  EXPECT_TRUE(store_->DeleteRecord(tenant_.id, "Customers", old.id, 0, &scope).IsNotFound());
  // Writing a row out of the filter is refused, like an RLS WITH CHECK.
  EXPECT_TRUE(store_->UpdateRecord(tenant_.id, "Customers", young.id, {{"age", Value::Int(80)}}, 0, 1, &u, &scope)
                  .IsPermissionDenied());
  Record r;
  EXPECT_TRUE(store_->AddRecord(tenant_.id, "Customers", {{"first_name", Value::Text("x")}, {"age", Value::Int(90)}},
                                1, &r, &scope)
                  .IsPermissionDenied());
  EXPECT_TRUE(store_->AddRecord(tenant_.id, "Customers",
                                {{"first_name", Value::Text("x")}, {"last_name", Value::Text("y")}}, 1, &r, &scope)
                  .IsInvalidArgument());
  SearchRequest req;
  req.object = "Customers";
  SearchResult res;
  ASSERT_TRUE(store_->Search(tenant_.id, req, &res, &scope).ok());
  ASSERT_EQ(res.records.size(), 1u);
  EXPECT_EQ(res.records[0].id, young.id);
  req.criteria = "last_name = 'x'";
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res, &scope).IsInvalidArgument());
  req.criteria = "";
  req.sort = {{"last_name", false}};
  EXPECT_TRUE(store_->Search(tenant_.id, req, &res, &scope).IsInvalidArgument());
}

}  // namespace
}  // namespace cotenant::storage
