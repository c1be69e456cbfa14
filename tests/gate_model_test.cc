// The randomized model check, in process: the gate (sharing/gate.h) against the same
// reference model the end-to-end model test uses (tests/reference_model.h), with no server
// in between, so many worlds can be tried in a few seconds.
//
// Per seed a random world is built twice, in the model and in a real store (RocksDB)
// through Sharing and Identity: ISVs, MSPs and tenants with providers, objects, users,
// roles with per-object rights ("*" entries included), cross-tenant roles with foreign
// members, specific and global policies (scoped or not, some expired), deleted users, and
// the crossTenantRoles setting on or off. Then random record calls, with and without a
// TenantContext (naming any tenant, or one that does not exist), are decided by the gate
// and predicted by the model: the principal, and the verdict (PermissionDenied for the
// context or the rights, NotFound for a missing object, else OK). Any disagreement fails
// with the seed.
//
// Environment: COTENANT_GATE_MODEL_SEEDS (default 150), COTENANT_GATE_MODEL_SEED (first).

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>

#include "sharing/gate.h"
#include "tests/reference_model.h"
#include "tests/test_support.h"

namespace cotenant::testing {
namespace {

namespace sh = cotenant::sharing;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

const std::vector<std::string> kAllObjects = {"A", "B", "C", "*"};

class GateModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StoreOptions o;
    o.path = dir_.path();
    o.storage = cotenant::testing::TestStorageUri(o.path);
    o.storage_connections = 4;
    o.block_cache_bytes = 8 << 20;
    o.memtable_bytes = 16 << 20;
    ASSERT_TRUE(storage::Store::Open(o, &store_).ok());
    identity_ = std::make_unique<sh::Identity>(store_.get());
    sh::CacheOptions co;
    co.store_id = "gate-model";
    cache_ = std::make_unique<sh::ContextCache>(co);
    sharing_ = std::make_unique<sh::Sharing>(store_.get(), identity_.get(), cache_.get());
    ASSERT_TRUE(sh::PermissionSets::Open(store_.get(), &psets_).ok());
    audit_ = std::make_unique<sh::AuditLog>(store_.get());
    std::vector<std::string> names;
    for (int i = 0; i < static_cast<int>(sh::Api::kCount); ++i) names.emplace_back(sh::ApiName(static_cast<sh::Api>(i)));
    usage_ = std::make_unique<sh::Usage>(store_.get(), names);
    sh::Gate::Parts parts{store_.get(), identity_.get(), sharing_.get(), psets_.get(), audit_.get(), usage_.get()};
    gate_ = std::make_unique<sh::Gate>(parts);
  }

  // One random world in both the model and the store; returns the callers' credentials.
  void BuildWorld(std::mt19937_64& rng, ReferenceModel* m, std::map<uint64_t, sh::Credential>* creds) {
    auto pick = [&](size_t n) { return static_cast<size_t>(rng() % n); };
    ASSERT_TRUE(sharing_->SetSetting("crossTenantRoles", "true").ok());
    // Tenants: an ISV, an MSP under it, tenants under either or neither.
    struct Spec {
      storage::TenantKind kind;
      int provider;  // index into the tenants made so far, -1 = none
    };
    std::vector<Spec> specs = {{storage::TenantKind::kIsv, -1}, {storage::TenantKind::kMsp, 0},
                               {storage::TenantKind::kTenant, 1}, {storage::TenantKind::kTenant, 0},
                               {storage::TenantKind::kTenant, -1}};
    for (const Spec& s : specs) {
      storage::TenantInfo info;
      uint64_t provider = s.provider < 0 ? 0 : m->tenants[static_cast<size_t>(s.provider)].id;
      Status made = store_->CreateTenant("t" + std::to_string(++tenants_made_), s.kind, provider, &info);
      ASSERT_TRUE(made.ok()) << made.ToString();
      MTenant t;
      t.id = info.id;
      t.kind = s.kind == storage::TenantKind::kIsv ? TenantKind::Isv
               : s.kind == storage::TenantKind::kMsp ? TenantKind::Msp : TenantKind::Tenant;
      t.provider = provider;
      for (const auto& obj : kObjects) {
        if (rng() % 4 == 0) continue;
        storage::ObjectDef def;
        ASSERT_TRUE(store_->CreateObject(t.id, obj, {{"f", storage::FieldType::kText}}, &def).ok());
        t.objects.insert(obj);
      }
      m->tenants.push_back(std::move(t));
    }
    std::vector<MUser> users;
    for (size_t ti = 0; ti < m->tenants.size(); ++ti) {
      for (int k = 0; k < 2; ++k) {
        sh::User u;
        std::string key;
        ASSERT_TRUE(identity_->CreateUser(m->tenants[ti].id, "u" + std::to_string(k), sh::AdminLevel::kUser, &u, &key).ok());
        sh::Credential cred;
        ASSERT_TRUE(identity_->Authenticate(u.tenant, key, &u, &cred).ok());
        (*creds)[u.id] = cred;
        MUser mu;
        mu.id = u.id;
        mu.tenant = u.tenant;
        mu.tenant_idx = ti;
        m->tenants[ti].users.push_back(users.size());
        users.push_back(std::move(mu));
      }
    }
    // Roles and members (foreign members only in cross-tenant roles).
    for (auto& t : m->tenants) {
      int n = 1 + static_cast<int>(pick(3));
      for (int r = 0; r < n; ++r) {
        std::string name = "r" + std::to_string(r);
        MRole role;
        role.cross = rng() % 3 == 0;
        sh::RightsMap rights;
        for (const auto& obj : kAllObjects) {
          if (rng() % 2 == 0) continue;
          auto mask = static_cast<uint8_t>(rng() % 2 == 0 ? kAll : rng() % 16);
          rights[obj] = mask;
          role.rights[obj] = mask;
        }
        sh::Role out;
        ASSERT_TRUE(sharing_->CreateRole(t.id, name, rights, role.cross, &out).ok());
        for (int k = 0; k < 2; ++k) {
          const MUser& u = users[pick(users.size())];
          if (u.tenant != t.id && !role.cross) continue;
          if (role.members.count(u.id) != 0) continue;
          ASSERT_TRUE(sharing_->AddMember(t.id, name, u.tenant, u.id).ok());
          role.members[u.id] = u.tenant;
        }
        t.roles[name] = std::move(role);
      }
    }
    // Policies: specific ones between random pairs, global ones of the ISV and the MSP.
    int64_t now = NowMicros();
    auto expiry = [&]() -> int64_t {
      switch (rng() % 4) {
        case 0: return now - 1000000;
        case 1: return now + int64_t{3600} * 1000000;
        default: return 0;
      }
    };
    auto make_policy = [&](MTenant& pub, uint64_t designated, bool global) {
      const MUser& u = users[pub.users[pick(pub.users.size())]];
      sh::Policy p;
      p.name = global ? "global" : "to" + std::to_string(designated);
      p.global = global;
      p.designated = global ? 0 : designated;
      p.user = u.id;
      p.expires_at = expiry();
      MPolicy mp;
      mp.global = global;
      mp.designated = p.designated;
      mp.user = u.id;
      mp.expiresAt = p.expires_at;
      if (rng() % 2 == 0) {
        for (const auto& obj : pub.objects) {  // a scope names objects the publisher has
          if (rng() % 2 == 0) continue;
          p.scope.push_back(sh::ObjectScope{obj, "", {}});
          mp.scope.push_back(ObjectScope{obj, "", {}});
        }
      }
      sh::Policy out;
      Status made = sharing_->CreatePolicy(pub.id, p, &out);
      ASSERT_TRUE(made.ok()) << made.ToString();
      pub.policies[p.name] = std::move(mp);
    };
    for (auto& pub : m->tenants) {
      for (const auto& c : m->tenants) {
        if (c.id != pub.id && rng() % 3 == 0) make_policy(pub, c.id, false);
      }
      if (pub.kind != TenantKind::Tenant && rng() % 2 == 0) make_policy(pub, 0, true);
    }
    // A deleted user: its sessions fail, policies naming it admit nobody.
    if (rng() % 2 == 0) {
      MUser& u = users[pick(users.size())];
      ASSERT_TRUE(identity_->DeleteUser(u.tenant, u.id).ok());
      ASSERT_TRUE(sharing_->OnUserDeleted(u.tenant, u.id).ok());
      m->deleted_users.insert(u.id);
      for (auto& t : m->tenants) {
        for (auto& [name, role] : t.roles) role.members.erase(u.id);
      }
      creds->erase(u.id);
    }
    m->cross_tenant_roles = rng() % 3 != 0;
    ASSERT_TRUE(sharing_->SetSetting("crossTenantRoles", m->cross_tenant_roles ? "true" : "false").ok());
  }

  int tenants_made_ = 0;
  cotenant::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<sh::Identity> identity_;
  std::unique_ptr<sh::ContextCache> cache_;
  std::unique_ptr<sh::Sharing> sharing_;
  std::unique_ptr<sh::PermissionSets> psets_;
  std::unique_ptr<sh::AuditLog> audit_;
  std::unique_ptr<sh::Usage> usage_;
  std::unique_ptr<sh::Gate> gate_;
};

TEST_F(GateModelTest, RandomWorldsAgreeWithTheReferenceModel) {
  const uint64_t first = EnvOr("COTENANT_GATE_MODEL_SEED", 1);
  const uint64_t seeds = EnvOr("COTENANT_GATE_MODEL_SEEDS", 150);
  const std::vector<std::pair<Op, sh::Api>> ops = {{Op::kGet, sh::Api::kGetRecord},
                                                   {Op::kSearch, sh::Api::kSearchRecords},
                                                   {Op::kAdd, sh::Api::kAddRecord},
                                                   {Op::kUpdate, sh::Api::kUpdateRecord},
                                                   {Op::kDelete, sh::Api::kDeleteRecord}};
  std::map<std::string, int> outcomes;
  std::map<std::string, int> paths;
  std::map<std::string, int> distinguishing;  // calls a wrong reading would answer otherwise
  for (uint64_t seed = first; seed < first + seeds; ++seed) {
    std::mt19937_64 rng(seed);
    ReferenceModel m;
    std::map<uint64_t, sh::Credential> creds;
    BuildWorld(rng, &m, &creds);
    if (HasFatalFailure()) return;
    std::vector<uint64_t> callers;
    for (const auto& [id, cred] : creds) callers.push_back(id);
    for (int i = 0; i < 200; ++i) {
      uint64_t uid = callers[rng() % callers.size()];
      const sh::Credential& cred = creds.at(uid);
      uint64_t home = cred.tenant;
      uint64_t target;
      switch (rng() % 5) {
        case 0:
        case 4: target = home; break;
        case 1: target = 987654321; break;  // no such tenant
        default: target = m.tenants[rng() % m.tenants.size()].id;
      }
      // Plain variables, not a structured binding: the lambda below captures op, and
      // clang before 16 cannot capture a binding.
      const auto& pick = ops[rng() % ops.size()];
      const Op op = pick.first;
      const sh::Api api = pick.second;
      std::string object = rng() % 8 == 0 ? "D" : kObjects[rng() % kObjects.size()];
      auto predict = [&](const Variant& v) {
        // The first path decides; the "fall back" reading tries every path that applies.
        bool admitted = false;
        for (const MAccess& c : m.Candidates(home, uid, target, v)) {
          admitted = c.path != MPath::kDenied && (c.RightsOn(object) & RightOf(op)) != 0;
          if (admitted || !v.fallthrough) break;
        }
        if (!admitted) return Status::Code::kPermissionDenied;
        return m.Find(target)->objects.count(object) == 0 ? Status::Code::kNotFound : Status::Code::kOk;
      };
      MAccess a = m.Resolve(home, uid, target);
      Status::Code want = predict(Variant());
      for (const auto& [name, v] : Variants()) {
        if (predict(v) != want) ++distinguishing[name];
      }
      sh::RecordCall call{cred, api, target, object};
      auto d = gate_->Decide(call);
      ASSERT_TRUE(d.ok()) << "seed " << seed << ": " << d.status().ToString();
      const sh::Decision& got = **d;
      ASSERT_EQ(got.verdict().code(), want)
          << "seed " << seed << " call " << i << ": user " << uid << " of " << home << " " << OpName(op)
          << " " << object << " on " << target << "\n  model: " << a.Describe() << "\n  gate: "
          << got.verdict().ToString() << " (" << got.access().Describe() << ")";
      if (a.path != MPath::kDenied) {
        ASSERT_EQ(got.principal(), a.principal) << "seed " << seed << " call " << i;
      }
      outcomes[std::string(Status::CodeName(want))]++;
      paths[PathName(a.path)]++;
    }
  }
  std::cout << "gate model check: " << seeds << " worlds from seed " << first;
  for (const auto& [name, n] : outcomes) std::cout << ", " << name << " " << n;
  std::cout << "; paths";
  for (const auto& [name, n] : paths) std::cout << " " << name << " " << n;
  std::cout << "; a wrong reading would differ on";
  for (const auto& [name, n] : distinguishing) std::cout << " " << name << " " << n;
  std::cout << "\n";
  // Every outcome and path occurs, and every wrong reading of the rules is caught by
  // some call, so the calls tell the real rules apart from plausible mistakes.
  EXPECT_EQ(outcomes.size(), 3u);
  EXPECT_EQ(paths.size(), 5u);
  for (const auto& [name, v] : Variants()) EXPECT_GT(distinguishing[name], 0) << name;
}

}  // namespace
}  // namespace cotenant::testing
