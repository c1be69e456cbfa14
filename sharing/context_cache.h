// ContextCache: resolved TenantContexts, in process and (optionally) in memcached.
//
// A resolved context depends on metadata of up to three scopes: the whole installation
// (settings, tenant deletions), the tenant whose data is reached (its policies, roles,
// users, memberships) and the caller's tenant. Each scope has a generation that every
// change bumps *before the changing call returns*. An entry is stamped with the
// generations read *before* the resolution read the store, and is served only while its
// stamp equals the current generations. So once a revoking call has returned, no later
// lookup can return an entry resolved with the old rights, even one that a concurrent
// resolution wrote back afterwards (its stamp is old).
//
// Entries of the memcached tier carry a magic, the store id, the full key (both tenants
// and the user), the stamp, and a keyed MAC (HMAC-SHA256 under the installation secret,
// which memcached never sees) over the memcached key and everything else in the entry.
// Whoever can write to memcached can therefore not make an entry this cache serves: a
// forged entry, one copied to another key, or one stamped for a generation it was not
// resolved at fails the MAC; an old genuine entry fails the stamp. Anything that does not
// verify is rejected and counted, never served. memcached being down, slow or returning
// garbage only costs a miss.
//
// Thread safety: all methods are safe from any thread. The local tier never blocks on
// I/O (safe on the event loop); the remote tier does (call it from a worker thread).

#ifndef COTENANT_SHARING_CONTEXT_CACHE_H_
#define COTENANT_SHARING_CONTEXT_CACHE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/mac.h"
#include "common/status.h"

namespace cotenant::sharing {

struct ContextKey {
  uint64_t caller_tenant = 0;
  uint64_t caller_user = 0;
  uint64_t target_tenant = 0;
  friend bool operator==(const ContextKey&, const ContextKey&) = default;
};

struct ContextKeyHash {
  size_t operator()(const ContextKey& k) const {
    uint64_t h = k.caller_tenant * 0x9E3779B97F4A7C15ULL;
    h ^= k.caller_user + 0x7F4A7C159E3779B9ULL + (h << 6) + (h >> 2);
    h ^= k.target_tenant + 0x94D049BB133111EBULL + (h << 6) + (h >> 2);
    return static_cast<size_t>(h);
  }
};

struct Stamp {
  uint64_t global = 0;  // installation-wide generation
  uint64_t target = 0;  // generation of the tenant whose data is reached
  uint64_t caller = 0;  // generation of the caller's tenant
  friend bool operator==(const Stamp&, const Stamp&) = default;
};

struct CacheOptions {
  // "host:port[,host:port...]"; empty = no memcached tier.
  std::string memcached_servers;
  // Identifies the store, so entries of another installation sharing the memcached are
  // never taken for ours.
  std::string store_id;
  size_t local_capacity = 100000;   // entries in the in-process tier
  int memcached_timeout_ms = 50;    // connect / send / receive timeout per operation
  int memcached_retry_ms = 1000;    // how long a failed server is skipped
  uint32_t memcached_ttl_s = 3600;  // expiry of memcached entries
  // Key of the MAC that authenticates memcached entries: the installation secret, the same
  // in every front-end sharing the memcached. Empty = no memcached tier (its entries could
  // not be authenticated).
  std::string secret;
};

struct CacheCounters {
  uint64_t local_hits = 0;
  uint64_t remote_hits = 0;
  uint64_t misses = 0;            // neither tier had a valid entry
  uint64_t stale_rejected = 0;    // an entry with an old stamp (either tier)
  uint64_t corrupt_rejected = 0;  // a memcached value that is not an entry of this format
  uint64_t mac_rejected = 0;      // a memcached entry whose MAC did not verify (forged)
  uint64_t remote_errors = 0;     // memcached operations that failed or timed out
};

// The cached value of the local tier: whatever the sharing layer resolved (opaque here).
using CachedValue = std::shared_ptr<const void>;

class ContextCache {
 public:
  explicit ContextCache(const CacheOptions& options);
  ~ContextCache();

  ContextCache(const ContextCache&) = delete;
  ContextCache& operator=(const ContextCache&) = delete;

  bool has_remote() const;

  // Local tier. Returns the value when an entry with exactly `current` exists; a stale
  // entry is dropped and counted. `expires_at` of the entry (micros, 0 = never) <= now
  // also counts as stale. Never blocks on I/O.
  CachedValue GetLocal(const ContextKey& key, const Stamp& current, int64_t now_micros);
  void PutLocal(const ContextKey& key, const Stamp& stamp, int64_t expires_at,
                CachedValue value);

  // Remote tier (blocking). Returns the serialized bytes of a verified entry with exactly
  // `current`; nullopt on a miss, a stale or corrupt entry, or an error (all counted).
  std::optional<std::string> GetRemote(const ContextKey& key, const Stamp& current,
                                       int64_t now_micros);
  void PutRemote(const ContextKey& key, const Stamp& stamp, int64_t expires_at,
                 const std::string& bytes);

  // Counts a lookup that found nothing in either tier.
  void CountMiss();

  // Drops every local entry (e.g. after a tenant is deleted). Remote entries become
  // unreachable through their stamps.
  void ClearLocal();

  CacheCounters counters() const;

 private:
  class Remote;
  struct Entry {
    Stamp stamp;
    int64_t expires_at;
    CachedValue value;
  };
  // Logs a MAC rejection, at most one line per interval (forgeries can come in floods).
  void NoteMacRejected(const std::string& memcached_key);

  CacheOptions options_;
  Mac mac_;
  std::string remote_prefix_;  // "ctc:<store id or its hash>:", start of every memcached key
  std::unique_ptr<Remote> remote_;
  mutable std::mutex mu_;
  std::unordered_map<ContextKey, Entry, ContextKeyHash> local_;  // guarded by mu_
  uint64_t evict_rng_ = 0x2545F4914F6CDD1DULL;  // xorshift state for eviction; guarded by mu_
  std::atomic<uint64_t> local_hits_{0}, remote_hits_{0}, misses_{0}, stale_{0}, corrupt_{0},
      errors_{0}, mac_rejected_{0};
  std::atomic<int64_t> mac_logged_at_{0};   // steady micros of the last log line
  std::atomic<uint64_t> mac_logged_{0};     // mac_rejected_ when it was written
};

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_CONTEXT_CACHE_H_
