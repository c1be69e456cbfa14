#include "sharing/identity.h"

#include "storage/key_encoding.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include <nlohmann/json.hpp>

namespace cotenant::sharing {
namespace {

using json = nlohmann::json;
using storage::kGlobalTenant;

constexpr size_t kSecretBytes = 32;
constexpr std::string_view kKeyPrefix = "ck_";
constexpr std::string_view kUserPrefix = "user/";
constexpr std::string_view kUserNamePrefix = "username/";
constexpr std::string_view kApiKeyPrefix = "apikey/";

Status BadCredentials() { return Status::Unauthenticated(std::string(kBadCredentials)); }

std::string Hex16(uint64_t v) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i) {
    s[static_cast<size_t>(i)] = kDigits[v & 0xf];
    v >>= 4;
  }
  return s;
}

std::string ToHex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    s.push_back(kDigits[c >> 4]);
    s.push_back(kDigits[c & 0xf]);
  }
  return s;
}

bool FromHex(std::string_view hex, std::string* out) {
  if (hex.size() % 2) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    uint64_t hi, lo;
    auto nib = [](char c, uint64_t* d) {
      if (c >= '0' && c <= '9') *d = static_cast<uint64_t>(c - '0');
      else if (c >= 'a' && c <= 'f') *d = static_cast<uint64_t>(c - 'a' + 10);
      else return false;
      return true;
    };
    if (!nib(hex[i], &hi) || !nib(hex[i + 1], &lo)) return false;
    out->push_back(static_cast<char>((hi << 4) | lo));
  }
  return true;
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) |
                 uint32_t(uint8_t(in[i + 2]));
    out.push_back(kB64[(n >> 18) & 63]);
    out.push_back(kB64[(n >> 12) & 63]);
    out.push_back(kB64[(n >> 6) & 63]);
    out.push_back(kB64[n & 63]);
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    out.push_back(kB64[(n >> 18) & 63]);
    out.push_back(kB64[(n >> 12) & 63]);
  } else if (rest == 2) {
    uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out.push_back(kB64[(n >> 18) & 63]);
    out.push_back(kB64[(n >> 12) & 63]);
    out.push_back(kB64[(n >> 6) & 63]);
  }
  return out;
}

// Strict unpadded base64url; rejects non-canonical trailing bits.
bool Base64UrlDecode(std::string_view in, std::string* out) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  if (in.size() % 4 == 1) return false;
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = val(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return false;
  return true;
}

std::string Sha256(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

// "ck_<16 hex>_<43 base64url>" -> key id and raw secret. False for anything else.
bool ParseApiKey(std::string_view key, KeyId* id, std::string* secret) {
  if (key.size() > 128 || key.substr(0, kKeyPrefix.size()) != kKeyPrefix) return false;
  key.remove_prefix(kKeyPrefix.size());
  if (key.size() < 17 || key[16] != '_') return false;
  if (!storage::ParseHex16(key.substr(0, 16), id)) return false;
  if (!Base64UrlDecode(key.substr(17), secret)) return false;
  return secret->size() == kSecretBytes;
}

std::string UserKey(UserId id) { return std::string(kUserPrefix) + Hex16(id); }
std::string ApiKeyKey(KeyId id) { return std::string(kApiKeyPrefix) + Hex16(id); }
std::string UserNameKey(std::string_view name) {
  return std::string(kUserNamePrefix) + std::string(name);
}

json UserToJson(const User& u) {
  return json{{"id", u.id},
              {"tenant", u.tenant},
              {"name", u.name},
              {"level", std::string(AdminLevelName(u.level))},
              {"created_at", u.created_at},
              {"gen", u.generation}};
}

Status UserFromJson(std::string_view text, User* u) {
  try {
    json j = json::parse(text);
    u->id = j.at("id").get<uint64_t>();
    u->tenant = j.at("tenant").get<uint64_t>();
    u->name = j.at("name").get<std::string>();
    auto level = ParseAdminLevel(j.at("level").get<std::string>());
    if (!level) return Status::Internal("corrupt user record: bad level");
    u->level = *level;
    u->created_at = j.at("created_at").get<int64_t>();
    u->generation = j.value("gen", uint64_t{1});
    return Status::OK();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("corrupt user record: ") + e.what());
  }
}

// Maps a store error while authenticating: absence is a credential failure, anything
// else is an internal failure the operator must see.
Status AuthStoreError(const Status& s) {
  if (s.IsNotFound()) return BadCredentials();
  return Status::Internal(s.message());
}

}  // namespace

std::string_view AdminLevelName(AdminLevel level) {
  switch (level) {
    case AdminLevel::kUser: return "user";
    case AdminLevel::kTenantAdmin: return "tenantAdmin";
    case AdminLevel::kSystemAdmin: return "systemAdmin";
  }
  return "user";
}

std::optional<AdminLevel> ParseAdminLevel(std::string_view name) {
  if (name == "user") return AdminLevel::kUser;
  if (name == "tenantAdmin") return AdminLevel::kTenantAdmin;
  if (name == "systemAdmin") return AdminLevel::kSystemAdmin;
  return std::nullopt;
}

Status ValidateUserName(std::string_view name) {
  if (name.empty()) return Status::InvalidArgument("user name must not be empty");
  if (name.size() > 64) {
    return Status::InvalidArgument("user name is longer than 64 characters");
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    bool ok = alnum || c == '_' || (i > 0 && (c == '.' || c == '@' || c == '-'));
    if (!ok) {
      return Status::InvalidArgument("user name '" + std::string(name) +
                                     "' has an invalid character at position " +
                                     std::to_string(i + 1) +
                                     " (allowed: letters, digits, _ and, after the first, . @ -)");
    }
  }
  return Status::OK();
}

Identity::Identity(storage::Store* store, const Clock* clock) : store_(store), clock_(clock) {}

Status Identity::Prepare(TenantId tenant, const std::string& name, AdminLevel level,
                         Pending* p) {
  COTENANT_RETURN_IF_ERROR(ValidateUserName(name));
  storage::TenantInfo info;
  COTENANT_RETURN_IF_ERROR(store_->GetTenant(tenant, &info));
  std::string ignored;
  Status s = store_->MetaGet(tenant, UserNameKey(name), &ignored);
  if (s.ok()) return Status::Conflict("user '" + name + "' already exists in tenant " +
                                      std::to_string(tenant));
  if (!s.IsNotFound()) return s;

  p->user.tenant = tenant;
  p->user.name = name;
  p->user.level = level;
  p->user.created_at = clock_->NowMicros();
  p->user.generation = 1;
  COTENANT_RETURN_IF_ERROR(store_->NextId(kGlobalTenant, "user", &p->user.id));
  COTENANT_RETURN_IF_ERROR(store_->NextId(kGlobalTenant, "apikey", &p->key_id));

  unsigned char secret[kSecretBytes];
  if (RAND_bytes(secret, sizeof secret) != 1) {
    return Status::Internal("RAND_bytes failed: no randomness for an API key");
  }
  std::string_view secret_view(reinterpret_cast<const char*>(secret), sizeof secret);
  p->hash = Sha256(secret_view);
  p->api_key = std::string(kKeyPrefix) + Hex16(p->key_id) + "_" + Base64UrlEncode(secret_view);
  OPENSSL_cleanse(secret, sizeof secret);
  return Status::OK();
}

Status Identity::Commit(const Pending& p) {
  std::lock_guard<std::mutex> lock(create_mu_);
  const User& u = p.user;
  // Re-check under the lock: the tenant may have gone, the name may have been taken.
  storage::TenantInfo info;
  COTENANT_RETURN_IF_ERROR(store_->GetTenant(u.tenant, &info));
  std::string ignored;
  Status s = store_->MetaGet(u.tenant, UserNameKey(u.name), &ignored);
  if (s.ok()) return Status::Conflict("user '" + u.name + "' already exists in tenant " +
                                      std::to_string(u.tenant));
  if (!s.IsNotFound()) return s;

  storage::Store::MetaBatch batch;
  batch.Put(u.tenant, UserKey(u.id), UserToJson(u).dump());
  batch.Put(u.tenant, UserNameKey(u.name), Hex16(u.id));
  batch.Put(u.tenant, ApiKeyKey(p.key_id),
            json{{"id", p.key_id},
                 {"user", u.id},
                 {"hash", ToHex(p.hash)},
                 {"created_at", u.created_at},
                 {"gen", 1}}
                .dump());
  batch.Put(kGlobalTenant, ApiKeyKey(p.key_id), json{{"tenant", u.tenant}, {"user", u.id}}.dump());
  batch.Put(kGlobalTenant, UserKey(u.id), json{{"tenant", u.tenant}}.dump());
  COTENANT_RETURN_IF_ERROR(store_->MetaWrite(batch));

  std::unique_lock<std::shared_mutex> cache(cache_mu_);
  users_[u.id] = u;
  keys_[p.key_id] = CachedKey{u.tenant, u.id, p.hash, 1};
  return Status::OK();
}

Status Identity::CreateUser(TenantId tenant, const std::string& name, AdminLevel level,
                            User* out, std::string* api_key) {
  if (tenant == kGlobalTenant) return Status::NotFound("tenant 0 does not exist");
  Pending p;
  COTENANT_RETURN_IF_ERROR(Prepare(tenant, name, level, &p));
  COTENANT_RETURN_IF_ERROR(Commit(p));
  *out = p.user;
  *api_key = p.api_key;
  return Status::OK();
}

Status Identity::LoadKey(KeyId id, CachedKey* out) const {
  std::string value;
  COTENANT_RETURN_IF_ERROR(store_->MetaGet(kGlobalTenant, ApiKeyKey(id), &value));
  TenantId tenant;
  try {
    tenant = json::parse(value).at("tenant").get<uint64_t>();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("corrupt API key index entry: ") + e.what());
  }
  COTENANT_RETURN_IF_ERROR(store_->MetaGet(tenant, ApiKeyKey(id), &value));
  try {
    json j = json::parse(value);
    out->tenant = tenant;
    out->user = j.at("user").get<uint64_t>();
    out->generation = j.value("gen", uint64_t{1});
    if (j.value("revoked", false)) return Status::NotFound("API key revoked");
    if (!FromHex(j.at("hash").get<std::string>(), &out->hash)) {
      return Status::Internal("corrupt API key record: bad hash");
    }
  } catch (const std::exception& e) {
    return Status::Internal(std::string("corrupt API key record: ") + e.what());
  }
  return Status::OK();
}

Status Identity::KeyOwner(KeyId id, TenantId* tenant, UserId* user) const {
  std::string value;
  COTENANT_RETURN_IF_ERROR(store_->MetaGet(kGlobalTenant, ApiKeyKey(id), &value));
  json j = json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("tenant") || !j.contains("user") ||
      !j["tenant"].is_number_unsigned() || !j["user"].is_number_unsigned()) {
    return Status::Internal("corrupt API key index entry");
  }
  *tenant = j["tenant"].get<uint64_t>();
  *user = j["user"].get<uint64_t>();
  return Status::OK();
}

Status Identity::LoadUser(TenantId tenant, UserId id, User* out) const {
  std::string value;
  COTENANT_RETURN_IF_ERROR(store_->MetaGet(tenant, UserKey(id), &value));
  return UserFromJson(value, out);
}

Status Identity::Authenticate(TenantId tenant, std::string_view api_key, User* user,
                              Credential* cred) {
  KeyId key_id = 0;
  std::string secret;
  if (tenant == kGlobalTenant || !ParseApiKey(api_key, &key_id, &secret)) {
    return BadCredentials();
  }
  storage::TenantInfo info;
  Status s = store_->GetTenant(tenant, &info);
  if (!s.ok()) return AuthStoreError(s);

  // Key: from the cache, else from the store (cached only if nothing changed meanwhile).
  CachedKey key;
  bool have_key = false;
  User u;
  bool have_user = false;
  {
    std::shared_lock<std::shared_mutex> lock(cache_mu_);
    auto it = keys_.find(key_id);
    if (it != keys_.end()) {
      key = it->second;
      have_key = true;
      auto ut = users_.find(key.user);
      if (ut != users_.end()) {
        u = ut->second;
        have_user = true;
      }
    }
  }
  uint64_t epoch = change_epoch_.load(std::memory_order_acquire);
  if (!have_key) {
    s = LoadKey(key_id, &key);
    if (!s.ok()) return AuthStoreError(s);
  }
  if (key.tenant != tenant) return BadCredentials();
  std::string presented = Sha256(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  if (key.hash.size() != presented.size() ||
      CRYPTO_memcmp(key.hash.data(), presented.data(), presented.size()) != 0) {
    return BadCredentials();
  }
  if (!have_user) {
    s = LoadUser(tenant, key.user, &u);
    if (!s.ok()) return AuthStoreError(s);
    if (u.tenant != tenant) return BadCredentials();
  }
  if (!have_key || !have_user) {
    std::unique_lock<std::shared_mutex> lock(cache_mu_);
    if (change_epoch_.load(std::memory_order_acquire) == epoch) {
      keys_.try_emplace(key_id, key);
      users_.try_emplace(u.id, u);
    }
  }
  *user = u;
  if (cred != nullptr) {
    *cred = Credential{tenant, u.id, key_id, u.generation, key.generation};
  }
  return Status::OK();
}

Status Identity::Check(const Credential& cred, User* user) const {
  auto matches = [&cred](const CachedKey& k, const User& u) {
    return k.generation == cred.key_generation && k.user == cred.user &&
           k.tenant == cred.tenant && u.generation == cred.user_generation;
  };
  bool cached = false;
  {
    std::shared_lock<std::shared_mutex> lock(cache_mu_);
    auto kt = keys_.find(cred.key);
    auto ut = users_.find(cred.user);
    if (kt != keys_.end() && ut != users_.end()) {
      if (!matches(kt->second, ut->second)) return BadCredentials();
      if (user != nullptr) *user = ut->second;
      cached = true;
    } else if (!store_->shared()) {
      // Alone on the store, every change goes through this cache: absent = revoked.
      return BadCredentials();
    }
  }
  if (!cached) {
    // A shared store: the tenant changed on another front-end and its entries were
    // dropped (Sharing::Observe). What the store holds now decides.
    uint64_t epoch = change_epoch_.load(std::memory_order_acquire);
    CachedKey key;
    User u;
    Status s = LoadKey(cred.key, &key);
    if (s.IsNotFound()) return BadCredentials();
    if (!s.ok()) return AuthStoreError(s);
    s = LoadUser(cred.tenant, cred.user, &u);
    if (s.IsNotFound()) return BadCredentials();
    if (!s.ok()) return AuthStoreError(s);
    if (u.tenant != cred.tenant || !matches(key, u)) return BadCredentials();
    std::unique_lock<std::shared_mutex> lock(cache_mu_);
    if (change_epoch_.load(std::memory_order_acquire) == epoch) {
      keys_.try_emplace(cred.key, key);
      users_.try_emplace(u.id, u);
    }
    if (user != nullptr) *user = u;
  }
  storage::TenantInfo info;
  Status s = store_->GetTenant(cred.tenant, &info);
  if (!s.ok()) return AuthStoreError(s);
  return Status::OK();
}

Status Identity::GetUser(TenantId tenant, UserId id, User* out) {
  {
    std::shared_lock<std::shared_mutex> lock(cache_mu_);
    auto it = users_.find(id);
    if (it != users_.end() && it->second.tenant == tenant) {
      *out = it->second;
      lock.unlock();
      storage::TenantInfo info;
      return store_->GetTenant(tenant, &info);
    }
  }
  storage::TenantInfo info;
  COTENANT_RETURN_IF_ERROR(store_->GetTenant(tenant, &info));
  Status s = LoadUser(tenant, id, out);
  if (s.IsNotFound()) {
    return Status::NotFound("user " + std::to_string(id) + " does not exist in tenant " +
                            std::to_string(tenant));
  }
  return s;
}

Status Identity::FindUser(UserId id, User* out) {
  std::string value;
  Status s = store_->MetaGet(kGlobalTenant, UserKey(id), &value);
  if (s.IsNotFound()) return Status::NotFound("user " + std::to_string(id) + " does not exist");
  COTENANT_RETURN_IF_ERROR(s);
  TenantId tenant;
  try {
    tenant = json::parse(value).at("tenant").get<uint64_t>();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("corrupt user index entry: ") + e.what());
  }
  s = GetUser(tenant, id, out);
  if (s.IsNotFound()) return Status::NotFound("user " + std::to_string(id) + " does not exist");
  return s;
}

Status Identity::ListUsers(TenantId tenant, std::vector<User>* out) const {
  out->clear();
  storage::TenantInfo info;
  COTENANT_RETURN_IF_ERROR(store_->GetTenant(tenant, &info));
  Status parse_status;
  COTENANT_RETURN_IF_ERROR(store_->MetaScan(
      tenant, kUserPrefix, [&](std::string_view, std::string_view value) {
        User u;
        parse_status = UserFromJson(value, &u);
        if (!parse_status.ok()) return false;
        out->push_back(std::move(u));
        return true;
      }));
  return parse_status;  // keys are "user/<hex id>", so the scan is in id order
}

std::string KeyIdText(KeyId id) { return Hex16(id); }

bool ParseKeyIdText(std::string_view text, KeyId* id) { return storage::ParseHex16(text, id); }

Status Identity::DeleteUser(TenantId tenant, UserId id) {
  std::lock_guard<std::mutex> lock(create_mu_);
  User u;
  COTENANT_RETURN_IF_ERROR(GetUser(tenant, id, &u));
  storage::Store::MetaBatch batch;
  batch.Delete(tenant, UserKey(id));
  batch.Delete(tenant, UserNameKey(u.name));
  batch.Delete(kGlobalTenant, UserKey(id));
  std::vector<KeyInfo> keys;
  COTENANT_RETURN_IF_ERROR(ListKeys(tenant, id, &keys));
  for (const auto& k : keys) {
    batch.Delete(tenant, ApiKeyKey(k.id));
    batch.Delete(kGlobalTenant, ApiKeyKey(k.id));
  }
  COTENANT_RETURN_IF_ERROR(store_->MetaWrite(batch));
  std::unique_lock<std::shared_mutex> cache(cache_mu_);
  change_epoch_.fetch_add(1, std::memory_order_acq_rel);
  users_.erase(id);
  std::erase_if(keys_, [&](const auto& kv) { return kv.second.user == id; });
  return Status::OK();
}

Status Identity::CreateKey(TenantId tenant, UserId user, KeyInfo* out, std::string* api_key) {
  User u;
  COTENANT_RETURN_IF_ERROR(GetUser(tenant, user, &u));
  KeyId key_id = 0;
  COTENANT_RETURN_IF_ERROR(store_->NextId(kGlobalTenant, "apikey", &key_id));
  unsigned char secret[kSecretBytes];
  if (RAND_bytes(secret, sizeof secret) != 1) {
    return Status::Internal("RAND_bytes failed: no randomness for an API key");
  }
  std::string_view secret_view(reinterpret_cast<const char*>(secret), sizeof secret);
  std::string hash = Sha256(secret_view);
  std::string key = std::string(kKeyPrefix) + Hex16(key_id) + "_" + Base64UrlEncode(secret_view);
  OPENSSL_cleanse(secret, sizeof secret);
  int64_t now = clock_->NowMicros();
  std::lock_guard<std::mutex> lock(create_mu_);
  storage::Store::MetaBatch batch;
  batch.Put(tenant, ApiKeyKey(key_id),
            json{{"id", key_id}, {"user", user}, {"hash", ToHex(hash)}, {"created_at", now}, {"gen", 1}}
                .dump());
  batch.Put(kGlobalTenant, ApiKeyKey(key_id), json{{"tenant", tenant}, {"user", user}}.dump());
  COTENANT_RETURN_IF_ERROR(store_->MetaWrite(batch));
  {
    std::unique_lock<std::shared_mutex> cache(cache_mu_);
    keys_[key_id] = CachedKey{tenant, user, hash, 1};
  }
  *out = KeyInfo{key_id, user, now, false};
  *api_key = std::move(key);
  return Status::OK();
}

Status Identity::RevokeKey(TenantId tenant, KeyId id) {
  std::lock_guard<std::mutex> lock(create_mu_);
  std::string value;
  Status s = store_->MetaGet(tenant, ApiKeyKey(id), &value);
  if (s.IsNotFound()) {
    return Status::NotFound("API key " + Hex16(id) + " does not exist in tenant " +
                            std::to_string(tenant));
  }
  COTENANT_RETURN_IF_ERROR(s);
  json j = json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Internal("corrupt API key record");
  j["revoked"] = true;
  j["gen"] = j.value("gen", uint64_t{1}) + 1;
  storage::Store::MetaBatch batch;
  batch.Put(tenant, ApiKeyKey(id), j.dump());
  batch.Delete(kGlobalTenant, ApiKeyKey(id));
  COTENANT_RETURN_IF_ERROR(store_->MetaWrite(batch));
  std::unique_lock<std::shared_mutex> cache(cache_mu_);
  change_epoch_.fetch_add(1, std::memory_order_acq_rel);
  keys_.erase(id);
  return Status::OK();
}

Status Identity::ListKeys(TenantId tenant, UserId user, std::vector<KeyInfo>* out) {
  out->clear();
  storage::TenantInfo info;
  COTENANT_RETURN_IF_ERROR(store_->GetTenant(tenant, &info));
  return store_->MetaScan(tenant, kApiKeyPrefix, [&](std::string_view, std::string_view value) {
    json j = json::parse(value, nullptr, false);
    if (j.is_object() && j.value("user", uint64_t{0}) == user) {
      out->push_back(KeyInfo{j.value("id", uint64_t{0}), user, j.value("created_at", int64_t{0}),
                             j.value("revoked", false)});
    }
    return true;
  });
}

void Identity::ForgetTenant(TenantId tenant) {
  std::unique_lock<std::shared_mutex> lock(cache_mu_);
  change_epoch_.fetch_add(1, std::memory_order_acq_rel);
  std::erase_if(users_, [&](const auto& kv) { return kv.second.tenant == tenant; });
  std::erase_if(keys_, [&](const auto& kv) { return kv.second.tenant == tenant; });
}

}  // namespace cotenant::sharing
