#include "sharing/permission_lint.h"

#include <re2/re2.h>

#include <algorithm>
#include <string_view>

#include "sharing/api.h"

namespace cotenant::sharing {
namespace {

// One API as rules see it.
struct Call {
  std::string api;
  std::string method;
  std::string resource;  // "admin/..."; "" for a record API (resource per object)
};

std::vector<Call> Catalogue() {
  std::vector<Call> out;
  for (size_t i = 0; i < static_cast<size_t>(Api::kCount); ++i) {
    Api api = static_cast<Api>(i);
    ApiAccess a = AccessOf(api);
    if (a.resource.empty()) continue;  // not evaluated by permission sets
    out.push_back({std::string(ApiName(api)), std::string(a.method),
                   IsRecordApi(api) ? std::string() : std::string(a.resource)});
  }
  return out;
}

// What one rule matches: per API, whether it matches the API (name and method), and per
// object (record APIs) or the API's own resource (admin APIs) whether the resource does.
struct Match {
  std::vector<bool> api;       // by catalogue index: name and method match
  std::vector<bool> resource;  // admin APIs: by catalogue index
  std::vector<bool> object;    // by object index: "records/<object>" matches
  bool valid = true;
  bool any_api = false, any_method = false, any_record_api = false;

  // Does the rule match call c (on object o, for a record API)?
  bool Covers(const std::vector<Call>& calls, size_t c, size_t o) const {
    if (!api[c]) return false;
    return calls[c].resource.empty() ? object[o] : resource[c];
  }
};

Match MatchOf(const PermissionPolicy& p, const std::vector<Call>& calls,
              const std::vector<std::string>& objects) {
  Match m;
  RE2::Options opts;
  opts.set_log_errors(false);
  RE2 res(p.resource_type, opts), api(p.api_name, opts), method(p.method, opts);
  if (!res.ok() || !api.ok() || !method.ok()) {
    m.valid = false;
    return m;
  }
  m.api.resize(calls.size());
  m.resource.resize(calls.size());
  for (size_t c = 0; c < calls.size(); ++c) {
    bool name = RE2::FullMatch(calls[c].api, api);
    bool verb = RE2::FullMatch(calls[c].method, method);
    m.any_api = m.any_api || name;
    m.any_method = m.any_method || verb;
    m.api[c] = name && verb;
    if (calls[c].resource.empty()) {
      m.any_record_api = m.any_record_api || m.api[c];
    } else {
      m.resource[c] = RE2::FullMatch(calls[c].resource, res);
    }
  }
  m.object.resize(objects.size());
  for (size_t o = 0; o < objects.size(); ++o) m.object[o] = RE2::FullMatch("records/" + objects[o], res);
  return m;
}

// Calls `f(c, o)` for every call the rule matches (o = 0 for admin APIs); stops when f
// returns false. Returns false when stopped.
template <typename F>
bool ForEachCovered(const Match& m, const std::vector<Call>& calls, size_t objects, F f) {
  for (size_t c = 0; c < calls.size(); ++c) {
    if (!m.api[c]) continue;
    if (!calls[c].resource.empty()) {
      if (m.resource[c] && !f(c, 0)) return false;
      continue;
    }
    for (size_t o = 0; o < objects; ++o) {
      if (m.object[o] && !f(c, o)) return false;
    }
  }
  return true;
}

std::string Rule(const PermissionPolicy& p) {
  return std::string(p.effect == Effect::kAllow ? "allow" : "deny") + " '" + p.resource_type +
         "' '" + p.api_name + "' '" + p.method + "'";
}

}  // namespace

std::vector<LintFinding> LintPermissionSets(const LintInputs& in) {
  const std::vector<Call> calls = Catalogue();
  const size_t objects = in.objects.size();
  std::vector<LintFinding> out;
  auto add = [&](const PermissionSet& s, int policy, std::string kind, std::string message) {
    out.push_back({s.name, policy, std::move(kind), std::move(message)});
  };

  // Every rule's matches, once.
  std::vector<std::vector<Match>> matches(in.sets.size());
  for (size_t s = 0; s < in.sets.size(); ++s) {
    for (const auto& p : in.sets[s].policies) matches[s].push_back(MatchOf(p, calls, in.objects));
  }

  for (size_t s = 0; s < in.sets.size(); ++s) {
    const PermissionSet& set = in.sets[s];
    if (!set.system_scope && set.users.empty()) {
      add(set, 0, "no-users", "the set is for listed users and lists none: it applies to nobody");
    }
    if (!set.all_tenants && set.tenants.empty()) {
      add(set, 0, "no-tenants", "the set is for listed tenants and lists none: it applies nowhere");
    }
    if (in.user_exists) {
      for (auto u : set.users) {
        if (!in.user_exists(u)) add(set, 0, "unknown-user", "user " + std::to_string(u) + " does not exist");
      }
    }
    if (in.tenant_exists && !set.all_tenants) {
      for (auto t : set.tenants) {
        if (!in.tenant_exists(t)) {
          add(set, 0, "unknown-tenant", "tenant " + std::to_string(t) + " does not exist");
        }
      }
    }
    for (size_t i = 0; i < set.policies.size(); ++i) {
      const PermissionPolicy& p = set.policies[i];
      const Match& m = matches[s][i];
      const int n = static_cast<int>(i + 1);
      if (!m.valid) continue;  // saved sets compile; nothing to say of one that does not
      for (size_t j = 0; j < i; ++j) {
        const PermissionPolicy& q = set.policies[j];
        if (q.effect == p.effect && q.resource_type == p.resource_type && q.api_name == p.api_name &&
            q.method == p.method) {
          add(set, n, "duplicate", Rule(p) + " repeats policy " + std::to_string(j + 1));
          break;
        }
      }
      size_t covered = 0;
      ForEachCovered(m, calls, objects, [&](size_t, size_t) { return ++covered, true; });
      if (covered == 0) {
        std::string why;
        if (!m.any_api) {
          why = "apiNameRegex '" + p.api_name + "' matches no API";
        } else if (!m.any_method) {
          why = "methodRegex '" + p.method + "' matches no method class (GET, POST, PUT, DELETE)";
        } else if (!std::any_of(m.api.begin(), m.api.end(), [](bool b) { return b; })) {
          why = "no API matching '" + p.api_name + "' has a method matching '" + p.method + "'";
        } else if (m.any_record_api && p.resource_type.rfind("records/", 0) == 0) {
          add(set, n, "no-such-object",
              Rule(p) + " matches no existing object: resourceTypeRegex '" + p.resource_type +
                  "' matches no records/<Object>");
          continue;
        } else {
          why = "resourceTypeRegex '" + p.resource_type + "' matches the resource type of none of its APIs";
        }
        add(set, n, "never-matches", Rule(p) + " matches no call: " + why);
        continue;
      }
      if (p.effect != Effect::kAllow) continue;
      if (set.system_scope && set.all_tenants) {
        size_t all = 0;
        for (size_t c = 0; c < calls.size(); ++c) all += calls[c].resource.empty() ? objects : 1;
        if (covered == all && objects > 0) {
          add(set, n, "allows-everything",
              Rule(p) + " allows every call of every user in every tenant; narrow it or add deny rules");
        }
      }
      // Shadowed: every call it matches is denied by a deny rule that applies wherever it
      // does (the same set, or a set for every user in every tenant).
      std::string by;
      bool shadowed = ForEachCovered(m, calls, objects, [&](size_t c, size_t o) {
        for (size_t t = 0; t < in.sets.size(); ++t) {
          const PermissionSet& other = in.sets[t];
          if (t != s && !(other.system_scope && other.all_tenants)) continue;
          for (size_t k = 0; k < other.policies.size(); ++k) {
            if (other.policies[k].effect != Effect::kDeny || !matches[t][k].valid) continue;
            if (matches[t][k].Covers(calls, c, o)) {
              if (by.empty()) by = "'" + other.name + "' policy " + std::to_string(k + 1);
              return true;
            }
          }
        }
        return false;
      });
      if (shadowed) {
        add(set, n, "shadowed-by-deny",
            Rule(p) + " never allows anything: every call it matches is denied (by " + by + ", ...)");
      }
    }
  }
  return out;
}

}  // namespace cotenant::sharing
