// Permission sets: API-level allow/deny rules, matched with RE2 (docs/PERMISSIONS.md).
//
// A permission set has a name, a scope (`user`: applies to its listed users; `system`:
// applies to every user), the tenants it applies to (a list, or all), and ordered
// policies {effect, resourceTypeRegex, apiNameRegex, methodRegex}. A request is
// (user, tenant touched, resource type, API name, method class):
//   resource types  records/<Object>, admin/<thing> (tenants, objects, users, keys, roles,
//                   policies, permissionsets, settings, audit, usage)
//   API names       the schema's method names: getRecord, addRecord, createPolicy, ...
//   methods         GET (reads), POST (adds, creates), PUT (updates), DELETE (deletes)
// Every regex must match the whole string (RE2 full match, like ^...$).
//
// Evaluation: sets that apply to the user and the tenant are considered; if any policy of
// them with effect deny matches, the request is denied (the first in set-name order,
// then policy order, is named); else if one with effect allow matches it is allowed;
// else it is denied (default deny). A fresh installation has the system-wide set
// "allow-all" (scope system, all tenants, allow .* .* .*), so nothing breaks until an
// administrator narrows it.
//
// All patterns of all sets are matched together with one RE2::Set per request field,
// compiled once per change; evaluation reads an immutable snapshot, swapped atomically
// by every change before the changing call returns.
//
// Thread safety: safe for concurrent use; changes are serialised.

#ifndef COTENANT_SHARING_PERMISSION_SETS_H_
#define COTENANT_SHARING_PERMISSION_SETS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/key_encoding.h"
#include "storage/storage.h"

namespace cotenant::sharing {

enum class Effect : unsigned char { kAllow = 0, kDeny = 1 };

struct PermissionPolicy {
  Effect effect = Effect::kAllow;
  std::string resource_type;  // regex
  std::string api_name;       // regex
  std::string method;         // regex
};

struct PermissionSet {
  std::string name;
  bool system_scope = false;              // true: every user; false: `users` only
  bool all_tenants = true;                // false: `tenants` only
  std::vector<storage::TenantId> tenants;
  std::vector<storage::UserId> users;
  std::vector<PermissionPolicy> policies;  // in order; numbered from 1 in messages
};

struct AccessRequest {
  storage::UserId user = 0;
  storage::TenantId tenant = 0;  // the tenant the call touches
  std::string resource_type;     // "records/Customers", "admin/policies"
  std::string api;               // "deleteRecord"
  std::string method;            // "DELETE"
};

struct PermissionDecision {
  bool allowed = false;
  std::string set;   // the deciding set ("" when nothing matched: default deny)
  int policy = 0;    // 1-based index of the deciding policy in its set; 0 = none
  // Every set considered (applies to the user and tenant), and for each the policies
  // that matched, for explain.
  struct Considered {
    std::string set;
    std::vector<int> matched_allow;
    std::vector<int> matched_deny;
  };
  std::vector<Considered> considered;
  // "denied by permission set 'no-deletes' policy 2", "allowed by ...", or
  // "no permission set allows it".
  std::string Reason() const;
};

class PermissionSets {
 public:
  // Loads every set from the store; creates "allow-all" on a fresh installation.
  // REQUIRES: store outlives this object.
  static Status Open(storage::Store* store, std::unique_ptr<PermissionSets>* out);

  // Several front-ends of one store: the metadata key that versions the sets (every
  // change bumps it), and what a front-end does with its stored value: when it is ahead
  // of the sets this process holds, they are read again before it returns.
  static constexpr std::string_view kGenKey = "pset-gen";
  Status Observe(const std::optional<std::string>& stored);

  // Validates (names, regexes with RE2's reason, users and tenants exist is the caller's
  // job), persists and publishes. Conflict for a taken name.
  Status Create(const PermissionSet& set);
  Status Update(const PermissionSet& set);  // NotFound when absent
  Status Delete(const std::string& name);   // NotFound when absent
  std::vector<PermissionSet> List() const;

  // Checks a set without saving it: names, regexes (InvalidArgument naming the pattern,
  // the field, the policy number and RE2's reason).
  static Status Validate(const PermissionSet& set);

  // With `trace`, fills PermissionDecision::considered (explain); the hot path leaves it
  // empty.
  PermissionDecision Evaluate(const AccessRequest& request, bool trace = false) const;
  // Evaluates against a draft: `draft` replaces the set of the same name (or is added);
  // with `remove`, the set of that name is taken away instead.
  Status Simulate(const AccessRequest& request, const PermissionSet& draft, bool remove,
                  PermissionDecision* out) const;

 private:
  class Compiled;
  explicit PermissionSets(storage::Store* store) : store_(store) {}
  Status Publish(std::vector<PermissionSet> sets);
  Status ReadAll(std::vector<PermissionSet>* sets) const;
  static uint64_t GenOf(const std::optional<std::string>& stored) {
    return stored && stored->size() == 8 ? storage::DecodeU64(stored->data()) : 0;
  }
  Status Change(const std::function<Status(std::vector<PermissionSet>*)>& edit,
                const storage::Store::MetaBatch& batch);

  storage::Store* const store_;
  std::mutex change_mu_;
  std::shared_ptr<const Compiled> compiled_;  // atomic_load / atomic_store
  std::atomic<uint64_t> loaded_gen_{0};        // the pset-gen the published sets are at
};

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_PERMISSION_SETS_H_
