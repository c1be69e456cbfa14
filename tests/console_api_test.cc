// What the admin console stands on, end to end through the HTTP/JSON API of a real
// cotenantd: its files under /console/ (built in, or read from --console-dir at each
// request), the usage history its charts draw, the audit log's direction filter, and the
// lint of permission sets.

#include <sys/wait.h>

#include <fstream>

#include <gtest/gtest.h>

#include "tests/http_api_fixture.h"

namespace cotenant::testing {
namespace {

class ConsoleApiTest : public SharedServerTest<ConsoleApiTest> {
 public:
  static std::vector<std::string> Flags() {
    api_port_ = FreePort();
    console_dir_ = new TempDir();
    std::ofstream(console_dir_->path() + "/index.html") << "<!doctype html><title>console</title>";
    return {"--api", "127.0.0.1:" + std::to_string(api_port_), "--console-dir", console_dir_->path(),
            "--usage-history-interval", "1", "--usage-history-samples", "5"};
  }
  static void TearDownTestSuite() {
    SharedServerTest<ConsoleApiTest>::TearDownTestSuite();
    delete console_dir_;
    console_dir_ = nullptr;
  }

 protected:
  std::unique_ptr<HttpConnection> Connect(uint64_t tenant, const std::string& key) {
    return ConnectApi(api_port_, tenant, key);
  }
  static inline int api_port_ = 0;
  static inline TempDir* console_dir_ = nullptr;
};

TEST_F(ConsoleApiTest, FilesOfTheConsoleDirAreServedAsTheyAreNowWithTheirTypesAndPolicy) {
  HttpConnection c(api_port_);  // no credentials: the pages log in through the API
  HttpReply moved = c.Call("GET", "/console");
  EXPECT_EQ(moved.status, 301) << moved;
  EXPECT_EQ(moved.headers["location"], "/console/");
  HttpReply index = c.Call("GET", "/console/");
  ASSERT_EQ(index.status, 200) << index;
  EXPECT_EQ(index.body, "<!doctype html><title>console</title>");
  EXPECT_EQ(index.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(index.headers["content-security-policy"].find("default-src 'self'"), std::string::npos)
      << index;
  EXPECT_NE(index.headers["content-security-policy"].find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(index.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(index.headers["cache-control"], "no-cache");

  // A file added or changed in the directory is served at the next request.
  std::ofstream(console_dir_->path() + "/app.js") << "console.log(1);";
  std::ofstream(console_dir_->path() + "/look.css") << "body{}";
  HttpReply js = c.Call("GET", "/console/app.js");
  ASSERT_EQ(js.status, 200) << js;
  EXPECT_EQ(js.body, "console.log(1);");
  EXPECT_EQ(js.headers["content-type"], "text/javascript; charset=utf-8");
  EXPECT_EQ(c.Call("GET", "/console/look.css").headers["content-type"], "text/css; charset=utf-8");
  std::ofstream(console_dir_->path() + "/app.js") << "console.log(2);";
  EXPECT_EQ(c.Call("GET", "/console/app.js").body, "console.log(2);");

  // Only plain file names of the directory, only GET.
  HttpReply missing = c.Call("GET", "/console/nothing.js");
  EXPECT_EQ(missing.status, 404) << missing;
  EXPECT_EQ(missing.message(), "the console has no file nothing.js");
  HttpReply hidden = c.Call("GET", "/console/.secret");
  EXPECT_EQ(hidden.status, 400) << hidden;
  EXPECT_NE(hidden.message().find("not a console file name"), std::string::npos) << hidden;
  EXPECT_EQ(c.Call("GET", "/console/a/b.js").status, 404);
  EXPECT_EQ(c.Call("GET", "/console/%2e%2e%2fadmin.key").status, 400);
  HttpReply posted = c.Call("POST", "/console/", "{}");
  EXPECT_EQ(posted.status, 405) << posted;
  EXPECT_EQ(posted.headers["allow"], "GET");
}

TEST(ConsoleFilesTest, TheBuiltInConsoleIsTheSourceTreesAndABadConsoleDirIsRefused) {
  const std::string index = ReadFile(std::string(COTENANT_SOURCE_DIR) + "/console/index.html");
  ASSERT_FALSE(index.empty()) << "console/index.html";
  int port = FreePort();
  Cotenantd server({"--api", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(server.ok()) << server.log();
  HttpConnection c(port);
  HttpReply r = c.Call("GET", "/console/");
  ASSERT_EQ(r.status, 200) << r.status;
  EXPECT_EQ(r.body, index) << "the console built into cotenantd is not console/ of its sources";

  // --console-dir must be a directory holding index.html: the server does not start, and
  // says why.
  TempDir dir;
  const struct {
    std::string console_dir, expect;
  } cases[] = {{dir.path(), dir.path() + " has no index.html"},
               {dir.path() + "/none", dir.path() + "/none is not a directory"}};
  for (const auto& c : cases) {
    const std::string log = dir.path() + "/refused.log";
    Process p;
    ASSERT_TRUE(p.Start({BinaryPath("cotenantd"), "--data", dir.path() + "/data", "--listen",
                         "127.0.0.1:" + std::to_string(FreePort()), "--api",
                         "127.0.0.1:" + std::to_string(FreePort()), "--console-dir", c.console_dir},
                        log));
    const int status = p.Stop(0, std::chrono::seconds(30));  // signal 0: just wait
    ASSERT_TRUE(WIFEXITED(status)) << ReadFile(log);
    EXPECT_NE(WEXITSTATUS(status), 0) << ReadFile(log);
    EXPECT_NE(ReadFile(log).find("--console-dir: " + c.expect), std::string::npos) << ReadFile(log);
  }
}

TEST_F(ConsoleApiTest, UsageHistoryKeepsTheNewestSamplesAndEndsWithTheFiguresNow) {
  TenantHandle t = Tenant("history");
  TenantHandle other = Tenant("history-other");
  auto owner = Connect(t.id, t.key);
  auto history = [&] { return owner->Call("POST", "/v1/admin/usageHistory", "{}"); };
  for (int i = 0; i < 3; ++i) {
    Parameters p;
    p.add("first_name", "n" + std::to_string(i));
    ASSERT_TRUE(t.client->addRecord("Customers", p).ok());
  }
  // Sampled every second, at most 5 kept, each the figures of its time, then now's.
  HttpReply h;
  EXPECT_TRUE(Eventually([&] {
    h = history();
    return h.json["samples"].size() == 6u;
  })) << h;
  ASSERT_EQ(h.status, 200) << h;
  EXPECT_EQ(U64(h.json["intervalSeconds"]), 1u);
  const json& samples = h.json["samples"];
  for (size_t i = 1; i < samples.size(); ++i) {
    EXPECT_LE(U64(samples[i - 1]["at"]), U64(samples[i]["at"])) << "oldest first: " << h;
  }
  const json& now = samples.back();
  EXPECT_EQ(U64(now["records"]), 3u) << h;
  uint64_t adds = 0;
  for (const auto& c : now["calls"]) adds += c["api"] == "addRecord" ? U64(c["calls"]) : 0;
  EXPECT_EQ(adds, 3u) << now;
  json usage = owner->Call("POST", "/v1/admin/usage", "{}").json["usage"];
  EXPECT_EQ(U64(usage["records"]), U64(now["records"]));

  // One more record shows in the samples that follow.
  Parameters p;
  p.add("first_name", "late");
  ASSERT_TRUE(t.client->addRecord("Customers", p).ok());
  EXPECT_TRUE(Eventually([&] {
    h = history();
    const json& s = h.json["samples"];
    return s.size() >= 2 && U64(s[s.size() - 2]["records"]) == 4u;
  })) << h;

  // Another tenant's admin may not read it; the system admin may; no tenant is NotFound.
  auto stranger = Connect(other.id, other.key);
  HttpReply denied = stranger->Call("POST", "/v1/admin/usageHistory",
                                    json{{"tenantId", std::to_string(t.id)}}.dump());
  EXPECT_EQ(denied.status, 403) << denied;
  auto admin = Connect(1, server_->admin_key());
  HttpReply by_admin = admin->Call("POST", "/v1/admin/usageHistory", json{{"tenantId", std::to_string(t.id)}}.dump());
  EXPECT_EQ(by_admin.status, 200) << by_admin;
  HttpReply none = admin->Call("POST", "/v1/admin/usageHistory", json{{"tenantId", "987654321"}}.dump());
  EXPECT_EQ(none.status, 404) << none;
}

TEST_F(ConsoleApiTest, TheAuditLogFiltersCallsIntoTheTenantAndCallsOutOfIt) {
  TenantHandle pub = Tenant("dir-pub");
  TenantHandle con = Tenant("dir-con");
  Parameters ann;
  ann.add("first_name", "Ann");
  Result added = pub.client->addRecord("Customers", ann);
  ASSERT_TRUE(added.ok());
  auto owner = Connect(pub.id, pub.key);
  auto caller = Connect(con.id, con.key);
  ASSERT_EQ(owner->Call("POST", "/v1/admin/createObject",
                        json{{"name", "Secrets"}, {"fields", {{{"name", "x"}, {"type", "text"}}}}}.dump())
                .status,
            200);
  json policy = {{"name", "p"}, {"designated", con.id}, {"userId", pub.user},
                 {"scope", {{{"object", "Customers"}}}}};
  ASSERT_EQ(owner->Call("POST", "/v1/admin/createPolicy", json{{"policy", policy}}.dump()).status, 200);
  const std::map<std::string, std::string> ctx = {{"Cotenant-Context", std::to_string(pub.id)}};
  ASSERT_EQ(caller->Call("GET", "/v1/records/Customers/" + std::to_string(added.getId()), "", ctx).status, 200);
  ASSERT_EQ(caller->Call("GET", "/v1/records/Secrets/1", "", ctx).status, 403);

  auto query = [](HttpConnection& c, json q) {
    q["limit"] = 100;
    return c.Call("POST", "/v1/admin/queryAudit", q.dump());
  };
  // The record calls of a log, and a check that each entry is of the direction asked.
  auto apis = [](const HttpReply& r) {
    std::vector<std::string> out;
    for (const auto& e : r.json["entries"]) {
      if (e["api"] == "getRecord") out.push_back(e["outcome"].get<std::string>());
    }
    return out;
  };
  auto all_of = [](const HttpReply& r, const char* field, uint64_t tenant, bool equal) {
    for (const auto& e : r.json["entries"]) {
      if ((U64(e[field]) == tenant) != equal) return false;
    }
    return true;
  };
  const std::vector<std::string> cross = {"OK", "PermissionDenied"};
  HttpReply in;
  EXPECT_TRUE(Eventually([&] {
    in = query(*owner, {{"direction", "in"}});
    return apis(in) == cross;
  })) << in;
  // "in": every entry's caller is another tenant (the cross-tenant reads, and the system
  // admin's changes that created the tenant); the publisher's own changes are not.
  EXPECT_TRUE(all_of(in, "callerTenant", pub.id, false)) << in;
  HttpReply all = query(*owner, json::object());
  EXPECT_GT(all.json["entries"].size(), in.json["entries"].size()) << all;  // createObject, createPolicy
  HttpReply out = query(*owner, {{"direction", "out"}});
  EXPECT_TRUE(apis(out).empty()) << out;
  EXPECT_TRUE(all_of(out, "callerTenant", pub.id, true)) << out;
  EXPECT_TRUE(all_of(out, "targetTenant", pub.id, false)) << out;
  // The caller's log has them as calls "out", and none "in".
  HttpReply theirs = query(*caller, {{"direction", "out"}});
  EXPECT_EQ(apis(theirs), cross) << theirs;
  EXPECT_TRUE(all_of(theirs, "targetTenant", con.id, false)) << theirs;
  EXPECT_TRUE(apis(query(*caller, {{"direction", "in"}})).empty());
  EXPECT_EQ(apis(query(*owner, {{"direction", "in"}, {"outcome", "PermissionDenied"}})),
            std::vector<std::string>{"PermissionDenied"});
  HttpReply bad = query(*owner, {{"direction", "sideways"}});
  EXPECT_EQ(bad.status, 400) << bad;
  EXPECT_EQ(bad.message(), "unknown audit direction 'sideways' (use in, out, or leave it empty for both)");
}

TEST_F(ConsoleApiTest, LintFindsRulesThatCannotDoWhatTheySay) {
  TenantHandle t = Tenant("lint");
  auto admin = Connect(1, server_->admin_key());
  auto rule = [](const char* effect, const char* res, const char* api, const char* method) {
    return json{{"effect", effect}, {"resourceTypeRegex", res}, {"apiNameRegex", api}, {"methodRegex", method}};
  };
  json set = {{"name", "lint-me"},
              {"users", {t.user}},
              {"tenants", {t.id}},
              {"policies",
               {rule("allow", "records/Customers", "getRecord", "GET"),      // 1: fine
                rule("allow", ".*", "fetchEverything", ".*"),                // 2: no such API
                rule("allow", "admin/tenants", "getRecord", "GET"),          // 3: no such call
                rule("deny", "records/.*", "deleteRecord", "DELETE"),         // 4
                rule("allow", "records/Customers", "deleteRecord", "DELETE"), // 5: shadowed by 4
                rule("allow", "records/Customers", "getRecord", "GET")}}};   // 6: repeats 1
  HttpReply made = admin->Call("POST", "/v1/admin/createPermissionSet", set.dump());
  ASSERT_EQ(made.status, 200) << made;
  // A set for a user who is then deleted.
  HttpReply gone = admin->Call("POST", "/v1/admin/createUser",
                               json{{"tenantId", std::to_string(t.id)}, {"name", "leaver"}, {"level", "user"}}.dump());
  ASSERT_EQ(gone.status, 200) << gone;
  const uint64_t leaver = U64(gone.json["user"]["id"]);
  json nobody = {{"name", "lint-nobody"}, {"users", {leaver}}, {"tenants", {t.id}}, {"policies", {rule("allow", ".*", ".*", ".*")}}};
  HttpReply made2 = admin->Call("POST", "/v1/admin/createPermissionSet", nobody.dump());
  ASSERT_EQ(made2.status, 200) << made2;
  ASSERT_EQ(admin->Call("POST", "/v1/admin/deleteUser",
                        json{{"tenantId", std::to_string(t.id)}, {"userId", std::to_string(leaver)}}.dump())
                .status,
            200);

  auto findings = [](const HttpReply& r, const std::string& set) {
    std::map<int, std::string> out;
    for (const auto& f : r.json["findings"]) {
      if (f["set"] == set) out[f["policy"].get<int>()] += f["kind"].get<std::string>();
    }
    return out;
  };
  HttpReply lint = admin->Call("POST", "/v1/admin/lintPermissionSets", "{}");
  ASSERT_EQ(lint.status, 200) << lint;
  EXPECT_EQ(findings(lint, "lint-me"), (std::map<int, std::string>{{2, "regex-never-matches"},
                                                                   {3, "matches-no-call"},
                                                                   {5, "shadowed-allow"},
                                                                   {6, "duplicate"}}))
      << lint;
  EXPECT_EQ(findings(lint, "lint-nobody"), (std::map<int, std::string>{{0, "unknown-user"}})) << lint;
  std::string message;
  for (const auto& f : lint.json["findings"]) {
    if (f["set"] == "lint-me" && f["policy"] == 2) message = f["message"];
  }
  EXPECT_EQ(message, "apiNameRegex 'fetchEverything' matches no known API name (RE2 full match), so "
                     "this allow never applies");
  // A tenant admin lints what it can list: the set for its user, not the set for nobody.
  HttpReply own = Connect(t.id, t.key)->Call("POST", "/v1/admin/lintPermissionSets", "{}");
  ASSERT_EQ(own.status, 200) << own;
  EXPECT_EQ(findings(own, "lint-me").size(), 4u) << own;
  EXPECT_TRUE(findings(own, "lint-nobody").empty()) << own;
  ASSERT_EQ(admin->Call("POST", "/v1/admin/deletePermissionSet", json{{"name", "lint-me"}}.dump()).status, 200);
  ASSERT_EQ(admin->Call("POST", "/v1/admin/deletePermissionSet", json{{"name", "lint-nobody"}}.dump()).status, 200);
}

}  // namespace
}  // namespace cotenant::testing
