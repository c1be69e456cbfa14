// The store checker: verifies, on one consistent snapshot, what the key layout promises
// (docs/OPERATIONS.md, "Checking a store", lists every check).
//
// - every index entry names an existing record whose indexed field has that value, and
//   every record has exactly the index entries its indexed fields call for; every value
//   of a unique field is held by one record, whose unique-value entry points at it;
// - every record decodes against its object's definition, and every key of a tenant
//   names a declared object;
// - the per-tenant record and byte counters (online only: they live in memory) equal
//   what the records add up to;
// - no key belongs to a deleted tenant or to no tenant at all, and no catalog entry
//   (users, API keys, memberships, policies and their lookup entries) names one;
// - every id sequence (tenants, users, API keys, roles, records of each tenant) is
//   ahead of every id in use.
//
// Thread safety: CheckDataDirectory opens its own engine; Store::Check may run while the
// store serves writes (it reads one snapshot).

#ifndef COTENANT_STORAGE_FSCK_H_
#define COTENANT_STORAGE_FSCK_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/status.h"
#include "storage/storage.h"

namespace cotenant::storage {

struct CheckProblem {
  std::string kind;    // e.g. "index-missing", "orphan-key" (docs/OPERATIONS.md lists them)
  TenantId tenant = 0;
  std::string key;     // printable: "indexes:T/O/..." with bytes outside ASCII as \xNN
  std::string what;    // what is wrong, in words
};

struct CheckReport {
  // How many of each kind of item were checked ("tenants", "records", "index entries",
  // "meta keys", "audit entries", "sequences", "usage counters", ...).
  std::map<std::string, uint64_t> checked;
  // Tenants whose deletion a crash interrupted: their keys are left for the next open of
  // the store to drop, and are not problems.
  std::vector<TenantId> pending_deletions;
  std::vector<CheckProblem> problems;  // the first CheckOptions::max_problems found
  uint64_t problem_count = 0;          // all problems found, listed or not
  bool clean() const { return problem_count == 0; }
};

struct CheckOptions {
  size_t max_problems = 100;
};

// Checks the data directory of a store that no process has open. Busy (naming the
// remedy) when a running server holds the directory's lock; NotFound when the path holds
// no store. The directory is opened read-only: nothing in it is written.
Status CheckDataDirectory(const std::string& path, const CheckOptions& options,
                          CheckReport* report);

// Checks the store that the PostgreSQL engine keeps at connection URI `storage` (see
// StoreOptions::storage), in one snapshot, while no server serves it: Busy (naming the
// remedy) while one does. Nothing is written.
Status CheckPostgresStore(const std::string& storage, const CheckOptions& options,
                          CheckReport* report);

// The report as indented text (one line per count, one per problem).
std::string CheckReportText(const CheckReport& report);
// The report as one JSON object: {"clean", "checked", "pendingDeletions", "problemCount",
// "problems": [{"kind", "tenant", "key", "what"}]}.
std::string CheckReportJson(const CheckReport& report);

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_FSCK_H_
