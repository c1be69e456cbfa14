// Tenant dump and restore end to end: `cotenant tenant dump` and `cotenant tenant restore`
// run as an operator runs them, against real cotenantd processes.
//
// What is checked: a tenant with several objects (every field type, indexed fields, nulls,
// updated and deleted records), roles with members (one of another tenant), a policy
// designating another tenant and a permission set naming its users, dumped and restored
// under a new name on the same server, holds the same content (records with ids, versions,
// authors and times; users, objects, roles, policies) under a fresh id, and a record added
// afterwards gets a new id; restored into another installation that has the other tenant,
// a dump of it is line for line the original dump; into one that lacks it, the references
// to it are reported and the rest restored. The file holds no API key or key id. A
// truncated or corrupt file, a taken name, and a restore that fails part-way leave no
// tenant behind; callers who are not system admins are PermissionDenied.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

using nlohmann::json;

std::string Quote(const std::string& s) { return "'" + s + "'"; }

// Runs the CLI against `server` as tenant `tenant` with `key`; exit code, stdout in *out,
// stderr in *err.
int CliAs(const Cotenantd& server, uint64_t tenant, const std::string& key, const std::string& args,
          std::string* out, std::string* err, const std::string& dir) {
  std::string errFile = dir + "/cli.err";
  int rc = RunCommand(Quote(BinaryPath("cotenant")) + " --addr " + server.address() + " --tenant " +
                          std::to_string(tenant) + " --key " + Quote(key) + " " + args + " 2>" + Quote(errFile),
                      out);
  *err = ReadFile(errFile);
  return rc;
}

std::vector<std::string> FileLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

void WriteLines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
}

std::vector<std::string> TenantNames(Client& admin) {
  std::vector<std::string> names;
  auto l = admin.listTenants();
  EXPECT_TRUE(l.ok()) << l.getMessage();
  if (l.ok()) {
    for (const auto& t : l.value()) names.push_back(t.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

uint64_t TenantIdOf(Client& admin, const std::string& name) {
  auto l = admin.listTenants();
  if (!l.ok()) return 0;
  for (const auto& t : l.value()) {
    if (t.name == name) return t.id;
  }
  return 0;
}

// Every record of `object` of `tenant`, as stored, through the admin call the dump uses.
std::vector<Record> StoredRecords(Client& admin, uint64_t tenant, const std::string& object) {
  std::vector<Record> all;
  uint64_t after = 0;
  for (;;) {
    auto page = admin.readTenantRecords(tenant, object, after, 1000);
    EXPECT_TRUE(page.ok()) << page.getMessage();
    if (!page.ok()) break;
    for (const auto& r : page.value().records) {
      all.push_back(r);
      after = r.id();
    }
    if (page.value().complete) break;
  }
  return all;
}

std::map<uint64_t, std::string> UserNames(Client& admin, uint64_t tenant) {
  std::map<uint64_t, std::string> names;
  auto l = admin.listUsers(tenant);
  EXPECT_TRUE(l.ok()) << l.getMessage();
  if (l.ok()) {
    for (const auto& u : l.value()) names[u.id] = u.name;
  }
  return names;
}

// A record by content, with its authors by name.
std::string Content(const Record& r, const std::map<uint64_t, std::string>& users) {
  auto name = [&](uint64_t id) { return users.count(id) ? users.at(id) : "#" + std::to_string(id); };
  std::string s = std::to_string(r.id()) + " v" + std::to_string(r.version()) + " " + name(r.createdBy()) + "@" +
                  std::to_string(r.createdAt()) + " " + name(r.modifiedBy()) + "@" + std::to_string(r.modifiedAt());
  for (const auto& [f, v] : r.fields()) s += " " + f + "=" + std::to_string(static_cast<int>(v.type())) + ":" + v.toString();
  return s;
}

// What one server holds for the tests: tenant "other" (the other end of every reference)
// and the tenant "acme" to dump.
class TenantDumpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    server_ = new Cotenantd();
    ASSERT_TRUE(server_->ok()) << server_->log();
    admin_ = AdminClient(*server_).release();
    ASSERT_TRUE(admin_->setSetting("crossTenantRoles", "true").ok());
    other_ = new TenantHandle(MakeTenant(*server_, *admin_, "other"));
    ASSERT_TRUE(other_->client);
    BuildAcme();
    dump_ = dir_->path() + "/acme.dump";
    std::string out, err;
    ASSERT_EQ(Admin("--json tenant dump " + std::to_string(acme_) + " --to " + Quote(dump_), &out, &err), 0) << out << err;
    json j = json::parse(out)["dump"];
    EXPECT_EQ(j["records"].get<uint64_t>(), customers_ + orders_);
    EXPECT_EQ(j["objects"], 2);
  }
  static void TearDownTestSuite() {
    delete admin_;
    delete other_;
    delete server_;
    delete dir_;
  }

  static int Admin(const std::string& args, std::string* out, std::string* err) {
    return CliAs(*server_, 1, server_->admin_key(), args, out, err, dir_->path());
  }

  static void BuildAcme() {
    auto t = admin_->createTenant("acme", TenantKind::Tenant, 0);
    ASSERT_TRUE(t.ok()) << t.getMessage();
    acme_ = t.value().id;
    auto boss = admin_->createUser(acme_, "boss", AdminLevel::TenantAdmin);
    auto ann = admin_->createUser(acme_, "ann", AdminLevel::User);
    auto bob = admin_->createUser(acme_, "bob", AdminLevel::User);
    ASSERT_TRUE(boss.ok() && ann.ok() && bob.ok());
    keys_ = {boss.value().apiKey, ann.value().apiKey, bob.value().apiKey, other_->key, server_->admin_key()};
    for (uint64_t u : {boss.value().user.id, ann.value().user.id}) {
      auto k = admin_->listApiKeys(acme_, u);
      ASSERT_TRUE(k.ok());
      for (const auto& x : k.value()) keyIds_.push_back(x.keyId);
    }
    bossKey_ = boss.value().apiKey;
    ASSERT_TRUE(admin_->createObject(acme_, "Customers",
                                     {{"first_name", FieldType::Text, true, true},
                                      {"last_name", FieldType::Text, false, false},
                                      {"age", FieldType::Int, false, true},
                                      {"vip", FieldType::Bool, false, false},
                                      {"joined", FieldType::Timestamp, false, true}})
                    .ok());
    ASSERT_TRUE(admin_->createObject(acme_, "Orders",
                                     {{"amount", FieldType::Float, false, true},
                                      {"count", FieldType::Int, true, false},
                                      {"note", FieldType::Text, false, true},
                                      {"paid", FieldType::Bool, false, true},
                                      {"at", FieldType::Timestamp, false, false}})
                    .ok());
    ASSERT_TRUE(admin_->createRole(acme_, "data-all", {{"*", Rights::all()}}).ok());
    ASSERT_TRUE(admin_->addRoleMember(acme_, "data-all", acme_, boss.value().user.id).ok());
    ASSERT_TRUE(admin_->addRoleMember(acme_, "data-all", acme_, ann.value().user.id).ok());
    ASSERT_TRUE(admin_->createRole(acme_, "support", {{"Customers", Rights{true, false, false, false}}}, true).ok());
    ASSERT_TRUE(admin_->addRoleMember(acme_, "support", acme_, bob.value().user.id).ok());
    Result cross = admin_->addRoleMember(acme_, "support", other_->id, other_->user);
    ASSERT_TRUE(cross.ok()) << cross.getMessage();
    PolicyInfo p;
    p.name = "share-other";
    p.designated = other_->id;
    p.userId = ann.value().user.id;
    p.scope = {{"Customers", "age >= 18", {"age", "first_name"}}};
    auto pol = admin_->createPolicy(acme_, p);
    ASSERT_TRUE(pol.ok()) << pol.getMessage();
    PermissionSetInfo set;
    set.name = "acme-readers";
    set.tenants = {acme_, other_->id};
    set.users = {ann.value().user.id, bob.value().user.id, other_->user};
    set.policies = {{Effect::Allow, ".*", ".*", ".*"}};
    Result ps = admin_->createPermissionSet(set);
    ASSERT_TRUE(ps.ok()) << ps.getMessage();

    // Records by two authors, over several pages, with holes, updates and nulls.
    auto bossClient = Client::connect(server_->address(), acme_, boss.value().apiKey);
    auto annClient = Client::connect(server_->address(), acme_, ann.value().apiKey);
    for (int batch = 0; batch < 3; ++batch) {
      std::vector<Parameters> rows;
      for (int i = 0; i < 1000; ++i) {
        int n = batch * 1000 + i;
        Parameters p;
        p.add("first_name", "name-" + std::to_string(n) + (n % 7 == 0 ? " \xc3\xa9\"\\\n" : ""));
        if (n % 3 != 0) p.add("last_name", "last " + std::to_string(n));
        if (n % 4 != 0) p.add("age", n % 90);
        if (n % 5 != 0) p.add("vip", n % 2 == 0);
        if (n % 6 != 0) p.addTimestamp("joined", int64_t{1714521600000000} + int64_t{n} * 1234567);
        rows.push_back(p);
      }
      Result r = (batch == 1 ? annClient : bossClient)->addRecords("Customers", rows);
      ASSERT_TRUE(r.ok()) << r.getMessage();
    }
    customers_ = 3000;
    auto all = StoredRecords(*admin_, acme_, "Customers");
    ASSERT_EQ(all.size(), 3000u);
    for (size_t i = 0; i < all.size(); i += 97) {
      ASSERT_TRUE(annClient->updateRecord("Customers", all[i].id(), Parameters().add("age", 33)).ok());
      ASSERT_TRUE(bossClient->updateRecord("Customers", all[i].id(), Parameters().addNull("vip")).ok());
    }
    for (size_t i = 5; i < all.size(); i += 211) {
      ASSERT_TRUE(bossClient->deleteRecord("Customers", all[i].id()).ok());
      --customers_;
    }
    std::vector<Parameters> orders;
    const double amounts[] = {0.1, -0.0, 1e300, -2.5e-300, 3.141592653589793, 12345678.875};
    for (int i = 0; i < 60; ++i) {
      Parameters p;
      if (i % 7 != 3) p.add("amount", amounts[i % 6]);
      p.add("count", i - 30);
      if (i % 2 == 0) p.add("note", "order " + std::to_string(i));
      if (i % 3 != 0) p.add("paid", i % 2 == 1);
      if (i % 4 != 0) p.addTimestamp("at", int64_t{-86400000000} * i);
      orders.push_back(p);
    }
    Result r = annClient->addRecords("Orders", orders);
    ASSERT_TRUE(r.ok()) << r.getMessage();
    orders_ = 60;
  }

  static inline TempDir* dir_ = nullptr;
  static inline Cotenantd* server_ = nullptr;
  static inline Client* admin_ = nullptr;
  static inline TenantHandle* other_ = nullptr;
  static inline uint64_t acme_ = 0;
  static inline uint64_t customers_ = 0, orders_ = 0;
  static inline std::string dump_, bossKey_;
  static inline std::vector<std::string> keys_, keyIds_;
};

TEST_F(TenantDumpTest, TheDumpHoldsNoApiKeyOrKeyHash) {
  std::string text = ReadFile(dump_);
  ASSERT_FALSE(text.empty());
  for (const auto& k : keys_) EXPECT_EQ(text.find(k), std::string::npos) << "an API key is in the dump";
  for (const auto& id : keyIds_) EXPECT_EQ(text.find(id), std::string::npos) << "key id " << id << " is in the dump";
  EXPECT_EQ(text.find("hash"), std::string::npos);
  EXPECT_EQ(text.find("apikey"), std::string::npos);
  auto lines = FileLines(dump_);
  ASSERT_GE(lines.size(), 3u);
  json header = json::parse(lines[0]);
  EXPECT_EQ(header["format"], "cotenant-tenant-dump");
  EXPECT_EQ(header["version"], 1);
  EXPECT_EQ(header["tenant"]["name"], "acme");
  EXPECT_EQ(json::parse(lines.back())["end"]["records"].get<uint64_t>(), customers_ + orders_);
}

TEST_F(TenantDumpTest, RestoreUnderANewNameGivesTheSameContentUnderAFreshId) {
  std::vector<uint64_t> idsBefore;
  auto tenantsBefore = admin_->listTenants();
  ASSERT_TRUE(tenantsBefore.ok());
  for (const auto& t : tenantsBefore.value()) idsBefore.push_back(t.id);
  std::string out, err;
  ASSERT_EQ(Admin("--json tenant restore " + Quote(dump_) + " --name acme-copy", &out, &err), 0) << out << err;
  json j = json::parse(out)["restore"];
  uint64_t copy = std::stoull(j["tenantId"].get<std::string>());
  EXPECT_NE(copy, acme_);
  EXPECT_EQ(std::count(idsBefore.begin(), idsBefore.end(), copy), 0);  // ids are never reused
  EXPECT_EQ(copy, TenantIdOf(*admin_, "acme-copy"));
  EXPECT_EQ(j["records"].get<uint64_t>(), customers_ + orders_);
  EXPECT_TRUE(j["notRestored"].empty()) << j.dump(2);

  // Records: same ids, versions, times and values; authors the same users by name.
  auto fromUsers = UserNames(*admin_, acme_), toUsers = UserNames(*admin_, copy);
  for (const char* object : {"Customers", "Orders"}) {
    auto a = StoredRecords(*admin_, acme_, object), b = StoredRecords(*admin_, copy, object);
    ASSERT_EQ(a.size(), b.size()) << object;
    for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(Content(a[i], fromUsers), Content(b[i], toUsers)) << object;
  }
  std::vector<std::string> names;
  for (const auto& [id, n] : toUsers) names.push_back(n);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"ann", "bob", "boss"}));

  // Roles (the member of the other tenant too), the policy, the permission set.
  auto roles = admin_->listRoles(copy);
  ASSERT_TRUE(roles.ok());
  ASSERT_EQ(roles.value().size(), 2u);
  for (const auto& r : roles.value()) {
    std::vector<std::string> members;
    for (const auto& m : r.members) members.push_back(m.tenantId == copy ? toUsers[m.userId] : "other:" + std::to_string(m.userId));
    std::sort(members.begin(), members.end());
    if (r.name == "support") {
      EXPECT_TRUE(r.crossTenant);
      EXPECT_EQ(members, (std::vector<std::string>{"bob", "other:" + std::to_string(other_->user)}));
    } else {
      EXPECT_EQ(members, (std::vector<std::string>{"ann", "boss"}));
    }
  }
  auto policies = admin_->listPolicies(copy, 0);
  ASSERT_TRUE(policies.ok());
  ASSERT_EQ(policies.value().size(), 1u);
  EXPECT_EQ(policies.value()[0].designated, other_->id);
  EXPECT_EQ(toUsers[policies.value()[0].userId], "ann");
  ASSERT_EQ(policies.value()[0].scope.size(), 1u);
  EXPECT_EQ(policies.value()[0].scope[0].rowFilter, "age >= 18");
  bool inSet = false;
  auto sets = admin_->listPermissionSets();
  ASSERT_TRUE(sets.ok());
  for (const auto& s : sets.value()) {
    if (s.name != "acme-readers") continue;
    inSet = std::count(s.tenants.begin(), s.tenants.end(), copy) == 1 && s.users.size() == 5;
  }
  EXPECT_TRUE(inSet);
  // The original is untouched.
  EXPECT_EQ(StoredRecords(*admin_, acme_, "Customers").size(), customers_);

  // The users have no usable key; a new one works, and an add gets an id past every
  // restored one. Usage counts the restored records exactly.
  auto u = admin_->usage(copy);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u.value().records, customers_ + orders_);
  uint64_t bossId = 0;
  for (const auto& [id, n] : toUsers) {
    if (n == "boss") bossId = id;
  }
  auto keys = admin_->listApiKeys(copy, bossId);
  ASSERT_TRUE(keys.ok());
  for (const auto& k : keys.value()) EXPECT_TRUE(k.revoked);
  auto key = admin_->createApiKey(copy, bossId);
  ASSERT_TRUE(key.ok()) << key.getMessage();
  auto c = Client::connect(server_->address(), copy, key.value().apiKey);
  Result added = c->addRecord("Customers", Parameters().add("first_name", "new"));
  ASSERT_TRUE(added.ok()) << added.getMessage();
  uint64_t maxId = 0;
  for (const char* object : {"Customers", "Orders"}) {
    for (const auto& r : StoredRecords(*admin_, acme_, object)) maxId = std::max(maxId, r.id());
  }
  EXPECT_GT(added.getId(), maxId);
  // Index entries, usage counters and the id sequence agree with the restored records.
  auto report = admin_->checkStore(100);
  ASSERT_TRUE(report.ok()) << report.getMessage();
  EXPECT_TRUE(report.value().clean) << (report.value().problems.empty() ? "" : report.value().problems[0].what);

  // A second restore under a taken name is refused, and creates nothing.
  auto before = TenantNames(*admin_);
  EXPECT_EQ(Admin("tenant restore " + Quote(dump_), &out, &err), 5) << out << err;
  EXPECT_NE(err.find("already exists"), std::string::npos) << err;
  EXPECT_EQ(TenantNames(*admin_), before);
}

TEST_F(TenantDumpTest, RestoredInAnotherInstallationItDumpsLineForLineTheSame) {
  Cotenantd second;
  ASSERT_TRUE(second.ok()) << second.log();
  auto admin = AdminClient(second);
  ASSERT_TRUE(admin->setSetting("crossTenantRoles", "true").ok());
  TenantHandle other = MakeTenant(second, *admin, "other");
  ASSERT_TRUE(other.client);
  // The permission set exists here too, with its member of the other tenant: the restore
  // adds the tenant and its users to it.
  PermissionSetInfo set;
  set.name = "acme-readers";
  set.tenants = {other.id};
  set.users = {other.user};
  set.policies = {{Effect::Allow, ".*", ".*", ".*"}};
  ASSERT_TRUE(admin->createPermissionSet(set).ok());
  std::string out, err;
  ASSERT_EQ(CliAs(second, 1, second.admin_key(), "--json tenant restore " + Quote(dump_), &out, &err, dir_->path()), 0)
      << out << err;
  json j = json::parse(out)["restore"];
  EXPECT_EQ(j["name"], "acme");
  EXPECT_TRUE(j["notRestored"].empty()) << j.dump(2);
  uint64_t id = std::stoull(j["tenantId"].get<std::string>());
  EXPECT_EQ(id, TenantIdOf(*admin, "acme"));
  std::string again = dir_->path() + "/again.dump";
  ASSERT_EQ(CliAs(second, 1, second.admin_key(), "tenant dump " + j["tenantId"].get<std::string>() + " --to " + Quote(again),
                  &out, &err, dir_->path()),
            0)
      << out << err;
  auto a = FileLines(dump_), b = FileLines(again);
  ASSERT_EQ(a.size(), b.size());
  json ha = json::parse(a[0]), hb = json::parse(b[0]);
  EXPECT_EQ(ha["tenant"]["name"], hb["tenant"]["name"]);
  EXPECT_EQ(std::to_string(id), hb["tenant"]["id"].get<std::string>());
  for (size_t i = 1; i < a.size(); ++i) ASSERT_EQ(a[i], b[i]) << "line " << i + 1;
}

TEST_F(TenantDumpTest, ReferencesToAnAbsentTenantAreReportedAndTheRestRestored) {
  Cotenantd bare;
  ASSERT_TRUE(bare.ok()) << bare.log();
  auto admin = AdminClient(bare);
  std::string out, err;
  ASSERT_EQ(CliAs(bare, 1, bare.admin_key(), "--json tenant restore " + Quote(dump_), &out, &err, dir_->path()), 0)
      << out << err;
  json j = json::parse(out)["restore"];
  std::string report = j["notRestored"].dump();
  EXPECT_NE(report.find("role 'support': member other-admin@other"), std::string::npos) << report;
  EXPECT_NE(report.find("policy 'share-other': designates tenant 'other'"), std::string::npos) << report;
  EXPECT_NE(report.find("permission set 'acme-readers': user other-admin@other"), std::string::npos) << report;
  EXPECT_NE(report.find("permission set 'acme-readers': applies to tenant 'other'"), std::string::npos) << report;
  uint64_t id = std::stoull(j["tenantId"].get<std::string>());
  EXPECT_EQ(StoredRecords(*admin, id, "Customers").size(), customers_);
  auto policies = admin->listPolicies(id, 0);
  ASSERT_TRUE(policies.ok());
  EXPECT_TRUE(policies.value().empty());
  bool created = false;
  auto sets = admin->listPermissionSets();
  ASSERT_TRUE(sets.ok());
  for (const auto& s : sets.value()) {
    if (s.name == "acme-readers") created = s.users.size() == 2 && s.tenants == std::vector<uint64_t>{id};
  }
  EXPECT_TRUE(created);

  // The human form says the same, and tells the operator about keys.
  ASSERT_TRUE(admin->deleteTenant(id).ok());
  ASSERT_TRUE(admin->deletePermissionSet("acme-readers").ok());
  ASSERT_EQ(CliAs(bare, 1, bare.admin_key(), "tenant restore " + Quote(dump_) + " --name acme2", &out, &err, dir_->path()), 0)
      << out << err;
  EXPECT_NE(out.find("Not restored (4):"), std::string::npos) << out;
  EXPECT_NE(out.find("cotenant key create"), std::string::npos) << out;
}

TEST_F(TenantDumpTest, ABadFileIsRefusedWholeAndCreatesNothing) {
  auto lines = FileLines(dump_);
  auto before = TenantNames(*admin_);
  std::string out, err;
  struct Case {
    std::string name;
    std::vector<std::string> lines;
    std::string says;
  };
  std::vector<Case> cases;
  cases.push_back({"truncated", std::vector<std::string>(lines.begin(), lines.end() - 40), "truncated"});
  auto bad = lines;
  json rec = json::parse(bad[100]);
  rec["version"] = "x";
  bad[100] = rec.dump();
  cases.push_back({"corrupt", bad, ":101: record"});
  bad = lines;
  bad[200] = bad[200].substr(0, bad[200].size() / 2);
  cases.push_back({"cut", bad, ":201: not JSON"});
  bad = lines;
  rec = json::parse(bad[300]);
  rec["fields"]["age"] = "old";
  bad[300] = rec.dump();
  cases.push_back({"type", bad, "field 'age' is int"});
  cases.push_back({"header", std::vector<std::string>{"{\"hello\":1}"}, "not a tenant dump"});
  for (const auto& c : cases) {
    std::string path = dir_->path() + "/" + c.name + ".dump";
    WriteLines(path, c.lines);
    EXPECT_EQ(Admin("tenant restore " + Quote(path) + " --name broken", &out, &err), 5) << c.name << out << err;
    EXPECT_NE(err.find(c.says), std::string::npos) << c.name << ": " << err;
    EXPECT_NE(err.find("nothing was applied"), std::string::npos) << c.name << ": " << err;
    EXPECT_EQ(TenantNames(*admin_), before) << c.name;
  }
}

TEST_F(TenantDumpTest, ARestoreThatFailsPartWayDeletesTheTenantItCreated) {
  // A records quota below what the tenant holds (allowed: usage past a new limit stays)
  // makes the restore fail after the tenant and its objects exist.
  Quota q;
  q.records = 10;
  ASSERT_TRUE(admin_->setQuota(acme_, q).ok());
  std::string quotaDump = dir_->path() + "/quota.dump", out, err;
  ASSERT_EQ(Admin("tenant dump " + std::to_string(acme_) + " --to " + Quote(quotaDump), &out, &err), 0) << out << err;
  ASSERT_TRUE(admin_->setQuota(acme_, Quota{}).ok());
  auto before = TenantNames(*admin_);
  EXPECT_EQ(Admin("tenant restore " + Quote(quotaDump) + " --name over-quota", &out, &err), 5) << out << err;
  EXPECT_NE(err.find("restoring records"), std::string::npos) << err;
  EXPECT_NE(err.find("was deleted: nothing of the restore remains"), std::string::npos) << err;
  EXPECT_EQ(TenantNames(*admin_), before);
}

TEST_F(TenantDumpTest, CallersWhoAreNotSystemAdminsAreDenied) {
  std::string out, err;
  std::string path = dir_->path() + "/mine.dump";
  EXPECT_EQ(CliAs(*server_, acme_, bossKey_, "tenant dump " + std::to_string(acme_) + " --to " + Quote(path), &out, &err,
                  dir_->path()),
            3)
      << out << err;
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(CliAs(*server_, acme_, bossKey_, "tenant restore " + Quote(dump_) + " --name mine", &out, &err, dir_->path()), 3)
      << out << err;
  auto boss = Client::connect(server_->address(), acme_, bossKey_);
  auto read = boss->readTenantRecords(0, "Customers", 0, 10);
  EXPECT_EQ(read.getCode(), ErrorCode::PermissionDenied) << read.getMessage();
  read = boss->readTenantRecords(acme_, "Customers", 0, 10);
  EXPECT_EQ(read.getCode(), ErrorCode::PermissionDenied) << read.getMessage();
  RestoredRecord r;
  r.id = 999999;
  r.fields.add("first_name", "x");
  auto wrote = boss->restoreTenantRecords(0, "Customers", {r});
  EXPECT_EQ(wrote.getCode(), ErrorCode::PermissionDenied) << wrote.getMessage();
  wrote = other_->client->restoreTenantRecords(acme_, "Customers", {r});
  EXPECT_EQ(wrote.getCode(), ErrorCode::PermissionDenied) << wrote.getMessage();
}

}  // namespace
}  // namespace cotenant::testing
