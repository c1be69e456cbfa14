// The fixture of the randomized model test (model_test.cc): one real cotenantd, the world
// built in it through the SDK (model_world.cc), and the random calls checked against the
// reference model (reference_model.h, model_test.cc).

#ifndef COTENANT_TESTS_MODEL_WORLD_H_
#define COTENANT_TESTS_MODEL_WORLD_H_

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/e2e_util.h"
#include "tests/reference_model.h"

namespace cotenant::testing {

constexpr uint64_t kDefaultSeed = 20240611;
constexpr int kDefaultOps = 5000;
constexpr uint64_t kSystemTenant = 1;

class ModelTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // ---- randomness ----
  uint64_t Uniform(uint64_t n) { return n == 0 ? 0 : std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  bool Chance(double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p; }
  template <typename C>
  auto& Pick(C& c) {
    auto it = c.begin();
    std::advance(it, static_cast<long>(Uniform(c.size())));
    return *it;
  }

  // ---- building the world (model_world.cc) ----
  std::vector<FieldDef> Fields();
  std::vector<ObjectRights> WireRights(const std::map<std::string, uint8_t>& m);
  uint8_t RandomMask();
  std::map<std::string, uint8_t> RandomRights();
  std::vector<ObjectScope> RandomScope(const MTenant& t);
  int64_t SoonExpiry();
  int64_t RandomExpiry();
  std::vector<size_t> LiveUsers(const MTenant& t) const;
  std::pair<Client*, uint64_t> AdminOf(MTenant& t);
  void BuildWorld();
  void EnsurePolicy(MTenant& t, uint64_t designated, bool global, int64_t expiresAt,
                    uint64_t user = 0, const std::vector<ObjectScope>& scope = {});
  size_t NewUser(MTenant& t, const std::string& name);
  void RoleFor(MTenant& t, const std::map<std::string, uint8_t>& rights, bool cross,
               const MUser& user);
  void SetCrossTenantRoles(bool on);
  void ProbeFinerPoints();
  uint64_t UserWithRole(MTenant& t, uint8_t rights);
  void PinFinerPoints();
  uint64_t RandomPolicyUser(const MTenant& t);
  void CreatePolicyExpectOk(MTenant& t, uint64_t designated, bool global);

  // ---- random choices over the world (model_world.cc) ----
  uint64_t UnknownTenant();
  std::vector<uint64_t> Reachable(const MUser& u);
  uint64_t RandomRecordId(const MTenant* target, const std::string& object);
  void RandomDataOp(int op);  // one random record call (DataCall)

  // ---- the random calls, checked against the model (model_test.cc) ----
  void Disagree(int op, const std::string& what);
  void AdminOp(int op);
  void DataCall(int op, MUser& u, bool with_ctx, uint64_t target, Op kind,
                const std::string& object, bool fresh_ctx);
  void PrintSummary(double seconds);
  int Count(const std::string& key) const;

  Cotenantd server_;
  std::unique_ptr<Client> sys_;
  uint64_t seed_ = kDefaultSeed;
  int ops_ = kDefaultOps;
  std::mt19937_64 rng_;

  ReferenceModel model_;  // the world as the model knows it, and its predictions

  std::vector<MUser> users_;
  std::vector<uint64_t> all_ids_;
  int next_role_ = 0;
  int next_policy_ = 0;
  int next_user_ = 0;
  int uncertain_ = 0;       // calls too close to a policy's expiry to judge
  std::map<std::pair<uint64_t, uint64_t>, TenantContext> open_ctx_;

  int calls_ = 0;
  int admin_ops_ = 0;
  int disagreements_ = 0;
  int ctx_constructions_ = 0;
  int reused_ctx_ = 0;
  int revoked_open_ctx_ = 0;  // calls through an open TenantContext the model now denies
  int allowed_reads_ = 0;
  std::map<std::string, int> outcomes_;
  std::map<std::string, int> op_counts_;
  std::map<std::string, int> admin_counts_;
  std::map<std::string, int> distinguishing_;  // variant -> calls it would answer otherwise
};

}  // namespace cotenant::testing

#endif  // COTENANT_TESTS_MODEL_WORLD_H_
