// The reference model of DESIGN.md "Deciding a request", as the randomized model test
// (model_test.cc) uses it: the world it knows (tenants, roles, policies, records, users),
// the path and rights it predicts for one caller against one tenant, and the code a record
// call must answer, under the real rules or a deliberately wrong reading of them (Variant).
// Nothing here needs a server: another test can fill a ReferenceModel and compare it with
// an in-process decision function.

#ifndef COTENANT_TESTS_REFERENCE_MODEL_H_
#define COTENANT_TESTS_REFERENCE_MODEL_H_

#include <cotenant/client.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace cotenant::testing {

constexpr uint8_t kRead = 1, kAdd = 2, kUpdate = 4, kDelete = 8, kAll = 15;

inline const std::vector<std::string> kObjects = {"A", "B", "C"};

int64_t NowMicros();

Rights ToRights(uint8_t m);
std::string MaskName(uint8_t m);

// ---- The world -----------------------------------------------------------------------------

// The client handles (MUser::client, MTenant::admin) are the end-to-end test's; the model
// never uses them, so they stay empty when no server is involved.

struct MRole {
  std::map<std::string, uint8_t> rights;  // object or "*" -> mask
  bool cross = false;
  std::map<uint64_t, uint64_t> members;   // user -> home tenant
};

struct MPolicy {
  uint64_t designated = 0;  // 0 for a global policy
  bool global = false;
  uint64_t user = 0;
  std::vector<ObjectScope> scope;  // empty = every object
  int64_t expiresAt = 0;
  bool Expired(int64_t now) const { return expiresAt != 0 && expiresAt <= now; }
};

struct MRecord {
  std::string label;
  bool has_note = false;
};

struct MUser {
  bool deleted = false;  // its session must fail every later call (Unauthenticated)
  uint64_t id = 0;
  uint64_t tenant = 0;
  size_t tenant_idx = 0;
  std::unique_ptr<Client> client;
};

struct MTenant {
  uint64_t id = 0;
  TenantKind kind = TenantKind::Tenant;
  uint64_t provider = 0;
  std::set<std::string> objects;
  std::vector<size_t> users;  // indices into the world's users (deleted ones too)
  uint64_t admin_id = 0;
  std::unique_ptr<Client> admin;
  std::map<std::string, MRole> roles;
  std::map<std::string, MPolicy> policies;
  std::map<std::string, std::map<uint64_t, MRecord>> records;  // object -> id -> record
};

// ---- Decisions -----------------------------------------------------------------------------

enum class MPath { kOwn, kCrossRole, kPolicy, kGlobal, kDenied };

const char* PathName(MPath p);

// Deliberately wrong readings of the rules (see Candidates); all false = the real model.
struct Variant {
  bool fallthrough = false;            // a path lacking the right falls back to the next
  bool star_overrides = false;         // "*" adds to objects a role names
  bool no_scope = false;               // policy scope ignored
  bool expired_blocks = false;         // an expired specific policy denies (not skipped)
  bool cross_ignores_setting = false;  // cross-tenant roles count with the setting off
  bool direct_only = false;            // an ISV does not manage its MSPs' tenants
};

// The model's resolution of one caller against one tenant.
struct MAccess {
  MPath path = MPath::kDenied;
  uint64_t principal = 0;
  std::string policy;
  bool scoped = false;
  std::map<std::string, std::vector<std::string>> scope;  // object -> allow-list ("" = all)
  std::vector<const MRole*> roles;
  std::vector<std::string> role_names;
  bool star_overrides = false;  // a Variant only

  uint8_t RightsOn(const std::string& object) const {
    if (path == MPath::kDenied) return 0;
    if (scoped && scope.find(object) == scope.end()) return 0;
    uint8_t m = 0;
    for (const MRole* r : roles) {
      auto it = r->rights.find(object);
      auto star = r->rights.find("*");
      if (it != r->rights.end()) {
        m |= it->second;
        if (star_overrides && star != r->rights.end()) m |= star->second;
      } else if (star != r->rights.end()) {
        m |= star->second;
      }
    }
    return m;
  }
  // Whether field `f` of `object` is visible (only allow-lists hide fields).
  bool FieldVisible(const std::string& object, const std::string& f) const {
    if (!scoped) return true;
    auto it = scope.find(object);
    if (it == scope.end() || it->second.empty()) return true;
    return std::find(it->second.begin(), it->second.end(), f) != it->second.end();
  }
  std::string Describe() const;
};

enum class Op { kGet, kSearch, kAdd, kUpdate, kDelete };

const char* OpName(Op op);
uint8_t RightOf(Op op);

// The deliberately wrong readings the model test measures, by name.
const std::vector<std::pair<std::string, Variant>>& Variants();

// The model: the world, and its predictions for it.
class ReferenceModel {
 public:
  std::vector<MTenant> tenants;
  std::set<uint64_t> deleted_users;  // their sessions fail; policies naming them admit nobody
  bool cross_tenant_roles = false;   // the setting crossTenantRoles

  size_t Index(uint64_t tenant) const;  // tenants.size() when unknown
  MTenant* Find(uint64_t tenant);       // nullptr when unknown
  // Whether `provider` manages `tenant` (directly, or an ISV through one of its MSPs).
  bool Manages(uint64_t provider, uint64_t tenant);
  // Appends the roles of t that `user` belongs to (only cross-tenant ones if cross_only).
  void AddRolesOf(MTenant& t, uint64_t user, bool cross_only, MAccess* a);
  // The paths that apply to (caller, target), in resolution order.
  std::vector<MAccess> Candidates(uint64_t caller_tenant, uint64_t caller, uint64_t target,
                                  const Variant& v);
  // The path that decides (the first candidate), or denied.
  MAccess Resolve(uint64_t caller_tenant, uint64_t caller, uint64_t target,
                  const Variant& v = Variant());
  // The code a record call must answer under variant `v`.
  ErrorCode Expected(const MUser& u, uint64_t target, Op kind, const std::string& object,
                     uint64_t rid, const Variant& v);
};

}  // namespace cotenant::testing

#endif  // COTENANT_TESTS_REFERENCE_MODEL_H_
