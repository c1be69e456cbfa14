// AuditLog: who did what, through which context, with what outcome, per tenant.
//
// Every call made through a TenantContext (allowed or denied) is written to the audit
// log of the publishing tenant and of the calling tenant; administrative changes to the
// log of the tenant they change. Entries are queued without blocking the caller and
// written in batches by a background thread every flush interval (and at shutdown and
// before every query), so a query always sees every entry recorded before it. A crash
// of the process can lose at most the last interval's entries.
//
// Thread safety: safe from any thread.

#ifndef COTENANT_SHARING_AUDIT_H_
#define COTENANT_SHARING_AUDIT_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"
#include "storage/storage.h"

namespace cotenant::sharing {

struct AuditRecord {
  int64_t time = 0;
  storage::TenantId caller_tenant = 0;
  storage::UserId caller_user = 0;
  storage::UserId principal = 0;
  storage::TenantId target_tenant = 0;
  std::string api;
  std::string object;
  uint64_t record_id = 0;
  std::string outcome;  // "OK" or a Status code name
  std::string detail;
};

// Which calls of a tenant's log: all, those of other tenants into it, or those its users
// made into other tenants.
enum class AuditDirection { kAny, kIn, kOut };

struct AuditFilter {
  int64_t from = 0;                   // inclusive
  int64_t to = 0;                     // exclusive; 0 = now + 1
  storage::TenantId caller_tenant = 0;  // 0 = any
  std::string outcome;                // "" = any
  AuditDirection direction = AuditDirection::kAny;
  size_t limit = 1000;                // the newest `limit` matches, oldest first
};

class AuditLog {
 public:
  // REQUIRES: store outlives the log.
  AuditLog(storage::Store* store, int flush_interval_ms = 5);
  ~AuditLog();  // flushes

  // Queues `r` for the logs of `tenant` and, when non-zero and different, `other`.
  void Record(const AuditRecord& r, storage::TenantId tenant, storage::TenantId other = 0);
  // Writes everything queued so far.
  Status Flush();
  Status Query(storage::TenantId tenant, const AuditFilter& filter, std::vector<AuditRecord>* out);

  static std::string Encode(const AuditRecord& r);
  static bool Decode(std::string_view text, AuditRecord* r);

 private:
  storage::Store* const store_;
  const int interval_ms_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Entries are encoded by the writer, not by the caller (often the RPC event loop).
  struct Queued {
    AuditRecord record;
    storage::TenantId tenant;
    storage::TenantId other;
  };
  std::vector<Queued> queue_;
  bool stopping_ = false;
  std::mutex flush_mu_;  // one writer at a time, so entries land in queue order
  std::thread writer_;
};

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_AUDIT_H_
