// rpc_bench: raw Cap'n Proto connections to cotenantd, the setup calls (tenants, users,
// the Items object, roles, bulk loads) and the measuring loop (Drive).

#include "rpc_bench.h"

namespace rpc_bench {

// ---- Client connections --------------------------------------------------------------------

kj::Own<Connection> Connect(kj::AsyncIoContext& io, uint16_t port) {
  auto address = Await(io.provider->getNetwork().parseAddress("127.0.0.1", port), io.waitScope,
                       "resolve 127.0.0.1");
  auto conn = kj::heap<Connection>();
  conn->stream = Await(address->connect(), io.waitScope, "connect to port " + std::to_string(port));
  conn->client = kj::heap<capnp::TwoPartyClient>(*conn->stream);
  return conn;
}

// Random text for record fields.
std::string RandomText(std::mt19937_64& rng, size_t n) {
  static const char kAlpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
  std::string s(n, ' ');
  for (auto& c : s) c = kAlpha[rng() % (sizeof(kAlpha) - 1)];
  return s;
}

// Fills one record of ~200 bytes: name (16 chars), payload (170 chars), n.
void FillRecord(capnp::List<wire::Field>::Builder fields, kj::StringPtr name,
                kj::StringPtr payload, int64_t n) {
  fields[0].setName("name");
  fields[0].initValue().setText(name);
  fields[1].setName("payload");
  fields[1].initValue().setText(payload);
  fields[2].setName("n");
  fields[2].initValue().setInt(n);
}

// Logs in on `conn` and returns the session's Admin capability.
wire::Admin::Client AdminOf(kj::AsyncIoContext& io, Connection& conn, uint64_t tenant,
                            const std::string& key, const std::string& who) {
  auto& ws = io.waitScope;
  auto login = conn.client->bootstrap().castAs<wire::Cotenant>().loginRequest();
  login.setTenantId(tenant);
  login.setApiKey(key.c_str());
  auto session = Await(login.send(), ws, "login as " + who).getSession();
  return Await(session.adminRequest().send(), ws, "session.admin of " + who).getAdmin();
}

uint64_t CreateTenant(kj::AsyncIoContext& io, wire::Admin::Client& admin, const std::string& name) {
  auto req = admin.createTenantRequest();
  req.setName(name.c_str());
  req.setKind(wire::TenantKind::TENANT);
  req.setProvider(0);
  return Await(req.send(), io.waitScope, "admin.createTenant " + name).getTenant().getId();
}

BenchUser CreateUser(kj::AsyncIoContext& io, wire::Admin::Client& admin, uint64_t tenant,
                     const std::string& name, wire::AdminLevel level) {
  auto req = admin.createUserRequest();
  req.setTenantId(tenant);
  req.setName(name.c_str());
  req.setLevel(level);
  auto r = Await(req.send(), io.waitScope, "admin.createUser " + name);
  BenchUser u{r.getUser().getId(), r.getApiKey().cStr()};
  if (u.key.empty()) Fail("admin.createUser " + name + " returned no API key");
  return u;
}

// Declares object Items (name:text indexed required, payload:text, n:int); tenant 0 = the
// caller's own.
void CreateItems(kj::AsyncIoContext& io, wire::Admin::Client& admin, uint64_t tenant) {
  auto req = admin.createObjectRequest();
  req.setTenantId(tenant);
  req.setName("Items");
  auto defs = req.initFields(3);
  defs[0].setName("name");
  defs[0].setType(wire::FieldType::TEXT);
  defs[0].setIndexed(true);
  defs[0].setRequired(true);
  defs[1].setName("payload");
  defs[1].setType(wire::FieldType::TEXT);
  defs[2].setName("n");
  defs[2].setType(wire::FieldType::INT);
  Await(req.send(), io.waitScope, "admin.createObject Items");
}

// Record calls need role rights (admins included): creates role `role` of `tenant` with
// `rights` (a wire::Rights flag set, by name) on Items and makes `user` (of the same
// tenant) a member. tenant 0 = the caller's own.
void GrantOnItems(kj::AsyncIoContext& io, wire::Admin::Client& admin, uint64_t tenant,
                  uint64_t member_tenant, const std::string& role, uint64_t user, bool read,
                  bool add, bool update, bool del) {
  auto create = admin.createRoleRequest();
  create.setTenantId(tenant);
  create.setName(role.c_str());
  create.setCrossTenant(false);
  auto rights = create.initRights(1);
  rights[0].setObject("Items");
  auto r = rights[0].initRights();
  r.setRead(read);
  r.setAdd(add);
  r.setUpdate(update);
  r.setDelete(del);
  Await(create.send(), io.waitScope, "admin.createRole " + role);
  auto member = admin.addRoleMemberRequest();
  member.setTenantId(tenant);
  member.setRole(role.c_str());
  member.setMemberTenant(member_tenant);
  member.setUserId(user);
  Await(member.send(), io.waitScope, "admin.addRoleMember " + role);
}

// As the system admin: a new tenant and a tenant admin in it; then, as that tenant admin,
// the object Items and a role with every right on it for the tenant admin itself.
BenchTenant SetUpTenant(kj::AsyncIoContext& io, Cotenantd& server, const std::string& name) {
  auto conn = Connect(io, server.port());
  auto admin = AdminOf(io, *conn, kSystemTenant, server.admin_key(), "the system admin");
  BenchTenant tenant;
  tenant.id = CreateTenant(io, admin, name);
  BenchUser user = CreateUser(io, admin, tenant.id, "bench-admin", wire::AdminLevel::TENANT_ADMIN);
  tenant.key = user.key;

  // The object and the role are made by the tenant admin, through its own login.
  auto user_admin = AdminOf(io, *conn, tenant.id, tenant.key, "the tenant admin");
  CreateItems(io, user_admin, 0);
  GrantOnItems(io, user_admin, 0, tenant.id, "bench-items", user.id, true, true, true, true);
  return tenant;
}

RecordsConnection OpenRecords(kj::AsyncIoContext& io, uint16_t port, const BenchTenant& tenant) {
  RecordsConnection rc;
  rc.conn = Connect(io, port);
  auto login = rc.conn->client->bootstrap().castAs<wire::Cotenant>().loginRequest();
  login.setTenantId(tenant.id);
  login.setApiKey(tenant.key.c_str());
  // Pipelined: login and records() in one round trip.
  auto logged_in = login.send();
  auto records = logged_in.getSession().recordsRequest().send();
  rc.records = Await(kj::mv(records), io.waitScope, "session.records").getRecords();
  Await(kj::mv(logged_in), io.waitScope, "login as the tenant admin");
  return rc;
}

// Adds `count` records with addRecords batches of kBatch, `window` batches in flight.
// Returns the ids, in order.
std::vector<uint64_t> Load(kj::AsyncIoContext& io, wire::Records::Client& records, size_t count,
                           uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> payloads;
  for (int i = 0; i < 256; ++i) payloads.push_back(RandomText(rng, 170));
  std::vector<uint64_t> ids(count, 0);
  constexpr size_t kWindow = 4;
  size_t next = 0;
  bool failed = false;

  kj::Function<kj::Promise<void>()> send_next;
  send_next = [&]() -> kj::Promise<void> {
    if (next >= count || failed) return kj::READY_NOW;
    size_t first = next;
    size_t n = std::min(kBatch, count - first);
    next += n;
    auto req = records.addRecordsRequest(capnp::MessageSize{n * 64 + 16, 0});
    req.setObject("Items");
    auto list = req.initRecords(static_cast<unsigned>(n));
    for (size_t i = 0; i < n; ++i) {
      std::string name = RandomText(rng, 16);
      const std::string& payload = payloads[(first + i) % payloads.size()];
      FillRecord(list.init(static_cast<unsigned>(i), 3), kj::StringPtr(name.c_str(), name.size()),
                 kj::StringPtr(payload.c_str(), payload.size()), static_cast<int64_t>(first + i));
    }
    return req.send()
        .then([&, first, n](capnp::Response<wire::Records::AddRecordsResults>&& r) {
          auto got = r.getIds();
          if (got.size() != n) {
            KJ_FAIL_REQUIRE("addRecords returned the wrong number of ids", got.size(), n);
          }
          for (size_t i = 0; i < n; ++i) ids[first + i] = got[static_cast<unsigned>(i)];
          return send_next();
        },
              [&](kj::Exception&& e) -> kj::Promise<void> {
                failed = true;
                return kj::mv(e);
              });
  };
  kj::Vector<kj::Promise<void>> lanes;
  for (size_t i = 0; i < kWindow; ++i) lanes.add(send_next());
  Await(kj::joinPromises(lanes.releaseAsArray()), io.waitScope,
        "addRecords (batches of " + std::to_string(kBatch) + ")");
  return ids;
}

// ---- The measuring loop --------------------------------------------------------------------

// Sums over one or more measured windows; the figures are derived from them.
// Keeps `slots` calls in flight: each slot issues its next call when its previous one
// answered. Calls answered in [warm-up end, end) are counted; nothing is issued after the
// end, and the run returns when every slot has drained. CPU of the client and of the
// server process `server` is sampled at both edges of the window.
CpuSample SampleCpu(pid_t server) {
  return CpuSample{Clock::now(), ClientCpuSeconds(), CpuTicks(server, server), CpuTicks(server),
                   MachineBusyTicks()};
}

RunResult Between(const CpuSample& first, const CpuSample& last, uint64_t calls, double seconds,
                  double latency_sum) {
  RunResult r;
  double tick = 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  r.calls = calls;
  r.seconds = seconds;
  r.latency_sum = latency_sum;
  r.cpu_window = Seconds(first.at, last.at);
  r.client_cpu = last.client - first.client;
  r.loop_cpu = static_cast<double>(last.loop - first.loop) * tick;
  // Process and thread counters are read at slightly different instants: the difference
  // can dip below zero in one window, so it is kept signed and only clamped for display.
  r.other_cpu = (static_cast<double>(last.total - first.total) -
                 static_cast<double>(last.loop - first.loop)) * tick;
  r.machine_cpu = static_cast<double>(last.machine - first.machine) * tick;
  return r;
}

RunResult Drive(kj::WaitScope& ws, size_t slots, Issue& issue, double warmup, double seconds,
                pid_t server, const std::string& what) {
  using Sample = CpuSample;
  auto sample = [server] { return SampleCpu(server); };
  struct State {
    Clock::time_point measure_from, stop_at;
    uint64_t calls = 0;
    double latency_sum = 0;
    bool failed = false;
    std::optional<Sample> first, last;
  } st;
  auto start = Clock::now();
  st.measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
  st.stop_at = st.measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));

  kj::Function<kj::Promise<void>(size_t)> loop;
  loop = [&](size_t slot) -> kj::Promise<void> {
    auto t0 = Clock::now();
    if (t0 >= st.stop_at || st.failed) {
      if (!st.last && st.first) st.last = sample();
      return kj::READY_NOW;
    }
    return issue(slot).then(
        [&, slot, t0]() {
          auto t1 = Clock::now();
          if (t1 >= st.measure_from && t1 < st.stop_at) {
            if (!st.first) st.first = sample();
            ++st.calls;
            st.latency_sum += std::chrono::duration<double>(t1 - t0).count();
          }
          return loop(slot);
        },
        [&](kj::Exception&& e) -> kj::Promise<void> {
          st.failed = true;
          return kj::mv(e);
        });
  };
  kj::Vector<kj::Promise<void>> chains;
  for (size_t s = 0; s < slots; ++s) chains.add(loop(s));
  Await(kj::joinPromises(chains.releaseAsArray()), ws, what);

  if (!st.first || !st.last || st.calls == 0) Fail(what + ": no call completed in the measured window");
  return Between(*st.first, *st.last, st.calls, seconds, st.latency_sum);
}

}  // namespace rpc_bench
