#include "fuzz/rpc_harness.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <set>
#include <sstream>
#include <string_view>
#include <string>
#include <vector>

#include <capnp/dynamic.h>
#include <capnp/schema.h>
#include <kj/async-io.h>
#include <spdlog/spdlog.h>

#include "common/env.h"
#include "common/mac.h"
#include "fuzz/fuzz_util.h"
#include "rpc/errors.h"
#include "rpc/metrics.h"
#include "rpc/services.h"
#include "rpc/work_pool.h"
#include "schemas/cotenant.capnp.h"
#include "sharing/audit.h"
#include "sharing/context_cache.h"
#include "sharing/gate.h"
#include "sharing/identity.h"
#include "sharing/login_throttle.h"
#include "sharing/quotas.h"
#include "sharing/permission_sets.h"
#include "sharing/sharing.h"
#include "sharing/usage.h"
#include "storage/storage.h"

namespace cotenant::fuzz {
namespace {

constexpr int kResetEvery = 4000;
constexpr char kSecret[] = "fuzz installation secret, 32 bytes!";

// What the KJ loop of this thread needs; made once, outlives every world.
kj::AsyncIoContext& Io() {
  static auto* io = new kj::AsyncIoContext(kj::setupAsyncIo());
  return *io;
}

// A server's worth of parts, with logged-in principals.
struct World {
  std::string dir;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<sharing::Identity> identity;
  std::unique_ptr<sharing::ContextCache> cache;
  std::unique_ptr<sharing::Sharing> sharing;
  std::unique_ptr<sharing::AuditLog> audit;
  std::unique_ptr<sharing::Usage> usage;
  std::unique_ptr<sharing::PermissionSets> psets;
  std::unique_ptr<sharing::LoginThrottle> throttle;
  std::unique_ptr<sharing::Quotas> quotas;
  std::unique_ptr<sharing::Gate> gate;
  std::unique_ptr<rpc::WorkPool> pool;
  rpc::Metrics metrics;
  std::unique_ptr<Mac> mac;
  rpc::ServiceContext ctx;

  // Principals: the bootstrap system admin, and a tenant admin of tenant "acme".
  std::vector<wire::Admin::Client> admins;
  std::vector<wire::Records::Client> records;

  // Never deleted or revoked by the harness.
  std::set<uint64_t> protected_tenants, protected_users;
  std::set<sharing::KeyId> protected_keys;

  // What the server handed out, offered back to later calls.
  std::vector<uint64_t> ids;
  std::vector<std::string> key_ids;
  std::vector<std::string> tokens;
  int inputs = 0;

  ~World() {
    admins.clear();
    records.clear();
    Io().waitScope.poll();
    pool->Join();
    Io().waitScope.poll();
    gate.reset();
    usage.reset();
    audit.reset();
    psets.reset();
    sharing.reset();
    cache.reset();
    identity.reset();
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

std::string Str(kj::StringPtr t) { return std::string(t.cStr(), t.size()); }

void Remember(std::vector<uint64_t>* v, uint64_t x) {
  if (v->size() < 64) v->push_back(x);
  else (*v)[x % v->size()] = x;
}

template <typename T>
void Remember(std::vector<T>* v, T x) {
  if (v->size() < 32) v->push_back(std::move(x));
  else (*v)[v->size() / 2] = std::move(x);
}

std::unique_ptr<World> MakeWorld() {
  auto w = std::make_unique<World>();
  static int generation = 0;
  w->dir = ScratchDir(("rpc" + std::to_string(generation++)).c_str());
  storage::StoreOptions o;
  o.path = w->dir;
  o.block_cache_bytes = 4 << 20;
  o.memtable_bytes = 4 << 20;
  o.min_free_disk_bytes = 0;
  o.background_jobs = 1;
  o.durability = storage::Durability::kGroup;
  CheckOk(storage::Store::Open(o, &w->store), "open store");
  w->identity = std::make_unique<sharing::Identity>(w->store.get());
  std::string key_path;
  CheckOk(sharing::Bootstrap(w->store.get(), w->identity.get(), w->dir, &key_path), "bootstrap");
  std::ifstream kf(key_path);
  std::string admin_key;
  std::getline(kf, admin_key);
  sharing::CacheOptions co;
  co.store_id = "fuzz";
  co.secret = kSecret;
  co.local_capacity = 1000;
  w->cache = std::make_unique<sharing::ContextCache>(co);
  w->sharing = std::make_unique<sharing::Sharing>(w->store.get(), w->identity.get(), w->cache.get());
  w->audit = std::make_unique<sharing::AuditLog>(w->store.get());
  std::vector<std::string> api_names;
  for (int i = 0; i < static_cast<int>(rpc::Api::kCount); ++i) {
    api_names.emplace_back(rpc::ApiName(static_cast<rpc::Api>(i)));
  }
  w->usage = std::make_unique<sharing::Usage>(w->store.get(), std::move(api_names));
  CheckOk(sharing::PermissionSets::Open(w->store.get(), &w->psets), "permission sets");
  w->throttle = std::make_unique<sharing::LoginThrottle>(sharing::LoginThrottleOptions{}, SystemClock());
  sharing::Gate::Parts parts;
  parts.store = w->store.get();
  parts.identity = w->identity.get();
  parts.sharing = w->sharing.get();
  parts.psets = w->psets.get();
  parts.audit = w->audit.get();
  parts.usage = w->usage.get();
  w->gate = std::make_unique<sharing::Gate>(parts);
  // Quotas as cotenantd wires them: setQuota reaches them, the pool enforces concurrent work.
  w->quotas = std::make_unique<sharing::Quotas>(SystemClock());
  rpc::WorkPool::Options po;
  po.threads = 2;
  po.max_queued = 1000;
  sharing::Quotas* quotas = w->quotas.get();
  po.max_jobs = [quotas](storage::TenantId t) { return quotas->ConcurrentWork(t); };
  w->pool = std::make_unique<rpc::WorkPool>(std::move(po));
  w->mac = std::make_unique<Mac>(kSecret);
  rpc::ServiceContext& ctx = w->ctx;
  ctx.store = w->store.get();
  ctx.identity = w->identity.get();
  ctx.sharing = w->sharing.get();
  ctx.audit = w->audit.get();
  ctx.usage = w->usage.get();
  ctx.psets = w->psets.get();
  ctx.gate = w->gate.get();
  ctx.pool = w->pool.get();
  ctx.metrics = &w->metrics;
  ctx.token_mac = w->mac.get();
  ctx.login_throttle = w->throttle.get();
  ctx.quotas = w->quotas.get();

  auto& ws = Io().waitScope;
  uint64_t system_tenant = 0;
  for (const auto& t : w->store->ListTenants()) {
    if (t.kind == storage::TenantKind::kSystem) system_tenant = t.id;
  }
  wire::Cotenant::Client boot = kj::heap<rpc::CotenantImpl>(w->ctx, "127.0.0.1");
  auto login = [&](uint64_t tenant, const std::string& key) {
    auto req = boot.loginRequest();
    req.setTenantId(tenant);
    req.setApiKey(key);
    auto resp = req.send().wait(ws);
    w->protected_users.insert(resp.getUser().getId());
    return resp.getSession();
  };
  wire::Session::Client sys = login(system_tenant, admin_key);
  wire::Admin::Client sys_admin = sys.adminRequest().send().wait(ws).getAdmin();

  // Tenants acme and beta, each with object Things; a tenant admin of acme.
  std::vector<uint64_t> tenants;
  for (const char* name : {"acme", "beta"}) {
    auto req = sys_admin.createTenantRequest();
    req.setName(name);
    req.setKind(wire::TenantKind::TENANT);
    tenants.push_back(req.send().wait(ws).getTenant().getId());
    auto obj = sys_admin.createObjectRequest();
    obj.setTenantId(tenants.back());
    obj.setName("Things");
    struct F {
      const char* name;
      wire::FieldType type;
      bool indexed;
    };
    const F fields[] = {{"name", wire::FieldType::TEXT, true},  {"n", wire::FieldType::INT, true},
                        {"f", wire::FieldType::FLOAT, false},   {"b", wire::FieldType::BOOL, true},
                        {"t", wire::FieldType::TIMESTAMP, true}, {"note", wire::FieldType::TEXT, false}};
    auto list = obj.initFields(std::size(fields));
    for (size_t i = 0; i < std::size(fields); ++i) {
      list[i].setName(fields[i].name);
      list[i].setType(fields[i].type);
      list[i].setIndexed(fields[i].indexed);
    }
    obj.send().wait(ws);
  }
  auto mk = sys_admin.createUserRequest();
  mk.setTenantId(tenants[0]);
  mk.setName("owner");
  mk.setLevel(wire::AdminLevel::TENANT_ADMIN);
  auto made = mk.send().wait(ws);
  std::string owner_key = Str(made.getApiKey());
  wire::Session::Client owner = login(tenants[0], owner_key);
  // Data rights: admin levels grant none. Role "rw" (every right on every object) for
  // the owner and for "svc", the user acme's policy to the system tenant acts as; the
  // policy scopes Things to a row filter and four fields, so the system admin's calls
  // through the context run under a RecordScope.
  auto setup = [](const char* what, auto&& call) {
    try {
      call();
    } catch (const kj::Exception& e) {
      std::fprintf(stderr, "fuzz setup: %s failed: %s\n", what, e.getDescription().cStr());
      std::abort();
    }
  };
  setup("role", [&] {
    auto role = sys_admin.createRoleRequest();
    role.setTenantId(tenants[0]);
    role.setName("rw");
    auto r = role.initRights(1)[0];
    r.setObject("*");
    auto rights = r.initRights();
    rights.setRead(true);
    rights.setAdd(true);
    rights.setUpdate(true);
    rights.setDelete(true);
    role.send().wait(ws);
  });
  auto svc_req = sys_admin.createUserRequest();
  svc_req.setTenantId(tenants[0]);
  svc_req.setName("svc");
  svc_req.setLevel(wire::AdminLevel::USER);
  uint64_t svc = svc_req.send().wait(ws).getUser().getId();
  w->protected_users.insert(svc);
  uint64_t owner_id = made.getUser().getId();
  for (uint64_t member : {owner_id, svc}) {
    setup("role member", [&] {
      auto m = sys_admin.addRoleMemberRequest();
      m.setTenantId(tenants[0]);
      m.setRole("rw");
      m.setMemberTenant(tenants[0]);
      m.setUserId(member);
      m.send().wait(ws);
    });
  }
  setup("policy", [&] {
    auto pol = sys_admin.createPolicyRequest();
    pol.setTenantId(tenants[0]);
    auto info = pol.initPolicy();
    info.setName("to-system");
    info.setDesignated(system_tenant);
    info.setUserId(svc);
    auto scope = info.initScope(1)[0];
    scope.setObject("Things");
    scope.setRowFilter("n > 0 OR n IS NULL");
    auto fields = scope.initFields(4);
    fields.set(0, "name");
    fields.set(1, "n");
    fields.set(2, "b");
    fields.set(3, "t");
    pol.send().wait(ws);
  });
  w->protected_tenants = {0, system_tenant, tenants[0], tenants[1]};
  for (uint64_t u : w->protected_users) {
    for (uint64_t t : {system_tenant, tenants[0]}) {
      std::vector<sharing::KeyInfo> keys;
      if (w->identity->ListKeys(t, u, &keys).ok()) {
        for (const auto& k : keys) {
          w->protected_keys.insert(k.id);
          w->key_ids.push_back(sharing::KeyIdText(k.id));
        }
      }
    }
  }
  w->admins.push_back(kj::mv(sys_admin));
  w->admins.push_back(owner.adminRequest().send().wait(ws).getAdmin());
  w->records.push_back(owner.recordsRequest().send().wait(ws).getRecords());
  // The system admin in acme through the context (refused without a policy: also worth
  // calling).
  auto ctx_req = sys.recordsRequest();
  ctx_req.initContext().setTenantId(tenants[0]);
  w->records.push_back(ctx_req.send().getRecords());
  for (uint64_t t : tenants) w->ids.push_back(t);
  for (uint64_t u : w->protected_users) w->ids.push_back(u);
  w->ids.push_back(system_tenant);
  return w;
}

// ---- Filling parameters from the fuzzer's bytes ------------------------------------

const std::vector<std::string> kObjects = {"Things", "Things", "Things", "Other", "things", ""};
const std::vector<std::string> kFields = {"name", "n", "f", "b", "t", "note", "id", "version",
                                          "createdAt", "modifiedBy", "nope"};
const std::vector<std::string> kNames = {"alice", "bob", "support", "p1", "ps1", "owner",
                                         "acme", "beta", "Things", "a b", ""};
const std::vector<std::string> kCriteria = {
    "", "n = 1", "name STARTS WITH 'a'", "n > 0 AND n < 100", "b = true OR n IS NULL",
    "name IN ('a','b')", "t >= 2024-01-01", "note CONTAINS 'x'", "name MATCHES 'a.*'",
    "NOT (f > 1.5)", "id = 1", "version >= 1", "n NOT IN (1, 2)", "(((n = 1)))"};
const std::vector<std::string> kRegexes = {".*", "records/.*", "admin/.*", "GET", "DELETE",
                                           "POST|PUT", "(", "Things", ""};
const std::vector<std::string> kApis = {"getRecord", "searchRecords", "addRecord", "updateRecord",
                                        "deleteRecord", "getRecords", "createTenant", "listUsers",
                                        "explain"};
const std::vector<std::string> kSettings = {"crossTenantRoles", "auditRetentionDays", "true",
                                            "false", "0", "1", "-1", "yes"};

class Filler {
 public:
  Filler(FuzzedDataProvider* p, World* w) : p_(p), w_(w) {}

  void Struct(capnp::DynamicStruct::Builder b, int depth) {
    auto schema = b.getSchema();
    for (auto f : schema.getNonUnionFields()) Field(b, f, depth);
    auto uf = schema.getUnionFields();
    if (uf.size() > 0) Field(b, uf[p_->ConsumeIntegralInRange<uint32_t>(0, uf.size() - 1)], depth);
  }

 private:
  bool Raw() { return p_->ConsumeIntegralInRange<int>(0, 7) == 0; }

  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[p_->ConsumeIntegralInRange<size_t>(0, v.size() - 1)];
  }

  std::string TextFor(const std::string& field, const std::string& parent) {
    if (Raw()) return p_->ConsumeRandomLengthString(48);
    if (field == "object") return Pick(kObjects);
    if (field == "criteria" || field == "rowFilter") return Pick(kCriteria);
    if (field == "keyId") return w_->key_ids.empty() || p_->ConsumeBool() ? "k1" : Pick(w_->key_ids);
    if (field == "sortBy" || field == "sortBy2" || field == "fields") return Pick(kFields);
    if (field.find("Regex") != std::string::npos) return Pick(kRegexes);
    if (field == "api") return Pick(kApis);
    if (field == "value" || (parent.rfind("setSetting", 0) == 0 && field == "name")) return Pick(kSettings);
    if (field == "name" && (parent == "Field" || parent == "FieldDef")) return Pick(kFields);
    if (field == "text") return Pick(kNames);
    return Pick(kNames);
  }

  uint64_t IdFor() {
    switch (p_->ConsumeIntegralInRange<int>(0, 3)) {
      case 0: return 0;
      case 1: return p_->ConsumeIntegralInRange<uint64_t>(0, 40);
      case 2: return p_->ConsumeIntegral<uint64_t>();
      default: return w_->ids.empty() ? 1 : Pick(w_->ids);
    }
  }

  static bool IsIdField(const std::string& n) {
    if (n == "id" || n == "provider" || n == "designated" || n == "publisher" ||
        n == "designating" || n == "publishedBy" || n == "principal") {
      return true;
    }
    auto ends = [&](std::string_view suffix) {
      return n.size() > suffix.size() && n.compare(n.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    return ends("Id") || ends("Tenant");
  }

  int64_t Time() {
    static const int64_t kTimes[] = {0, -1, 1, 1714564800000000, 4102444800000000,
                                     std::numeric_limits<int64_t>::max(),
                                     std::numeric_limits<int64_t>::min(), 253402300800000000};
    if (Raw()) return p_->ConsumeIntegral<int64_t>();
    if (p_->ConsumeBool()) return NowMicros() + p_->ConsumeIntegralInRange<int64_t>(-86400000000, 86400000000);
    return kTimes[p_->ConsumeIntegralInRange<size_t>(0, std::size(kTimes) - 1)];
  }

  static int64_t NowMicros() { return storage::NowMicros(); }

  double Float() {
    static const double kFloats[] = {0.0, -0.0, 1.5, -1.5, 1e308,
                                     std::numeric_limits<double>::infinity(),
                                     -std::numeric_limits<double>::infinity(),
                                     std::numeric_limits<double>::quiet_NaN()};
    if (Raw()) return p_->ConsumeFloatingPoint<double>();
    return kFloats[p_->ConsumeIntegralInRange<size_t>(0, std::size(kFloats) - 1)];
  }

  size_t Length() {
    if (Raw()) return p_->ConsumeIntegralInRange<size_t>(0, 40);
    return p_->ConsumeIntegralInRange<size_t>(0, 3);
  }

  // A scalar or text for a value of `type` named `name`.
  capnp::DynamicValue::Reader Scalar(capnp::Type type, const std::string& name,
                                     const std::string& parent, std::string* keep) {
    using W = capnp::schema::Type;
    switch (type.which()) {
      case W::VOID: return capnp::VOID;
      case W::BOOL: return p_->ConsumeBool();
      case W::INT8: case W::INT16: case W::INT32: return p_->ConsumeIntegral<int32_t>();
      case W::INT64:
        if (name == "int") return p_->ConsumeBool() ? p_->ConsumeIntegralInRange<int64_t>(-3, 300)
                                                    : p_->ConsumeIntegral<int64_t>();
        return Time();
      case W::UINT8: case W::UINT16: return p_->ConsumeIntegral<uint16_t>();
      case W::UINT32:
        if (Raw()) return p_->ConsumeIntegral<uint32_t>();
        return p_->ConsumeIntegralInRange<uint32_t>(0, name == "numberOfRows" ? 12 : 3);
      case W::UINT64:
        if (name == "expectedVersion") return p_->ConsumeIntegralInRange<uint64_t>(0, 3);
        if (IsIdField(name) || name.empty()) return IdFor();
        return p_->ConsumeIntegral<uint64_t>();
      case W::FLOAT32: return p_->ConsumeFloatingPoint<float>();
      case W::FLOAT64: return Float();
      case W::TEXT:
        *keep = TextFor(name, parent);
        return capnp::Text::Reader(keep->c_str(), keep->size());
      case W::DATA:
        if (!w_->tokens.empty() && !Raw() && p_->ConsumeBool()) *keep = Pick(w_->tokens);
        else *keep = p_->ConsumeRandomLengthString(80);
        return capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(keep->data()), keep->size());
      case W::ENUM: {
        auto e = type.asEnum();
        uint16_t raw = Raw() ? p_->ConsumeIntegral<uint16_t>()
                             : p_->ConsumeIntegralInRange<uint16_t>(0, e.getEnumerants().size() - 1);
        return capnp::DynamicEnum(e, raw);
      }
      default: return capnp::VOID;
    }
  }

  void List(capnp::DynamicList::Builder l, const std::string& name, const std::string& parent,
            int depth) {
    auto elem = l.getSchema().getElementType();
    for (uint32_t i = 0; i < l.size(); ++i) {
      if (elem.isStruct()) {
        Struct(l[i].as<capnp::DynamicStruct>(), depth + 1);
      } else if (elem.isList()) {
        List(l.init(i, depth < 3 ? Length() : 0).as<capnp::DynamicList>(), name, parent, depth + 1);
      } else if (!elem.isInterface() && !elem.isAnyPointer()) {
        std::string keep;
        l.set(i, Scalar(elem, name, parent, &keep));
      }
    }
  }

  void Field(capnp::DynamicStruct::Builder b, capnp::StructSchema::Field f, int depth) {
    if (p_->remaining_bytes() == 0) return;
    std::string name = Str(f.getProto().getName());
    std::string parent = Str(b.getSchema().getUnqualifiedName());
    if (f.getProto().isGroup()) {
      Struct(b.init(f).as<capnp::DynamicStruct>(), depth);
      return;
    }
    auto type = f.getType();
    if (type.isStruct()) {
      if (depth < 4 && p_->ConsumeIntegralInRange<int>(0, 4) != 0) {
        Struct(b.init(f).as<capnp::DynamicStruct>(), depth + 1);
      }
    } else if (type.isList()) {
      List(b.init(f, depth < 4 ? Length() : 0).as<capnp::DynamicList>(), name, parent, depth);
    } else if (!type.isInterface() && !type.isAnyPointer()) {
      std::string keep;
      b.set(f, Scalar(type, name, parent, &keep));
    }
  }

  FuzzedDataProvider* p_;
  World* w_;
};

// ---- Harvesting what the server answered ------------------------------------------

void Harvest(capnp::DynamicStruct::Reader r, World* w, int depth) {
  if (depth > 6) return;
  auto schema = r.getSchema();
  auto visit = [&](capnp::StructSchema::Field f) {
    std::string name = Str(f.getProto().getName());
    auto type = f.getType();
    if (type.isStruct()) {
      if (f.getProto().isGroup() || r.has(f)) Harvest(r.get(f).as<capnp::DynamicStruct>(), w, depth + 1);
    } else if (type.isList()) {
      if (!r.has(f)) return;
      auto l = r.get(f).as<capnp::DynamicList>();
      for (uint32_t i = 0; i < l.size() && i < 8; ++i) {
        if (l.getSchema().getElementType().isStruct()) {
          Harvest(l[i].as<capnp::DynamicStruct>(), w, depth + 1);
        } else if (l.getSchema().getElementType().isUInt64()) {
          Remember(&w->ids, l[i].as<uint64_t>());
        }
      }
    } else if (type.isUInt64() || type.isUInt32()) {
      uint64_t v = r.get(f).as<uint64_t>();
      if (v != 0 && (name == "id" || name.find("Id") != std::string::npos || name == "principal")) {
        Remember(&w->ids, v);
      }
    } else if (type.isText() && name == "keyId") {
      Remember(&w->key_ids, Str(r.get(f).as<capnp::Text>()));
    } else if (type.isData() && name == "continuation") {
      auto d = r.get(f).as<capnp::Data>();
      if (d.size() > 0) Remember(&w->tokens, std::string(d.asChars().begin(), d.size()));
    }
  };
  for (auto f : schema.getNonUnionFields()) visit(f);
  KJ_IF_MAYBE(u, r.which()) { visit(*u); }
}

// A record just added reads back as the add answered it, through the same capability; an
// add that asked for a minimal reply was answered without fields, and the rest matches.
void CheckReadBack(capnp::Capability::Client& cap, const std::string& object, bool minimal,
                   capnp::DynamicStruct::Reader added, kj::WaitScope& ws) {
  auto rec = added.get("record").as<capnp::DynamicStruct>().as<wire::Record>();
  wire::Records::Client records = cap.castAs<wire::Records>();
  auto get = records.getRecordRequest();
  get.setObject(object);
  get.setId(rec.getId());
  try {
    auto answer = get.send().wait(ws);
    auto got = answer.getRecord();
    auto text = [](capnp::List<wire::Field>::Reader fields) {
      std::string out;
      for (auto f : fields) out += Str(kj::str(f)) + " ";
      return out;
    };
    std::string want = text(rec.getFields()), have = text(got.getFields());
    FUZZ_CHECK(!minimal || rec.getFields().size() == 0,
               "a minimal reply to addRecord holds fields: " + want);
    FUZZ_CHECK(got.getId() == rec.getId() && got.getVersion() == rec.getVersion() &&
                   got.getCreatedAt() == rec.getCreatedAt() && (minimal || want == have),
               "record " + std::to_string(rec.getId()) + " added as " + want + " reads back as " +
                   have);
  } catch (const kj::Exception& e) {
    FUZZ_CHECK(false, "record " + std::to_string(rec.getId()) + " added, then: " +
                          e.getDescription().cStr());
  }
}

// What a getRecords call asked, kept before the request is sent.
struct BatchAsk {
  std::string object;
  std::vector<uint64_t> ids;
  std::vector<std::string> fields;
  bool permissions = false;
};

BatchAsk AskOf(capnp::DynamicStruct::Reader params) {
  auto p = params.as<wire::Records::GetRecordsParams>();
  BatchAsk a;
  a.object = Str(p.getObject());
  for (uint64_t id : p.getIds()) a.ids.push_back(id);
  for (auto f : p.getFields()) a.fields.push_back(Str(f));
  a.permissions = p.getRetrievePermissions();
  return a;
}

// Each entry of a getRecords answer is what getRecord answers for that id, through the
// same capability: the same record, or NotFound with the same message.
void CheckBatchMatchesSingles(capnp::Capability::Client& cap, const BatchAsk& ask,
                              capnp::DynamicStruct::Reader answered, kj::WaitScope& ws) {
  auto entries = answered.as<wire::Records::GetRecordsResults>().getRecords();
  FUZZ_CHECK(entries.size() == ask.ids.size(),
             "getRecords answered " + std::to_string(entries.size()) + " entries for " +
                 std::to_string(ask.ids.size()) + " ids");
  wire::Records::Client records = cap.castAs<wire::Records>();
  for (size_t i = 0; i < entries.size() && i < 8; ++i) {
    auto get = records.getRecordRequest();
    get.setObject(ask.object);
    get.setId(ask.ids[i]);
    auto names = get.initFields(static_cast<unsigned>(ask.fields.size()));
    for (unsigned j = 0; j < names.size(); ++j) names.set(j, ask.fields[j]);
    get.setRetrievePermissions(ask.permissions);
    std::string single;
    try {
      single = "record " + Str(kj::str(get.send().wait(ws).getRecord()));
    } catch (const kj::Exception& e) {
      single = "error " + Str(e.getDescription());
    }
    std::string batch = entries[i].isRecord() ? "record " + Str(kj::str(entries[i].getRecord()))
                                              : Str(entries[i].getMissing());
    bool same = entries[i].isRecord() ? batch == single
                                      : single.find(batch) != std::string::npos &&
                                            single.rfind("error ", 0) == 0;
    FUZZ_CHECK(same, "getRecords entry " + std::to_string(i) + " (id " +
                         std::to_string(ask.ids[i]) + ") is " + batch + "; getRecord: " + single);
  }
}

// The calls that would lock the harness out of its own world.
bool Destroys(const World& w, const std::string& method, capnp::DynamicStruct::Reader params) {
  auto u64 = [&](const char* f) { return params.get(f).as<uint64_t>(); };
  if (method == "deleteTenant") return w.protected_tenants.count(u64("tenantId")) > 0;
  if (method == "deleteUser") return w.protected_users.count(u64("userId")) > 0;
  if (method == "revokeApiKey") {
    sharing::KeyId id = 0;
    std::string text = Str(params.get("keyId").as<capnp::Text>());
    return sharing::ParseKeyIdText(text, &id) && w.protected_keys.count(id) > 0;
  }
  return false;
}

// Never destroyed at exit: the engine's own static objects may be gone by then.
World* TheWorld() {
  static World* w = nullptr;
  if (w == nullptr || w->inputs >= kResetEvery) {
    delete w;
    w = MakeWorld().release();
  }
  return w;
}

}  // namespace

void RunRpcInput(RpcSurface surface, const uint8_t* data, size_t size) {
  static bool quiet = [] {
    spdlog::set_level(spdlog::level::err);  // Internal errors are reported by the checks
    return true;
  }();
  (void)quiet;
  World* w = TheWorld();
  ++w->inputs;
  auto& ws = Io().waitScope;
  FuzzedDataProvider p(data, size);
  Filler fill(&p, w);
  capnp::InterfaceSchema iface = surface == RpcSurface::kRecords
                                     ? capnp::Schema::from<wire::Records>()
                                     : capnp::Schema::from<wire::Admin>();
  auto methods = iface.getMethods();
  // Up to 8 calls per input, each on one of the principals.
  for (int call = 0; call < 8 && p.remaining_bytes() > 0; ++call) {
    capnp::Capability::Client cap =
        surface == RpcSurface::kRecords
            ? capnp::Capability::Client(w->records[p.ConsumeIntegralInRange<size_t>(0, w->records.size() - 1)])
            : capnp::Capability::Client(w->admins[p.ConsumeIntegralInRange<size_t>(0, w->admins.size() - 1)]);
    auto method = methods[p.ConsumeIntegralInRange<uint32_t>(0, methods.size() - 1)];
    std::string method_name = Str(method.getProto().getName());
    auto dyn = cap.castAs<capnp::DynamicCapability>(iface);
    auto req = dyn.newRequest(method);
    fill.Struct(req, 0);
    if (Destroys(*w, method_name, req.asReader())) continue;
    // send() consumes the request: keep what the checks need first.
    std::string object;
    bool minimal = false;
    if (method_name == "addRecord") {
      object = Str(req.asReader().get("object").as<capnp::Text>());
      minimal = req.asReader().get("minimalReply").as<bool>();
    }
    BatchAsk ask;
    if (method_name == "getRecords") ask = AskOf(req.asReader());
    static const bool trace = std::getenv("COTENANT_FUZZ_TRACE") != nullptr;
    try {
      auto resp = req.send().wait(ws);
      Harvest(resp, w, 0);
      if (method_name == "addRecord") CheckReadBack(cap, object, minimal, resp, ws);
      if (method_name == "getRecords") CheckBatchMatchesSingles(cap, ask, resp, ws);
      if (trace) std::fprintf(stderr, "call %s: ok\n", method_name.c_str());
    } catch (const kj::Exception& e) {
      std::string d = e.getDescription().cStr();
      if (trace) std::fprintf(stderr, "call %s: %s\n", method_name.c_str(), d.c_str());
      // Every error is one of the typed errors meant for the client ("cotenant:<Code>: "),
      // never Internal (an exception escaping storage or sharing becomes Internal
      // "unexpected exception"). The text itself may echo the fuzzer's names, so only its
      // type is checked.
      FUZZ_CHECK(d.rfind("cotenant:", 0) == 0, method_name + ": untyped error: " + d);
      FUZZ_CHECK(rpc::CodeOf(e) != Status::Code::kInternal, method_name + ": " + d);
    }
  }
}

}  // namespace cotenant::fuzz
