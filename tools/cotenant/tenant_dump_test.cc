// Unit tests of the tenant dump file (tenant_dump.h) and of the restore plan
// (config::planRestore): no server.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "config.h"
#include "tenant_dump.h"
#include "tests/test_support.h"

namespace cotenant::cli {
namespace {

using config::Config;
using config::ConfigError;

const char* kSlice = R"(version: 1
settings:
  crossTenantRoles: true
tenants:
  - name: acme
    kind: tenant
    users:
      - {name: ann, level: tenant-admin}
    objects:
      - name: T
        fields:
          - {name: s, type: text, required: true}
          - {name: n, type: int}
          - {name: f, type: float}
          - {name: b, type: bool}
          - {name: t, type: timestamp}
    roles:
      - name: r
        crossTenant: true
        rights: {T: read}
        members: [ann, zed@vendor]
    policies:
      - name: p
        designated: vendor
        user: ann
  - name: vendor
    kind: tenant
    users:
      - {name: zed, level: user}
permissionSets:
  - name: ps
    scope: user
    tenants: [acme, vendor]
    users: [ann@acme, zed@vendor]
    policies:
      - {effect: allow, resourceTypeRegex: '.*', apiNameRegex: '.*', methodRegex: '.*'}
)";

class DumpFileTest : public ::testing::Test {
 protected:
  std::string Write(const std::vector<std::string>& lines) {
    std::string path = dir_.path() + "/d" + std::to_string(++n_) + ".dump";
    std::ofstream out(path);
    for (const auto& l : lines) out << l;
    return path;
  }
  // Record lines as recordLine writes them (records come from the server: tenant_dump_e2e).
  std::vector<std::string> Good() {
    return {dump::headerLine({"acme", "tenant", 12, 1}), dump::configLine(kSlice), dump::objectLine("T"),
            R"({"id":"3","version":4,"createdBy":"ann","createdAt":1000,"modifiedBy":"zed@vendor","modifiedAt":-2000,)"
            R"("fields":{"s":"x\n\"y\"","n":-7,"f":-0.0,"b":null,"t":1714521600000001}})" "\n",
            R"({"id":"9","version":1,"createdBy":null,"createdAt":1,"modifiedBy":"ann","modifiedAt":1,)"
            R"("fields":{"s":"z","f":"-Infinity"}})" "\n",
            dump::endLine(1, 2)};
  }
  // The problems the reader reports for a file of `lines`, read to the end.
  std::string Problem(const std::vector<std::string>& lines) {
    try {
      dump::Reader r(Write(lines));
      std::string object;
      dump::DumpRecord rec;
      while (r.next(&object, &rec) != dump::Reader::Item::kEnd) {}
    } catch (const ConfigError& e) {
      return e.problems().front();
    }
    return "(no problem)";
  }

  cotenant::testing::TempDir dir_;
  int n_ = 0;
};

TEST_F(DumpFileTest, WrittenLinesReadBackExactly) {
  dump::Reader r(Write(Good()));
  EXPECT_EQ(r.header().tenant, "acme");
  EXPECT_EQ(r.header().sourceId, 12u);
  std::string object;
  dump::DumpRecord rec;
  ASSERT_EQ(r.next(&object, &rec), dump::Reader::Item::kObject);
  EXPECT_EQ(object, "T");
  ASSERT_EQ(r.next(&object, &rec), dump::Reader::Item::kRecord);
  EXPECT_EQ(rec.id, 3u);
  EXPECT_EQ(rec.version, 4u);
  EXPECT_EQ(rec.createdBy, "ann");
  EXPECT_EQ(rec.modifiedBy, "zed@vendor");
  EXPECT_EQ(rec.modifiedAt, -2000);
  ASSERT_EQ(rec.fields.size(), 5u);
  EXPECT_EQ(rec.fields.find("s")->asText(), "x\n\"y\"");
  EXPECT_EQ(rec.fields.find("n")->asInt(), -7);
  EXPECT_TRUE(std::signbit(rec.fields.find("f")->asFloat()));
  EXPECT_TRUE(rec.fields.find("b")->isNull());
  EXPECT_EQ(rec.fields.find("t")->asTimestamp(), 1714521600000001);
  ASSERT_EQ(r.next(&object, &rec), dump::Reader::Item::kRecord);
  EXPECT_EQ(rec.createdBy, "");  // a user that no longer exists
  EXPECT_EQ(r.next(&object, &rec), dump::Reader::Item::kEnd);
}

TEST_F(DumpFileTest, EveryDefectIsNamedWithItsLine) {
  auto lines = Good();
  EXPECT_NE(Problem({lines.begin(), lines.end() - 1}).find(":6: the file ends without its end line: it is truncated"),
            std::string::npos);
  auto swapped = lines;
  std::swap(swapped[3], swapped[4]);
  EXPECT_NE(Problem(swapped).find(":5: record 3 of T: ids must ascend"), std::string::npos) << Problem(swapped);
  auto counts = lines;
  counts[5] = dump::endLine(1, 3);
  EXPECT_NE(Problem(counts).find("the file holds 1 and 2"), std::string::npos);
  auto unknown = lines;
  unknown[2] = dump::objectLine("Nope");
  EXPECT_NE(Problem(unknown).find(":3: object 'Nope' is not an object"), std::string::npos);
  auto version = lines;
  version[0] = "{\"format\":\"cotenant-tenant-dump\",\"version\":2}\n";
  EXPECT_NE(Problem(version).find(":1: dump format version 2 is not supported"), std::string::npos);
  auto config = lines;
  config[1] = dump::configLine("version: 1\ntenants:\n  - name: acme\n    kind: nonsense\n");
  EXPECT_NE(Problem(config).find("(configuration):4:11: tenant 'acme': unknown kind"), std::string::npos) << Problem(config);
  auto after = lines;
  after.push_back("{}\n");
  EXPECT_NE(Problem(after).find("text after the end line"), std::string::npos);
}

config::ServerState Target(bool withVendor, bool crossOn) {
  config::ServerState st;
  st.systemTenant = "system";
  st.cfg.tenants["system"].name = "system";
  st.cfg.tenants["system"].kind = "system";
  st.cfg.settings["crossTenantRoles"] = crossOn ? "true" : "false";
  st.tenantIds["system"] = 1;
  if (withVendor) {
    auto& v = st.cfg.tenants["vendor"];
    v.name = "vendor";
    v.users["zed"] = config::CUser{"zed", "user", {}};
    st.tenantIds["vendor"] = 2;
    st.userIds[{"vendor", "zed"}] = 3;
  }
  return st;
}

TEST(RestorePlanTest, OnlyAddsAndReportsWhatTheTargetLacks) {
  Config slice = config::parseConfig(kSlice, "slice");
  auto rp = config::planRestore(slice, "acme", "acme2", Target(false, false));
  std::string report;
  for (const auto& n : rp.notRestored) report += n + "\n";
  EXPECT_NE(report.find("role 'r': member zed@vendor"), std::string::npos) << report;
  EXPECT_NE(report.find("policy 'p': designates tenant 'vendor'"), std::string::npos) << report;
  EXPECT_NE(report.find("permission set 'ps': user zed@vendor"), std::string::npos) << report;
  EXPECT_NE(report.find("permission set 'ps': applies to tenant 'vendor'"), std::string::npos) << report;
  for (const auto& c : rp.plan.changes) EXPECT_NE(c.sign, '-') << c.text;

  rp = config::planRestore(slice, "acme", "acme2", Target(true, false));
  report.clear();
  for (const auto& n : rp.notRestored) report += n + "\n";
  EXPECT_NE(report.find("the crossTenantRoles setting is off here"), std::string::npos) << report;

  rp = config::planRestore(slice, "acme", "acme2", Target(true, true));
  std::vector<std::string> texts;
  for (const auto& c : rp.plan.changes) texts.push_back(c.text);
  EXPECT_TRUE(std::count(texts.begin(), texts.end(), "add member zed@vendor to role acme2/r") == 1);
  EXPECT_TRUE(std::count(texts.begin(), texts.end(), "create policy acme2/p (designates vendor)") == 1);
  EXPECT_TRUE(std::count(texts.begin(), texts.end(), "create permission set ps") == 1);
  EXPECT_EQ(rp.notRestored.size(), 1u);  // the set's user of the other tenant

  // A taken name is a Conflict.
  auto taken = Target(true, true);
  taken.cfg.tenants["acme2"].name = "acme2";
  try {
    config::planRestore(slice, "acme", "acme2", taken);
    ADD_FAILURE() << "no conflict";
  } catch (const config::ServerError& e) {
    EXPECT_EQ(e.code(), ErrorCode::Conflict);
  }
}

}  // namespace
}  // namespace cotenant::cli
