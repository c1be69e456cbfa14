// The HTTP/JSON API's routes and OpenAPI document against the compiled schema.

#include "rpc/http_routes.h"

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "schemas/cotenant.capnp.h"

namespace cotenant::rpc::http {
namespace {

// Every method of every interface of the schema, as "Interface.method".
std::set<std::string> SchemaMethods() {
  std::set<std::string> out;
  const std::pair<const char*, capnp::InterfaceSchema> interfaces[] = {
      {"Cotenant", capnp::Schema::from<wire::Cotenant>()},
      {"Session", capnp::Schema::from<wire::Session>()},
      {"Records", capnp::Schema::from<wire::Records>()},
      {"PhysicalImport", capnp::Schema::from<wire::PhysicalImport>()},
      {"Admin", capnp::Schema::from<wire::Admin>()},
  };
  for (const auto& [name, schema] : interfaces) {
    for (auto m : schema.getMethods()) out.insert(std::string(name) + "." + m.getProto().getName().cStr());
  }
  return out;
}

std::string CheckedInDocument() {
  std::ifstream in(std::string(COTENANT_SOURCE_DIR) + "/docs/openapi.json", std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(HttpRoutesTest, EverySchemaMethodHasARouteOrSaysWhyNot) {
  std::set<std::string> routed, not_served;
  for (const Route& r : Routes()) {
    EXPECT_TRUE(routed.insert(r.interface + "." + r.method).second) << "two routes for " << r.method;
    EXPECT_TRUE(SchemaOf(r.target).findMethodByName(r.method) != nullptr) << r.method;
  }
  for (const auto& n : NotServedMethods()) {
    EXPECT_FALSE(n.why.empty()) << n.method;
    EXPECT_TRUE(not_served.insert(n.method).second) << n.method;
    EXPECT_EQ(routed.count(n.method), 0u) << n.method << " is both routed and not served";
  }
  for (const std::string& m : SchemaMethods()) {
    EXPECT_TRUE(routed.count(m) + not_served.count(m) == 1) << m << " has no path in the HTTP/JSON API";
  }
  std::set<std::string> all = routed;
  all.insert(not_served.begin(), not_served.end());
  EXPECT_EQ(all, SchemaMethods());
}

TEST(HttpRoutesTest, TheCheckedInOpenApiDocumentIsTheGeneratedOne) {
  if (const char* update = std::getenv("COTENANT_UPDATE_OPENAPI"); update != nullptr && *update == '1') {
    std::ofstream(std::string(COTENANT_SOURCE_DIR) + "/docs/openapi.json", std::ios::binary)
        << OpenApiDocument();
  }
  EXPECT_EQ(CheckedInDocument(), OpenApiDocument())
      << "docs/openapi.json is out of date: run rpc_tests with COTENANT_UPDATE_OPENAPI=1";
}

TEST(HttpRoutesTest, TheOpenApiDocumentHasAPathForEveryServedSchemaMethod) {
  auto doc = nlohmann::json::parse(CheckedInDocument());
  ASSERT_EQ(doc["openapi"], "3.1.0");
  std::set<std::string> documented;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [verb, op] : item.items()) {
      if (!op.contains("x-cotenant-method")) continue;
      documented.insert(op["x-cotenant-method"].get<std::string>());
      for (const auto& [status, response] : op["responses"].items()) {
        EXPECT_TRUE(response.contains("$ref") || response.contains("content")) << path << " " << status;
      }
    }
  }
  for (const auto& n : doc["x-cotenant-not-served"]) documented.insert(n["method"].get<std::string>());
  EXPECT_EQ(documented, SchemaMethods());
  // Every reference resolves.
  std::string text = doc.dump();
  for (size_t at = 0; (at = text.find("#/components/schemas/", at)) != std::string::npos;) {
    at += 21;
    std::string name = text.substr(at, text.find('"', at) - at);
    EXPECT_TRUE(doc["components"]["schemas"].contains(name)) << name;
  }
}

TEST(HttpRoutesTest, FindsTheRouteOfAPath) {
  Match m = Find("GET", {"v1", "records", "Customers", "17"});
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->method, "getRecord");
  EXPECT_EQ(m.object, "Customers");
  EXPECT_EQ(m.id, "17");
  m = Find("POST", {"v1", "records", "Customers:search"});
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->method, "searchRecords");
  EXPECT_EQ(m.object, "Customers");
  m = Find("POST", {"v1", "records", "Customers"});
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->method, "addRecord");
  m = Find("POST", {"v1", "admin", "createTenant"});
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->target, Target::kAdmin);
  m = Find("PUT", {"v1", "records", "Customers", "17"});
  EXPECT_EQ(m.route, nullptr);
  EXPECT_TRUE(m.path_known);
  EXPECT_EQ(m.verbs.size(), 3u);
  m = Find("POST", {"v1", "records", "Customers:beginPhysicalImport"});
  EXPECT_EQ(m.route, nullptr);
  EXPECT_FALSE(m.path_known);
  EXPECT_FALSE(Find("GET", {"v1", "records", "a", "b", "c"}).path_known);
}

TEST(HttpRoutesTest, OneStatusPerErrorCode) {
  EXPECT_EQ(HttpStatus(Status::Code::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatus(Status::Code::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatus(Status::Code::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatus(Status::Code::kNotFound), 404);
  EXPECT_EQ(HttpStatus(Status::Code::kConflict), 409);
  EXPECT_EQ(HttpStatus(Status::Code::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatus(Status::Code::kInternal), 500);
  EXPECT_EQ(HttpStatus(Status::Code::kBusy), 503);
  EXPECT_EQ(HttpStatus(Status::Code::kUnavailable), 503);
}

TEST(HttpRoutesTest, ASingleStructParameterIsTheBody) {
  auto search = capnp::Schema::from<wire::Records>().getMethodByName("searchRecords").getParamType();
  KJ_IF_MAYBE(f, WrappedBody(search)) {
    EXPECT_STREQ(f->getProto().getName().cStr(), "request");
  } else {
    ADD_FAILURE() << "searchRecords takes its SearchRequest as the body";
  }
  auto get = capnp::Schema::from<wire::Records>().getMethodByName("getRecord").getParamType();
  EXPECT_TRUE(WrappedBody(get) == nullptr);
}

}  // namespace
}  // namespace cotenant::rpc::http
