#include "sharing/permission_lint.h"

#include <re2/re2.h>

#include <algorithm>
#include <memory>
#include <set>

#include "sharing/api.h"

namespace cotenant::sharing {
namespace {

struct Compiled {
  const LintRule* rule;
  int number;  // 1-based
  std::unique_ptr<RE2> rt, api, method;
  bool ok = false;
  std::vector<bool> matches;  // per universe call
};

Compiled Compile(const LintRule& r, int number, const LintUniverse& u) {
  Compiled c{&r, number, std::make_unique<RE2>(r.resource_type, RE2::Quiet),
             std::make_unique<RE2>(r.api_name, RE2::Quiet), std::make_unique<RE2>(r.method, RE2::Quiet)};
  c.ok = c.rt->ok() && c.api->ok() && c.method->ok();
  c.matches.assign(u.calls.size(), false);
  if (!c.ok) return c;
  for (size_t i = 0; i < u.calls.size(); ++i) {
    const LintCall& call = u.calls[i];
    c.matches[i] = RE2::FullMatch(call.resource_type, *c.rt) && RE2::FullMatch(call.api, *c.api) &&
                   RE2::FullMatch(call.method, *c.method);
  }
  return c;
}

bool AnyFull(const std::vector<std::string>& values, const RE2& re) {
  return std::any_of(values.begin(), values.end(), [&](const std::string& v) { return RE2::FullMatch(v, re); });
}

bool Subset(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  return std::includes(b.begin(), b.end(), a.begin(), a.end());
}

// Does `outer` apply to at least every (user, tenant) that `inner` applies to? Conservative:
// only what the sets say, never whether a user happens to live in a listed tenant.
bool Covers(const LintSet& outer, const LintSet& inner) {
  bool users = outer.system_scope || (!inner.system_scope && Subset(inner.users, outer.users));
  bool tenants = outer.all_tenants || (!inner.all_tenants && Subset(inner.tenants, outer.tenants));
  return users && tenants;
}

}  // namespace

LintUniverse KnownCalls(const std::vector<std::string>& objects) {
  LintUniverse u;
  std::set<std::string> rts, apis;
  const std::set<std::string> names(objects.begin(), objects.end());
  for (size_t i = 0; i < static_cast<size_t>(Api::kCount); ++i) {
    const Api api = static_cast<Api>(i);
    const ApiAccess a = AccessOf(api);
    if (a.resource.empty()) continue;  // not evaluated by permission sets
    const std::string name(ApiName(api));
    apis.insert(name);
    if (IsRecordApi(api)) {
      for (const auto& o : names) {
        rts.insert("records/" + o);
        u.calls.push_back({"records/" + o, name, std::string(a.method)});
      }
    } else {
      rts.insert(std::string(a.resource));
      u.calls.push_back({std::string(a.resource), name, std::string(a.method)});
    }
  }
  u.resource_types.assign(rts.begin(), rts.end());
  u.apis.assign(apis.begin(), apis.end());
  u.methods = {"DELETE", "GET", "POST", "PUT"};
  return u;
}

std::string LintWhere(const LintFinding& f) {
  std::string at = "permission set '" + f.set + "'";
  if (f.policy != 0) at += " policy " + std::to_string(f.policy);
  return at;
}

std::vector<LintFinding> LintPermissionSets(const std::vector<LintSet>& sets, const LintUniverse& u) {
  std::vector<LintFinding> out;
  std::vector<std::vector<Compiled>> compiled(sets.size());
  for (size_t s = 0; s < sets.size(); ++s) {
    for (size_t i = 0; i < sets[s].policies.size(); ++i) {
      compiled[s].push_back(Compile(sets[s].policies[i], static_cast<int>(i + 1), u));
    }
  }
  for (size_t s = 0; s < sets.size(); ++s) {
    const LintSet& set = sets[s];
    auto add = [&](const char* severity, const char* kind, int policy, std::string message) {
      out.push_back({severity, kind, set.name, policy, std::move(message)});
    };
    const bool nobody = !set.system_scope && set.users.empty();
    if (nobody) add("warning", "no-users", 0, "the set is for listed users and lists none, so it applies to nobody");
    if (!set.all_tenants && set.tenants.empty()) {
      add("warning", "no-tenants", 0, "the set is for listed tenants and lists none, so it applies nowhere");
    }
    for (const Compiled& c : compiled[s]) {
      const LintRule& r = *c.rule;
      if (!c.ok) {
        add("error", "invalid-regex", c.number, "a regex is not a valid RE2 pattern");
        continue;
      }
      for (int j = 0; j + 1 < c.number; ++j) {
        const LintRule& q = set.policies[static_cast<size_t>(j)];
        if (q.effect == r.effect && q.resource_type == r.resource_type && q.api_name == r.api_name &&
            q.method == r.method) {
          add("warning", "duplicate", c.number, "repeats policy " + std::to_string(j + 1) + " of the set");
          break;
        }
      }
      // A field regex that matches none of the known values of its field.
      bool field_dead = false;
      auto field = [&](const char* name, const std::string& pattern, const RE2& re,
                       const std::vector<std::string>& values, const char* kind) {
        if (AnyFull(values, re)) return;
        field_dead = true;
        add("warning", "regex-never-matches", c.number,
            std::string(name) + " '" + pattern + "' matches no known " + kind +
                " (RE2 full match), so this " + r.effect + " never applies");
      };
      field("resourceTypeRegex", r.resource_type, *c.rt, u.resource_types, "resource type");
      field("apiNameRegex", r.api_name, *c.api, u.apis, "API name");
      field("methodRegex", r.method, *c.method, u.methods, "method");
      const bool any = std::find(c.matches.begin(), c.matches.end(), true) != c.matches.end();
      if (!field_dead && !any) {
        add("warning", "matches-no-call", c.number,
            "each regex matches something, but no known call has that resource type, API name and "
            "method together, so this " + r.effect + " never applies");
      }
      if (r.effect != "allow" || !any) continue;
      if (set.system_scope && set.all_tenants &&
          std::all_of(c.matches.begin(), c.matches.end(), [](bool b) { return b; })) {
        add("warning", "system-allow-all", c.number,
            "a system-scope set for all tenants allows every known call; every user can do anything "
            "role rights permit (the fresh-install default: narrow or delete it)");
      }
      // An allow shadowed by denies of sets applying to at least the same users and tenants.
      if (nobody) continue;
      std::vector<bool> denied(u.calls.size(), false);
      std::vector<std::string> by;
      for (size_t t = 0; t < sets.size(); ++t) {
        if (!Covers(sets[t], set)) continue;
        for (const Compiled& d : compiled[t]) {
          if (d.rule->effect != "deny" || !d.ok) continue;
          bool contributes = false;
          for (size_t i = 0; i < u.calls.size(); ++i) {
            if (c.matches[i] && d.matches[i]) {
              denied[i] = true;
              contributes = true;
            }
          }
          if (contributes) by.push_back(LintWhere({"", "", sets[t].name, d.number, ""}));
        }
      }
      bool shadowed = true;
      for (size_t i = 0; i < u.calls.size(); ++i) {
        if (c.matches[i] && !denied[i]) shadowed = false;
      }
      if (shadowed) {
        std::string list;
        for (const auto& b : by) list += (list.empty() ? "" : ", ") + b;
        add("warning", "shadowed-allow", c.number,
            "every known call it allows is denied by " + list + " (a deny wins), so this allow has no effect");
      }
    }
  }
  return out;
}

}  // namespace cotenant::sharing
