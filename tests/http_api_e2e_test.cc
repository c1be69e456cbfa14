// End-to-end: the HTTP/JSON API of a real cotenantd (--api) on loopback, requests written
// as curl writes them. Every route is called; errors, isolation probes, revocation, audit
// and metering are compared with what the Cap'n Proto API (through the SDK) answers for
// the same call. Malformed, oversized and slow requests: http_api_limits_test.cc.

#include <regex>
#include <set>

#include "tests/http_api_fixture.h"

namespace cotenant::testing {
namespace {

// ---- The OpenAPI document -----------------------------------------------------------------

TEST_F(HttpApiTest, ServesTheCheckedInOpenApiDocumentWithoutCredentials) {
  HttpConnection c(api_port_);
  HttpReply r = c.Call("GET", "/v1/openapi.json");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  const std::string file = ReadFile(std::string(COTENANT_SOURCE_DIR) + "/docs/openapi.json");
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(r.body, file) << "docs/openapi.json is not what the server serves: regenerate it "
                             "(docs/HTTP.md, \"The OpenAPI document\")";
  EXPECT_EQ(r.json["openapi"], "3.1.0");
}

// ---- Every route --------------------------------------------------------------------------

class Coverage {
 public:
  explicit Coverage(const json& doc) {
    for (const auto& [path, item] : doc["paths"].items()) {
      for (const auto& [verb, op] : item.items()) {
        if (op.contains("x-cotenant-method")) ops_[op["operationId"]] = {verb, path};
      }
    }
  }
  // Asserts the call succeeded, and that its verb and path are the document's for `method`.
  json Ok(const std::string& method, HttpConnection& c, const std::string& verb,
          const std::string& path, const json& body = json()) {
    HttpReply r = c.Call(verb, path, body.is_null() ? "" : body.dump());
    EXPECT_EQ(r.status, 200) << method << ": " << r;
    auto it = ops_.find(method);
    EXPECT_NE(it, ops_.end()) << method << " has no operation in the OpenAPI document";
    if (it != ops_.end()) {
      std::string lower = verb;
      for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      EXPECT_EQ(it->second.first, lower) << method;
      std::string pattern = std::regex_replace(it->second.second, std::regex("\\{object\\}"), "[A-Za-z_]+");
      pattern = std::regex_replace(pattern, std::regex("\\{id\\}"), "[0-9]+");
      std::string bare = path.substr(0, path.find('?'));
      EXPECT_TRUE(std::regex_match(bare, std::regex(pattern))) << method << ": " << bare;
    }
    if (r.status == 200) covered_.insert(method);
    return r.json;
  }
  std::set<std::string> Missing(const std::set<std::string>& except) const {
    std::set<std::string> missing;
    for (const auto& [method, where] : ops_) {
      if (covered_.count(method) == 0 && except.count(method) == 0) missing.insert(method);
    }
    return missing;
  }

 private:
  std::map<std::string, std::pair<std::string, std::string>> ops_;  // method -> verb, path
  std::set<std::string> covered_;
};

TEST_F(HttpApiTest, EveryRouteServesItsCall) {
  HttpConnection doc_conn(api_port_);
  Coverage cov(doc_conn.Call("GET", "/v1/openapi.json").json);
  auto admin = AsAdmin();

  // Tenants, users, roles, objects: the administrative calls.
  json t = cov.Ok("createTenant", *admin, "POST", "/v1/admin/createTenant",
                  {{"name", "http-every"}, {"kind", "tenant"}});
  const uint64_t tenant = U64(t["tenant"]["id"]);
  json partner = cov.Ok("createTenant", *admin, "POST", "/v1/admin/createTenant",
                        {{"name", "http-every-partner"}, {"kind", "tenant"}});
  const uint64_t partner_id = U64(partner["tenant"]["id"]);
  EXPECT_EQ(t["tenant"]["name"], "http-every");
  json tenants = cov.Ok("listTenants", *admin, "POST", "/v1/admin/listTenants", json::object());
  EXPECT_GE(tenants["tenants"].size(), 3u);
  json u = cov.Ok("createUser", *admin, "POST", "/v1/admin/createUser",
                  {{"tenantId", tenant}, {"name", "boss"}, {"level", "tenantAdmin"}});
  const uint64_t boss = U64(u["user"]["id"]);
  const std::string boss_key = u["apiKey"];
  auto owner = Connect(tenant, boss_key);
  json who = cov.Ok("whoami", *owner, "GET", "/v1/whoami");
  EXPECT_EQ(U64(who["user"]["id"]), boss);
  EXPECT_EQ(who["user"]["level"], "tenantAdmin");

  json all_rights = {{"read", true}, {"add", true}, {"update", true}, {"delete", true}};
  cov.Ok("createRole", *owner, "POST", "/v1/admin/createRole",
         {{"name", "all"}, {"rights", {{{"object", "*"}, {"rights", all_rights}}}}});
  cov.Ok("updateRole", *owner, "POST", "/v1/admin/updateRole",
         {{"name", "all"}, {"rights", {{{"object", "*"}, {"rights", all_rights}}}}, {"crossTenant", false}});
  cov.Ok("addRoleMember", *owner, "POST", "/v1/admin/addRoleMember", {{"role", "all"}, {"userId", boss}});
  cov.Ok("createRole", *owner, "POST", "/v1/admin/createRole", {{"name", "tmp"}, {"rights", json::array()}});
  cov.Ok("addRoleMember", *owner, "POST", "/v1/admin/addRoleMember", {{"role", "tmp"}, {"userId", boss}});
  cov.Ok("removeRoleMember", *owner, "POST", "/v1/admin/removeRoleMember", {{"role", "tmp"}, {"userId", boss}});
  json roles = cov.Ok("listRoles", *owner, "POST", "/v1/admin/listRoles", json::object());
  EXPECT_EQ(roles["roles"].size(), 2u);
  cov.Ok("deleteRole", *owner, "POST", "/v1/admin/deleteRole", {{"name", "tmp"}});

  json obj = cov.Ok("createObject", *owner, "POST", "/v1/admin/createObject",
                    {{"name", "Items"},
                     {"fields", {{{"name", "sku"}, {"type", "text"}, {"required", true}, {"unique", true}},
                                 {{"name", "qty"}, {"type", "int"}, {"indexed", true}}}}});
  EXPECT_EQ(obj["object"]["fields"].size(), 2u);
  json objects = cov.Ok("listObjects", *owner, "POST", "/v1/admin/listObjects", json::object());
  EXPECT_EQ(objects["objects"].size(), 1u);

  json other = cov.Ok("createUser", *owner, "POST", "/v1/admin/createUser", {{"name", "clerk"}, {"level", "user"}});
  const uint64_t clerk = U64(other["user"]["id"]);
  json users = cov.Ok("listUsers", *owner, "POST", "/v1/admin/listUsers", json::object());
  EXPECT_EQ(users["users"].size(), 2u);
  json key = cov.Ok("createApiKey", *owner, "POST", "/v1/admin/createApiKey", {{"userId", clerk}});
  json keys = cov.Ok("listApiKeys", *owner, "POST", "/v1/admin/listApiKeys", {{"userId", clerk}});
  EXPECT_EQ(keys["keys"].size(), 2u);
  cov.Ok("revokeApiKey", *owner, "POST", "/v1/admin/revokeApiKey", {{"keyId", key["key"]["keyId"]}});

  // Records.
  json added = cov.Ok("addRecord", *owner, "POST", "/v1/records/Items",
                      {{"fields", {F("sku", "text", "A-1"), F("qty", "int", 5)}}});
  const uint64_t a1 = U64(added["record"]["id"]);
  EXPECT_EQ(U64(added["record"]["version"]), 1u);
  json many = cov.Ok("addRecords", *owner, "POST", "/v1/records/Items:addRecords",
                     {{"records", {{F("sku", "text", "A-2"), F("qty", "int", 7)},
                                   {F("sku", "text", "A-3"), F("qty", "int", 9)}}}});
  ASSERT_EQ(many["ids"].size(), 2u);
  json got = cov.Ok("getRecord", *owner, "GET", Path("Items", a1) + "?fields=qty&retrievePermissions=true");
  ASSERT_EQ(got["record"]["fields"].size(), 1u);
  EXPECT_EQ(got["record"]["fields"][0]["name"], "qty");
  EXPECT_EQ(U64(got["record"]["fields"][0]["value"]["int"]), 5u);
  EXPECT_EQ(got["record"]["permissions"]["canUpdate"], true);
  json some = cov.Ok("getRecords", *owner, "POST", "/v1/records/Items:getRecords",
                     {{"ids", {a1, 999999}}, {"fields", {"sku"}}});
  ASSERT_EQ(some["records"].size(), 2u);
  EXPECT_EQ(some["records"][0]["record"]["fields"][0]["value"]["text"], "A-1");
  EXPECT_TRUE(some["records"][1].contains("missing"));
  json updated = cov.Ok("updateRecord", *owner, "PATCH", Path("Items", a1),
                        {{"fields", {F("qty", "int", 6)}}, {"expectedVersion", 1}});
  EXPECT_EQ(U64(updated["record"]["version"]), 2u);
  // Search, paged by continuation: one row a page.
  json q = {{"criteria", "qty >= ?"}, {"parameters", {{{"int", 6}}}}, {"sortBy", "qty"}, {"numberOfRows", 1}};
  std::vector<std::string> skus;
  for (int page = 0; page < 5; ++page) {
    json p = cov.Ok("searchRecords", *owner, "POST", "/v1/records/Items:search?fields=sku", q);
    for (const auto& rec : p["result"]["records"]) skus.push_back(rec["fields"][0]["value"]["text"]);
    if (p["result"]["complete"] == true) break;
    ASSERT_TRUE(p["result"]["continuation"].is_string()) << "a token is base64: " << p;
    q["continuation"] = p["result"]["continuation"];
  }
  EXPECT_EQ(skus, (std::vector<std::string>{"A-1", "A-2", "A-3"}));
  json imported = cov.Ok("importRecords", *owner, "POST", "/v1/records/Items:importRecords",
                         {{"records", {{F("sku", "text", "I-1")}, {F("qty", "int", 1)}}},
                          {"batch", {{"importId", "imp-1"}, {"sequence", 1}}}});
  ASSERT_EQ(imported["results"].size(), 2u);
  EXPECT_TRUE(imported["results"][0].contains("id"));
  EXPECT_TRUE(imported["results"][1]["rejected"].get<std::string>().rfind("InvalidArgument", 0) == 0)
      << imported;
  json finished = cov.Ok("finishImport", *owner, "POST", "/v1/records/Items:finishImport", {{"importId", "imp-1"}});
  EXPECT_EQ(U64(finished["batches"]), 1u);
  json described = cov.Ok("describeObject", *owner, "GET", "/v1/records/Items:describe");
  EXPECT_EQ(described["object"]["name"], "Items");
  json by = cov.Ok("getRecordBy", *owner, "POST", "/v1/records/Items:getRecordBy",
                   {{"field", "sku"}, {"value", {{"text", "A-2"}}}});
  EXPECT_EQ(U64(by["record"]["id"]), U64(many["ids"][0]));
  cov.Ok("updateRecordBy", *owner, "POST", "/v1/records/Items:updateRecordBy",
         {{"field", "sku"}, {"value", {{"text", "A-2"}}}, {"fields", {F("qty", "int", 70)}}});
  json up = cov.Ok("upsertRecord", *owner, "POST", "/v1/records/Items:upsertRecord",
                   {{"field", "sku"}, {"fields", {F("sku", "text", "Z-9"), F("qty", "int", 1)}}});
  EXPECT_EQ(up["created"], true);
  cov.Ok("deleteRecordBy", *owner, "POST", "/v1/records/Items:deleteRecordBy",
         {{"field", "sku"}, {"value", {{"text", "Z-9"}}}});
  cov.Ok("deleteRecord", *owner, "DELETE", Path("Items", a1) + "?expectedVersion=2");
  EXPECT_EQ(owner->Call("GET", Path("Items", a1)).status, 404);

  // Sharing, settings, audit, usage, permission sets, explain, quotas.
  json policy = {{"name", "to-partner"}, {"designated", partner_id}, {"userId", boss}};
  cov.Ok("createPolicy", *owner, "POST", "/v1/admin/createPolicy", {{"policy", policy}});
  policy["scope"] = {{{"object", "Items"}, {"rowFilter", "qty > 0"}}};
  json changed = cov.Ok("updatePolicy", *owner, "POST", "/v1/admin/updatePolicy", {{"policy", policy}});
  EXPECT_EQ(changed["policy"]["scope"][0]["rowFilter"], "qty > 0");
  json policies = cov.Ok("listPolicies", *owner, "POST", "/v1/admin/listPolicies", {{"publishedBy", tenant}});
  EXPECT_EQ(policies["policies"].size(), 1u);
  cov.Ok("deletePolicy", *owner, "POST", "/v1/admin/deletePolicy", {{"name", "to-partner"}});
  cov.Ok("setSetting", *admin, "POST", "/v1/admin/setSetting", {{"name", "crossTenantRoles"}, {"value", "false"}});
  json settings = cov.Ok("listSettings", *admin, "POST", "/v1/admin/listSettings", json::object());
  EXPECT_FALSE(settings["settings"].empty());
  json audit;
  EXPECT_TRUE(Eventually([&] {  // the audit log is written behind the calls
    audit = cov.Ok("queryAudit", *owner, "POST", "/v1/admin/queryAudit", json::object());
    for (const auto& e : audit["entries"]) {
      if (e["api"] == "createPolicy") return true;
    }
    return false;
  })) << audit;
  json usage = cov.Ok("usage", *owner, "POST", "/v1/admin/usage", json::object());
  EXPECT_EQ(U64(usage["usage"]["tenantId"]), tenant);
  json history = cov.Ok("usageHistory", *owner, "POST", "/v1/admin/usageHistory", json::object());
  ASSERT_FALSE(history["samples"].empty()) << history;  // at least the figures now
  EXPECT_EQ(U64(history["samples"].back()["records"]), U64(usage["usage"]["records"]));
  json set = {{"name", "http-set"}, {"users", {clerk}}, {"tenants", {tenant}},
              {"policies", {{{"effect", "allow"}, {"resourceTypeRegex", ".*"}, {"apiNameRegex", ".*"},
                             {"methodRegex", ".*"}}}}};
  cov.Ok("createPermissionSet", *admin, "POST", "/v1/admin/createPermissionSet", set);
  set["policies"][0]["apiNameRegex"] = "get.*";
  cov.Ok("updatePermissionSet", *admin, "POST", "/v1/admin/updatePermissionSet", set);
  json sets = cov.Ok("listPermissionSets", *admin, "POST", "/v1/admin/listPermissionSets", json::object());
  EXPECT_FALSE(sets["sets"].empty());
  json lint = cov.Ok("lintPermissionSets", *admin, "POST", "/v1/admin/lintPermissionSets", json::object());
  EXPECT_TRUE(lint["findings"].is_array()) << lint;
  json why = cov.Ok("explain", *owner, "POST", "/v1/admin/explain",
                    {{"userId", clerk}, {"api", "deleteRecord"}, {"object", "Items"}});
  EXPECT_EQ(why["explanation"]["allowed"], false);
  EXPECT_FALSE(why["explanation"]["steps"].empty());
  cov.Ok("deletePermissionSet", *admin, "POST", "/v1/admin/deletePermissionSet", {{"name", "http-set"}});
  cov.Ok("setQuota", *admin, "POST", "/v1/admin/setQuota", {{"tenantId", tenant}, {"quota", {{"records", 1000}}}});
  json check = cov.Ok("checkStore", *admin, "POST", "/v1/admin/checkStore", {{"maxProblems", 10}});
  EXPECT_EQ(check["report"]["clean"], true) << check;
  std::set<std::string> not_here;
  if (OnPostgresql()) {
    not_here.insert("backup");  // a backup of the embedded engine's files
  } else {
    TempDir backups;
    json b = cov.Ok("backup", *admin, "POST", "/v1/admin/backup", {{"dir", backups.path() + "/b"}, {"keep", 1}});
    EXPECT_EQ(b["backup"]["id"], 1);
  }
  // A dump read over HTTP restores as it is into another tenant.
  json dump = cov.Ok("readTenantRecords", *admin, "POST", "/v1/admin/readTenantRecords",
                     {{"tenantId", tenant}, {"object", "Items"}, {"limit", 100}});
  EXPECT_EQ(dump["complete"], true);
  ASSERT_EQ(dump["records"].size(), 3u);  // I-1
  cov.Ok("createObject", *admin, "POST", "/v1/admin/createObject",
         {{"tenantId", partner_id}, {"name", "Items"}, {"fields", obj["object"]["fields"]}});
  json restored = cov.Ok("restoreTenantRecords", *admin, "POST", "/v1/admin/restoreTenantRecords",
                         {{"tenantId", partner_id}, {"object", "Items"}, {"records", dump["records"]}});
  EXPECT_EQ(restored["restored"], 3);
  cov.Ok("deleteUser", *owner, "POST", "/v1/admin/deleteUser", {{"userId", clerk}});
  cov.Ok("deleteTenant", *admin, "POST", "/v1/admin/deleteTenant", {{"tenantId", partner_id}});

  EXPECT_EQ(cov.Missing(not_here), std::set<std::string>{}) << "routes no test called";
}

// ---- Errors: the codes and messages of RPC -------------------------------------------------

TEST_F(HttpApiTest, ErrorsHaveTheRpcCodesAndMessages) {
  TenantHandle a = Tenant("http-errors");
  auto c = Connect(a.id, a.key);
  Parameters ann;
  ann.add("first_name", "Ann").add("age", int64_t{30});
  Result added = a.client->addRecord("Customers", ann);
  ASSERT_TRUE(added.ok()) << added.getMessage();
  const uint64_t id = added.getId();

  // NotFound, 404.
  HttpReply r = c->Call("GET", Path("Customers", id + 1000));
  EXPECT_EQ(r.status, 404) << r;
  EXPECT_EQ(Http(r), Rpc(a.client->getRecord("Customers", "*", id + 1000)));
  // InvalidArgument, 400: a field the object does not declare.
  r = c->Call("POST", "/v1/records/Customers", json{{"fields", {F("nope", "text", "x")}}}.dump());
  EXPECT_EQ(r.status, 400) << r;
  Parameters nope;
  nope.add("nope", "x");
  EXPECT_EQ(Http(r), Rpc(a.client->addRecord("Customers", nope)));
  // Conflict, 409: a taken name.
  r = c->Call("POST", "/v1/admin/createObject", json{{"name", "Customers"}}.dump());
  EXPECT_EQ(r.status, 409) << r;
  EXPECT_EQ(Http(r), Rpc(a.client->createObject(0, "Customers", {})));
  // Conflict, 409: a stale version.
  r = c->Call("DELETE", Path("Customers", id) + "?expectedVersion=9");
  EXPECT_EQ(r.status, 409) << r;
  EXPECT_EQ(Http(r), Rpc(a.client->deleteRecord("Customers", id, 9)));
  // PermissionDenied, 403: a tenant admin creating a tenant.
  r = c->Call("POST", "/v1/admin/createTenant", json{{"name", "x"}, {"kind", "tenant"}}.dump());
  EXPECT_EQ(r.status, 403) << r;
  EXPECT_EQ(Http(r), Rpc(a.client->createTenant("x", TenantKind::Tenant)));
  // ResourceExhausted, 429: the tenant's record quota.
  auto admin = AsAdmin();
  ASSERT_EQ(admin->Call("POST", "/v1/admin/setQuota",
                        json{{"tenantId", a.id}, {"quota", {{"records", 1}}}}.dump()).status, 200);
  r = c->Call("POST", "/v1/records/Customers", json{{"fields", {F("first_name", "text", "Bo")}}}.dump());
  EXPECT_EQ(r.status, 429) << r;
  Parameters bo;
  bo.add("first_name", "Bo");
  EXPECT_EQ(Http(r), Rpc(a.client->addRecord("Customers", bo)));
  EXPECT_EQ(r.code(), "ResourceExhausted");
  // Unauthenticated, 401: a wrong key, the same message as a failed RPC login.
  auto wrong = Connect(a.id, a.key + "x");
  r = wrong->Call("GET", "/v1/whoami");
  EXPECT_EQ(r.status, 401) << r;
  EXPECT_EQ(r.code(), "Unauthenticated");
  EXPECT_EQ(r.message(), "invalid tenant id or API key");
  EXPECT_EQ(r.headers["www-authenticate"], "Bearer");
  auto other_tenant = Connect(1, a.key);  // a key of another tenant's user
  EXPECT_EQ(Http(other_tenant->Call("GET", "/v1/whoami")), Http(r));
  try {
    Client::connect(server_->address(), a.id, a.key + "x");
    ADD_FAILURE() << "the RPC login with a wrong key succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unauthenticated);
    EXPECT_NE(std::string(e.what()).find(r.message()), std::string::npos) << e.what();
  }
  // Without credentials.
  HttpConnection anonymous(api_port_);
  r = anonymous.Call("GET", "/v1/whoami");
  EXPECT_EQ(r.status, 401) << r;
  EXPECT_NE(r.message().find("Authorization: Bearer"), std::string::npos) << r;
  HttpConnection no_tenant(api_port_);
  std::string req = "GET /v1/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + a.key + "\r\n\r\n";
  ASSERT_TRUE(no_tenant.Write(req));
  r = no_tenant.Read();
  EXPECT_EQ(r.status, 401) << r;
  EXPECT_NE(r.message().find("Cotenant-Tenant"), std::string::npos) << r;
  // Paths and verbs.
  r = c->Call("GET", "/v1/records");
  EXPECT_EQ(r.status, 404) << r;
  EXPECT_EQ(r.code(), "NotFound");
  r = c->Call("PUT", Path("Customers", id));
  EXPECT_EQ(r.status, 405) << r;
  EXPECT_NE(r.message().find("(use PATCH, DELETE, GET)"), std::string::npos) << r;
  EXPECT_EQ(r.headers["allow"], "PATCH, DELETE, GET");
  r = c->Call("POST", "/v1/records/Customers:beginPhysicalImport", "{}");
  EXPECT_EQ(r.status, 404) << "a physical import needs the RPC protocol: " << r;
}

TEST_F(HttpApiTest, ARevokedKeyIsRefusedOnTheNextRequest) {
  TenantHandle a = Tenant("http-revoke");
  auto created = a.client->createApiKey(0, a.user);
  ASSERT_TRUE(created.ok()) << created.getMessage();
  auto c = Connect(a.id, created.value().apiKey);
  ASSERT_EQ(c->Call("GET", "/v1/whoami").status, 200);  // logged in, and the session kept
  ASSERT_EQ(c->Call("GET", "/v1/records/Customers:describe").status, 200);
  auto owner = Connect(a.id, a.key);
  ASSERT_EQ(owner->Call("POST", "/v1/admin/revokeApiKey",
                        json{{"keyId", created.value().key.keyId}}.dump()).status, 200);
  HttpReply r = c->Call("GET", "/v1/records/Customers:describe");
  EXPECT_EQ(r.status, 401) << r;
  EXPECT_EQ(r.code(), "Unauthenticated");
  r = c->Call("GET", "/v1/whoami");  // logs in again, and fails there
  EXPECT_EQ(r.status, 401) << r;
  EXPECT_EQ(r.message(), "invalid tenant id or API key");
}

// ---- Isolation: the probes of the RPC suite, answered alike --------------------------------

TEST_F(HttpApiTest, IsolationProbesAnswerAsOverRpc) {
  TenantHandle a = Tenant("http-iso-a");
  TenantHandle b = Tenant("http-iso-b");
  std::vector<Parameters> bs;
  for (int i = 0; i < 30; ++i) {
    Parameters p;
    p.add("first_name", "B-secret-" + std::to_string(i)).add("last_name", "b-only").add("age", int64_t{i});
    bs.push_back(p);
  }
  Result rb = b.client->addRecords("Customers", bs);
  ASSERT_TRUE(rb.ok()) << rb.getMessage();
  Parameters mine;
  mine.add("first_name", "A-0").add("last_name", "a-only");
  ASSERT_TRUE(a.client->addRecord("Customers", mine).ok());
  ASSERT_TRUE(b.client->createObject(0, "Payroll", {{"salary", FieldType::Int, false, true}}).ok());

  auto c = Connect(a.id, a.key);
  for (uint64_t id : rb.ids()) {
    HttpReply g = c->Call("GET", Path("Customers", id));
    const std::pair<std::string, std::string> ok_reply("OK", "");
    EXPECT_EQ(g.status == 200 ? ok_reply : Http(g), Rpc(a.client->getRecord("Customers", "*", id)))
        << id;
    if (g.status == 200) {
      EXPECT_EQ(g.body.find("B-secret"), std::string::npos) << g;
    }
    HttpReply d = c->Call("DELETE", Path("Customers", id + 1000));
    EXPECT_EQ(d.status, 404) << d;
    EXPECT_EQ(Http(d), Rpc(a.client->deleteRecord("Customers", id + 1000)));
  }
  // An object only B has.
  HttpReply g = c->Call("GET", Path("Payroll", 1));
  EXPECT_EQ(g.status, 404) << g;
  EXPECT_EQ(Http(g), Rpc(a.client->getRecord("Payroll", "*", 1)));
  HttpReply s = c->Call("POST", "/v1/records/Payroll:search", json{{"criteria", "salary > 0"}}.dump());
  EXPECT_EQ(Http(s), Rpc(a.client->searchRecords("Payroll", "*", "salary > 0")));
  // Criteria that would match B's rows find only A's.
  for (const char* criteria : {"", "first_name starts with 'B-'", "last_name = 'b-only'", "id > 0",
                               "not (last_name = 'a-only')"}) {
    HttpReply r = c->Call("POST", "/v1/records/Customers:search",
                          json{{"criteria", criteria}, {"numberOfRows", 1000}}.dump());
    ASSERT_EQ(r.status, 200) << criteria << ": " << r;
    EXPECT_EQ(r.body.find("b-only"), std::string::npos) << criteria;
    SearchQuery q;
    q.object = "Customers";
    q.criteria = criteria;
    q.numberOfRows = 1000;
    EXPECT_EQ(r.json["result"]["records"].size(), a.client->search(q).getRecords().size()) << criteria;
  }
  // Admin calls naming B.
  for (const char* call : {"listObjects", "listUsers"}) {
    HttpReply r = c->Call("POST", std::string("/v1/admin/") + call, json{{"tenantId", b.id}}.dump());
    EXPECT_EQ(r.status, 403) << call << ": " << r;
  }
  EXPECT_EQ(Http(c->Call("POST", "/v1/admin/listObjects", json{{"tenantId", b.id}}.dump())),
            Rpc(a.client->listObjects(b.id)));
  EXPECT_EQ(Http(c->Call("POST", "/v1/admin/deleteTenant", json{{"tenantId", b.id}}.dump())),
            Rpc(a.client->deleteTenant(b.id)));
  // A TenantContext naming B (no policy admits A), the system tenant, an unknown tenant.
  for (uint64_t target : {b.id, uint64_t{1}, uint64_t{0xFFFFFFFFFFFFull}}) {
    HttpReply r = c->Call("GET", Path("Customers", 1), "", {{"Cotenant-Context", std::to_string(target)}});
    EXPECT_EQ(r.status, 403) << target << ": " << r;
    try {
      TenantContext ctx(*a.client, target);
      ADD_FAILURE() << "context to tenant " << target << " accepted over RPC";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::PermissionDenied);
      EXPECT_NE(std::string(e.what()).find(r.message()), std::string::npos) << e.what() << " / " << r;
    }
  }
  // B is as it was.
  EXPECT_EQ(AllRecords(*b.client, "Customers").size(), 30u);
}

TEST_F(HttpApiTest, CallsThroughAPolicyAreAuditedAndMeteredAsOverRpc) {
  TenantHandle pub = Tenant("http-pub");
  TenantHandle con = Tenant("http-con");
  Parameters ann;
  ann.add("first_name", "Ann");
  Result added = pub.client->addRecord("Customers", ann);
  ASSERT_TRUE(added.ok());
  auto owner = Connect(pub.id, pub.key);
  auto c = Connect(con.id, con.key);
  const std::map<std::string, std::string> ctx = {{"Cotenant-Context", std::to_string(pub.id)}};
  // Refused before the policy exists; the refusal is not kept once it does.
  HttpReply refused = c->Call("GET", Path("Customers", added.getId()), "", ctx);
  EXPECT_EQ(refused.status, 403) << refused;
  ASSERT_EQ(owner->Call("POST", "/v1/admin/createPolicy",
                        json{{"policy", {{"name", "p"}, {"designated", con.id}, {"userId", pub.user}}}}.dump())
                .status,
            200);
  auto served = [&] { return U64(owner->Call("POST", "/v1/admin/usage", "{}").json["usage"]["servedToOthers"]); };
  const uint64_t served_before = served();
  for (int i = 0; i < 5; ++i) {
    HttpReply r = c->Call("GET", Path("Customers", added.getId()), "", ctx);
    ASSERT_EQ(r.status, 200) << r;
    EXPECT_EQ(r.json["record"]["fields"][0]["value"]["text"], "Ann");
  }
  EXPECT_TRUE(Eventually([&] { return served() == served_before + 5; })) << served();
  // The same calls over RPC count alike.
  TenantContext rpc_ctx(*con.client, pub.id);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(con.client->getRecord("Customers", "*", added.getId(), rpc_ctx).ok());
  EXPECT_TRUE(Eventually([&] { return served() == served_before + 10; })) << served();
  // Both tenants' logs hold the cross-tenant reads, whichever door they came through.
  HttpReply log;
  auto reads = [&] {
    log = owner->Call("POST", "/v1/admin/queryAudit", json{{"callerTenant", con.id}, {"limit", 100}}.dump());
    size_t n = 0;
    for (const auto& e : log.json["entries"]) n += e["api"] == "getRecord" ? 1 : 0;
    return n;
  };
  EXPECT_TRUE(Eventually([&] { return reads() == 10; })) << log;
  // The policy deleted: the next call through the kept context is refused.
  ASSERT_EQ(owner->Call("POST", "/v1/admin/deletePolicy", json{{"name", "p"}}.dump()).status, 200);
  HttpReply after = c->Call("GET", Path("Customers", added.getId()), "", ctx);
  EXPECT_EQ(after.status, 403) << after;
  EXPECT_EQ(Http(after), Rpc(con.client->getRecord("Customers", "*", added.getId(), rpc_ctx)));
}

}  // namespace
}  // namespace cotenant::testing
