// Draft files and audit-log replay for `cotenant explain` and `simulate`.

#include "cli_explain.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

namespace cotenant::cli {

bool isRecordApi(const std::string& api) {
  static const char* kApis[] = {"addRecord",  "addRecords", "updateRecord",
                                "deleteRecord", "getRecord", "searchRecords",
                                "getRecords", "importRecords", "finishImport",
                                "describeObject", "getRecordBy", "updateRecordBy",
                                "deleteRecordBy", "upsertRecord", "beginPhysicalImport"};
  return std::any_of(std::begin(kApis), std::end(kApis), [&](const char* a) { return api == a; });
}

nlohmann::json readJsonFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(path + ": cannot read: " + std::strerror(errno));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 7: ..."
    std::string what = e.what();
    size_t close = what.find("] ");
    throw UsageError(path + ": not valid JSON: " +
                     (close == std::string::npos ? what : what.substr(close + 2)));
  }
}

namespace {

// Field readers that name the JSON path of a problem.
[[noreturn]] void badJson(const std::string& path, const std::string& why) {
  throw UsageError(path + ": " + why);
}

std::string typeName(const nlohmann::json& v) { return v.type_name(); }

void onlyKeys(const nlohmann::json& obj, const std::string& path,
              std::initializer_list<const char*> keys) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = std::any_of(keys.begin(), keys.end(),
                             [&](const char* k) { return it.key() == k; });
    if (!known) {
      std::string list;
      for (const char* k : keys) list += (list.empty() ? "" : ", ") + std::string(k);
      badJson(path, "unknown key \"" + it.key() + "\" (known: " + list + ")");
    }
  }
}

const nlohmann::json* member(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string jsonString(const nlohmann::json& v, const std::string& path) {
  if (!v.is_string()) badJson(path, "want a string, got " + typeName(v));
  return v.get<std::string>();
}

bool jsonBool(const nlohmann::json& v, const std::string& path) {
  if (!v.is_boolean()) badJson(path, "want true or false, got " + typeName(v));
  return v.get<bool>();
}

// Ids are strings in the CLI's JSON ("7771212345"); plain non-negative numbers are accepted too.
uint64_t jsonId(const nlohmann::json& v, const std::string& path) {
  if (v.is_number_unsigned()) {
    uint64_t id = v.get<uint64_t>();
    if (id != 0) return id;
  } else if (v.is_string()) {
    if (auto id = RecordId::parse(v.get<std::string>())) return *id;
    badJson(path, "want a decimal id, got \"" + v.get<std::string>() + "\"");
  }
  badJson(path, "want an id (a decimal string such as \"7771212345\"), got " +
                    (v.is_number() ? v.dump() : typeName(v)));
}

std::vector<uint64_t> jsonIds(const nlohmann::json& v, const std::string& path) {
  if (!v.is_array()) badJson(path, "want an array of ids, got " + typeName(v));
  std::vector<uint64_t> out;
  for (size_t i = 0; i < v.size(); ++i) {
    uint64_t id = jsonId(v[i], path + "[" + std::to_string(i) + "]");
    if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

const nlohmann::json& unwrap(const nlohmann::json& j, const char* wrapper, const char* what) {
  if (!j.is_object()) badJson(what, std::string("want a JSON object, got ") + typeName(j));
  if (j.size() == 1 && j.contains(wrapper)) {
    const auto& inner = j.at(wrapper);
    if (!inner.is_object()) badJson(wrapper, "want a JSON object, got " + typeName(inner));
    return inner;
  }
  return j;
}

}  // namespace

PermissionSetInfo permissionSetFromJson(const nlohmann::json& in) {
  const nlohmann::json& j = unwrap(in, "permissionSet", "permission set");
  onlyKeys(j, "permission set", {"name", "scope", "allTenants", "tenants", "users", "policies"});
  PermissionSetInfo out;
  const auto* name = member(j, "name");
  if (name == nullptr) badJson("name", "missing (the set's name)");
  out.name = jsonString(*name, "name");
  try {
    checkPermissionSetName(out.name);
  } catch (const UsageError& e) {
    badJson("name", e.what());
  }
  const auto* scope = member(j, "scope");
  if (scope == nullptr) badJson("scope", "missing: want \"user\" or \"system\"");
  std::string sc = jsonString(*scope, "scope");
  if (sc != "user" && sc != "system") badJson("scope", "want \"user\" or \"system\", got \"" + sc + "\"");
  out.systemScope = sc == "system";
  const auto* all = member(j, "allTenants");
  const auto* tenants = member(j, "tenants");
  if (all != nullptr) out.allTenants = jsonBool(*all, "allTenants");
  if (tenants != nullptr) out.tenants = jsonIds(*tenants, "tenants");
  if (!out.allTenants && tenants == nullptr) {
    badJson("tenants", "missing: give \"tenants\": [ids] or \"allTenants\": true");
  }
  if (out.allTenants && !out.tenants.empty()) {
    badJson("tenants", "give \"tenants\" or \"allTenants\": true, not both");
  }
  if (const auto* users = member(j, "users")) out.users = jsonIds(*users, "users");
  if (out.systemScope && !out.users.empty()) {
    badJson("users", "a system-scope set applies to every user: leave \"users\" out");
  }
  const auto* policies = member(j, "policies");
  if (policies == nullptr) badJson("policies", "missing: want an array of policies");
  if (!policies->is_array()) badJson("policies", "want an array, got " + typeName(*policies));
  for (size_t i = 0; i < policies->size(); ++i) {
    std::string path = "policies[" + std::to_string(i) + "]";
    const auto& p = (*policies)[i];
    if (!p.is_object()) badJson(path, "want an object, got " + typeName(p));
    onlyKeys(p, path, {"effect", "resourceTypeRegex", "apiNameRegex", "methodRegex"});
    PermissionPolicy pol;
    for (const char* key : {"effect", "resourceTypeRegex", "apiNameRegex", "methodRegex"}) {
      if (!p.contains(key)) badJson(path + "." + key, "missing");
    }
    std::string effect = jsonString(p.at("effect"), path + ".effect");
    auto e = parseEffect(effect);
    if (!e) badJson(path + ".effect", "want \"allow\" or \"deny\", got \"" + effect + "\"");
    pol.effect = *e;
    pol.resourceTypeRegex = jsonString(p.at("resourceTypeRegex"), path + ".resourceTypeRegex");
    pol.apiNameRegex = jsonString(p.at("apiNameRegex"), path + ".apiNameRegex");
    pol.methodRegex = jsonString(p.at("methodRegex"), path + ".methodRegex");
    for (const std::string* re : {&pol.resourceTypeRegex, &pol.apiNameRegex, &pol.methodRegex}) {
      if (re->empty()) badJson(path, "empty pattern (\".*\" matches everything)");
    }
    out.policies.push_back(std::move(pol));
  }
  return out;
}

PolicyInfo policyFromJson(const nlohmann::json& in) {
  const nlohmann::json& j = unwrap(in, "policy", "policy");
  onlyKeys(j, "policy", {"name", "publisher", "designated", "global", "userId", "scope",
                         "expiresAt", "expired", "createdAt", "modifiedAt"});
  PolicyInfo out;
  const auto* name = member(j, "name");
  if (name == nullptr) badJson("name", "missing (the policy's name)");
  out.name = jsonString(*name, "name");
  if (out.name.empty()) badJson("name", "empty");
  if (const auto* g = member(j, "global")) out.global = jsonBool(*g, "global");
  const auto* d = member(j, "designated");
  if (d != nullptr && !d->is_null()) out.designated = jsonId(*d, "designated");
  if (out.global == (out.designated != 0)) {
    badJson("designated", "give a designated tenant id, or \"global\": true (and no designated tenant)");
  }
  const auto* user = member(j, "userId");
  if (user == nullptr) badJson("userId", "missing (the publisher's user the call runs as)");
  out.userId = jsonId(*user, "userId");
  if (const auto* scope = member(j, "scope")) {
    if (!scope->is_array()) badJson("scope", "want an array, got " + typeName(*scope));
    std::set<std::string> seen;
    for (size_t i = 0; i < scope->size(); ++i) {
      std::string path = "scope[" + std::to_string(i) + "]";
      const auto& o = (*scope)[i];
      if (!o.is_object()) badJson(path, "want an object, got " + typeName(o));
      onlyKeys(o, path, {"object", "rowFilter", "fields"});
      ObjectScope sc;
      if (!o.contains("object")) badJson(path + ".object", "missing");
      sc.object = jsonString(o.at("object"), path + ".object");
      if (sc.object.empty()) badJson(path + ".object", "empty");
      if (!seen.insert(sc.object).second) badJson(path + ".object", "'" + sc.object + "' given twice");
      if (o.contains("rowFilter") && !o.at("rowFilter").is_null()) {
        sc.rowFilter = jsonString(o.at("rowFilter"), path + ".rowFilter");
      }
      if (o.contains("fields")) {
        const auto& f = o.at("fields");
        if (!f.is_array()) badJson(path + ".fields", "want an array of field names, got " + typeName(f));
        for (size_t k = 0; k < f.size(); ++k) {
          sc.fields.push_back(jsonString(f[k], path + ".fields[" + std::to_string(k) + "]"));
        }
      }
      out.scope.push_back(std::move(sc));
    }
  }
  if (const auto* e = member(j, "expiresAt"); e != nullptr && !e->is_null()) {
    std::string text = jsonString(*e, "expiresAt");
    if (text != "never") {
      auto t = parseIsoTime(text);
      if (!t || *t <= 0) badJson("expiresAt", "want an ISO-8601 time, null or \"never\", got \"" + text + "\"");
      out.expiresAt = *t;
    }
  }
  return out;
}

namespace {
template <typename F>
auto loadFile(const std::string& path, F parse) {
  nlohmann::json j = readJsonFile(path);
  try {
    return parse(j);
  } catch (const UsageError& e) {
    throw UsageError(path + ": " + e.what());
  }
}
}  // namespace

PermissionSetInfo loadPermissionSetFile(const std::string& path) {
  return loadFile(path, [](const nlohmann::json& j) { return permissionSetFromJson(j); });
}

PolicyInfo loadPolicyFile(const std::string& path) {
  return loadFile(path, [](const nlohmann::json& j) { return policyFromJson(j); });
}

std::vector<AuditCall> distinctCalls(const std::vector<AuditEntry>& entries, size_t* skipped) {
  std::vector<AuditCall> out;
  std::map<std::tuple<uint64_t, uint64_t, uint64_t, std::string, std::string>, size_t> index;
  size_t skip = 0;
  for (const auto& e : entries) {
    if (e.callerUser == 0 || e.api.empty()) {
      ++skip;
      continue;
    }
    std::string object = isRecordApi(e.api) ? e.object : "";
    auto key = std::make_tuple(e.callerUser, e.callerTenant, e.targetTenant, e.api, object);
    auto [it, fresh] = index.emplace(key, out.size());
    if (fresh) {
      AuditCall c;
      c.callerUser = e.callerUser;
      c.callerTenant = e.callerTenant;
      c.targetTenant = e.targetTenant;
      c.api = e.api;
      c.object = object;
      out.push_back(std::move(c));
    }
    AuditCall& c = out[it->second];
    ++c.calls;
    if (e.time >= c.lastTime) {
      c.lastTime = e.time;
      c.lastOutcome = e.outcome;
    }
  }
  if (skipped != nullptr) *skipped = skip;
  return out;
}

ExplainRequest explainRequestFor(const AuditCall& call) {
  ExplainRequest q;
  q.userId = call.callerUser;
  q.tenantId = call.targetTenant;
  q.api = call.api;
  q.object = call.object;
  return q;
}

Change classifyChange(bool allowedNow, bool allowedWithDraft) {
  if (allowedNow && !allowedWithDraft) return Change::NewlyDenied;
  if (!allowedNow && allowedWithDraft) return Change::NewlyAllowed;
  return Change::Unchanged;
}

const char* changeName(Change c) {
  switch (c) {
    case Change::NewlyDenied: return "newly-denied";
    case Change::NewlyAllowed: return "newly-allowed";
    case Change::Unchanged: return "unchanged";
  }
  return "unchanged";
}

}  // namespace cotenant::cli
