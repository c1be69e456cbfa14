// Declarative access configuration: parse/validate, emit, read a server, plan and apply.

#include "config.h"

#include <algorithm>
#include <sstream>

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include "cli_util.h"

namespace cotenant::cli::config {
namespace {

const char* const kTenantKinds[] = {"tenant", "msp", "isv", "system"};
const char* const kLevels[] = {"user", "tenant-admin", "system-admin"};
const char* const kFieldTypes[] = {"text", "int", "float", "bool", "timestamp"};

template <size_t N>
bool oneOf(const std::string& v, const char* const (&list)[N]) {
  return std::any_of(std::begin(list), std::end(list), [&](const char* x) { return v == x; });
}
template <size_t N>
std::string listOf(const char* const (&list)[N]) {
  std::string s;
  for (const char* x : list) s += (s.empty() ? "" : ", ") + std::string(x);
  return s;
}

// "user@tenant" -> {user, tenant}; the last '@' counts. No '@' -> {spec, ""}.
std::pair<std::string, std::string> splitUser(const std::string& spec) {
  size_t at = spec.rfind('@');
  if (at == std::string::npos) return {spec, ""};
  return {spec.substr(0, at), spec.substr(at + 1)};
}

// ---- parsing -------------------------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  Config parse(const std::string& text) {
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::Exception& e) {
      errs_.push_back(file_ + ":" + std::to_string(e.mark.line + 1) + ":" +
                      std::to_string(e.mark.column + 1) + ": YAML syntax: " + e.msg);
      throw ConfigError(errs_);
    }
    Config cfg;
    if (!root.IsDefined() || root.IsNull()) {
      errs_.push_back(file_ + ":1:1: the file is empty");
      throw ConfigError(errs_);
    }
    if (!isMap(root, "the document")) throw ConfigError(errs_);
    keys(root, {"version", "settings", "tenants", "permissionSets"}, "the document");
    if (auto v = root["version"]) {
      if (!v.IsScalar() || v.Scalar() != "1") err(v, "unsupported version (want 1)");
    } else {
      err(root, "missing key 'version' (want: version: 1)");
    }
    if (auto s = root["settings"]; s && isMap(s, "settings")) {
      for (auto it = s.begin(); it != s.end(); ++it) {
        std::string k = it->first.Scalar();
        if (k != "crossTenantRoles") {
          err(it->first, "unknown setting '" + k + "' (known: crossTenantRoles)");
          continue;
        }
        if (!it->second.IsScalar() ||
            (it->second.Scalar() != "true" && it->second.Scalar() != "false")) {
          err(it->second, "setting crossTenantRoles must be true or false");
          continue;
        }
        cfg.settings[k] = it->second.Scalar();
        marks_["settings/" + k] = mark(it->second);
      }
    }
    if (auto ts = root["tenants"]; ts && isSeq(ts, "tenants")) {
      for (const auto& t : ts) tenant(t, cfg);
    }
    if (auto ps = root["permissionSets"]; ps && isSeq(ps, "permissionSets")) {
      for (const auto& p : ps) permissionSet(p, cfg);
    }
    references(cfg);
    if (!errs_.empty()) throw ConfigError(errs_);
    return cfg;
  }

 private:
  static Mark mark(const YAML::Node& n) {
    auto m = n.Mark();
    return Mark{m.line + 1, m.column + 1};
  }
  void errAt(Mark m, const std::string& msg) {
    errs_.push_back(file_ + ":" + std::to_string(m.line) + ":" + std::to_string(m.col) + ": " + msg);
  }
  void err(const YAML::Node& n, const std::string& msg) { errAt(mark(n), msg); }
  Mark at(const std::string& key, Mark fallback) const {
    auto it = marks_.find(key);
    return it == marks_.end() ? fallback : it->second;
  }

  // An empty value ("users:" with nothing after it) reads as an empty list or mapping.
  bool isMap(const YAML::Node& n, const std::string& what) {
    if (n.IsMap()) return true;
    if (n.IsNull() && what != "the document") return false;
    err(n, what + " must be a mapping (key: value)");
    return false;
  }
  bool isSeq(const YAML::Node& n, const std::string& what) {
    if (n.IsSequence()) return true;
    if (n.IsNull()) return false;
    err(n, what + " must be a list");
    return false;
  }
  // Unknown and duplicate keys are errors.
  void keys(const YAML::Node& m, std::initializer_list<const char*> allowed, const std::string& what) {
    std::set<std::string> seen;
    for (auto it = m.begin(); it != m.end(); ++it) {
      if (!it->first.IsScalar()) {
        err(it->first, "keys of " + what + " must be plain names");
        continue;
      }
      const std::string& k = it->first.Scalar();
      if (!seen.insert(k).second) err(it->first, "duplicate key '" + k + "' in " + what);
      bool known = std::any_of(allowed.begin(), allowed.end(), [&](const char* a) { return k == a; });
      if (!known) {
        std::string list;
        for (const char* a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        err(it->first, "unknown key '" + k + "' in " + what + " (known: " + list + ")");
      }
    }
  }
  // A scalar value (the key may be absent: then `def`, or an error when required).
  std::string scalar(const YAML::Node& m, const char* key, const std::string& what, bool required,
                     const std::string& def = "") {
    YAML::Node v = m[key];
    if (!v) {
      if (required) err(m, what + ": missing key '" + key + "'");
      return def;
    }
    if (!v.IsScalar()) {
      err(v, what + ": '" + key + "' must be a single value");
      return def;
    }
    if (required && v.Scalar().empty()) err(v, what + ": '" + key + "' is empty");
    return v.Scalar();
  }
  bool boolean(const YAML::Node& m, const char* key, const std::string& what) {
    YAML::Node v = m[key];
    if (!v) return false;
    if (v.IsScalar() && v.Scalar() == "true") return true;
    if (v.IsScalar() && v.Scalar() == "false") return false;
    err(v, what + ": '" + key + "' must be true or false");
    return false;
  }
  std::vector<std::pair<std::string, Mark>> strings(const YAML::Node& m, const char* key,
                                                    const std::string& what) {
    std::vector<std::pair<std::string, Mark>> out;
    YAML::Node v = m[key];
    if (!v) return out;
    if (!isSeq(v, what + ": '" + std::string(key) + "'")) return out;
    for (const auto& x : v) {
      if (!x.IsScalar() || x.Scalar().empty()) {
        err(x, what + ": each entry of '" + key + "' must be a non-empty name");
        continue;
      }
      out.emplace_back(x.Scalar(), mark(x));
    }
    return out;
  }

  void tenant(const YAML::Node& n, Config& cfg) {
    if (!isMap(n, "a tenant")) return;
    keys(n, {"name", "kind", "provider", "users", "objects", "roles", "policies"}, "a tenant");
    CTenant t;
    t.mark = mark(n);
    t.name = scalar(n, "name", "tenant", true);
    std::string what = "tenant '" + t.name + "'";
    t.kind = scalar(n, "kind", what, false, "tenant");
    if (!oneOf(t.kind, kTenantKinds)) err(n["kind"], what + ": unknown kind '" + t.kind + "' (want " + listOf(kTenantKinds) + ")");
    t.provider = scalar(n, "provider", what, false);
    if (n["provider"]) marks_["tenant/" + t.name + "/provider"] = mark(n["provider"]);
    if (auto us = n["users"]; us && isSeq(us, what + ": users")) {
      for (const auto& u : us) {
        if (!isMap(u, what + ": a user")) continue;
        keys(u, {"name", "level"}, "a user");
        CUser cu;
        cu.mark = mark(u);
        cu.name = scalar(u, "name", what + ": user", true);
        cu.level = scalar(u, "level", what + ": user '" + cu.name + "'", false, "user");
        if (!oneOf(cu.level, kLevels)) err(u["level"], "user '" + cu.name + "': unknown level '" + cu.level + "' (want " + listOf(kLevels) + ")");
        if (cu.name.find('@') != std::string::npos) err(u, "user '" + cu.name + "': names in this file may not contain '@'");
        if (!cu.name.empty() && !t.users.emplace(cu.name, cu).second) err(u, what + ": duplicate user '" + cu.name + "'");
      }
    }
    if (auto os = n["objects"]; os && isSeq(os, what + ": objects")) {
      for (const auto& o : os) {
        if (!isMap(o, what + ": an object")) continue;
        keys(o, {"name", "fields"}, "an object");
        CObject co;
        co.mark = mark(o);
        co.name = scalar(o, "name", what + ": object", true);
        std::string ow = "object '" + t.name + "/" + co.name + "'";
        std::set<std::string> names;
        if (auto fs = o["fields"]; fs && isSeq(fs, ow + ": fields")) {
          for (const auto& f : fs) {
            if (!isMap(f, ow + ": a field")) continue;
            keys(f, {"name", "type", "required", "indexed"}, "a field");
            CField cf;
            cf.name = scalar(f, "name", ow + ": field", true);
            cf.type = scalar(f, "type", ow + ": field '" + cf.name + "'", true);
            if (!cf.type.empty() && !oneOf(cf.type, kFieldTypes)) err(f["type"], ow + ": field '" + cf.name + "': unknown type '" + cf.type + "' (want " + listOf(kFieldTypes) + ")");
            cf.required = boolean(f, "required", ow + ": field '" + cf.name + "'");
            cf.indexed = boolean(f, "indexed", ow + ": field '" + cf.name + "'");
            if (!names.insert(cf.name).second) err(f, ow + ": duplicate field '" + cf.name + "'");
            co.fields.push_back(cf);
          }
        } else if (!o["fields"]) {
          err(o, ow + ": missing key 'fields'");
        }
        if (!co.name.empty() && !t.objects.emplace(co.name, co).second) err(o, what + ": duplicate object '" + co.name + "'");
      }
    }
    if (auto rs = n["roles"]; rs && isSeq(rs, what + ": roles")) {
      for (const auto& r : rs) {
        if (!isMap(r, what + ": a role")) continue;
        keys(r, {"name", "crossTenant", "rights", "members"}, "a role");
        CRole cr;
        cr.mark = mark(r);
        cr.name = scalar(r, "name", what + ": role", true);
        std::string rw = "role '" + t.name + "/" + cr.name + "'";
        cr.crossTenant = boolean(r, "crossTenant", rw);
        if (auto rr = r["rights"]; rr && isMap(rr, rw + ": rights")) {
          for (auto it = rr.begin(); it != rr.end(); ++it) {
            std::string obj = it->first.Scalar();
            auto rights = it->second.IsScalar() ? parseRights(it->second.Scalar()) : std::nullopt;
            if (!rights) {
              err(it->second, rw + ": rights of '" + obj + "' must be read,add,update,delete (any of them), all or none");
              continue;
            }
            if (!cr.rights.emplace(obj, formatRights(*rights)).second) err(it->first, rw + ": object '" + obj + "' named twice in rights");
            marks_["role/" + t.name + "/" + cr.name + "/right/" + obj] = mark(it->first);
          }
        }
        for (auto& [m, mk] : strings(r, "members", rw)) {
          if (!cr.members.insert(m).second) errAt(mk, rw + ": member '" + m + "' listed twice");
          cr.memberMarks[m] = mk;
        }
        if (!cr.name.empty() && !t.roles.emplace(cr.name, cr).second) err(r, what + ": duplicate role '" + cr.name + "'");
      }
    }
    if (auto ps = n["policies"]; ps && isSeq(ps, what + ": policies")) {
      for (const auto& p : ps) {
        if (!isMap(p, what + ": a policy")) continue;
        keys(p, {"name", "designated", "global", "user", "scope", "expiresAt"}, "a policy");
        CPolicy cp;
        cp.mark = mark(p);
        cp.name = scalar(p, "name", what + ": policy", true);
        std::string pw = "policy '" + t.name + "/" + cp.name + "'";
        std::string key = "policy/" + t.name + "/" + cp.name;
        cp.designated = scalar(p, "designated", pw, false);
        if (p["designated"]) marks_[key + "/designated"] = mark(p["designated"]);
        cp.global = boolean(p, "global", pw);
        if (cp.global == !cp.designated.empty()) err(p, pw + ": give exactly one of 'designated: TENANT' and 'global: true'");
        cp.user = scalar(p, "user", pw, true);
        if (p["user"]) marks_[key + "/user"] = mark(p["user"]);
        if (auto e = p["expiresAt"]) {
          std::string s = e.IsScalar() ? e.Scalar() : "";
          auto t2 = parseIsoTime(s);
          if (!t2) {
            err(e, pw + ": expiresAt '" + s + "' is not an ISO-8601 time (e.g. 2030-01-31T00:00:00Z)");
          } else {
            cp.expiresAt = *t2;
          }
        }
        if (auto sc = p["scope"]; sc && isSeq(sc, pw + ": scope")) {
          std::set<std::string> seen;
          for (const auto& o : sc) {
            if (!isMap(o, pw + ": a scope entry")) continue;
            keys(o, {"object", "filter", "fields"}, "a scope entry");
            CScope cs;
            cs.object = scalar(o, "object", pw + ": scope entry", true);
            cs.filter = scalar(o, "filter", pw + ": scope of '" + cs.object + "'", false);
            for (auto& [f, mk] : strings(o, "fields", pw + ": scope of '" + cs.object + "'")) {
              cs.fields.push_back(f);
              marks_[key + "/scope/" + cs.object + "/field/" + f] = mk;
            }
            std::sort(cs.fields.begin(), cs.fields.end());
            if (std::adjacent_find(cs.fields.begin(), cs.fields.end()) != cs.fields.end()) err(o, pw + ": a field is listed twice in the scope of '" + cs.object + "'");
            if (!seen.insert(cs.object).second) err(o, pw + ": object '" + cs.object + "' is in the scope twice");
            marks_[key + "/scope/" + cs.object] = mark(o);
            cp.scope.push_back(cs);
          }
          std::sort(cp.scope.begin(), cp.scope.end(), [](const CScope& a, const CScope& b) { return a.object < b.object; });
        }
        if (!cp.name.empty() && !t.policies.emplace(cp.name, cp).second) err(p, what + ": duplicate policy '" + cp.name + "'");
      }
    }
    if (!t.name.empty() && !cfg.tenants.emplace(t.name, t).second) err(n, "duplicate tenant '" + t.name + "'");
  }

  void permissionSet(const YAML::Node& n, Config& cfg) {
    if (!isMap(n, "a permission set")) return;
    keys(n, {"name", "scope", "tenants", "users", "policies"}, "a permission set");
    CPermissionSet s;
    s.mark = mark(n);
    s.name = scalar(n, "name", "permission set", true);
    std::string what = "permission set '" + s.name + "'";
    try {
      if (!s.name.empty()) checkPermissionSetName(s.name);
    } catch (const UsageError& e) {
      err(n["name"], e.what());
    }
    s.scope = scalar(n, "scope", what, false, "user");
    if (s.scope != "user" && s.scope != "system") err(n["scope"], what + ": scope must be user or system");
    if (auto t = n["tenants"]; !t) {
      err(n, what + ": missing key 'tenants' (a list of tenant names, or all)");
    } else if (t.IsScalar()) {
      if (t.Scalar() != "all") err(t, what + ": tenants must be 'all' or a list of tenant names");
      s.allTenants = true;
    } else {
      for (auto& [name, mk] : strings(n, "tenants", what)) {
        if (!s.tenants.insert(name).second) errAt(mk, what + ": tenant '" + name + "' listed twice");
        marks_["pset/" + s.name + "/tenant/" + name] = mk;
      }
    }
    for (auto& [u, mk] : strings(n, "users", what)) {
      if (!s.users.insert(u).second) errAt(mk, what + ": user '" + u + "' listed twice");
      marks_["pset/" + s.name + "/user/" + u] = mk;
    }
    if (s.scope == "system" && !s.users.empty()) err(n["users"], what + ": a system-scope set applies to every user: leave out users (or use scope: user)");
    if (auto ps = n["policies"]; !ps) {
      err(n, what + ": missing key 'policies'");
    } else if (isSeq(ps, what + ": policies")) {
      int i = 0;
      for (const auto& p : ps) {
        ++i;
        if (!isMap(p, what + ": a policy")) continue;
        keys(p, {"effect", "resourceTypeRegex", "apiNameRegex", "methodRegex"}, "a permission-set policy");
        std::string pw = what + " policy " + std::to_string(i);
        CRule r;
        r.effect = scalar(p, "effect", pw, true);
        if (!r.effect.empty() && r.effect != "allow" && r.effect != "deny") err(p["effect"], pw + ": effect must be allow or deny");
        auto regex = [&](const char* key, std::string* out) {
          *out = scalar(p, key, pw, true);
          if (!p[key] || !p[key].IsScalar()) return;
          RE2 re(*out, RE2::Quiet);
          if (!re.ok()) err(p[key], pw + ": " + key + " '" + *out + "' is not a valid RE2 pattern: " + re.error());
        };
        regex("resourceTypeRegex", &r.resourceTypeRegex);
        regex("apiNameRegex", &r.apiNameRegex);
        regex("methodRegex", &r.methodRegex);
        s.policies.push_back(r);
        s.policyMarks.push_back(mark(p));
      }
    }
    if (!s.name.empty() && !cfg.permissionSets.emplace(s.name, s).second) err(n, "duplicate permission set '" + s.name + "'");
  }

  // Cross-references, once everything is read.
  void references(const Config& cfg) {
    bool crossOn = cfg.settings.count("crossTenantRoles") && cfg.settings.at("crossTenantRoles") == "true";
    int systems = 0;
    auto userExists = [&](const std::string& tenant, const std::string& user) {
      auto t = cfg.tenants.find(tenant);
      return t != cfg.tenants.end() && t->second.users.count(user) > 0;
    };
    for (const auto& [tn, t] : cfg.tenants) {
      if (t.kind == "system") ++systems;
      if (!t.provider.empty()) {
        Mark pm = at("tenant/" + tn + "/provider", t.mark);
        auto p = cfg.tenants.find(t.provider);
        if (p == cfg.tenants.end()) {
          errAt(pm, "tenant '" + tn + "': provider '" + t.provider + "' is not a tenant of this file");
        } else if (t.kind == "isv" || t.kind == "system") {
          errAt(pm, "tenant '" + tn + "': an " + t.kind + " has no provider");
        } else if (t.kind == "msp" && p->second.kind != "isv") {
          errAt(pm, "tenant '" + tn + "': an MSP's provider must be an ISV ('" + t.provider + "' is " + p->second.kind + ")");
        } else if (t.kind == "tenant" && p->second.kind != "isv" && p->second.kind != "msp") {
          errAt(pm, "tenant '" + tn + "': a tenant's provider must be an ISV or MSP ('" + t.provider + "' is " + p->second.kind + ")");
        }
      }
      for (const auto& [rn, r] : t.roles) {
        std::string rw = "role '" + tn + "/" + rn + "'";
        for (const auto& [obj, rights] : r.rights) {
          if (obj != "*" && !t.objects.count(obj)) errAt(at("role/" + tn + "/" + rn + "/right/" + obj, r.mark), rw + ": object '" + obj + "' is not an object of tenant '" + tn + "'");
        }
        for (const auto& m : r.members) {
          Mark mk = r.memberMarks.count(m) ? r.memberMarks.at(m) : r.mark;
          auto [u, ten] = splitUser(m);
          std::string home = ten.empty() ? tn : ten;
          if (!cfg.tenants.count(home)) {
            errAt(mk, rw + ": member '" + m + "': tenant '" + home + "' is not a tenant of this file");
          } else if (!userExists(home, u)) {
            errAt(mk, rw + ": member '" + m + "': no user '" + u + "' in tenant '" + home + "'");
          } else if (home != tn) {
            if (!r.crossTenant) errAt(mk, rw + ": member '" + m + "' is of another tenant: the role needs crossTenant: true");
            else if (!crossOn) errAt(mk, rw + ": member '" + m + "' is of another tenant: needs settings: crossTenantRoles: true");
          }
        }
      }
      std::set<std::string> designated;
      int globals = 0;
      for (const auto& [pn, p] : t.policies) {
        std::string pw = "policy '" + tn + "/" + pn + "'";
        std::string key = "policy/" + tn + "/" + pn;
        if (!p.designated.empty()) {
          Mark dm = at(key + "/designated", p.mark);
          if (p.designated == tn) errAt(dm, pw + ": a policy cannot designate its own publisher");
          else if (!cfg.tenants.count(p.designated)) errAt(dm, pw + ": designated tenant '" + p.designated + "' is not a tenant of this file");
          if (!designated.insert(p.designated).second) errAt(dm, pw + ": a second policy of '" + tn + "' designating '" + p.designated + "' (at most one per pair)");
        }
        if (p.global) {
          if (t.kind != "isv" && t.kind != "msp") errAt(p.mark, pw + ": only an ISV or MSP may have a global policy");
          if (++globals > 1) errAt(p.mark, pw + ": a second global policy of '" + tn + "'");
        }
        if (!p.user.empty() && !t.users.count(p.user)) errAt(at(key + "/user", p.mark), pw + ": no user '" + p.user + "' in tenant '" + tn + "'");
        for (const auto& sc : p.scope) {
          Mark sm = at(key + "/scope/" + sc.object, p.mark);
          auto o = t.objects.find(sc.object);
          if (o == t.objects.end()) {
            errAt(sm, pw + ": scope object '" + sc.object + "' is not an object of tenant '" + tn + "'");
            continue;
          }
          for (const auto& f : sc.fields) {
            bool known = std::any_of(o->second.fields.begin(), o->second.fields.end(), [&](const CField& x) { return x.name == f; });
            if (!known) errAt(at(key + "/scope/" + sc.object + "/field/" + f, sm), pw + ": object '" + sc.object + "' has no field '" + f + "'");
          }
        }
      }
    }
    if (systems > 1) errs_.push_back(file_ + ":1:1: more than one tenant of kind system");
    for (const auto& [sn, s] : cfg.permissionSets) {
      std::string what = "permission set '" + sn + "'";
      for (const auto& t : s.tenants) {
        if (!cfg.tenants.count(t)) errAt(at("pset/" + sn + "/tenant/" + t, s.mark), what + ": tenant '" + t + "' is not a tenant of this file");
      }
      for (const auto& u : s.users) {
        Mark mk = at("pset/" + sn + "/user/" + u, s.mark);
        auto [name, ten] = splitUser(u);
        if (ten.empty()) errAt(mk, what + ": user '" + u + "' must be written USER@TENANT");
        else if (!cfg.tenants.count(ten)) errAt(mk, what + ": user '" + u + "': tenant '" + ten + "' is not a tenant of this file");
        else if (!userExists(ten, name)) errAt(mk, what + ": no user '" + name + "' in tenant '" + ten + "'");
      }
    }
  }

  std::string file_;
  std::vector<std::string> errs_;
  std::map<std::string, Mark> marks_;
};

// ---- conversions ---------------------------------------------------------------------------

std::vector<ObjectRights> toRights(const CRole& r) {
  std::vector<ObjectRights> out;
  for (const auto& [obj, text] : r.rights) out.push_back({obj, *parseRights(text)});
  return out;
}

std::vector<FieldDef> toFields(const CObject& o) {
  std::vector<FieldDef> out;
  for (const auto& f : o.fields) out.push_back({f.name, *parseFieldType(f.type), f.required, f.indexed});
  return out;
}

uint64_t tenantId(const ServerState& st, const std::string& name) {
  auto it = st.tenantIds.find(name);
  if (it == st.tenantIds.end()) throw ServerError(ErrorCode::NotFound, "tenant '" + name + "' does not exist on the server");
  return it->second;
}
uint64_t userId(const ServerState& st, const std::string& tenant, const std::string& user) {
  auto it = st.userIds.find({tenant, user});
  if (it == st.userIds.end()) throw ServerError(ErrorCode::NotFound, "user '" + user + "@" + tenant + "' does not exist on the server");
  return it->second;
}

PolicyInfo toPolicy(const ServerState& st, const std::string& tenant, const CPolicy& p) {
  PolicyInfo out;
  out.name = p.name;
  out.global = p.global;
  if (!p.global) out.designated = tenantId(st, p.designated);
  out.userId = userId(st, tenant, p.user);
  for (const auto& s : p.scope) out.scope.push_back({s.object, s.filter, s.fields});
  out.expiresAt = p.expiresAt;
  return out;
}

PermissionSetInfo toSet(const ServerState& st, const CPermissionSet& s) {
  PermissionSetInfo out;
  out.name = s.name;
  out.systemScope = s.scope == "system";
  out.allTenants = s.allTenants;
  for (const auto& t : s.tenants) out.tenants.push_back(tenantId(st, t));
  for (const auto& u : s.users) {
    auto [name, ten] = splitUser(u);
    out.users.push_back(userId(st, ten, name));
  }
  for (const auto& r : s.policies) {
    out.policies.push_back({*parseEffect(r.effect), r.resourceTypeRegex, r.apiNameRegex, r.methodRegex});
  }
  return out;
}

void check(const Result& r) {
  if (!r.ok()) throw ServerError(r.getCode(), r.getMessage());
}
// By value: callers iterate over the result of a temporary Outcome.
template <typename T>
T check(const Outcome<T>& r) {
  if (!r.ok()) throw ServerError(r.getCode(), r.getMessage());
  return r.value();
}

int kindRank(const std::string& kind) {
  if (kind == "system") return 0;
  if (kind == "isv") return 1;
  if (kind == "msp") return 2;
  return 3;
}

std::string join(const std::vector<std::string>& v, const char* sep) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : sep) + x;
  return s;
}

}  // namespace

Config parseConfig(const std::string& text, const std::string& file) {
  return Parser(file).parse(text);
}

// ---- emitting ------------------------------------------------------------------------------

std::string emitConfig(const Config& cfg) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  out << YAML::Key << "version" << YAML::Value << 1;
  if (!cfg.settings.empty()) {
    out << YAML::Key << "settings" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : cfg.settings) out << YAML::Key << k << YAML::Value << v;
    out << YAML::EndMap;
  }
  // Tenants in creation-safe order would hide names; sort by name (providers are names).
  out << YAML::Key << "tenants" << YAML::Value << YAML::BeginSeq;
  for (const auto& [tn, t] : cfg.tenants) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << tn;
    out << YAML::Key << "kind" << YAML::Value << t.kind;
    if (!t.provider.empty()) out << YAML::Key << "provider" << YAML::Value << t.provider;
    if (!t.users.empty()) {
      out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq;
      for (const auto& [un, u] : t.users) {
        out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << un
            << YAML::Key << "level" << YAML::Value << u.level << YAML::EndMap;
      }
      out << YAML::EndSeq;
    }
    if (!t.objects.empty()) {
      out << YAML::Key << "objects" << YAML::Value << YAML::BeginSeq;
      for (const auto& [on, o] : t.objects) {
        out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << on;
        out << YAML::Key << "fields" << YAML::Value << YAML::BeginSeq;
        for (const auto& f : o.fields) {
          out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << f.name
              << YAML::Key << "type" << YAML::Value << f.type;
          if (f.required) out << YAML::Key << "required" << YAML::Value << true;
          if (f.indexed) out << YAML::Key << "indexed" << YAML::Value << true;
          out << YAML::EndMap;
        }
        out << YAML::EndSeq << YAML::EndMap;
      }
      out << YAML::EndSeq;
    }
    if (!t.roles.empty()) {
      out << YAML::Key << "roles" << YAML::Value << YAML::BeginSeq;
      for (const auto& [rn, r] : t.roles) {
        out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << rn;
        if (r.crossTenant) out << YAML::Key << "crossTenant" << YAML::Value << true;
        out << YAML::Key << "rights" << YAML::Value << YAML::BeginMap;
        for (const auto& [obj, rights] : r.rights) out << YAML::Key << obj << YAML::Value << rights;
        out << YAML::EndMap;
        if (!r.members.empty()) {
          out << YAML::Key << "members" << YAML::Value << YAML::BeginSeq;
          for (const auto& m : r.members) out << m;
          out << YAML::EndSeq;
        }
        out << YAML::EndMap;
      }
      out << YAML::EndSeq;
    }
    if (!t.policies.empty()) {
      out << YAML::Key << "policies" << YAML::Value << YAML::BeginSeq;
      for (const auto& [pn, p] : t.policies) {
        out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << pn;
        if (p.global) {
          out << YAML::Key << "global" << YAML::Value << true;
        } else {
          out << YAML::Key << "designated" << YAML::Value << p.designated;
        }
        if (p.user.empty()) {
          out << YAML::Key << "user" << YAML::Value << YAML::Null
              << YAML::Comment("user " + std::to_string(p.missingUserId) + " no longer exists: name a user");
        } else {
          out << YAML::Key << "user" << YAML::Value << p.user;
        }
        if (!p.scope.empty()) {
          out << YAML::Key << "scope" << YAML::Value << YAML::BeginSeq;
          for (const auto& s : p.scope) {
            out << YAML::BeginMap << YAML::Key << "object" << YAML::Value << s.object;
            if (!s.filter.empty()) out << YAML::Key << "filter" << YAML::Value << YAML::DoubleQuoted << s.filter;
            if (!s.fields.empty()) {
              out << YAML::Key << "fields" << YAML::Value << YAML::Flow << YAML::BeginSeq;
              for (const auto& f : s.fields) out << f;
              out << YAML::EndSeq;
            }
            out << YAML::EndMap;
          }
          out << YAML::EndSeq;
        }
        if (p.expiresAt != 0) out << YAML::Key << "expiresAt" << YAML::Value << formatTimestamp(p.expiresAt);
        out << YAML::EndMap;
      }
      out << YAML::EndSeq;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  if (!cfg.permissionSets.empty()) {
    out << YAML::Key << "permissionSets" << YAML::Value << YAML::BeginSeq;
    for (const auto& [sn, s] : cfg.permissionSets) {
      out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << sn;
      out << YAML::Key << "scope" << YAML::Value << s.scope;
      if (s.allTenants) {
        out << YAML::Key << "tenants" << YAML::Value << "all";
      } else {
        out << YAML::Key << "tenants" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (const auto& t : s.tenants) out << t;
        out << YAML::EndSeq;
      }
      if (!s.users.empty()) {
        out << YAML::Key << "users" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (const auto& u : s.users) out << u;
        out << YAML::EndSeq;
      }
      out << YAML::Key << "policies" << YAML::Value << YAML::BeginSeq;
      for (const auto& r : s.policies) {
        out << YAML::Flow << YAML::BeginMap;
        out << YAML::Key << "effect" << YAML::Value << r.effect;
        out << YAML::Key << "resourceTypeRegex" << YAML::Value << YAML::SingleQuoted << r.resourceTypeRegex;
        out << YAML::Key << "apiNameRegex" << YAML::Value << YAML::SingleQuoted << r.apiNameRegex;
        out << YAML::Key << "methodRegex" << YAML::Value << YAML::SingleQuoted << r.methodRegex;
        out << YAML::EndMap;
      }
      out << YAML::EndSeq << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
  return "# Cotenant access configuration (cotenant export; docs/CLI.md). Names, not ids;\n"
         "# API keys are never part of this file.\n" +
         std::string(out.c_str()) + "\n";
}

// ---- reading a server ----------------------------------------------------------------------

ServerState readServer(Client& client) {
  ServerState st;
  const UserInfo& me = client.user();
  if (me.level != AdminLevel::SystemAdmin) {
    throw ServerError(ErrorCode::PermissionDenied,
                      "export, apply and lint read every tenant: log in as a system admin");
  }
  auto tenants = check(client.listTenants());
  std::map<uint64_t, std::string> tenantName;
  for (const auto& t : tenants) tenantName[t.id] = t.name;
  std::map<uint64_t, std::pair<std::string, std::string>> userById;  // id -> (tenant, user)
  struct Raw {
    TenantInfo info;
    std::vector<RoleInfo> roles;
    std::vector<PolicyInfo> policies;
  };
  std::vector<Raw> raws;
  for (const auto& t : tenants) {
    CTenant ct;
    ct.name = t.name;
    ct.kind = tenantKindName(t.kind);
    if (t.provider != 0) {
      auto p = tenantName.find(t.provider);
      if (p != tenantName.end()) ct.provider = p->second;  // a deleted provider: no chain
    }
    if (t.kind == TenantKind::System) st.systemTenant = t.name;
    st.tenantIds[t.name] = t.id;
    for (const auto& u : check(client.listUsers(t.id))) {
      ct.users[u.name] = CUser{u.name, adminLevelName(u.level), {}};
      st.userIds[{t.name, u.name}] = u.id;
      userById[u.id] = {t.name, u.name};
      if (u.id == me.id) st.self = u.name + "@" + t.name;
    }
    for (const auto& o : check(client.listObjects(t.id))) {
      CObject co;
      co.name = o.name;
      for (const auto& f : o.fields) co.fields.push_back({f.name, fieldTypeName(f.type), f.required, f.indexed});
      ct.objects[o.name] = co;
    }
    Raw raw{t, check(client.listRoles(t.id)), check(client.listPolicies(t.id, 0))};
    raws.push_back(std::move(raw));
    st.cfg.tenants[t.name] = std::move(ct);
  }
  for (const auto& raw : raws) {
    CTenant& ct = st.cfg.tenants[raw.info.name];
    for (const auto& r : raw.roles) {
      CRole cr;
      cr.name = r.name;
      cr.crossTenant = r.crossTenant;
      for (const auto& x : r.rights) cr.rights[x.object] = formatRights(x.rights);
      for (const auto& m : r.members) {
        auto u = userById.find(m.userId);
        if (u == userById.end()) continue;  // deleted: admits nobody
        cr.members.insert(u->second.first == raw.info.name ? u->second.second
                                                           : u->second.second + "@" + u->second.first);
      }
      ct.roles[r.name] = cr;
    }
    for (const auto& p : raw.policies) {
      if (p.publisher != 0 && p.publisher != raw.info.id) continue;
      CPolicy cp;
      cp.name = p.name;
      cp.global = p.global;
      if (!p.global) {
        auto d = tenantName.find(p.designated);
        cp.designated = d != tenantName.end() ? d->second : "#" + std::to_string(p.designated);
      }
      auto u = userById.find(p.userId);
      if (u != userById.end() && u->second.first == raw.info.name) {
        cp.user = u->second.second;
      } else {
        cp.missingUserId = p.userId;
      }
      for (const auto& s : p.scope) {
        CScope cs{s.object, s.rowFilter, s.fields};
        std::sort(cs.fields.begin(), cs.fields.end());
        cp.scope.push_back(cs);
      }
      std::sort(cp.scope.begin(), cp.scope.end(), [](const CScope& a, const CScope& b) { return a.object < b.object; });
      cp.expiresAt = p.expiresAt;
      ct.policies[p.name] = cp;
    }
  }
  for (const auto& s : check(client.listPermissionSets())) {
    CPermissionSet cs;
    cs.name = s.name;
    cs.scope = s.systemScope ? "system" : "user";
    cs.allTenants = s.allTenants;
    for (uint64_t t : s.tenants) {
      auto n = tenantName.find(t);
      if (n != tenantName.end()) cs.tenants.insert(n->second);
    }
    for (uint64_t u : s.users) {
      auto n = userById.find(u);
      if (n != userById.end()) cs.users.insert(n->second.second + "@" + n->second.first);
    }
    for (const auto& p : s.policies) {
      cs.policies.push_back({effectName(p.effect), p.resourceTypeRegex, p.apiNameRegex, p.methodRegex});
    }
    st.cfg.permissionSets[s.name] = cs;
  }
  for (const auto& s : check(client.listSettings())) st.cfg.settings[s.name] = s.value;
  return st;
}

// ---- planning ------------------------------------------------------------------------------

Plan planChanges(const Config& desired, const ServerState& current, const PlanOptions& opts) {
  Plan plan;
  const Config& cur = current.cfg;
  auto add = [&](char sign, std::string text,
                 std::function<void(Client&, ServerState&, std::ostream&)> run) {
    plan.changes.push_back({sign, std::move(text), std::move(run)});
  };
  // Which current tenants the file manages, and which go.
  bool systemManaged = false;
  std::set<std::string> deletedTenants;
  for (const auto& [tn, t] : cur.tenants) {
    if (tn == current.systemTenant) {
      systemManaged = desired.tenants.count(tn) > 0;
      if (!systemManaged) plan.notes.push_back("the system tenant '" + tn + "' is not in the file: left as it is");
      continue;
    }
    if (desired.tenants.count(tn)) continue;
    if (!opts.allowTenantDeletion) {
      plan.conflicts.push_back("tenant '" + tn + "' is not in the file: deleting it would delete all its data; pass --allow-tenant-deletion to do that");
    }
    deletedTenants.insert(tn);
  }
  for (const auto& [tn, t] : desired.tenants) {
    auto c = cur.tenants.find(tn);
    if (t.kind == "system") {
      if (tn != current.systemTenant) {
        plan.conflicts.push_back("tenant '" + tn + "' has kind system, but the server's system tenant is '" + current.systemTenant + "' (it cannot be created or renamed)");
      }
      continue;
    }
    if (c == cur.tenants.end()) continue;
    if (c->second.kind != t.kind) plan.conflicts.push_back("tenant '" + tn + "' is " + c->second.kind + " on the server and " + t.kind + " in the file (tenants cannot be altered)");
    if (c->second.provider != t.provider) plan.conflicts.push_back("tenant '" + tn + "' has provider '" + c->second.provider + "' on the server and '" + t.provider + "' in the file (tenants cannot be altered)");
    for (const auto& [on, o] : t.objects) {
      auto co = c->second.objects.find(on);
      if (co != c->second.objects.end() && co->second.fields != o.fields) {
        plan.conflicts.push_back("object '" + tn + "/" + on + "' differs between the server and the file; objects cannot be altered: change the file to match (cotenant export) or recreate the tenant");
      }
    }
    for (const auto& [on, o] : c->second.objects) {
      if (!t.objects.count(on)) plan.notes.push_back("object '" + tn + "/" + on + "' is not in the file: objects cannot be deleted, left in place");
    }
    for (const auto& [un, u] : t.users) {
      auto cu = c->second.users.find(un);
      if (cu != c->second.users.end() && cu->second.level != u.level) {
        plan.conflicts.push_back("user '" + tn + "/" + un + "' is " + cu->second.level + " on the server and " + u.level + " in the file (levels cannot be changed: delete the user or change the file)");
      }
    }
  }
  auto managed = [&](const std::string& tn) {
    return !deletedTenants.count(tn) && (tn != current.systemTenant || systemManaged);
  };
  auto memberTenant = [](const std::string& member, const std::string& roleTenant) {
    auto at = member.rfind('@');
    return at == std::string::npos ? roleTenant : member.substr(at + 1);
  };

  // -- deletes, most dependent first: permission sets, policies, members, roles, users, tenants
  for (const auto& [sn, s] : cur.permissionSets) {
    if (!desired.permissionSets.count(sn)) {
      add('-', "delete permission set " + sn, [sn = sn](Client& c, ServerState&, std::ostream&) { check(c.deletePermissionSet(sn)); });
    }
  }
  for (const auto& [tn, t] : cur.tenants) {
    if (!managed(tn)) continue;
    const CTenant& d = desired.tenants.at(tn);
    for (const auto& [pn, p] : t.policies) {
      if (!p.global && deletedTenants.count(p.designated)) continue;  // goes with the tenant
      auto dp = d.policies.find(pn);
      bool recreate = dp != d.policies.end() && (dp->second.global != p.global || dp->second.designated != p.designated);
      if (dp == d.policies.end() || recreate) {
        add('-', "delete policy " + tn + "/" + pn + (recreate ? " (designated tenant changed: re-created below)" : ""),
            [tn = tn, pn = pn](Client& c, ServerState& st, std::ostream&) { check(c.deletePolicy(tenantId(st, tn), pn)); });
      }
    }
  }
  for (const auto& [tn, t] : cur.tenants) {
    if (!managed(tn)) continue;
    const CTenant& d = desired.tenants.at(tn);
    for (const auto& [rn, r] : t.roles) {
      auto dr = d.roles.find(rn);
      if (dr == d.roles.end()) continue;  // the role goes, and its members with it
      for (const auto& m : r.members) {
        std::string mt = memberTenant(m, tn);
        if (dr->second.members.count(m) || deletedTenants.count(mt)) continue;
        std::string user = m.substr(0, m.rfind('@') == std::string::npos ? m.size() : m.rfind('@'));
        add('-', "remove member " + m + " from role " + tn + "/" + rn,
            [tn = tn, rn = rn, mt, user](Client& c, ServerState& st, std::ostream&) {
              check(c.removeRoleMember(tenantId(st, tn), rn, tenantId(st, mt), userId(st, mt, user)));
            });
      }
    }
    for (const auto& [rn, r] : t.roles) {
      if (!d.roles.count(rn)) {
        add('-', "delete role " + tn + "/" + rn, [tn = tn, rn = rn](Client& c, ServerState& st, std::ostream&) { check(c.deleteRole(tenantId(st, tn), rn)); });
      }
    }
  }
  for (const auto& [tn, t] : cur.tenants) {
    if (!managed(tn)) continue;
    const CTenant& d = desired.tenants.at(tn);
    for (const auto& [un, u] : t.users) {
      if (d.users.count(un)) continue;
      if (un + "@" + tn == current.self) {
        plan.notes.push_back("user '" + tn + "/" + un + "' runs this apply: not deleted although it is not in the file");
        continue;
      }
      add('-', "delete user " + tn + "/" + un, [tn = tn, un = un](Client& c, ServerState& st, std::ostream&) { check(c.deleteUser(tenantId(st, tn), userId(st, tn, un))); });
    }
  }
  {
    std::vector<std::string> order(deletedTenants.begin(), deletedTenants.end());
    std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
      return kindRank(cur.tenants.at(a).kind) > kindRank(cur.tenants.at(b).kind);
    });
    for (const auto& tn : order) {
      add('-', "delete tenant " + tn + " (and all its data)", [tn](Client& c, ServerState& st, std::ostream&) { check(c.deleteTenant(tenantId(st, tn))); });
    }
  }

  // -- creates and updates: settings, tenants, objects, users, roles, members, policies, sets
  for (const auto& [k, v] : desired.settings) {
    auto c = cur.settings.find(k);
    if (c != cur.settings.end() && c->second == v) continue;
    add('~', "update setting " + k + " (" + (c == cur.settings.end() ? std::string("unset") : c->second) + " -> " + v + ")",
        [k = k, v = v](Client& c, ServerState&, std::ostream&) { check(c.setSetting(k, v)); });
  }
  {
    std::vector<const CTenant*> order;
    for (const auto& [tn, t] : desired.tenants) {
      if (!cur.tenants.count(tn) && t.kind != "system") order.push_back(&t);
    }
    std::stable_sort(order.begin(), order.end(), [](const CTenant* a, const CTenant* b) { return kindRank(a->kind) < kindRank(b->kind); });
    for (const CTenant* t : order) {
      add('+', "create tenant " + t->name + " (" + t->kind + (t->provider.empty() ? "" : ", provider " + t->provider) + ")",
          [name = t->name, kind = t->kind, prov = t->provider](Client& c, ServerState& st, std::ostream&) {
            uint64_t p = prov.empty() ? 0 : tenantId(st, prov);
            TenantInfo info = check(c.createTenant(name, *parseTenantKind(kind), p));
            st.tenantIds[name] = info.id;
          });
    }
  }
  auto curTenant = [&](const std::string& tn) -> const CTenant* {
    auto it = cur.tenants.find(tn);
    return it == cur.tenants.end() || !managed(tn) ? nullptr : &it->second;
  };
  static const CTenant kEmpty;
  for (const auto& [tn, t] : desired.tenants) {
    const CTenant& c = curTenant(tn) ? *curTenant(tn) : kEmpty;
    for (const auto& [on, o] : t.objects) {
      if (c.objects.count(on)) continue;
      add('+', "create object " + tn + "/" + on, [tn = tn, o = o](Client& cl, ServerState& st, std::ostream&) { check(cl.createObject(tenantId(st, tn), o.name, toFields(o))); });
    }
  }
  for (const auto& [tn, t] : desired.tenants) {
    const CTenant& c = curTenant(tn) ? *curTenant(tn) : kEmpty;
    for (const auto& [un, u] : t.users) {
      if (c.users.count(un)) continue;
      add('+', "create user " + tn + "/" + un + " (" + u.level + ")",
          [tn = tn, un = un, lvl = u.level](Client& cl, ServerState& st, std::ostream& out) {
            NewUser nu = check(cl.createUser(tenantId(st, tn), un, *parseAdminLevel(lvl)));
            st.userIds[{tn, un}] = nu.user.id;
            out << "    API key for " << un << "@" << tn << ": " << nu.apiKey << "  (shown once: store it now)\n";
          });
    }
  }
  for (const auto& [tn, t] : desired.tenants) {
    const CTenant& c = curTenant(tn) ? *curTenant(tn) : kEmpty;
    for (const auto& [rn, r] : t.roles) {
      auto cr = c.roles.find(rn);
      if (cr == c.roles.end()) {
        add('+', "create role " + tn + "/" + rn, [tn = tn, r = r](Client& cl, ServerState& st, std::ostream&) { check(cl.createRole(tenantId(st, tn), r.name, toRights(r), r.crossTenant)); });
        continue;
      }
      std::vector<std::string> what;
      if (cr->second.rights != r.rights) what.push_back("rights");
      if (cr->second.crossTenant != r.crossTenant) what.push_back("crossTenant");
      if (!what.empty()) {
        add('~', "update role " + tn + "/" + rn + " (" + join(what, ", ") + ")",
            [tn = tn, r = r](Client& cl, ServerState& st, std::ostream&) { check(cl.updateRole(tenantId(st, tn), r.name, toRights(r), r.crossTenant)); });
      }
    }
  }
  for (const auto& [tn, t] : desired.tenants) {
    const CTenant& c = curTenant(tn) ? *curTenant(tn) : kEmpty;
    for (const auto& [rn, r] : t.roles) {
      auto cr = c.roles.find(rn);
      for (const auto& m : r.members) {
        if (cr != c.roles.end() && cr->second.members.count(m)) continue;
        std::string mt = memberTenant(m, tn);
        std::string user = m.substr(0, m.rfind('@') == std::string::npos ? m.size() : m.rfind('@'));
        add('+', "add member " + m + " to role " + tn + "/" + rn,
            [tn = tn, rn = rn, mt, user](Client& cl, ServerState& st, std::ostream&) {
              check(cl.addRoleMember(tenantId(st, tn), rn, tenantId(st, mt), userId(st, mt, user)));
            });
      }
    }
  }
  for (const auto& [tn, t] : desired.tenants) {
    const CTenant& c = curTenant(tn) ? *curTenant(tn) : kEmpty;
    for (const auto& [pn, p] : t.policies) {
      auto cp = c.policies.find(pn);
      bool recreate = cp != c.policies.end() && (cp->second.global != p.global || cp->second.designated != p.designated) &&
                      (p.global || !deletedTenants.count(cp->second.designated));
      if (cp != c.policies.end() && !cp->second.global && deletedTenants.count(cp->second.designated)) cp = c.policies.end();
      if (cp == c.policies.end() || recreate) {
        add('+', "create policy " + tn + "/" + pn + (p.global ? " (global)" : " (designates " + p.designated + ")"),
            [tn = tn, p = p](Client& cl, ServerState& st, std::ostream&) { check(cl.createPolicy(tenantId(st, tn), toPolicy(st, tn, p))); });
        continue;
      }
      std::vector<std::string> what;
      if (cp->second.user != p.user) what.push_back("user");
      if (cp->second.scope != p.scope) what.push_back("scope");
      if (cp->second.expiresAt != p.expiresAt) what.push_back("expiry");
      if (!what.empty()) {
        add('~', "update policy " + tn + "/" + pn + " (" + join(what, ", ") + ")",
            [tn = tn, p = p](Client& cl, ServerState& st, std::ostream&) { check(cl.updatePolicy(tenantId(st, tn), toPolicy(st, tn, p))); });
      }
    }
  }
  for (const auto& [sn, s] : desired.permissionSets) {
    auto cs = cur.permissionSets.find(sn);
    if (cs == cur.permissionSets.end()) {
      add('+', "create permission set " + sn, [s = s](Client& cl, ServerState& st, std::ostream&) { check(cl.createPermissionSet(toSet(st, s))); });
      continue;
    }
    std::vector<std::string> what;
    const CPermissionSet& c = cs->second;
    if (c.scope != s.scope) what.push_back("scope");
    // Tenants and users that are being deleted fall out of the set on the server too.
    std::set<std::string> curTenants, curUsers;
    for (const auto& x : c.tenants) if (!deletedTenants.count(x)) curTenants.insert(x);
    for (const auto& x : c.users) if (!deletedTenants.count(memberTenant(x, ""))) curUsers.insert(x);
    if (c.allTenants != s.allTenants || curTenants != s.tenants) what.push_back("tenants");
    if (curUsers != s.users) what.push_back("users");
    if (c.policies != s.policies) what.push_back("policies");
    if (!what.empty()) {
      add('~', "update permission set " + sn + " (" + join(what, ", ") + ")",
          [s = s](Client& cl, ServerState& st, std::ostream&) { check(cl.updatePermissionSet(toSet(st, s))); });
    }
  }
  return plan;
}

void runPlan(Client& client, Plan& plan, ServerState& state, std::ostream& out) {
  size_t i = 0;
  for (auto& ch : plan.changes) {
    ++i;
    try {
      ch.run(client, state, out);
    } catch (const ServerError& e) {
      throw ServerError(e.code(), "change " + std::to_string(i) + " of " + std::to_string(plan.changes.size()) +
                                      " (" + ch.text + ") failed: " + e.what() +
                                      (i > 1 ? "; the changes before it were applied" : "; nothing was applied"));
    }
  }
}

}  // namespace cotenant::cli::config
