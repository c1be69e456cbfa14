// The store checker end to end: `cotenant fsck` offline (exit codes 0/1/2, the refusal
// while a server holds the directory) and online through checkStore (system admins only).

#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "storage/fsck.h"
#include "storage/key_encoding.h"
#include "storage/kv.h"
#include "storage/record_codec.h"
#include "storage/storage.h"
#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

std::string CliPath() {
  std::string d = BinaryPath("cotenantd");
  return d.substr(0, d.rfind('/')) + "/../cotenant/cotenant";
}

// Runs the CLI; returns its exit code and puts stdout and stderr in *out.
int Cli(const std::string& args, std::string* out) {
  return RunCommand(CliPath() + " " + args + " 2>&1", out);
}

TEST(FsckE2eTest, OnlineCheckIsForSystemAdminsOnly) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "acme");
  Parameters p;
  p.add("first_name", "ann").add("age", 30);
  ASSERT_TRUE(t.client->addRecord("Customers", p).ok());
  ASSERT_TRUE(admin->usage(t.id).ok());  // the record counters are live from here

  auto r = admin->checkStore();
  ASSERT_TRUE(r.ok()) << r.getMessage();
  EXPECT_TRUE(r.value().clean);
  EXPECT_EQ(r.value().problemCount, 0u);
  std::map<std::string, uint64_t> checked(r.value().checked.begin(), r.value().checked.end());
  EXPECT_EQ(checked["records"], 1u);
  EXPECT_EQ(checked["index entries"], 3u);  // first_name, age, joined
  EXPECT_GE(checked["usage counters"], 1u);

  auto denied = t.client->checkStore();
  EXPECT_EQ(denied.getCode(), ErrorCode::PermissionDenied) << denied.getMessage();

  std::string out;
  std::string conn = "--addr " + server.address() + " --tenant " + std::to_string(t.id) + " --key " + t.key;
  EXPECT_EQ(Cli(conn + " fsck --online", &out), 2) << out;
  EXPECT_NE(out.find("PermissionDenied"), std::string::npos) << out;
  conn = "--addr " + server.address() + " --tenant 1 --key " + server.admin_key();
  EXPECT_EQ(Cli(conn + " --json fsck --online", &out), 0) << out;
  EXPECT_NE(out.find(R"("clean":true)"), std::string::npos) << out;
}

TEST(FsckE2eTest, OfflineExitCodesAndRefusalWhileServing) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  uint64_t tenant = 0;
  {
    auto admin = AdminClient(server);
    TenantHandle t = MakeTenant(server, *admin, "acme");
    tenant = t.id;
    Parameters p;
    p.add("first_name", "ann").add("age", 30);
    ASSERT_TRUE(t.client->addRecord("Customers", p).ok());
  }
  std::string data = server.data_dir() + "/data";
  // On PostgreSQL the store is named by its URI (quoted: it holds '?' and '%').
  const std::string storage = TestStorageUri(data);
  const std::string target = storage.empty() ? data : "'" + storage + "'";
  std::string out;
  EXPECT_EQ(Cli("fsck " + target, &out), 2) << out;
  EXPECT_NE(out.find("in use by a running server"), std::string::npos) << out;
  EXPECT_NE(out.find("--online"), std::string::npos) << out;

  ASSERT_EQ(server.Stop(), 0) << server.log();
  EXPECT_EQ(Cli("fsck " + target, &out), 0) << out;
  EXPECT_EQ(out.substr(0, 6), "clean\n") << out;

  // An index entry no record calls for, planted behind the store's back.
  {
    storage::StoreOptions o;
    o.path = data;
    o.storage = storage;
    std::unique_ptr<storage::Store> store;
    ASSERT_TRUE(storage::Store::Open(o, &store).ok());
    std::shared_ptr<const storage::ObjectDef> def;
    ASSERT_TRUE(store->GetObject(tenant, "Customers", &def).ok());
    auto b = store->engine()->NewBatch();
    b->Put(storage::Cf::kIndexes, storage::IndexKey(tenant, def->id, 0, storage::Value::Text("ghost"), 777), "");
    ASSERT_TRUE(store->engine()->Write(b.get(), true).ok());
  }
  EXPECT_EQ(Cli("fsck " + target, &out), 1) << out;
  EXPECT_NE(out.find("index-extra tenant " + std::to_string(tenant)), std::string::npos) << out;
  EXPECT_NE(out.find("record 777"), std::string::npos) << out;
  EXPECT_EQ(Cli("--json fsck " + target, &out), 1) << out;
  EXPECT_NE(out.find(R"("problemCount":1)"), std::string::npos) << out;

  EXPECT_EQ(Cli("fsck " + server.data_dir() + "/nothing-here", &out), 2) << out;
  EXPECT_NE(out.find("no store"), std::string::npos) << out;
}

}  // namespace
}  // namespace cotenant::testing
