// `cotenant key create|revoke|list|rotate`.

#include <algorithm>
#include <iostream>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct Options {
  std::string userRef, keyId, oldKey, inTenant;
};

// Prints a new API key once, like `user create`: in --json mode the notice goes to stderr so
// that stdout stays one JSON document.
void printNewKey(CliContext& s, const NewApiKey& k, nlohmann::json extra, const std::string& footer) {
  const char* notice = "This API key will not be shown again: store it now.";
  if (s.json) {
    nlohmann::json j = {{"key", toJson(k.key)}, {"apiKey", k.apiKey}};
    for (auto& [key, value] : extra.items()) j[key] = value;
    std::cout << j.dump(2) << "\n";
    std::cerr << "cotenant: " << notice << "\n";
  } else {
    printApiKeys(std::cout, {k.key});
    std::cout << "\nAPI key: " << k.apiKey << "\n" << notice << "\n" << footer;
  }
}

}  // namespace

void AddKeyCommands(CLI::App& app, CliContext& s) {
  auto& o = s.keep<Options>();
  CLI::App* key = app.add_subcommand("key", "Create, list, revoke and rotate API keys");
  key->require_subcommand(1);
  auto* kcreate = s.leaf(key, "create", "Create a further API key for a user and print it once", [&s, &o] {
    uint64_t tid = optionalTenant(o.inTenant);
    uint64_t uid = resolveUser(s, o.userRef, tid);
    auto k = s.client().createApiKey(tid, uid);
    check(k);
    printNewKey(s, k.value(), nlohmann::json::object(), "");
  });
  kcreate->add_option("--user", o.userRef, "user id or name")->required();
  kcreate->add_option("--in-tenant", o.inTenant, "the user's tenant (default: own)");

  auto* krevoke = s.leaf(key, "revoke", "Revoke an API key (its open sessions fail at once)", [&s, &o] {
    uint64_t tid = optionalTenant(o.inTenant);
    check(s.client().revokeApiKey(tid, o.keyId));
    s.emit({{"revoked", o.keyId}}, [&] { std::cout << "Revoked key " << o.keyId << "\n"; });
  });
  krevoke->add_option("KEYID", o.keyId, "key id (from key list)")->required();
  krevoke->add_option("--in-tenant", o.inTenant, "the key's tenant (default: own)");

  auto* klist = s.leaf(key, "list", "List a user's API keys (ids only, never the secrets)", [&s, &o] {
    uint64_t tid = optionalTenant(o.inTenant);
    uint64_t uid = resolveUser(s, o.userRef, tid);
    auto l = s.client().listApiKeys(tid, uid);
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& k : l.value()) arr.push_back(toJson(k));
    s.emit({{"keys", arr}}, [&] { printApiKeys(std::cout, l.value()); });
  });
  klist->add_option("--user", o.userRef, "user id or name")->required();
  klist->add_option("--in-tenant", o.inTenant, "the user's tenant (default: own)");

  auto* krotate = s.leaf(key, "rotate", "Create a new key for a user, print it, then revoke the old one", [&s, &o] {
    uint64_t tid = optionalTenant(o.inTenant);
    uint64_t uid = resolveUser(s, o.userRef, tid);
    // Check the old key first, so that a mistyped id does not leave a second live key.
    auto keys = s.client().listApiKeys(tid, uid);
    check(keys);
    auto old = std::find_if(keys.value().begin(), keys.value().end(),
                            [&](const ApiKeyInfo& k) { return k.keyId == o.oldKey; });
    if (old == keys.value().end()) {
      throw Failed{ErrorCode::NotFound, "user " + std::to_string(uid) + " has no key '" + o.oldKey + "'"};
    }
    if (old->revoked) {
      throw Failed{ErrorCode::Conflict, "key '" + o.oldKey + "' is already revoked; use `cotenant key create`"};
    }
    auto fresh = s.client().createApiKey(tid, uid);
    check(fresh);
    Result revoked = s.client().revokeApiKey(tid, o.oldKey);
    printNewKey(s, fresh.value(),
                {{"revoked", revoked.ok() ? nlohmann::json(o.oldKey) : nlohmann::json(nullptr)}},
                revoked.ok() ? "Revoked old key " + o.oldKey + ".\n" : "");
    if (!revoked.ok()) {
      throw Failed{revoked.getCode(), "the new key " + fresh.value().key.keyId +
                                          " was created (printed above), but revoking the old key " +
                                          o.oldKey + " failed: " + revoked.getMessage() +
                                          "; retry with `cotenant key revoke " + o.oldKey + "`"};
    }
  });
  krotate->add_option("--user", o.userRef, "user id or name")->required();
  krotate->add_option("--old", o.oldKey, "the key id to revoke once the new key exists")->required();
  krotate->add_option("--in-tenant", o.inTenant, "the user's tenant (default: own)");
}

}  // namespace cotenant::cli
