// bench/compare: cotenantd through the C++ SDK. A private cotenantd on a fresh data
// directory (rpc_bench's Cotenantd: free loopback port, admin key from DATA/admin.key);
// as the system admin a tenant and a tenant admin in it; as that tenant admin the object
// `usertable` (k:int indexed, field0..field9:text) and a role with every right on it for
// itself (record calls need role rights, admins included); then one Client per thread.

#include <future>
#include <optional>

#include "compare.h"
#include "cotenant/client.h"

namespace compare {
namespace {

constexpr uint64_t kSystemTenant = 1;
const std::string kObject = "usertable";

std::string FieldName(int i) { return "field" + std::to_string(i); }

template <typename T>
T Got(const cotenant::Outcome<T>& o, const std::string& what) {
  if (!o.ok()) Fail("cotenantd: " + what + " failed: " + cotenant::errorCodeName(o.getCode()) + ": " + o.getMessage());
  return o.value();
}

void Check(const cotenant::Result& r, const char* call, uint64_t key) {
  if (!r.ok()) {
    Fail(std::string("cotenantd: ") + call + " of key " + std::to_string(key) + " failed: " +
         cotenant::errorCodeName(r.getCode()) + ": " + r.getMessage());
  }
}

std::unique_ptr<cotenant::Client> Connect(const std::string& address, uint64_t tenant,
                                          const std::string& key, const std::string& who,
                                          bool caller_thread = false) {
  try {
    cotenant::ClientOptions options;
    options.callerThreadConnections = caller_thread;
    return cotenant::Client::connect(address, tenant, key, options);
  } catch (const cotenant::Error& e) {
    Fail("cotenantd: cannot connect to " + address + " as " + who + ": " + e.what());
  }
}

class Target;

class CotenantdSession : public Session {
 public:
  CotenantdSession(Target& t, cotenant::Client& c);
  void Read(uint64_t key) override;
  void Update(uint64_t key, uint64_t row) override;
  void Insert(uint64_t key, uint64_t row) override;
  void Scan(uint64_t key, int length) override;
  void ReadMany(const uint64_t* keys) override;

 private:
  Target& t_;
  cotenant::Client& c_;
  cotenant::SearchQuery query_;  // kept between scans: only the bound value and length change
  std::vector<cotenant::RecordId> many_;
};

class View : public System {
 public:
  View(Target& t, std::string name) : t_(t), name_(std::move(name)) {}
  std::string name() const override { return name_; }
  pid_t server_pid() const override;
  Session& session(size_t thread) override { return *sessions_.at(thread); }
  uint64_t NextInsertKey() override;
  void CheckAlive() override;
  std::vector<std::unique_ptr<CotenantdSession>> sessions_;

 private:
  Target& t_;
  std::string name_;
};

class Target : public CotenantdTarget {
 public:
  Target(const Options& o, const std::string& binary, const RowPool& pool, size_t sessions)
      : o_(o),
        server_(binary, rpc_bench::ServerFlags{256, 64, 0, o.rpc_threads}, /*with_http=*/false),
        address_("127.0.0.1:" + std::to_string(server_.port())),
        per_thread_(*this, "cotenantd"),
        shared_(*this, "cotenantd-shared"),
        next_insert_(o.records) {
    SetUp();
    // The values of updates, prebuilt: the SDK call serializes them, nothing else is copied.
    for (size_t i = 0; i < pool.size(); ++i) {
      cotenant::Parameters p;
      for (int f = 0; f < kFields; ++f) p.add(FieldName(f), pool.row(i)[f]);
      p.minimalReply(true);  // a writer needs only the outcome, as SET's "+OK"
      updates_.push_back(std::move(p));
    }
    for (size_t i = 0; i < sessions; ++i) {
      clients_.push_back(Connect(address_, tenant_, key_, "the tenant admin (client " + std::to_string(i) + ")",
                                 o.caller_thread_connections));
      per_thread_.sessions_.push_back(std::make_unique<CotenantdSession>(*this, *clients_.back()));
    }
    shared_client_ = Connect(address_, tenant_, key_, "the tenant admin (shared client)",
                             o.caller_thread_connections);
    for (size_t i = 0; i < sessions; ++i) {
      shared_.sessions_.push_back(std::make_unique<CotenantdSession>(*this, *shared_client_));
    }
  }
  ~Target() override { CloseClients(); }

  System& per_thread() override { return per_thread_; }
  System& shared() override { return shared_; }
  std::string command() const override { return server_.command(); }
  pid_t pid() const override { return server_.pid(); }
  void CheckAlive() { server_.CheckAlive(); }

  // addRecords batches of kLoadBatch on one Client, kWindow in flight.
  LoadReport Load(const RowPool& pool) override {
    constexpr size_t kWindow = 4;
    auto t0 = Clock::now();
    ids_.assign(o_.records, 0);
    struct Batch {
      uint64_t first;
      std::vector<cotenant::Parameters> records;  // kept until answered
      std::future<cotenant::Result> answer;
    };
    std::vector<std::optional<Batch>> lanes(kWindow);
    auto finish = [&](Batch& b) {
      cotenant::Result r = b.answer.get();
      Check(r, "addRecords", b.first);
      if (r.ids().size() != b.records.size()) {
        Fail("cotenantd: addRecords from key " + std::to_string(b.first) + " returned " +
             std::to_string(r.ids().size()) + " ids for " + std::to_string(b.records.size()) + " records");
      }
      for (size_t i = 0; i < r.ids().size(); ++i) ids_[b.first + i] = r.ids()[i];
    };
    size_t lane = 0;
    for (uint64_t first = 0; first < o_.records; first += kLoadBatch) {
      auto& slot = lanes[lane];
      lane = (lane + 1) % kWindow;
      if (slot) finish(*slot);
      slot.emplace();
      slot->first = first;
      uint64_t n = std::min<uint64_t>(kLoadBatch, o_.records - first);
      slot->records.reserve(n);
      for (uint64_t k = first; k < first + n; ++k) slot->records.push_back(RecordOf(pool, k));
      slot->answer = clients_[0]->addRecordsAsync(kObject, slot->records);
    }
    for (auto& slot : lanes) {
      if (slot) finish(*slot);
    }
    return {rpc_bench::Seconds(t0, Clock::now()),
            "addRecords, batches of " + std::to_string(kLoadBatch) + ", " +
                std::to_string(kWindow) + " in flight, one connection"};
  }

  bool Stop() override {
    CloseClients();
    return server_.Stop();
  }

  cotenant::Parameters RecordOf(const RowPool& pool, uint64_t key) const {
    cotenant::Parameters p;
    p.add("k", key);
    for (int f = 0; f < kFields; ++f) p.add(FieldName(f), pool.row(key)[f]);
    p.minimalReply(true);
    return p;
  }

  uint64_t IdOf(uint64_t key) const {
    if (key >= ids_.size()) Fail("cotenantd: key " + std::to_string(key) + " was not loaded");
    return ids_[key];
  }

  const cotenant::Parameters& update(uint64_t row) const { return updates_[row % updates_.size()]; }

  const Options& o_;

 private:
  friend class View;

  void SetUp() {
    auto admin = Connect(address_, kSystemTenant, server_.admin_key(), "the system admin");
    tenant_ = Got(admin->createTenant("compare", cotenant::TenantKind::Tenant), "createTenant").id;
    const auto user = Got(admin->createUser(tenant_, "bench-admin", cotenant::AdminLevel::TenantAdmin),
                             "createUser");
    key_ = user.apiKey;
    uint64_t user_id = user.user.id;

    auto ta = Connect(address_, tenant_, key_, "the tenant admin");
    std::vector<cotenant::FieldDef> fields;
    cotenant::FieldDef k;
    k.name = "k";
    k.type = cotenant::FieldType::Int;
    k.required = true;
    k.indexed = true;  // the scan order of workload E
    fields.push_back(k);
    for (int f = 0; f < kFields; ++f) {
      cotenant::FieldDef d;
      d.name = FieldName(f);
      d.type = cotenant::FieldType::Text;
      fields.push_back(d);
    }
    Got(ta->createObject(0, kObject, fields), "createObject " + kObject);
    Got(ta->createRole(0, "bench", {cotenant::ObjectRights{kObject, cotenant::Rights::all()}}),
          "createRole bench");
    auto member = ta->addRoleMember(0, "bench", tenant_, user_id);
    if (!member.ok()) {
      Fail("cotenantd: addRoleMember bench failed: " + std::string(cotenant::errorCodeName(member.getCode())) +
           ": " + member.getMessage());
    }
  }

  // Clients go before the server, so that it sees its connections close, not break.
  void CloseClients() {
    per_thread_.sessions_.clear();
    shared_.sessions_.clear();
    clients_.clear();
    shared_client_.reset();
  }

  rpc_bench::Cotenantd server_;
  std::string address_;
  uint64_t tenant_ = 0;
  std::string key_;
  std::vector<uint64_t> ids_;  // YCSB key number -> record id
  std::vector<cotenant::Parameters> updates_;
  std::vector<std::unique_ptr<cotenant::Client>> clients_;
  std::unique_ptr<cotenant::Client> shared_client_;
  View per_thread_, shared_;
  std::atomic<uint64_t> next_insert_;
};

pid_t View::server_pid() const { return t_.pid(); }
uint64_t View::NextInsertKey() { return t_.next_insert_.fetch_add(1); }
void View::CheckAlive() { t_.CheckAlive(); }

CotenantdSession::CotenantdSession(Target& t, cotenant::Client& c) : t_(t), c_(c) {
  query_.object = kObject;
  query_.fields = "*";
  if (t.o_.scan_by == ScanBy::kIndex) {
    query_.criteria = "k >= ?";
    query_.sortBy = "k";
  } else {
    query_.criteria = "id >= ?";  // sortBy "" = id order
  }
  query_.parameters = {cotenant::Value::integer(0)};
  many_.assign(kManyIds, cotenant::RecordId(1));
}

void CotenantdSession::Read(uint64_t key) {
  uint64_t id = t_.IdOf(key);
  cotenant::Result r = c_.getRecord(kObject, "*", id);
  Check(r, "getRecord", key);
  if (r.getRecords().size() != 1 || r.getRecords()[0].id() != id ||
      r.getRecords()[0].fields().size() != kFields + 1) {
    Fail("cotenantd: getRecord of key " + std::to_string(key) + " answered another record");
  }
}

void CotenantdSession::Update(uint64_t key, uint64_t row) {
  Check(c_.updateRecord(kObject, t_.IdOf(key), t_.update(row)), "updateRecord", key);
}

void CotenantdSession::Insert(uint64_t key, uint64_t row) {
  cotenant::Parameters p = t_.update(row);
  p.add("k", key);
  cotenant::Result r = c_.addRecord(kObject, p);
  Check(r, "addRecord", key);
  if (r.getId() == 0) Fail("cotenantd: addRecord of key " + std::to_string(key) + " returned no id");
}

void CotenantdSession::Scan(uint64_t key, int length) {
  query_.parameters[0] = cotenant::Value::integer(
      static_cast<int64_t>(t_.o_.scan_by == ScanBy::kIndex ? key : t_.IdOf(key)));
  query_.numberOfRows = static_cast<uint32_t>(length);
  cotenant::Result r = c_.search(query_);
  Check(r, "searchRecords", key);
  const auto& rows = r.getRecords();
  // The start key exists, and a short page must be the last one.
  if (rows.empty() || (rows.size() < static_cast<size_t>(length) && !r.complete()) ||
      rows.size() > static_cast<size_t>(length)) {
    Fail("cotenantd: searchRecords from key " + std::to_string(key) + " returned " +
         std::to_string(rows.size()) + " rows for a page of " + std::to_string(length));
  }
  const cotenant::Value& first = rows[0].get("k");
  if (first.type() != cotenant::Value::Type::Int || first.asInt() != static_cast<int64_t>(key)) {
    Fail("cotenantd: searchRecords from key " + std::to_string(key) + " started at another record");
  }
}

void CotenantdSession::ReadMany(const uint64_t* keys) {
  for (unsigned i = 0; i < kManyIds; ++i) many_[i] = cotenant::RecordId(t_.IdOf(keys[i]));
  auto r = c_.getRecords(kObject, "*", many_);
  if (!r.ok()) {
    Fail("cotenantd: getRecords of " + std::to_string(kManyIds) + " ids failed: " +
         cotenant::errorCodeName(r.getCode()) + ": " + r.getMessage());
  }
  if (r.value().size() != kManyIds) Fail("cotenantd: getRecords answered a wrong count");
  for (unsigned i = 0; i < kManyIds; ++i) {
    Check(r.value()[i], "getRecords entry", keys[i]);
    if (r.value()[i].getRecords().size() != 1) Fail("cotenantd: getRecords answered an empty entry");
  }
}

}  // namespace

std::unique_ptr<CotenantdTarget> StartCotenantd(const Options& o, const std::string& binary,
                                                const RowPool& pool, size_t sessions) {
  return std::make_unique<Target>(o, binary, pool, sessions);
}

}  // namespace compare
