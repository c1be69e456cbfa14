// Forged context-cache entries, end to end: a real cotenantd with --memcached against a
// real memcached, and an attacker who can read and write that memcached (over its text
// protocol) but does not hold the installation secret. The attacker reads genuine
// entries, learns their format and the current generations from them, and plants
// entries that would grant what no policy grants: for the current generation while the
// server is down (found at once after the restart), and for the next generation, which it
// then brings about itself (a plain user revoking its own API key, a publisher revoking a
// policy). None may be served: the calls stay denied and the MAC rejections are counted.

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/revocation_support.h"

namespace cotenant::testing {
namespace {

using json = nlohmann::json;

// A cached entry split into the fields of its documented layout (sharing/context_cache.cc):
// magic and version, store id, key, stamp, expiry, payload, and whatever authenticates it.
struct Entry {
  std::string head;  // magic + version
  std::string store_id;
  uint64_t caller_tenant = 0, caller_user = 0, target_tenant = 0;
  uint64_t gen_global = 0, gen_target = 0, gen_caller = 0;
  uint64_t expires_at = 0;
  std::string payload;
  std::string trailer;  // checksum or MAC
};

uint64_t Le(std::string_view v, size_t off, int bytes) {
  uint64_t r = 0;
  for (int i = 0; i < bytes; ++i) r |= static_cast<uint64_t>(static_cast<unsigned char>(v[off + i])) << (8 * i);
  return r;
}
void PutLe(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::optional<Entry> Parse(const std::string& v) {
  Entry e;
  if (v.size() < 9) return std::nullopt;
  e.head = v.substr(0, 5);
  size_t off = 5;
  const size_t sid = Le(v, off, 4);
  off += 4;
  if (v.size() < off + sid + 7 * 8 + 4) return std::nullopt;
  e.store_id = v.substr(off, sid);
  off += sid;
  uint64_t* fields[] = {&e.caller_tenant, &e.caller_user, &e.target_tenant, &e.gen_global,
                        &e.gen_target,    &e.gen_caller,  &e.expires_at};
  for (uint64_t* f : fields) {
    *f = Le(v, off, 8);
    off += 8;
  }
  const size_t len = Le(v, off, 4);
  off += 4;
  if (v.size() < off + len) return std::nullopt;
  e.payload = v.substr(off, len);
  e.trailer = v.substr(off + len);
  return e;
}

// What the attacker writes: the fields as given and, for a checksummed entry, the checksum
// recomputed; an entry authenticated by something the attacker cannot compute keeps the
// trailer of the genuine entry it was made from.
std::string Forge(const Entry& e) {
  std::string out = e.head;
  PutLe(&out, e.store_id.size(), 4);
  out += e.store_id;
  for (uint64_t f : {e.caller_tenant, e.caller_user, e.target_tenant, e.gen_global, e.gen_target,
                     e.gen_caller, e.expires_at}) {
    PutLe(&out, f, 8);
  }
  PutLe(&out, e.payload.size(), 4);
  out += e.payload;
  if (e.trailer.size() == 8) {
    PutLe(&out, Fnv1a64(out), 8);
  } else {
    out += e.trailer;
  }
  return out;
}

// The resolved context of `e` turned into one for caller (tenant, user): every right on
// every object, as the publisher's admin, with no scope.
Entry GrantEverything(Entry e, uint64_t tenant, uint64_t user, uint64_t as_user) {
  e.caller_tenant = tenant;
  e.caller_user = user;
  json j = json::parse(e.payload);
  j["ct"] = tenant;
  j["cu"] = user;
  j["path"] = 2;  // a policy
  j["principal"] = as_user;
  j["policy"] = "forged";
  j["denial"] = "";
  j["rights"] = json{{"*", 15}};
  j["scoped"] = false;
  j["scope"] = json::array();
  e.payload = j.dump();
  return e;
}

std::string KeyOf(const std::string& prefix, uint64_t ct, uint64_t cu, uint64_t tt) {
  return prefix + std::to_string(ct) + ":" + std::to_string(cu) + ":" + std::to_string(tt);
}

double MacRejections(const Cotenantd& server) { return ReadCacheMetrics(server).mac; }

// Writes a secret file of `content` with exactly `mode`.
bool CreateSecret(const std::string& path, const std::string& content, mode_t mode = 0600) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return false;
  bool ok = ::fchmod(fd, mode) == 0 &&
            ::write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size());
  return ::close(fd) == 0 && ok;
}

// Waits (bounded) until memcached holds `key`, and returns its value.
std::optional<std::string> AwaitEntry(McConn& mc, const std::string& key) {
  for (int i = 0; i < 100; ++i) {
    if (auto v = mc.Get(key)) return v;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::nullopt;
}

struct World {
  Share s;
  TenantHandle qrs;         // no policy of ABC admits it
  uint64_t qrs_user = 0;    // a plain QRS user
  std::string qrs_user_key;
  std::string prefix;       // "ctc:<store>:"
};

World MakeWorld(const Cotenantd& server, Client& admin, const std::string& tag) {
  World w;
  w.s = MakeShare(server, admin, tag);
  w.qrs = MakeTenant(server, admin, "QRS-" + tag);
  auto u = w.qrs.client->createUser(0, "plain", AdminLevel::User);
  EXPECT_TRUE(u.ok()) << u.getMessage();
  if (u.ok()) {
    w.qrs_user = u.value().user.id;
    w.qrs_user_key = u.value().apiKey;
  }
  return w;
}

// An update of ABC's record through a TenantContext is refused (the context or the call).
void ExpectWriteDenied(Client& c, const Share& s, const std::string& what) {
  try {
    TenantContext ctx(c, s.abc.id);
    Parameters p;
    p.add("last_name", "overwritten");
    Result r = c.updateRecord("Customers", s.record, p, ctx);
    EXPECT_EQ(r.getCode(), ErrorCode::PermissionDenied) << what << ": " << r.getMessage();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::PermissionDenied) << what << ": " << e.what();
  }
}

// What every call that a forgery would allow must answer.
void ExpectNoForgedAccess(const Cotenantd& server, const World& w, ErrorCode xyz_code,
                          const std::string& when) {
  const Share& s = w.s;
  auto qrs = Client::connect(server.address(), w.qrs.id, w.qrs_user_key);
  std::string why;
  EXPECT_EQ(ContextCall(*qrs, s.abc.id, s.record, s.first_name, &why), ErrorCode::PermissionDenied)
      << when << " (QRS read ABC): " << why;
  ExpectWriteDenied(*qrs, s, when + " (QRS write ABC)");
  auto xyz = Client::connect(server.address(), s.xyz.id, s.caller_key);
  EXPECT_EQ(ContextCall(*xyz, s.abc.id, s.record, s.first_name, &why), xyz_code)
      << when << " (XYZ read ABC): " << why;
  ExpectWriteDenied(*xyz, s, when + " (XYZ write ABC)");
  // The record is untouched.
  auto abc = Client::connect(server.address(), s.abc.id, s.abc.key);
  Result own = abc->getRecord("Customers", "last_name", s.record);
  ASSERT_TRUE(own.ok()) << own.getMessage();
  ASSERT_EQ(own.getRecords().size(), 1u);
  EXPECT_TRUE(own.getRecords()[0].get("last_name").isNull()) << when;
}

TEST(CacheForgeryTest, ForgedReplayedAndFutureStampedEntriesAreNeverServed) {
  Memcached mc;
  ASSERT_TRUE(mc.ok());
  Cotenantd server({"--memcached", mc.address()});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  World w = MakeWorld(server, *admin, "forge");
  const Share& s = w.s;
  ASSERT_NE(s.record, 0u);
  ASSERT_NE(w.qrs_user, 0u);

  // Genuine entries to learn from: XYZ's caller into ABC (granted by the policy) and the
  // QRS user into ABC (denied) and into its own tenant.
  auto xyz = Client::connect(server.address(), s.xyz.id, s.caller_key);
  ASSERT_EQ(ContextCall(*xyz, s.abc.id, s.record, s.first_name), ErrorCode::OK);
  auto qrs = Client::connect(server.address(), w.qrs.id, w.qrs_user_key);
  ASSERT_EQ(ContextCall(*qrs, s.abc.id, s.record, s.first_name), ErrorCode::PermissionDenied);
  Result own_call = qrs->getRecord("Customers", "first_name", 1);  // resolves QRS's own context
  (void)own_call;
  std::vector<std::string> keys = ContextKeys(mc.port());
  ASSERT_FALSE(keys.empty());
  w.prefix = keys[0].substr(0, keys[0].find(':', 4) + 1);
  McConn raw(mc.port());
  ASSERT_TRUE(raw.ok());
  const std::string xyz_key = KeyOf(w.prefix, s.xyz.id, s.caller, s.abc.id);
  const std::string qrs_key = KeyOf(w.prefix, w.qrs.id, w.qrs_user, s.abc.id);
  const std::string qrs_own_key = KeyOf(w.prefix, w.qrs.id, w.qrs_user, w.qrs.id);
  std::optional<std::string> xyz_v = AwaitEntry(raw, xyz_key);
  std::optional<std::string> qrs_v = AwaitEntry(raw, qrs_key);
  std::optional<std::string> qrs_own_v = AwaitEntry(raw, qrs_own_key);
  ASSERT_TRUE(xyz_v && qrs_v && qrs_own_v);
  std::optional<Entry> xyz_e = Parse(*xyz_v), qrs_e = Parse(*qrs_v), qrs_own_e = Parse(*qrs_own_v);
  ASSERT_TRUE(xyz_e && qrs_e && qrs_own_e);
  // What the attacker now knows: the current generations of ABC, QRS and the installation.
  ASSERT_EQ(qrs_e->gen_target, xyz_e->gen_target);
  ASSERT_EQ(qrs_e->gen_caller, qrs_own_e->gen_caller);
  double rejected = MacRejections(server);

  // 1. The server is down; every forgery goes in for the current generations; restart.
  ASSERT_EQ(server.Stop(), 0) << server.log();
  Entry forged = GrantEverything(*xyz_e, w.qrs.id, w.qrs_user, s.abc.user);
  forged.gen_caller = qrs_e->gen_caller;  // the QRS generation, not XYZ's
  ASSERT_TRUE(raw.Set(qrs_key, Forge(forged)));
  // XYZ's caller with its read widened to everything.
  ASSERT_TRUE(raw.Set(xyz_key, Forge(GrantEverything(*xyz_e, s.xyz.id, s.caller, s.abc.user))));
  // A plain copy of XYZ's genuine entry under QRS's key (key and payload still say XYZ).
  const std::string qrs_other_user_key = KeyOf(w.prefix, w.qrs.id, w.qrs.user, s.abc.id);
  ASSERT_TRUE(raw.Set(qrs_other_user_key, *xyz_v));
  ASSERT_TRUE(server.Restart()) << server.log();
  ExpectNoForgedAccess(server, w, ErrorCode::OK, "forged while the server was down");
  // The QRS admin (its key got a genuine entry of XYZ's) is refused as well.
  std::string why;
  auto qrs_admin = Client::connect(server.address(), w.qrs.id, w.qrs.key);
  EXPECT_EQ(ContextCall(*qrs_admin, s.abc.id, s.record, s.first_name, &why),
            ErrorCode::PermissionDenied) << why;
  double now = MacRejections(server);
  std::cout << "[restart] mac rejections " << now << std::endl;
  EXPECT_GE(now, 2) << "the forgeries were not counted";
  // The server replaced them with genuine entries: XYZ reads, as its policy says.
  rejected = MacRejections(server);

  // 2. Planted for the next generation of QRS, which the plain QRS user then brings about
  //    by creating and revoking an API key of its own. First learn by how much that moves
  //    the generation (as an attacker would).
  qrs = Client::connect(server.address(), w.qrs.id, w.qrs_user_key);
  auto bump = [&]() {
    auto k = qrs->createApiKey(0, w.qrs_user);
    ASSERT_TRUE(k.ok()) << k.getMessage();
    ASSERT_TRUE(qrs->revokeApiKey(0, k.value().key.keyId).ok());
  };
  std::optional<Entry> before = Parse(raw.Get(qrs_own_key).value_or(""));
  ASSERT_TRUE(before.has_value());
  bump();
  own_call = qrs->getRecord("Customers", "first_name", 1);
  std::optional<Entry> after;
  for (int i = 0; i < 100; ++i) {
    after = Parse(raw.Get(qrs_own_key).value_or(""));
    if (after && after->gen_caller != before->gen_caller) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(after.has_value());
  const uint64_t step = after->gen_caller - before->gen_caller;
  ASSERT_GT(step, 0u) << "revoking a key did not move the tenant's generation";
  // The denial is cached in process now; plant the grant for the generation to come.
  ASSERT_EQ(ContextCall(*qrs, s.abc.id, s.record, s.first_name), ErrorCode::PermissionDenied);
  std::optional<Entry> qrs_now = Parse(AwaitEntry(raw, qrs_key).value_or(""));
  ASSERT_TRUE(qrs_now.has_value());
  Entry next = GrantEverything(*qrs_now, w.qrs.id, w.qrs_user, s.abc.user);
  next.gen_caller = qrs_now->gen_caller + step;
  ASSERT_TRUE(raw.Set(qrs_key, Forge(next)));
  bump();
  ExpectNoForgedAccess(server, w, ErrorCode::OK, "planted for the next QRS generation");
  now = MacRejections(server);
  std::cout << "[next generation] mac rejections " << now << std::endl;
  EXPECT_GT(now, rejected) << "the forgery was not read and refused";
  rejected = now;

  // 3. Planted for the generation a revocation brings: XYZ's entry, widened, for ABC's
  //    next generation; then ABC deletes its policy (one bump of ABC's generation).
  xyz = Client::connect(server.address(), s.xyz.id, s.caller_key);
  ASSERT_EQ(ContextCall(*xyz, s.abc.id, s.record, s.first_name), ErrorCode::OK);
  std::optional<Entry> xyz_now = Parse(AwaitEntry(raw, xyz_key).value_or(""));
  ASSERT_TRUE(xyz_now.has_value());
  Entry kept = GrantEverything(*xyz_now, s.xyz.id, s.caller, s.abc.user);
  kept.gen_target = xyz_now->gen_target + 1;
  ASSERT_TRUE(raw.Set(xyz_key, Forge(kept)));
  // Also a genuine old entry of QRS (from before the restart): a replay of an old generation.
  ASSERT_TRUE(raw.Set(qrs_key, *qrs_v));
  auto abc = Client::connect(server.address(), s.abc.id, s.abc.key);
  ASSERT_TRUE(abc->deletePolicy(0, "to-xyz").ok());
  ExpectNoForgedAccess(server, w, ErrorCode::PermissionDenied, "planted for after deletePolicy");
  now = MacRejections(server);
  std::cout << "[after revocation] mac rejections " << now << std::endl;
  EXPECT_GT(now, rejected) << "the forgery was not read and refused";

  // 4. And once more across a restart, forgeries for the current generations in place.
  std::optional<Entry> xyz_denied = Parse(AwaitEntry(raw, xyz_key).value_or(""));
  ASSERT_TRUE(xyz_denied.has_value());
  ASSERT_EQ(server.Stop(), 0) << server.log();
  ASSERT_TRUE(raw.Set(xyz_key, Forge(GrantEverything(*xyz_denied, s.xyz.id, s.caller, s.abc.user))));
  ASSERT_TRUE(server.Restart()) << server.log();
  ExpectNoForgedAccess(server, w, ErrorCode::PermissionDenied, "after revocation and restart");
  EXPECT_GE(MacRejections(server), 1);
}

TEST(CacheForgeryTest, EntriesOfAServerWithAnotherSecretAreRefused) {
  // Two front-ends of one installation share a memcached; the second was given another
  // secret file by mistake. It serves correct answers, and says what happens.
  Memcached mc;
  ASSERT_TRUE(mc.ok());
  TempDir secrets;
  const std::string secret_path = secrets.path() + "/secret";
  ASSERT_TRUE(CreateSecret(secret_path, std::string(32, 'a')));
  Cotenantd server({"--memcached", mc.address(), "--cache-secret-file", secret_path});
  ASSERT_TRUE(server.ok()) << server.log();
  auto admin = AdminClient(server);
  World w = MakeWorld(server, *admin, "other-secret");
  auto xyz = Client::connect(server.address(), w.s.xyz.id, w.s.caller_key);
  ASSERT_EQ(ContextCall(*xyz, w.s.abc.id, w.s.record, w.s.first_name), ErrorCode::OK);
  ASSERT_FALSE(ContextKeys(mc.port()).empty());

  // Same data, same memcached, another secret: every entry of the first is refused.
  ASSERT_EQ(server.Stop(), 0);
  ASSERT_EQ(::unlink(secret_path.c_str()), 0);
  ASSERT_TRUE(CreateSecret(secret_path, std::string(32, 'b')));
  ASSERT_TRUE(server.Restart()) << server.log();
  ExpectNoForgedAccess(server, w, ErrorCode::OK, "another secret");
  EXPECT_GE(MacRejections(server), 1);
  const CacheMetrics m = ReadCacheMetrics(server);
  EXPECT_EQ(m.memcached_hit, 0) << m;
  // Rejections are logged, rate-limited: not one line per entry.
  const std::string log = server.log();
  size_t lines = 0;
  for (size_t at = log.find("failed authentication"); at != std::string::npos;
       at = log.find("failed authentication", at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 1u) << log;
  EXPECT_LE(lines, 2u) << log;
  EXPECT_GE(MacRejections(server), 3);
}

TEST(CacheSecretFlagTest, AnUnsafeOrMalformedSecretFileIsRefusedAtStart) {
  TempDir dir;
  struct Case {
    std::string name;
    std::string content;
    mode_t mode;
    std::string expect;  // in the log
  };
  const Case cases[] = {
      {"group-readable", std::string(32, 'x'), 0640, "must not be accessible to group or others"},
      {"world-readable", std::string(32, 'x'), 0604, "must not be accessible to group or others"},
      {"short", std::string(16, 'x'), 0600, "exactly 32"},
      {"long", std::string(33, 'x'), 0600, "exactly 32"},
  };
  for (const Case& c : cases) {
    const std::string path = dir.path() + "/" + c.name;
    ASSERT_TRUE(CreateSecret(path, c.content, c.mode));
    const std::string log = dir.path() + "/" + c.name + ".log";
    Process p;
    ASSERT_TRUE(p.Start({BinaryPath("cotenantd"), "--data", dir.path() + "/data-" + c.name,
                         "--listen", "127.0.0.1:" + std::to_string(FreePort()),
                         "--cache-secret-file", path},
                        log));
    const int status = p.Stop(0, std::chrono::seconds(30));  // signal 0: just wait
    ASSERT_TRUE(WIFEXITED(status)) << c.name << ": " << ReadFile(log);
    EXPECT_EQ(WEXITSTATUS(status), 1) << c.name;
    EXPECT_NE(ReadFile(log).find(c.expect), std::string::npos) << c.name << ": " << ReadFile(log);
  }
  // A named file that does not exist is refused too (every front-end must get the same one).
  Process p;
  const std::string log = dir.path() + "/missing.log";
  ASSERT_TRUE(p.Start({BinaryPath("cotenantd"), "--data", dir.path() + "/data-missing", "--listen",
                       "127.0.0.1:" + std::to_string(FreePort()), "--cache-secret-file",
                       dir.path() + "/missing"},
                      log));
  const int status = p.Stop(0, std::chrono::seconds(30));
  ASSERT_TRUE(WIFEXITED(status)) << ReadFile(log);
  EXPECT_EQ(WEXITSTATUS(status), 1);
  EXPECT_NE(ReadFile(log).find("does not exist"), std::string::npos) << ReadFile(log);

  // Without the flag, the secret is made in the data directory on first start, mode 0600.
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  struct stat st {};
  ASSERT_EQ(::stat((server.data_dir() + "/data/cache.secret").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_EQ(st.st_size, 32);
}

}  // namespace
}  // namespace cotenant::testing
