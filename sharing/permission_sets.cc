#include "sharing/permission_sets.h"

#include <re2/re2.h>
#include <re2/set.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <atomic>
#include <map>

#include "storage/kv.h"

namespace cotenant::sharing {
namespace {

using json = nlohmann::json;

constexpr std::string_view kPrefix = "pset/";
constexpr int kFields = 3;  // resource type, API name, method
constexpr const char* kFieldNames[kFields] = {"resourceTypeRegex", "apiNameRegex", "methodRegex"};

RE2::Options PatternOptions() {
  RE2::Options o;
  o.set_log_errors(false);
  o.set_never_capture(true);
  o.set_max_mem(64 << 20);
  return o;
}

bool ValidSetName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
  });
}

const std::string& FieldOf(const PermissionPolicy& p, int f) {
  return f == 0 ? p.resource_type : (f == 1 ? p.api_name : p.method);
}

json ToJson(const PermissionSet& s) {
  json pols = json::array();
  for (const auto& p : s.policies) {
    pols.push_back({{"effect", p.effect == Effect::kDeny ? "deny" : "allow"},
                    {"resourceType", p.resource_type},
                    {"apiName", p.api_name},
                    {"method", p.method}});
  }
  return json{{"name", s.name},         {"scope", s.system_scope ? "system" : "user"},
              {"allTenants", s.all_tenants}, {"tenants", s.tenants},
              {"users", s.users},       {"policies", pols}};
}

bool FromJson(std::string_view text, PermissionSet* s) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  s->name = j.value("name", std::string());
  s->system_scope = j.value("scope", std::string("user")) == "system";
  s->all_tenants = j.value("allTenants", true);
  s->tenants = j.value("tenants", std::vector<storage::TenantId>());
  s->users = j.value("users", std::vector<storage::UserId>());
  s->policies.clear();
  for (const auto& p : j.value("policies", json::array())) {
    PermissionPolicy pp;
    pp.effect = p.value("effect", std::string("allow")) == "deny" ? Effect::kDeny : Effect::kAllow;
    pp.resource_type = p.value("resourceType", std::string());
    pp.api_name = p.value("apiName", std::string());
    pp.method = p.value("method", std::string());
    s->policies.push_back(std::move(pp));
  }
  return !s->name.empty();
}

PermissionSet AllowAll() {
  PermissionSet s;
  s.name = "allow-all";
  s.system_scope = true;
  s.all_tenants = true;
  s.policies = {{Effect::kAllow, ".*", ".*", ".*"}};
  return s;
}

}  // namespace

std::string PermissionDecision::Reason() const {
  if (set.empty()) return "no permission set allows it";
  return std::string(allowed ? "allowed" : "denied") + " by permission set '" + set +
         "' policy " + std::to_string(policy);
}

// ---- Compiled -------------------------------------------------------------------------------

class PermissionSets::Compiled {
 public:
  static Status Build(std::vector<PermissionSet> sets, std::shared_ptr<const Compiled>* out) {
    auto c = std::shared_ptr<Compiled>(new Compiled());
    std::sort(sets.begin(), sets.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    std::map<std::string, int> ids[kFields];
    for (int f = 0; f < kFields; ++f) {
      c->matchers_[f] = std::make_unique<RE2::Set>(PatternOptions(), RE2::ANCHOR_BOTH);
    }
    for (size_t si = 0; si < sets.size(); ++si) {
      c->set_begin_.push_back(c->pols_.size());
      auto& s = sets[si];
      std::sort(s.tenants.begin(), s.tenants.end());
      std::sort(s.users.begin(), s.users.end());
      for (size_t pi = 0; pi < s.policies.size(); ++pi) {
        Pol pol;
        pol.set = si;
        pol.index = static_cast<int>(pi) + 1;
        pol.effect = s.policies[pi].effect;
        for (int f = 0; f < kFields; ++f) {
          const std::string& pattern = FieldOf(s.policies[pi], f);
          auto it = ids[f].find(pattern);
          if (it == ids[f].end()) {
            std::string error;
            int id = c->matchers_[f]->Add(pattern, &error);
            if (id < 0) {
              return Status::InvalidArgument("permission set '" + s.name + "' policy " +
                                             std::to_string(pol.index) + ": " + kFieldNames[f] +
                                             " '" + pattern + "' is not a valid RE2 pattern: " + error);
            }
            c->singles_[f].push_back(std::make_unique<RE2>(pattern, PatternOptions()));
            it = ids[f].emplace(pattern, id).first;
          }
          pol.pattern[f] = it->second;
        }
        c->pols_.push_back(pol);
      }
    }
    c->set_begin_.push_back(c->pols_.size());
    for (int f = 0; f < kFields; ++f) {
      if (!ids[f].empty() && !c->matchers_[f]->Compile()) {
        return Status::ResourceExhausted("permission-set patterns need more memory than RE2 allows");
      }
      c->empty_[f] = ids[f].empty();
    }
    c->sets_ = std::move(sets);
    *out = std::move(c);
    return Status::OK();
  }

  const std::vector<PermissionSet>& sets() const { return sets_; }

  PermissionDecision Evaluate(const AccessRequest& r, bool trace) const {
    PermissionDecision d;
    // Per-thread scratch: a decision allocates nothing on the hot path.
    thread_local std::vector<uint8_t> hit[kFields];
    thread_local std::vector<int> matched;
    const std::string* text[kFields] = {&r.resource_type, &r.api, &r.method};
    for (int f = 0; f < kFields; ++f) {
      hit[f].assign(singles_[f].size(), 0);
      if (empty_[f]) continue;
      matched.clear();
      RE2::Set::ErrorInfo info{RE2::Set::kNoError};
      if (matchers_[f]->Match(*text[f], &matched, &info) || info.kind == RE2::Set::kNoError) {
        for (int id : matched) hit[f][static_cast<size_t>(id)] = 1;
      } else {
        // The DFA gave up (memory): match the patterns one by one.
        for (size_t i = 0; i < singles_[f].size(); ++i) {
          hit[f][i] = RE2::FullMatch(*text[f], *singles_[f][i]) ? 1 : 0;
        }
      }
    }
    const Pol* first_deny = nullptr;
    const Pol* first_allow = nullptr;
    for (size_t si = 0; si < sets_.size(); ++si) {
      if (!Applies(sets_[si], r)) continue;
      PermissionDecision::Considered* considered = nullptr;
      if (trace) {
        d.considered.push_back({sets_[si].name, {}, {}});
        considered = &d.considered.back();
      }
      for (size_t pi = set_begin_[si]; pi < set_begin_[si + 1]; ++pi) {
        const Pol& p = pols_[pi];
        if (!hit[0][static_cast<size_t>(p.pattern[0])] || !hit[1][static_cast<size_t>(p.pattern[1])] ||
            !hit[2][static_cast<size_t>(p.pattern[2])]) {
          continue;
        }
        if (p.effect == Effect::kDeny) {
          if (considered != nullptr) considered->matched_deny.push_back(p.index);
          if (first_deny == nullptr) first_deny = &p;
        } else {
          if (considered != nullptr) considered->matched_allow.push_back(p.index);
          if (first_allow == nullptr) first_allow = &p;
        }
      }
      // Without a trace, the first deny decides: nothing later can change the answer.
      if (!trace && first_deny != nullptr) break;
    }
    const Pol* decider = first_deny != nullptr ? first_deny : first_allow;
    d.allowed = first_deny == nullptr && first_allow != nullptr;
    if (decider != nullptr) {
      d.set = sets_[decider->set].name;
      d.policy = decider->index;
    }
    return d;
  }

 private:
  struct Pol {
    size_t set = 0;
    int index = 0;
    Effect effect = Effect::kAllow;
    int pattern[kFields] = {0, 0, 0};
  };

  static bool Applies(const PermissionSet& s, const AccessRequest& r) {
    if (!s.system_scope && !std::binary_search(s.users.begin(), s.users.end(), r.user)) return false;
    return s.all_tenants || std::binary_search(s.tenants.begin(), s.tenants.end(), r.tenant);
  }

  std::vector<PermissionSet> sets_;
  std::vector<Pol> pols_;  // set order (by name), then policy order
  std::vector<size_t> set_begin_;  // policies of set i are pols_[set_begin_[i], set_begin_[i+1])
  std::unique_ptr<RE2::Set> matchers_[kFields];
  std::vector<std::unique_ptr<RE2>> singles_[kFields];  // by pattern id
  bool empty_[kFields] = {true, true, true};
};

// ---- PermissionSets -------------------------------------------------------------------------

Status PermissionSets::ReadAll(std::vector<PermissionSet>* sets) const {
  Status parse = Status::OK();
  COTENANT_RETURN_IF_ERROR(store_->MetaScan(storage::kGlobalTenant, kPrefix,
                                            [&](std::string_view, std::string_view v) {
                                              PermissionSet s;
                                              if (!FromJson(v, &s)) {
                                                parse = Status::Internal("corrupt permission set");
                                                return false;
                                              }
                                              sets->push_back(std::move(s));
                                              return true;
                                            }));
  return parse;
}

Status PermissionSets::Open(storage::Store* store, std::unique_ptr<PermissionSets>* out) {
  std::unique_ptr<PermissionSets> ps(new PermissionSets(store));
  std::vector<std::optional<std::string>> gen;
  COTENANT_RETURN_IF_ERROR(store->MetaMultiGet({{storage::kGlobalTenant, std::string(kGenKey)}}, &gen));
  std::vector<PermissionSet> sets;
  COTENANT_RETURN_IF_ERROR(ps->ReadAll(&sets));
  std::string marker;
  Status s = store->MetaGet(storage::kGlobalTenant, "pset-initialised", &marker);
  if (s.IsNotFound()) {
    // A fresh installation: the system-wide allow-all, once (deleting it later sticks;
    // of front-ends starting together on a fresh shared store, one writes it).
    PermissionSet all = AllowAll();
    storage::Store::MetaBatch b;
    b.Expect(storage::kGlobalTenant, "pset-initialised", std::nullopt);
    b.Put(storage::kGlobalTenant, std::string(kPrefix) + all.name, ToJson(all).dump());
    b.Put(storage::kGlobalTenant, "pset-initialised", "1");
    s = store->MetaWrite(b);
    if (s.ok()) {
      sets.push_back(std::move(all));
    } else if (storage::IsConditionFailed(s)) {
      sets.clear();
      COTENANT_RETURN_IF_ERROR(ps->ReadAll(&sets));
    } else {
      return s;
    }
  } else {
    COTENANT_RETURN_IF_ERROR(s);
  }
  ps->loaded_gen_ = GenOf(gen[0]);
  COTENANT_RETURN_IF_ERROR(ps->Publish(std::move(sets)));
  *out = std::move(ps);
  return Status::OK();
}

Status PermissionSets::Observe(const std::optional<std::string>& stored) {
  const uint64_t g = GenOf(stored);
  if (g <= loaded_gen_.load(std::memory_order_acquire)) return Status::OK();
  std::lock_guard<std::mutex> l(change_mu_);
  if (g <= loaded_gen_.load(std::memory_order_acquire)) return Status::OK();
  std::vector<PermissionSet> sets;
  COTENANT_RETURN_IF_ERROR(ReadAll(&sets));
  COTENANT_RETURN_IF_ERROR(Publish(std::move(sets)));
  loaded_gen_.store(g, std::memory_order_release);
  return Status::OK();
}

Status PermissionSets::Validate(const PermissionSet& set) {
  if (!ValidSetName(set.name)) {
    return Status::InvalidArgument("permission set name '" + set.name +
                                   "' is invalid: use 1-64 letters, digits, '_', '-' or '.'");
  }
  if (set.policies.empty()) {
    return Status::InvalidArgument("permission set '" + set.name + "' has no policies");
  }
  for (size_t i = 0; i < set.policies.size(); ++i) {
    for (int f = 0; f < kFields; ++f) {
      const std::string& pattern = FieldOf(set.policies[i], f);
      RE2 re(pattern, PatternOptions());
      if (!re.ok()) {
        return Status::InvalidArgument("permission set '" + set.name + "' policy " +
                                       std::to_string(i + 1) + ": " + kFieldNames[f] + " '" +
                                       pattern + "' is not a valid RE2 pattern: " + re.error());
      }
    }
  }
  if (!set.all_tenants && set.tenants.empty()) {
    return Status::InvalidArgument("permission set '" + set.name +
                                   "' applies to no tenant: list tenants or choose all");
  }
  return Status::OK();
}

Status PermissionSets::Publish(std::vector<PermissionSet> sets) {
  std::shared_ptr<const Compiled> compiled;
  COTENANT_RETURN_IF_ERROR(Compiled::Build(std::move(sets), &compiled));
  std::atomic_store(&compiled_, std::move(compiled));
  return Status::OK();
}

// Applies `edit` to the current sets, compiles the result (so a change that would not
// compile is refused with nothing saved), persists `batch`, and publishes.
Status PermissionSets::Change(const std::function<Status(std::vector<PermissionSet>*)>& edit,
                              const storage::Store::MetaBatch& batch) {
  std::lock_guard<std::mutex> l(change_mu_);
  storage::Store::MetaBatch b = batch;
  uint64_t next = 0;
  if (store_->shared()) {
    // Other front-ends change the sets too: edit what the store holds now, and write only
    // if no other change lands first (the version of the sets, pset-gen, is unchanged).
    std::vector<std::optional<std::string>> gen;
    COTENANT_RETURN_IF_ERROR(store_->MetaMultiGet({{storage::kGlobalTenant, std::string(kGenKey)}}, &gen));
    if (GenOf(gen[0]) > loaded_gen_.load(std::memory_order_acquire)) {
      std::vector<PermissionSet> fresh;
      COTENANT_RETURN_IF_ERROR(ReadAll(&fresh));
      COTENANT_RETURN_IF_ERROR(Publish(std::move(fresh)));
      loaded_gen_.store(GenOf(gen[0]), std::memory_order_release);
    }
    next = GenOf(gen[0]) + 1;
    b.Expect(storage::kGlobalTenant, kGenKey, gen[0]);
    std::string v;
    storage::AppendU64(&v, next);
    b.Put(storage::kGlobalTenant, kGenKey, v);
  }
  std::vector<PermissionSet> sets = List();
  COTENANT_RETURN_IF_ERROR(edit(&sets));
  std::shared_ptr<const Compiled> compiled;
  COTENANT_RETURN_IF_ERROR(Compiled::Build(std::move(sets), &compiled));
  Status s = store_->MetaWrite(b);
  if (storage::IsConditionFailed(s)) {
    return Status::Busy("the permission sets changed on another server at the same moment; "
                        "send the change again");
  }
  COTENANT_RETURN_IF_ERROR(s);
  std::atomic_store(&compiled_, std::move(compiled));
  if (next != 0) loaded_gen_.store(next, std::memory_order_release);
  return Status::OK();
}

Status PermissionSets::Create(const PermissionSet& set) {
  COTENANT_RETURN_IF_ERROR(Validate(set));
  storage::Store::MetaBatch b;
  b.Put(storage::kGlobalTenant, std::string(kPrefix) + set.name, ToJson(set).dump());
  return Change([&](std::vector<PermissionSet>* sets) {
    for (const auto& s : *sets) {
      if (s.name == set.name) return Status::Conflict("permission set '" + set.name + "' already exists");
    }
    sets->push_back(set);
    return Status::OK();
  }, b);
}

Status PermissionSets::Update(const PermissionSet& set) {
  COTENANT_RETURN_IF_ERROR(Validate(set));
  storage::Store::MetaBatch b;
  b.Put(storage::kGlobalTenant, std::string(kPrefix) + set.name, ToJson(set).dump());
  return Change([&](std::vector<PermissionSet>* sets) {
    auto it = std::find_if(sets->begin(), sets->end(), [&](const auto& s) { return s.name == set.name; });
    if (it == sets->end()) return Status::NotFound("permission set '" + set.name + "' does not exist");
    *it = set;
    return Status::OK();
  }, b);
}

Status PermissionSets::Delete(const std::string& name) {
  storage::Store::MetaBatch b;
  b.Delete(storage::kGlobalTenant, std::string(kPrefix) + name);
  return Change([&](std::vector<PermissionSet>* sets) {
    auto it = std::find_if(sets->begin(), sets->end(), [&](const auto& s) { return s.name == name; });
    if (it == sets->end()) return Status::NotFound("permission set '" + name + "' does not exist");
    sets->erase(it);
    return Status::OK();
  }, b);
}

std::vector<PermissionSet> PermissionSets::List() const {
  return std::atomic_load(&compiled_)->sets();
}

PermissionDecision PermissionSets::Evaluate(const AccessRequest& request, bool trace) const {
  return std::atomic_load(&compiled_)->Evaluate(request, trace);
}

Status PermissionSets::Simulate(const AccessRequest& request, const PermissionSet& draft, bool remove,
                                PermissionDecision* out) const {
  if (!remove) COTENANT_RETURN_IF_ERROR(Validate(draft));
  std::vector<PermissionSet> sets = List();
  auto it = std::find_if(sets.begin(), sets.end(), [&](const auto& s) { return s.name == draft.name; });
  if (remove) {
    if (it == sets.end()) return Status::NotFound("permission set '" + draft.name + "' does not exist");
    sets.erase(it);
  } else if (it != sets.end()) {
    *it = draft;
  } else {
    sets.push_back(draft);
  }
  std::shared_ptr<const Compiled> compiled;
  COTENANT_RETURN_IF_ERROR(Compiled::Build(std::move(sets), &compiled));
  *out = compiled->Evaluate(request, /*trace=*/true);
  return Status::OK();
}

}  // namespace cotenant::sharing
