// cotenant: the admin and data CLI for a Cotenant server (docs/CLI.md).
//
// Parses the command line with CLI11, connects with the SDK (cotenant::Client), and prints
// aligned tables, or with --json one JSON document on stdout. Errors go to stderr as
// "cotenant: <Code>: <message>" and select the exit code (cli_util.h).

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli_util.h"
#include "config.h"
#include "cotenant/client.h"
#include "lint.h"

namespace cotenant::cli {
namespace {

// What every command shares: connection settings and output mode. The client is made on
// first use, so usage errors never need a server.
class Session {
 public:
  std::string addr = "127.0.0.1:7770";
  std::string tenant;
  std::string key;
  std::string keyFile;
  bool json = false;

  Client& client() {
    if (!client_) {
      if (tenant.empty()) throw UsageError("no tenant: pass --tenant ID or set COTENANT_TENANT");
      uint64_t tenantId = parseId(tenant, "tenant id");
      client_ = Client::connect(addr, tenantId, resolveKey());
    }
    return *client_;
  }

  // Prints `j` in --json mode, otherwise runs `human`.
  void emit(const nlohmann::json& j, const std::function<void()>& human) const {
    if (json) {
      std::cout << j.dump(2) << "\n";
    } else {
      human();
    }
  }

 private:
  // --key, then --key-file, then $COTENANT_KEY, then $COTENANT_KEY_FILE: a flag on the
  // command line beats the environment.
  std::string resolveKey() const {
    if (!key.empty() && !keyFile.empty()) throw UsageError("give --key or --key-file, not both");
    if (!key.empty()) return key;
    std::string file = keyFile;
    if (file.empty()) {
      if (const char* k = std::getenv("COTENANT_KEY"); k != nullptr && *k != '\0') return k;
      if (const char* f = std::getenv("COTENANT_KEY_FILE"); f != nullptr) file = f;
    }
    if (file.empty()) {
      throw UsageError("no API key: pass --key or --key-file, or set COTENANT_KEY or COTENANT_KEY_FILE");
    }
    std::ifstream in(file);
    if (!in) throw UsageError("cannot read key file '" + file + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string k = ss.str();
    size_t b = k.find_first_not_of(" \t\r\n");
    size_t e = k.find_last_not_of(" \t\r\n");
    if (b == std::string::npos) throw UsageError("key file '" + file + "' is empty");
    return k.substr(b, e - b + 1);
  }

  std::unique_ptr<Client> client_;
};

// Thrown by commands to end with a server-side outcome.
struct Failed {
  ErrorCode code;
  std::string message;
};

template <typename R>
void check(const R& r) {
  if (!r.ok()) throw Failed{r.getCode(), r.getMessage()};
}

uint64_t optionalTenant(const std::string& text) {
  return text.empty() ? 0 : parseId(text, "tenant id");
}

// The tenant an admin command acts on, as a concrete id: --in-tenant, else the caller's own.
uint64_t effectiveTenant(Session& s, const std::string& inTenant) {
  return inTenant.empty() ? s.client().user().tenantId : parseId(inTenant, "tenant id");
}

// A user given as ID or NAME. A decimal number is an id (no round trip); anything else is a
// name, looked up with one listUsers of `tenantId` (0 = the caller's own tenant).
uint64_t resolveUser(Session& s, const std::string& spec, uint64_t tenantId) {
  if (spec.empty()) throw UsageError("empty user: want a user id or name");
  if (auto id = RecordId::parse(spec)) return *id;
  if (tenantId == s.client().user().tenantId) tenantId = 0;
  std::string label = tenantId == 0 ? "your tenant" : "tenant " + std::to_string(tenantId);
  auto users = s.client().listUsers(tenantId);
  if (!users.ok()) {
    throw Failed{users.getCode(), "cannot look up user '" + spec + "' in " + label + ": " +
                                      users.getMessage() + " (give the user id instead)"};
  }
  return matchUser(users.value(), spec, label);
}

// Prints a new API key once, like `user create`: in --json mode the notice goes to stderr so
// that stdout stays one JSON document.
void printNewKey(Session& s, const NewApiKey& k, nlohmann::json extra, const std::string& footer) {
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

void printTenants(const std::vector<TenantInfo>& tenants) {
  Table t({"ID", "NAME", "KIND", "PROVIDER", "CREATED"});
  for (const auto& x : tenants) {
    t.add({std::to_string(x.id), x.name, tenantKindName(x.kind),
           x.provider == 0 ? "" : std::to_string(x.provider), formatTimestamp(x.createdAt)});
  }
  t.print(std::cout);
}

void printUsers(const std::vector<UserInfo>& users) {
  Table t({"ID", "TENANT", "NAME", "LEVEL", "CREATED"});
  for (const auto& u : users) {
    t.add({std::to_string(u.id), std::to_string(u.tenantId), u.name, adminLevelName(u.level),
           formatTimestamp(u.createdAt)});
  }
  t.print(std::cout);
}

void printObjects(const std::vector<ObjectInfo>& objects) {
  Table t({"OBJECT", "ID", "FIELD", "TYPE", "REQUIRED", "INDEXED"});
  for (const auto& o : objects) {
    if (o.fields.empty()) t.add({o.name, std::to_string(o.id)});
    for (const auto& f : o.fields) {
      t.add({o.name, std::to_string(o.id), f.name, fieldTypeName(f.type),
             f.required ? "yes" : "no", f.indexed ? "yes" : "no"});
    }
  }
  t.print(std::cout);
}

Parameters buildParams(const std::vector<std::string>& sets, const std::vector<std::string>& nulls) {
  Parameters p;
  for (const auto& s : sets) {
    auto [name, value] = parseAssignment(s);
    p.add(name, value);  // as text: the server coerces it to the declared type
  }
  for (const auto& n : nulls) {
    if (n.empty()) throw UsageError("bad --null '': want a field name");
    p.addNull(n);
  }
  return p;
}

int run(int argc, char** argv) {
  CLI::App app{"cotenant: administer a Cotenant server and work with its records.\n"
               "See docs/CLI.md. Exit codes: 0 ok, 1 error, 2 usage, 3 denied, 4 not found, "
               "5 rejected, 6 lint findings."};
  app.fallthrough();  // global options may follow the command
  app.require_subcommand(1);

  Session s;
  app.add_option("--addr", s.addr, "server host:port (env COTENANT_ADDR)")
      ->envname("COTENANT_ADDR")
      ->capture_default_str();
  app.add_option("--tenant", s.tenant, "tenant id to log in to (env COTENANT_TENANT)")
      ->envname("COTENANT_TENANT");
  app.add_option("--key", s.key, "API key (env COTENANT_KEY)");
  app.add_option("--key-file", s.keyFile, "file holding the API key (env COTENANT_KEY_FILE)");
  app.add_flag("--json", s.json, "print one JSON document on stdout (shapes in docs/CLI.md)");

  // Each leaf command registers what it does; the one CLI11 selected runs after parsing.
  std::vector<std::pair<CLI::App*, std::function<void()>>> actions;
  auto leaf = [&](CLI::App* parent, const std::string& name, const std::string& help,
                  std::function<void()> fn) {
    CLI::App* sub = parent->add_subcommand(name, help);
    actions.emplace_back(sub, std::move(fn));
    return sub;
  };

  // Option storage; only one command runs, so commands share these.
  std::string name, kind = "tenant", provider, level = "user", inTenant, object, id,
                    fields, where, sort, sort2, context, continuation;
  std::vector<std::string> fieldSpecs, sets, nulls;
  uint64_t expectVersion = 0;
  uint32_t offset = 0, rows = 0;
  bool all = false, permissions = false;
  // Sharing commands.
  std::string userRef, keyId, oldKey, memberTenant, designated, expires = "never", publishedBy,
                       designating, since, until, callerTenant, outcome, value;
  std::vector<std::string> rightSpecs;
  std::vector<ScopeArg> scopeArgs;
  bool global = false, crossTenant = false, noCrossTenant = false;
  uint32_t limit = 0;
  // Permission sets, explain, simulate.
  std::string psScope = "user", userTenant, api, permissionSetFile, removePermissionSet,
              policyFile;
  std::vector<std::string> forTenants, userRefs;
  std::vector<PolicyArg> policyArgs;
  bool allTenants = false, fromAudit = false;

  // ---- whoami ----
  leaf(&app, "whoami", "Show the logged-in user", [&] {
    auto who = s.client().whoami();
    check(who);
    s.emit({{"user", toJson(who.value())}}, [&] { printUsers({who.value()}); });
  });

  // ---- tenant ----
  CLI::App* tenant = app.add_subcommand("tenant", "Create, list and delete tenants");
  tenant->require_subcommand(1);
  auto* tcreate = leaf(tenant, "create", "Create a tenant (system admins)", [&] {
    uint64_t prov = provider.empty() ? 0 : parseId(provider, "provider id");
    auto t = s.client().createTenant(name, *parseTenantKind(kind), prov);
    check(t);
    s.emit({{"tenant", toJson(t.value())}}, [&] { printTenants({t.value()}); });
  });
  tcreate->add_option("NAME", name, "display name, unique among live tenants")->required();
  tcreate->add_option("--kind", kind, "tenant, msp or isv")
      ->check(CLI::IsMember({"tenant", "msp", "isv"}))
      ->capture_default_str();
  tcreate->add_option("--provider", provider, "id of the managing ISV or MSP");

  leaf(tenant, "list", "List tenants (system admins see all, others their own)", [&] {
    auto l = s.client().listTenants();
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& t : l.value()) arr.push_back(toJson(t));
    s.emit({{"tenants", arr}}, [&] { printTenants(l.value()); });
  });

  auto* tdelete = leaf(tenant, "delete", "Delete a tenant and everything in it (system admins)", [&] {
    uint64_t tid = parseId(id, "tenant id");
    check(s.client().deleteTenant(tid));
    s.emit({{"deleted", std::to_string(tid)}}, [&] { std::cout << "Deleted tenant " << tid << "\n"; });
  });
  tdelete->add_option("ID", id, "tenant id")->required();

  // ---- user ----
  CLI::App* user = app.add_subcommand("user", "Create, list and delete users");
  user->require_subcommand(1);
  auto* ucreate = leaf(user, "create", "Create a user and print its first API key", [&] {
    uint64_t tid = optionalTenant(inTenant);  // before connecting: usage errors need no server
    auto u = s.client().createUser(tid, name, *parseAdminLevel(level));
    check(u);
    const char* notice = "This API key will not be shown again: store it now.";
    if (s.json) {
      std::cout << nlohmann::json{{"user", toJson(u.value().user)}, {"apiKey", u.value().apiKey}}.dump(2)
                << "\n";
      std::cerr << "cotenant: " << notice << "\n";
    } else {
      printUsers({u.value().user});
      std::cout << "\nAPI key: " << u.value().apiKey << "\n" << notice << "\n";
    }
  });
  ucreate->add_option("NAME", name, "user name, unique in its tenant")->required();
  ucreate->add_option("--level", level, "user, tenant-admin or system-admin")
      ->check(CLI::IsMember({"user", "tenant-admin", "system-admin"}))
      ->capture_default_str();
  ucreate->add_option("--in-tenant", inTenant, "tenant to create the user in (default: own)");

  auto* ulist = leaf(user, "list", "List users of a tenant", [&] {
    uint64_t tid = optionalTenant(inTenant);
    auto l = s.client().listUsers(tid);
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& u : l.value()) arr.push_back(toJson(u));
    s.emit({{"users", arr}}, [&] { printUsers(l.value()); });
  });
  ulist->add_option("--in-tenant", inTenant, "tenant (default: own)");

  auto* udelete = leaf(user, "delete", "Delete a user, its API keys and role memberships", [&] {
    uint64_t tid = optionalTenant(inTenant);
    uint64_t uid = resolveUser(s, userRef, tid);
    check(s.client().deleteUser(tid, uid));
    s.emit({{"deleted", std::to_string(uid)}}, [&] { std::cout << "Deleted user " << uid << "\n"; });
  });
  udelete->add_option("USER", userRef, "user id or name")->required();
  udelete->add_option("--in-tenant", inTenant, "the user's tenant (default: own)");

  // ---- key ----
  CLI::App* key = app.add_subcommand("key", "Create, list, revoke and rotate API keys");
  key->require_subcommand(1);
  auto* kcreate = leaf(key, "create", "Create a further API key for a user and print it once", [&] {
    uint64_t tid = optionalTenant(inTenant);
    uint64_t uid = resolveUser(s, userRef, tid);
    auto k = s.client().createApiKey(tid, uid);
    check(k);
    printNewKey(s, k.value(), nlohmann::json::object(), "");
  });
  kcreate->add_option("--user", userRef, "user id or name")->required();
  kcreate->add_option("--in-tenant", inTenant, "the user's tenant (default: own)");

  auto* krevoke = leaf(key, "revoke", "Revoke an API key (its open sessions fail at once)", [&] {
    uint64_t tid = optionalTenant(inTenant);
    check(s.client().revokeApiKey(tid, keyId));
    s.emit({{"revoked", keyId}}, [&] { std::cout << "Revoked key " << keyId << "\n"; });
  });
  krevoke->add_option("KEYID", keyId, "key id (from key list)")->required();
  krevoke->add_option("--in-tenant", inTenant, "the key's tenant (default: own)");

  auto* klist = leaf(key, "list", "List a user's API keys (ids only, never the secrets)", [&] {
    uint64_t tid = optionalTenant(inTenant);
    uint64_t uid = resolveUser(s, userRef, tid);
    auto l = s.client().listApiKeys(tid, uid);
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& k : l.value()) arr.push_back(toJson(k));
    s.emit({{"keys", arr}}, [&] { printApiKeys(std::cout, l.value()); });
  });
  klist->add_option("--user", userRef, "user id or name")->required();
  klist->add_option("--in-tenant", inTenant, "the user's tenant (default: own)");

  auto* krotate = leaf(key, "rotate", "Create a new key for a user, print it, then revoke the old one", [&] {
    uint64_t tid = optionalTenant(inTenant);
    uint64_t uid = resolveUser(s, userRef, tid);
    // Check the old key first, so that a mistyped id does not leave a second live key.
    auto keys = s.client().listApiKeys(tid, uid);
    check(keys);
    auto old = std::find_if(keys.value().begin(), keys.value().end(),
                            [&](const ApiKeyInfo& k) { return k.keyId == oldKey; });
    if (old == keys.value().end()) {
      throw Failed{ErrorCode::NotFound, "user " + std::to_string(uid) + " has no key '" + oldKey + "'"};
    }
    if (old->revoked) {
      throw Failed{ErrorCode::Conflict, "key '" + oldKey + "' is already revoked; use `cotenant key create`"};
    }
    auto fresh = s.client().createApiKey(tid, uid);
    check(fresh);
    Result revoked = s.client().revokeApiKey(tid, oldKey);
    printNewKey(s, fresh.value(),
                {{"revoked", revoked.ok() ? nlohmann::json(oldKey) : nlohmann::json(nullptr)}},
                revoked.ok() ? "Revoked old key " + oldKey + ".\n" : "");
    if (!revoked.ok()) {
      throw Failed{revoked.getCode(), "the new key " + fresh.value().key.keyId +
                                          " was created (printed above), but revoking the old key " +
                                          oldKey + " failed: " + revoked.getMessage() +
                                          "; retry with `cotenant key revoke " + oldKey + "`"};
    }
  });
  krotate->add_option("--user", userRef, "user id or name")->required();
  krotate->add_option("--old", oldKey, "the key id to revoke once the new key exists")->required();
  krotate->add_option("--in-tenant", inTenant, "the user's tenant (default: own)");

  // ---- object ----
  CLI::App* obj = app.add_subcommand("object", "Create and list objects (record types)");
  obj->require_subcommand(1);
  auto* ocreate = leaf(obj, "create", "Create an object with declared fields", [&] {
    std::vector<FieldDef> defs;
    for (const auto& spec : fieldSpecs) defs.push_back(parseFieldSpec(spec));
    uint64_t tid = optionalTenant(inTenant);
    auto o = s.client().createObject(tid, name, defs);
    check(o);
    s.emit({{"object", toJson(o.value())}}, [&] { printObjects({o.value()}); });
  });
  ocreate->add_option("NAME", name, "object name, unique in the tenant")->required();
  ocreate->add_option("--field", fieldSpecs, "name:type[:indexed][:required] (repeatable)")
      ->required();
  ocreate->add_option("--in-tenant", inTenant, "tenant (default: own)");

  auto* olist = leaf(obj, "list", "List objects and their fields", [&] {
    uint64_t tid = optionalTenant(inTenant);
    auto l = s.client().listObjects(tid);
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& o : l.value()) arr.push_back(toJson(o));
    s.emit({{"objects", arr}}, [&] { printObjects(l.value()); });
  });
  olist->add_option("--in-tenant", inTenant, "tenant (default: own)");

  // ---- role ----
  CLI::App* role = app.add_subcommand("role", "Create, update, delete and list roles and their members");
  role->require_subcommand(1);
  auto rightOption = [&](CLI::App* sub) {
    return sub->add_option("--right", rightSpecs,
                           "OBJECT:RIGHTS, RIGHTS from read,add,update,delete or all/none; "
                           "OBJECT '*' = every object not named (repeatable)")
        ->allow_extra_args(false);
  };
  auto* rlcreate = leaf(role, "create", "Create a role granting per-object rights", [&] {
    auto rights = parseRightSpecs(rightSpecs);
    uint64_t tid = optionalTenant(inTenant);
    auto r = s.client().createRole(tid, name, rights, crossTenant);
    check(r);
    s.emit({{"role", toJson(r.value())}}, [&] { printRoles(std::cout, {r.value()}); });
  });
  rlcreate->add_option("NAME", name, "role name, unique in the tenant")->required();
  rightOption(rlcreate)->required();
  rlcreate->add_flag("--cross-tenant", crossTenant,
                     "users of other tenants may be members (system setting crossTenantRoles)");
  rlcreate->add_option("--in-tenant", inTenant, "tenant (default: own)");

  auto* rlupdate = leaf(role, "update", "Replace a role's rights and/or its cross-tenant flag", [&] {
    if (rightSpecs.empty() && !crossTenant && !noCrossTenant) {
      throw UsageError("nothing to update: give --right, --cross-tenant or --no-cross-tenant");
    }
    std::vector<ObjectRights> rights = parseRightSpecs(rightSpecs);
    uint64_t tid = optionalTenant(inTenant);
    bool cross = crossTenant;
    if (rightSpecs.empty() || (!crossTenant && !noCrossTenant)) {
      // Keep what the command line does not replace: one listRoles round trip.
      auto roles = s.client().listRoles(tid);
      check(roles);
      auto it = std::find_if(roles.value().begin(), roles.value().end(),
                             [&](const RoleInfo& r) { return r.name == name; });
      if (it == roles.value().end()) throw Failed{ErrorCode::NotFound, "no role named '" + name + "'"};
      if (rightSpecs.empty()) rights = it->rights;
      if (!crossTenant && !noCrossTenant) cross = it->crossTenant;
    }
    auto r = s.client().updateRole(tid, name, rights, cross);
    check(r);
    s.emit({{"role", toJson(r.value())}}, [&] { printRoles(std::cout, {r.value()}); });
  });
  rlupdate->add_option("NAME", name, "role name")->required();
  rightOption(rlupdate);
  auto* crossOn = rlupdate->add_flag("--cross-tenant", crossTenant, "allow members of other tenants");
  rlupdate->add_flag("--no-cross-tenant", noCrossTenant, "members of the role's tenant only")
      ->excludes(crossOn);
  rlupdate->add_option("--in-tenant", inTenant, "tenant (default: own)");

  auto* rldelete = leaf(role, "delete", "Delete a role (its members lose its rights at once)", [&] {
    uint64_t tid = optionalTenant(inTenant);
    check(s.client().deleteRole(tid, name));
    s.emit({{"deleted", name}}, [&] { std::cout << "Deleted role " << name << "\n"; });
  });
  rldelete->add_option("NAME", name, "role name")->required();
  rldelete->add_option("--in-tenant", inTenant, "tenant (default: own)");

  auto* rllist = leaf(role, "list", "List roles with their rights and members", [&] {
    uint64_t tid = optionalTenant(inTenant);
    auto l = s.client().listRoles(tid);
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& r : l.value()) arr.push_back(toJson(r));
    s.emit({{"roles", arr}}, [&] { printRoles(std::cout, l.value()); });
  });
  rllist->add_option("--in-tenant", inTenant, "tenant (default: own)");

  // add-member / remove-member: the member's tenant defaults to the role's tenant.
  auto memberCommand = [&](const std::string& cmd, const std::string& help, bool add) {
    auto* sub = leaf(role, cmd, help, [&, add] {
      uint64_t tid = optionalTenant(inTenant);
      uint64_t mt = memberTenant.empty() ? 0 : parseId(memberTenant, "member tenant id");
      if (mt == 0) mt = effectiveTenant(s, inTenant);
      uint64_t uid = resolveUser(s, userRef, mt);
      Result r = add ? s.client().addRoleMember(tid, name, mt, uid)
                     : s.client().removeRoleMember(tid, name, mt, uid);
      check(r);
      nlohmann::json member = {{"tenantId", std::to_string(mt)}, {"userId", std::to_string(uid)}};
      s.emit({{"role", name}, {add ? "added" : "removed", member}}, [&] {
        std::cout << (add ? "Added user " : "Removed user ") << uid << " of tenant " << mt
                  << (add ? " to role " : " from role ") << name << "\n";
      });
    });
    sub->add_option("ROLE", name, "role name")->required();
    sub->add_option("--user", userRef, "user id, or name (looked up in the member's tenant)")->required();
    sub->add_option("--member-tenant", memberTenant,
                    "the user's home tenant, for a cross-tenant role (default: the role's tenant)");
    sub->add_option("--in-tenant", inTenant, "the role's tenant (default: own)");
  };
  memberCommand("add-member", "Give a user a role", true);
  memberCommand("remove-member", "Take a role from a user", false);

  // ---- policy ----
  CLI::App* policy = app.add_subcommand("policy", "Data-sharing policies (seeds/004): create, update, delete, list");
  policy->require_subcommand(1);
  // Scope options are collected in command-line order (trigger_on_parse), so that each
  // --filter and --fields can be tied to the --object before it (groupScope).
  auto policyOptions = [&](CLI::App* sub) {
    sub->add_option("NAME", name, "policy name, unique in the publishing tenant")->required();
    auto* d = sub->add_option("--designated", designated, "the tenant admitted");
    sub->add_flag("--global", global, "admit every tenant the publisher manages (ISVs and MSPs only)")
        ->excludes(d);
    sub->add_option("--user", userRef, "the publisher's user the designated tenant acts as (id or name)")
        ->required();
    auto scopeOpt = [&](const std::string& flag, ScopeArg::Kind kind, const std::string& help) {
      sub->add_option_function<std::string>(
             flag, [&scopeArgs, kind](const std::string& v) { scopeArgs.push_back({kind, v}); }, help)
          ->trigger_on_parse();
    };
    scopeOpt("--object", ScopeArg::Kind::Object, "share only this object (repeatable; default: every object)");
    scopeOpt("--filter", ScopeArg::Kind::Filter, "row filter (criteria) for the --object before it");
    scopeOpt("--fields", ScopeArg::Kind::Fields, "field allow-list a,b for the --object before it");
    sub->add_option("--expires", expires, "ISO-8601 time, a duration from now (30d), or never")
        ->capture_default_str();
    sub->add_option("--in-tenant", inTenant, "publishing tenant (default: own)");
  };
  // Everything but the server-side lookups, so that usage errors need no connection.
  auto draftPolicy = [&]() {
    PolicyInfo p;
    p.name = name;
    p.global = global;
    if (!designated.empty()) p.designated = parseId(designated, "designated tenant id");
    p.scope = groupScope(scopeArgs);
    p.expiresAt = parseExpiry(expires, nowMicros());
    return p;
  };
  auto* pcreate = leaf(policy, "create", "Let another tenant act on your data as one of your users", [&] {
    if (designated.empty() && !global) throw UsageError("give --designated TENANT or --global");
    PolicyInfo p = draftPolicy();
    uint64_t tid = optionalTenant(inTenant);
    p.userId = resolveUser(s, userRef, tid);
    auto r = s.client().createPolicy(tid, p);
    check(r);
    int64_t now = nowMicros();
    s.emit({{"policy", toJson(r.value(), now)}}, [&] { printPolicies(std::cout, {r.value()}, now); });
  });
  policyOptions(pcreate);

  auto* pupdate = leaf(policy, "update", "Replace a policy's user, scope and expiry", [&] {
    PolicyInfo p = draftPolicy();
    uint64_t tid = optionalTenant(inTenant);
    if (designated.empty() && !global) {
      // Not replaced by an update: keep the policy's own (one listPolicies round trip).
      auto l = s.client().listPolicies(effectiveTenant(s, inTenant), 0);
      check(l);
      auto it = std::find_if(l.value().begin(), l.value().end(),
                             [&](const PolicyInfo& x) { return x.name == name; });
      if (it == l.value().end()) throw Failed{ErrorCode::NotFound, "no policy named '" + name + "'"};
      p.designated = it->designated;
      p.global = it->global;
    }
    p.userId = resolveUser(s, userRef, tid);
    auto r = s.client().updatePolicy(tid, p);
    check(r);
    int64_t now = nowMicros();
    s.emit({{"policy", toJson(r.value(), now)}}, [&] { printPolicies(std::cout, {r.value()}, now); });
  });
  policyOptions(pupdate);

  auto* pdelete = leaf(policy, "delete", "Delete a policy (the designated tenant loses access at once)", [&] {
    uint64_t tid = optionalTenant(inTenant);
    check(s.client().deletePolicy(tid, name));
    s.emit({{"deleted", name}}, [&] { std::cout << "Deleted policy " << name << "\n"; });
  });
  pdelete->add_option("NAME", name, "policy name")->required();
  pdelete->add_option("--in-tenant", inTenant, "publishing tenant (default: own)");

  auto* plist = leaf(policy, "list", "Who can reach a tenant's data, or whose data it can reach", [&] {
    uint64_t by = publishedBy.empty() ? 0 : parseId(publishedBy, "tenant id");
    uint64_t to = designating.empty() ? 0 : parseId(designating, "tenant id");
    if (by == 0 && to == 0) by = s.client().user().tenantId;
    auto l = s.client().listPolicies(by, to);
    check(l);
    int64_t now = nowMicros();
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& p : l.value()) arr.push_back(toJson(p, now));
    s.emit({{"policies", arr}}, [&] { printPolicies(std::cout, l.value(), now); });
  });
  auto* pby = plist->add_option("--published-by", publishedBy,
                                "policies tenant T publishes: who can reach T's data (default: own tenant)");
  plist->add_option("--designating", designating,
                    "policies that admit tenant T: whose data T can reach (global ones included)")
      ->excludes(pby);

  // ---- setting ----
  CLI::App* setting = app.add_subcommand("setting", "System settings (crossTenantRoles)");
  setting->require_subcommand(1);
  auto* sset = leaf(setting, "set", "Set a system setting (system admins)", [&] {
    check(s.client().setSetting(name, value));
    s.emit({{"setting", toJson(Setting{name, value})}},
           [&] { std::cout << "Set " << name << " = " << value << "\n"; });
  });
  sset->add_option("NAME", name, "setting name, e.g. crossTenantRoles")->required();
  sset->add_option("VALUE", value, "new value, e.g. true")->required();
  leaf(setting, "list", "List system settings", [&] {
    auto l = s.client().listSettings();
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& x : l.value()) arr.push_back(toJson(x));
    s.emit({{"settings", arr}}, [&] { printSettings(std::cout, l.value()); });
  });

  // ---- audit ----
  auto* audit = leaf(&app, "audit", "Read a tenant's audit log (cross-tenant calls and admin changes)", [&] {
    AuditQuery q;
    q.tenantId = optionalTenant(inTenant);
    int64_t now = nowMicros();
    if (!since.empty()) q.from = parsePastTime(since, now, "--since");
    if (!until.empty()) q.to = parsePastTime(until, now, "--until");
    if (q.from != 0 && q.to != 0 && q.to <= q.from) {
      throw UsageError("--until must be after --since");
    }
    if (!callerTenant.empty()) q.callerTenant = parseId(callerTenant, "caller tenant id");
    if (!outcome.empty()) q.outcome = checkOutcome(outcome);
    q.limit = limit;
    auto l = s.client().queryAudit(q);
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : l.value()) arr.push_back(toJson(e));
    s.emit({{"entries", arr}}, [&] {
      printAudit(std::cout, l.value());
      std::cout << l.value().size() << (l.value().size() == 1 ? " entry\n" : " entries\n");
    });
  });
  audit->add_option("--in-tenant", inTenant, "whose log (default: own; others: system admins)");
  audit->add_option("--since", since, "from this time: ISO-8601, or a duration ago (1h, 1d)");
  audit->add_option("--until", until, "before this time: ISO-8601, or a duration ago");
  audit->add_option("--caller-tenant", callerTenant, "only calls made by this tenant");
  audit->add_option("--outcome", outcome, "only this outcome: OK, PermissionDenied, NotFound, ...");
  audit->add_option("--limit", limit, "at most N entries, newest last (default: server's, 1000)");

  // ---- usage ----
  auto* usage = leaf(&app, "usage", "Show a tenant's metering (records, bytes, calls)", [&] {
    uint64_t tid = optionalTenant(id);
    auto u = s.client().usage(tid);
    check(u);
    s.emit({{"usage", toJson(u.value())}}, [&] { printUsage(std::cout, u.value()); });
  });
  usage->add_option("TENANT", id, "tenant id (default: own)");

  // ---- permission-set ----
  CLI::App* pset = app.add_subcommand(
      "permission-set", "API-level allow/deny rules (seeds/003): create, update, delete, list");
  pset->require_subcommand(1);
  // --allow and --deny are collected in command-line order (trigger_on_parse): policies are
  // numbered in the order written.
  auto psetOptions = [&](CLI::App* sub) {
    sub->add_option("NAME", name, "set name, 1-64 of A-Z a-z 0-9 _ . -")->required();
    sub->add_option("--scope", psScope, "user: applies to --user only; system: to every user")
        ->check(CLI::IsMember({"user", "system"}))
        ->capture_default_str();
    auto* ft = sub->add_option("--for-tenant", forTenants, "a tenant the set applies to (repeatable)");
    sub->add_flag("--all-tenants", allTenants, "the set applies in every tenant")->excludes(ft);
    sub->add_option("--user", userRefs, "a user it applies to: ID, NAME or NAME@TENANT (repeatable)");
    sub->add_option("--user-tenant", userTenant, "tenant in which --user NAMEs are looked up (default: own)");
    for (Effect effect : {Effect::Allow, Effect::Deny}) {
      std::string flag = std::string("--") + effectName(effect);
      sub->add_option_function<std::string>(
             flag, [&policyArgs, effect](const std::string& v) { policyArgs.push_back({effect, v}); },
             std::string("'RESOURCE-TYPE API-NAME METHOD': three regexes separated by blanks, "
                         "in quotes (repeatable; policies keep command-line order)"))
          ->trigger_on_parse();
    }
  };
  // Everything but user-name lookups, so that usage errors need no connection.
  auto draftSet = [&]() {
    checkPermissionSetName(name);
    PermissionSetInfo set;
    set.name = name;
    set.systemScope = psScope == "system";
    set.allTenants = allTenants;
    if (!allTenants && forTenants.empty()) {
      throw UsageError("give --for-tenant ID (repeatable) or --all-tenants");
    }
    for (const auto& t : forTenants) {
      uint64_t tid = parseId(t, "--for-tenant id");
      if (std::find(set.tenants.begin(), set.tenants.end(), tid) == set.tenants.end()) set.tenants.push_back(tid);
    }
    if (set.systemScope && !userRefs.empty()) {
      throw UsageError("--scope system applies to every user: leave out --user (or use --scope user)");
    }
    set.policies = parsePolicySpecs(policyArgs);
    return set;
  };
  // The --user of a command as a user id: ids as they are, NAME in --user-tenant (default own),
  // NAME@TENANT in TENANT.
  auto userIdOf = [&](const std::string& spec) -> uint64_t {
    UserRef ref = parseUserRef(spec);
    if (ref.id != 0) return ref.id;
    uint64_t tenant = ref.tenant != 0 ? ref.tenant : optionalTenant(userTenant);
    return resolveUser(s, ref.name, tenant == 0 ? s.client().user().tenantId : tenant);
  };
  auto saveSet = [&](bool create) {
    PermissionSetInfo set = draftSet();
    for (const auto& spec : userRefs) parseUserRef(spec);  // usage errors before connecting
    for (const auto& spec : userRefs) {
      uint64_t uid = userIdOf(spec);
      if (std::find(set.users.begin(), set.users.end(), uid) == set.users.end()) set.users.push_back(uid);
    }
    if (!set.systemScope && set.users.empty()) {
      std::cerr << "cotenant: note: user-scope set '" << set.name
                << "' has no --user: it applies to nobody until users are added\n";
    }
    check(create ? s.client().createPermissionSet(set) : s.client().updatePermissionSet(set));
    s.emit({{"permissionSet", toJson(set)}}, [&] {
      std::cout << (create ? "Created" : "Updated") << " permission set " << set.name << "\n";
      printPermissionSets(std::cout, {set});
    });
  };
  psetOptions(leaf(pset, "create", "Create a permission set (system admins)", [&] { saveSet(true); }));
  psetOptions(leaf(pset, "update", "Replace a permission set with exactly what the command says",
                   [&] { saveSet(false); }));
  auto* psdelete = leaf(pset, "delete", "Delete a permission set (system admins)", [&] {
    check(s.client().deletePermissionSet(name));
    s.emit({{"deleted", name}}, [&] { std::cout << "Deleted permission set " << name << "\n"; });
  });
  psdelete->add_option("NAME", name, "set name")->required();
  leaf(pset, "list", "List permission sets with their numbered policies", [&] {
    auto l = s.client().listPermissionSets();
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& x : l.value()) arr.push_back(toJson(x));
    s.emit({{"permissionSets", arr}}, [&] { printPermissionSets(std::cout, l.value()); });
  });

  // ---- explain / simulate ----
  // The call to decide: --user (default: yourself), --context (default: the user's own
  // tenant), --api, --object.
  auto callOptions = [&](CLI::App* sub, bool required) {
    sub->add_option("--user", userRef, "the caller: ID, NAME or NAME@TENANT (default: you)");
    sub->add_option("--user-tenant", userTenant, "tenant in which a --user NAME is looked up (default: own)");
    // --tenant here is the tenant the call names (as in `cotenant explain --user U --tenant T`);
    // the login tenant then comes from COTENANT_TENANT or --tenant before the command.
    sub->add_option("--context,--tenant", context,
                    "the tenant the call names, as a TenantContext (default: the caller's own)");
    auto* a = sub->add_option("--api", api, "the API, e.g. deleteRecord, getRecord, createPolicy");
    if (required) a->required();
    sub->add_option("--object", object, "the object of a record call, e.g. Customers");
  };
  auto buildRequest = [&]() {
    ExplainRequest q;
    if (api.empty()) throw UsageError("give --api NAME (e.g. --api deleteRecord)");
    if (isRecordApi(api) && object.empty()) {
      throw UsageError("--api " + api + " is a record call: give --object OBJECT");
    }
    q.api = api;
    q.object = object;
    q.tenantId = optionalTenant(context);
    if (!userRef.empty()) {
      parseUserRef(userRef);
      q.userId = userIdOf(userRef);
    }
    return q;
  };
  auto requestJson = [&](const ExplainRequest& q) {
    return nlohmann::json{{"userId", q.userId == 0 ? nlohmann::json(nullptr) : nlohmann::json(std::to_string(q.userId))},
                          {"tenantId", q.tenantId == 0 ? nlohmann::json(nullptr) : nlohmann::json(std::to_string(q.tenantId))},
                          {"api", q.api},
                          {"object", q.object}};
  };
  auto* explain = leaf(&app, "explain", "Why a call would be allowed or denied, rule by rule (exit 0 either way)", [&] {
    ExplainRequest q = buildRequest();
    auto r = s.client().explain(q);
    check(r);
    s.emit({{"request", requestJson(q)}, {"explanation", toJson(r.value())}},
           [&] { printExplanation(std::cout, r.value()); });
  });
  callOptions(explain, true);

  // simulate: the drafts, loaded before connecting so that a bad file is a usage error.
  auto loadDrafts = [&](ExplainRequest& q) {
    if (!permissionSetFile.empty()) q.draftPermissionSet = loadPermissionSetFile(permissionSetFile);
    if (!policyFile.empty()) q.draftPolicy = loadPolicyFile(policyFile);
    if (!removePermissionSet.empty()) {
      checkPermissionSetName(removePermissionSet);
      q.removePermissionSet = removePermissionSet;
    }
    if (!q.draftPermissionSet && !q.draftPolicy && q.removePermissionSet.empty()) {
      throw UsageError("nothing to simulate: give --permission-set-file, --remove-permission-set "
                       "or --policy-file");
    }
  };
  auto draftJson = [&](const ExplainRequest& q) {
    int64_t now = nowMicros();
    return nlohmann::json{
        {"permissionSet", q.draftPermissionSet ? toJson(*q.draftPermissionSet) : nlohmann::json(nullptr)},
        {"removePermissionSet", q.removePermissionSet.empty() ? nlohmann::json(nullptr) : nlohmann::json(q.removePermissionSet)},
        {"policy", q.draftPolicy ? toJson(*q.draftPolicy, now) : nlohmann::json(nullptr)}};
  };
  auto draftSummary = [&](const ExplainRequest& q) {
    std::string out;
    if (q.draftPermissionSet) out = "permission set '" + q.draftPermissionSet->name + "' as in " + permissionSetFile;
    if (!q.removePermissionSet.empty()) out = "permission set '" + q.removePermissionSet + "' deleted";
    if (q.draftPolicy) {
      out += (out.empty() ? "" : "; ") + std::string("data-sharing policy '") + q.draftPolicy->name +
             "' as in " + policyFile;
    }
    return out;
  };
  auto withDraft = [](ExplainRequest q, const ExplainRequest& drafts) {
    q.draftPermissionSet = drafts.draftPermissionSet;
    q.draftPolicy = drafts.draftPolicy;
    q.removePermissionSet = drafts.removePermissionSet;
    return q;
  };

  // simulate --from-audit: replays the distinct calls of an audit log through explain, now
  // and with the draft, and reports the calls whose verdict would change.
  auto simulateAudit = [&](const ExplainRequest& drafts) {
    AuditQuery aq;
    aq.tenantId = optionalTenant(inTenant);
    int64_t now = nowMicros();
    aq.from = parsePastTime(since.empty() ? "1d" : since, now, "--since");
    if (!until.empty()) aq.to = parsePastTime(until, now, "--until");
    if (aq.to != 0 && aq.to <= aq.from) throw UsageError("--until must be after --since");
    if (!callerTenant.empty()) aq.callerTenant = parseId(callerTenant, "caller tenant id");
    aq.limit = limit;
    auto log = s.client().queryAudit(aq);
    check(log);
    size_t skipped = 0;
    std::vector<AuditCall> calls = distinctCalls(log.value(), &skipped);
    struct Row {
      const AuditCall* call;
      Change change;
      Explanation before, after;
    };
    std::vector<Row> rows;
    std::vector<std::pair<const AuditCall*, Failed>> failures;
    uint64_t counts[3] = {0, 0, 0};
    uint64_t failedCalls = 0;
    for (const auto& c : calls) {
      ExplainRequest q = explainRequestFor(c);
      auto before = s.client().explain(q);
      auto after = before.ok() ? s.client().explain(withDraft(q, drafts)) : before;
      if (!before.ok() || !after.ok()) {
        const auto& bad = before.ok() ? after : before;
        if (bad.getCode() == ErrorCode::Unavailable || bad.getCode() == ErrorCode::Busy ||
            bad.getCode() == ErrorCode::Unauthenticated) {
          check(bad);  // the connection or session is gone: stop
        }
        failures.push_back({&c, Failed{bad.getCode(), bad.getMessage()}});
        failedCalls += c.calls;
        continue;
      }
      Change ch = classifyChange(before.value().allowed, after.value().allowed);
      counts[static_cast<int>(ch)] += c.calls;
      rows.push_back({&c, ch, before.value(), after.value()});
    }
    if (!calls.empty() && rows.empty() && !failures.empty()) {
      // Nothing could be explained: that is the command's outcome.
      throw Failed{failures[0].second.code,
                   "no call of the audit log could be explained; the first: " + failures[0].second.message};
    }
    auto callJson = [](const AuditCall& c) {
      return nlohmann::json{{"callerUser", std::to_string(c.callerUser)},
                            {"callerTenant", std::to_string(c.callerTenant)},
                            {"targetTenant", std::to_string(c.targetTenant)},
                            {"api", c.api},
                            {"object", c.object},
                            {"calls", c.calls},
                            {"lastTime", formatTimestamp(c.lastTime)},
                            {"recordedOutcome", c.lastOutcome}};
    };
    auto brief = [](const Explanation& e) {
      return nlohmann::json{{"allowed", e.allowed},
                            {"code", e.code},
                            {"message", e.message},
                            {"decidingSet", e.decidingSet.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.decidingSet)},
                            {"decidingPolicy", e.decidingPolicy == 0 ? nlohmann::json(nullptr) : nlohmann::json(e.decidingPolicy)}};
    };
    nlohmann::json denied = nlohmann::json::array(), allowed = nlohmann::json::array(),
                   failed = nlohmann::json::array();
    for (const auto& r : rows) {
      if (r.change == Change::Unchanged) continue;
      nlohmann::json j = callJson(*r.call);
      j["now"] = brief(r.before);
      j["draft"] = brief(r.after);
      (r.change == Change::NewlyDenied ? denied : allowed).push_back(j);
    }
    for (const auto& [c, f] : failures) {
      nlohmann::json j = callJson(*c);
      j["code"] = errorCodeName(f.code);
      j["message"] = f.message;
      failed.push_back(j);
    }
    auto distinct = [&](Change ch) {
      return static_cast<uint64_t>(std::count_if(rows.begin(), rows.end(), [&](const Row& r) { return r.change == ch; }));
    };
    nlohmann::json out = {
        {"draft", draftJson(drafts)},
        {"log", {{"tenantId", aq.tenantId == 0 ? nlohmann::json(nullptr) : nlohmann::json(std::to_string(aq.tenantId))},
                 {"since", formatTimestamp(aq.from)},
                 {"until", aq.to == 0 ? nlohmann::json(nullptr) : nlohmann::json(formatTimestamp(aq.to))},
                 {"entries", log.value().size()},
                 {"skipped", skipped},
                 {"distinctCalls", calls.size()}}},
        {"newlyDenied", denied},
        {"newlyAllowed", allowed},
        {"failed", failed},
        {"counts", {{"newlyDenied", counts[0]}, {"newlyAllowed", counts[1]}, {"unchanged", counts[2]},
                    {"failed", failedCalls}}},
    };
    s.emit(out, [&] {
      std::cout << "Draft: " << draftSummary(drafts) << "\n";
      std::cout << "Audit log: " << log.value().size() << " entries since " << formatTimestamp(aq.from)
                << (aq.to == 0 ? "" : " until " + formatTimestamp(aq.to)) << ", " << calls.size()
                << " distinct calls" << (skipped ? " (" + std::to_string(skipped) + " entries without a caller skipped)" : "")
                << "\n";
      auto section = [&](Change ch, const char* title) {
        uint64_t n = distinct(ch);
        std::cout << "\n" << title << ": " << counts[static_cast<int>(ch)] << " calls (" << n << " distinct)\n";
        if (n == 0) return;
        Table t({"  CALLER", "TARGET", "API", "OBJECT", "CALLS", "LAST", "RECORDED", "WITH THE DRAFT"});
        for (const auto& r : rows) {
          if (r.change != ch) continue;
          const AuditCall& c = *r.call;
          std::string why = verdict(r.after);
          if (!r.after.decidingSet.empty() && r.after.decidingPolicy != 0) {
            why += " by '" + r.after.decidingSet + "' policy " + std::to_string(r.after.decidingPolicy);
          } else if (!r.after.allowed && !r.after.message.empty()) {
            why += ": " + r.after.message;
          }
          t.add({"  " + std::to_string(c.callerUser) + "@" + std::to_string(c.callerTenant),
                 std::to_string(c.targetTenant), c.api, c.object, std::to_string(c.calls),
                 formatTimestamp(c.lastTime), c.lastOutcome, why});
        }
        t.print(std::cout);
      };
      section(Change::NewlyDenied, "Would be newly DENIED");
      section(Change::NewlyAllowed, "Would be newly ALLOWED");
      if (!failures.empty()) {
        std::cout << "\nCould not be explained: " << failedCalls << " calls (" << failures.size() << " distinct)\n";
        Table t({"  CALLER", "TARGET", "API", "OBJECT", "CALLS", "ERROR"});
        for (const auto& [c, f] : failures) {
          t.add({"  " + std::to_string(c->callerUser) + "@" + std::to_string(c->callerTenant),
                 std::to_string(c->targetTenant), c->api, c->object, std::to_string(c->calls),
                 std::string(errorCodeName(f.code)) + ": " + f.message});
        }
        t.print(std::cout);
      }
      std::cout << "\nSummary: " << counts[0] << " newly denied, " << counts[1] << " newly allowed, "
                << counts[2] << " unchanged, " << failedCalls << " not explained\n";
    });
  };

  auto* simulate = leaf(&app, "simulate", "What a draft permission set or policy would change, before it is saved (exit 0 either way)", [&] {
    ExplainRequest drafts;
    if (fromAudit) {
      if (!userRef.empty() || !api.empty() || !object.empty() || !context.empty()) {
        throw UsageError("--from-audit replays the calls of the audit log: leave out --user, --context, --api and --object");
      }
      loadDrafts(drafts);
      simulateAudit(drafts);
      return;
    }
    if (!inTenant.empty() || !since.empty() || !until.empty() || !callerTenant.empty() || limit != 0) {
      throw UsageError("--in-tenant, --since, --until, --caller-tenant and --limit need --from-audit");
    }
    loadDrafts(drafts);
    ExplainRequest q = buildRequest();
    auto now = s.client().explain(q);
    check(now);
    auto sim = s.client().explain(withDraft(q, drafts));
    check(sim);
    Change ch = classifyChange(now.value().allowed, sim.value().allowed);
    s.emit({{"request", requestJson(q)},
            {"draft", draftJson(drafts)},
            {"current", toJson(now.value())},
            {"simulated", toJson(sim.value())},
            {"change", changeName(ch)}},
           [&] {
             std::cout << "Draft:            " << draftSummary(drafts) << "\n";
             std::cout << "Now:              " << verdict(now.value()) << "\n";
             std::cout << "With the draft:   " << verdict(sim.value());
             if (ch == Change::NewlyDenied) std::cout << "  <- newly denied";
             if (ch == Change::NewlyAllowed) std::cout << "  <- newly allowed";
             std::cout << "\n\n";
             printExplanation(std::cout, sim.value());
           });
  });
  callOptions(simulate, false);
  simulate->add_option("--permission-set-file", permissionSetFile,
                       "draft permission set (JSON PERMSET): as if saved, replacing the set of its name");
  simulate->add_option("--remove-permission-set", removePermissionSet, "as if this permission set were deleted");
  simulate->add_option("--policy-file", policyFile,
                       "draft data-sharing policy (JSON POLICY) of the tenant the call names, replacing the one of its name");
  simulate->add_flag("--from-audit", fromAudit, "replay the calls of an audit log and list those whose verdict would change");
  simulate->add_option("--in-tenant", inTenant, "with --from-audit: whose audit log (default: own)");
  simulate->add_option("--since", since, "with --from-audit: calls from this time: ISO-8601 or a duration ago (default 1d)");
  simulate->add_option("--until", until, "with --from-audit: calls before this time");
  simulate->add_option("--caller-tenant", callerTenant, "with --from-audit: only calls made by this tenant");
  simulate->add_option("--limit", limit, "with --from-audit: the newest N entries (default: server's, 1000)");

  // ---- record ----
  CLI::App* rec = app.add_subcommand("record", "Add, get, update, delete and search records");
  rec->require_subcommand(1);
  // A TenantContext for --context, made once the client exists.
  std::optional<TenantContext> ctx;
  auto withContext = [&]() -> const TenantContext* {
    if (context.empty()) return nullptr;
    uint64_t tid = parseId(context, "context tenant id");
    try {
      ctx.emplace(s.client(), tid);
    } catch (const Error& e) {
      throw Failed{e.code(), e.message()};
    }
    return &*ctx;
  };
  auto contextOption = [&](CLI::App* sub) {
    sub->add_option("--context", context, "act on this tenant's data through its data-sharing policy");
  };
  auto printOne = [&](const Result& r) {
    s.emit({{"record", toJson(r.getRecords().at(0))}}, [&] { printRecord(std::cout, r.getRecords().at(0)); });
  };

  auto* radd = leaf(rec, "add", "Add a record", [&] {
    Parameters p = buildParams(sets, nulls);
    Client& c = s.client();
    const TenantContext* tc = withContext();
    Result r = tc ? c.addRecord(object, p, *tc) : c.addRecord(object, p);
    check(r);
    printOne(r);
  });
  radd->add_option("OBJECT", object, "object name")->required();
  radd->add_option("--set", sets, "name=value (repeatable; sent as text, coerced by the server)");
  radd->add_option("--null", nulls, "field to set to null (repeatable)");
  contextOption(radd);

  auto* rget = leaf(rec, "get", "Get one record", [&] {
    parseId(id, "record id");
    Parameters p;
    p.retrieveRecordPermissions(permissions);
    Client& c = s.client();
    const TenantContext* tc = withContext();
    std::string f = fields.empty() ? "*" : fields;
    Result r = tc ? c.getRecord(object, f, id, *tc, p) : c.getRecord(object, f, id, p);
    check(r);
    printOne(r);
  });
  rget->add_option("OBJECT", object, "object name")->required();
  rget->add_option("ID", id, "record id")->required();
  rget->add_option("--fields", fields, "comma-separated projection (default: all)");
  rget->add_flag("--permissions", permissions, "also show canUpdate/canDelete");
  contextOption(rget);

  auto* rupdate = leaf(rec, "update", "Update fields of a record", [&] {
    parseId(id, "record id");
    Parameters p = buildParams(sets, nulls);
    if (p.empty()) throw UsageError("nothing to update: give --set or --null");
    Client& c = s.client();
    const TenantContext* tc = withContext();
    Result r = tc ? c.updateRecord(object, id, p, *tc, expectVersion)
                  : c.updateRecord(object, id, p, expectVersion);
    check(r);
    printOne(r);
  });
  rupdate->add_option("OBJECT", object, "object name")->required();
  rupdate->add_option("ID", id, "record id")->required();
  rupdate->add_option("--set", sets, "name=value (repeatable)");
  rupdate->add_option("--null", nulls, "field to set to null (repeatable)");
  rupdate->add_option("--expect-version", expectVersion, "fail with Conflict unless the record has this version");
  contextOption(rupdate);

  auto* rdelete = leaf(rec, "delete", "Delete a record", [&] {
    uint64_t rid = parseId(id, "record id");
    Client& c = s.client();
    const TenantContext* tc = withContext();
    Result r = tc ? c.deleteRecord(object, rid, *tc, expectVersion)
                  : c.deleteRecord(object, rid, expectVersion);
    check(r);
    s.emit({{"deleted", std::to_string(rid)}}, [&] { std::cout << "Deleted record " << rid << "\n"; });
  });
  rdelete->add_option("OBJECT", object, "object name")->required();
  rdelete->add_option("ID", id, "record id")->required();
  rdelete->add_option("--expect-version", expectVersion, "fail with Conflict unless the record has this version");
  contextOption(rdelete);

  auto* rsearch = leaf(rec, "search", "Search records", [&] {
    SearchQuery q;
    q.object = object;
    q.fields = fields.empty() ? "*" : fields;
    q.criteria = where;
    if (!sort.empty()) std::tie(q.sortBy, q.sortOrder) = parseSortSpec(sort);
    if (!sort2.empty()) std::tie(q.sortBy2, q.sortOrder2) = parseSortSpec(sort2);
    q.offset = offset;
    q.numberOfRows = rows;
    q.retrievePermissions = permissions;
    if (!continuation.empty()) {
      auto token = fromHex(continuation);
      if (!token) throw UsageError("bad --continuation '" + continuation + "': want the hex token a previous search printed");
      q.continuation = *token;
    }
    Client& c = s.client();
    const TenantContext* tc = withContext();
    std::vector<Record> records;
    Result r;
    while (true) {
      r = tc ? c.search(q, *tc) : c.search(q);
      check(r);
      records.insert(records.end(), r.getRecords().begin(), r.getRecords().end());
      if (!all || r.complete() || r.continuation().empty()) break;
      q.continuation = r.continuation();
      q.offset = 0;  // the offset applied to the first page only
    }
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& x : records) arr.push_back(toJson(x));
    nlohmann::json token = r.complete() ? nlohmann::json(nullptr) : nlohmann::json(toHex(r.continuation()));
    s.emit({{"records", arr}, {"complete", r.complete()}, {"continuation", token}}, [&] {
      printRecords(std::cout, records);
      std::cout << records.size() << (records.size() == 1 ? " row" : " rows");
      if (r.complete()) {
        std::cout << "\n";
      } else {
        std::cout << "; more rows follow: --all, or --continuation " << toHex(r.continuation()) << "\n";
      }
    });
  });
  rsearch->add_option("OBJECT", object, "object name")->required();
  rsearch->add_option("--fields", fields, "comma-separated projection (default: all)");
  rsearch->add_option("--where", where, "criteria, e.g. \"age >= 30 AND last_name starts with 'S'\"");
  rsearch->add_option("--sort", sort, "field[:asc|desc]");
  rsearch->add_option("--sort2", sort2, "second sort key, field[:asc|desc]");
  rsearch->add_option("--offset", offset, "rows to skip");
  rsearch->add_option("--rows", rows, "page size 1..1000 (default: server's, 100)");
  rsearch->add_option("--continuation", continuation, "resume after a page (hex token)");
  rsearch->add_flag("--all", all, "follow continuation tokens until the result is complete");
  rsearch->add_flag("--permissions", permissions, "also return canUpdate/canDelete");
  contextOption(rsearch);

  // ---- export / apply / lint (declarative configuration; docs/CLI.md) ----
  std::string file, outFile;
  int commandExit = kExitOk;  // a command that succeeds with another documented code (lint)
  bool dryRun = false, allowTenantDeletion = false;
  auto readTextFile = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw UsageError("cannot read '" + path + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  auto* exportCmd = leaf(&app, "export", "Write every tenant's users, objects, roles, policies, permission sets and settings as YAML (system admins)", [&] {
    std::string text = config::emitConfig(config::readServer(s.client()).cfg);
    if (outFile.empty() || outFile == "-") {
      std::cout << text;
    } else {
      std::ofstream out(outFile, std::ios::binary | std::ios::trunc);
      if (!out || !(out << text)) throw Failed{ErrorCode::Internal, "cannot write '" + outFile + "'"};
    }
  });
  exportCmd->add_option("-o,--output", outFile, "write to this file instead of stdout");

  auto* applyCmd = leaf(&app, "apply", "Make the server match a configuration file: shows the diff, then applies it (system admins)", [&] {
    std::string text = readTextFile(file);
    config::Config desired = config::parseConfig(text, file);  // the whole file, before any call
    config::ServerState state = config::readServer(s.client());
    config::PlanOptions opts;
    opts.allowTenantDeletion = allowTenantDeletion;
    config::Plan plan = config::planChanges(desired, state, opts);
    for (const auto& n : plan.notes) std::cout << "note: " << n << "\n";
    if (!plan.conflicts.empty()) {
      for (const auto& c : plan.conflicts) std::cerr << "cotenant: Conflict: " << c << "\n";
      throw Failed{ErrorCode::Conflict, std::to_string(plan.conflicts.size()) +
                                            " conflict(s) between the file and the server; nothing was applied"};
    }
    if (plan.changes.empty()) {
      std::cout << "No changes: the server matches " << file << ".\n";
      return;
    }
    for (const auto& c : plan.changes) std::cout << c.sign << " " << c.text << "\n";
    if (dryRun) {
      std::cout << plan.changes.size() << (plan.changes.size() == 1 ? " change" : " changes")
                << " (dry run: nothing applied)\n";
      return;
    }
    std::cout << "Applying " << plan.changes.size() << (plan.changes.size() == 1 ? " change" : " changes") << "...\n";
    config::runPlan(s.client(), plan, state, std::cout);
    std::cout << "Applied " << plan.changes.size() << (plan.changes.size() == 1 ? " change.\n" : " changes.\n");
  });
  applyCmd->add_option("-f,--file", file, "the configuration file (YAML, as written by export)")->required();
  applyCmd->add_flag("--dry-run", dryRun, "show the diff and change nothing");
  applyCmd->add_flag("--allow-tenant-deletion", allowTenantDeletion,
                     "delete tenants that are not in the file, with all their data");

  auto* lintCmd = leaf(&app, "lint", "Report permission sets and policies that are probably mistakes (exit 6 when there are findings)", [&] {
    config::Config cfg = file.empty() ? config::readServer(s.client()).cfg
                                      : config::parseConfig(readTextFile(file), file);
    auto findings = lint::lintConfig(cfg, lint::knownUniverse(cfg), nowMicros());
    s.emit(lint::toJson(findings), [&] { lint::printFindings(std::cout, findings); });
    if (!findings.empty()) commandExit = lint::kExitFindings;
  });
  lintCmd->add_option("-f,--file", file, "lint a configuration file instead of the server");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, or the parse error
    return rc == 0 ? kExitOk : kExitUsage;
  }

  try {
    for (auto& [sub, fn] : actions) {
      if (sub->parsed()) {
        fn();
        return commandExit;
      }
    }
    std::cerr << "cotenant: usage: no command given (see --help)\n";
    return kExitUsage;
  } catch (const UsageError& e) {
    std::cerr << "cotenant: usage: " << e.what() << "\n";
    return kExitUsage;
  } catch (const config::ConfigError& e) {
    for (const auto& p : e.problems()) std::cerr << "cotenant: InvalidArgument: " << p << "\n";
    std::cerr << "cotenant: InvalidArgument: " << e.problems().size()
              << (e.problems().size() == 1 ? " problem" : " problems") << " in the file; nothing was applied\n";
    return kExitRejected;
  } catch (const config::ServerError& e) {
    std::cerr << "cotenant: " << errorCodeName(e.code()) << ": " << e.what() << "\n";
    return exitCodeFor(e.code());
  } catch (const Failed& f) {
    std::cerr << "cotenant: " << errorCodeName(f.code) << ": " << f.message << "\n";
    return exitCodeFor(f.code);
  } catch (const Error& e) {  // connect
    std::cerr << "cotenant: " << errorCodeName(e.code()) << ": " << e.message() << "\n";
    return exitCodeFor(e.code());
  } catch (const std::exception& e) {
    std::cerr << "cotenant: Internal: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace
}  // namespace cotenant::cli

int main(int argc, char** argv) { return cotenant::cli::run(argc, argv); }
