// The checker's entry point over any engine snapshot, shared by CheckDataDirectory and
// Store::Check (storage/fsck.cc) and by storage/ tests. Internal to storage/.

#ifndef COTENANT_STORAGE_FSCK_INTERNAL_H_
#define COTENANT_STORAGE_FSCK_INTERNAL_H_

#include <map>

#include "storage/fsck.h"
#include "storage/kv.h"

namespace cotenant::storage {

// A tenant's record and byte counters as the running store keeps them.
struct LiveUsage {
  int64_t records = 0;
  int64_t bytes = 0;
};

// Checks `snapshot` of `kv`. live_usage: the counters to compare with the records
// (nullptr offline, where none are kept).
Status CheckSnapshot(const KvEngine& kv, const KvSnapshot* snapshot,
                     const std::map<TenantId, LiveUsage>* live_usage, const CheckOptions& options,
                     CheckReport* report);

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_FSCK_INTERNAL_H_
