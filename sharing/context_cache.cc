// ContextCache: the contract is in context_cache.h. Notes on the implementation:
//
// Local tier: one unordered_map under mu_. When it is full, a new key evicts one entry
// picked at random (a random bucket, its first entry): O(1), no per-entry bookkeeping,
// and unlike erasing begin() it does not always evict the newest entry. An entry is
// dropped as soon as a lookup finds it stale or expired.
//
// Remote tier (memcached, ASCII protocol, through libmemcached):
// - A memcached_st is not thread-safe. Remote keeps a small set of clones of a
//   configured "master" handle under a mutex; a call leases one, and waits at most
//   memcached_timeout_ms for one to come free. A clone whose operation failed is freed
//   instead of returned, so a connection left half-way through a response (after a
//   timeout) is never reused; a fresh clone is made from the master on demand.
// - Each server has a breaker shared by all clones: a connection-level failure (refused,
//   reset, timed out) opens it for memcached_retry_ms, during which operations on keys
//   of that server fail at once without I/O. When the period is over one caller probes;
//   success closes the breaker. libmemcached's own retry state lives per clone and has a
//   one-second granularity, so it is not what the guarantee rests on.
// - Per-operation cost is bounded by CONNECT_TIMEOUT and POLL_TIMEOUT (both
//   memcached_timeout_ms; the library's sockets are non-blocking and every wait is a
//   poll). Servers are never ejected from the distribution (REMOVE_FAILED_SERVERS off):
//   ejection would re-hash keys per clone; a dead server's keys simply miss.
//
// Value format (integers little-endian):
//   "CTXC" | u8 version=2 | u32 len + store_id | u64 caller_tenant | u64 caller_user |
//   u64 target_tenant | u64 stamp.global | u64 stamp.target | u64 stamp.caller |
//   i64 expires_at | u32 len + payload | 32-byte MAC
// The MAC is HMAC-SHA256 under the installation secret of ("context-cache/2", the full
// memcached key, every byte before the MAC). Binding the memcached key means an entry
// cannot be moved to another key; covering the stamp means it cannot be re-stamped for
// another generation. The MAC is checked before any field of the entry is believed; the
// stamp and the expiry after. Entries of version 1 (checksummed, unauthenticated) are
// rejected as corrupt and overwritten by the next resolution.

#include "sharing/context_cache.h"

#include <libmemcached-1.0/memcached.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace cotenant::sharing {
namespace {

constexpr char kMagic[4] = {'C', 'T', 'X', 'C'};
constexpr uint8_t kFormatVersion = 2;
constexpr std::string_view kMacPurpose = "context-cache/2";
// magic + version + store_id length + 7 u64/i64 + payload length + MAC.
constexpr size_t kMinEncodedSize = 4 + 1 + 4 + 7 * 8 + 4 + Mac::kTagBytes;
// At most one log line about rejected MACs per this many microseconds.
constexpr int64_t kMacLogIntervalUs = 10'000'000;
// memcached's default item size limit is 1 MiB including its item header; larger values
// would be refused by the server after being sent in full.
constexpr size_t kMaxEncodedSize = 1000 * 1024;
// memcached reads an expiration above 30 days as an absolute unix time.
constexpr uint32_t kMaxRelativeTtl = 30 * 24 * 3600;
// store_ids longer than this, or with characters outside [A-Za-z0-9._-], are hashed in
// the memcached key (ASCII keys: <= 250 bytes, no spaces or control characters).
constexpr size_t kMaxRawStoreIdInKey = 64;
// Clones of the memcached handle kept for concurrent callers.
constexpr size_t kMaxClients = 16;

uint64_t Fnv1a64(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

void PutFixed(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Reads fixed-width little-endian fields; every read fails once the input is exhausted.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Fixed(int bytes, uint64_t* v) {
    if (in_.size() < static_cast<size_t>(bytes)) return false;
    uint64_t r = 0;
    for (int i = 0; i < bytes; ++i) {
      r |= static_cast<uint64_t>(static_cast<unsigned char>(in_[i])) << (8 * i);
    }
    in_.remove_prefix(bytes);
    *v = r;
    return true;
  }
  bool Bytes(size_t n, std::string_view* v) {
    if (in_.size() < n) return false;
    *v = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  size_t left() const { return in_.size(); }

 private:
  std::string_view in_;
};

enum class Verdict { kValid, kCorrupt, kForged, kStale };

// The entry for `mkey`; empty when the MAC could not be made (then nothing is stored).
std::string Encode(const Mac& mac, const std::string& mkey, const std::string& store_id,
                   const ContextKey& key, const Stamp& stamp, int64_t expires_at,
                   const std::string& payload) {
  std::string out;
  out.reserve(kMinEncodedSize + store_id.size() + payload.size());
  out.append(kMagic, sizeof(kMagic));
  out.push_back(static_cast<char>(kFormatVersion));
  PutFixed(&out, store_id.size(), 4);
  out.append(store_id);
  PutFixed(&out, key.caller_tenant, 8);
  PutFixed(&out, key.caller_user, 8);
  PutFixed(&out, key.target_tenant, 8);
  PutFixed(&out, stamp.global, 8);
  PutFixed(&out, stamp.target, 8);
  PutFixed(&out, stamp.caller, 8);
  PutFixed(&out, static_cast<uint64_t>(expires_at), 8);
  PutFixed(&out, payload.size(), 4);
  out.append(payload);
  std::string tag;
  if (!mac.Sign({kMacPurpose, mkey, out}, &tag)) return std::string();
  out.append(tag);
  return out;
}

// An entry is valid only when its MAC verifies for `mkey`, it belongs to this store and to
// exactly `key` (an entry of another caller is never served), and it carries `current`.
// Nothing but the magic and the version is looked at before the MAC has verified.
Verdict Decode(const Mac& mac, const std::string& mkey, std::string_view value,
               const std::string& store_id, const ContextKey& key, const Stamp& current,
               int64_t now_micros, std::string* payload) {
  if (value.size() < kMinEncodedSize ||
      value.substr(0, sizeof(kMagic)) != std::string_view(kMagic, sizeof(kMagic)) ||
      static_cast<uint8_t>(value[sizeof(kMagic)]) != kFormatVersion) {
    return Verdict::kCorrupt;
  }
  std::string_view body = value.substr(0, value.size() - Mac::kTagBytes);
  if (!mac.Verify(value.substr(body.size()), {kMacPurpose, mkey, body})) return Verdict::kForged;

  Reader r(body);
  std::string_view magic, sid, bytes;
  uint64_t version = 0, sid_len = 0, ct = 0, cu = 0, tt = 0, g = 0, t = 0, c = 0, exp = 0,
           len = 0;
  if (!r.Bytes(sizeof(kMagic), &magic) || magic != std::string_view(kMagic, sizeof(kMagic)) ||
      !r.Fixed(1, &version) || version != kFormatVersion || !r.Fixed(4, &sid_len) ||
      !r.Bytes(sid_len, &sid) || sid != store_id || !r.Fixed(8, &ct) || !r.Fixed(8, &cu) ||
      !r.Fixed(8, &tt) || !r.Fixed(8, &g) || !r.Fixed(8, &t) || !r.Fixed(8, &c) ||
      !r.Fixed(8, &exp) || !r.Fixed(4, &len) || len != r.left() || !r.Bytes(len, &bytes)) {
    return Verdict::kCorrupt;
  }
  if (ContextKey{ct, cu, tt} != key) return Verdict::kCorrupt;
  const int64_t expires_at = static_cast<int64_t>(exp);
  if (Stamp{g, t, c} != current || (expires_at != 0 && expires_at <= now_micros)) {
    return Verdict::kStale;
  }
  payload->assign(bytes.data(), bytes.size());
  return Verdict::kValid;
}

std::string StoreIdForKey(const std::string& store_id) {
  bool plain = store_id.size() <= kMaxRawStoreIdInKey;
  for (char ch : store_id) {
    if (!plain) break;
    plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '_' || ch == '-';
  }
  if (plain) return store_id;
  // Two store ids hashing alike share keys, never entries: the value names its store.
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t h = Fnv1a64(store_id);
  std::string out = "#";
  for (int i = 15; i >= 0; --i) out.push_back(kHex[(h >> (4 * i)) & 0xf]);
  return out;
}

std::string RemoteKey(const std::string& prefix, const ContextKey& key) {
  return prefix + std::to_string(key.caller_tenant) + ":" + std::to_string(key.caller_user) +
         ":" + std::to_string(key.target_tenant);
}

// Generations only grow, so `a` is newer than `b` when it is ahead in some scope and
// behind in none.
bool Newer(const Stamp& a, const Stamp& b) {
  return a != b && a.global >= b.global && a.target >= b.target && a.caller >= b.caller;
}

int64_t SteadyMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Failures that say nothing about the server's health (the item was refused, or the
// client ran out of memory): counted, but they do not open the breaker.
bool IsItemError(memcached_return_t rc) {
  switch (rc) {
    case MEMCACHED_NOTSTORED:
    case MEMCACHED_DATA_EXISTS:
    case MEMCACHED_E2BIG:
    case MEMCACHED_KEY_TOO_BIG:
    case MEMCACHED_BAD_KEY_PROVIDED:
    case MEMCACHED_SERVER_ERROR:
    case MEMCACHED_SERVER_MEMORY_ALLOCATION_FAILURE:
    case MEMCACHED_MEMORY_ALLOCATION_FAILURE:
    case MEMCACHED_INVALID_ARGUMENTS:
      return true;
    default:
      return false;
  }
}

}  // namespace

// The memcached tier. Thread-safe; every method blocks for at most about one
// memcached_timeout_ms (plus one for the wait on a free handle) and never throws.
class ContextCache::Remote {
 public:
  enum class Result { kOk, kNotFound, kError };

  // nullptr when `options.memcached_servers` does not parse or has no server.
  static std::unique_ptr<Remote> Create(const CacheOptions& options);
  ~Remote();

  Result Get(const std::string& key, std::string* value);
  Result Set(const std::string& key, const std::string& value, uint32_t ttl_s);

 private:
  Remote(memcached_st* master, const CacheOptions& options);

  // A clone for this thread's exclusive use, or nullptr if none came free in time.
  memcached_st* Acquire();
  // Returns a clone; a clone that failed is freed (its connections may be mid-response).
  void Release(memcached_st* mc, bool healthy);

  // The breaker index of the server that holds `key`.
  size_t ServerFor(memcached_st* mc, const std::string& key) const;
  // False when the server's breaker is open. Sets *probing when this call is the one
  // allowed through after the retry period.
  bool MayTry(size_t server, bool* probing);
  void OnResult(size_t server, bool probing, memcached_return_t rc);

  memcached_st* const master_;  // configured template; only cloned, under mu_
  const int64_t timeout_ms_;
  const int64_t retry_us_;
  std::vector<std::string> server_names_;  // "host:port", by position in master_
  std::unique_ptr<std::atomic<int64_t>[]> open_until_;  // steady micros; 0 = closed

  std::mutex mu_;
  std::condition_variable freed_;
  std::vector<memcached_st*> idle_;  // guarded by mu_
  size_t leased_ = 0;                // guarded by mu_
};

std::unique_ptr<ContextCache::Remote> ContextCache::Remote::Create(const CacheOptions& options) {
  memcached_server_list_st servers = memcached_servers_parse(options.memcached_servers.c_str());
  if (servers == nullptr) return nullptr;
  memcached_st* master = memcached_create(nullptr);
  if (master == nullptr) {
    memcached_server_list_free(servers);
    return nullptr;
  }
  memcached_return_t rc = memcached_server_push(master, servers);
  memcached_server_list_free(servers);
  if (memcached_failed(rc) || memcached_server_count(master) == 0) {
    memcached_free(master);
    return nullptr;
  }
  const uint64_t timeout_ms = static_cast<uint64_t>(std::max(1, options.memcached_timeout_ms));
  const uint64_t retry_s =
      static_cast<uint64_t>(std::max(1, (options.memcached_retry_ms + 999) / 1000));
  // Non-blocking sockets: connect and every read/write wait is a poll bounded below.
  memcached_behavior_set(master, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
  memcached_behavior_set(master, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  memcached_behavior_set(master, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, timeout_ms);
  memcached_behavior_set(master, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, timeout_ms);
  // SO_SNDTIMEO / SO_RCVTIMEO, in microseconds (belt and braces: the sockets don't block).
  memcached_behavior_set(master, MEMCACHED_BEHAVIOR_SND_TIMEOUT, timeout_ms * 1000);
  memcached_behavior_set(master, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, timeout_ms * 1000);
  // The library's own skip period after a failed connect, in whole seconds (per clone).
  memcached_behavior_set(master, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, retry_s);
  // Never eject: ejection re-hashes keys to other servers, differently in each clone.
  memcached_behavior_set(master, MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0);
  // ASCII protocol (the binary one is deprecated in memcached 1.6); keys are checked.
  memcached_behavior_set(master, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0);
  memcached_behavior_set(master, MEMCACHED_BEHAVIOR_VERIFY_KEY, 1);
  return std::unique_ptr<Remote>(new Remote(master, options));
}

ContextCache::Remote::Remote(memcached_st* master, const CacheOptions& options)
    : master_(master),
      timeout_ms_(std::max(1, options.memcached_timeout_ms)),
      retry_us_(static_cast<int64_t>(std::max(0, options.memcached_retry_ms)) * 1000) {
  const uint32_t n = memcached_server_count(master_);
  for (uint32_t i = 0; i < n; ++i) {
    const memcached_instance_st* s = memcached_server_instance_by_position(master_, i);
    server_names_.push_back(std::string(memcached_server_name(s)) + ":" +
                            std::to_string(memcached_server_port(s)));
  }
  open_until_ = std::make_unique<std::atomic<int64_t>[]>(n);
  for (uint32_t i = 0; i < n; ++i) open_until_[i].store(0);
}

ContextCache::Remote::~Remote() {
  // REQUIRES: no call in flight (the owner is being destroyed).
  for (memcached_st* mc : idle_) memcached_free(mc);
  memcached_free(master_);
}

memcached_st* ContextCache::Remote::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
  while (idle_.empty() && leased_ >= kMaxClients) {
    if (freed_.wait_until(lock, deadline) == std::cv_status::timeout &&
        idle_.empty() && leased_ >= kMaxClients) {
      return nullptr;
    }
  }
  memcached_st* mc = nullptr;
  if (!idle_.empty()) {
    mc = idle_.back();
    idle_.pop_back();
  } else {
    mc = memcached_clone(nullptr, master_);  // no I/O: the master never connects
    if (mc == nullptr) return nullptr;
  }
  ++leased_;
  return mc;
}

void ContextCache::Remote::Release(memcached_st* mc, bool healthy) {
  if (!healthy) {
    memcached_free(mc);  // outside mu_: it may send "quit" on a live socket
    mc = nullptr;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    --leased_;
    if (mc != nullptr) idle_.push_back(mc);
  }
  freed_.notify_one();
}

size_t ContextCache::Remote::ServerFor(memcached_st* mc, const std::string& key) const {
  if (server_names_.size() == 1) return 0;
  memcached_return_t rc;
  const memcached_instance_st* s = memcached_server_by_key(mc, key.data(), key.size(), &rc);
  if (s == nullptr) return 0;
  const std::string name =
      std::string(memcached_server_name(s)) + ":" + std::to_string(memcached_server_port(s));
  for (size_t i = 0; i < server_names_.size(); ++i) {
    if (server_names_[i] == name) return i;
  }
  return 0;
}

bool ContextCache::Remote::MayTry(size_t server, bool* probing) {
  *probing = false;
  int64_t until = open_until_[server].load(std::memory_order_acquire);
  if (until == 0) return true;
  const int64_t now = SteadyMicros();
  if (now < until) return false;
  // The retry period is over: one caller probes; the others keep skipping meanwhile.
  if (!open_until_[server].compare_exchange_strong(until, now + retry_us_)) return false;
  *probing = true;
  return true;
}

void ContextCache::Remote::OnResult(size_t server, bool probing, memcached_return_t rc) {
  const bool server_ok = rc == MEMCACHED_SUCCESS || rc == MEMCACHED_STORED ||
                         rc == MEMCACHED_NOTFOUND || IsItemError(rc);
  if (!server_ok) {
    open_until_[server].store(SteadyMicros() + retry_us_, std::memory_order_release);
  } else if (probing) {
    open_until_[server].store(0, std::memory_order_release);
  }
}

ContextCache::Remote::Result ContextCache::Remote::Get(const std::string& key,
                                                       std::string* value) {
  memcached_st* mc = Acquire();
  if (mc == nullptr) return Result::kError;
  const size_t server = ServerFor(mc, key);
  bool probing = false;
  if (!MayTry(server, &probing)) {
    Release(mc, true);
    return Result::kError;
  }
  size_t len = 0;
  uint32_t flags = 0;
  memcached_return_t rc = MEMCACHED_FAILURE;
  char* raw = memcached_get(mc, key.data(), key.size(), &len, &flags, &rc);
  Result result = Result::kError;
  if (rc == MEMCACHED_SUCCESS) {
    try {
      if (raw != nullptr) {
        value->assign(raw, len);
      } else {
        value->clear();  // an empty value
      }
      result = Result::kOk;
    } catch (...) {
      result = Result::kError;
    }
  } else if (rc == MEMCACHED_NOTFOUND) {
    result = Result::kNotFound;
  }
  std::free(raw);  // the default allocator is malloc
  OnResult(server, probing, rc);
  Release(mc, result != Result::kError);
  return result;
}

ContextCache::Remote::Result ContextCache::Remote::Set(const std::string& key,
                                                       const std::string& value,
                                                       uint32_t ttl_s) {
  memcached_st* mc = Acquire();
  if (mc == nullptr) return Result::kError;
  const size_t server = ServerFor(mc, key);
  bool probing = false;
  if (!MayTry(server, &probing)) {
    Release(mc, true);
    return Result::kError;
  }
  memcached_return_t rc = memcached_set(mc, key.data(), key.size(), value.data(), value.size(),
                                        static_cast<time_t>(ttl_s), 0);
  OnResult(server, probing, rc);
  const bool ok = rc == MEMCACHED_SUCCESS || rc == MEMCACHED_STORED;
  Release(mc, ok);
  return ok ? Result::kOk : Result::kError;
}

ContextCache::ContextCache(const CacheOptions& options)
    : options_(options),
      mac_(options.secret),
      remote_prefix_("ctc:" + StoreIdForKey(options.store_id) + ":") {
  if (!options_.memcached_servers.empty() && !options_.secret.empty()) {
    try {
      remote_ = Remote::Create(options_);
    } catch (...) {
      remote_.reset();  // no remote tier: every lookup falls through to the store
    }
  }
}

ContextCache::~ContextCache() = default;

bool ContextCache::has_remote() const { return remote_ != nullptr; }

CachedValue ContextCache::GetLocal(const ContextKey& key, const Stamp& current,
                                   int64_t now_micros) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = local_.find(key);
  if (it == local_.end()) return nullptr;
  const Entry& e = it->second;
  if (e.stamp != current || (e.expires_at != 0 && e.expires_at <= now_micros)) {
    // Keep an entry newer than what this caller read (it raced a change); it serves the
    // callers that come after.
    if (!Newer(e.stamp, current) || (e.expires_at != 0 && e.expires_at <= now_micros)) {
      local_.erase(it);
    }
    stale_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  local_hits_.fetch_add(1, std::memory_order_relaxed);
  return e.value;
}

void ContextCache::PutLocal(const ContextKey& key, const Stamp& stamp, int64_t expires_at,
                            CachedValue value) {
  if (options_.local_capacity == 0) return;  // local tier disabled
  try {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = local_.find(key);
    if (it != local_.end()) {
      // A resolution that raced a change must not push out the fresher entry.
      if (Newer(it->second.stamp, stamp)) return;
      it->second = Entry{stamp, expires_at, std::move(value)};
      return;
    }
    if (local_.size() >= options_.local_capacity && !local_.empty()) {
      // Random eviction: probe random buckets for a non-empty one (the load factor keeps
      // most buckets occupied), falling back to the first entry.
      const size_t buckets = local_.bucket_count();
      bool evicted = false;
      for (int probe = 0; probe < 32 && !evicted; ++probe) {
        evict_rng_ ^= evict_rng_ << 13;  // xorshift64
        evict_rng_ ^= evict_rng_ >> 7;
        evict_rng_ ^= evict_rng_ << 17;
        const size_t b = static_cast<size_t>(evict_rng_ % buckets);
        if (local_.bucket_size(b) > 0) {
          local_.erase(local_.begin(b)->first);
          evicted = true;
        }
      }
      if (!evicted) local_.erase(local_.begin());
    }
    local_.emplace(key, Entry{stamp, expires_at, std::move(value)});
  } catch (...) {
    // Out of memory: the entry is simply not cached.
  }
}

std::optional<std::string> ContextCache::GetRemote(const ContextKey& key, const Stamp& current,
                                                   int64_t now_micros) {
  if (!remote_) return std::nullopt;
  try {
    const std::string mkey = RemoteKey(remote_prefix_, key);
    std::string value;
    switch (remote_->Get(mkey, &value)) {
      case Remote::Result::kNotFound:
        return std::nullopt;
      case Remote::Result::kError:
        errors_.fetch_add(1, std::memory_order_relaxed);
        return std::nullopt;
      case Remote::Result::kOk:
        break;
    }
    std::string payload;
    switch (Decode(mac_, mkey, value, options_.store_id, key, current, now_micros, &payload)) {
      case Verdict::kCorrupt:
        corrupt_.fetch_add(1, std::memory_order_relaxed);
        return std::nullopt;
      case Verdict::kForged:
        mac_rejected_.fetch_add(1, std::memory_order_relaxed);
        NoteMacRejected(mkey);
        return std::nullopt;
      case Verdict::kStale:
        stale_.fetch_add(1, std::memory_order_relaxed);
        return std::nullopt;
      case Verdict::kValid:
        break;
    }
    remote_hits_.fetch_add(1, std::memory_order_relaxed);
    return payload;
  } catch (...) {
    errors_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
}

void ContextCache::PutRemote(const ContextKey& key, const Stamp& stamp, int64_t expires_at,
                             const std::string& bytes) {
  if (!remote_) return;
  try {
    if (kMinEncodedSize + options_.store_id.size() + bytes.size() > kMaxEncodedSize) {
      errors_.fetch_add(1, std::memory_order_relaxed);  // memcached would refuse it
      return;
    }
    const std::string mkey = RemoteKey(remote_prefix_, key);
    const std::string value = Encode(mac_, mkey, options_.store_id, key, stamp, expires_at, bytes);
    if (value.empty()) {
      errors_.fetch_add(1, std::memory_order_relaxed);  // the MAC could not be made
      return;
    }
    const uint32_t ttl = std::min(options_.memcached_ttl_s, kMaxRelativeTtl);
    if (remote_->Set(mkey, value, ttl) != Remote::Result::kOk) {
      errors_.fetch_add(1, std::memory_order_relaxed);
    }
  } catch (...) {
    errors_.fetch_add(1, std::memory_order_relaxed);
  }
}

void ContextCache::CountMiss() { misses_.fetch_add(1, std::memory_order_relaxed); }

void ContextCache::NoteMacRejected(const std::string& memcached_key) {
  const int64_t now = SteadyMicros();
  int64_t last = mac_logged_at_.load(std::memory_order_relaxed);
  if (last != 0 && now - last < kMacLogIntervalUs) return;
  if (!mac_logged_at_.compare_exchange_strong(last, now)) return;  // another thread logs
  const uint64_t total = mac_rejected_.load(std::memory_order_relaxed);
  const uint64_t since = total - mac_logged_.exchange(total);
  spdlog::warn(
      "context cache: {} memcached entr{} failed authentication (latest key {}); something "
      "other than a front-end with this installation's secret wrote to memcached, or a "
      "front-end runs with another --cache-secret-file. The entries are ignored.",
      since, since == 1 ? "y" : "ies", memcached_key);
}

void ContextCache::ClearLocal() {
  std::lock_guard<std::mutex> lock(mu_);
  local_.clear();
}

CacheCounters ContextCache::counters() const {
  CacheCounters c;
  c.local_hits = local_hits_.load(std::memory_order_relaxed);
  c.remote_hits = remote_hits_.load(std::memory_order_relaxed);
  c.misses = misses_.load(std::memory_order_relaxed);
  c.stale_rejected = stale_.load(std::memory_order_relaxed);
  c.corrupt_rejected = corrupt_.load(std::memory_order_relaxed);
  c.mac_rejected = mac_rejected_.load(std::memory_order_relaxed);
  c.remote_errors = errors_.load(std::memory_order_relaxed);
  return c;
}

}  // namespace cotenant::sharing
