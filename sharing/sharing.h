// Sharing: roles, data-sharing policies, settings, and TenantContext resolution.
//
// A record call of user u (home tenant c) acts on tenant t (c itself, or the tenant a
// TenantContext names). Resolve() finds the principal and its rights in the order of
// docs/SHARING.md:
//   t == c     the caller itself, with its roles in c;
//   (a)        u is a member of a cross-tenant role of t (setting crossTenantRoles on):
//              principal u with those roles only, no policy scope;
//   (b)        t has a live, unexpired policy designating c: the policy's user, with its
//              roles in t, within the policy's scope;
//   (c)        t has an unexpired global policy and manages c (directly, or an ISV
//              through one of its MSPs): the global policy's user, within its scope;
//   otherwise  PermissionDenied "no data-sharing policy of tenant t admits tenant c",
//              the same for a tenant that does not exist.
// The first path that applies decides (only an expired policy is skipped).
//
// Metadata lives in the meta column family (values JSON):
//   tenant T  "role/<name>"                  -> role (id, rights, crossTenant)
//   tenant T  "member/<16 hex user>/<role>"  -> {"tenant": member's home tenant}
//   tenant T  "policy/<name>"                -> policy
//   tenant T  "policyfor/<16 hex tenant>"    -> policy name (one per designated tenant)
//   tenant T  "policyglobal"                 -> policy name
//   tenant T  "gen"                          -> generation of T's sharing metadata
//   global    "designated/<16 hex c>/<16 hex p>" -> policy name (the "designating" view)
//   global    "setting/<name>"               -> value
//   global    "gen"                          -> installation-wide generation
//
// Every change bumps the generation of the tenant it touches (and the global one for
// settings and tenant deletions) in the same atomic batch, and in memory before the call
// returns; resolved contexts are cached with the generations read before resolving
// (sharing/context_cache.h), which makes revocation exact.
//
// Thread safety: a Sharing is safe for concurrent use. Changes are serialised.

#ifndef COTENANT_SHARING_SHARING_H_
#define COTENANT_SHARING_SHARING_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/env.h"
#include "sharing/context_cache.h"
#include "sharing/identity.h"
#include "storage/criteria.h"
#include "common/status.h"
#include "storage/storage.h"

namespace cotenant::sharing {

// Record rights a role grants on an object.
enum Right : uint8_t { kRead = 1, kAdd = 2, kUpdate = 4, kDelete = 8 };
inline constexpr uint8_t kAllRights = kRead | kAdd | kUpdate | kDelete;
std::string RightsToString(uint8_t rights);  // "read,add" ("none" for 0)
std::string_view RightVerb(Right r);         // "GET", "POST", "PUT", "DELETE"
std::string_view RightName(Right r);         // "read", "add", "update", "delete"

// Per object name ("*" = every object the role does not name) a mask of Right.
using RightsMap = std::map<std::string, uint8_t, std::less<>>;

struct RoleMember {
  TenantId tenant = 0;
  UserId user = 0;
};

struct Role {
  uint64_t id = 0;
  TenantId tenant = 0;
  std::string name;
  RightsMap rights;
  bool cross_tenant = false;
  std::vector<RoleMember> members;
};

struct ObjectScope {
  std::string object;
  std::string row_filter;           // criteria; empty = every row
  std::vector<std::string> fields;  // allow-list; empty = every field
};

struct Policy {
  TenantId publisher = 0;
  std::string name;
  TenantId designated = 0;  // 0 for a global policy
  bool global = false;
  UserId user = 0;
  std::vector<ObjectScope> scope;  // empty = every object
  int64_t expires_at = 0;          // micros; 0 = never
  int64_t created_at = 0;
  int64_t modified_at = 0;
  // The designated tenant did not exist when the policy was created. Such a policy is
  // accepted like any other (so a publisher cannot probe tenant ids) but never admits
  // anyone, also not a tenant created later under that id. Never shown to clients.
  bool dormant = false;
};

// What the designated side sees in place of a publisher's row filter (never valid
// criteria, so it cannot be mistaken for a filter and saved back).
inline constexpr std::string_view kHiddenRowFilter = "<hidden by the publisher>";

enum class Path : unsigned char { kOwn, kCrossTenantRole, kPolicy, kGlobalPolicy, kDenied };
std::string_view PathName(Path p);

// The resolved access of one caller to one tenant: immutable once built, shared by the
// calls that use it (compiled row filters are built lazily and kept).
class Access {
 public:
  TenantId caller_tenant = 0;
  UserId caller = 0;
  TenantId target = 0;
  Path path = Path::kDenied;
  UserId principal = 0;
  std::string policy;          // the policy's name on the policy paths
  std::string denial;          // kDenied: the message
  int64_t expires_at = 0;      // micros; 0 = never (a policy's expiry)
  RightsMap rights;            // effective rights of the principal (union of its roles)
  bool scoped = false;         // the policy lists objects
  std::map<std::string, ObjectScope, std::less<>> scope;

  bool cross_tenant() const { return target != caller_tenant; }
  // The rights of the principal on `object`, intersected with the scope.
  uint8_t RightsOn(std::string_view object) const;
  // OK when the principal may `right` the object; else PermissionDenied naming what
  // was missing ("Access Denied: user 12 may not DELETE records/Customers in tenant 7:
  // ...").
  Status Check(std::string_view object, Right right) const;
  // The storage scope of `def` for this principal (row filter, visible fields); null
  // when nothing restricts it. Compiled once per object and kept; the pointer shares
  // ownership of the compiled filter, so it stays valid however long the caller keeps it.
  Status ScopeFor(const storage::ObjectDef& def,
                  std::shared_ptr<const storage::RecordScope>* out) const;
  // "own", "policy share-xyz as user 12", ... (audit detail).
  std::string Describe() const;

  std::string Serialize() const;
  static Status Deserialize(std::string_view bytes, Access* out);

 private:
  struct Compiled {
    std::unique_ptr<storage::criteria::BoundExpr> filter;
    storage::RecordScope scope;
    Status status;
  };
  mutable std::mutex compiled_mu_;
  mutable std::unordered_map<uint32_t, std::shared_ptr<Compiled>> compiled_;
};

class Sharing {
 public:
  // REQUIRES: store, identity, cache and clock outlive the Sharing. Policy expiry and
  // policy timestamps read `clock`.
  Sharing(storage::Store* store, Identity* identity, ContextCache* cache,
          const Clock* clock = SystemClock());

  // ---- Roles (tenant admins of the tenant, or system admins; checked by the caller) --
  Status CreateRole(TenantId tenant, const std::string& name, const RightsMap& rights,
                    bool cross_tenant, Role* out);
  Status UpdateRole(TenantId tenant, const std::string& name, const RightsMap& rights,
                    bool cross_tenant, Role* out);
  Status DeleteRole(TenantId tenant, const std::string& name);
  Status ListRoles(TenantId tenant, std::vector<Role>* out);
  // A member of another tenant needs a cross-tenant role and the setting on.
  Status AddMember(TenantId tenant, const std::string& role, TenantId member_tenant,
                   UserId user);
  Status RemoveMember(TenantId tenant, const std::string& role, TenantId member_tenant,
                      UserId user);

  // ---- Policies -------------------------------------------------------------------
  Status CreatePolicy(TenantId publisher, const Policy& policy, Policy* out);
  Status UpdatePolicy(TenantId publisher, const Policy& policy, Policy* out);
  Status DeletePolicy(TenantId publisher, const std::string& name);
  // Who can reach `publisher`'s data.
  Status ListPublishedBy(TenantId publisher, std::vector<Policy>* out);
  // Whose data `tenant` can reach: policies designating it and global policies of its
  // providers (expired ones included, marked by expires_at). A row filter shows as
  // kHiddenRowFilter: only the publisher sees its text.
  Status ListDesignating(TenantId tenant, std::vector<Policy>* out);

  // ---- Settings (system admins) ---------------------------------------------------
  Status SetSetting(const std::string& name, const std::string& value);
  std::vector<std::pair<std::string, std::string>> ListSettings();
  bool CrossTenantRolesEnabled();

  // ---- Hooks for changes made elsewhere ---------------------------------------------
  // A user or key of `tenant` changed (deleted, revoked): bump its generation.
  Status OnIdentityChanged(TenantId tenant);
  // A user was deleted: drop its memberships (in every tenant) and bump generations.
  Status OnUserDeleted(TenantId tenant, UserId user);
  // A tenant was deleted: drop policies that designate it, bump the global generation.
  Status OnTenantDeleted(TenantId tenant);

  // ---- Resolution -----------------------------------------------------------------
  // The in-process cache only: memory, no I/O (a tenant's generation not yet loaded
  // is read from the store once). nullptr when it has nothing current.
  std::shared_ptr<const Access> LookupCached(TenantId caller_tenant, UserId caller,
                                             TenantId target);
  // Full resolution: cache tiers, then the store. May block (memcached, disk): call off
  // the event loop. *out is never null on OK; a denial is an Access with path kDenied.
  Status Resolve(TenantId caller_tenant, UserId caller, TenantId target,
                 std::shared_ptr<const Access>* out);

  // Resolution as if `draft` (a policy of `target`, not saved) were in place of the one
  // it would replace; never cached. InvalidArgument when the draft is not a valid policy.
  Status ResolveDraft(TenantId caller_tenant, UserId caller, TenantId target, const Policy& draft,
                      std::shared_ptr<const Access>* out);

  ContextCache* cache() { return cache_; }

  // ---- Several front-ends of one store ------------------------------------------------
  // The stored generation of `tenant` (its "gen" metadata, nullopt = never bumped), as
  // read by the caller from the store: when it is ahead of what this process knew,
  // what the process keeps of the tenant is dropped or read again (users and keys,
  // the catalog; the tenant list for the installation-wide generation) before the new
  // generation is published. Returns the generation now known.
  uint64_t Observe(TenantId tenant, const std::optional<std::string>& stored);
  // The generation a stored "gen" value stands for.
  static uint64_t GenerationOf(const std::optional<std::string>& stored);
  // A tenant's settings kept outside sharing changed (its quota): bump its generation,
  // so every front-end reads the tenant again; kGlobalTenant: the tenant list changed.
  Status OnTenantChanged(TenantId tenant);

 private:
  Stamp CurrentStamp(TenantId caller_tenant, TenantId target);
  uint64_t Generation(TenantId tenant);
  // Adds generation bumps of `tenants` (and the global one if asked) to `batch`, writes
  // it, then publishes the new generations. REQUIRES: change_mu_ held.
  Status Commit(storage::Store::MetaBatch* batch, std::vector<TenantId> tenants,
                bool global);
  Status ResolveFromStore(TenantId caller_tenant, UserId caller, TenantId target,
                          Access* out, const Policy* draft = nullptr);
  Status RolesOf(TenantId tenant, UserId user, bool cross_tenant_only, RightsMap* rights,
                 bool* any);
  Status LoadPolicy(TenantId publisher, const std::string& name, Policy* out);
  Status ValidatePolicy(TenantId publisher, const Policy& p);
  Status ManagedBy(TenantId tenant, TenantId provider, bool* managed);
  Status LoadRole(TenantId tenant, const std::string& name, Role* out);

  storage::Store* const store_;
  Identity* const identity_;
  ContextCache* const cache_;
  const Clock* const clock_;
  std::mutex change_mu_;  // serialises every change of sharing metadata
  std::shared_mutex gen_mu_;
  std::unordered_map<TenantId, uint64_t> gens_;  // guarded by gen_mu_; 0 = not loaded
};

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_SHARING_H_
