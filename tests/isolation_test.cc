// Isolation: no call of tenant A can read, change or learn of any record of tenant B,
// whatever ids, objects, criteria or tenant ids it sends.

#include <set>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

class IsolationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.ok()) << server_.log();
    admin_ = AdminClient(server_);
    a_ = MakeTenant(server_, *admin_, "tenant-a");
    b_ = MakeTenant(server_, *admin_, "tenant-b");
    // B has more records than A, so every id of A's range also exists in B.
    std::vector<Parameters> bs, as;
    for (int i = 0; i < 60; ++i) {
      Parameters p;
      p.add("first_name", "B-secret-" + std::to_string(i)).add("last_name", "b-only").add("age", int64_t{i});
      bs.push_back(p);
    }
    for (int i = 0; i < 20; ++i) {
      Parameters p;
      p.add("first_name", "A-" + std::to_string(i)).add("last_name", "a-only").add("age", int64_t{i});
      as.push_back(p);
    }
    Result rb = b_.client->addRecords("Customers", bs);
    ASSERT_TRUE(rb.ok()) << rb.getMessage();
    b_ids_ = rb.ids();
    Result ra = a_.client->addRecords("Customers", as);
    ASSERT_TRUE(ra.ok()) << ra.getMessage();
    // B also has an object A lacks.
    ASSERT_TRUE(b_.client->createObject(0, "Payroll", {{"salary", FieldType::Int, false, true}}).ok());
    Parameters pay;
    pay.add("salary", int64_t{250000});
    ASSERT_TRUE(b_.client->addRecord("Payroll", pay).ok());
  }

  // Every record A ever sees is A's own.
  static void ExpectOwn(const Result& r) {
    for (const auto& rec : r.getRecords()) {
      if (rec.has("last_name")) EXPECT_EQ(rec.get("last_name").asText(), "a-only");
      if (rec.has("first_name")) EXPECT_EQ(rec.get("first_name").asText().rfind("B-", 0), std::string::npos);
    }
  }

  Cotenantd server_;
  std::unique_ptr<Client> admin_;
  TenantHandle a_, b_;
  std::vector<uint64_t> b_ids_;
};

TEST_F(IsolationTest, RecordCallsNeverReachAnotherTenant) {
  std::set<uint64_t> a_touched;
  for (uint64_t id : b_ids_) {
    Result g = a_.client->getRecord("Customers", "*", id);
    if (g.ok()) ExpectOwn(g); else EXPECT_EQ(g.getCode(), ErrorCode::NotFound);
    Parameters p;
    p.add("age", int64_t{-1});
    Result u = a_.client->updateRecord("Customers", id, p);
    if (u.ok()) {
      ExpectOwn(u);
      a_touched.insert(id);
    } else {
      EXPECT_EQ(u.getCode(), ErrorCode::NotFound);
    }
    Result d = a_.client->deleteRecord("Customers", id + 1000);
    EXPECT_EQ(d.getCode(), ErrorCode::NotFound);
  }
  EXPECT_EQ(a_.client->getRecord("Payroll", "*", 1).getCode(), ErrorCode::NotFound);
  EXPECT_EQ(a_.client->searchRecords("Payroll", "*", "salary > 0").getCode(), ErrorCode::NotFound);
  Parameters pay;
  pay.add("salary", int64_t{1});
  EXPECT_EQ(a_.client->addRecord("Payroll", pay).getCode(), ErrorCode::NotFound);
  for (const char* criteria :
       {"", "first_name starts with 'B-'", "last_name = 'b-only'", "id > 0", "age >= 0",
        "first_name matches 'B.*'", "not (last_name = 'a-only')", "last_name in ('b-only', 'x')"}) {
    SearchQuery q;
    q.object = "Customers";
    q.criteria = criteria;
    q.numberOfRows = 1000;
    Result r = a_.client->search(q);
    ASSERT_TRUE(r.ok()) << criteria << ": " << r.getMessage();
    ExpectOwn(r);
  }
  // B is exactly as it was, except nothing.
  SearchQuery q;
  q.object = "Customers";
  q.numberOfRows = 1000;
  Result all_b = b_.client->search(q);
  ASSERT_TRUE(all_b.ok());
  ASSERT_EQ(all_b.getRecords().size(), 60u);
  for (const auto& rec : all_b.getRecords()) {
    EXPECT_EQ(rec.get("last_name").asText(), "b-only");
    EXPECT_GE(rec.get("age").asInt(), 0);
    EXPECT_EQ(rec.version(), 1u);
  }
}

TEST_F(IsolationTest, AdminCallsCannotNameAnotherTenant) {
  EXPECT_EQ(a_.client->listObjects(b_.id).getCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(a_.client->listUsers(b_.id).getCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(a_.client->createObject(b_.id, "Evil", {}).getCode(), ErrorCode::PermissionDenied);
  EXPECT_EQ(a_.client->createUser(b_.id, "mole", AdminLevel::TenantAdmin).getCode(),
            ErrorCode::PermissionDenied);
  EXPECT_EQ(a_.client->deleteTenant(b_.id).getCode(), ErrorCode::PermissionDenied);
  auto tenants = a_.client->listTenants();
  ASSERT_TRUE(tenants.ok());
  ASSERT_EQ(tenants.value().size(), 1u);
  EXPECT_EQ(tenants.value()[0].id, a_.id);
  auto objects = b_.client->listObjects();
  ASSERT_TRUE(objects.ok());
  EXPECT_EQ(objects.value().size(), 2u);
}

TEST_F(IsolationTest, ContextsToAnotherTenantAreRefused) {
  for (uint64_t target : {b_.id, uint64_t{1}, uint64_t{0xFFFFFFFFFFFFull}}) {
    try {
      TenantContext ctx(*a_.client, target);
      ADD_FAILURE() << "context to tenant " << target << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::PermissionDenied) << e.what();
    }
  }
}

}  // namespace
}  // namespace cotenant::testing
