// End-to-end: per-tenant quotas on a real cotenantd. Each quota a system admin sets is
// answered ResourceExhausted naming it, only for that tenant, and shows in usage and
// /metrics; tenant admins cannot change their own.

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

class QuotaTest : public SharedServerTest<QuotaTest> {
 protected:
  static Parameters Customer(const std::string& name) {
    Parameters p;
    p.add("first_name", name);
    return p;
  }
};

Parameters QuotaTestCustomer() {
  Parameters p;
  p.add("first_name", "someone");
  return p;
}

// Waits for every call: how many succeeded, how many were refused ResourceExhausted (and
// the last such message); any other outcome fails the test.
struct Tallied {
  int ok = 0;
  int refused = 0;
  std::string message;
};
Tallied Tally(std::vector<std::future<Result>>& calls) {
  Tallied t;
  for (auto& f : calls) {
    Result r = f.get();
    if (r.ok()) {
      ++t.ok;
    } else if (r.getCode() == ErrorCode::ResourceExhausted) {
      ++t.refused;
      t.message = r.getMessage();
    } else {
      ADD_FAILURE() << r.getCode() << ": " << r.getMessage();
    }
  }
  return t;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_F(QuotaTest, RecordsQuotaRefusesGrowthNamingItAndOnlyForThatTenant) {
  TenantHandle t = MakeTenant(*server_, *admin_, "q-records");
  TenantHandle other = MakeTenant(*server_, *admin_, "q-records-other");
  Quota q;
  q.records = 5;
  ASSERT_TRUE(admin_->setQuota(t.id, q).ok());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(t.client->addRecord("Customers", Customer("c" + std::to_string(i))).ok());
  // A batch that would cross the quota is refused whole.
  Result batch = t.client->addRecords("Customers", {Customer("x"), Customer("y")});
  EXPECT_EQ(batch.getCode(), ErrorCode::ResourceExhausted);
  EXPECT_TRUE(Contains(batch.getMessage(), "records quota of 5")) << batch.getMessage();
  Result fifth = t.client->addRecord("Customers", Customer("fifth"));
  ASSERT_TRUE(fifth.ok()) << fifth.getMessage();
  Result sixth = t.client->addRecord("Customers", Customer("sixth"));
  EXPECT_EQ(sixth.getCode(), ErrorCode::ResourceExhausted);
  EXPECT_TRUE(Contains(sixth.getMessage(), "tenant " + std::to_string(t.id) + " would exceed its records quota of 5"))
      << sixth.getMessage();
  // Reads, updates and deletes go on; a delete makes room.
  EXPECT_TRUE(t.client->getRecord("Customers", "*", fifth.getId()).ok());
  EXPECT_TRUE(t.client->updateRecord("Customers", fifth.getId(), Customer("5th")).ok());
  EXPECT_TRUE(t.client->deleteRecord("Customers", fifth.getId()).ok());
  EXPECT_TRUE(t.client->addRecord("Customers", Customer("again")).ok());
  // Another tenant is not held to it.
  for (int i = 0; i < 8; ++i) ASSERT_TRUE(other.client->addRecord("Customers", Customer("o")).ok());
  // Usage shows the quota to the tenant's admin, and the tenant's listing to the admin.
  auto usage = t.client->usage();
  ASSERT_TRUE(usage.ok()) << usage.getMessage();
  EXPECT_EQ(usage.value().records, 5u);
  EXPECT_EQ(usage.value().quota.records, 5u);
  auto tenants = admin_->listTenants();
  ASSERT_TRUE(tenants.ok());
  bool listed = false;
  for (const auto& x : tenants.value()) {
    if (x.id == t.id) listed = x.quota.records == 5;
  }
  EXPECT_TRUE(listed);
  std::string metrics = HttpGet(server_->http_port(), "/metrics");
  EXPECT_TRUE(Contains(metrics, "cotenant_quota_refusals_total{quota=\"records\"} ")) << metrics.substr(0, 200);
  EXPECT_FALSE(Contains(metrics, "cotenant_quota_refusals_total{quota=\"records\"} 0\n"));
}

TEST_F(QuotaTest, BytesQuotaRefusesAGrowingUpdateButNotAShrinkingOne) {
  TenantHandle t = MakeTenant(*server_, *admin_, "q-bytes");
  Result r = t.client->addRecord("Customers", Customer("small"));
  ASSERT_TRUE(r.ok());
  auto before = t.client->usage();
  ASSERT_TRUE(before.ok());
  Quota q;
  q.bytes = before.value().bytes + 1000;
  ASSERT_TRUE(admin_->setQuota(t.id, q).ok());
  Parameters big;
  big.add("last_name", std::string(4000, 'z'));
  Result grown = t.client->updateRecord("Customers", r.getId(), big);
  EXPECT_EQ(grown.getCode(), ErrorCode::ResourceExhausted);
  EXPECT_TRUE(Contains(grown.getMessage(), "bytes quota of " + std::to_string(q.bytes))) << grown.getMessage();
  Parameters medium;
  medium.add("last_name", std::string(500, 'z'));
  EXPECT_TRUE(t.client->updateRecord("Customers", r.getId(), medium).ok());
  Parameters none;
  none.addNull("last_name");
  EXPECT_TRUE(t.client->updateRecord("Customers", r.getId(), none).ok());
}

TEST_F(QuotaTest, CallsPerSecondQuotaRefusesTheExcessAndRefills) {
  TenantHandle t = MakeTenant(*server_, *admin_, "q-calls");
  TenantHandle other = MakeTenant(*server_, *admin_, "q-calls-other");
  Result r = t.client->addRecord("Customers", Customer("one"));
  ASSERT_TRUE(r.ok());
  Result o = other.client->addRecord("Customers", Customer("one"));
  ASSERT_TRUE(o.ok());
  Quota q;
  q.callsPerSecond = 20;
  ASSERT_TRUE(admin_->setQuota(t.id, q).ok());
  std::vector<std::future<Result>> calls;
  for (int i = 0; i < 200; ++i) calls.push_back(t.client->getRecordAsync("Customers", "*", r.getId()));
  auto [ok, refused, message] = Tally(calls);
  // A second's worth (20) plus what refilled while the calls ran; far from all 200.
  EXPECT_GE(ok, 20);
  EXPECT_LT(ok, 150);
  EXPECT_GT(refused, 0);
  EXPECT_TRUE(Contains(message, "is over its quota of 20 calls per second; retry in")) << message;
  // Other tenants are not limited.
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(other.client->getRecord("Customers", "*", o.getId()).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_TRUE(t.client->getRecord("Customers", "*", r.getId()).ok());
  std::string metrics = HttpGet(server_->http_port(), "/metrics");
  EXPECT_FALSE(Contains(metrics, "cotenant_quota_refusals_total{quota=\"calls_per_second\"} 0\n"));
  // Lifting the quota lifts the limit at once.
  ASSERT_TRUE(admin_->setQuota(t.id, Quota{}).ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(t.client->getRecord("Customers", "*", r.getId()).ok());
}

TEST_F(QuotaTest, ConcurrentWorkQuotaRefusesStorageJobsBeyondIt) {
  TenantHandle t = MakeTenant(*server_, *admin_, "q-work");
  std::vector<Parameters> batch;
  for (int i = 0; i < 1000; ++i) {
    Parameters p = Customer("c" + std::to_string(i));
    p.add("last_name", "family " + std::to_string(i % 7));
    batch.push_back(p);
  }
  for (int b = 0; b < 3; ++b) ASSERT_TRUE(t.client->addRecords("Customers", batch).ok());
  Quota q;
  q.concurrentWork = 1;
  ASSERT_TRUE(admin_->setQuota(t.id, q).ok());
  // Full scans (last_name is not indexed), all sent at once: one at a time is the quota.
  std::vector<std::future<Result>> searches;
  for (int i = 0; i < 40; ++i) {
    searches.push_back(std::async(std::launch::async, [&t] {
      return t.client->searchRecords("Customers", "first_name", "last_name = 'family 3'");
    }));
  }
  auto [ok, refused, message] = Tally(searches);
  EXPECT_GE(ok, 1);
  EXPECT_GT(refused, 0);
  EXPECT_TRUE(Contains(message, "tenant " + std::to_string(t.id) + " has 1 storage jobs in progress; its quota of "
                                "concurrent storage work is 1"))
      << message;
  std::string metrics = HttpGet(server_->http_port(), "/metrics");
  EXPECT_FALSE(Contains(metrics, "cotenant_quota_refusals_total{quota=\"concurrent_work\"} 0\n"));
  // One at a time always goes through.
  for (int i = 0; i < 5; ++i) {
    Result r = t.client->searchRecords("Customers", "first_name", "last_name = 'family 3'");
    EXPECT_TRUE(r.ok()) << r.getMessage();
  }
}

TEST_F(QuotaTest, OnlySystemAdminsSetQuotas) {
  TenantHandle t = MakeTenant(*server_, *admin_, "q-who");
  Quota q;
  q.records = 1;
  Result self = t.client->setQuota(0, q);
  EXPECT_EQ(self.getCode(), ErrorCode::PermissionDenied) << self.getMessage();
  Result missing = admin_->setQuota(987654321, q);
  EXPECT_EQ(missing.getCode(), ErrorCode::NotFound) << missing.getMessage();
}

TEST(QuotaRestartTest, QuotasAreDurable) {
  TempDir data;
  Quota q;
  q.records = 1;
  q.callsPerSecond = 1000;
  uint64_t id = 0;
  std::string key;
  {
    Cotenantd server({"--data", data.path() + "/d"});
    ASSERT_TRUE(server.ok()) << server.log();
    auto admin = AdminClient(server);
    TenantHandle t = MakeTenant(server, *admin, "durable");
    id = t.id;
    key = t.key;
    ASSERT_TRUE(admin->setQuota(t.id, q).ok());
    ASSERT_TRUE(t.client->addRecord("Customers", QuotaTestCustomer()).ok());
  }
  Cotenantd server({"--data", data.path() + "/d"});
  ASSERT_TRUE(server.ok()) << server.log();
  auto client = Client::connect(server.address(), id, key);
  auto usage = client->usage();
  ASSERT_TRUE(usage.ok());
  EXPECT_EQ(usage.value().quota, q);
  Result second = client->addRecord("Customers", QuotaTestCustomer());
  EXPECT_EQ(second.getCode(), ErrorCode::ResourceExhausted) << second.getMessage();
}

}  // namespace
}  // namespace cotenant::testing
