// Cotenant C++ SDK.
//
// A Client is one authenticated connection to a cotenantd server. Record calls mirror the
// record-handling API of seeds/004 (addRecord, updateRecord, deleteRecord, getRecord,
// searchRecords, each optionally through a TenantContext); administrative calls mirror the
// Admin interface of schemas/cotenant.capnp.
//
//   auto client = cotenant::Client::connect("127.0.0.1:7770", 7771212345, apiKey);
//   cotenant::Parameters params;
//   params.add("first_name", "John");
//   cotenant::Result r = client->addRecord("Customers", params);
//   if (!r.ok()) std::cerr << r.getCode() << ": " << r.getMessage() << "\n";
//
// Errors. Record and admin calls never throw: the outcome is in the returned Result (or
// Outcome<T>), whose getCode() is ErrorCode::OK on success. Only two things throw
// cotenant::Error: Client::connect when it cannot connect or log in, and the TenantContext
// constructor when the server refuses the context (as in seeds/004).
//
// Threads. A Client runs its network event loop on a background thread it owns. Every
// public member of Client, TenantContext, and of the futures they return may be used from
// any number of threads at once. Parameters, Value, Record and Result are plain values:
// safe to read from several threads, not to modify concurrently.
//
// Many calls in flight. Each *Async call returns a std::future at once and the request is
// sent without waiting for earlier ones; the synchronous calls are the Async ones followed
// by future::get(). Throughput on one connection comes from keeping many calls in flight.
//
// This header does not expose Cap'n Proto; users need only this header and the library.

#ifndef COTENANT_CLIENT_H_
#define COTENANT_CLIENT_H_

#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#if defined(_WIN32)
#define COTENANT_EXPORT
#else
#define COTENANT_EXPORT __attribute__((visibility("default")))
#endif

namespace cotenant {

// ---------------------------------------------------------------------------------------
// Error codes

// The outcome of a call. OK is 0, so `result.getCode() == ErrorCode::OK` tests success.
// The numbers are stable and never reused.
enum class ErrorCode : int {
  OK = 0,
  NotFound = 1,           // the tenant, object or record does not exist (or is not visible)
  PermissionDenied = 2,   // the caller may not do this; the message says what was missing
  InvalidArgument = 3,    // the request is malformed; the message names the problem
  Conflict = 4,           // an expected version did not match, or a name is taken
  ResourceExhausted = 5,  // a configured limit or quota was exceeded
  Unauthenticated = 6,    // bad tenant id or API key, or the key was revoked
  Unavailable = 7,        // no connection: refused, lost, or the Client was closed
  Internal = 8,           // the server (or this library) hit an unexpected failure
  Busy = 9,               // the server is shedding load (Cap'n Proto OVERLOADED); retry later
};

// "OK", "NotFound", ... (the names above). Never returns null.
COTENANT_EXPORT const char* errorCodeName(ErrorCode code);

// Writes errorCodeName(code).
COTENANT_EXPORT std::ostream& operator<<(std::ostream& os, ErrorCode code);

// Thrown only by Client::connect and the TenantContext constructors.
class COTENANT_EXPORT Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ErrorCode code() const noexcept { return code_; }
  // The message without the code (what() is "<Code>: <message>").
  const std::string& message() const noexcept { return message_; }

 private:
  ErrorCode code_;
  std::string message_;
};

// ---------------------------------------------------------------------------------------
// Values, parameters and records

// One field value: null, text, int (signed 64-bit), float (double), bool, or timestamp
// (microseconds since 1970-01-01T00:00:00Z).
class COTENANT_EXPORT Value {
 public:
  enum class Type { Null, Text, Int, Float, Bool, Timestamp };

  Value() = default;  // null
  static Value null() { return Value(); }
  static Value text(std::string v);
  static Value integer(int64_t v);
  static Value floating(double v);
  static Value boolean(bool v);
  static Value timestamp(int64_t micros);

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::Null; }

  // Accessors. REQUIRES: type() is the matching type (else std::logic_error).
  const std::string& asText() const;
  int64_t asInt() const;
  double asFloat() const;
  bool asBool() const;
  int64_t asTimestamp() const;  // microseconds since the epoch

  // Human-readable form: "null", the text itself, decimal integers, the shortest decimal
  // that reads back as the same double, "true"/"false", and timestamps as ISO-8601 UTC
  // ("2024-05-01T12:00:00Z", with ".ffffff" when there are microseconds).
  std::string toString() const;

  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  Type type_ = Type::Null;
  std::variant<std::monostate, std::string, int64_t, double, bool> v_;
};

// Formats microseconds since the epoch as ISO-8601 UTC, as Value::toString does.
COTENANT_EXPORT std::string formatTimestamp(int64_t micros);

// The field values of an add or update, in the order added (seeds/004 `Parameters`), plus
// the "Retrieve Record Permissions" option of getRecord and searchRecords.
//
// Adding a name that is already present replaces its value and keeps its position.
// Text values for non-text fields are parsed strictly by the server ("42" for an int,
// "2024-05-01T12:00:00Z" for a timestamp).
class COTENANT_EXPORT Parameters {
 public:
  Parameters() = default;

  Parameters& add(const std::string& name, const std::string& value);
  Parameters& add(const std::string& name, const char* value);  // REQUIRES: value != nullptr
  Parameters& add(const std::string& name, double value);
  Parameters& add(const std::string& name, bool value);
  // Every integer type (int, long, int64_t, unsigned, ...) is sent as a signed 64-bit int.
  template <typename T,
            typename std::enable_if<std::is_integral<T>::value &&
                                        !std::is_same<T, bool>::value,
                                    int>::type = 0>
  Parameters& add(const std::string& name, T value) {
    return addValue(name, Value::integer(static_cast<int64_t>(value)));
  }
  Parameters& addTimestamp(const std::string& name, int64_t micros);
  Parameters& addNull(const std::string& name);  // clears the field on update
  Parameters& addValue(const std::string& name, Value value);

  // seeds/004 "Retrieve Record Permissions": getRecord and searchRecords then fill
  // Record::canUpdate() and Record::canDelete(). Ignored by add, update and delete.
  Parameters& retrieveRecordPermissions(bool on);
  bool retrievesRecordPermissions() const { return retrievePermissions_; }

  const std::vector<std::pair<std::string, Value>>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  size_t size() const { return fields_.size(); }

  // The value for `name`, or nullptr when absent. The pointer is valid until the next add.
  const Value* find(const std::string& name) const;

 private:
  std::vector<std::pair<std::string, Value>> fields_;
  bool retrievePermissions_ = false;
};

// One record as returned by the server.
class COTENANT_EXPORT Record {
 public:
  uint64_t id() const { return id_; }
  std::string idString() const;  // decimal

  // The value of field `name`; a null Value when the field is null or was not projected.
  const Value& get(const std::string& name) const;
  // True when the server returned field `name` (it may still be null).
  bool has(const std::string& name) const;
  // The returned fields in the server's order.
  const std::vector<std::pair<std::string, Value>>& fields() const { return fields_; }

  uint64_t createdBy() const { return createdBy_; }    // user id
  int64_t createdAt() const { return createdAt_; }     // microseconds since the epoch
  uint64_t modifiedBy() const { return modifiedBy_; }  // user id
  int64_t modifiedAt() const { return modifiedAt_; }   // microseconds since the epoch
  uint64_t version() const { return version_; }        // 1 on add, +1 per update

  // Set only when the read asked for record permissions.
  std::optional<bool> canUpdate() const { return canUpdate_; }
  std::optional<bool> canDelete() const { return canDelete_; }

 private:
  friend struct RecordBuilder;
  uint64_t id_ = 0;
  std::vector<std::pair<std::string, Value>> fields_;
  uint64_t createdBy_ = 0;
  int64_t createdAt_ = 0;
  uint64_t modifiedBy_ = 0;
  int64_t modifiedAt_ = 0;
  uint64_t version_ = 0;
  std::optional<bool> canUpdate_;
  std::optional<bool> canDelete_;
};

// A record id given as a number or as a decimal string (seeds/004 passes ids as strings).
// A string that is not a decimal number in 1..2^64-1 makes the call fail with
// InvalidArgument before anything is sent.
class COTENANT_EXPORT RecordId {
 public:
  template <typename T,
            typename std::enable_if<std::is_integral<T>::value &&
                                        !std::is_same<T, bool>::value,
                                    int>::type = 0>
  RecordId(T id)  // NOLINT(google-explicit-constructor): ids read naturally as numbers
      : value_(static_cast<uint64_t>(id)), valid_(id > 0), text_() {
    if (!valid_) text_ = std::to_string(id);
  }
  RecordId(const std::string& id);  // NOLINT(google-explicit-constructor)
  RecordId(const char* id);         // NOLINT(google-explicit-constructor)

  bool valid() const { return valid_; }
  uint64_t value() const { return value_; }
  // What the caller passed, for error messages.
  std::string text() const;

  // Parses a strict decimal id ("123"; no sign, spaces or leading '+'; not 0; fits in
  // 64 bits). Returns nullopt otherwise.
  static std::optional<uint64_t> parse(const std::string& text);

 private:
  uint64_t value_ = 0;
  bool valid_ = false;
  std::string text_;  // set when built from a string or an invalid number
};

// The outcome of a record call (seeds/004 `Result`).
class COTENANT_EXPORT Result {
 public:
  Result() = default;  // OK, empty
  Result(ErrorCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  ErrorCode getCode() const { return code_; }
  const std::string& getMessage() const { return message_; }  // empty on success
  bool ok() const { return code_ == ErrorCode::OK; }

  // add/update/get: the one record; search: the page, in order. Empty for delete and
  // batch add, and on failure.
  const std::vector<Record>& getRecords() const { return records_; }
  // addRecord: the new record's id (0 otherwise). addRecords: the first id.
  uint64_t getId() const { return ids_.empty() ? 0 : ids_.front(); }
  // addRecords: the new ids in input order. addRecord: the one id.
  const std::vector<uint64_t>& ids() const { return ids_; }

  // searchRecords: true when no row follows this page (a page is never silently
  // truncated). Other calls: true.
  bool complete() const { return complete_; }
  // searchRecords: an opaque token for the next page of the same query; empty when
  // complete. Pass it in SearchQuery::continuation.
  const std::string& continuation() const { return continuation_; }

  // For the library and for tests that fake results.
  std::vector<Record>& mutableRecords() { return records_; }
  std::vector<uint64_t>& mutableIds() { return ids_; }
  void setComplete(bool complete) { complete_ = complete; }
  void setContinuation(std::string token) { continuation_ = std::move(token); }

 private:
  ErrorCode code_ = ErrorCode::OK;
  std::string message_;
  std::vector<Record> records_;
  std::vector<uint64_t> ids_;
  bool complete_ = true;
  std::string continuation_;
};

// The outcome of an administrative call: a code and message as in Result, and on success
// a value.
template <typename T>
class Outcome {
 public:
  Outcome(T value) : value_(std::move(value)) {}  // NOLINT: OK outcome
  Outcome(ErrorCode code, std::string message)
      : code_(code), message_(std::move(message)), value_() {}

  ErrorCode getCode() const { return code_; }
  const std::string& getMessage() const { return message_; }
  bool ok() const { return code_ == ErrorCode::OK; }
  // REQUIRES: ok() (otherwise a default-constructed T).
  const T& value() const { return value_; }
  T& value() { return value_; }

 private:
  ErrorCode code_ = ErrorCode::OK;
  std::string message_;
  T value_;
};

// ---------------------------------------------------------------------------------------
// Search

// A complete search request (the detailed searchRecords of seeds/004 plus continuation).
struct SearchQuery {
  std::string object;
  std::string fields = "*";        // comma-separated projection; "*" or "" = every field
  std::string criteria;            // docs/CRITERIA.md; "" = every record
  std::string sortBy;              // "" = record id
  std::string sortOrder = "asc";   // "asc"/"desc" (also "ascending"/"descending"; any case)
  std::string sortBy2;             // "" = none
  std::string sortOrder2 = "asc";
  uint32_t offset = 0;             // rows skipped after the continuation point
  uint32_t numberOfRows = 0;       // page size 1..1000; 0 = the server default (100)
  std::string continuation;        // Result::continuation() of the previous page; "" = start
  bool retrievePermissions = false;
};

// ---------------------------------------------------------------------------------------
// Administration types (schemas/cotenant.capnp)

enum class TenantKind { Tenant, Msp, Isv, System };
enum class FieldType { Text, Int, Float, Bool, Timestamp };
enum class AdminLevel { User, TenantAdmin, SystemAdmin };

COTENANT_EXPORT const char* tenantKindName(TenantKind kind);  // "tenant", "msp", "isv", "system"
COTENANT_EXPORT const char* fieldTypeName(FieldType type);    // "text", "int", ...
COTENANT_EXPORT const char* adminLevelName(AdminLevel level); // "user", "tenant-admin", "system-admin"
// Inverses of the above (case-sensitive); nullopt for an unknown name.
COTENANT_EXPORT std::optional<TenantKind> parseTenantKind(const std::string& name);
COTENANT_EXPORT std::optional<FieldType> parseFieldType(const std::string& name);
COTENANT_EXPORT std::optional<AdminLevel> parseAdminLevel(const std::string& name);

struct TenantInfo {
  uint64_t id = 0;
  std::string name;
  TenantKind kind = TenantKind::Tenant;
  uint64_t provider = 0;  // 0 = none
  int64_t createdAt = 0;  // microseconds since the epoch
};

struct FieldDef {
  std::string name;
  FieldType type = FieldType::Text;
  bool required = false;
  bool indexed = false;
};

struct ObjectInfo {
  uint32_t id = 0;
  std::string name;
  std::vector<FieldDef> fields;
};

struct UserInfo {
  uint64_t id = 0;
  uint64_t tenantId = 0;  // home tenant
  std::string name;
  AdminLevel level = AdminLevel::User;
  int64_t createdAt = 0;
};

struct NewUser {
  UserInfo user;
  std::string apiKey;  // shown once; the server keeps only a hash
};

struct Empty {};  // the value of admin calls that return nothing

// ---- API keys ----------------------------------------------------------------------------

struct ApiKeyInfo {
  std::string keyId;      // the public part of the key (also inside the key itself)
  uint64_t userId = 0;
  int64_t createdAt = 0;  // microseconds since the epoch
  bool revoked = false;
};

struct NewApiKey {
  ApiKeyInfo key;
  std::string apiKey;  // the whole key, shown once; the server keeps only a hash
};

// ---- Roles -------------------------------------------------------------------------------

// What a role grants on one object. `del` is the `delete` right (a C++ keyword).
struct Rights {
  bool read = false;    // getRecord, searchRecords
  bool add = false;     // addRecord, addRecords
  bool update = false;  // updateRecord
  bool del = false;     // deleteRecord

  static Rights all() { return Rights{true, true, true, true}; }
  bool none() const { return !read && !add && !update && !del; }
  bool operator==(const Rights& o) const {
    return read == o.read && add == o.add && update == o.update && del == o.del;
  }
  bool operator!=(const Rights& o) const { return !(*this == o); }
};

// "read,add,update,delete" in that order, only the granted ones; "none" when none.
COTENANT_EXPORT std::string formatRights(const Rights& rights);
// Inverse of formatRights: a comma-separated list of read, add, update, delete (any order,
// blanks ignored, each at most once), or "all", or "none". Case-sensitive. nullopt for
// anything else, including "" and a right given twice.
COTENANT_EXPORT std::optional<Rights> parseRights(const std::string& text);

struct ObjectRights {
  std::string object;  // an object name, or "*" for every object the role does not name
  Rights rights;
};

struct RoleMember {
  uint64_t tenantId = 0;  // the member's home tenant (another one only for cross-tenant roles)
  uint64_t userId = 0;
};

struct RoleInfo {
  uint64_t id = 0;
  uint64_t tenantId = 0;  // the tenant the role belongs to
  std::string name;       // unique within the tenant
  std::vector<ObjectRights> rights;
  bool crossTenant = false;  // may have members from other tenants (seeds/002)
  std::vector<RoleMember> members;
};

// ---- Data-sharing policies (seeds/004) ---------------------------------------------------

// What a policy exposes of one object.
struct ObjectScope {
  std::string object;
  std::string rowFilter;            // criteria (docs/CRITERIA.md); "" = every row
  std::vector<std::string> fields;  // field allow-list; empty = every field
};

// A tenant data-sharing policy: the publisher lets the designated tenant's code act on its
// data as `userId`, with that user's role rights, narrowed to `scope`.
struct PolicyInfo {
  uint64_t publisher = 0;    // set by the server (the tenantId of the create call)
  std::string name;          // unique within the publisher
  uint64_t designated = 0;   // the tenant admitted; 0 for a global policy
  bool global = false;       // ISVs and MSPs only: admits every tenant they manage
  uint64_t userId = 0;       // a live user of the publisher
  std::vector<ObjectScope> scope;  // empty = every object the user's roles reach
  int64_t expiresAt = 0;     // microseconds since the epoch; 0 = never
  int64_t createdAt = 0;     // set by the server
  int64_t modifiedAt = 0;    // set by the server

  // True when the policy has an expiry at or before `nowMicros` (it then admits nobody).
  bool expiredAt(int64_t nowMicros) const { return expiresAt != 0 && expiresAt <= nowMicros; }
};

// ---- Settings, audit, usage ----------------------------------------------------------------

struct Setting {
  std::string name;   // e.g. "crossTenantRoles"
  std::string value;  // e.g. "true"
};

struct AuditEntry {
  int64_t time = 0;           // microseconds since the epoch
  uint64_t callerTenant = 0;  // the tenant of the user that called
  uint64_t callerUser = 0;
  uint64_t principal = 0;     // the user the call ran as (the policy's user via a policy)
  uint64_t targetTenant = 0;  // the tenant whose data or settings the call touched
  std::string api;            // "getRecord", "createPolicy", ...
  std::string object;         // the object, or for admin calls what was changed
  uint64_t recordId = 0;      // 0 when none
  std::string outcome;        // "OK" or an error code name ("PermissionDenied", ...)
  std::string detail;         // how the context resolved, or the change made
};

struct AuditQuery {
  uint64_t tenantId = 0;      // whose log; 0 = the caller's own tenant
  int64_t from = 0;           // inclusive, microseconds; 0 = the beginning
  int64_t to = 0;             // exclusive, microseconds; 0 = now
  uint64_t callerTenant = 0;  // only calls from this tenant; 0 = any
  std::string outcome;        // only this outcome ("OK", "PermissionDenied", ...); "" = any
  uint32_t limit = 0;         // at most this many, newest last; 0 = the server's 1000
};

struct ApiCount {
  std::string api;
  uint64_t calls = 0;
};

// Metering of one tenant (seeds/001: the tenant is the billing unit).
struct UsageInfo {
  uint64_t tenantId = 0;
  uint64_t records = 0;             // records stored
  uint64_t bytes = 0;               // bytes of records stored (encoded)
  std::vector<ApiCount> calls;      // calls made by the tenant's users, by API
  uint64_t servedToOthers = 0;      // calls of other tenants served through its policies
  uint64_t consumedFromOthers = 0;  // calls its users made into other tenants
};

// ---- Permission sets (seeds/003) and explain / simulate -----------------------------------

enum class Effect { Allow, Deny };
COTENANT_EXPORT const char* effectName(Effect effect);  // "allow", "deny"
// Inverse of effectName (case-sensitive); nullopt for anything else.
COTENANT_EXPORT std::optional<Effect> parseEffect(const std::string& name);

// One rule of a permission set. Each regex (RE2 syntax) must match the whole string.
struct PermissionPolicy {
  Effect effect = Effect::Allow;
  std::string resourceTypeRegex;  // against "records/<Object>" or "admin/<thing>"
  std::string apiNameRegex;       // against the schema's method name, e.g. "deleteRecord"
  std::string methodRegex;        // against GET (reads), POST (adds, creates), PUT, DELETE

  bool operator==(const PermissionPolicy& o) const {
    return effect == o.effect && resourceTypeRegex == o.resourceTypeRegex &&
           apiNameRegex == o.apiNameRegex && methodRegex == o.methodRegex;
  }
  bool operator!=(const PermissionPolicy& o) const { return !(*this == o); }
};

// A permission set: the sets that apply to a caller and the tenant a call touches are
// evaluated together: any matching deny denies; else a matching allow allows; else the call
// is denied (default deny). A fresh installation has the system-wide set "allow-all".
struct PermissionSetInfo {
  std::string name;                       // unique; 1-64 of [A-Za-z0-9_.-]
  bool systemScope = false;               // true: applies to every user; false: `users` only
  bool allTenants = false;                // true: every tenant; false: `tenants` only
  std::vector<uint64_t> tenants;
  std::vector<uint64_t> users;            // user ids (user-scope sets)
  std::vector<PermissionPolicy> policies; // in order; numbered from 1 in messages
};

// A call to decide without performing it (Client::explain). With a draft, the decision as
// if the draft were saved ("simulate").
struct ExplainRequest {
  uint64_t userId = 0;    // the caller; 0 = the explaining user itself
  uint64_t tenantId = 0;  // the tenant the call names (a TenantContext); 0 = the caller's own
  std::string api;        // e.g. "deleteRecord", "createPolicy"
  std::string object;     // record calls: the object
  // As if this data-sharing policy were saved in the tenant the call names (replacing the
  // one of that name).
  std::optional<PolicyInfo> draftPolicy;
  // As if this permission set were saved (replacing the one of that name, or added).
  std::optional<PermissionSetInfo> draftPermissionSet;
  // As if the permission set of this name were deleted; "" = none. At most one of
  // draftPermissionSet and removePermissionSet (else InvalidArgument, no round trip).
  std::string removePermissionSet;
};

// One permission set that applied to the call, and which of its policies matched.
struct ConsideredSet {
  std::string name;
  uint64_t forUser = 0;               // whose sets: the caller, or the policy's user
  std::vector<uint32_t> matchedAllow; // 1-based policy numbers
  std::vector<uint32_t> matchedDeny;
};

// The whole decision of a call.
struct COTENANT_EXPORT Explanation {
  bool allowed = false;
  std::string code;          // "OK" or the error code name the call would get
  std::string message;       // the message the call would get ("" when allowed)
  std::string contextPath;   // own | cross-tenant role | policy | global policy | denied
  std::string policy;        // the data-sharing policy that admitted the call, if any
  uint64_t principal = 0;    // the user the call would run as
  std::vector<ConsideredSet> permissionSets;
  std::string decidingSet;   // "" when nothing matched (default deny)
  uint32_t decidingPolicy = 0;  // 1-based; 0 = none
  std::string roleRights;    // the principal's rights on the object, e.g. "read,update"
  std::string scope;         // the policy scope of the object (filter, fields), if any
  std::vector<std::string> steps;  // the decision, step by step, in words

  // `code` as an ErrorCode (OK when allowed; Internal for a name this library does not know).
  ErrorCode errorCode() const;
};

// ---------------------------------------------------------------------------------------
// Client

class Client;
class ClientCore;  // internal
class ContextHandle;  // internal

// Names the tenant whose data a record call acts on (seeds/004 `TenantContext`).
//
// The constructor resolves the context on the server at once (one round trip) and throws
// Error with PermissionDenied when no data-sharing policy of that tenant admits the
// caller's tenant (an unknown tenant gets the same answer), Unavailable without a
// connection, InvalidArgument for a tenant id string that is not a decimal number. Every
// call made through the context is checked again by the server, so a revoked policy
// takes effect at once.
//
// Copies share the server-side capability; it is released when the last copy goes.
// Thread-safe. A TenantContext may outlive its Client; calls through it then answer
// Unavailable. REQUIRES: a context is used only with the Client that made it (otherwise
// the call answers InvalidArgument).
class COTENANT_EXPORT TenantContext {
 public:
  TenantContext(Client& client, uint64_t tenantId);
  TenantContext(Client& client, const std::string& tenantId);

  uint64_t tenantId() const { return tenantId_; }

 private:
  friend class Client;
  uint64_t tenantId_;
  std::shared_ptr<ContextHandle> handle_;
};

class COTENANT_EXPORT Client {
 public:
  // Connects to `address` ("host:port"; IPv6 as "[::1]:7770") and logs in as the user
  // whose API key is `apiKey` in tenant `tenantId`. Throws Error: Unavailable when the
  // server cannot be reached, Unauthenticated for a bad tenant or key,
  // InvalidArgument for a malformed address. The returned client is connected; its
  // session and record capabilities are requested pipelined with the login.
  static std::unique_ptr<Client> connect(const std::string& address, uint64_t tenantId,
                                         const std::string& apiKey);

  // Stops the event-loop thread and closes the connection. Calls still in flight
  // complete with Unavailable ("client closed"); their futures stay valid.
  // REQUIRES: not called from a callback of this client (there are none today).
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The user that logged in (from the login response; no round trip).
  const UserInfo& user() const;

  // The user the server sees now (a round trip; fails once the user or key is revoked).
  Outcome<UserInfo> whoami();

  // ---- Record calls --------------------------------------------------------------------
  // Each call has a form without TenantContext (the caller's own tenant) and one with.
  // Object names are case-sensitive. `fields` is a comma-separated list of field names
  // ("first_name,age"), or "*" / "" for every field.

  // Adds a record. On success getId() is the new id and getRecords() holds the record.
  Result addRecord(const std::string& object, const Parameters& params);
  Result addRecord(const std::string& object, const Parameters& params,
                   const TenantContext& ctx);
  std::future<Result> addRecordAsync(const std::string& object, const Parameters& params);
  std::future<Result> addRecordAsync(const std::string& object, const Parameters& params,
                                     const TenantContext& ctx);

  // Adds many records atomically: all or none. On success ids() holds the new ids in
  // input order; on failure the message names the index of the first bad record.
  Result addRecords(const std::string& object, const std::vector<Parameters>& records);
  Result addRecords(const std::string& object, const std::vector<Parameters>& records,
                    const TenantContext& ctx);
  std::future<Result> addRecordsAsync(const std::string& object,
                                      const std::vector<Parameters>& records);
  std::future<Result> addRecordsAsync(const std::string& object,
                                      const std::vector<Parameters>& records,
                                      const TenantContext& ctx);

  // Sets the given fields (others keep their values; addNull clears one). With a non-zero
  // expectedVersion the update fails with Conflict, writing nothing, unless the record's
  // version is that. On success getRecords() holds the updated record.
  Result updateRecord(const std::string& object, RecordId id, const Parameters& params,
                      uint64_t expectedVersion = 0);
  Result updateRecord(const std::string& object, RecordId id, const Parameters& params,
                      const TenantContext& ctx, uint64_t expectedVersion = 0);
  std::future<Result> updateRecordAsync(const std::string& object, RecordId id,
                                        const Parameters& params,
                                        uint64_t expectedVersion = 0);
  std::future<Result> updateRecordAsync(const std::string& object, RecordId id,
                                        const Parameters& params, const TenantContext& ctx,
                                        uint64_t expectedVersion = 0);

  // Deletes a record. expectedVersion as for updateRecord.
  Result deleteRecord(const std::string& object, RecordId id, uint64_t expectedVersion = 0);
  Result deleteRecord(const std::string& object, RecordId id, const TenantContext& ctx,
                      uint64_t expectedVersion = 0);
  std::future<Result> deleteRecordAsync(const std::string& object, RecordId id,
                                        uint64_t expectedVersion = 0);
  std::future<Result> deleteRecordAsync(const std::string& object, RecordId id,
                                        const TenantContext& ctx,
                                        uint64_t expectedVersion = 0);

  // One record, projected to `fields`. A missing record is NotFound. `params` may ask for
  // record permissions (Parameters::retrieveRecordPermissions); its fields are ignored.
  Result getRecord(const std::string& object, const std::string& fields, RecordId id,
                   const Parameters& params = Parameters());
  Result getRecord(const std::string& object, const std::string& fields, RecordId id,
                   const TenantContext& ctx, const Parameters& params = Parameters());
  std::future<Result> getRecordAsync(const std::string& object, const std::string& fields,
                                     RecordId id, const Parameters& params = Parameters());
  std::future<Result> getRecordAsync(const std::string& object, const std::string& fields,
                                     RecordId id, const TenantContext& ctx,
                                     const Parameters& params = Parameters());

  // Simple search: records matching `criteria` ("" = all), by record id, first page of
  // the server's default size. complete() says whether more rows exist.
  Result searchRecords(const std::string& object, const std::string& fields,
                       const std::string& criteria, const Parameters& params = Parameters());
  Result searchRecords(const std::string& object, const std::string& fields,
                       const std::string& criteria, const TenantContext& ctx,
                       const Parameters& params = Parameters());

  // Detailed search (seeds/004): sorted by sortBy then sortBy2 ("" = none), orders "asc"
  // or "desc", skipping `offset` rows, returning at most numberOfRows (1..1000) rows.
  // Nulls sort last ascending and first descending; ties by record id.
  Result searchRecords(const std::string& object, const std::string& fields,
                       const std::string& criteria, const std::string& sortBy,
                       const std::string& sortOrder, const std::string& sortBy2,
                       const std::string& sortOrder2, int offset, int numberOfRows,
                       const Parameters& params = Parameters());
  Result searchRecords(const std::string& object, const std::string& fields,
                       const std::string& criteria, const std::string& sortBy,
                       const std::string& sortOrder, const std::string& sortBy2,
                       const std::string& sortOrder2, int offset, int numberOfRows,
                       const TenantContext& ctx, const Parameters& params = Parameters());

  // Any search, including the next page of an earlier one: set query.continuation to the
  // previous Result::continuation() and keep the rest of the query the same.
  Result search(const SearchQuery& query);
  Result search(const SearchQuery& query, const TenantContext& ctx);
  std::future<Result> searchAsync(const SearchQuery& query);
  std::future<Result> searchAsync(const SearchQuery& query, const TenantContext& ctx);

  // ---- Administrative calls (schemas/cotenant.capnp `Admin`) ---------------------------
  // They act on the caller's own tenant; only a system admin may name another tenant.
  // A `tenantId` of 0 means the caller's own tenant.

  Outcome<TenantInfo> createTenant(const std::string& name, TenantKind kind,
                                   uint64_t provider = 0);  // system admins only
  Outcome<std::vector<TenantInfo>> listTenants();
  Result deleteTenant(uint64_t tenantId);  // system admins only
  Outcome<ObjectInfo> createObject(uint64_t tenantId, const std::string& name,
                                   const std::vector<FieldDef>& fields);
  Outcome<std::vector<ObjectInfo>> listObjects(uint64_t tenantId = 0);
  Outcome<NewUser> createUser(uint64_t tenantId, const std::string& name, AdminLevel level);
  Outcome<std::vector<UserInfo>> listUsers(uint64_t tenantId = 0);
  // Deletes the user, its keys and role memberships; its open sessions fail at once and
  // policies naming it admit nobody until changed.
  Result deleteUser(uint64_t tenantId, uint64_t userId);

  // API keys. Rotation: createApiKey, switch the application over, revokeApiKey(old).
  // Tenant admins of the user's tenant, system admins, or the user itself.
  Outcome<NewApiKey> createApiKey(uint64_t tenantId, uint64_t userId);
  Result revokeApiKey(uint64_t tenantId, const std::string& keyId);
  Outcome<std::vector<ApiKeyInfo>> listApiKeys(uint64_t tenantId, uint64_t userId);

  // Roles. A duplicate name is Conflict. updateRole replaces the rights and the
  // cross-tenant flag. Members of another tenant only for a cross-tenant role, only while
  // the setting crossTenantRoles is "true".
  Outcome<RoleInfo> createRole(uint64_t tenantId, const std::string& name,
                               const std::vector<ObjectRights>& rights, bool crossTenant = false);
  Outcome<RoleInfo> updateRole(uint64_t tenantId, const std::string& name,
                               const std::vector<ObjectRights>& rights, bool crossTenant = false);
  Result deleteRole(uint64_t tenantId, const std::string& name);
  Outcome<std::vector<RoleInfo>> listRoles(uint64_t tenantId = 0);
  Result addRoleMember(uint64_t tenantId, const std::string& role, uint64_t memberTenant,
                       uint64_t userId);
  Result removeRoleMember(uint64_t tenantId, const std::string& role, uint64_t memberTenant,
                          uint64_t userId);

  // Data-sharing policies of tenant `tenantId` (seeds/004). publisher, createdAt and
  // modifiedAt of `policy` are ignored (the server sets them). A second policy for the same
  // designated tenant, a second global policy, or a taken name is Conflict. updatePolicy
  // replaces the user, scope and expiry of the policy named policy.name.
  Outcome<PolicyInfo> createPolicy(uint64_t tenantId, const PolicyInfo& policy);
  Outcome<PolicyInfo> updatePolicy(uint64_t tenantId, const PolicyInfo& policy);
  Result deletePolicy(uint64_t tenantId, const std::string& name);
  // Exactly one of the two is non-zero (otherwise InvalidArgument without a round trip).
  // publishedBy = T: who can reach T's data. designating = T: whose data T can reach,
  // global policies of T's providers included.
  Outcome<std::vector<PolicyInfo>> listPolicies(uint64_t publishedBy, uint64_t designating);

  // System settings ("crossTenantRoles" = "true" | "false"). setSetting: system admins.
  Result setSetting(const std::string& name, const std::string& value);
  Outcome<std::vector<Setting>> listSettings();

  // A tenant's audit log in time order (newest last). Tenant admins read their own tenant's;
  // system admins any.
  Outcome<std::vector<AuditEntry>> queryAudit(const AuditQuery& query);

  // A tenant's metering (0 = own). Tenant admins read their own; system admins any.
  Outcome<UsageInfo> usage(uint64_t tenantId = 0);

  // Permission sets (seeds/003). System admins only. A bad regex is InvalidArgument naming
  // the pattern and RE2's reason; a taken name Conflict. updatePermissionSet replaces the
  // set named set.name (NotFound when absent).
  Result createPermissionSet(const PermissionSetInfo& set);
  Result updatePermissionSet(const PermissionSetInfo& set);
  Result deletePermissionSet(const std::string& name);
  Outcome<std::vector<PermissionSetInfo>> listPermissionSets();

  // The whole decision of a call without performing it: how the context resolves, each
  // permission set considered and which policy decided, the role rights, the scope. With a
  // draft in the request, the decision as if it were saved (simulate). The outcome is OK
  // whenever the explanation was obtained, whatever its verdict (Explanation::allowed).
  // Tenant admins explain calls of users of their tenant; system admins any.
  Outcome<Explanation> explain(const ExplainRequest& request);

 private:
  friend class TenantContext;
  explicit Client(std::shared_ptr<ClientCore> core);
  std::shared_ptr<ClientCore> core_;
};

}  // namespace cotenant

#endif  // COTENANT_CLIENT_H_
