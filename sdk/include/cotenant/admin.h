// Cotenant C++ SDK: the types of the administrative calls of Client: tenants, objects,
// users, API keys, roles and rights, data-sharing policies, settings, audit, usage,
// permission sets and explain / simulate. They mirror the Admin interface of the wire
// schema (schemas/cotenant.capnp).
//
// Included by <cotenant/client.h>; users normally include that instead.

#ifndef COTENANT_ADMIN_H_
#define COTENANT_ADMIN_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cotenant/types.h"

namespace cotenant {

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

// What one tenant may use; 0 = no limit. A call past a quota is answered
// ErrorCode::ResourceExhausted with a message naming the quota. System admins set them
// (Client::setQuota).
struct Quota {
  uint64_t records = 0;          // records stored
  uint64_t bytes = 0;            // bytes stored, as usage counts them
  uint32_t callsPerSecond = 0;   // calls by the tenant's users (bursts of up to a second's worth)
  uint32_t concurrentWork = 0;   // storage jobs of the tenant's users queued or running at once
  bool operator==(const Quota& o) const {
    return records == o.records && bytes == o.bytes && callsPerSecond == o.callsPerSecond &&
           concurrentWork == o.concurrentWork;
  }
  bool operator!=(const Quota& o) const { return !(*this == o); }
};

struct TenantInfo {
  uint64_t id = 0;
  std::string name;
  TenantKind kind = TenantKind::Tenant;
  uint64_t provider = 0;  // 0 = none
  int64_t createdAt = 0;  // microseconds since the epoch
  Quota quota;
};

struct FieldDef {
  std::string name;
  FieldType type = FieldType::Text;
  bool required = false;
  bool indexed = false;
  // At most one record holds each value (nulls aside); a write giving a second record the
  // value fails with Conflict. Implies indexed. Reach records by it with getRecordBy etc.
  bool unique = false;
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
  bool read = false;    // getRecord, getRecords, searchRecords
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
  bool crossTenant = false;  // may have members from other tenants (docs/SHARING.md)
  std::vector<RoleMember> members;
};

// ---- Data-sharing policies (docs/SHARING.md) ---------------------------------------------

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
  std::string direction;      // "in": calls of other tenants into the log's tenant; "out":
                              // calls its users made into other tenants; "" = every entry
};

struct ApiCount {
  std::string api;
  uint64_t calls = 0;
};

// Metering of one tenant: usage is counted per tenant, the unit that is billed.
struct UsageInfo {
  uint64_t tenantId = 0;
  uint64_t records = 0;             // records stored
  uint64_t bytes = 0;               // bytes of records stored (encoded)
  std::vector<ApiCount> calls;      // calls made by the tenant's users, by API
  uint64_t servedToOthers = 0;      // calls of other tenants served through its policies
  uint64_t consumedFromOthers = 0;  // calls its users made into other tenants
  Quota quota;                      // the limits these figures are held to
};

// ---- Permission sets (docs/PERMISSIONS.md) and explain / simulate --------------------------

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

// ---- Checking the store (docs/OPERATIONS.md, "Checking a store") ----------------------------

struct COTENANT_EXPORT StoreCheckProblem {
  std::string kind;     // "index-missing", "index-extra", "orphan-key", "sequence-behind", ...
  uint64_t tenant = 0;  // the tenant it concerns (0 = installation-wide)
  std::string key;      // the key, printable
  std::string what;     // what is wrong
};

struct COTENANT_EXPORT StoreCheckReport {
  bool clean = false;
  std::vector<std::pair<std::string, uint64_t>> checked;  // kind of item -> how many
  std::vector<uint64_t> pendingDeletions;  // tenants whose interrupted deletion is unfinished
  uint64_t problemCount = 0;               // every problem found
  std::vector<StoreCheckProblem> problems; // the first maxProblems of them
};

// ---- Backups (docs/OPERATIONS.md, "Backups") -------------------------------------------

struct COTENANT_EXPORT BackupInfo {
  uint32_t id = 0;            // 1, 2, ... within its directory
  int64_t createdAt = 0;      // seconds since the epoch
  uint64_t sizeBytes = 0;     // of every file the backup needs, shared ones included
  uint32_t files = 0;         // how many files it needs
  uint64_t copiedBytes = 0;   // written into the directory by this backup
  uint32_t kept = 0;          // backups in the directory afterwards
};

// ---- Tenant dump and restore (docs/CLI.md, "Moving a tenant") ---------------------------

// One page of a tenant's records as stored (Client::readTenantRecords).
struct COTENANT_EXPORT TenantRecordPage {
  std::vector<Record> records;  // in id order, every declared field present
  bool complete = true;         // no record follows the last one
};

// A record to write back with its original id, version, authors and times
// (Client::restoreTenantRecords). createdBy/modifiedBy are user ids of the target tenant.
struct COTENANT_EXPORT RestoredRecord {
  uint64_t id = 0;
  uint64_t version = 1;
  uint64_t createdBy = 0;
  int64_t createdAt = 0;   // microseconds since the epoch
  uint64_t modifiedBy = 0;
  int64_t modifiedAt = 0;  // microseconds since the epoch
  Parameters fields;       // every field to set (addNull for a null one)
};
}  // namespace cotenant

#endif  // COTENANT_ADMIN_H_
