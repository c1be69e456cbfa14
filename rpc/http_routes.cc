#include "rpc/http_routes.h"

#include <map>
#include <string_view>

#include <nlohmann/json.hpp>

#include "schemas/cotenant.capnp.h"

namespace cotenant::rpc::http {
namespace {

using nlohmann::json;

std::string NameOf(capnp::Schema s) {
  // "cotenant.capnp:Records.getRecord$Params" -> "Records.getRecord.Params"
  std::string name = s.getProto().getDisplayName().cStr();
  name = name.substr(name.find(':') + 1);
  for (char& c : name) {
    if (c == '$') c = '.';
  }
  return name;
}

// The verb and path of a Records method: the usual REST forms for the one-record calls,
// "{object}:<method>" for the others.
void RecordsPath(std::string_view method, std::string* verb, std::string* path) {
  static const std::map<std::string_view, std::pair<const char*, const char*>> kRest = {
      {"addRecord", {"POST", "/v1/records/{object}"}},
      {"getRecord", {"GET", "/v1/records/{object}/{id}"}},
      {"updateRecord", {"PATCH", "/v1/records/{object}/{id}"}},
      {"deleteRecord", {"DELETE", "/v1/records/{object}/{id}"}},
      {"searchRecords", {"POST", "/v1/records/{object}:search"}},
      {"describeObject", {"GET", "/v1/records/{object}:describe"}},
  };
  auto it = kRest.find(method);
  if (it != kRest.end()) {
    *verb = it->second.first;
    *path = it->second.second;
  } else {
    *verb = "POST";
    *path = "/v1/records/{object}:" + std::string(method);
  }
}

std::vector<Route> BuildRoutes() {
  std::vector<Route> routes;
  routes.push_back({"GET", "/v1/whoami", Target::kSession, "whoami", "Session"});
  for (auto m : capnp::Schema::from<wire::Records>().getMethods()) {
    std::string name = m.getProto().getName().cStr();
    if (name == "beginPhysicalImport") continue;
    Route r{"", "", Target::kRecords, name, "Records"};
    RecordsPath(name, &r.verb, &r.path);
    routes.push_back(std::move(r));
  }
  for (auto m : capnp::Schema::from<wire::Admin>().getMethods()) {
    std::string name = m.getProto().getName().cStr();
    routes.push_back({"POST", "/v1/admin/" + name, Target::kAdmin, name, "Admin"});
  }
  return routes;
}

// ---- the OpenAPI document ----------------------------------------------------------------

class Generator {
 public:
  json Type(capnp::Type t) {
    switch (t.which()) {
      case capnp::schema::Type::VOID:
        return {{"type", "null"}};
      case capnp::schema::Type::BOOL:
        return {{"type", "boolean"}};
      case capnp::schema::Type::INT8:
      case capnp::schema::Type::INT16:
      case capnp::schema::Type::INT32:
        return {{"type", "integer"}, {"format", "int32"}};
      case capnp::schema::Type::UINT8:
      case capnp::schema::Type::UINT16:
      case capnp::schema::Type::UINT32:
        return {{"type", "integer"}, {"format", "uint32"}, {"minimum", 0}};
      case capnp::schema::Type::INT64:
        return {{"type", json::array({"string", "integer"})}, {"format", "int64"},
                {"description", "a 64-bit integer: answered as a decimal string; a number or a string is accepted"}};
      case capnp::schema::Type::UINT64:
        return {{"type", json::array({"string", "integer"})}, {"format", "uint64"},
                {"description", "a 64-bit unsigned integer: answered as a decimal string; a number or a string is accepted"}};
      case capnp::schema::Type::FLOAT32:
      case capnp::schema::Type::FLOAT64:
        return {{"type", "number"}};
      case capnp::schema::Type::TEXT:
        return {{"type", "string"}};
      case capnp::schema::Type::DATA:
        return {{"type", "string"}, {"contentEncoding", "base64"},
                {"description", "bytes, in base64"}};
      case capnp::schema::Type::LIST:
        return {{"type", "array"}, {"items", Type(t.asList().getElementType())}};
      case capnp::schema::Type::ENUM: {
        json names = json::array();
        for (auto e : t.asEnum().getEnumerants()) names.push_back(e.getProto().getName().cStr());
        return {{"$ref", Ref(t.asEnum(), {{"type", "string"}, {"enum", names}})}};
      }
      case capnp::schema::Type::STRUCT:
        return {{"$ref", Struct(t.asStruct())}};
      case capnp::schema::Type::INTERFACE:
      case capnp::schema::Type::ANY_POINTER:
        return {{"description", "a capability: not served over HTTP"}};
    }
    return json::object();
  }

  // Registers the struct's schema (once) and returns its reference.
  std::string Struct(capnp::StructSchema s) {
    const std::string name = NameOf(s);
    if (components_.count(name) == 0) {
      components_[name] = json::object();  // placeholder: structs may refer to themselves
      json props = json::object();
      json members = json::array();
      for (auto f : s.getFields()) {
        std::string fname = f.getProto().getName().cStr();
        if (f.getProto().isGroup()) {
          props[fname] = {{"$ref", Struct(f.getType().asStruct())}};
        } else {
          props[fname] = Type(f.getType());
        }
        if (f.getProto().getDiscriminantValue() != capnp::schema::Field::NO_DISCRIMINANT) {
          members.push_back(fname);
        }
      }
      json schema = {{"type", "object"}, {"properties", props}, {"additionalProperties", false}};
      if (!members.empty()) {
        std::string list;
        for (const auto& m : members) list += (list.empty() ? "" : ", ") + m.get<std::string>();
        schema["description"] = "a union: exactly one of " + list;
        schema["maxProperties"] = s.getFields().size() - s.getUnionFields().size() + 1;
      }
      components_[name] = std::move(schema);
    }
    return "#/components/schemas/" + name;
  }

  std::string Ref(capnp::Schema s, json schema) {
    const std::string name = NameOf(s);
    components_.emplace(name, std::move(schema));
    return "#/components/schemas/" + name;
  }

  json Operation(const Route& r) {
    capnp::InterfaceSchema iface = SchemaOf(r.target);
    capnp::InterfaceSchema::Method m = iface.getMethodByName(r.method);
    capnp::StructSchema params = m.getParamType();
    KJ_IF_MAYBE(wrapped, WrappedBody(params)) { params = wrapped->getType().asStruct(); }
    json op = {
        {"operationId", r.method},
        {"x-cotenant-method", r.interface + "." + r.method},
        {"tags", json::array({r.interface})},
        {"summary", r.interface + "." + r.method + " of the Cap'n Proto schema"},
    };
    json parameters = json::array({{{"$ref", "#/components/parameters/Tenant"}}});
    if (r.target == Target::kRecords) {
      parameters.push_back({{"$ref", "#/components/parameters/Context"}});
    }
    const bool has_object = r.path.find("{object}") != std::string::npos;
    const bool has_id = r.path.find("{id}") != std::string::npos;
    if (has_object) {
      parameters.push_back({{"name", "object"}, {"in", "path"}, {"required", true},
                            {"schema", {{"type", "string"}}},
                            {"description", "the object (sets the parameter `object`)"}});
    }
    if (has_id) {
      parameters.push_back({{"name", "id"}, {"in", "path"}, {"required", true},
                            {"schema", {{"type", "string"}, {"pattern", "^[0-9]+$"}}},
                            {"description", "the record id (sets the parameter `id`)"}});
    }
    // Query parameters: the scalar and list-of-scalar parameters (a list as a,b,c).
    for (auto f : params.getFields()) {
      std::string name = f.getProto().getName().cStr();
      if ((has_object && name == "object") || (has_id && name == "id")) continue;
      capnp::Type t = f.getType();
      bool scalar = !t.isStruct() && !t.isList() && !t.isInterface() && !t.isAnyPointer() &&
                    !t.isData();
      bool scalar_list = t.isList() && !t.asList().getElementType().isStruct() &&
                         !t.asList().getElementType().isList();
      if (!scalar && !scalar_list) continue;
      parameters.push_back(
          {{"name", name}, {"in", "query"}, {"required", false}, {"schema", {{"type", "string"}}},
           {"description", scalar_list ? "sets the list parameter of this name (comma-separated)"
                                       : "sets the parameter of this name (overrides the body)"}});
    }
    op["parameters"] = parameters;
    if (r.verb != "GET" && r.verb != "DELETE") {
      op["requestBody"] = {
          {"required", false},
          {"description",
           "the method's parameters as JSON (a method whose parameters are one struct takes "
           "that struct); the path's object and id and the query's parameters are set over "
           "them"},
          {"content", {{"application/json", {{"schema", {{"$ref", Struct(params)}}}}}}}};
    }
    json responses = {
        {"200",
         {{"description", "the method's results"},
          {"content", {{"application/json", {{"schema", {{"$ref", Struct(m.getResultType())}}}}}}}}}};
    for (const char* status : {"400", "401", "403", "404", "409", "413", "429", "500", "503"}) {
      responses[status] = {{"$ref", "#/components/responses/Error"}};
    }
    op["responses"] = responses;
    return op;
  }

  json Document() {
    json paths = json::object();
    paths["/v1/openapi.json"]["get"] = {
        {"operationId", "openapi"},
        {"summary", "this document"},
        {"security", json::array()},
        {"responses", {{"200", {{"description", "the OpenAPI document"},
                                {"content", {{"application/json", json::object()}}}}}}}};
    for (const Route& r : Routes()) {
      std::string verb = r.verb;
      for (char& c : verb) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      paths[r.path][verb] = Operation(r);
    }
    json codes = json::array();
    for (int c = 1; c <= static_cast<int>(Status::Code::kUnavailable); ++c) {
      codes.push_back(std::string(Status::CodeName(static_cast<Status::Code>(c))));
    }
    json schemas = components_;
    schemas["Error"] = {
        {"type", "object"},
        {"required", json::array({"code", "message"})},
        {"properties",
         {{"code", {{"type", "string"}, {"enum", codes}}},
          {"message", {{"type", "string"}, {"description", "the same message as the RPC error's"}}}}}};
    return {
        {"openapi", "3.1.0"},
        {"info",
         {{"title", "Cotenant HTTP/JSON API"},
          {"version", "1"},
          {"description",
           "Every record and administrative call of the Cotenant wire protocol as JSON over "
           "HTTP/1.1 (docs/HTTP.md). Parameters and results are the Cap'n Proto schema's "
           "structs in JSON: field names as in the schema, 64-bit integers as decimal "
           "strings, enums by name, a union as an object with one member."}}},
        {"security", json::array({{{"bearer", json::array()}}})},
        {"paths", paths},
        {"components",
         {{"securitySchemes",
           {{"bearer", {{"type", "http"}, {"scheme", "bearer"},
                        {"description", "an API key of the user (ck_...)"}}}}},
          {"parameters",
           {{"Tenant", {{"name", "Cotenant-Tenant"}, {"in", "header"}, {"required", true},
                        {"schema", {{"type", "string"}, {"pattern", "^[0-9]+$"}}},
                        {"description", "the tenant id of the API key's user (login)"}}},
            {"Context", {{"name", "Cotenant-Context"}, {"in", "header"}, {"required", false},
                         {"schema", {{"type", "string"}, {"pattern", "^[0-9]+$"}}},
                         {"description",
                          "the TenantContext: the tenant whose data the call acts on; absent = "
                          "the caller's own"}}}}},
          {"responses",
           {{"Error", {{"description", "an error: the RPC error's code name and message"},
                       {"content", {{"application/json",
                                     {{"schema", {{"$ref", "#/components/schemas/Error"}}}}}}}}}}},
          {"schemas", schemas}}},
        {"x-cotenant-not-served", [] {
           json out = json::array();
           for (const auto& n : NotServedMethods()) out.push_back({{"method", n.method}, {"why", n.why}});
           return out;
         }()},
    };
  }

 private:
  std::map<std::string, json> components_;
};

}  // namespace

const std::vector<Route>& Routes() {
  static const std::vector<Route> routes = BuildRoutes();
  return routes;
}

const std::vector<NotServed>& NotServedMethods() {
  static const std::vector<NotServed> methods = {
      {"Cotenant.login",
       "every request logs in with its Authorization: Bearer key and its Cotenant-Tenant header"},
      {"Session.records", "the Cotenant-Context header names the tenant a record call acts on"},
      {"Session.admin", "implied by the /v1/admin/ paths"},
      {"Records.beginPhysicalImport",
       "a physical import is a capability held across calls: use the Cap'n Proto protocol"},
      {"PhysicalImport.add", "see Records.beginPhysicalImport"},
      {"PhysicalImport.commit", "see Records.beginPhysicalImport"},
      {"PhysicalImport.abort", "see Records.beginPhysicalImport"},
  };
  return methods;
}

capnp::InterfaceSchema SchemaOf(Target target) {
  switch (target) {
    case Target::kSession:
      return capnp::Schema::from<wire::Session>();
    case Target::kRecords:
      return capnp::Schema::from<wire::Records>();
    case Target::kAdmin:
      break;
  }
  return capnp::Schema::from<wire::Admin>();
}

Match Find(const std::string& verb, const std::vector<std::string>& segments) {
  Match m;
  std::string path;
  if (segments.size() >= 3 && segments.size() <= 4 && segments[0] == "v1" &&
      segments[1] == "records") {
    const std::string& head = segments[2];
    size_t colon = head.find(':');
    m.object = head.substr(0, colon);
    path = "/v1/records/{object}";
    if (colon != std::string::npos) path += head.substr(colon);
    if (segments.size() == 4) {
      m.id = segments[3];
      path += "/{id}";
    }
  } else {
    for (const auto& s : segments) path += "/" + s;
  }
  for (const Route& r : Routes()) {
    if (r.path != path) continue;
    m.path_known = true;
    m.verbs.push_back(r.verb);
    if (r.verb == verb) m.route = &r;
  }
  return m;
}

kj::Maybe<capnp::StructSchema::Field> WrappedBody(capnp::StructSchema params) {
  auto fields = params.getFields();
  if (fields.size() == 1 && fields[0].getType().isStruct() && !fields[0].getProto().isGroup()) {
    return fields[0];
  }
  return nullptr;
}

int HttpStatus(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return 200;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kUnauthenticated:
      return 401;
    case Status::Code::kPermissionDenied:
      return 403;
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kConflict:
      return 409;
    case Status::Code::kResourceExhausted:
      return 429;
    case Status::Code::kBusy:
    case Status::Code::kUnavailable:
      return 503;
    case Status::Code::kInternal:
      break;
  }
  return 500;
}

const std::string& OpenApiDocument() {
  static const std::string doc = Generator().Document().dump(2) + "\n";
  return doc;
}

}  // namespace cotenant::rpc::http
