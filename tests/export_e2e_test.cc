// End-to-end: `cotenant export-records` run as a user runs it (argv, the COTENANT_*
// environment, exit code, stdout, stderr, the --output file) against a real cotenantd, and
// its output loaded back with the real `cotenant-import`.
//
// What is checked: export then import into a second tenant's object of the same shape gives
// the same records by content (JSON Lines exactly; CSV up to an empty text becoming null),
// over many pages; --where exports only matching records and a bad criteria string fails as
// `record search` fails; --context exports only what the data-sharing policy lets through
// (rows and fields) and is refused without a policy; failures exit with the CLI's codes, say
// why on stderr, and with --output leave no file behind, also when the export stops midway.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/e2e_util.h"

namespace cotenant::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int64_t kMay1 = int64_t{1714521600} * 1000000;  // 2024-05-01T00:00:00Z
constexpr int64_t kYear1 = int64_t{-62135596800} * 1000000;  // 0001-01-01T00:00:00Z
constexpr int64_t kYear9999End = int64_t{253402300799} * 1000000 + 999999;
constexpr int kExitOk = 0;
constexpr int kExitUsage = 2;
constexpr int kExitDenied = 3;
constexpr int kExitNotFound = 4;
constexpr int kExitRejected = 5;
const milliseconds kRunTimeout{60000};

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

using RunResult = ToolResult;

// A value as text that tells types apart, so records compare by content.
std::string Canonical(const Value& v) {
  static const char* kTypes[] = {"null", "text", "int", "float", "bool", "timestamp"};
  return nlohmann::json::array({kTypes[static_cast<int>(v.type())], v.isNull() ? "" : v.toString()}).dump();
}

// Each record's `fields` (absent ones as null), sorted: a multiset of records by content.
std::vector<std::string> Contents(const std::vector<Record>& records,
                                  const std::vector<std::string>& fields) {
  std::vector<std::string> out;
  for (const Record& r : records) {
    std::string row;
    for (const std::string& f : fields) row += f + "=" + Canonical(r.get(f)) + ";";
    out.push_back(row);
  }
  std::sort(out.begin(), out.end());
  return out;
}

void AddAll(Client& client, const std::string& object, const std::vector<Parameters>& records) {
  for (size_t i = 0; i < records.size(); i += 500) {
    std::vector<Parameters> batch(records.begin() + static_cast<std::ptrdiff_t>(i),
                                  records.begin() + static_cast<std::ptrdiff_t>(std::min(records.size(), i + 500)));
    auto reply = client.importRecords(object, batch, ImportBatch{});
    ASSERT_TRUE(reply.ok()) << reply.getMessage();
    for (const auto& e : reply.value().results) ASSERT_TRUE(e.ok()) << e.message;
  }
}

// Samples: one field of every type.
const std::vector<FieldDef> kSampleFields = {{"label", FieldType::Text, true, false},
                                             {"note", FieldType::Text, false, false},
                                             {"n", FieldType::Int, false, true},
                                             {"x", FieldType::Float, false, false},
                                             {"flag", FieldType::Bool, false, false},
                                             {"at", FieldType::Timestamp, false, false}};
const std::vector<std::string> kSampleNames = {"label", "note", "n", "x", "flag", "at"};

struct Sample {
  std::string label;
  std::optional<std::string> note;
  std::optional<int64_t> n;
  std::optional<double> x;
  std::optional<bool> flag;
  std::optional<int64_t> at;
};

Parameters ToParams(const Sample& s) {
  Parameters p;
  p.add("label", s.label);
  if (s.note) p.add("note", *s.note); else p.addNull("note");
  if (s.n) p.add("n", *s.n); else p.addNull("n");
  if (s.x) p.add("x", *s.x); else p.addNull("x");
  if (s.flag) p.add("flag", *s.flag); else p.addNull("flag");
  if (s.at) p.addTimestamp("at", *s.at); else p.addNull("at");
  return p;
}

// The awkward values (delimiters, quotes, line ends, non-ASCII, nulls, extremes of every
// type), then plain rows, 61 in all: many pages of --page 7.
std::vector<Sample> Samples() {
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  std::vector<Sample> s = {
      {"comma", "a,b,c", 1, 0.1, true, kMay1 + 123456},
      {"quote", "say \"hi\", \"\"twice\"\"", -1, 1e300, false, int64_t{-1}},
      {"newline", "line1\nline2\r\nline3\r", kMin, -2.5, std::nullopt, int64_t{0}},
      {"unicode", "Ünïcödé — 日本語 🎉", kMax, 5e-324, true, kMay1},
      {"nulls", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt},
      {"empty", "", 0, 0.0, false, kYear1},
      {"blanks", "  padded\t ", 42, 1.7976931348623157e308, true, kYear9999End},
      {"label, \"quoted\"\nand split", "007", -42, -1e-300, false, kMay1 + 1},
      {"jsonish", "{\"a\": [1, null]}", 7, 123456789.125, std::nullopt, kMay1 - 1},
      {"words", "null", 9007199254740993, 1e21, true, kMay1 + 999999},
      {"=formula", "\\back\\slash\\", -9007199254740993, 0.30000000000000004, false, std::nullopt},
  };
  for (int i = 0; i < 50; ++i) {
    Sample x;
    x.label = "row-" + std::to_string(i);
    if (i % 2 == 0) x.note = "note " + std::to_string(i) + ", with a comma";
    x.n = (i % 2 == 0 ? 1 : -1) * int64_t{1000003} * i;
    x.x = i / 10.0;
    x.flag = i % 3 == 0;
    x.at = kMay1 + int64_t{1000001} * i;
    s.push_back(x);
  }
  return s;
}

class ExportTest : public SharedServerTest<ExportTest> {
 protected:
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  std::map<std::string, std::string> EnvFor(uint64_t tenant, const std::string& key) const {
    return ToolEnv(*server_, tenant, key);
  }

  RunResult RunAs(const std::string& binary, uint64_t tenant, const std::string& key,
                  const std::vector<std::string>& args) {
    return RunTool(binary, args, EnvFor(tenant, key), dir_.path());
  }
  RunResult Cli(const TenantHandle& t, const std::vector<std::string>& args) {
    return RunAs(CliPath(), t.id, t.key, args);
  }
  RunResult Import(const TenantHandle& t, const std::vector<std::string>& args) {
    return RunAs(ImporterPath(), t.id, t.key, args);
  }

  // A tenant with the Samples object (and Customers, from MakeTenant).
  TenantHandle SampleTenant(const std::string& name) {
    TenantHandle t = Tenant(name);
    auto o = t.client->createObject(0, "Samples", kSampleFields);
    EXPECT_TRUE(o.ok()) << o.getMessage();
    return t;
  }

  // `publisher` lets `consumer` read Customers as a designated user whose role may read,
  // within `rowFilter` and the `fields` allow-list. Returns the API key of a plain user of
  // the consumer (no roles of its own).
  std::string Share(const TenantHandle& publisher, const TenantHandle& consumer,
                    const std::string& rowFilter, const std::vector<std::string>& fields) {
    auto designated = publisher.client->createUser(0, "reader-for-" + std::to_string(consumer.id),
                                                   AdminLevel::User);
    EXPECT_TRUE(designated.ok()) << designated.getMessage();
    EXPECT_TRUE(publisher.client->createRole(0, "customers-read", {{"Customers", Rights{true, false, false, false}}}).ok());
    EXPECT_TRUE(publisher.client->addRoleMember(0, "customers-read", publisher.id, designated.value().user.id).ok());
    PolicyInfo policy;
    policy.name = "share-" + std::to_string(consumer.id);
    policy.designated = consumer.id;
    policy.userId = designated.value().user.id;
    policy.scope = {{"Customers", rowFilter, fields}};
    auto created = publisher.client->createPolicy(0, policy);
    EXPECT_TRUE(created.ok()) << created.getMessage();
    auto reader = consumer.client->createUser(0, "exporter", AdminLevel::User);
    EXPECT_TRUE(reader.ok()) << reader.getMessage();
    return reader.value().apiKey;
  }

  // Customers of `t`: people p0..p{n-1}, ages 0..n-1 except every tenth null.
  static void AddCustomers(TenantHandle& t, int n) {
    std::vector<Parameters> records;
    for (int i = 0; i < n; ++i) {
      Parameters p;
      p.add("first_name", "p" + std::to_string(i)).add("last_name", "Last, \"" + std::to_string(i) + "\"");
      if (i % 10 == 9) p.addNull("age"); else p.add("age", int64_t{i});
      p.add("vip", i % 2 == 0).addTimestamp("joined", kMay1 + i);
      records.push_back(p);
    }
    AddAll(*t.client, "Customers", records);
  }

  TempDir dir_;
};

// ---- round trips -----------------------------------------------------------------------------

// JSON Lines: export over many pages, import into another tenant's Samples: the same
// records by content, every awkward value exact (the empty text included).
TEST_F(ExportTest, JsonLinesRoundTripIntoAnotherTenantKeepsEveryValue) {
  TenantHandle src = SampleTenant("rt-jsonl-src");
  TenantHandle dst = SampleTenant("rt-jsonl-dst");
  std::vector<Parameters> records;
  for (const Sample& s : Samples()) records.push_back(ToParams(s));
  AddAll(*src.client, "Samples", records);
  auto source = AllRecords(*src.client, "Samples");
  ASSERT_EQ(source.size(), 61u);

  RunResult r = Cli(src, {"export-records", "Samples", "--page", "7", "--output", "samples.jsonl"});
  ASSERT_EQ(r.code, kExitOk) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("export-records: 61 records of Samples written to samples.jsonl"), std::string::npos) << r;
  EXPECT_FALSE(Exists(Path("samples.jsonl.tmp")));
  std::vector<std::string> lines = Lines(ReadFile(Path("samples.jsonl")));
  ASSERT_EQ(lines.size(), 61u);
  // Fields in declaration order, no ids; values in the importer's forms.
  EXPECT_EQ(lines[0], "{\"label\":\"comma\",\"note\":\"a,b,c\",\"n\":1,\"x\":0.1,\"flag\":true,"
                      "\"at\":\"2024-05-01T00:00:00.123456Z\"}");
  EXPECT_EQ(lines[4], "{\"label\":\"nulls\",\"note\":null,\"n\":null,\"x\":null,\"flag\":null,\"at\":null}");
  EXPECT_NE(ReadFile(Path("samples.jsonl")).find("\"x\":1e+300"), std::string::npos);

  r = Import(dst, {"Samples", "samples.jsonl"});
  ASSERT_EQ(r.code, kExitOk) << r;
  auto copy = AllRecords(*dst.client, "Samples");
  EXPECT_EQ(Contents(copy, kSampleNames), Contents(source, kSampleNames));

  // Standard output is the default, and --quiet leaves stderr empty.
  r = Cli(src, {"export-records", "Samples", "--page", "7", "--quiet"});
  ASSERT_EQ(r.code, kExitOk) << r;
  EXPECT_EQ(r.out, ReadFile(Path("samples.jsonl")));
  EXPECT_EQ(r.err, "");
}

// CSV: a header of the field names, RFC 4180 quoting; the import gives the same records,
// except that an empty text comes back null (a CSV cell cannot tell them apart).
TEST_F(ExportTest, CsvRoundTripIntoAnotherTenantKeepsEveryValueButEmptyText) {
  TenantHandle src = SampleTenant("rt-csv-src");
  TenantHandle dst = SampleTenant("rt-csv-dst");
  std::vector<Parameters> records;
  std::vector<Sample> samples = Samples();
  for (const Sample& s : samples) records.push_back(ToParams(s));
  AddAll(*src.client, "Samples", records);
  auto source = AllRecords(*src.client, "Samples");
  ASSERT_EQ(source.size(), 61u);

  RunResult r = Cli(src, {"export-records", "Samples", "--format", "csv", "--page", "7",
                          "--output", "samples.csv"});
  ASSERT_EQ(r.code, kExitOk) << r;
  std::string csv = ReadFile(Path("samples.csv"));
  ASSERT_EQ(csv.rfind("label,note,n,x,flag,at\n"
                      "comma,\"a,b,c\",1,0.1,true,2024-05-01T00:00:00.123456Z\n"
                      "quote,\"say \"\"hi\"\", \"\"\"\"twice\"\"\"\"\",-1,1e+300,false,1969-12-31T23:59:59.999999Z\n",
                      0),
            0u)
      << csv.substr(0, 400);
  EXPECT_NE(csv.find("\nnulls,,,,,\n"), std::string::npos);
  EXPECT_NE(csv.find("\n\"label, \"\"quoted\"\"\nand split\",007,"), std::string::npos);

  r = Import(dst, {"Samples", "samples.csv"});
  ASSERT_EQ(r.code, kExitOk) << r;
  // What the CSV can say: the source with every empty text as null.
  std::vector<Parameters> expected_params;
  for (Sample s : samples) {
    if (s.note && s.note->empty()) s.note.reset();
    expected_params.push_back(ToParams(s));
  }
  TenantHandle expected = SampleTenant("rt-csv-expected");
  AddAll(*expected.client, "Samples", expected_params);
  auto copy = AllRecords(*dst.client, "Samples");
  EXPECT_EQ(Contents(copy, kSampleNames), Contents(AllRecords(*expected.client, "Samples"), kSampleNames));
  EXPECT_NE(Contents(copy, kSampleNames), Contents(source, kSampleNames));  // the empty note
}

// --with-ids writes id and version first; the importer takes the file with --skip id
// --skip version (new ids), in both formats.
TEST_F(ExportTest, WithIdsAddsIdAndVersionFirstAndReimportsWithSkip) {
  TenantHandle src = SampleTenant("ids-src");
  TenantHandle dst = SampleTenant("ids-dst");
  std::vector<Parameters> records;
  for (const Sample& s : Samples()) records.push_back(ToParams(s));
  AddAll(*src.client, "Samples", records);
  auto source = AllRecords(*src.client, "Samples");
  ASSERT_EQ(source.size(), 61u);
  Parameters bump;
  bump.add("n", int64_t{5});
  ASSERT_TRUE(src.client->updateRecord("Samples", source[0].id(), bump).ok());
  source = AllRecords(*src.client, "Samples");

  RunResult r = Cli(src, {"export-records", "Samples", "--with-ids", "--page", "10", "--output", "ids.jsonl"});
  ASSERT_EQ(r.code, kExitOk) << r;
  std::vector<std::string> lines = Lines(ReadFile(Path("ids.jsonl")));
  ASSERT_EQ(lines.size(), 61u);
  EXPECT_EQ(lines[0].rfind("{\"id\":\"" + source[0].idString() + "\",\"version\":2,\"label\":\"comma\",", 0), 0u)
      << lines[0];
  r = Cli(src, {"export-records", "Samples", "--with-ids", "--format", "csv", "--output", "ids.csv"});
  ASSERT_EQ(r.code, kExitOk) << r;
  std::string csv = ReadFile(Path("ids.csv"));
  EXPECT_EQ(csv.rfind("id,version,label,note,n,x,flag,at\n" + source[0].idString() + ",2,comma,", 0), 0u)
      << csv.substr(0, 200);

  // Without --skip the importer refuses the id column; with it, the records come back.
  r = Import(dst, {"Samples", "ids.csv"});
  EXPECT_NE(r.code, kExitOk) << r;
  EXPECT_TRUE(AllRecords(*dst.client, "Samples").empty());
  r = Import(dst, {"Samples", "ids.jsonl", "--skip", "id", "--skip", "version"});
  ASSERT_EQ(r.code, kExitOk) << r;
  EXPECT_EQ(Contents(AllRecords(*dst.client, "Samples"), kSampleNames), Contents(source, kSampleNames));
}

// ---- what is exported ------------------------------------------------------------------------

// --where (with --param) exports exactly the records the same criteria find; a bad criteria
// string fails with the parser's message and exit code, exactly as `record search` does.
TEST_F(ExportTest, WhereExportsOnlyMatchingRecordsAndBadCriteriaFailLikeSearch) {
  TenantHandle t = Tenant("where");
  AddCustomers(t, 40);
  const std::vector<std::string> fields = {"first_name", "last_name", "age", "vip", "joined"};
  auto expected = AllRecords(*t.client, "Customers", nullptr, "age >= 25 AND vip = true");
  ASSERT_EQ(expected.size(), 7u);  // 26, 28, 30, 32, 34, 36, 38

  RunResult r = Cli(t, {"export-records", "Customers", "--where", "age >= ? AND vip = ?", "--param", "25",
                        "--param", "true", "--page", "2", "--output", "w.jsonl"});
  ASSERT_EQ(r.code, kExitOk) << r;
  TenantHandle back = Tenant("where-back");
  r = Import(back, {"Customers", "w.jsonl"});
  ASSERT_EQ(r.code, kExitOk) << r;
  EXPECT_EQ(Contents(AllRecords(*back.client, "Customers"), fields), Contents(expected, fields));

  r = Cli(t, {"export-records", "Customers", "--format", "csv", "--where", "age >= 25 AND vip = true"});
  ASSERT_EQ(r.code, kExitOk) << r;
  EXPECT_EQ(Lines(r.out).size(), 1u + 7u) << r;  // the header and the 7 records

  // The criteria parser's answer, as record search gives it.
  RunResult search = Cli(t, {"record", "search", "Customers", "--where", "age >>= 3"});
  ASSERT_NE(search.code, kExitOk) << search;
  ASSERT_NE(search.err, "");
  r = Cli(t, {"export-records", "Customers", "--where", "age >>= 3", "--output", "bad.jsonl"});
  EXPECT_EQ(r.code, search.code) << r;
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_EQ(r.err, search.err);
  EXPECT_NE(r.err.find("InvalidArgument"), std::string::npos) << r;
  EXPECT_FALSE(Exists(Path("bad.jsonl")));
  EXPECT_FALSE(Exists(Path("bad.jsonl.tmp")));
  // An unknown field in the criteria, likewise.
  search = Cli(t, {"record", "search", "Customers", "--where", "shoe_size = 3"});
  r = Cli(t, {"export-records", "Customers", "--where", "shoe_size = 3"});
  EXPECT_EQ(r.code, search.code) << r;
  EXPECT_EQ(r.err, search.err);
  EXPECT_EQ(r.out, "");

  // Mistakes of the command line itself are usage errors.
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"export-records", "Customers", "--sort", "age:sideways"},
        std::vector<std::string>{"export-records", "Customers", "--page", "0"},
        std::vector<std::string>{"export-records", "Customers", "--format", "xml"},
        std::vector<std::string>{"export-records", "Customers", "--json"}}) {
    r = Cli(t, bad);
    EXPECT_EQ(r.code, kExitUsage) << bad.back() << "\n" << r;
    EXPECT_EQ(r.out, "") << r;
  }
}

// Through a data-sharing policy: only the rows of its filter, only the fields of its
// allow-list (absent from JSON Lines and from the CSV header), over several pages; without
// a policy the context is refused as `record search --context` refuses it.
TEST_F(ExportTest, ContextExportsOnlyWhatThePolicyAllowsAndIsRefusedWithoutOne) {
  TenantHandle pub = Tenant("ctx-pub");
  TenantHandle con = Tenant("ctx-con");
  TenantHandle stranger = Tenant("ctx-stranger");  // has no policy for con
  AddCustomers(pub, 30);
  const std::string key = Share(pub, con, "age >= 20", {"first_name", "age"});
  const std::string ctx = std::to_string(pub.id);
  auto sdk = Client::connect(server_->address(), con.id, key);
  TenantContext tc(*sdk, pub.id);
  auto visible = AllRecords(*sdk, "Customers", &tc);
  ASSERT_EQ(visible.size(), 9u);  // 20..28; 29 has a null age

  RunResult r = RunAs(CliPath(), con.id, key,
                      {"export-records", "Customers", "--context", ctx, "--page", "2", "--output", "ctx.jsonl"});
  ASSERT_EQ(r.code, kExitOk) << r;
  std::vector<std::string> lines = Lines(ReadFile(Path("ctx.jsonl")));
  ASSERT_EQ(lines.size(), 9u);
  EXPECT_EQ(lines[0], "{\"first_name\":\"p20\",\"age\":20}");  // the allowed fields, in order
  for (const std::string& line : lines) {
    nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j.size(), 2u) << line;
    EXPECT_GE(j.value("age", int64_t{0}), 20) << line;
  }
  EXPECT_EQ(ReadFile(Path("ctx.jsonl")).find("last_name"), std::string::npos);
  EXPECT_EQ(ReadFile(Path("ctx.jsonl")).find("vip"), std::string::npos);

  r = RunAs(CliPath(), con.id, key, {"export-records", "Customers", "--context", ctx, "--format", "csv"});
  ASSERT_EQ(r.code, kExitOk) << r;
  lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 10u) << r;
  EXPECT_EQ(lines[0], "first_name,age");
  EXPECT_EQ(lines[1], "p20,20");

  // The consumer's copy through the CSV: the shared rows and fields, nothing more.
  WriteFile(Path("ctx.csv"), r.out);
  TenantHandle back = Tenant("ctx-back");
  r = Import(back, {"Customers", "ctx.csv"});
  ASSERT_EQ(r.code, kExitOk) << r;
  auto copy = AllRecords(*back.client, "Customers");
  const std::vector<std::string> all_fields = {"first_name", "last_name", "age", "vip", "joined"};
  EXPECT_EQ(Contents(copy, all_fields), Contents(visible, all_fields));

  // A hidden field is no field: naming it is answered as an unknown one.
  RunResult hidden = RunAs(CliPath(), con.id, key,
                           {"export-records", "Customers", "--context", ctx, "--where", "vip = true"});
  RunResult unknown = RunAs(CliPath(), con.id, key,
                            {"export-records", "Customers", "--context", ctx, "--where", "shoe_size = true"});
  EXPECT_EQ(hidden.code, kExitRejected) << hidden;
  EXPECT_EQ(hidden.code, unknown.code);
  EXPECT_NE(hidden.err.find("InvalidArgument"), std::string::npos) << hidden;

  // No policy of `stranger` admits con: refused as record search --context is, with the
  // same words as for a tenant that does not exist; no file is written.
  const std::string sctx = std::to_string(stranger.id);
  RunResult search = RunAs(CliPath(), con.id, key, {"record", "search", "Customers", "--context", sctx});
  EXPECT_EQ(search.code, kExitDenied) << search;
  r = RunAs(CliPath(), con.id, key, {"export-records", "Customers", "--context", sctx, "--output", "s.jsonl"});
  EXPECT_EQ(r.code, kExitDenied) << r;
  EXPECT_EQ(r.err, search.err);
  EXPECT_NE(r.err.find("no data-sharing policy of tenant " + sctx), std::string::npos) << r;
  EXPECT_FALSE(Exists(Path("s.jsonl")));
  EXPECT_FALSE(Exists(Path("s.jsonl.tmp")));
  RunResult nobody = RunAs(CliPath(), con.id, key, {"export-records", "Customers", "--context", "987654321"});
  EXPECT_EQ(nobody.code, kExitDenied) << nobody;
  EXPECT_NE(nobody.err.find("no data-sharing policy of tenant 987654321"), std::string::npos) << nobody;
}

// ---- failures --------------------------------------------------------------------------------

// A missing object exits 4 and, with --output, creates nothing and leaves an older FILE as
// it was.
TEST_F(ExportTest, MissingObjectExitsNotFoundAndLeavesNoFile) {
  TenantHandle t = Tenant("missing");
  RunResult r = Cli(t, {"export-records", "Nope", "--output", "nope.jsonl"});
  EXPECT_EQ(r.code, kExitNotFound) << r;
  EXPECT_NE(r.err.find("cotenant: NotFound: "), std::string::npos) << r;
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(Exists(Path("nope.jsonl")));
  EXPECT_FALSE(Exists(Path("nope.jsonl.tmp")));

  WriteFile(Path("old.csv"), "an older export\n");
  r = Cli(t, {"export-records", "Nope", "--format", "csv", "--output", "old.csv"});
  EXPECT_EQ(r.code, kExitNotFound) << r;
  EXPECT_EQ(ReadFile(Path("old.csv")), "an older export\n");
  EXPECT_FALSE(Exists(Path("old.csv.tmp")));
}

// The server refuses a page midway (the tenant's calls-per-second quota): the export exits
// with that error, says how far it got, and leaves neither FILE nor FILE.tmp.
TEST_F(ExportTest, FailureMidwayLeavesNoFileAndSaysHowFarItGot) {
  TenantHandle t = Tenant("midway-file");
  AddCustomers(t, 60);
  Quota q;
  q.callsPerSecond = 5;  // one page per call below: 60 calls cannot fit in a second's burst
  ASSERT_TRUE(admin_->setQuota(t.id, q).ok());
  WriteFile(Path("mid.jsonl"), "an older export\n");
  RunResult r = Cli(t, {"export-records", "Customers", "--page", "1", "--output", "mid.jsonl"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_NE(r.err.find("cotenant: ResourceExhausted: "), std::string::npos) << r;
  EXPECT_NE(r.err.find("(export stopped after "), std::string::npos) << r;
  EXPECT_NE(r.err.find("; mid.jsonl was not written)"), std::string::npos) << r;
  EXPECT_EQ(ReadFile(Path("mid.jsonl")), "an older export\n");
  EXPECT_FALSE(Exists(Path("mid.jsonl.tmp")));
  ASSERT_TRUE(admin_->setQuota(t.id, Quota{}).ok());
}

// Standard output cannot be taken back: when the policy is deleted while the export is
// under way (held by a full pipe), what was written is whole lines, and stderr and the
// exit code say the output is incomplete.
TEST_F(ExportTest, PolicyRevokedMidwayOnStandardOutputFailsAndSaysTheOutputIsIncomplete) {
  TenantHandle pub = Tenant("mid-pub");
  TenantHandle con = Tenant("mid-con");
  AddCustomers(pub, 400);
  const std::string key = Share(pub, con, "", {});
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::fcntl(fds[0], F_SETPIPE_SZ, 4096);  // the export blocks after a few pages
  ToolProcess tool;
  ASSERT_TRUE(tool.Start(CliPath(), {"export-records", "Customers", "--context", std::to_string(pub.id), "--page", "10"},
                         EnvFor(con.id, key), dir_.path(), "", fds[1]));
  ::close(fds[1]);
  std::string out;
  char buf[4096];
  // Reads what the pipe holds; false at its end (the export exited) or on an error.
  auto read_some = [&](int timeout_ms) {
    pollfd p{fds[0], POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return true;  // nothing yet
    ssize_t n = ::read(fds[0], buf, sizeof buf);
    if (n <= 0) return false;
    out.append(buf, static_cast<size_t>(n));
    return true;
  };
  // The first bytes: the export is under way, and cannot finish while the pipe is not read
  // (400 records are some 20 times what the pipe and the pages in hand hold).
  auto deadline = Clock::now() + kRunTimeout;
  while (out.empty() && Clock::now() < deadline && read_some(100)) {
  }
  ASSERT_FALSE(out.empty());
  ASSERT_TRUE(pub.client->deletePolicy(0, "share-" + std::to_string(con.id)).ok());
  while (Clock::now() < deadline && read_some(100)) {
  }
  ::close(fds[0]);
  RunResult r = tool.Wait();
  EXPECT_EQ(r.code, kExitDenied) << r;
  EXPECT_NE(r.err.find("cotenant: PermissionDenied: "), std::string::npos) << r;
  EXPECT_NE(r.err.find("; the output is incomplete)"), std::string::npos) << r;
  std::vector<std::string> lines = Lines(out);
  EXPECT_GT(lines.size(), 0u);
  EXPECT_LT(lines.size(), 400u);
  EXPECT_EQ(out.back(), '\n');
  for (const std::string& line : lines) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
}

}  // namespace
}  // namespace cotenant::testing
