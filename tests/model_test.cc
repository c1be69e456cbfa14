// Randomized isolation check against a reference model of DESIGN.md "Deciding a request".
//
// One real cotenantd. A random world is built through the SDK (seeded; the seed is printed
// and COTENANT_MODEL_SEED overrides it): ISVs, MSPs and tenants with providers, objects
// with records whose values name their tenant, plain users, roles with per-object rights
// ("*" entries included), cross-tenant roles with foreign members, data-sharing policies
// (specific and global, scoped or not, some expired). Then thousands of random record calls,
// with and without a TenantContext (naming any tenant, or one that does not exist),
// interleaved with random administrative changes. Every record call is predicted by the
// reference model (reference_model.h) and compared with what the server answered:
//
//   context     t == c: own roles; else (a) cross-tenant roles of t the caller belongs to,
//               while the setting crossTenantRoles is on, no scope; (b) an unexpired policy
//               of t designating c; (c) an unexpired global policy of t when t manages c
//               (directly, or an ISV through one of its MSPs); else PermissionDenied. The
//               first path that applies decides; only expired policies are skipped. A
//               policy whose user was deleted or has no role admits nobody (denied).
//   rights      union over the principal's roles in t (the role's entry for the object,
//               else its "*" entry), intersected with the policy's scope objects.
//   then        object exists (NotFound), record exists (NotFound), OK.
//
// Allowed reads must return exactly the records the model holds for (t, object), each
// carrying t's own values, and no field a policy's allow-list hides. Administrative changes
// are predicted too (Conflict for a second policy of a pair, InvalidArgument for a global
// policy of a plain tenant, PermissionDenied for a foreign member while the setting is off,
// ...). Users are deleted now and then: their open sessions must fail (Unauthenticated) and
// policies naming them admit nobody. Some policies expire during the run, so cached
// contexts must honour expiry; calls within a few milliseconds of such a moment are counted,
// not judged. A disagreement prints the seed, the op index, the call, the model's reasoning
// and both outcomes; the test fails on any.
//
// The model is also evaluated under deliberately wrong readings of the rules (Variant); the
// summary shows how many calls each would have answered otherwise, i.e. that the random
// calls do tell the real rules apart from plausible mistakes.
//
// Reproduce with the printed seed. The sequence of calls depends only on the seed and the
// server's answers, except where a policy expires during the run (timing).
//
// Environment: COTENANT_MODEL_SEED (default in model_world.h), COTENANT_MODEL_OPS (random ops,
// default 5000; a final sweep adds one search per user, tenant and object).

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "tests/model_world.h"

namespace cotenant::testing {
namespace {

uint64_t EnvU64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  unsigned long long x = std::strtoull(v, &end, 10);
  return (end != nullptr && *end == '\0') ? x : fallback;
}

}  // namespace

void ModelTest::SetUp() {
  ASSERT_TRUE(server_.ok()) << server_.log();
  seed_ = EnvU64("COTENANT_MODEL_SEED", kDefaultSeed);
  ops_ = static_cast<int>(EnvU64("COTENANT_MODEL_OPS", kDefaultOps));
  rng_.seed(seed_);
  std::cout << "[model] seed=" << seed_ << " ops=" << ops_
            << " (override with COTENANT_MODEL_SEED / COTENANT_MODEL_OPS)" << std::endl;
  sys_ = AdminClient(server_);
}

// ---- reporting -----------------------------------------------------------------------------

void ModelTest::Disagree(int op, const std::string& what) {
  ++disagreements_;
  if (disagreements_ <= 40) {
    std::cout << "[model] DISAGREEMENT seed=" << seed_ << " op=" << op << ": " << what << std::endl;
  }
}

// ---- random administrative changes ---------------------------------------------------------

void ModelTest::AdminOp(int op) {
  MTenant& t = model_.tenants[Uniform(model_.tenants.size())];
  auto [c, tid] = AdminOf(t);
  std::ostringstream call;
  ErrorCode expected = ErrorCode::OK;
  ErrorCode actual = ErrorCode::OK;
  std::string message;
  int kind = static_cast<int>(Uniform(100));
  if (kind < 8) {
    bool on = Chance(0.6);
    call << "setSetting(crossTenantRoles=" << (on ? "true" : "false") << ")";
    Result r = sys_->setSetting("crossTenantRoles", on ? "true" : "false");
    actual = r.getCode();
    message = r.getMessage();
    if (r.ok()) model_.cross_tenant_roles = on;
    ++admin_counts_["setSetting"];
  } else if (kind < 30 && !t.roles.empty()) {
    // Grant or revoke rights (and sometimes flip the cross-tenant flag).
    auto& [name, role] = Pick(t.roles);
    std::map<std::string, uint8_t> rights = role.rights;
    if (Chance(0.3)) {
      rights = RandomRights();
    } else {
      std::string o = Chance(0.25) ? "*" : kObjects[Uniform(kObjects.size())];
      uint8_t bit = static_cast<uint8_t>(1u << Uniform(4));
      if (Chance(0.5)) rights[o] |= bit; else rights[o] &= static_cast<uint8_t>(~bit);
      if (Chance(0.1)) rights.erase(o);
    }
    bool cross = Chance(0.1) ? !role.cross : role.cross;
    call << "updateRole(tenant " << t.id << ", " << name << ", cross=" << cross << ")";
    auto r = c->updateRole(tid, name, WireRights(rights), cross);
    actual = r.getCode();
    message = r.getMessage();
    if (r.ok()) {
      role.rights = rights;
      role.cross = cross;
      if (!cross) std::erase_if(role.members, [&](const auto& m) { return m.second != t.id; });
    }
    ++admin_counts_["updateRole"];
  } else if (kind < 45 && !t.roles.empty()) {
    auto& [name, role] = Pick(t.roles);
    const MUser& u = Chance(0.5) ? users_[t.users[Uniform(t.users.size())]]
                                 : users_[Uniform(users_.size())];
    call << "addRoleMember(tenant " << t.id << ", " << name << ", user " << u.id << " of "
         << u.tenant << ")";
    // Another tenant's user: the role's rules first; whether that user still exists is not
    // the role's tenant to learn (a deleted one is accepted and the membership grants nothing).
    if (u.tenant != t.id && !role.cross) expected = ErrorCode::InvalidArgument;
    else if (u.tenant != t.id && !model_.cross_tenant_roles) expected = ErrorCode::PermissionDenied;
    else if (u.deleted && u.tenant == t.id) expected = ErrorCode::NotFound;
    Result r = c->addRoleMember(tid, name, u.tenant, u.id);
    actual = r.getCode();
    message = r.getMessage();
    if (r.ok()) role.members[u.id] = u.tenant;
    ++admin_counts_["addRoleMember"];
  } else if (kind < 58 && !t.roles.empty()) {
    auto& [name, role] = Pick(t.roles);
    uint64_t user, home;
    if (!role.members.empty() && Chance(0.85)) {
      auto& m = Pick(role.members);
      user = m.first;
      home = m.second;
    } else {
      const MUser& u = users_[Uniform(users_.size())];
      user = u.id;
      home = u.tenant;
    }
    call << "removeRoleMember(tenant " << t.id << ", " << name << ", user " << user << ")";
    if (role.members.count(user) == 0) expected = ErrorCode::NotFound;
    Result r = c->removeRoleMember(tid, name, home, user);
    actual = r.getCode();
    message = r.getMessage();
    if (r.ok()) role.members.erase(user);
    ++admin_counts_["removeRoleMember"];
  } else if (kind < 62) {
    std::string name = "r" + std::to_string(next_role_++);
    MRole role;
    role.rights = RandomRights();
    role.cross = Chance(0.4);
    call << "createRole(tenant " << t.id << ", " << name << ")";
    auto r = c->createRole(tid, name, WireRights(role.rights), role.cross);
    actual = r.getCode();
    message = r.getMessage();
    if (r.ok()) t.roles[name] = role;
    ++admin_counts_["createRole"];
  } else if (kind < 64 && t.roles.size() > 1) {
    std::string name = Pick(t.roles).first;
    call << "deleteRole(tenant " << t.id << ", " << name << ")";
    Result r = c->deleteRole(tid, name);
    actual = r.getCode();
    message = r.getMessage();
    if (r.ok()) t.roles.erase(name);
    ++admin_counts_["deleteRole"];
  } else if (kind < 65 && LiveUsers(t).size() > 1) {
    // Delete a plain user: its sessions fail at once, its memberships go, and policies
    // naming it admit nobody.
    auto live = LiveUsers(t);
    MUser& u = users_[live[Uniform(live.size())]];
    call << "deleteUser(tenant " << t.id << ", user " << u.id << ")";
    Result r = c->deleteUser(tid, u.id);
    actual = r.getCode();
    message = r.getMessage();
    if (r.ok()) {
      u.deleted = true;
      model_.deleted_users.insert(u.id);
      for (auto& other : model_.tenants) {
        for (auto& [n, role] : other.roles) role.members.erase(u.id);
      }
    }
    ++admin_counts_["deleteUser"];
  } else if (kind < 66) {
    std::string name = "n" + std::to_string(next_user_++);
    call << "createUser(tenant " << t.id << ", " << name << ")";
    auto r = c->createUser(tid, name, AdminLevel::User);
    actual = r.getCode();
    message = r.getMessage();
    if (r.ok()) {
      MUser mu;
      mu.id = r.value().user.id;
      mu.tenant = t.id;
      mu.tenant_idx = model_.Index(t.id);
      mu.client = Client::connect(server_.address(), t.id, r.value().apiKey);
      t.users.push_back(users_.size());
      users_.push_back(std::move(mu));
    }
    ++admin_counts_["createUser"];
  } else if (kind < 78) {
    // Create a policy: mostly valid; sometimes a duplicate pair, a global one on a plain
    // tenant, or one designating its publisher.
    bool global = (t.kind != TenantKind::Tenant && Chance(0.3)) || Chance(0.04);
    uint64_t designated = 0;
    if (!global) {
      designated = Chance(0.03) ? t.id : model_.tenants[Uniform(model_.tenants.size())].id;
    }
    MPolicy p;
    p.designated = designated;
    p.global = global;
    p.user = RandomPolicyUser(t);
    p.scope = RandomScope(t);
    p.expiresAt = RandomExpiry();
    std::string name = "p" + std::to_string(next_policy_++);
    bool taken = false;
    for (const auto& [n, q] : t.policies) {
      if (global ? q.global : (!q.global && q.designated == designated)) taken = true;
    }
    if (global && t.kind == TenantKind::Tenant) expected = ErrorCode::InvalidArgument;
    else if (!global && designated == t.id) expected = ErrorCode::InvalidArgument;
    else if (taken) expected = ErrorCode::Conflict;
    call << "createPolicy(tenant " << t.id << ", " << name << ", "
         << (global ? std::string("global") : "designated " + std::to_string(designated))
         << ", user " << p.user << ", scope objects " << p.scope.size() << ", expiresAt "
         << p.expiresAt << ")";
    PolicyInfo info;
    info.name = name;
    info.designated = designated;
    info.global = global;
    info.userId = p.user;
    info.scope = p.scope;
    info.expiresAt = p.expiresAt;
    auto r = c->createPolicy(tid, info);
    actual = r.getCode();
    message = r.getMessage();
    if (r.ok()) t.policies[name] = std::move(p);
    ++admin_counts_["createPolicy"];
  } else if (kind < 86 && !t.policies.empty()) {
    std::string name = Pick(t.policies).first;
    call << "deletePolicy(tenant " << t.id << ", " << name << ")";
    Result r = c->deletePolicy(tid, name);
    actual = r.getCode();
    message = r.getMessage();
    if (r.ok()) t.policies.erase(name);
    ++admin_counts_["deletePolicy"];
  } else if (!t.policies.empty()) {
    // Update: expire, revive, change the user or the scope.
    auto& [name, p] = Pick(t.policies);
    MPolicy np = p;
    int what = static_cast<int>(Uniform(4));
    if (what == 0) np.expiresAt = Chance(0.5) ? NowMicros() - 60LL * 1000000 : SoonExpiry();
    else if (what == 1) np.expiresAt = Chance(0.5) ? 0 : NowMicros() + 86400LL * 1000000;
    else if (what == 2) np.user = RandomPolicyUser(t);
    else np.scope = RandomScope(t);
    call << "updatePolicy(tenant " << t.id << ", " << name << ", user " << np.user
         << ", scope objects " << np.scope.size() << ", expiresAt " << np.expiresAt << ")";
    PolicyInfo info;
    info.name = name;
    info.designated = np.designated;
    info.global = np.global;
    info.userId = np.user;
    info.scope = np.scope;
    info.expiresAt = np.expiresAt;
    if (model_.deleted_users.count(np.user) != 0) expected = ErrorCode::InvalidArgument;
    auto r = c->updatePolicy(tid, info);
    actual = r.getCode();
    message = r.getMessage();
    if (r.ok()) p = np;
    ++admin_counts_["updatePolicy"];
  } else {
    return;
  }
  ++admin_ops_;
  if (actual != expected) {
    std::ostringstream os;
    os << "admin " << call.str() << " via " << (c == sys_.get() ? "system admin" : "tenant admin")
       << ": expected " << expected << ", got " << actual << " (" << message << ")";
    Disagree(op, os.str());
  }
}

// ---- record calls --------------------------------------------------------------------------

// One record call. `target` == 0: no TenantContext. `fresh_ctx`: construct a new
// TenantContext (else reuse an open one when there is one).
void ModelTest::DataCall(int op, MUser& u, bool with_ctx, uint64_t target, Op kind,
                         const std::string& object, bool fresh_ctx) {
  uint64_t t_id = with_ctx ? target : u.tenant;
  int64_t t0 = NowMicros();
  MAccess a = model_.Resolve(u.tenant, u.id, t_id);
  MTenant* t = model_.Find(t_id);
  uint64_t rid = 0;
  if (kind == Op::kGet || kind == Op::kUpdate || kind == Op::kDelete) rid = RandomRecordId(t, object);
  std::string label = "t" + std::to_string(t_id) + "-" + object + "-" +
                      (kind == Op::kAdd ? "a" : "u") + std::to_string(op);

  std::ostringstream call;
  call << "user " << u.id << " of tenant " << u.tenant << " " << OpName(kind) << "(" << object;
  if (rid != 0) call << ", id " << rid;
  call << ")" << (with_ctx ? " ctx=" + std::to_string(target) : std::string(" no ctx"));
  ++calls_;
  ++op_counts_[OpName(kind)];

  // Expected outcome.
  ErrorCode expected = model_.Expected(u, t_id, kind, object, rid, Variant());
  bool ctx_denied = with_ctx && a.path == MPath::kDenied;
  for (const auto& [name, v] : Variants()) {
    if (model_.Expected(u, t_id, kind, object, rid, v) != expected) ++distinguishing_[name];
  }
  if (u.deleted) {
    // Revocation reaches open sessions: every call of a deleted user fails.
    expected = ErrorCode::Unauthenticated;
    ctx_denied = false;
    call << " [caller deleted]";
  }
  // A policy of the target expiring while the call is under way makes either answer
  // right; such calls are counted, not judged.
  auto near_expiry = [&]() {
    if (t == nullptr) return false;
    int64_t t1 = NowMicros();
    for (const auto& [n, p] : t->policies) {
      if (p.expiresAt != 0 && p.expiresAt >= t0 - 2000 && p.expiresAt <= t1 + 2000) return true;
    }
    return false;
  };

  // The TenantContext.
  std::optional<TenantContext> ctx;
  if (with_ctx) {
    auto key = std::make_pair(u.id, target);
    auto it = open_ctx_.find(key);
    if (!fresh_ctx && it != open_ctx_.end()) {
      ctx.emplace(it->second);
      ++reused_ctx_;
      if (a.path == MPath::kDenied) ++revoked_open_ctx_;
    } else {
      ++ctx_constructions_;
      try {
        ctx.emplace(*u.client, target);
        open_ctx_.insert_or_assign(key, *ctx);
      } catch (const Error& e) {
        ++outcomes_[std::string(errorCodeName(e.code())) + " (TenantContext refused)"];
        ErrorCode want = u.deleted ? ErrorCode::Unauthenticated : ErrorCode::PermissionDenied;
        if (near_expiry()) {
          ++uncertain_;
        } else if ((!ctx_denied && !u.deleted) || e.code() != want) {
          Disagree(op, call.str() + ": TenantContext refused with " + errorCodeName(e.code()) +
                           " (" + e.message() + "), model: " + a.Describe());
        }
        return;
      }
      if (ctx_denied && !near_expiry()) {
        // Still perform the call: it must be refused too.
        Disagree(op, call.str() + ": TenantContext accepted, model: denied");
      }
    }
  }

  Result r;
  switch (kind) {
    case Op::kGet:
      r = ctx ? u.client->getRecord(object, "*", rid, *ctx) : u.client->getRecord(object, "*", rid);
      break;
    case Op::kSearch: {
      SearchQuery q;
      q.object = object;
      q.numberOfRows = 1000;
      r = ctx ? u.client->search(q, *ctx) : u.client->search(q);
      break;
    }
    case Op::kAdd: {
      Parameters p;
      p.add("label", label).add("owner", static_cast<int64_t>(t_id));
      r = ctx ? u.client->addRecord(object, p, *ctx) : u.client->addRecord(object, p);
      break;
    }
    case Op::kUpdate: {
      Parameters p;
      p.add("label", label);
      r = ctx ? u.client->updateRecord(object, rid, p, *ctx) : u.client->updateRecord(object, rid, p);
      break;
    }
    case Op::kDelete:
      r = ctx ? u.client->deleteRecord(object, rid, *ctx) : u.client->deleteRecord(object, rid);
      break;
  }
  ErrorCode actual = r.getCode();
  std::string outcome = errorCodeName(actual);
  if (actual == ErrorCode::OK || actual == ErrorCode::PermissionDenied) {
    outcome += std::string(" via ") + PathName(a.path);
  }
  ++outcomes_[outcome];
  if (actual == ErrorCode::OK && (kind == Op::kGet || kind == Op::kSearch)) ++allowed_reads_;

  bool uncertain = near_expiry();
  if (uncertain) ++uncertain_;
  if (actual != expected && !uncertain) {
    Disagree(op, call.str() + ": expected " + errorCodeName(expected) + ", got " +
                     errorCodeName(actual) + " (" + r.getMessage() + "); model: " + a.Describe() +
                     "; rights on " + object + " = " + MaskName(a.RightsOn(object)));
  }

  // Keep the model in step with what the server did, and check what it returned.
  if (actual != ErrorCode::OK || t == nullptr) return;
  auto& recs = t->records[object];
  auto check_record = [&](const Record& rec) -> std::string {
    std::ostringstream os;
    if (!rec.has("owner") || rec.get("owner").type() != Value::Type::Int ||
        static_cast<uint64_t>(rec.get("owner").asInt()) != t_id) {
      os << "record " << rec.id() << " has owner " << rec.get("owner").toString()
         << ", not tenant " << t_id << "; ";
    }
    if (!rec.has("label") || rec.get("label").asText().rfind("t" + std::to_string(t_id) + "-", 0) != 0) {
      os << "record " << rec.id() << " has label '" << rec.get("label").toString() << "'; ";
    }
    auto m = recs.find(rec.id());
    if (kind != Op::kAdd && kind != Op::kUpdate && m != recs.end() && rec.has("label") &&
        rec.get("label").asText() != m->second.label) {
      os << "record " << rec.id() << " label '" << rec.get("label").asText() << "' != model '"
         << m->second.label << "'; ";
    }
    // Seeded records carry a note naming their tenant: shown unless an allow-list hides it.
    if (m != recs.end() && m->second.has_note && !uncertain && a.FieldVisible(object, "note") &&
        (!rec.has("note") || rec.get("note").toString() != "secret-of-" + std::to_string(t_id))) {
      os << "record " << rec.id() << " note '" << rec.get("note").toString() << "'; ";
    }
    for (const auto& [f, v] : rec.fields()) {
      if (!uncertain && !a.FieldVisible(object, f)) os << "record " << rec.id() << " shows hidden field " << f << "; ";
    }
    return os.str();
  };
  std::string bad;
  switch (kind) {
    case Op::kGet:
      if (r.getRecords().size() != 1 || r.getRecords()[0].id() != rid) {
        bad += "getRecord returned " + std::to_string(r.getRecords().size()) + " records; ";
      }
      for (const auto& rec : r.getRecords()) bad += check_record(rec);
      break;
    case Op::kSearch: {
      std::vector<uint64_t> got, want;
      for (const auto& rec : r.getRecords()) {
        got.push_back(rec.id());
        bad += check_record(rec);
      }
      for (const auto& [id, rec] : recs) want.push_back(id);
      std::sort(got.begin(), got.end());
      if (got != want) {
        std::ostringstream os;
        os << "search ids [";
        for (uint64_t id : got) os << id << " ";
        os << "] != model [";
        for (uint64_t id : want) os << id << " ";
        os << "]; ";
        bad += os.str();
      }
      if (!r.complete()) bad += "search page not complete; ";
      break;
    }
    case Op::kAdd: {
      uint64_t id = r.getId();
      if (id == 0 || recs.count(id) != 0) bad += "addRecord returned id " + std::to_string(id) + "; ";
      for (const auto& rec : r.getRecords()) bad += check_record(rec);
      recs[id] = MRecord{label, false};
      all_ids_.push_back(id);
      break;
    }
    case Op::kUpdate:
      for (const auto& rec : r.getRecords()) bad += check_record(rec);
      if (recs.count(rid) != 0) recs[rid].label = label;
      break;
    case Op::kDelete:
      recs.erase(rid);
      break;
  }
  if (!bad.empty()) Disagree(op, call.str() + ": " + bad + "model: " + a.Describe());
}

void ModelTest::PrintSummary(double seconds) {
  std::cout << "[model] seed=" << seed_ << ": " << calls_ << " record calls, " << admin_ops_
            << " admin changes, " << disagreements_ << " disagreements, " << seconds << " s"
            << std::endl;
  std::cout << "[model] tenants=" << model_.tenants.size() << " users=" << users_.size()
            << " TenantContexts constructed=" << ctx_constructions_ << " reused=" << reused_ctx_
            << " (of which no longer admitted: " << revoked_open_ctx_ << ")"
            << " crossTenantRoles at end=" << model_.cross_tenant_roles
            << " users deleted=" << model_.deleted_users.size()
            << " calls not judged (a policy expiring at that moment)=" << uncertain_ << std::endl;
  std::cout << "[model] record calls by API:";
  for (const auto& [k, v] : op_counts_) std::cout << " " << k << "=" << v;
  std::cout << std::endl << "[model] record calls by outcome:" << std::endl;
  for (const auto& [k, v] : outcomes_) std::cout << "[model]   " << k << ": " << v << std::endl;
  std::cout << "[model] record calls a wrong reading of the rules would answer otherwise:" << std::endl;
  for (const auto& [name, v] : Variants()) {
    std::cout << "[model]   " << name << ": " << distinguishing_[name] << std::endl;
  }
  std::cout << "[model] admin changes:";
  for (const auto& [k, v] : admin_counts_) std::cout << " " << k << "=" << v;
  std::cout << std::endl;
}

int ModelTest::Count(const std::string& key) const {
  auto it = outcomes_.find(key);
  return it == outcomes_.end() ? 0 : it->second;
}

namespace {

TEST_F(ModelTest, RandomCallsAgreeWithTheReferenceModel) {
  auto start = std::chrono::steady_clock::now();
  BuildWorld();
  ASSERT_FALSE(HasFatalFailure());

  // Random phase: mostly record calls, about one in eight an administrative change.
  for (int op = 0; op < ops_; ++op) {
    if (Chance(0.12)) {
      AdminOp(op);
    } else {
      RandomDataOp(op);
    }
  }

  // Sweep: every user (deleted ones too) searches every object of every tenant and of an
  // unknown one, through a fresh TenantContext per tenant, so that no (caller, tenant)
  // combination is left to chance.
  int op = ops_;
  for (auto& u : users_) {
    std::vector<uint64_t> targets;
    for (const auto& t : model_.tenants) targets.push_back(t.id);
    targets.push_back(UnknownTenant());
    for (uint64_t target : targets) {
      for (const auto& object : kObjects) {
        DataCall(op++, u, true, target, Op::kSearch, object, /*fresh_ctx=*/object == kObjects[0]);
      }
    }
  }

  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  PrintSummary(seconds);

  EXPECT_EQ(disagreements_, 0) << "seed " << seed_ << ": see the DISAGREEMENT lines above";
  EXPECT_GE(calls_ + admin_ops_, 3000);
  // Both sides of every decision were exercised.
  EXPECT_GE(Count("OK via own"), 50);
  EXPECT_GE(Count("OK via policy"), 20);
  EXPECT_GE(Count("OK via global-policy"), 5);
  EXPECT_GE(Count("OK via cross-tenant-role"), 5);
  EXPECT_GE(Count("PermissionDenied via own") + Count("PermissionDenied via policy") +
                Count("PermissionDenied via global-policy") +
                Count("PermissionDenied via cross-tenant-role"),
            200);  // admitted, but the rights lack the operation
  EXPECT_GE(Count("PermissionDenied via denied"), 5);  // an open context no longer admitted
  EXPECT_GE(Count("PermissionDenied (TenantContext refused)"), 100);
  EXPECT_GE(Count("NotFound"), 50);
  EXPECT_GE(allowed_reads_, 200);
  EXPECT_GE(admin_ops_, 100);
  EXPECT_GE(revoked_open_ctx_, 5);  // revocation reaching an open TenantContext
  if (!model_.deleted_users.empty()) {
    EXPECT_GE(Count("Unauthenticated") + Count("Unauthenticated (TenantContext refused)"), 1);
  }
  // The calls tell the rules apart from each plausible misreading of them.
  for (const auto& [name, v] : Variants()) {
    EXPECT_GE(distinguishing_[name], 1) << "no call distinguished the rules from: " << name;
  }
}

}  // namespace
}  // namespace cotenant::testing
