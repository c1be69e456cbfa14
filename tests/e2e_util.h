// End-to-end helpers: a tenant with its own tenant admin and a Customers object, reached
// through the SDK against a real cotenantd.

#ifndef COTENANT_TESTS_E2E_UTIL_H_
#define COTENANT_TESTS_E2E_UTIL_H_

#include <gtest/gtest.h>

#include <cotenant/client.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tests/test_support.h"

namespace cotenant::testing {

struct TenantHandle {
  uint64_t id = 0;
  std::string key;  // the tenant admin's API key
  uint64_t user = 0;  // the tenant admin's user id
  std::unique_ptr<Client> client;
};

// Logs in as the system admin of `server`.
inline std::unique_ptr<Client> AdminClient(const Cotenantd& server) {
  return Client::connect(server.address(), 1, server.admin_key());
}

// Creates a tenant, a tenant admin in it (logged in, member of role "data-all" with every
// right on every object), and the object
// Customers(first_name text required indexed, last_name text, age int indexed,
//           vip bool, joined timestamp indexed).
inline TenantHandle MakeTenant(const Cotenantd& server, Client& admin, const std::string& name,
                               TenantKind kind = TenantKind::Tenant, uint64_t provider = 0) {
  TenantHandle h;
  auto t = admin.createTenant(name, kind, provider);
  EXPECT_TRUE(t.ok()) << t.getMessage();
  if (!t.ok()) return h;
  h.id = t.value().id;
  auto u = admin.createUser(h.id, name + "-admin", AdminLevel::TenantAdmin);
  EXPECT_TRUE(u.ok()) << u.getMessage();
  if (!u.ok()) return h;
  h.key = u.value().apiKey;
  h.user = u.value().user.id;
  h.client = Client::connect(server.address(), h.id, h.key);
  // Admin levels grant no data rights: the tenant admin gets a role with every right.
  auto role = h.client->createRole(0, "data-all", {{"*", Rights::all()}});
  EXPECT_TRUE(role.ok()) << role.getMessage();
  Result member = h.client->addRoleMember(0, "data-all", h.id, h.user);
  EXPECT_TRUE(member.ok()) << member.getMessage();
  auto o = h.client->createObject(0, "Customers",
                                  {{"first_name", FieldType::Text, true, true},
                                   {"last_name", FieldType::Text, false, false},
                                   {"age", FieldType::Int, false, true},
                                   {"vip", FieldType::Bool, false, false},
                                   {"joined", FieldType::Timestamp, false, true}});
  EXPECT_TRUE(o.ok()) << o.getMessage();
  return h;
}

// A test suite sharing one cotenantd (started with Derived::Flags(), if it declares
// them) and a system admin client logged in to it. Derive as
// `class MyTest : public SharedServerTest<MyTest>`.
template <typename Derived>
class SharedServerTest : public ::testing::Test {
 protected:
  static std::vector<std::string> Flags() { return {}; }
  static void SetUpTestSuite() {
    server_ = new Cotenantd(Derived::Flags());
    ASSERT_TRUE(server_->ok()) << server_->log();
    admin_ = AdminClient(*server_).release();
  }
  static void TearDownTestSuite() {
    delete admin_;
    admin_ = nullptr;
    delete server_;
    server_ = nullptr;
  }
  TenantHandle Tenant(const std::string& name) { return MakeTenant(*server_, *admin_, name); }

  static inline Cotenantd* server_ = nullptr;
  static inline Client* admin_ = nullptr;
};

// ---- The command-line tools, run as a user runs them ------------------------------------

// A tool's path: $ENV when set (to test an installed tool), else the built one.
inline std::string ToolPath(const char* env, const char* name) {
  const char* p = std::getenv(env);
  return p != nullptr && *p != '\0' ? p : BinaryPath(name);
}
inline std::string CliPath() { return ToolPath("COTENANT_CLI", "cotenant"); }
inline std::string ImporterPath() { return ToolPath("COTENANT_IMPORT", "cotenant-import"); }

// The COTENANT_* environment that logs a tool in to `server` as a tenant's user.
inline std::map<std::string, std::string> ToolEnv(const Cotenantd& server, uint64_t tenant,
                                                  const std::string& key) {
  return {{"COTENANT_ADDR", server.address()},
          {"COTENANT_TENANT", std::to_string(tenant)},
          {"COTENANT_KEY", key}};
}

inline void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  ASSERT_TRUE(out.good()) << path;
}

// Every record of `object` the client sees (through `ctx` when given) that `criteria`
// matches, paging with continuation tokens.
inline std::vector<Record> AllRecords(Client& client, const std::string& object,
                                      const TenantContext* ctx = nullptr,
                                      const std::string& criteria = "") {
  std::vector<Record> all;
  SearchQuery q;
  q.object = object;
  q.criteria = criteria;
  q.numberOfRows = 1000;
  for (int page = 0; page < 10000; ++page) {
    Result r = ctx != nullptr ? client.search(q, *ctx) : client.search(q);
    EXPECT_TRUE(r.ok()) << r.getMessage();
    if (!r.ok()) break;
    all.insert(all.end(), r.getRecords().begin(), r.getRecords().end());
    if (r.complete()) break;
    q.continuation = r.continuation();
  }
  return all;
}

}  // namespace cotenant::testing

#endif  // COTENANT_TESTS_E2E_UTIL_H_
