#include "cli_util.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

namespace cotenant::cli {

int exitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::OK: return kExitOk;
    case ErrorCode::PermissionDenied:
    case ErrorCode::Unauthenticated: return kExitDenied;
    case ErrorCode::NotFound: return kExitNotFound;
    case ErrorCode::InvalidArgument:
    case ErrorCode::Conflict:
    case ErrorCode::ResourceExhausted: return kExitRejected;
    case ErrorCode::Unavailable:
    case ErrorCode::Internal:
    case ErrorCode::Busy: return kExitError;
  }
  return kExitError;
}

namespace {
std::vector<std::string> splitColons(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t c = s.find(':', start);
    parts.push_back(s.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return parts;
}
}  // namespace

FieldDef parseFieldSpec(const std::string& spec) {
  auto bad = [&](const std::string& why) {
    return UsageError("bad --field '" + spec + "': " + why +
                      " (want name:type[:indexed][:required], type one of text, int, float, "
                      "bool, timestamp)");
  };
  auto parts = splitColons(spec);
  if (parts.size() < 2) throw bad("missing type");
  FieldDef def;
  def.name = parts[0];
  if (def.name.empty()) throw bad("empty field name");
  auto type = parseFieldType(parts[1]);
  if (!type) throw bad("unknown type '" + parts[1] + "'");
  def.type = *type;
  for (size_t i = 2; i < parts.size(); ++i) {
    if (parts[i] == "indexed" && !def.indexed) {
      def.indexed = true;
    } else if (parts[i] == "required" && !def.required) {
      def.required = true;
    } else if (parts[i] == "indexed" || parts[i] == "required") {
      throw bad("'" + parts[i] + "' given twice");
    } else {
      throw bad("unknown flag '" + parts[i] + "'");
    }
  }
  return def;
}

std::pair<std::string, std::string> parseAssignment(const std::string& spec) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UsageError("bad --set '" + spec + "': want name=value");
  }
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

std::pair<std::string, std::string> parseSortSpec(const std::string& spec) {
  size_t c = spec.rfind(':');
  if (c == std::string::npos) {
    if (spec.empty()) throw UsageError("bad sort '': want field[:asc|desc]");
    return {spec, "asc"};
  }
  std::string field = spec.substr(0, c), order = spec.substr(c + 1);
  if (field.empty() || (order != "asc" && order != "desc")) {
    throw UsageError("bad sort '" + spec + "': want field[:asc|desc]");
  }
  return {field, order};
}

uint64_t parseId(const std::string& text, const std::string& what) {
  auto v = RecordId::parse(text);
  if (!v) throw UsageError(what + " '" + text + "' is not a decimal number");
  return *v;
}

// ---- sharing ------------------------------------------------------------------------------

namespace {
std::string trimBlanks(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}
}  // namespace

ObjectRights parseRightSpec(const std::string& spec) {
  auto bad = [&](const std::string& why) {
    return UsageError("bad --right '" + spec + "': " + why +
                      " (want OBJECT:RIGHTS, OBJECT a name or '*', RIGHTS a comma-separated "
                      "list of read, add, update, delete, or 'all' or 'none')");
  };
  size_t colon = spec.find(':');
  if (colon == std::string::npos) throw bad("missing ':'");
  ObjectRights out;
  out.object = trimBlanks(spec.substr(0, colon));
  if (out.object.empty()) throw bad("empty object name");
  auto rights = parseRights(spec.substr(colon + 1));
  if (!rights) throw bad("bad rights '" + spec.substr(colon + 1) + "'");
  out.rights = *rights;
  return out;
}

std::vector<ObjectRights> parseRightSpecs(const std::vector<std::string>& specs) {
  std::vector<ObjectRights> out;
  std::set<std::string> seen;
  for (const auto& spec : specs) {
    ObjectRights r = parseRightSpec(spec);
    if (!seen.insert(r.object).second) {
      throw UsageError("bad --right '" + spec + "': object '" + r.object + "' given twice");
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string formatRightSpecs(const std::vector<ObjectRights>& rights) {
  std::string out;
  for (const auto& r : rights) {
    if (!out.empty()) out += ' ';
    out += r.object + ":" + formatRights(r.rights);
  }
  return out;
}

std::vector<ObjectScope> groupScope(const std::vector<ScopeArg>& args) {
  std::vector<ObjectScope> out;
  std::vector<bool> hasFilter, hasFields;
  std::set<std::string> seen;
  for (const auto& a : args) {
    switch (a.kind) {
      case ScopeArg::Kind::Object: {
        std::string name = trimBlanks(a.value);
        if (name.empty()) throw UsageError("bad --object '': want an object name");
        if (!seen.insert(name).second) {
          throw UsageError("--object '" + name + "' given twice: give each object once, with "
                           "its --filter and --fields after it");
        }
        out.push_back(ObjectScope{name, "", {}});
        hasFilter.push_back(false);
        hasFields.push_back(false);
        break;
      }
      case ScopeArg::Kind::Filter:
        if (out.empty()) {
          throw UsageError("--filter '" + a.value + "' comes before any --object: a --filter "
                           "applies to the --object before it");
        }
        if (hasFilter.back()) {
          throw UsageError("second --filter for --object '" + out.back().object +
                           "': combine them with AND in one criteria");
        }
        if (trimBlanks(a.value).empty()) {
          throw UsageError("empty --filter for --object '" + out.back().object +
                           "': leave --filter out to share every row");
        }
        out.back().rowFilter = a.value;
        hasFilter.back() = true;
        break;
      case ScopeArg::Kind::Fields: {
        if (out.empty()) {
          throw UsageError("--fields '" + a.value + "' comes before any --object: --fields "
                           "applies to the --object before it");
        }
        if (hasFields.back()) {
          throw UsageError("second --fields for --object '" + out.back().object +
                           "': list every field in one --fields a,b,c");
        }
        std::vector<std::string> names;
        size_t start = 0;
        while (start <= a.value.size()) {
          size_t comma = a.value.find(',', start);
          if (comma == std::string::npos) comma = a.value.size();
          std::string item = trimBlanks(a.value.substr(start, comma - start));
          start = comma + 1;
          if (item.empty()) continue;
          if (item == "*") {
            throw UsageError("bad --fields '" + a.value + "': leave --fields out to share every field");
          }
          if (std::find(names.begin(), names.end(), item) == names.end()) names.push_back(item);
        }
        if (names.empty()) throw UsageError("bad --fields '" + a.value + "': want a,b,...");
        out.back().fields = std::move(names);
        hasFields.back() = true;
        break;
      }
    }
  }
  return out;
}

std::string scopeSummary(const std::vector<ObjectScope>& scope) {
  if (scope.empty()) return "all objects";
  std::string out;
  for (const auto& o : scope) {
    if (!out.empty()) out += ", ";
    out += o.object;
    std::string detail;
    if (!o.rowFilter.empty()) detail = "filter";
    if (!o.fields.empty()) {
      if (!detail.empty()) detail += "; ";
      detail += "fields ";
      for (size_t i = 0; i < o.fields.size(); ++i) detail += (i ? "," : "") + o.fields[i];
    }
    if (!detail.empty()) out += " (" + detail + ")";
  }
  return out;
}

uint64_t matchUser(const std::vector<UserInfo>& users, const std::string& name,
                   const std::string& tenantLabel) {
  std::vector<const UserInfo*> hits;
  for (const auto& u : users) {
    if (u.name == name) hits.push_back(&u);
  }
  if (hits.size() == 1) return hits[0]->id;
  if (hits.empty()) {
    std::string hint;
    for (const auto& u : users) {
      if (u.name.size() == name.size() &&
          std::equal(u.name.begin(), u.name.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        hint = " (user names are case-sensitive; did you mean '" + u.name + "'?)";
        break;
      }
    }
    throw UsageError("no user named '" + name + "' in " + tenantLabel + hint +
                     "; `cotenant user list` shows them, or give the user id");
  }
  std::string ids;
  for (const auto* u : hits) ids += (ids.empty() ? "" : ", ") + std::to_string(u->id);
  throw UsageError("user name '" + name + "' is ambiguous in " + tenantLabel + " (ids " + ids +
                   "); give the user id");
}

// ---- permission sets ------------------------------------------------------------------------

namespace {
std::vector<std::string> splitBlanks(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i == s.size()) break;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}
}  // namespace

PermissionPolicy parsePolicySpec(Effect effect, const std::string& spec) {
  std::string flag = std::string("--") + effectName(effect);
  auto fields = splitBlanks(spec);
  if (fields.size() != 3) {
    throw UsageError("bad " + flag + " '" + spec + "': want three patterns separated by blanks, "
                     "RESOURCE-TYPE API-NAME METHOD (e.g. 'records/Job.* .* GET|DELETE'), got " +
                     std::to_string(fields.size()) +
                     "; quote the whole spec, and write a space inside a pattern as \\x20");
  }
  for (auto& f : fields) {
    if (f == "*") f = ".*";
  }
  return PermissionPolicy{effect, fields[0], fields[1], fields[2]};
}

std::vector<PermissionPolicy> parsePolicySpecs(const std::vector<PolicyArg>& args) {
  if (args.empty()) throw UsageError("no policies: give at least one --allow or --deny");
  std::vector<PermissionPolicy> out;
  for (const auto& a : args) out.push_back(parsePolicySpec(a.effect, a.spec));
  return out;
}

std::string formatPolicy(const PermissionPolicy& p) {
  return std::string(effectName(p.effect)) + " " + p.resourceTypeRegex + " " + p.apiNameRegex +
         " " + p.methodRegex;
}

void checkPermissionSetName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
                     c == '-';
            });
  if (!ok) {
    throw UsageError("bad permission set name '" + name + "': want 1-64 of A-Z a-z 0-9 _ . -");
  }
}

UserRef parseUserRef(const std::string& spec) {
  UserRef r;
  if (spec.empty()) throw UsageError("empty --user: want a user id, NAME or NAME@TENANT");
  if (auto id = RecordId::parse(spec)) {
    r.id = *id;
    return r;
  }
  size_t at = spec.rfind('@');
  if (at != std::string::npos) {
    if (auto t = RecordId::parse(spec.substr(at + 1))) {
      r.name = spec.substr(0, at);
      r.tenant = *t;
      if (r.name.empty()) throw UsageError("bad --user '" + spec + "': empty name before '@'");
      return r;
    }
  }
  r.name = spec;
  return r;
}

// ---- explain / simulate -------------------------------------------------------------------

bool isRecordApi(const std::string& api) {
  static const char* kApis[] = {"addRecord",  "addRecords", "updateRecord",
                                "deleteRecord", "getRecord", "searchRecords"};
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

std::string verdict(const Explanation& e) {
  if (e.allowed) return "ALLOWED";
  return "DENIED (" + (e.code.empty() ? std::string("PermissionDenied") : e.code) + ")";
}

// ---- times --------------------------------------------------------------------------------

int64_t nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<int64_t> parseDuration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  constexpr int64_t kSecond = 1000000;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = i;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == i || digits == text.size()) return std::nullopt;
    int64_t n = 0;
    auto r = std::from_chars(text.data() + i, text.data() + digits, n);
    if (r.ec != std::errc()) return std::nullopt;
    int64_t unit = 0;
    switch (text[digits]) {
      case 's': unit = kSecond; break;
      case 'm': unit = 60 * kSecond; break;
      case 'h': unit = 3600 * kSecond; break;
      case 'd': unit = 86400 * kSecond; break;
      case 'w': unit = 7 * 86400 * kSecond; break;
      default: return std::nullopt;
    }
    // Bounded well inside int64 so that now +/- the duration cannot overflow either.
    constexpr int64_t kMax = int64_t{1} << 61;
    if (n > kMax / unit || total > kMax - n * unit) return std::nullopt;
    total += n * unit;
    i = digits + 1;
  }
  if (total == 0) return std::nullopt;
  return total;
}

std::optional<int64_t> parseIsoTime(const std::string& text) {
  size_t pos = 0;
  auto number = [&](size_t width, int* out) {
    if (pos + width > text.size()) return false;
    int v = 0;
    for (size_t i = 0; i < width; ++i) {
      char c = text[pos + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    pos += width;
    return true;
  };
  auto expect = [&](char c) {
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  };
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(4, &year) || !expect('-') || !number(2, &month) || !expect('-') ||
      !number(2, &day)) {
    return std::nullopt;
  }
  int64_t micros = 0;
  int64_t offsetSeconds = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return std::nullopt;
    ++pos;
    if (!number(2, &hour) || !expect(':') || !number(2, &minute)) return std::nullopt;
    if (expect(':')) {
      if (!number(2, &second)) return std::nullopt;
      if (expect('.')) {
        size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        size_t n = pos - start;
        if (n == 0 || n > 6) return std::nullopt;
        std::string frac = text.substr(start, n) + std::string(6 - n, '0');
        micros = std::stoll(frac);
      }
    }
    if (expect('Z')) {
      // UTC
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      int sign = text[pos] == '+' ? 1 : -1;
      ++pos;
      int oh = 0, om = 0;
      if (!number(2, &oh)) return std::nullopt;
      expect(':');
      if (!number(2, &om) || oh > 23 || om > 59) return std::nullopt;
      offsetSeconds = sign * (oh * 3600 + om * 60);
    }
  }
  if (pos != text.size()) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t t = timegm(&tm);
  // timegm normalises (Feb 30 -> Mar 2); a changed day means the date did not exist.
  if (tm.tm_mday != day || tm.tm_mon != month - 1) return std::nullopt;
  return (static_cast<int64_t>(t) - offsetSeconds) * 1000000 + micros;
}

int64_t parsePastTime(const std::string& text, int64_t now, const std::string& option) {
  if (auto d = parseDuration(text)) return now - *d;
  if (auto t = parseIsoTime(text)) return *t;
  throw UsageError("bad " + option + " '" + text +
                   "': want an ISO-8601 time (2024-05-01T12:00:00Z) or a duration ago "
                   "(90s, 15m, 1h, 2d, 1w, 1h30m)");
}

int64_t parseExpiry(const std::string& text, int64_t now) {
  if (text == "never") return 0;
  // Whole seconds: an expiry reads better without the clock's microseconds.
  if (auto d = parseDuration(text)) return (now + *d) / 1000000 * 1000000;
  if (auto t = parseIsoTime(text)) {
    if (*t <= 0) throw UsageError("bad --expires '" + text + "': before 1970");
    return *t;
  }
  throw UsageError("bad --expires '" + text +
                   "': want 'never', an ISO-8601 time (2030-01-01T00:00:00Z) or a duration "
                   "from now (30d, 12h)");
}

std::string checkOutcome(const std::string& text) {
  static const char* kOutcomes[] = {"OK", "NotFound", "PermissionDenied", "InvalidArgument",
                                    "Conflict", "ResourceExhausted", "Unauthenticated",
                                    "Internal", "Busy"};
  for (const char* o : kOutcomes) {
    if (text == o) return text;
  }
  std::string all;
  for (const char* o : kOutcomes) all += (all.empty() ? "" : ", ") + std::string(o);
  throw UsageError("bad --outcome '" + text + "': want one of " + all);
}

std::string toHex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::optional<std::string> fromHex(const std::string& hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    auto r = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    if (r.ec != std::errc() || r.ptr != hex.data() + i + 2) return std::nullopt;
    out += static_cast<char>(v);
  }
  return out;
}

// ---- JSON -------------------------------------------------------------------------------

nlohmann::json toJson(const Value& v) {
  switch (v.type()) {
    case Value::Type::Null: return nullptr;
    case Value::Type::Text: return v.asText();
    case Value::Type::Int: return v.asInt();
    case Value::Type::Float: return v.asFloat();
    case Value::Type::Bool: return v.asBool();
    case Value::Type::Timestamp: return v.toString();
  }
  return nullptr;
}

nlohmann::json toJson(const Record& r) {
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& [name, value] : r.fields()) fields[name] = toJson(value);
  nlohmann::json j = {
      {"id", r.idString()},
      {"version", r.version()},
      {"createdBy", std::to_string(r.createdBy())},
      {"createdAt", formatTimestamp(r.createdAt())},
      {"modifiedBy", std::to_string(r.modifiedBy())},
      {"modifiedAt", formatTimestamp(r.modifiedAt())},
      {"fields", fields},
  };
  if (r.canUpdate() || r.canDelete()) {
    j["permissions"] = {{"canUpdate", r.canUpdate().value_or(false)},
                        {"canDelete", r.canDelete().value_or(false)}};
  }
  return j;
}

nlohmann::json toJson(const TenantInfo& t) {
  return {
      {"id", std::to_string(t.id)},
      {"name", t.name},
      {"kind", tenantKindName(t.kind)},
      {"provider", t.provider == 0 ? nlohmann::json(nullptr) : nlohmann::json(std::to_string(t.provider))},
      {"createdAt", formatTimestamp(t.createdAt)},
  };
}

nlohmann::json toJson(const UserInfo& u) {
  return {
      {"id", std::to_string(u.id)},
      {"tenantId", std::to_string(u.tenantId)},
      {"name", u.name},
      {"level", adminLevelName(u.level)},
      {"createdAt", formatTimestamp(u.createdAt)},
  };
}

nlohmann::json toJson(const ObjectInfo& o) {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& f : o.fields) {
    fields.push_back({{"name", f.name},
                      {"type", fieldTypeName(f.type)},
                      {"required", f.required},
                      {"indexed", f.indexed}});
  }
  return {{"id", o.id}, {"name", o.name}, {"fields", fields}};
}

namespace {
nlohmann::json idOrNull(uint64_t id) {
  return id == 0 ? nlohmann::json(nullptr) : nlohmann::json(std::to_string(id));
}
}  // namespace

nlohmann::json toJson(const Rights& r) {
  return {{"read", r.read}, {"add", r.add}, {"update", r.update}, {"delete", r.del}};
}

nlohmann::json toJson(const RoleInfo& r) {
  nlohmann::json rights = nlohmann::json::array();
  for (const auto& o : r.rights) rights.push_back({{"object", o.object}, {"rights", toJson(o.rights)}});
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : r.members) {
    members.push_back({{"tenantId", std::to_string(m.tenantId)}, {"userId", std::to_string(m.userId)}});
  }
  return {{"id", std::to_string(r.id)}, {"tenantId", std::to_string(r.tenantId)},
          {"name", r.name},           {"crossTenant", r.crossTenant},
          {"rights", rights},         {"members", members}};
}

nlohmann::json toJson(const PolicyInfo& p, int64_t now) {
  nlohmann::json scope = nlohmann::json::array();
  for (const auto& o : p.scope) {
    scope.push_back({{"object", o.object},
                     {"rowFilter", o.rowFilter.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.rowFilter)},
                     {"fields", o.fields}});
  }
  return {
      {"name", p.name},
      {"publisher", std::to_string(p.publisher)},
      {"designated", idOrNull(p.designated)},
      {"global", p.global},
      {"userId", std::to_string(p.userId)},
      {"scope", scope},
      {"expiresAt", p.expiresAt == 0 ? nlohmann::json(nullptr) : nlohmann::json(formatTimestamp(p.expiresAt))},
      {"expired", p.expiredAt(now)},
      {"createdAt", formatTimestamp(p.createdAt)},
      {"modifiedAt", formatTimestamp(p.modifiedAt)},
  };
}

nlohmann::json toJson(const ApiKeyInfo& k) {
  return {{"keyId", k.keyId},
          {"userId", std::to_string(k.userId)},
          {"createdAt", formatTimestamp(k.createdAt)},
          {"revoked", k.revoked}};
}

nlohmann::json toJson(const AuditEntry& e) {
  return {
      {"time", formatTimestamp(e.time)},
      {"callerTenant", std::to_string(e.callerTenant)},
      {"callerUser", std::to_string(e.callerUser)},
      {"principal", std::to_string(e.principal)},
      {"targetTenant", std::to_string(e.targetTenant)},
      {"api", e.api},
      {"object", e.object},
      {"recordId", idOrNull(e.recordId)},
      {"outcome", e.outcome},
      {"detail", e.detail},
  };
}

nlohmann::json toJson(const UsageInfo& u) {
  nlohmann::json calls = nlohmann::json::object();
  for (const auto& c : u.calls) calls[c.api] = c.calls;
  return {
      {"tenantId", std::to_string(u.tenantId)},
      {"records", u.records},
      {"bytes", u.bytes},
      {"calls", calls},
      {"servedToOthers", u.servedToOthers},
      {"consumedFromOthers", u.consumedFromOthers},
  };
}

nlohmann::json toJson(const Setting& s) { return {{"name", s.name}, {"value", s.value}}; }

nlohmann::json toJson(const PermissionPolicy& p) {
  return {{"effect", effectName(p.effect)},
          {"resourceTypeRegex", p.resourceTypeRegex},
          {"apiNameRegex", p.apiNameRegex},
          {"methodRegex", p.methodRegex}};
}

nlohmann::json toJson(const PermissionSetInfo& s) {
  nlohmann::json tenants = nlohmann::json::array();
  for (uint64_t t : s.tenants) tenants.push_back(std::to_string(t));
  nlohmann::json users = nlohmann::json::array();
  for (uint64_t u : s.users) users.push_back(std::to_string(u));
  nlohmann::json policies = nlohmann::json::array();
  for (const auto& p : s.policies) policies.push_back(toJson(p));
  return {{"name", s.name},
          {"scope", s.systemScope ? "system" : "user"},
          {"allTenants", s.allTenants},
          {"tenants", tenants},
          {"users", users},
          {"policies", policies}};
}

nlohmann::json toJson(const Explanation& e) {
  auto textOrNull = [](const std::string& t) {
    return t.empty() ? nlohmann::json(nullptr) : nlohmann::json(t);
  };
  nlohmann::json sets = nlohmann::json::array();
  for (const auto& c : e.permissionSets) {
    sets.push_back({{"name", c.name},
                    {"forUser", std::to_string(c.forUser)},
                    {"matchedAllow", c.matchedAllow},
                    {"matchedDeny", c.matchedDeny}});
  }
  return {
      {"allowed", e.allowed},
      {"code", e.code},
      {"message", e.message},
      {"contextPath", e.contextPath},
      {"policy", textOrNull(e.policy)},
      {"principal", idOrNull(e.principal)},
      {"permissionSets", sets},
      {"decidingSet", textOrNull(e.decidingSet)},
      {"decidingPolicy", e.decidingPolicy == 0 ? nlohmann::json(nullptr) : nlohmann::json(e.decidingPolicy)},
      {"roleRights", textOrNull(e.roleRights)},
      {"scope", textOrNull(e.scope)},
      {"steps", e.steps},
  };
}

// ---- text -------------------------------------------------------------------------------

namespace {
size_t displayWidth(const std::string& s) {
  // Code points, not bytes: continuation bytes (10xxxxxx) do not count.
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}
}  // namespace

void Table::print(std::ostream& os) const {
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], displayWidth(row[i]));
    }
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string& c = i < row.size() ? row[i] : std::string();
      out += c;
      if (i + 1 < widths.size()) out.append(widths[i] - displayWidth(c) + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    os << out << "\n";
  };
  line(header_);
  for (const auto& r : rows_) line(r);
}

std::string cell(const Value& v) {
  if (v.isNull()) return "";
  std::string s = v.toString();
  // Keep one record on one line.
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

void printRecords(std::ostream& os, const std::vector<Record>& records) {
  std::vector<std::string> names;
  for (const auto& r : records) {
    for (const auto& f : r.fields()) {
      if (std::find(names.begin(), names.end(), f.first) == names.end()) names.push_back(f.first);
    }
  }
  std::vector<std::string> header{"ID"};
  header.insert(header.end(), names.begin(), names.end());
  header.push_back("VERSION");
  header.push_back("MODIFIED");
  Table t(header);
  for (const auto& r : records) {
    std::vector<std::string> row{r.idString()};
    for (const auto& n : names) row.push_back(cell(r.get(n)));
    row.push_back(std::to_string(r.version()));
    row.push_back(formatTimestamp(r.modifiedAt()));
    t.add(std::move(row));
  }
  t.print(os);
}

void printRecord(std::ostream& os, const Record& r) {
  Table t({"FIELD", "VALUE"});
  t.add({"id", r.idString()});
  for (const auto& [name, value] : r.fields()) t.add({name, value.isNull() ? "(null)" : cell(value)});
  t.add({"version", std::to_string(r.version())});
  t.add({"createdBy", std::to_string(r.createdBy())});
  t.add({"createdAt", formatTimestamp(r.createdAt())});
  t.add({"modifiedBy", std::to_string(r.modifiedBy())});
  t.add({"modifiedAt", formatTimestamp(r.modifiedAt())});
  if (r.canUpdate()) t.add({"canUpdate", *r.canUpdate() ? "true" : "false"});
  if (r.canDelete()) t.add({"canDelete", *r.canDelete() ? "true" : "false"});
  t.print(os);
}

namespace {
std::string oneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}
}  // namespace

void printRoles(std::ostream& os, const std::vector<RoleInfo>& roles) {
  Table t({"ID", "NAME", "CROSS-TENANT", "RIGHTS", "MEMBERS"});
  for (const auto& r : roles) {
    std::string members;
    for (const auto& m : r.members) {
      if (!members.empty()) members += ' ';
      members += std::to_string(m.userId);
      if (m.tenantId != r.tenantId) members += "@" + std::to_string(m.tenantId);
    }
    t.add({std::to_string(r.id), r.name, r.crossTenant ? "yes" : "no",
           r.rights.empty() ? "none" : formatRightSpecs(r.rights), members});
  }
  t.print(os);
}

void printPolicies(std::ostream& os, const std::vector<PolicyInfo>& policies, int64_t now) {
  Table t({"NAME", "PUBLISHER", "DESIGNATED", "USER", "SCOPE", "EXPIRES"});
  for (const auto& p : policies) {
    std::string expires = p.expiresAt == 0 ? "never" : formatTimestamp(p.expiresAt);
    if (p.expiredAt(now)) expires += " (expired)";
    t.add({p.name, std::to_string(p.publisher),
           p.global ? "global" : std::to_string(p.designated), std::to_string(p.userId),
           oneLine(scopeSummary(p.scope)), expires});
  }
  t.print(os);
  // The table only summarises scopes; spell out filters and field lists below it.
  for (const auto& p : policies) {
    for (const auto& o : p.scope) {
      if (!o.rowFilter.empty()) {
        os << "  " << p.name << " " << o.object << " filter: " << oneLine(o.rowFilter) << "\n";
      }
      if (!o.fields.empty()) {
        os << "  " << p.name << " " << o.object << " fields: ";
        for (size_t i = 0; i < o.fields.size(); ++i) os << (i ? "," : "") << o.fields[i];
        os << "\n";
      }
    }
  }
}

void printApiKeys(std::ostream& os, const std::vector<ApiKeyInfo>& keys) {
  Table t({"KEY ID", "USER", "CREATED", "STATUS"});
  for (const auto& k : keys) {
    t.add({k.keyId, std::to_string(k.userId), formatTimestamp(k.createdAt),
           k.revoked ? "revoked" : "active"});
  }
  t.print(os);
}

void printAudit(std::ostream& os, const std::vector<AuditEntry>& entries) {
  Table t({"TIME", "CALLER", "PRINCIPAL", "TARGET", "API", "OBJECT", "RECORD", "OUTCOME", "DETAIL"});
  for (const auto& e : entries) {
    t.add({formatTimestamp(e.time),
           std::to_string(e.callerUser) + "@" + std::to_string(e.callerTenant),
           std::to_string(e.principal), std::to_string(e.targetTenant), e.api, oneLine(e.object),
           e.recordId == 0 ? "" : std::to_string(e.recordId), e.outcome, oneLine(e.detail)});
  }
  t.print(os);
}

void printUsage(std::ostream& os, const UsageInfo& u) {
  Table t({"TENANT", "RECORDS", "BYTES", "SERVED-TO-OTHERS", "CONSUMED-FROM-OTHERS"});
  t.add({std::to_string(u.tenantId), std::to_string(u.records), std::to_string(u.bytes),
         std::to_string(u.servedToOthers), std::to_string(u.consumedFromOthers)});
  t.print(os);
  if (u.calls.empty()) return;
  os << "\n";
  Table calls({"API", "CALLS"});
  for (const auto& c : u.calls) calls.add({c.api, std::to_string(c.calls)});
  calls.print(os);
}

void printSettings(std::ostream& os, const std::vector<Setting>& settings) {
  Table t({"NAME", "VALUE"});
  for (const auto& s : settings) t.add({s.name, s.value});
  t.print(os);
}

void printPermissionSets(std::ostream& os, const std::vector<PermissionSetInfo>& sets) {
  Table t({"NAME", "SCOPE", "TENANTS", "USERS", "#", "EFFECT", "RESOURCE-TYPE", "API-NAME", "METHOD"});
  auto ids = [](const std::vector<uint64_t>& v) {
    std::string out;
    for (uint64_t x : v) out += (out.empty() ? "" : " ") + std::to_string(x);
    return out;
  };
  for (const auto& s : sets) {
    std::string scope = s.systemScope ? "system" : "user";
    std::string tenants = s.allTenants ? "all" : (s.tenants.empty() ? "none" : ids(s.tenants));
    std::string users = s.systemScope ? "all" : (s.users.empty() ? "none" : ids(s.users));
    if (s.policies.empty()) t.add({s.name, scope, tenants, users, "", "(no policies)"});
    for (size_t i = 0; i < s.policies.size(); ++i) {
      const auto& p = s.policies[i];
      // The set's columns on its first row only; the name on every row, for grep.
      t.add({s.name, i == 0 ? scope : "", i == 0 ? tenants : "", i == 0 ? users : "",
             std::to_string(i + 1), effectName(p.effect), oneLine(p.resourceTypeRegex),
             oneLine(p.apiNameRegex), oneLine(p.methodRegex)});
    }
  }
  t.print(os);
}

void printExplanation(std::ostream& os, const Explanation& e) {
  auto numbers = [](const std::vector<uint32_t>& v) {
    if (v.empty()) return std::string("-");
    std::string out;
    for (uint32_t n : v) out += (out.empty() ? "" : ",") + std::to_string(n);
    return out;
  };
  auto line = [&](const char* label, const std::string& value) {
    std::string l = label;
    l.append(l.size() < 17 ? 17 - l.size() : 1, ' ');
    os << l << oneLine(value) << "\n";
  };
  line("Context path:", e.contextPath.empty() ? "-" : e.contextPath);
  line("Policy:", e.policy.empty() ? "none" : e.policy);
  line("Principal:", e.principal == 0 ? "-" : "user " + std::to_string(e.principal));
  if (e.permissionSets.empty()) {
    line("Permission sets:", "none considered");
  } else {
    os << "Permission sets:\n";
    Table t({"  SET", "FOR-USER", "MATCHED-ALLOW", "MATCHED-DENY", "DECIDES"});
    bool marked = false;
    for (const auto& c : e.permissionSets) {
      std::string decides;
      bool matches = std::find(c.matchedDeny.begin(), c.matchedDeny.end(), e.decidingPolicy) !=
                         c.matchedDeny.end() ||
                     std::find(c.matchedAllow.begin(), c.matchedAllow.end(), e.decidingPolicy) !=
                         c.matchedAllow.end();
      if (!marked && e.decidingPolicy != 0 && c.name == e.decidingSet && matches) {
        decides = "policy " + std::to_string(e.decidingPolicy);
        marked = true;
      }
      t.add({"  " + c.name, std::to_string(c.forUser), numbers(c.matchedAllow),
             numbers(c.matchedDeny), decides});
    }
    t.print(os);
  }
  std::string deciding;
  if (!e.decidingSet.empty()) {
    deciding = "permission set '" + e.decidingSet + "'";
    if (e.decidingPolicy != 0) deciding += " policy " + std::to_string(e.decidingPolicy);
  } else if (!e.permissionSets.empty()) {
    deciding = "none: no policy matched (default deny)";
  } else {
    deciding = "none";
  }
  line("Deciding:", deciding);
  line("Role rights:", e.roleRights.empty() ? "-" : e.roleRights);
  line("Scope:", e.scope.empty() ? "-" : e.scope);
  if (!e.steps.empty()) {
    os << "Steps:\n";
    for (size_t i = 0; i < e.steps.size(); ++i) {
      os << "  " << (i + 1) << ". " << oneLine(e.steps[i]) << "\n";
    }
  }
  std::string v = verdict(e);
  if (!e.message.empty()) v += ": " + e.message;
  line("Verdict:", v);
}

}  // namespace cotenant::cli
