// Identities: users, admin levels and API keys.
//
// A user belongs to one home tenant, has an admin level (user, tenant admin, system
// admin) and authenticates with an API key. Everything is persisted in the Store's meta
// column family, values as JSON:
//
//   tenant T  "user/<16 hex user id>"    -> {"id","tenant","name","level","created_at","gen"}
//   tenant T  "username/<name>"          -> "<16 hex user id>"
//   tenant T  "apikey/<16 hex key id>"   -> {"id","user","hash","created_at","gen"}
//   global    "apikey/<16 hex key id>"   -> {"tenant","user"}   (the login index)
//   global    "user/<16 hex user id>"    -> {"tenant"}          (find a user by id)
//
// Everything of a user and its keys lives in its home tenant's key range, so deleting
// the tenant deletes them; the global index entries that remain point at a tenant that
// no longer exists and are treated as absent. User and key ids come from global
// sequences and are never reused.
//
// API keys look like "ck_<16 hex key id>_<43 chars base64url secret>". The secret is 32
// bytes from RAND_bytes; only SHA-256(secret) is stored, and it is compared in constant
// time. The key id in the clear lets login find the key without scanning.
//
// Errors: Authenticate answers Unauthenticated with the same message for every failure
// (see kBadCredentials), so neither tenants nor keys can be probed. CreateUser answers
// NotFound for a tenant that does not exist, InvalidArgument for a bad name, Conflict for
// a name already taken in the tenant.
//
// Sessions. Authenticate returns a Credential; a session keeps it and calls Check() on
// every call. Check() is an in-memory lookup: the user and key are in the cache (filled
// by CreateUser and Authenticate, write-through on every change made through this
// class), and each carries a generation that any change to it bumps (issue 3: roles, key
// rotation and revocation, user deletion). A credential whose user or key is gone, or
// whose generation moved on, or whose home tenant is not live, fails with
// Unauthenticated.
//
// Thread safety: an Identity is safe for concurrent use from any number of threads.

#ifndef COTENANT_SHARING_IDENTITY_H_
#define COTENANT_SHARING_IDENTITY_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "common/env.h"
#include "storage/storage.h"

namespace cotenant::sharing {

using storage::TenantId;
using storage::UserId;
using KeyId = uint64_t;

enum class AdminLevel : unsigned char { kUser = 0, kTenantAdmin = 1, kSystemAdmin = 2 };
std::string_view AdminLevelName(AdminLevel level);  // "user", "tenantAdmin", "systemAdmin"
std::optional<AdminLevel> ParseAdminLevel(std::string_view name);

struct User {
  UserId id = 0;
  TenantId tenant = 0;  // home tenant
  std::string name;
  AdminLevel level = AdminLevel::kUser;
  int64_t created_at = 0;  // micros since the epoch
  uint64_t generation = 1;  // bumped by every change to the user (roles, level, ...)
};

// What a session holds: who authenticated, with which key, at which generations.
struct Credential {
  TenantId tenant = 0;
  UserId user = 0;
  KeyId key = 0;
  uint64_t user_generation = 0;
  uint64_t key_generation = 0;
};

struct KeyInfo {
  KeyId id = 0;
  UserId user = 0;
  int64_t created_at = 0;
  bool revoked = false;
};

// "<16 hex>" form of a key id, as it appears inside keys and in listings.
std::string KeyIdText(KeyId id);
// Parses KeyIdText; false when malformed.
bool ParseKeyIdText(std::string_view text, KeyId* id);

// The one message of every authentication failure.
inline constexpr std::string_view kBadCredentials = "invalid tenant id or API key";

// Checks a user name: 1..64 characters of [A-Za-z0-9_.@-], starting with a letter, digit
// or underscore. InvalidArgument naming the problem otherwise.
Status ValidateUserName(std::string_view name);

class Identity {
 public:
  // REQUIRES: store outlives the Identity.
  // REQUIRES: store and clock outlive the Identity; timestamps of users and keys read
  // `clock`.
  explicit Identity(storage::Store* store, const Clock* clock = SystemClock());

  Identity(const Identity&) = delete;
  Identity& operator=(const Identity&) = delete;

  // Creates a user of `tenant` with a first API key. *api_key receives the key; it is
  // never stored and cannot be recovered. NotFound when the tenant is not live.
  Status CreateUser(TenantId tenant, const std::string& name, AdminLevel level, User* out,
                    std::string* api_key);

  // Checks an API key for `tenant`. On success *user is the key's user and *cred the
  // credential a session keeps. Any failure is Unauthenticated(kBadCredentials), except
  // an I/O failure of the store (Internal).
  Status Authenticate(TenantId tenant, std::string_view api_key, User* user,
                      Credential* cred = nullptr);

  // The per-call session re-check: in memory, no I/O when the credential came from
  // Authenticate or CreateUser of this Identity. OK, or Unauthenticated(kBadCredentials).
  // On OK and when `user` is given, *user is the current user.
  Status Check(const Credential& cred, User* user = nullptr) const;

  // A user of a tenant (NotFound when either does not exist).
  Status GetUser(TenantId tenant, UserId id, User* out);
  // Finds a user by id alone (NotFound when it or its tenant does not exist).
  Status FindUser(UserId id, User* out);
  // Users of a live tenant in id order (NotFound when the tenant is not live).
  Status ListUsers(TenantId tenant, std::vector<User>* out) const;

  // Deletes a user, all its keys and its index entries. Sessions of the user fail at
  // once (Check). NotFound when the user is not a user of `tenant`.
  Status DeleteUser(TenantId tenant, UserId id);
  // A further API key for a user (rotation: create, then revoke the old one).
  Status CreateKey(TenantId tenant, UserId user, KeyInfo* out, std::string* api_key);
  // Revokes a key: logins with it fail and sessions opened with it fail their next call.
  // NotFound when `tenant` has no such key; revoking twice is OK.
  Status RevokeKey(TenantId tenant, KeyId id);
  // Whose key `id` is (revoked keys too). NotFound when no such key was ever created.
  Status KeyOwner(KeyId id, TenantId* tenant, UserId* user) const;
  // Keys of a user (revoked ones included), in id order.
  Status ListKeys(TenantId tenant, UserId user, std::vector<KeyInfo>* out);

  // Drops cached entries of a deleted tenant. Correctness does not depend on it (Check
  // also asks the store whether the tenant is live); it frees memory.
  void ForgetTenant(TenantId tenant);

 private:
  friend Status Bootstrap(storage::Store*, Identity*, const std::string&, std::string*);

  struct CachedKey {
    TenantId tenant = 0;
    UserId user = 0;
    std::string hash;  // SHA-256 of the secret, 32 raw bytes
    uint64_t generation = 1;
  };

  // A user and a key allocated (ids drawn, secret generated) but not yet written.
  struct Pending {
    User user;
    KeyId key_id = 0;
    std::string hash;
    std::string api_key;
  };
  Status Prepare(TenantId tenant, const std::string& name, AdminLevel level, Pending* p);
  Status Commit(const Pending& p);

  Status LoadKey(KeyId id, CachedKey* out) const;
  Status LoadUser(TenantId tenant, UserId id, User* out) const;

  storage::Store* const store_;
  const Clock* const clock_;

  // Serialises user creation so two creates cannot both take a name.
  std::mutex create_mu_;

  // The cache. Guarded by cache_mu_. Entries are inserted by loads only when no change
  // happened since the load began (change_epoch_ unchanged), so a load racing a
  // revocation cannot write back a stale entry.
  mutable std::shared_mutex cache_mu_;
  mutable std::unordered_map<UserId, User> users_;
  mutable std::unordered_map<KeyId, CachedKey> keys_;
  std::atomic<uint64_t> change_epoch_{0};
};

// First start of an installation: when there is no system tenant, creates tenant
// "system" (TenantKind::kSystem); when it has no users, creates user "admin" at system
// admin level and writes its API key to <data_dir>/admin.key (mode 0600, created with
// O_EXCL so it is never readable by others, fsynced before the user is committed so a
// crash cannot leave an admin whose key was never written). *key_path receives the path
// when a key was written, and is cleared otherwise (an installation already set up).
Status Bootstrap(storage::Store* store, Identity* identity, const std::string& data_dir,
                 std::string* key_path);

}  // namespace cotenant::sharing

#endif  // COTENANT_SHARING_IDENTITY_H_
