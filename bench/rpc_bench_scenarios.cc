// rpc_bench: the measured phases against cotenantd: throughput (against the bare and Redis
// baselines), getRecord through a TenantContext, and memory after a bulk load.

#include "rpc_bench.h"

namespace rpc_bench {
namespace {

// One line per run: throughput, latency, where the CPU went (share of one core) and the
// CPU cost of one call on each side, which contention from other processes does not skew.
void PrintRun(const char* mode, const char* call, const RunResult& r) {
  std::printf("  %-34s %-10s %7.0f/s %8.1f us | cpu%%: client %3.0f, server loop %3.0f + other "
              "%3.0f, rest of machine %3.0f | cpu us/call: client %5.1f, server %5.1f\n",
              mode, call, r.calls_per_sec(), r.mean_latency_us(), r.client_share() * 100,
              r.loop_share() * 100, r.other_share() * 100, r.rest_share() * 100,
              r.client_us_per_call(), r.server_us_per_call());
  std::fflush(stdout);
}

}  // namespace

void RunThroughput(const Options& o, const std::string& binary, const std::string& self) {
  ServerFlags flags{o.block_cache_mb, o.memtable_mb, o.server_threads, o.rpc_threads};
  Cotenantd server(binary, flags, /*with_http=*/false);
  uint16_t bare_port = FreePort();
  Child bare("bare server", {self, "--bare-server", std::to_string(bare_port)}, "/dev/null");
  WaitListening(bare, bare_port);

  std::printf("servers: %s\n         %s --bare-server %u\n", server.command().c_str(), self.c_str(),
              bare_port);

  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  BenchTenant tenant = SetUpTenant(io, server, "rpc-bench");

  size_t conns = std::max<size_t>(o.connections, 1);
  std::vector<RecordsConnection> records;
  std::vector<kj::Own<Connection>> bare_conns;
  std::vector<Bare::Client> bares;
  for (size_t i = 0; i < conns; ++i) {
    records.push_back(OpenRecords(io, server.port(), tenant));
    bare_conns.push_back(Connect(io, bare_port));
    bares.push_back(bare_conns.back()->client->bootstrap().castAs<Bare>());
  }

  auto t0 = Clock::now();
  std::vector<uint64_t> ids = Load(io, records[0].records, o.records, 1);
  double load_s = Seconds(t0, Clock::now());
  std::printf("preloaded %zu records of ~200 bytes with addRecords (batches of %zu, 4 in flight): "
              "%.1f s, %.0f records/s\n",
              o.records, kBatch, load_s, static_cast<double>(o.records) / load_s);
  std::fflush(stdout);

  std::mt19937_64 rng(7);
  std::vector<std::string> payloads;
  for (int i = 0; i < 64; ++i) payloads.push_back(RandomText(rng, 170));
  uint64_t add_counter = 0;
  size_t in_use = 1;  // connections the current mode spreads its slots over

  // The three calls. Size hints keep each request in one small first segment.
  Issue bare_get = [&](size_t slot) -> kj::Promise<void> {
    uint64_t id = rng();
    auto req = bares[slot % in_use].getRequest(capnp::MessageSize{4, 0});
    req.setId(id);
    return req.send().then([id](capnp::Response<Bare::GetResults>&& r) {
      auto payload = r.getPayload();
      uint64_t echoed = 0;
      if (payload.size() == kBarePayloadBytes) std::memcpy(&echoed, payload.begin(), sizeof(echoed));
      KJ_REQUIRE(payload.size() == kBarePayloadBytes && echoed == id, "bad bare answer",
                 payload.size());
    });
  };
  Issue get_record = [&](size_t slot) -> kj::Promise<void> {
    uint64_t id = ids[rng() % ids.size()];
    auto req = records[slot % in_use].records.getRecordRequest(capnp::MessageSize{8, 0});
    req.setObject("Items");
    req.setId(id);
    return req.send().then([id](capnp::Response<wire::Records::GetRecordResults>&& r) {
      auto rec = r.getRecord();
      KJ_REQUIRE(rec.getId() == id && rec.getFields().size() == 3,
                 "getRecord answered another record", id, rec.getId(), rec.getFields().size());
    });
  };
  Issue add_record = [&](size_t slot) -> kj::Promise<void> {
    uint64_t n = add_counter++;
    auto req = records[slot % in_use].records.addRecordRequest(capnp::MessageSize{96, 0});
    req.setObject("Items");
    char name[17];
    std::snprintf(name, sizeof(name), "add-%012llu", static_cast<unsigned long long>(n));
    const std::string& payload = payloads[n % payloads.size()];
    FillRecord(req.initFields(3), name, kj::StringPtr(payload.c_str(), payload.size()),
               static_cast<int64_t>(n));
    return req.send().then([](capnp::Response<wire::Records::AddRecordResults>&& r) {
      auto rec = r.getRecord();
      KJ_REQUIRE(rec.getId() != 0 && rec.getVersion() == 1, "addRecord answered a bad record",
                 rec.getId(), rec.getVersion());
    });
  };

  // getRecords of kBatchIds random ids in one call: records/s = calls/s x kBatchIds.
  Issue get_records = [&](size_t slot) -> kj::Promise<void> {
    auto req = records[slot % in_use].records.getRecordsRequest(capnp::MessageSize{8 + kBatchIds, 0});
    req.setObject("Items");
    auto list = req.initIds(kBatchIds);
    for (unsigned i = 0; i < kBatchIds; ++i) list.set(i, ids[rng() % ids.size()]);
    return req.send().then([](capnp::Response<wire::Records::GetRecordsResults>&& r) {
      auto got = r.getRecords();
      KJ_REQUIRE(got.size() == kBatchIds, "getRecords answered a wrong count", got.size());
      for (auto entry : got) {
        KJ_REQUIRE(entry.isRecord() && entry.getRecord().getFields().size() == 3,
                   "getRecords answered a bad entry");
      }
    });
  };

  struct Mode {
    std::string name;
    size_t slots, connections;
    RunResult bare, get, add, batch;
  };
  std::vector<Mode> modes = {
      {"1 in flight", 1, 1, {}, {}, {}, {}},
      {std::to_string(o.inflight) + " in flight, 1 connection", o.inflight, 1, {}, {}, {}, {}},
      {std::to_string(conns) + " connections x 1 in flight", conns, conns, {}, {}, {}, {}},
  };
  // Other processes share the 2 cores and come and go, so the three calls of a mode are
  // measured in alternating slices (bare, get, add, bare, ...) that add up to --seconds
  // each: contention then falls on all three alike and their ratios stay fair.
  int slices = std::max(1, static_cast<int>(std::lround(o.seconds / o.slice)));
  double slice = o.seconds / slices;
  std::printf("each call: %.1f s warm-up, then %d alternating slices of %.2f s (%.1f s measured); "
              "mean latency = issue to checked answer\n",
              o.warmup, slices, slice, o.seconds);
  std::printf("cpu%% = share of one core over the measured time (%ld cores in all); server loop "
              "= the server's RPC event-loop thread\n\n",
              sysconf(_SC_NPROCESSORS_ONLN));
  for (auto& m : modes) {
    in_use = m.connections;
    // Let flushes and compactions of the previous mode finish first.
    WaitQuiet(server.pid(), 30);
    Drive(ws, m.slots, bare_get, 0, o.warmup, bare.pid(), "bare get (warm-up), " + m.name);
    Drive(ws, m.slots, get_record, 0, o.warmup, server.pid(), "getRecord (warm-up), " + m.name);
    Drive(ws, m.slots, add_record, 0, o.warmup, server.pid(), "addRecord (warm-up), " + m.name);
    Drive(ws, m.slots, get_records, 0, o.warmup, server.pid(), "getRecords (warm-up), " + m.name);
    for (int i = 0; i < slices; ++i) {
      m.bare.Add(Drive(ws, m.slots, bare_get, 0, slice, bare.pid(), "bare get, " + m.name));
      m.get.Add(Drive(ws, m.slots, get_record, 0, slice, server.pid(), "getRecord, " + m.name));
      m.add.Add(Drive(ws, m.slots, add_record, 0, slice, server.pid(), "addRecord, " + m.name));
      m.batch.Add(Drive(ws, m.slots, get_records, 0, slice, server.pid(), "getRecords, " + m.name));
    }
    PrintRun(m.name.c_str(), "bare get", m.bare);
    PrintRun(m.name.c_str(), "getRecord", m.get);
    PrintRun(m.name.c_str(), "addRecord", m.add);
    PrintRun(m.name.c_str(), "getRecords x16", m.batch);
    server.CheckAlive();
  }

  std::printf("\n%-32s | %12s | %12s | %6s | %12s | %6s\n", "mode (calls/s)", "bare", "getRecord",
              "ratio", "addRecord", "ratio");
  std::printf("%s\n", std::string(32 + 3 + 12 + 3 + 12 + 3 + 6 + 3 + 12 + 3 + 6, '-').c_str());
  for (auto& m : modes) {
    std::printf("%-32s | %12.0f | %12.0f | %5.2fx | %12.0f | %5.2fx\n", m.name.c_str(),
                m.bare.calls_per_sec(), m.get.calls_per_sec(), m.get.calls_per_sec() / m.bare.calls_per_sec(),
                m.add.calls_per_sec(), m.add.calls_per_sec() / m.bare.calls_per_sec());
  }
  std::printf("\n%-32s | %12s | %14s | %22s\n", "mode", "getRecord/s", "getRecords x16/s",
              "records/s (x getRecord)");
  for (auto& m : modes) {
    double rps = m.batch.calls_per_sec() * kBatchIds;
    std::printf("%-32s | %12.0f | %16.0f | %12.0f (%5.2fx)\n", m.name.c_str(), m.get.calls_per_sec(),
                m.batch.calls_per_sec(), rps, rps / m.get.calls_per_sec());
  }
  std::printf("\n%-32s | %12s | %12s | %12s\n", "mode (mean latency, us)", "bare", "getRecord",
              "addRecord");
  for (auto& m : modes) {
    std::printf("%-32s | %12.1f | %12.1f | %12.1f\n", m.name.c_str(), m.bare.mean_latency_us(),
                m.get.mean_latency_us(), m.add.mean_latency_us());
  }
  std::printf("\n%-32s | %12s | %12s | %12s\n", "mode (server CPU us per call)", "bare",
              "getRecord", "addRecord");
  for (auto& m : modes) {
    std::printf("%-32s | %12.1f | %12.1f | %12.1f\n", m.name.c_str(), m.bare.server_us_per_call(),
                m.get.server_us_per_call(), m.add.server_us_per_call());
  }
  double worst = 1e9;
  for (auto& m : modes) worst = std::min(worst, m.get.calls_per_sec() / m.bare.calls_per_sec());
  std::printf("\ntarget getRecord >= 0.60x bare: lowest ratio %.2fx -> %s\n", worst,
              worst >= 0.6 ? "met" : "NOT met");

  // Redis with the same shapes, when it is installed: the figure the issue compares with.
  if (o.redis && OnPath("redis-server") && OnPath("redis-benchmark")) {
    uint16_t redis_port = FreePort();
    Child redis("redis-server",
                {"/usr/bin/env", "redis-server", "--port", std::to_string(redis_port), "--bind",
                 "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "no"},
                "/dev/null");
    WaitListening(redis, redis_port);
    auto scaled = [&](double rate) { return static_cast<uint64_t>(rate * o.seconds); };
    RedisRow one = RedisBench(redis_port, 1, 1, scaled(15000));
    RedisRow window = RedisBench(redis_port, 1, static_cast<int>(o.inflight), scaled(400000));
    RedisRow many = RedisBench(redis_port, static_cast<int>(conns), 1, scaled(80000));
    RedisRow many_pipelined =
        RedisBench(redis_port, static_cast<int>(conns), static_cast<int>(kBatchIds), scaled(600000));
    RedisRow one_pipelined = RedisBench(redis_port, 1, static_cast<int>(kBatchIds), scaled(400000));
    redis.Stop();
    std::printf("\nredis-benchmark against redis-server on the same machine (200-byte values):\n");
    std::printf("%-32s | %12s | %12s | %18s | %18s\n", "mode (calls/s)", "redis GET", "redis SET",
                "getRecord / GET", "addRecord / SET");
    auto row = [](const std::string& name, const RedisRow& r, const Mode& m) {
      std::printf("%-32s | %12.0f | %12.0f | %17.2fx | %17.2fx\n", name.c_str(), r.get, r.set,
                  m.get.calls_per_sec() / r.get, m.add.calls_per_sec() / r.set);
    };
    row("1 in flight (-c 1)", one, modes[0]);
    row(std::to_string(o.inflight) + " pipelined (-c 1 -P " + std::to_string(o.inflight) + ")",
        window, modes[1]);
    row(std::to_string(conns) + " connections (-c " + std::to_string(conns) + ")", many, modes[2]);
    // getRecords of 16 ids against 16 pipelined GETs, in records (values) per second.
    std::printf("\n%-40s | %14s | %18s | %8s\n", "records/s", "redis GET -P 16",
                "getRecords x16", "ratio");
    auto batch_row = [](const std::string& name, double redis_get, const Mode& m) {
      double rps = m.batch.calls_per_sec() * kBatchIds;
      std::printf("%-40s | %14.0f | %18.0f | %7.2fx\n", name.c_str(), redis_get, rps, rps / redis_get);
    };
    batch_row("1 connection, 1 call (-c 1 -P 16)", one_pipelined.get, modes[0]);
    batch_row(std::to_string(conns) + " connections x 1 call (-c " + std::to_string(conns) + " -P 16)",
              many_pipelined.get, modes[2]);
  } else {
    std::printf("\nredis-server/redis-benchmark not run (%s); orientation figure: Redis GET with "
                "50 clients ~80k/s\n",
                o.redis ? "not on PATH" : "--no-redis");
  }

  std::printf("\ncotenantd after this phase: VmRSS %.1f MiB, VmHWM %.1f MiB (%zu records)\n",
              StatusMiB(server.pid(), "VmRSS"), StatusMiB(server.pid(), "VmHWM"),
              ids.size() + add_counter);

  // Close the clients before the servers go.
  bares.clear();
  bare_conns.clear();
  records.clear();
  bool clean = server.Stop();
  std::printf("cotenantd shut down %s\n", clean ? "cleanly" : "with an error");
  if (!clean) Fail("cotenantd did not shut down cleanly");
}

// getRecord through a TenantContext (warm cache) against getRecord in the caller's own
// tenant: the same user, the same connection, records of the same size, alternating slices.
void RunContext(const Options& o, const std::string& binary) {
  ServerFlags flags{o.block_cache_mb, o.memtable_mb, o.server_threads, o.rpc_threads};
  Cotenantd server(binary, flags, /*with_http=*/false);
  std::printf("\n== context: getRecord through a TenantContext vs in the caller's own tenant ==\n");
  std::printf("server: %s\n", server.command().c_str());
  std::fflush(stdout);

  auto io = kj::setupAsyncIo();
  auto& ws = io.waitScope;
  auto admin_conn = Connect(io, server.port());
  auto admin = AdminOf(io, *admin_conn, kSystemTenant, server.admin_key(), "the system admin");
  uint64_t publisher = CreateTenant(io, admin, "ctx-publisher");
  uint64_t consumer = CreateTenant(io, admin, "ctx-consumer");
  CreateItems(io, admin, publisher);
  CreateItems(io, admin, consumer);
  // P: a loader (read, add) and the policy's principal (read only).
  BenchUser loader = CreateUser(io, admin, publisher, "pub-loader", wire::AdminLevel::USER);
  GrantOnItems(io, admin, publisher, publisher, "items-writer", loader.id, true, true, false, false);
  BenchUser principal = CreateUser(io, admin, publisher, "share-principal", wire::AdminLevel::USER);
  GrantOnItems(io, admin, publisher, publisher, "items-reader", principal.id, true, false, false,
               false);
  // C: the consumer, with its own role on its own Items (read, add).
  BenchUser reader = CreateUser(io, admin, consumer, "consumer", wire::AdminLevel::USER);
  GrantOnItems(io, admin, consumer, consumer, "items-rw", reader.id, true, true, false, false);
  // P's policy designating C, acting as the read-only principal, no scope.
  auto policy = admin.createPolicyRequest();
  policy.setTenantId(publisher);
  auto info = policy.initPolicy();
  info.setName("share-with-consumer");
  info.setDesignated(consumer);
  info.setGlobal(false);
  info.setUserId(principal.id);
  info.setExpiresAt(0);
  Await(policy.send(), ws, "admin.createPolicy");
  std::printf("tenants: publisher P=%llu, consumer C=%llu; policy 'share-with-consumer' of P "
              "designates C as user %llu (role items-reader: read on Items); consumer user %llu "
              "(role items-rw in C)\n",
              static_cast<unsigned long long>(publisher), static_cast<unsigned long long>(consumer),
              static_cast<unsigned long long>(principal.id),
              static_cast<unsigned long long>(reader.id));

  // Interleaved loads, so both tenants' records are spread alike over memtables and SSTs.
  RecordsConnection pub_rc = OpenRecords(io, server.port(), BenchTenant{publisher, loader.key});
  RecordsConnection own_rc = OpenRecords(io, server.port(), BenchTenant{consumer, reader.key});
  std::vector<uint64_t> pub_ids, own_ids;
  constexpr size_t kChunk = 10000;
  auto t0 = Clock::now();
  for (size_t done = 0; done < o.context_records; done += kChunk) {
    size_t n = std::min(kChunk, o.context_records - done);
    auto p = Load(io, pub_rc.records, n, 100 + done);
    auto c = Load(io, own_rc.records, n, 200 + done);
    pub_ids.insert(pub_ids.end(), p.begin(), p.end());
    own_ids.insert(own_ids.end(), c.begin(), c.end());
  }
  double load_s = Seconds(t0, Clock::now());
  std::printf("loaded %zu records of ~200 bytes into each tenant, interleaved in chunks of %zu: "
              "%.1f s\n",
              o.context_records, kChunk, load_s);
  pub_rc = RecordsConnection();
  own_rc = RecordsConnection();

  // The consumer on one connection: its own records() and the TenantContext's, each taken
  // once (the context is resolved then, which warms the cache).
  auto conn = Connect(io, server.port());
  auto login = conn->client->bootstrap().castAs<wire::Cotenant>().loginRequest();
  login.setTenantId(consumer);
  login.setApiKey(reader.key.c_str());
  auto session = Await(login.send(), ws, "login as the consumer").getSession();
  wire::Records::Client own =
      Await(session.recordsRequest().send(), ws, "session.records()").getRecords();
  auto shared_req = session.recordsRequest();
  shared_req.initContext().setTenantId(publisher);
  wire::Records::Client shared =
      Await(shared_req.send(), ws, "session.records(TenantContext{P})").getRecords();

  std::mt19937_64 rng(13);
  auto get = [&](wire::Records::Client& records, const std::vector<uint64_t>& ids) {
    uint64_t id = ids[rng() % ids.size()];
    auto req = records.getRecordRequest(capnp::MessageSize{8, 0});
    req.setObject("Items");
    req.setId(id);
    return req.send().then([id](capnp::Response<wire::Records::GetRecordResults>&& r) {
      auto rec = r.getRecord();
      KJ_REQUIRE(rec.getId() == id && rec.getFields().size() == 3,
                 "getRecord answered another record", id, rec.getId(), rec.getFields().size());
    });
  };
  Issue get_own = [&](size_t) -> kj::Promise<void> { return get(own, own_ids); };
  Issue get_shared = [&](size_t) -> kj::Promise<void> { return get(shared, pub_ids); };

  // The policy's principal reads only: an add through the context must be refused, which
  // shows the calls really run as the policy's user.
  {
    auto add = shared.addRecordRequest();
    add.setObject("Items");
    FillRecord(add.initFields(3), "denied", "x", 0);
    bool refused = false;
    try {
      add.send().wait(ws);
    } catch (const kj::Exception& e) {
      refused = Describe(e).find("PermissionDenied") != std::string::npos;
      if (!refused) Fail("addRecord through the context failed unexpectedly: " + Describe(e));
    }
    if (!refused) Fail("addRecord through the context was not refused");
  }

  int slices = std::max(1, static_cast<int>(std::lround(o.seconds / o.slice)));
  double slice = o.seconds / slices;
  std::string mode = std::to_string(o.inflight) + " in flight, 1 connection";
  std::printf("each call: %.1f s warm-up, then %d alternating slices of %.2f s (%.1f s measured)\n",
              o.warmup, slices, slice, o.seconds);
  WaitQuiet(server.pid(), 30);
  Drive(ws, o.inflight, get_own, 0, o.warmup, server.pid(), "getRecord own (warm-up)");
  Drive(ws, o.inflight, get_shared, 0, o.warmup, server.pid(), "getRecord context (warm-up)");
  RunResult own_run, shared_run;
  for (int i = 0; i < slices; ++i) {
    own_run.Add(Drive(ws, o.inflight, get_own, 0, slice, server.pid(), "getRecord own, " + mode));
    shared_run.Add(
        Drive(ws, o.inflight, get_shared, 0, slice, server.pid(), "getRecord context, " + mode));
  }
  PrintRun(mode.c_str(), "own tenant", own_run);
  PrintRun(mode.c_str(), "context P", shared_run);
  double ratio = shared_run.calls_per_sec() / own_run.calls_per_sec();
  std::printf("\n%-32s | %14s | %14s | %6s\n", "getRecord (calls/s)", "own tenant C",
              "context -> P", "ratio");
  std::printf("%-32s | %14.0f | %14.0f | %5.2fx\n", mode.c_str(), own_run.calls_per_sec(),
              shared_run.calls_per_sec(), ratio);
  std::printf("%-32s | %14.1f | %14.1f |\n", "mean latency us", own_run.mean_latency_us(),
              shared_run.mean_latency_us());
  std::printf("%-32s | %14.1f | %14.1f | %5.2fx\n", "server CPU us per call",
              own_run.server_us_per_call(), shared_run.server_us_per_call(),
              shared_run.server_us_per_call() / own_run.server_us_per_call());
  std::printf("\ntarget getRecord through a TenantContext >= 0.90x own tenant: %.2fx -> %s\n",
              ratio, ratio >= 0.9 ? "met" : "NOT met");

  shared = nullptr;
  own = nullptr;
  session = nullptr;
  conn = nullptr;
  admin = nullptr;
  admin_conn = nullptr;
  bool clean = server.Stop();
  std::printf("cotenantd shut down %s\n", clean ? "cleanly" : "with an error");
  if (!clean) Fail("cotenantd did not shut down cleanly");
}

void RunMemory(const Options& o, const std::string& binary) {
  ServerFlags flags{o.block_cache_mb, o.memtable_mb, o.server_threads, o.rpc_threads};
  Cotenantd server(binary, flags, /*with_http=*/true);
  double budget = static_cast<double>(o.block_cache_mb + o.memtable_mb);
  std::printf("\n== memory: %zu records into a fresh cotenantd ==\n", o.memory_records);
  std::printf("server: %s\n", server.command().c_str());
  std::printf("configured: block cache %zu MiB + memtable budget %zu MiB = %.0f MiB\n",
              o.block_cache_mb, o.memtable_mb, budget);
  std::printf("RSS at start: %.1f MiB\n", StatusMiB(server.pid(), "VmRSS"));

  auto io = kj::setupAsyncIo();
  BenchTenant tenant = SetUpTenant(io, server, "memory-bench");
  RecordsConnection rc = OpenRecords(io, server.port(), tenant);

  auto t0 = Clock::now();
  std::vector<uint64_t> ids = Load(io, rc.records, o.memory_records, 3);
  double load_s = Seconds(t0, Clock::now());
  std::printf("loaded %zu records of ~200 bytes in %.1f s (%.0f records/s)\n", o.memory_records,
              load_s, static_cast<double>(o.memory_records) / load_s);
  double settle = WaitQuiet(server.pid(), 60);

  auto report = [&](const char* when) {
    double rss = StatusMiB(server.pid(), "VmRSS");
    double hwm = StatusMiB(server.pid(), "VmHWM");
    std::string metrics = HttpGet(server.http_port(), "/metrics");
    double cache = MetricValue(metrics, "cotenant_block_cache_bytes") / (1 << 20);
    double mem = MetricValue(metrics, "cotenant_memtable_bytes") / (1 << 20);
    std::printf("%-34s VmRSS %7.1f MiB (%.2fx budget)  VmHWM %7.1f MiB (%.2fx budget)\n", when,
                rss, rss / budget, hwm, hwm / budget);
    if (metrics.empty()) {
      std::printf("%-34s /metrics unavailable\n", "");
    } else {
      std::printf("%-34s store gauges: block cache %.1f MiB, memtables %.1f MiB; "
                  "RSS beyond them %.1f MiB\n",
                  "", cache, mem, rss - cache - mem);
    }
  };
  std::printf("(waited %.1f s for flushes/compactions to settle)\n", settle);
  report("after the load:");

  // Random reads across every record fill the block cache up to its limit.
  size_t window = o.inflight;
  std::mt19937_64 rng(11);
  Issue get_record = [&](size_t) -> kj::Promise<void> {
    uint64_t id = ids[rng() % ids.size()];
    auto req = rc.records.getRecordRequest(capnp::MessageSize{8, 0});
    req.setObject("Items");
    req.setId(id);
    return req.send().then([id](capnp::Response<wire::Records::GetRecordResults>&& r) {
      KJ_REQUIRE(r.getRecord().getId() == id, "getRecord answered another record", id);
    });
  };
  double read_s = std::max(o.seconds * 3, 5.0);
  RunResult reads = Drive(io.waitScope, window, get_record, 0.5, read_s, server.pid(),
                          "getRecord (memory phase)");
  std::printf("random getRecord over all records, %zu in flight, %.0f s: %.0f calls/s\n", window,
              read_s, reads.calls_per_sec());
  report("after the read pass:");
  std::printf("data directory on disk: %.1f MiB\n",
              static_cast<double>(DirBytes(server.data_dir())) / (1 << 20));

  rc = RecordsConnection();
  bool clean = server.Stop();
  std::printf("cotenantd shut down %s\n", clean ? "cleanly" : "with an error");
  if (!clean) Fail("cotenantd did not shut down cleanly");
}

}  // namespace rpc_bench
