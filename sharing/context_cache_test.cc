#include "sharing/context_cache.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libmemcached-1.0/memcached.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/test_support.h"

namespace cotenant::sharing {
namespace {

using cotenant::testing::Memcached;

CachedValue Val(int v) { return std::make_shared<const int>(v); }
int IntOf(const CachedValue& v) { return *static_cast<const int*>(v.get()); }

// The memcached key ContextCache uses for a plain store id (see context_cache.cc).
std::string KeyFor(const std::string& store_id, const ContextKey& k) {
  return "ctc:" + store_id + ":" + std::to_string(k.caller_tenant) + ":" +
         std::to_string(k.caller_user) + ":" + std::to_string(k.target_tenant);
}

// A plain libmemcached client for writing raw values under the cache's keys.
class RawClient {
 public:
  explicit RawClient(int port) : mc_(memcached_create(nullptr)) {
    memcached_server_add(mc_, "127.0.0.1", static_cast<in_port_t>(port));
  }
  ~RawClient() { memcached_free(mc_); }
  bool Set(const std::string& key, const std::string& value) {
    return memcached_set(mc_, key.data(), key.size(), value.data(), value.size(), 0, 0) ==
           MEMCACHED_SUCCESS;
  }
  std::optional<std::string> Get(const std::string& key) {
    size_t len = 0;
    uint32_t flags = 0;
    memcached_return_t rc;
    char* v = memcached_get(mc_, key.data(), key.size(), &len, &flags, &rc);
    if (rc != MEMCACHED_SUCCESS) return std::nullopt;
    std::string out = v ? std::string(v, len) : std::string();
    std::free(v);
    return out;
  }

 private:
  memcached_st* mc_;
};

// The installation secret of the tests (32 bytes, as a real one).
const std::string kSecret = "0123456789abcdef0123456789abcdef";

CacheOptions RemoteOptions(const std::string& servers, const std::string& store_id = "store1",
                           const std::string& secret = kSecret) {
  CacheOptions o;
  o.memcached_servers = servers;
  o.store_id = store_id;
  o.secret = secret;
  // Generous: a loaded test machine must not turn a slow reply into a counted error.
  o.memcached_timeout_ms = 2000;
  o.memcached_retry_ms = 200;
  return o;
}

// ---------------------------------------------------------------- local tier

TEST(ContextCacheLocal, HitMissStaleAndExpiry) {
  ContextCache cache(CacheOptions{});
  const ContextKey k{1, 2, 3};
  const Stamp s1{1, 1, 1};
  EXPECT_EQ(cache.GetLocal(k, s1, 100), nullptr);  // nothing there

  cache.PutLocal(k, s1, 0, Val(7));
  CachedValue v = cache.GetLocal(k, s1, 100);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(IntOf(v), 7);
  EXPECT_EQ(cache.GetLocal(ContextKey{1, 2, 4}, s1, 100), nullptr);  // other key
  EXPECT_EQ(cache.GetLocal(ContextKey{1, 9, 3}, s1, 100), nullptr);  // other user

  // A bump in any scope makes the entry stale; it is dropped.
  EXPECT_EQ(cache.GetLocal(k, Stamp{1, 2, 1}, 100), nullptr);
  EXPECT_EQ(cache.GetLocal(k, s1, 100), nullptr);

  // Expiry: served strictly before expires_at.
  cache.PutLocal(k, s1, 500, Val(8));
  ASSERT_NE(cache.GetLocal(k, s1, 499), nullptr);
  EXPECT_EQ(cache.GetLocal(k, s1, 500), nullptr);
  EXPECT_EQ(cache.GetLocal(k, s1, 100), nullptr);  // dropped when found expired

  CacheCounters c = cache.counters();
  EXPECT_EQ(c.local_hits, 2u);
  EXPECT_EQ(c.stale_rejected, 2u);
  EXPECT_EQ(c.remote_hits, 0u);
  EXPECT_EQ(c.misses, 0u);
  cache.CountMiss();
  EXPECT_EQ(cache.counters().misses, 1u);
}

TEST(ContextCacheLocal, EachScopeOfTheStampCounts) {
  ContextCache cache(CacheOptions{});
  const ContextKey k{1, 2, 3};
  for (const Stamp& other : {Stamp{2, 1, 1}, Stamp{1, 2, 1}, Stamp{1, 1, 2}, Stamp{0, 1, 1}}) {
    cache.PutLocal(k, Stamp{1, 1, 1}, 0, Val(1));
    EXPECT_EQ(cache.GetLocal(k, other, 1), nullptr);
  }
}

TEST(ContextCacheLocal, OlderStampDoesNotReplaceNewerEntry) {
  ContextCache cache(CacheOptions{});
  const ContextKey k{1, 2, 3};
  cache.PutLocal(k, Stamp{1, 5, 1}, 0, Val(2));
  // A resolution that started before the bump writes back late.
  cache.PutLocal(k, Stamp{1, 4, 1}, 0, Val(1));
  EXPECT_EQ(cache.GetLocal(k, Stamp{1, 4, 1}, 1), nullptr);
  CachedValue v = cache.GetLocal(k, Stamp{1, 5, 1}, 1);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(IntOf(v), 2);
  // Same stamp replaces.
  cache.PutLocal(k, Stamp{1, 5, 1}, 0, Val(3));
  EXPECT_EQ(IntOf(cache.GetLocal(k, Stamp{1, 5, 1}, 1)), 3);
}

TEST(ContextCacheLocal, CapacityIsBounded) {
  CacheOptions o;
  o.local_capacity = 100;
  ContextCache cache(o);
  const Stamp s{1, 1, 1};
  for (uint64_t i = 0; i < 1000; ++i) {
    cache.PutLocal(ContextKey{1, i, 2}, s, 0, Val(static_cast<int>(i)));
    // The entry just written is always there (eviction happens before the insert).
    CachedValue v = cache.GetLocal(ContextKey{1, i, 2}, s, 1);
    ASSERT_NE(v, nullptr) << i;
    EXPECT_EQ(IntOf(v), static_cast<int>(i));
  }
  size_t present = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    CachedValue v = cache.GetLocal(ContextKey{1, i, 2}, s, 1);
    if (v != nullptr) {
      EXPECT_EQ(IntOf(v), static_cast<int>(i));
      ++present;
    }
  }
  EXPECT_LE(present, 100u);
  EXPECT_GE(present, 50u);

  // Overwriting an existing key does not evict anything.
  CacheOptions one;
  one.local_capacity = 1;
  ContextCache tiny(one);
  tiny.PutLocal(ContextKey{1, 1, 1}, s, 0, Val(1));
  tiny.PutLocal(ContextKey{1, 1, 1}, s, 0, Val(2));
  EXPECT_EQ(IntOf(tiny.GetLocal(ContextKey{1, 1, 1}, s, 1)), 2);
  tiny.PutLocal(ContextKey{1, 1, 2}, s, 0, Val(3));
  EXPECT_EQ(tiny.GetLocal(ContextKey{1, 1, 1}, s, 1), nullptr);
  EXPECT_EQ(IntOf(tiny.GetLocal(ContextKey{1, 1, 2}, s, 1)), 3);
}

TEST(ContextCacheLocal, ZeroCapacityDisablesTheTier) {
  CacheOptions o;
  o.local_capacity = 0;
  ContextCache cache(o);
  cache.PutLocal(ContextKey{1, 1, 1}, Stamp{}, 0, Val(1));
  EXPECT_EQ(cache.GetLocal(ContextKey{1, 1, 1}, Stamp{}, 1), nullptr);
}

TEST(ContextCacheLocal, ClearLocal) {
  ContextCache cache(CacheOptions{});
  cache.PutLocal(ContextKey{1, 1, 1}, Stamp{}, 0, Val(1));
  cache.PutLocal(ContextKey{2, 1, 1}, Stamp{}, 0, Val(2));
  cache.ClearLocal();
  EXPECT_EQ(cache.GetLocal(ContextKey{1, 1, 1}, Stamp{}, 1), nullptr);
  EXPECT_EQ(cache.GetLocal(ContextKey{2, 1, 1}, Stamp{}, 1), nullptr);
}

TEST(ContextCacheLocal, NoRemoteTierWithoutServers) {
  ContextCache cache(CacheOptions{});
  EXPECT_FALSE(cache.has_remote());
  cache.PutRemote(ContextKey{1, 1, 1}, Stamp{}, 0, "x");
  EXPECT_EQ(cache.GetRemote(ContextKey{1, 1, 1}, Stamp{}, 1), std::nullopt);
  CacheCounters c = cache.counters();
  EXPECT_EQ(c.remote_errors, 0u);
  EXPECT_EQ(c.remote_hits, 0u);
}

TEST(ContextCacheLocal, ConcurrentUse) {
  CacheOptions o;
  o.local_capacity = 64;
  ContextCache cache(o);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&cache, t] {
      std::mt19937_64 rng(t);
      for (int i = 0; i < 5000; ++i) {
        const ContextKey k{1, rng() % 200, 2};
        const Stamp s{1, rng() % 3, 1};
        const int expected = static_cast<int>(k.caller_user * 10 + s.target);
        if (rng() % 2) {
          cache.PutLocal(k, s, 0, Val(expected));
        } else if (CachedValue v = cache.GetLocal(k, s, 1)) {
          ASSERT_EQ(IntOf(v), expected);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
}

// ---------------------------------------------------------------- remote tier

class ContextCacheRemote : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(memcached_.ok()); }
  Memcached memcached_;
};

TEST_F(ContextCacheRemote, RoundTrip) {
  ContextCache cache(RemoteOptions(memcached_.address()));
  ASSERT_TRUE(cache.has_remote());
  const ContextKey k{10, 20, 30};
  const Stamp s{3, 4, 5};
  EXPECT_EQ(cache.GetRemote(k, s, 1), std::nullopt);  // not there: a miss, not an error

  std::string payload("resolved\0context\xff", 17);
  cache.PutRemote(k, s, 0, payload);
  std::optional<std::string> got = cache.GetRemote(k, s, 1);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, payload);

  // Another server of the same store shares it.
  ContextCache other(RemoteOptions(memcached_.address()));
  EXPECT_EQ(other.GetRemote(k, s, 1), payload);

  // An empty payload is a valid value.
  cache.PutRemote(ContextKey{10, 20, 31}, s, 0, "");
  EXPECT_EQ(cache.GetRemote(ContextKey{10, 20, 31}, s, 1), std::string());

  // The entry is stored under the documented key.
  RawClient raw(memcached_.port());
  EXPECT_TRUE(raw.Get(KeyFor("store1", k)).has_value());

  CacheCounters c = cache.counters();
  EXPECT_EQ(c.remote_hits, 2u);
  EXPECT_EQ(c.remote_errors, 0u);
  EXPECT_EQ(c.corrupt_rejected, 0u);
  EXPECT_EQ(c.stale_rejected, 0u);
}

TEST_F(ContextCacheRemote, StaleStampAndExpiryRejected) {
  ContextCache cache(RemoteOptions(memcached_.address()));
  const ContextKey k{1, 2, 3};
  cache.PutRemote(k, Stamp{1, 1, 1}, 0, "old rights");
  // A revocation bumped the target tenant's generation: the entry must not be served,
  // in whatever scope the bump happened, nor to a caller that read older generations.
  EXPECT_EQ(cache.GetRemote(k, Stamp{1, 2, 1}, 1), std::nullopt);
  EXPECT_EQ(cache.GetRemote(k, Stamp{2, 1, 1}, 1), std::nullopt);
  EXPECT_EQ(cache.GetRemote(k, Stamp{1, 1, 2}, 1), std::nullopt);
  EXPECT_EQ(cache.GetRemote(k, Stamp{1, 1, 0}, 1), std::nullopt);
  EXPECT_EQ(cache.counters().stale_rejected, 4u);

  cache.PutRemote(k, Stamp{1, 1, 1}, 1000, "expires");
  EXPECT_EQ(cache.GetRemote(k, Stamp{1, 1, 1}, 999), "expires");
  EXPECT_EQ(cache.GetRemote(k, Stamp{1, 1, 1}, 1000), std::nullopt);
  CacheCounters c = cache.counters();
  EXPECT_EQ(c.stale_rejected, 5u);
  EXPECT_EQ(c.remote_hits, 1u);
  EXPECT_EQ(c.corrupt_rejected, 0u);
}

TEST_F(ContextCacheRemote, EntryOfAnotherStoreRejected) {
  ContextCache a(RemoteOptions(memcached_.address(), "store-a"));
  ContextCache b(RemoteOptions(memcached_.address(), "store-b"));
  const ContextKey k{1, 2, 3};
  const Stamp s{1, 1, 1};
  a.PutRemote(k, s, 0, "a's context");
  EXPECT_EQ(b.GetRemote(k, s, 1), std::nullopt);  // different key: plain miss

  // Even under b's key, a's entry is not taken for b's.
  RawClient raw(memcached_.port());
  std::optional<std::string> a_value = raw.Get(KeyFor("store-a", k));
  ASSERT_TRUE(a_value.has_value());
  ASSERT_TRUE(raw.Set(KeyFor("store-b", k), *a_value));
  EXPECT_EQ(b.GetRemote(k, s, 1), std::nullopt);
  EXPECT_EQ(b.counters().mac_rejected, 1u);  // the MAC covers the memcached key
  EXPECT_EQ(b.counters().remote_hits, 0u);
  EXPECT_EQ(a.GetRemote(k, s, 1), "a's context");
}

TEST_F(ContextCacheRemote, EntryOfAnotherKeyRejected) {
  ContextCache cache(RemoteOptions(memcached_.address()));
  const ContextKey k{1, 2, 3};
  const Stamp s{1, 1, 1};
  cache.PutRemote(k, s, 0, "user 2's rights");
  RawClient raw(memcached_.port());
  std::optional<std::string> value = raw.Get(KeyFor("store1", k));
  ASSERT_TRUE(value.has_value());

  // Copied under another user, another caller tenant, another target tenant.
  const ContextKey others[] = {{1, 9, 3}, {7, 2, 3}, {1, 2, 8}};
  for (const ContextKey& other : others) {
    ASSERT_TRUE(raw.Set(KeyFor("store1", other), *value));
    EXPECT_EQ(cache.GetRemote(other, s, 1), std::nullopt);
  }
  CacheCounters c = cache.counters();
  EXPECT_EQ(c.mac_rejected, 3u);  // the MAC covers the memcached key
  EXPECT_EQ(c.remote_hits, 0u);
}

TEST_F(ContextCacheRemote, CorruptValuesRejected) {
  ContextCache cache(RemoteOptions(memcached_.address()));
  const ContextKey k{4, 5, 6};
  const Stamp s{7, 8, 9};
  const std::string mkey = KeyFor("store1", k);
  cache.PutRemote(k, s, 0, "a resolved context payload");
  RawClient raw(memcached_.port());
  const std::optional<std::string> good = raw.Get(mkey);
  ASSERT_TRUE(good.has_value());

  uint64_t expected_corrupt = 0;
  auto expect_rejected = [&](const std::string& bad, const std::string& what) {
    ASSERT_TRUE(raw.Set(mkey, bad)) << what;
    EXPECT_EQ(cache.GetRemote(k, s, 1), std::nullopt) << what;
    ++expected_corrupt;
  };
  expect_rejected("", "empty");
  expect_rejected("garbage", "garbage");
  expect_rejected(std::string(200, '\0'), "zeros");
  expect_rejected(std::string(good->size(), 'x'), "same-size junk");
  for (size_t n = 0; n < good->size(); ++n) {
    expect_rejected(good->substr(0, n), "truncated to " + std::to_string(n));
  }
  expect_rejected(*good + "x", "trailing byte");
  for (size_t i = 0; i < good->size(); ++i) {
    std::string flipped = *good;
    flipped[i] = static_cast<char>(flipped[i] ^ (1 << (i % 8)));
    expect_rejected(flipped, "bit flip at byte " + std::to_string(i));
  }
  // Malformed values (too short, another magic or version) are corrupt; anything else
  // fails the MAC.
  CacheCounters c = cache.counters();
  EXPECT_EQ(c.corrupt_rejected + c.mac_rejected, expected_corrupt);
  EXPECT_GT(c.corrupt_rejected, 0u);
  EXPECT_GT(c.mac_rejected, 0u);
  EXPECT_EQ(c.remote_hits, 0u);
  EXPECT_EQ(c.stale_rejected, 0u);
  EXPECT_EQ(c.remote_errors, 0u);

  // The intact value still verifies.
  ASSERT_TRUE(raw.Set(mkey, *good));
  EXPECT_EQ(cache.GetRemote(k, s, 1), "a resolved context payload");
}

TEST_F(ContextCacheRemote, EntriesMadeWithoutTheSecretAreRejected) {
  const ContextKey k{4, 5, 6};
  const Stamp s{7, 8, 9};
  const std::string mkey = KeyFor("store1", k);
  ContextCache cache(RemoteOptions(memcached_.address()));
  RawClient raw(memcached_.port());

  // Entries in the very format, by the very code, under another secret: what someone who
  // can write to memcached but lacks the secret can do at best. Current stamp, the next
  // generation of each scope, and a secret that differs in one byte only.
  std::string near_secret = kSecret;
  near_secret[31] ^= 0x01;
  ContextCache forger(RemoteOptions(memcached_.address(), "store1", "another secret of 32 bytes......"));
  ContextCache near(RemoteOptions(memcached_.address(), "store1", near_secret));
  const Stamp stamps[] = {s, {8, 8, 9}, {7, 9, 9}, {7, 8, 10}};
  uint64_t forged = 0;
  for (const Stamp& st : stamps) {
    for (ContextCache* f : {&forger, &near}) {
      f->PutRemote(k, st, 0, "full rights");
      ASSERT_TRUE(raw.Get(mkey).has_value());
      EXPECT_EQ(cache.GetRemote(k, st, 1), std::nullopt);
      ++forged;
    }
  }
  // A genuine entry with one byte of its payload changed.
  cache.PutRemote(k, s, 0, "read rights");
  std::optional<std::string> good = raw.Get(mkey);
  ASSERT_TRUE(good.has_value());
  std::string tampered = *good;
  const size_t at = tampered.find("read rights");
  ASSERT_NE(at, std::string::npos);
  tampered[at] = 'R';
  ASSERT_TRUE(raw.Set(mkey, tampered));
  EXPECT_EQ(cache.GetRemote(k, s, 1), std::nullopt);
  ++forged;
  // A genuine entry with its stamp moved to the next target generation (the bytes of
  // stamp.target: after magic, version, store id, the key and stamp.global).
  std::string restamped = *good;
  const size_t target_gen = 4 + 1 + 4 + std::string("store1").size() + 3 * 8 + 8;
  ASSERT_EQ(restamped[target_gen], 8);
  restamped[target_gen] = 9;
  ASSERT_TRUE(raw.Set(mkey, restamped));
  EXPECT_EQ(cache.GetRemote(k, Stamp{7, 9, 9}, 1), std::nullopt);
  ++forged;

  CacheCounters c = cache.counters();
  EXPECT_EQ(c.mac_rejected, forged);
  EXPECT_EQ(c.remote_hits, 0u);
  EXPECT_EQ(c.stale_rejected, 0u);
  EXPECT_EQ(c.corrupt_rejected, 0u);

  // The genuine entry verifies, also for another front-end holding the same secret.
  ASSERT_TRUE(raw.Set(mkey, *good));
  EXPECT_EQ(cache.GetRemote(k, s, 1), "read rights");
  ContextCache peer(RemoteOptions(memcached_.address()));
  EXPECT_EQ(peer.GetRemote(k, s, 1), "read rights");
  // ...and not for one holding another.
  EXPECT_EQ(near.GetRemote(k, s, 1), std::nullopt);
  EXPECT_EQ(near.counters().mac_rejected, 1u);
}

TEST(ContextCacheLocal, NoRemoteTierWithoutASecret) {
  ContextCache cache(RemoteOptions("127.0.0.1:11211", "store1", ""));
  EXPECT_FALSE(cache.has_remote());
}

TEST_F(ContextCacheRemote, LongStoreIdIsHashedInTheKey) {
  const std::string store_id = "a store id with spaces " + std::string(300, 'z');
  ContextCache cache(RemoteOptions(memcached_.address(), store_id));
  ContextCache other(RemoteOptions(memcached_.address(), store_id + "!"));
  const ContextKey k{UINT64_MAX, UINT64_MAX, UINT64_MAX};
  cache.PutRemote(k, Stamp{1, 2, 3}, 0, "payload");
  EXPECT_EQ(cache.GetRemote(k, Stamp{1, 2, 3}, 1), "payload");
  EXPECT_EQ(other.GetRemote(k, Stamp{1, 2, 3}, 1), std::nullopt);
  EXPECT_EQ(cache.counters().remote_errors, 0u);
}

TEST_F(ContextCacheRemote, OversizedValueIsNotStored) {
  ContextCache cache(RemoteOptions(memcached_.address()));
  cache.PutRemote(ContextKey{1, 1, 1}, Stamp{}, 0, std::string(2 << 20, 'x'));
  EXPECT_EQ(cache.GetRemote(ContextKey{1, 1, 1}, Stamp{}, 1), std::nullopt);
  EXPECT_EQ(cache.counters().remote_errors, 1u);
  // The server is not considered down because of it.
  cache.PutRemote(ContextKey{1, 1, 2}, Stamp{}, 0, "small");
  EXPECT_EQ(cache.GetRemote(ContextKey{1, 1, 2}, Stamp{}, 1), "small");
}

TEST_F(ContextCacheRemote, StopAndRestart) {
  CacheOptions o = RemoteOptions(memcached_.address());
  o.memcached_timeout_ms = 200;
  ContextCache cache(o);
  const ContextKey k{1, 2, 3};
  const Stamp s{1, 1, 1};
  cache.PutRemote(k, s, 0, "before");
  ASSERT_EQ(cache.GetRemote(k, s, 1), "before");

  memcached_.Stop();
  for (int i = 0; i < 5; ++i) {
    cache.PutRemote(k, s, 0, "while down");
    EXPECT_EQ(cache.GetRemote(k, s, 1), std::nullopt);
  }
  const uint64_t errors_while_down = cache.counters().remote_errors;
  EXPECT_GE(errors_while_down, 10u);  // every call failed or was skipped, and was counted

  ASSERT_TRUE(memcached_.Restart());
  bool recovered = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!recovered && std::chrono::steady_clock::now() < deadline) {
    cache.PutRemote(k, s, 0, "after");
    recovered = cache.GetRemote(k, s, 1) == std::optional<std::string>("after");
    if (!recovered) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(recovered);
  CacheCounters c = cache.counters();
  EXPECT_EQ(c.remote_hits, 2u);
  EXPECT_EQ(c.corrupt_rejected, 0u);
}

TEST(ContextCacheRemoteDown, NotRunningAtConstruction) {
  const int port = cotenant::testing::FreePort();  // nothing listens there
  CacheOptions o = RemoteOptions("127.0.0.1:" + std::to_string(port));
  o.memcached_timeout_ms = 100;
  ContextCache cache(o);
  ASSERT_TRUE(cache.has_remote());
  for (int i = 0; i < 20; ++i) {
    cache.PutRemote(ContextKey{1, 1, 1}, Stamp{}, 0, "x");
    EXPECT_EQ(cache.GetRemote(ContextKey{1, 1, 1}, Stamp{}, 1), std::nullopt);
  }
  CacheCounters c = cache.counters();
  EXPECT_EQ(c.remote_errors, 40u);
  EXPECT_EQ(c.remote_hits, 0u);
  EXPECT_EQ(c.corrupt_rejected, 0u);
}

TEST(ContextCacheRemoteDown, ServerThatNeverAnswers) {
  // Accepts connections (the kernel completes them into the backlog) and never replies.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 64), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  CacheOptions o = RemoteOptions("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  o.memcached_timeout_ms = 20;
  ContextCache cache(o);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(cache.GetRemote(ContextKey{1, 1, 1}, Stamp{}, 1), std::nullopt);
    cache.PutRemote(ContextKey{1, 1, 1}, Stamp{}, 0, "x");
  }
  EXPECT_EQ(cache.counters().remote_errors, 10u);
  EXPECT_EQ(cache.counters().remote_hits, 0u);
  ::close(fd);
}

TEST_F(ContextCacheRemote, DeadServerDoesNotDisableTheLiveOne) {
  Memcached dead;
  ASSERT_TRUE(dead.ok());
  dead.Stop();
  CacheOptions o = RemoteOptions(memcached_.address() + "," + dead.address());
  o.memcached_retry_ms = 60000;  // the dead server stays skipped for the whole test
  ContextCache cache(o);
  const Stamp s{1, 1, 1};
  constexpr int kKeys = 40;
  for (int i = 0; i < kKeys; ++i) {
    cache.PutRemote(ContextKey{1, static_cast<uint64_t>(i), 2}, s, 0, std::to_string(i));
  }
  // Keys held by the live server hit; those of the dead one fail fast, counted.
  int hits = 0;
  for (int pass = 0; pass < 2; ++pass) {
    int pass_hits = 0;
    for (int i = 0; i < kKeys; ++i) {
      std::optional<std::string> v =
          cache.GetRemote(ContextKey{1, static_cast<uint64_t>(i), 2}, s, 1);
      if (v.has_value()) {
        EXPECT_EQ(*v, std::to_string(i));
        ++pass_hits;
      }
    }
    if (pass == 0) hits = pass_hits;
    EXPECT_EQ(pass_hits, hits);
  }
  EXPECT_GT(hits, 0);
  EXPECT_LT(hits, kKeys);
  CacheCounters c = cache.counters();
  EXPECT_EQ(c.remote_errors, 3u * (kKeys - hits));  // one put and two gets per dead key
  EXPECT_EQ(c.corrupt_rejected, 0u);
}

TEST_F(ContextCacheRemote, ManyThreads) {
  ContextCache cache(RemoteOptions(memcached_.address()));
  // Values name their key and stamp, so a reader can tell a wrong answer.
  auto value_for = [](const ContextKey& k, const Stamp& s) {
    return "ctx/" + std::to_string(k.caller_tenant) + "/" + std::to_string(k.caller_user) +
           "/" + std::to_string(k.target_tenant) + "@" + std::to_string(s.target) +
           std::string(static_cast<size_t>(k.caller_user * 37 % 500), '.');
  };
  std::vector<std::thread> threads;
  std::atomic<int> wrong{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t);
      for (int i = 0; i < 400; ++i) {
        const ContextKey k{1 + rng() % 2, rng() % 8, 3};
        const Stamp s{1, rng() % 3, 1};
        if (rng() % 2) {
          cache.PutRemote(k, s, 0, value_for(k, s));
        } else if (std::optional<std::string> v = cache.GetRemote(k, s, 1)) {
          if (*v != value_for(k, s)) wrong.fetch_add(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  CacheCounters c = cache.counters();
  EXPECT_GT(c.remote_hits, 0u);
  EXPECT_GT(c.stale_rejected, 0u);  // writers with other stamps overwrote entries
  EXPECT_EQ(c.corrupt_rejected, 0u);
  EXPECT_EQ(c.remote_errors, 0u);
}

}  // namespace
}  // namespace cotenant::sharing
