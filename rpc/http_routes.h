// The paths of the HTTP/JSON API (docs/HTTP.md) and the OpenAPI document made from them.
// Internal to rpc/.
//
// One table maps each served method of schemas/cotenant.capnp to one HTTP verb and path;
// the server routes by it (rpc/http_api.cc) and the OpenAPI document is generated from it
// and from the compiled schema, so neither can drift from the schema:
//
//   GET    /v1/whoami                         Session.whoami
//   POST   /v1/records/{object}               Records.addRecord
//   GET    /v1/records/{object}/{id}          Records.getRecord
//   PATCH  /v1/records/{object}/{id}          Records.updateRecord
//   DELETE /v1/records/{object}/{id}          Records.deleteRecord
//   POST   /v1/records/{object}:search        Records.searchRecords
//   GET    /v1/records/{object}:describe      Records.describeObject
//   POST   /v1/records/{object}:<method>      every other served Records method
//   POST   /v1/admin/<method>                 every Admin method
//
// A request's parameters are the method's parameter struct in JSON (Cap'n Proto's JSON
// codec), with the path's {object} and {id} and the query's name=value pairs set over it.

#ifndef COTENANT_RPC_HTTP_ROUTES_H_
#define COTENANT_RPC_HTTP_ROUTES_H_

#include <string>
#include <vector>

#include <capnp/schema.h>

#include "common/status.h"

namespace cotenant::rpc::http {

// The capability a route's method is called on.
enum class Target { kSession, kRecords, kAdmin };

struct Route {
  std::string verb;      // "GET", "POST", "PATCH" or "DELETE"
  std::string path;      // a template: "/v1/records/{object}/{id}"
  Target target;
  std::string method;    // the schema's method name: "getRecord"
  std::string interface; // "Records"
};

// A schema method that has no path, and why.
struct NotServed {
  std::string method;  // "Records.beginPhysicalImport"
  std::string why;
};

// Every route, in the schema's order (Session, Records, Admin). Built once; thread-safe.
const std::vector<Route>& Routes();

// The schema's methods that have no route.
const std::vector<NotServed>& NotServedMethods();

// The interface schema a target's methods are looked up in.
capnp::InterfaceSchema SchemaOf(Target target);

// The parameter a method's JSON body stands for, when its parameters are a single struct
// (searchRecords' `request`, queryAudit's `query`, explain's `request`, the permission
// set calls' `set`): the body and the query then give that struct's fields directly.
kj::Maybe<capnp::StructSchema::Field> WrappedBody(capnp::StructSchema params);

// The route of a request path (already split into decoded segments, without the leading
// "/"), with the values the path supplies.
struct Match {
  const Route* route = nullptr;  // null: no route has this path with this verb
  bool path_known = false;       // some route has this path (another verb: 405)
  std::vector<std::string> verbs;  // the verbs this path has
  std::string object;            // {object}, when the path has one
  std::string id;                // {id}, when the path has one
};
Match Find(const std::string& verb, const std::vector<std::string>& segments);

// The HTTP status of an error code, the one table of the API (docs/HTTP.md):
// InvalidArgument 400, Unauthenticated 401, PermissionDenied 403, NotFound 404,
// Conflict 409, ResourceExhausted 429, Internal 500, Busy and Unavailable 503.
// (A body over the size limit is 413 with code ResourceExhausted.)
int HttpStatus(Status::Code code);

// The OpenAPI 3.1 document of every route: paths, parameters, request and response
// schemas generated from the compiled schema. Deterministic (docs/openapi.json is this
// text). Built once; thread-safe.
const std::string& OpenApiDocument();

}  // namespace cotenant::rpc::http

#endif  // COTENANT_RPC_HTTP_ROUTES_H_
