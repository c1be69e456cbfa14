// End-to-end: what a hostile or careless client sends cannot stop the server for others.

#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

const std::string kBadName = "Cust\xff\xfeomers";  // not UTF-8

class RobustnessTest : public SharedServerTest<RobustnessTest> {
 protected:
  static void ExpectNotUtf8(const Result& r, const std::string& what) {
    EXPECT_EQ(r.getCode(), ErrorCode::InvalidArgument) << what << ": " << r.getMessage();
    EXPECT_NE(r.getMessage().find("not valid UTF-8"), std::string::npos) << what << ": " << r.getMessage();
  }
};

// A call through a TenantContext is audited; a name that is not UTF-8 used to reach the
// audit writer's JSON encoder, which threw and terminated the process.
TEST_F(RobustnessTest, NamesThatAreNotUtf8AreRefusedAndTheServerKeepsServing) {
  TenantHandle pub = Tenant("utf8-pub");
  TenantHandle sub = Tenant("utf8-sub");
  auto shared = pub.client->createUser(0, "shared", AdminLevel::User);
  ASSERT_TRUE(shared.ok()) << shared.getMessage();
  ASSERT_TRUE(pub.client->createRole(0, "reader", {{"*", Rights{true, false, false, false}}}).ok());
  ASSERT_TRUE(pub.client->addRoleMember(0, "reader", pub.id, shared.value().user.id).ok());
  PolicyInfo policy;
  policy.name = "to-sub";
  policy.designated = sub.id;
  policy.userId = shared.value().user.id;
  ASSERT_TRUE(pub.client->createPolicy(0, policy).ok());
  Parameters john;
  john.add("first_name", "John");
  Result added = pub.client->addRecord("Customers", john);
  ASSERT_TRUE(added.ok()) << added.getMessage();

  TenantContext ctx(*sub.client, pub.id);
  ExpectNotUtf8(sub.client->getRecord(kBadName, "*", added.getId(), ctx), "getRecord via context");
  ExpectNotUtf8(sub.client->searchRecords(kBadName, "*", "", ctx), "searchRecords via context");
  ExpectNotUtf8(sub.client->addRecord(kBadName, john, ctx), "addRecord via context");
  ExpectNotUtf8(sub.client->deleteRecord(kBadName, added.getId(), ctx), "deleteRecord via context");

  // Own-tenant calls: every kind of client text is checked at the wire.
  ExpectNotUtf8(sub.client->getRecord(kBadName, "*", 1), "object name");
  Parameters bad_field;
  bad_field.add(kBadName, "x");
  ExpectNotUtf8(sub.client->addRecord("Customers", bad_field), "field name");
  Parameters bad_value;
  bad_value.add("first_name", "J\xc3");
  ExpectNotUtf8(sub.client->addRecord("Customers", bad_value), "text value");
  ExpectNotUtf8(sub.client->searchRecords("Customers", "*", "first_name = 'J\xe2\x82'"), "criteria");
  ExpectNotUtf8(sub.client->getRecord("Customers", kBadName, added.getId()), "projection");
  auto role = sub.client->createRole(0, kBadName, {{"Customers", Rights::all()}});
  EXPECT_EQ(role.getCode(), ErrorCode::InvalidArgument) << role.getMessage();
  auto object = sub.client->createObject(0, kBadName, {{"a", FieldType::Text, false, false}});
  EXPECT_EQ(object.getCode(), ErrorCode::InvalidArgument) << object.getMessage();
  // Nothing of the refused calls was written.
  EXPECT_EQ(sub.client->searchRecords("Customers", "*", "").getRecords().size(), 0u);

  // Still serving, and the audit writer still writes: a good call through the context is
  // audited in the publisher's log.
  Result got = sub.client->getRecord("Customers", "first_name", added.getId(), ctx);
  ASSERT_TRUE(got.ok()) << got.getMessage();
  auto fresh = Client::connect(server_->address(), pub.id, pub.key);
  AuditQuery q;
  q.callerTenant = sub.id;
  auto log = fresh->queryAudit(q);
  ASSERT_TRUE(log.ok()) << log.getMessage();
  EXPECT_TRUE(std::any_of(log.value().begin(), log.value().end(), [&](const AuditEntry& e) {
    return e.api == "getRecord" && e.recordId == added.getId() && e.outcome == "OK";
  }));
  std::string health = HttpGet(server_->http_port(), "/healthz");
  EXPECT_NE(health.find("200"), std::string::npos) << health;
}

}  // namespace
}  // namespace cotenant::testing

namespace cotenant::testing {
namespace {

// A small tmpfs for the data directory, or a reason why there cannot be one here.
class SmallDisk {
 public:
  explicit SmallDisk(const std::string& dir, int mib) : dir_(dir) {
    std::string opts = "size=" + std::to_string(mib) + "m,mode=0700";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      why_ = std::string("cannot mount a tmpfs here (") + std::strerror(errno) +
             "); run as root or with CAP_SYS_ADMIN to test a full disk";
    }
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& why() const { return why_; }

 private:
  std::string dir_;
  bool mounted_ = false;
  std::string why_;
};

std::string DurabilityUnderTest() {
  const char* d = std::getenv("COTENANT_TEST_DURABILITY");
  return d != nullptr ? d : "group";
}

// Fills `path` with `bytes` of data (a ballast file to delete when space must return).
bool Ballast(const std::string& path, size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  std::string chunk(1 << 20, 'b');
  for (size_t done = 0; done < bytes && out; done += chunk.size()) out.write(chunk.data(), chunk.size());
  return static_cast<bool>(out);
}

// Disk full in the default (group) durability: writes answer ResourceExhausted "disk
// full", reads go on, /healthz says so; when space returns writes resume; no
// acknowledged write is lost.
TEST(DiskFull, WritesAreRefusedReadsGoOnAndWritesResumeWhenSpaceReturns) {
  COTENANT_SKIP_ON_POSTGRESQL("the disk-space reserve guards the embedded engine's data directory");
  TempDir root;
  std::string disk = root.path() + "/disk";
  std::filesystem::create_directories(disk);
  SmallDisk small(disk, 32);
  if (!small.mounted()) GTEST_SKIP() << small.why();
  ASSERT_TRUE(Ballast(disk + "/ballast", 12u << 20));
  std::string data = disk + "/data";
  auto server = std::make_unique<Cotenantd>(std::vector<std::string>{"--data", data, "--durability", DurabilityUnderTest(), "--min-free-disk-mb", "4"});
  ASSERT_TRUE(server->ok()) << server->log();
  auto admin = AdminClient(*server);
  TenantHandle t = MakeTenant(*server, *admin, "filler");
  std::string big(60 << 10, 'x');
  std::vector<uint64_t> acknowledged;
  Result refused;
  for (int i = 0; i < 2000; ++i) {
    Result r = t.client->addRecord("Customers", Parameters().add("first_name", "f").add("last_name", big));
    if (!r.ok()) {
      refused = r;
      break;
    }
    acknowledged.push_back(r.getId());
  }
  ASSERT_FALSE(refused.ok()) << "the disk never filled";
  EXPECT_EQ(refused.getCode(), ErrorCode::ResourceExhausted) << refused.getMessage();
  EXPECT_NE(refused.getMessage().find("disk full"), std::string::npos) << refused.getMessage();
  EXPECT_EQ(refused.getMessage().find('/'), std::string::npos) << "no server path: " << refused.getMessage();
  ASSERT_FALSE(acknowledged.empty());
  // Still full: writes refused at once, reads served, health says why.
  Result again = t.client->addRecord("Customers", Parameters().add("first_name", "g"));
  EXPECT_EQ(again.getCode(), ErrorCode::ResourceExhausted) << again.getMessage();
  Result read = t.client->getRecord("Customers", "first_name", acknowledged.front());
  EXPECT_TRUE(read.ok()) << read.getMessage();
  std::string health = HttpGet(server->http_port(), "/healthz");
  EXPECT_NE(health.find("503"), std::string::npos) << health;
  EXPECT_NE(health.find("disk full"), std::string::npos) << health << server->log();
  std::string metrics = HttpGet(server->http_port(), "/metrics");
  EXPECT_NE(metrics.find("cotenant_background_failing{work=\"storage writes\"} 1"), std::string::npos);

  // Space returns: within a few retries a write goes through again.
  ASSERT_EQ(::unlink((disk + "/ballast").c_str()), 0);
  Result resumed;
  for (int i = 0; i < 100; ++i) {
    resumed = t.client->addRecord("Customers", Parameters().add("first_name", "after"));
    if (resumed.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(resumed.ok()) << resumed.getMessage() << "\n" << server->log();
  acknowledged.push_back(resumed.getId());
  // Health recovers once every background job has written again (the usage flusher, on
  // its own period, may still report the failure it saw for a moment).
  for (int i = 0; i < 100; ++i) {
    health = HttpGet(server->http_port(), "/healthz");
    if (health.find("200") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(health.find("200"), std::string::npos) << health;

  // Every acknowledged write is there after a restart.
  ASSERT_TRUE(server->Restart()) << server->log();
  auto after = Client::connect(server->address(), t.id, t.key);
  for (uint64_t id : acknowledged) {
    Result r = after->getRecord("Customers", "first_name", id);
    ASSERT_TRUE(r.ok()) << "acknowledged record " << id << " lost: " << r.getMessage();
  }
}

}  // namespace
}  // namespace cotenant::testing
