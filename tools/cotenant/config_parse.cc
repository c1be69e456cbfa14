// Reading and validating a configuration file (parseConfig): YAML in, Config out, every
// problem named by FILE:LINE:COL.

#include "config.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <re2/re2.h>
#include <yaml-cpp/yaml.h>

#include "cli_parse.h"
#include "common/utf8.h"
#include "config_internal.h"

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

// ---- parsing -------------------------------------------------------------------------------

class Parser {
 public:
  explicit Parser(std::string file) : file_(std::move(file)) {}

  Config parse(const std::string& text) {
    // Every name, filter and pattern goes to the server as text, which must be UTF-8, and
    // YAML allows no control characters but tab and line breaks: a file with either is
    // refused where its first bad byte is. A carriage return counts as a line break only
    // in a CRLF pair: YAML reads a lone one as a break too, but inside a plain scalar it
    // would then vanish from the value, so a name that ends in one could never be written
    // back as it was read.
    size_t bad = InvalidUtf8Offset(text);
    std::string why = "the file is not valid UTF-8";
    for (size_t i = 0; i < text.size() && i < bad; ++i) {
      unsigned char c = static_cast<unsigned char>(text[i]);
      if (c == '\r' && (i + 1 == text.size() || text[i + 1] != '\n')) {
        bad = i;
        why = "a carriage return (U+000D) is allowed only before a line feed (CRLF line ends)";
        break;
      }
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F) {
        bad = i;
        char code[8];
        std::snprintf(code, sizeof(code), "%04X", c);
        why = std::string("control character U+") + code + " is not allowed in the file";
        break;
      }
    }
    if (bad != std::string_view::npos) {
      size_t line = 1, col = 1;
      for (size_t i = 0; i < bad; ++i) {
        if (text[i] == '\n') {
          ++line;
          col = 1;
        } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
          ++col;
        }
      }
      errs_.push_back(file_ + ":" + std::to_string(line) + ":" + std::to_string(col) +
                      ": " + why + " (byte " + std::to_string(bad) + ")");
      throw ConfigError(errs_);
    }
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
  // A whole number from 0 to max (the key may be absent: 0).
  uint64_t count(const YAML::Node& m, const char* key, const std::string& what, uint64_t max) {
    YAML::Node v = m[key];
    if (!v) return 0;
    const std::string text = v.IsScalar() ? v.Scalar() : "";
    bool digits = !text.empty() && text.size() <= 20 &&
                  std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
    errno = 0;
    unsigned long long n = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
    if (!digits || errno == ERANGE || n > max) {
      err(v, what + ": '" + key + "' must be a whole number from 0 to " + std::to_string(max));
      return 0;
    }
    return n;
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
    keys(n, {"name", "kind", "provider", "quota", "users", "objects", "roles", "policies"}, "a tenant");
    CTenant t;
    t.mark = mark(n);
    t.name = scalar(n, "name", "tenant", true);
    std::string what = "tenant '" + t.name + "'";
    t.kind = scalar(n, "kind", what, false, "tenant");
    if (!oneOf(t.kind, kTenantKinds)) err(n["kind"], what + ": unknown kind '" + t.kind + "' (want " + listOf(kTenantKinds) + ")");
    t.provider = scalar(n, "provider", what, false);
    if (n["provider"]) marks_["tenant/" + t.name + "/provider"] = mark(n["provider"]);
    if (auto q = n["quota"]; q && isMap(q, what + ": quota")) {
      keys(q, {"records", "bytes", "callsPerSecond", "concurrentWork"}, what + ": quota");
      t.quota.records = count(q, "records", what + ": quota", UINT64_MAX);
      t.quota.bytes = count(q, "bytes", what + ": quota", UINT64_MAX);
      t.quota.callsPerSecond = static_cast<uint32_t>(count(q, "callsPerSecond", what + ": quota", UINT32_MAX));
      t.quota.concurrentWork = static_cast<uint32_t>(count(q, "concurrentWork", what + ": quota", UINT32_MAX));
    }
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
            keys(f, {"name", "type", "required", "indexed", "unique"}, "a field");
            CField cf;
            cf.name = scalar(f, "name", ow + ": field", true);
            cf.type = scalar(f, "type", ow + ": field '" + cf.name + "'", true);
            if (!cf.type.empty() && !oneOf(cf.type, kFieldTypes)) err(f["type"], ow + ": field '" + cf.name + "': unknown type '" + cf.type + "' (want " + listOf(kFieldTypes) + ")");
            cf.required = boolean(f, "required", ow + ": field '" + cf.name + "'");
            cf.indexed = boolean(f, "indexed", ow + ": field '" + cf.name + "'");
            cf.unique = boolean(f, "unique", ow + ": field '" + cf.name + "'");
            cf.indexed = cf.indexed || cf.unique;  // as the server declares it
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

}  // namespace

Config parseConfig(const std::string& text, const std::string& file) {
  return Parser(file).parse(text);
}

}  // namespace cotenant::cli::config
