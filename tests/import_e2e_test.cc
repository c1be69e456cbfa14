// End-to-end: the bulk loader `cotenant-import` run as a user runs it (argv, the
// COTENANT_* environment or flags, exit code, stdout and stderr) against a real cotenantd.
//
// The parser-level rules (every CSV and JSON corner, each coercion) are unit-tested beside
// the tool (tools/cotenant-import/reader_test.cc, mapping_test.cc). Here: what reaches the
// server and what the user is told — the records written (read back through the SDK), the
// reject file line by line, the --json summary and the exit code; resuming after the
// importer or the server is killed; and importing into another tenant through its
// data-sharing policy.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <regex>
#include <set>
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
constexpr int kExitOk = 0;
constexpr int kExitError = 1;
constexpr int kExitUsage = 2;
constexpr int kExitDenied = 3;
constexpr int kExitRejected = 5;
constexpr char kRejectHeader[] = "line,column,reason,text\n";

bool Exists(const std::string& path) { return std::filesystem::exists(path); }

using RunResult = ToolResult;

// stdout as the --json summary; null when it is not one.
nlohmann::json SummaryOf(const RunResult& r) {
  return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
}

// One cotenant-import process (ToolProcess).
class Importer : public ToolProcess {
 public:
  bool Start(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
             const std::string& cwd, const std::string& stdin_path = "") {
    return ToolProcess::Start(ImporterPath(), args, env, cwd, stdin_path);
  }
};

// The records by first_name (each name once: a second one is a failure).
std::map<std::string, Record> ByName(const std::vector<Record>& records) {
  std::map<std::string, Record> m;
  for (const Record& r : records) {
    std::string name = r.get("first_name").isNull() ? "<null>" : r.get("first_name").asText();
    EXPECT_TRUE(m.emplace(name, r).second) << "two records named " << name;
  }
  return m;
}

std::set<std::string> Names(const std::vector<Record>& records) {
  std::set<std::string> s;
  for (const auto& [name, r] : ByName(records)) s.insert(name);
  return s;
}

class ImportTest : public SharedServerTest<ImportTest> {
 protected:
  std::string Path(const std::string& name) const { return dir_.path() + "/" + name; }

  // Runs the importer to its end as `t`'s tenant admin, in the test's directory.
  RunResult Import(const TenantHandle& t, const std::vector<std::string>& args,
                   const std::string& stdin_path = "") {
    return ImportAs(t.id, t.key, args, stdin_path);
  }
  RunResult ImportAs(uint64_t tenant, const std::string& key, const std::vector<std::string>& args,
                     const std::string& stdin_path = "") {
    Importer imp;
    if (!imp.Start(args, ToolEnv(*server_, tenant, key), dir_.path(), stdin_path)) {
      ADD_FAILURE() << "cannot start " << ImporterPath();
      return {};
    }
    return imp.Wait();
  }

  // The summary of a --json run, checked for its shape and counts.
  static void ExpectSummary(const RunResult& r, uint64_t read, uint64_t added, uint64_t rejected) {
    nlohmann::json s = SummaryOf(r);
    ASSERT_TRUE(s.is_object()) << r;
    EXPECT_EQ(s.value("rowsRead", uint64_t{999999}), read) << r;
    EXPECT_EQ(s.value("added", uint64_t{999999}), added) << r;
    EXPECT_EQ(s.value("rejected", uint64_t{999999}), rejected) << r;
    ASSERT_TRUE(s["files"].is_array()) << r;
    uint64_t files_read = 0, files_added = 0, files_rejected = 0;
    for (const auto& f : s["files"]) {
      files_read += f.value("rowsRead", uint64_t{0});
      files_added += f.value("added", uint64_t{0});
      files_rejected += f.value("rejected", uint64_t{0});
    }
    EXPECT_EQ(files_read, read);
    EXPECT_EQ(files_added, added);
    EXPECT_EQ(files_rejected, rejected);
  }

  TempDir dir_;
};

// ---- CSV through the server ------------------------------------------------------------

// Quoted fields holding the delimiter, doubled quotes, line ends inside quotes and a
// byte-order mark before the header all reach the record as written; a file without a
// bad row exits 0 and leaves no reject file.
TEST_F(ImportTest, CsvQuotingEmbeddedNewlinesAndBomReachTheRecords) {
  TenantHandle t = Tenant("csv-quoting");
  WriteFile(Path("people.csv"),
            "\xEF\xBB\xBF" "first_name,last_name,age,vip,joined\n"
            "\"Smith, John\",plain,30,true,2024-05-01\n"
            "\"Say \"\"hi\"\"\",\"a \"\"b\"\", c\",31,false,2024-05-01T12:00:00Z\n"
            "\"Two\nLines\",y,32,yes,\n"
            "\"Crlf\r\nInside\",z,33,N,2024-05-01 12:00\r\n"
            "Plain,\"\",,,\n");
  RunResult r = Import(t, {"Customers", "people.csv", "--json"});
  EXPECT_EQ(r.code, kExitOk) << r;
  ExpectSummary(r, 5, 5, 0);
  EXPECT_TRUE(SummaryOf(r)["files"][0]["rejects"].is_null()) << r;
  EXPECT_FALSE(Exists(Path("people.csv.rejects.csv")));

  auto recs = ByName(AllRecords(*t.client, "Customers"));
  ASSERT_EQ(recs.size(), 5u);
  ASSERT_TRUE(recs.count("Smith, John"));
  const Record& smith = recs["Smith, John"];
  EXPECT_EQ(smith.get("last_name").asText(), "plain");
  EXPECT_EQ(smith.get("age").asInt(), 30);
  EXPECT_TRUE(smith.get("vip").asBool());
  EXPECT_EQ(smith.get("joined").asTimestamp(), kMay1);
  ASSERT_TRUE(recs.count("Say \"hi\""));
  EXPECT_EQ(recs["Say \"hi\""].get("last_name").asText(), "a \"b\", c");
  EXPECT_FALSE(recs["Say \"hi\""].get("vip").asBool());
  EXPECT_EQ(recs["Say \"hi\""].get("joined").asTimestamp(), kMay1 + int64_t{43200} * 1000000);
  ASSERT_TRUE(recs.count("Two\nLines"));  // the line end is in the value
  EXPECT_EQ(recs["Two\nLines"].get("age").asInt(), 32);
  EXPECT_TRUE(recs["Two\nLines"].get("joined").isNull());
  ASSERT_TRUE(recs.count("Crlf\r\nInside"));  // a quoted CRLF is data
  EXPECT_FALSE(recs["Crlf\r\nInside"].get("vip").asBool());
  EXPECT_EQ(recs["Crlf\r\nInside"].get("joined").asTimestamp(), kMay1 + int64_t{43200} * 1000000);
  ASSERT_TRUE(recs.count("Plain"));  // empty cells, quoted or not, are null
  EXPECT_TRUE(recs["Plain"].get("last_name").isNull());
  EXPECT_TRUE(recs["Plain"].get("age").isNull());
  // The byte-order mark did not become part of the first column's name, or of a value.
  for (const auto& [name, rec] : recs) EXPECT_EQ(name.find("\xEF\xBB\xBF"), std::string::npos);
}

// Bad values and rows of the wrong length become reject lines naming their (physical)
// line, the column and the reason, after rows spanning several lines; nothing of them is
// written, the rest of their batch is, and the exit code is 5.
TEST_F(ImportTest, BadCsvRowsAreRejectedWithLineColumnAndReason) {
  TenantHandle t = Tenant("csv-bad-values");
  WriteFile(Path("bad.csv"),
            "first_name,last_name,age,vip,joined\n"   // 1
            "\"Multi\nline\",a,1,true,\n"           // 2-3
            "BadInt,b,12x,true,\n"                    // 4
            "\"Three\n\nlines\",c,3,,\n"              // 5-7
            "BadBool,d,4,maybe,\n"                    // 8
            "\"Bad\nquoted\",\"e, \"\"f\"\"\",5,true,2024-13-45\n"  // 9-10
            "Short,only\n"                            // 11
            "Long,a,6,true,2024-05-01,extra\n"        // 12
            "Huge,g,99999999999999999999,,\n"         // 13
            "Good,h,7,y,2024-05-01\n"                // 14
            ",\"no\nfirst name\",8,,\n"               // 15-16: the server's reject
            "Last,i,9,,\n");                          // 17
  RunResult r = Import(t, {"Customers", "bad.csv", "--json", "--quiet"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  ExpectSummary(r, 11, 4, 7);
  EXPECT_EQ(SummaryOf(r)["files"][0]["rejects"], "bad.csv.rejects.csv") << r;
  EXPECT_EQ(ReadFile(Path("bad.csv.rejects.csv")),
            std::string(kRejectHeader) +
                "4,age,not an integer: '12x',\"BadInt,b,12x,true,\"\n"
                "8,vip,\"not a boolean (true/false, yes/no, 1/0): 'maybe'\",\"BadBool,d,4,maybe,\"\n"
                "9,joined,invalid timestamp '2024-13-45': month out of range 01..12,"
                "\"\"\"Bad\nquoted\"\",\"\"e, \"\"\"\"f\"\"\"\"\"\",5,true,2024-13-45\"\n"
                "11,,row has 2 cells; the header has 5 columns,\"Short,only\"\n"
                "12,,row has 6 cells; the header has 5 columns,\"Long,a,6,true,2024-05-01,extra\"\n"
                "13,age,integer out of range: '99999999999999999999',\"Huge,g,99999999999999999999,,\"\n"
                "15,,InvalidArgument: field 'first_name' is required,\",\"\"no\nfirst name\"\",8,,\"\n");
  EXPECT_EQ(Names(AllRecords(*t.client, "Customers")),
            (std::set<std::string>{"Multi\nline", "Three\n\nlines", "Good", "Last"}));
}

// A column that is no field of the object stops the import before anything is written,
// naming the column and the way out; --skip leaves it out and --map renames it.
TEST_F(ImportTest, UnknownColumnIsRefusedBeforeWritingUnlessSkippedOrMapped) {
  TenantHandle t = Tenant("csv-unknown-column");
  WriteFile(Path("extra.csv"), "first_name,shoe_size,age\nAnn,42,1\nBob,43,2\n");
  RunResult r = Import(t, {"Customers", "extra.csv"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_NE(r.err.find("column 'shoe_size' is not a field of the object (fields: first_name, "
                       "last_name, age, vip, joined); use --skip shoe_size or --map "
                       "shoe_size=FIELD"),
            std::string::npos)
      << r;
  EXPECT_TRUE(AllRecords(*t.client, "Customers").empty());
  EXPECT_FALSE(Exists(Path("extra.csv.rejects.csv")));
  // No checkpoint either: nothing started, so the next run is not told to --resume.
  EXPECT_FALSE(Exists(Path("extra.csv.checkpoint")));

  r = Import(t, {"Customers", "extra.csv", "--skip", "shoe_size", "--json"});
  EXPECT_EQ(r.code, kExitOk) << r;
  ExpectSummary(r, 2, 2, 0);
  auto recs = ByName(AllRecords(*t.client, "Customers"));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs["Ann"].get("age").asInt(), 1);
  EXPECT_TRUE(recs["Ann"].get("last_name").isNull());
  EXPECT_FALSE(recs["Ann"].has("shoe_size"));

  TenantHandle m = Tenant("csv-mapped-column");
  r = Import(m, {"Customers", "extra.csv", "--map", "shoe_size=last_name", "--quiet"});
  EXPECT_EQ(r.code, kExitOk) << r;
  recs = ByName(AllRecords(*m.client, "Customers"));
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs["Ann"].get("last_name").asText(), "42");
  EXPECT_EQ(recs["Bob"].get("last_name").asText(), "43");

  // A --map onto a field that does not exist is refused the same way.
  r = Import(m, {"Customers", "extra.csv", "--map", "shoe_size=size"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_NE(r.err.find("--map shoe_size=size: the object has no field 'size'"), std::string::npos) << r;
  EXPECT_EQ(AllRecords(*m.client, "Customers").size(), 2u);
}

// A row whose record is over the server's size limit (cotenantd --max-record-kb, 1024 KiB
// by default) is rejected by the server with its reason; the rows around it in the same
// batch are added.
TEST_F(ImportTest, RowOverTheRecordSizeLimitIsRejectedAndTheRestOfItsBatchAdded) {
  TenantHandle t = Tenant("csv-huge-field");
  const std::string big(1100 * 1024, 'x');
  const std::string huge_row = "Big" + big + ",huge,1,,";
  WriteFile(Path("huge.csv"),
            "first_name,last_name,age,vip,joined\nBefore,a,1,,\n" + huge_row + "\nAfter,b,2,,\n");
  RunResult r = Import(t, {"Customers", "huge.csv", "--json"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  ExpectSummary(r, 3, 2, 1);
  std::string rejects = ReadFile(Path("huge.csv.rejects.csv"));
  // (std::regex would recurse once per byte of the row: the line is taken apart by hand.)
  const std::string head = std::string(kRejectHeader) + "3,,ResourceExhausted: record of ";
  const std::string limit = " bytes exceeds the limit of 1048576 bytes,";
  ASSERT_EQ(rejects.compare(0, head.size(), head), 0) << rejects.substr(0, 300);
  size_t digits_end = rejects.find_first_not_of("0123456789", head.size());
  ASSERT_NE(digits_end, head.size()) << rejects.substr(0, 300);
  EXPECT_GT(std::stoull(rejects.substr(head.size(), digits_end - head.size())), 1048576u);
  ASSERT_EQ(rejects.compare(digits_end, limit.size(), limit), 0) << rejects.substr(0, 300);
  EXPECT_TRUE(rejects.substr(digits_end + limit.size()) == "\"" + huge_row + "\"\n")
      << "the reject line's text is not the row";
  EXPECT_EQ(Names(AllRecords(*t.client, "Customers")), (std::set<std::string>{"Before", "After"}));
}

// ---- JSON Lines --------------------------------------------------------------------------

TEST_F(ImportTest, JsonLinesBadRowsAreRejectedWithTheirLine) {
  TenantHandle t = Tenant("jsonl-rows");
  WriteFile(Path("rows.jsonl"),
            "{\"first_name\":\"J1\",\"age\":1,\"vip\":true,\"joined\":\"2024-05-01\"}\n"  // 1
            "not json\n"                                                            // 2
            "[1,2,3]\n"                                                             // 3
            "\n"                                                                    // 4
            "{\"first_name\":\"J2\",\"age\":\"7\"}\n"                               // 5
            "{\"first_name\":\"J3\",\"shoe\":1}\n"                                  // 6
            "{\"first_name\":\"J4\",\"joined\":1714521600000000,\"last_name\":null}\n"  // 7
            "{\"first_name\":\"J5\",\"age\":2.5}\n"                                 // 8
            "{\"last_name\":\"no first name\"}\n"                                   // 9
            "{\"first_name\":\"J6\",\"age\":3e1}\n");                               // 10
  RunResult r = Import(t, {"Customers", "rows.jsonl", "--json"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  ExpectSummary(r, 9, 3, 6);
  std::string rejects = ReadFile(Path("rows.jsonl.rejects.csv"));
  // The parser's own wording of an invalid line is its business; the line, the empty
  // column, the "invalid JSON: " reason and the text are the importer's.
  std::regex invalid("^line,column,reason,text\n2,,\"invalid JSON: [^\n]*\",not json\n");
  EXPECT_TRUE(std::regex_search(rejects, invalid)) << rejects;
  size_t rest = rejects.find("3,,");
  ASSERT_NE(rest, std::string::npos) << rejects;
  EXPECT_EQ(rejects.substr(rest),
            "3,,a JSON Lines row must be an object,\"[1,2,3]\"\n"
            "5,age,\"int field 'age' cannot take a JSON string: '\"\"7\"\"'\","
            "\"{\"\"first_name\"\":\"\"J2\"\",\"\"age\"\":\"\"7\"\"}\"\n"
            "6,shoe,not a field of the object,\"{\"\"first_name\"\":\"\"J3\"\",\"\"shoe\"\":1}\"\n"
            "8,age,not an integer: '2.5',\"{\"\"first_name\"\":\"\"J5\"\",\"\"age\"\":2.5}\"\n"
            "9,,InvalidArgument: field 'first_name' is required,"
            "\"{\"\"last_name\"\":\"\"no first name\"\"}\"\n");
  auto recs = ByName(AllRecords(*t.client, "Customers"));
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_TRUE(recs["J1"].get("vip").asBool());
  EXPECT_EQ(recs["J1"].get("joined").asTimestamp(), kMay1);
  EXPECT_EQ(recs["J4"].get("joined").asTimestamp(), kMay1);
  EXPECT_TRUE(recs["J4"].get("last_name").isNull());
  EXPECT_EQ(recs["J6"].get("age").asInt(), 30);
}

// ---- input forms -------------------------------------------------------------------------

TEST_F(ImportTest, NoHeaderTabDelimiterGzipAndStandardInput) {
  TenantHandle t = Tenant("input-forms");
  // Without a header, columns are the object's fields in declaration order.
  WriteFile(Path("nohead.csv"), "N1,last,5,true,2024-05-01\nN2\nN3,a,6,t,2024-05-01,extra\n");
  RunResult r = Import(t, {"Customers", "nohead.csv", "--no-header", "--json"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  ExpectSummary(r, 3, 2, 1);
  EXPECT_EQ(ReadFile(Path("nohead.csv.rejects.csv")),
            std::string(kRejectHeader) +
                "3,,row has 6 cells; the object has 5 fields,\"N3,a,6,t,2024-05-01,extra\"\n");

  WriteFile(Path("tabs.tsv"),
            "first_name\tlast_name\tage\nT1\tcomma, inside\t7\n\"T2\ttab\"\tq\t8\nT3\tr\tx\n");
  r = Import(t, {"Customers", "tabs.tsv", "--delimiter", "tab", "--quiet"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_EQ(ReadFile(Path("tabs.tsv.rejects.csv")),
            std::string(kRejectHeader) + "4,age,not an integer: 'x',T3\tr\tx\n");

  // gzip, told by its magic bytes; the reject file names the row's line of the content.
  // Stopped after its first bad row and resumed: the resumed run reads on from the
  // checkpoint's offset in the decompressed content.
  WriteFile(Path("zipped.csv"), "first_name,age\nZ1,1\nZ2,oops\nZ3,3\nZ4,4\nZ5,5\n");
  ASSERT_EQ(RunCommand("gzip -c '" + Path("zipped.csv") + "' > '" + Path("zipped.csv.gz") + "'"), 0);
  r = Import(t, {"Customers", "zipped.csv.gz", "--max-errors", "1", "--batch", "1", "--window", "1"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_NE(r.err.find("stopped after 1 rejected rows"), std::string::npos) << r;
  r = Import(t, {"Customers", "zipped.csv.gz", "--batch", "1", "--resume", "--json"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  ExpectSummary(r, 5, 4, 1);
  EXPECT_TRUE(SummaryOf(r)["files"][0].value("resumed", false)) << r;
  EXPECT_EQ(ReadFile(Path("zipped.csv.gz.rejects.csv")),
            std::string(kRejectHeader) + "3,age,not an integer: 'oops',\"Z2,oops\"\n");

  // A delimiter that cannot be one is a usage error.
  r = Import(t, {"Customers", "tabs.tsv", "--delimiter", "\""});
  EXPECT_EQ(r.code, kExitUsage) << r;
  EXPECT_NE(r.err.find("--delimiter must be one character other than a quote"), std::string::npos) << r;

  // Standard input, with the connection given as flags instead of the environment. Its
  // reject file is stdin.rejects.csv in the working directory; it leaves no checkpoint.
  WriteFile(Path("piped.jsonl"), "{\"first_name\":\"S1\"}\n{\"first_name\":\"S2\",\"age\":\"a\"}\n");
  Importer imp;
  ASSERT_TRUE(imp.Start({"Customers", "-", "--format", "jsonl", "--json", "--addr", server_->address(),
                         "--tenant", std::to_string(t.id), "--key", t.key},
                        {}, dir_.path(), Path("piped.jsonl")));
  r = imp.Wait();
  EXPECT_EQ(r.code, kExitRejected) << r;
  ExpectSummary(r, 2, 1, 1);
  EXPECT_EQ(ReadFile(Path("stdin.rejects.csv")),
            std::string(kRejectHeader) +
                "2,age,\"int field 'age' cannot take a JSON string: '\"\"a\"\"'\","
                "\"{\"\"first_name\"\":\"\"S2\"\",\"\"age\"\":\"\"a\"\"}\"\n");
  EXPECT_FALSE(Exists(Path("stdin.checkpoint")));
  // Standard input cannot be resumed.
  r = Import(t, {"Customers", "-", "--resume"}, Path("piped.jsonl"));
  EXPECT_EQ(r.code, kExitUsage) << r;
  EXPECT_NE(r.err.find("--resume needs a regular file"), std::string::npos) << r;

  auto recs = ByName(AllRecords(*t.client, "Customers"));
  EXPECT_EQ(Names(AllRecords(*t.client, "Customers")),
            (std::set<std::string>{"N1", "N2", "T1", "T2\ttab", "Z1", "Z3", "Z4", "Z5", "S1"}));
  EXPECT_EQ(recs["N1"].get("last_name").asText(), "last");
  EXPECT_EQ(recs["N1"].get("joined").asTimestamp(), kMay1);
  EXPECT_TRUE(recs["N2"].get("age").isNull());
  EXPECT_EQ(recs["T1"].get("last_name").asText(), "comma, inside");
  EXPECT_EQ(recs["Z3"].get("age").asInt(), 3);
}

// ---- stopping early, and checking only ---------------------------------------------------

// --max-errors N stops the import once N rows are rejected: later rows are not read, the
// exit code is 5, the message says where the rejects are and the --json summary is still
// printed; --resume then finishes it.
TEST_F(ImportTest, MaxErrorsStopsTheImportAndResumeFinishesIt) {
  TenantHandle t = Tenant("max-errors");
  WriteFile(Path("errs.csv"),
            "first_name,age\n"
            "G1,1\nG2,2\nG3,3\n"  // lines 2-4
            "B1,x\nB2,y\n"        // 5-6
            "G4,4\nG5,5\n"        // 7-8
            "B3,z\n"              // 9
            "G6,6\nG7,7\n");      // 10-11
  // One row per batch, one batch in flight: the stop point is exact.
  RunResult r = Import(t, {"Customers", "errs.csv", "--max-errors", "2", "--batch", "1", "--window", "1", "--json"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_NE(r.err.find("stopped after 2 rejected rows (--max-errors 2); they are in "
                       "errs.csv.rejects.csv; --resume continues after them"),
            std::string::npos)
      << r;
  // --json still prints the summary of what was done, saying why it stopped.
  nlohmann::json summary = SummaryOf(r);
  ASSERT_TRUE(summary.is_object()) << r;
  EXPECT_EQ(summary.value("added", uint64_t{0}), 4u) << r;
  EXPECT_EQ(summary.value("rejected", uint64_t{0}), 2u) << r;
  ASSERT_TRUE(summary["stopped"].is_string()) << r;
  EXPECT_NE(summary["stopped"].get<std::string>().find("--max-errors 2"), std::string::npos) << r;
  EXPECT_EQ(Names(AllRecords(*t.client, "Customers")),
            (std::set<std::string>{"G1", "G2", "G3", "G4"}));
  EXPECT_EQ(ReadFile(Path("errs.csv.rejects.csv")),
            std::string(kRejectHeader) + "5,age,not an integer: 'x',\"B1,x\"\n"
                                         "6,age,not an integer: 'y',\"B2,y\"\n");

  const std::string stopped_rejects = ReadFile(Path("errs.csv.rejects.csv"));
  const std::string stopped_checkpoint = ReadFile(Path("errs.csv.checkpoint"));

  // A dry run would overwrite the unfinished import's reject file: it is refused, unless
  // it is given a reject file of its own.
  r = Import(t, {"Customers", "errs.csv", "--dry-run"});
  EXPECT_EQ(r.code, kExitUsage) << r;
  EXPECT_NE(r.err.find("errs.csv has an unfinished import (errs.csv.checkpoint): a dry run would "
                       "overwrite its reject file errs.csv.rejects.csv; give the dry run --rejects FILE"),
            std::string::npos)
      << r;
  r = Import(t, {"Customers", "errs.csv", "--dry-run", "--rejects", "dry.csv"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_EQ(ReadFile(Path("dry.csv")), std::string(kRejectHeader) + "5,age,not an integer: 'x',\"B1,x\"\n"
                                                                   "6,age,not an integer: 'y',\"B2,y\"\n"
                                                                   "9,age,not an integer: 'z',\"B3,z\"\n");
  EXPECT_EQ(ReadFile(Path("errs.csv.rejects.csv")), stopped_rejects);
  // A reject file that lost lines since the interrupted run is not resumed into (its
  // missing part would otherwise become zero bytes).
  std::filesystem::rename(Path("errs.csv.rejects.csv"), Path("aside.csv"));
  WriteFile(Path("errs.csv.rejects.csv"), kRejectHeader);
  r = Import(t, {"Customers", "errs.csv", "--resume", "--batch", "1"});
  EXPECT_EQ(r.code, kExitUsage) << r;
  EXPECT_NE(r.err.find("--resume: the reject file errs.csv.rejects.csv is shorter than the checkpoint "
                       "errs.csv.checkpoint says"),
            std::string::npos)
      << r;
  EXPECT_EQ(ReadFile(Path("errs.csv.checkpoint")), stopped_checkpoint);
  EXPECT_EQ(AllRecords(*t.client, "Customers").size(), 4u);
  std::filesystem::rename(Path("aside.csv"), Path("errs.csv.rejects.csv"));

  r = Import(t, {"Customers", "errs.csv", "--resume", "--batch", "1", "--json"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  ExpectSummary(r, 10, 7, 3);  // the totals of the whole import
  EXPECT_EQ(Names(AllRecords(*t.client, "Customers")),
            (std::set<std::string>{"G1", "G2", "G3", "G4", "G5", "G6", "G7"}));
  EXPECT_EQ(ReadFile(Path("errs.csv.rejects.csv")),
            std::string(kRejectHeader) + "5,age,not an integer: 'x',\"B1,x\"\n"
                                         "6,age,not an integer: 'y',\"B2,y\"\n"
                                         "9,age,not an integer: 'z',\"B3,z\"\n");
}

// With many batches in flight, the rows rejected by the importer itself are counted
// when their batch is cut: no batch after the one holding the N-th is sent.
TEST_F(ImportTest, MaxErrorsSendsNoBatchAfterTheNthRejectedRow) {
  TenantHandle t = Tenant("max-errors-window");
  std::string csv = "first_name,age\n";
  std::set<std::string> before_stop;
  for (int i = 1; i <= 2000; ++i) {
    std::string name = "m-" + std::to_string(i);
    bool bad = i % 100 == 0;
    csv += name + "," + (bad ? "x" : std::to_string(i)) + "\n";
    // 50 good rows a batch: the third bad row (300) is in the batch of rows 253-303.
    if (!bad && i <= 303) before_stop.insert(name);
  }
  WriteFile(Path("window.csv"), csv);
  RunResult r = Import(t, {"Customers", "window.csv", "--max-errors", "3", "--batch", "50", "--window", "8"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_NE(r.err.find("stopped after 3 rejected rows (--max-errors 3)"), std::string::npos) << r;
  EXPECT_EQ(Names(AllRecords(*t.client, "Customers")), before_stop);
  EXPECT_EQ(ReadFile(Path("window.csv.rejects.csv")),
            std::string(kRejectHeader) + "101,age,not an integer: 'x',\"m-100,x\"\n"
                                         "201,age,not an integer: 'x',\"m-200,x\"\n"
                                         "301,age,not an integer: 'x',\"m-300,x\"\n");
}

// --dry-run sends every row for checking and writes nothing, reporting the same rejects
// (the client's and the server's) as the real import then does.
TEST_F(ImportTest, DryRunWritesNothingAndReportsTheSameRejects) {
  TenantHandle t = Tenant("dry-run");
  WriteFile(Path("dry.csv"),
            "first_name,age,vip\n"
            "D1,1,yes\n"
            "D2,two,no\n"          // client: not an integer
            ",3,no\n"              // server: first_name is required
            "D4,4,\n"
            "\"Big" + std::string(1100 * 1024, 'y') + "\",5,\n"  // server: over the size limit
            "D6,6,perhaps\n");     // client: not a boolean
  RunResult dry = Import(t, {"Customers", "dry.csv", "--dry-run", "--json"});
  EXPECT_EQ(dry.code, kExitRejected) << dry;
  ExpectSummary(dry, 6, 2, 4);
  EXPECT_TRUE(SummaryOf(dry).value("dryRun", false)) << dry;
  EXPECT_TRUE(AllRecords(*t.client, "Customers").empty());
  EXPECT_FALSE(Exists(Path("dry.csv.checkpoint")));
  std::string dry_rejects = ReadFile(Path("dry.csv.rejects.csv"));
  EXPECT_EQ(dry_rejects.substr(0, dry_rejects.find("6,,ResourceExhausted")),
            std::string(kRejectHeader) +
                "3,age,not an integer: 'two',\"D2,two,no\"\n"
                "4,,InvalidArgument: field 'first_name' is required,\",3,no\"\n");
  EXPECT_NE(dry_rejects.find("6,,ResourceExhausted: record of "), std::string::npos);
  EXPECT_NE(dry_rejects.find("7,vip,\"not a boolean (true/false, yes/no, 1/0): 'perhaps'\",\"D6,6,perhaps\"\n"),
            std::string::npos);

  RunResult real = Import(t, {"Customers", "dry.csv", "--json"});
  EXPECT_EQ(real.code, kExitRejected) << real;
  ExpectSummary(real, 6, 2, 4);
  EXPECT_FALSE(SummaryOf(real).value("dryRun", true)) << real;
  EXPECT_TRUE(ReadFile(Path("dry.csv.rejects.csv")) == dry_rejects)  // 1 MB: not printed
      << "the real import's rejects differ from the dry run's";
  EXPECT_EQ(Names(AllRecords(*t.client, "Customers")), (std::set<std::string>{"D1", "D4"}));
}

// ---- resuming after kills ----------------------------------------------------------------

// The checkpoint's JSON, or null while there is none (or it is being replaced).
nlohmann::json ReadCheckpoint(const std::string& path) {
  return nlohmann::json::parse(ReadFile(path), nullptr, /*allow_exceptions=*/false);
}

uint64_t CheckpointOffset(const std::string& path) {
  nlohmann::json j = ReadCheckpoint(path);
  return j.is_object() ? j.value("offset", uint64_t{0}) : 0;
}

// The importer is SIGKILLed at random moments over and over (and the server is killed
// and restarted once under it), each run continuing with --resume: in the end every row
// is in the store exactly once and every bad row in the reject file exactly once.
TEST(ImportResumeTest, KilledAndResumedManyTimesAddsEveryRowExactlyOnce) {
  Cotenantd server;
  ASSERT_TRUE(server.ok()) << server.log();
  std::unique_ptr<Client> admin = AdminClient(server);
  TenantHandle t = MakeTenant(server, *admin, "resume");
  ASSERT_NE(t.client, nullptr);
  TempDir dir;
  const std::string file = dir.path() + "/big.csv";
  const std::string checkpoint = file + ".checkpoint";
  const std::string rejects_path = file + ".rejects.csv";

  constexpr int kRows = 10000;
  constexpr int kKills = 24;
  std::string csv = "first_name,last_name,age\n";
  std::string expected_rejects = kRejectHeader;
  std::set<std::string> expected;
  for (int i = 1; i <= kRows; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "row-%05d", i);
    uint64_t line = static_cast<uint64_t>(i) + 1;
    if (i % 397 == 0) {  // refused by the importer
      std::string text = std::string(name) + ",bad,x" + std::to_string(i);
      csv += text + "\n";
      expected_rejects += std::to_string(line) + ",age,not an integer: 'x" + std::to_string(i) +
                          "',\"" + text + "\"\n";
    } else if (i % 541 == 0) {  // refused by the server
      std::string text = "," + std::string(name) + "," + std::to_string(i);
      csv += text + "\n";
      expected_rejects += std::to_string(line) + ",,InvalidArgument: field 'first_name' is required,\"" +
                          text + "\"\n";
    } else {
      csv += std::string(name) + ",seq," + std::to_string(i) + "\n";
      expected.insert(name);
    }
  }
  WriteFile(file, csv);

  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  auto env = [&] { return ToolEnv(server, t.id, t.key); };
  auto args = [&](bool resume, int window) {
    std::vector<std::string> a = {"Customers", file, "--batch", "20", "--window", std::to_string(window),
                                  "--quiet"};
    if (resume) a.push_back("--resume");
    return a;
  };

  // The kills, in random order: half of them once this run has moved the checkpoint on
  // (one batch in flight, so the checkpoint is saved after every batch), half at a random
  // moment from before the login to well into the sending (several batches in flight,
  // the checkpoint saved only every 250 ms: what the server had already added must be
  // recognised on the next run, not added again). In the middle, the server is killed
  // under a running importer instead, and restarted.
  enum class Kill { kAfterProgress, kAtRandom, kServer };
  std::vector<Kill> plan;
  for (int i = 0; i < kKills; ++i) plan.push_back(i % 2 == 0 ? Kill::kAfterProgress : Kill::kAtRandom);
  std::shuffle(plan.begin(), plan.end(), rng);
  plan.insert(plan.begin() + kKills / 2, Kill::kServer);

  int kills = 0;
  bool restarted = false;
  bool refusals_checked = false;
  for (size_t run = 0; run < plan.size(); ++run) {
    Kill how = plan[run];
    int window = how == Kill::kAtRandom ? 4 : 1;
    uint64_t start_offset = CheckpointOffset(checkpoint);
    Importer imp;
    ASSERT_TRUE(imp.Start(args(/*resume=*/run > 0, window), env(), dir.path()));
    RunResult early;
    if (how == Kill::kAtRandom) {
      std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(0, 60)(rng)));
    } else {
      auto deadline = Clock::now() + milliseconds(30000);
      while (!imp.Exited(&early) && CheckpointOffset(checkpoint) <= start_offset) {
        ASSERT_LT(Clock::now(), deadline) << "the checkpoint does not move";
        std::this_thread::sleep_for(milliseconds(1));
      }
      if (how == Kill::kAfterProgress) {
        std::this_thread::sleep_for(milliseconds(std::uniform_int_distribution<int>(0, 8)(rng)));
      }
    }
    if (how == Kill::kServer) {
      ASSERT_FALSE(imp.Exited(&early)) << "finished before the server could be killed: " << early;
      server.Kill();
      RunResult r = imp.Wait(milliseconds(30000));
      EXPECT_EQ(r.code, kExitError) << r;
      EXPECT_NE(r.err.find("continue with --resume"), std::string::npos) << r;
      ASSERT_TRUE(server.Restart()) << server.log();
      restarted = true;
      continue;
    }
    // Killed, unless it ended on its own first (then the file is too short for the plan).
    ASSERT_TRUE(imp.KillUnlessExited(&early)) << "the import finished before kill " << kills + 1
                                              << " of " << kKills << ": " << early;
    ++kills;

    if (!refusals_checked && Exists(checkpoint)) {
      // Over an unfinished checkpoint, a run without --resume is refused, and so is one
      // with other batch settings; neither touches the checkpoint or the reject file.
      refusals_checked = true;
      std::string before = ReadFile(checkpoint);
      std::string rejects_before = ReadFile(rejects_path);
      Importer fresh;
      ASSERT_TRUE(fresh.Start(args(false, 4), env(), dir.path()));
      RunResult r = fresh.Wait();
      EXPECT_EQ(r.code, kExitUsage) << r;
      EXPECT_NE(r.err.find(file + " has an unfinished import (" + checkpoint +
                           "): pass --resume to finish it, or delete the checkpoint to start over"),
                std::string::npos)
          << r;
      Importer other;
      std::vector<std::string> a = args(true, 4);
      a[3] = "21";  // --batch 21
      ASSERT_TRUE(other.Start(a, env(), dir.path()));
      r = other.Wait();
      EXPECT_EQ(r.code, kExitUsage) << r;
      EXPECT_NE(r.err.find("--resume: the checkpoint " + checkpoint +
                           " was made with another object or other format, mapping or --batch "
                           "settings; give the same ones"),
                std::string::npos)
          << r;
      EXPECT_EQ(ReadFile(checkpoint), before);
      EXPECT_EQ(ReadFile(rejects_path), rejects_before);
    }
  }
  // Not yet done, then finished by one more --resume.
  nlohmann::json cp = ReadCheckpoint(checkpoint);
  ASSERT_TRUE(cp.is_object());
  EXPECT_FALSE(cp.value("done", true));
  Importer finish;
  ASSERT_TRUE(finish.Start(args(true, 4), env(), dir.path()));
  RunResult last = finish.Wait();

  EXPECT_TRUE(restarted);
  EXPECT_TRUE(refusals_checked);
  EXPECT_EQ(kills, kKills);
  EXPECT_EQ(last.code, kExitRejected) << last;
  cp = ReadCheckpoint(checkpoint);
  ASSERT_TRUE(cp.is_object());
  EXPECT_TRUE(cp.value("done", false));
  EXPECT_EQ(cp.value("added", uint64_t{0}), expected.size());
  EXPECT_EQ(cp.value("rejected", uint64_t{0}), static_cast<uint64_t>(kRows) - expected.size());

  // Every row exactly once, by content (on a new connection: the server restarted).
  std::unique_ptr<Client> reader = Client::connect(server.address(), t.id, t.key);
  std::vector<Record> all = AllRecords(*reader, "Customers");
  std::map<std::string, int> seen;
  for (const Record& r : all) ++seen[r.get("first_name").isNull() ? "<null>" : r.get("first_name").asText()];
  std::vector<std::string> missing, twice, unexpected;
  for (const auto& name : expected) {
    if (seen.count(name) == 0) missing.push_back(name);
  }
  for (const auto& [name, n] : seen) {
    if (n > 1) twice.push_back(name);
    if (expected.count(name) == 0) unexpected.push_back(name);
  }
  EXPECT_EQ(all.size(), expected.size());
  EXPECT_TRUE(missing.empty()) << missing.size() << " missing, first " << missing.front();
  EXPECT_TRUE(twice.empty()) << twice.size() << " added more than once, first " << twice.front();
  EXPECT_TRUE(unexpected.empty()) << unexpected.front();
  for (const Record& r : all) {
    EXPECT_EQ(r.get("age").asInt(), std::stoi(r.get("first_name").asText().substr(4)));
  }
  // Every bad row exactly once, in file order.
  EXPECT_EQ(ReadFile(rejects_path), expected_rejects);

  // Resuming a finished import adds nothing.
  Importer again;
  ASSERT_TRUE(again.Start(args(true, 4), env(), dir.path()));
  RunResult r = again.Wait();
  EXPECT_EQ(r.code, kExitOk) << r;
  EXPECT_EQ(AllRecords(*reader, "Customers").size(), expected.size());
  EXPECT_EQ(ReadFile(rejects_path), expected_rejects);
}

// ---- importing into another tenant -------------------------------------------------------

// Tenant P lets tenant C add Customers through a data-sharing policy (a designated user
// whose role may add, a row filter age >= 18, a field allow-list without vip and joined);
// C's user imports with --context P.
TEST_F(ImportTest, ContextImportKeepsThePolicyScopeAndIsAuditedInBothTenants) {
  TenantHandle pub = Tenant("ctx-publisher");
  TenantHandle con = Tenant("ctx-consumer");
  auto designated = pub.client->createUser(0, "loader-for-consumer", AdminLevel::User);
  ASSERT_TRUE(designated.ok()) << designated.getMessage();
  uint64_t principal = designated.value().user.id;
  ASSERT_TRUE(pub.client->createRole(0, "customers-add", {{"Customers", Rights{true, true, false, false}}}).ok());
  ASSERT_TRUE(pub.client->addRoleMember(0, "customers-add", pub.id, principal).ok());
  PolicyInfo policy;
  policy.name = "consumer-loads";
  policy.designated = con.id;
  policy.userId = principal;
  policy.scope = {{"Customers", "age >= 18", {"first_name", "last_name", "age"}}};
  auto created = pub.client->createPolicy(0, policy);
  ASSERT_TRUE(created.ok()) << created.getMessage();
  // The importing user of C is a plain user without roles of its own.
  auto loader = con.client->createUser(0, "loader", AdminLevel::User);
  ASSERT_TRUE(loader.ok()) << loader.getMessage();
  const std::string key = loader.value().apiKey;
  const std::string ctx = std::to_string(pub.id);
  const std::string outside = "the record falls outside the rows this principal may write";

  // Rows outside the row filter are rejected rows, in the reject file; rows inside are
  // added in P's tenant.
  WriteFile(Path("people.csv"),
            "first_name,last_name,age\nAdult,a,30\nMinor,b,12\nUnknown,c,\nEdge,d,18\n");
  RunResult r = ImportAs(con.id, key, {"Customers", "people.csv", "--context", ctx, "--json"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  ExpectSummary(r, 4, 2, 2);
  EXPECT_EQ(ReadFile(Path("people.csv.rejects.csv")),
            std::string(kRejectHeader) + "3,,PermissionDenied: " + outside + ",\"Minor,b,12\"\n" +
                "4,,PermissionDenied: " + outside + ",\"Unknown,c,\"\n");
  auto in_pub = ByName(AllRecords(*pub.client, "Customers"));
  EXPECT_EQ(in_pub.size(), 2u);
  ASSERT_TRUE(in_pub.count("Adult") && in_pub.count("Edge"));
  EXPECT_EQ(in_pub["Adult"].createdBy(), principal);  // written as the policy's user
  EXPECT_EQ(in_pub["Edge"].get("age").asInt(), 18);
  EXPECT_TRUE(AllRecords(*con.client, "Customers").empty());

  // A column for a field outside the allow-list: through the policy the field does not
  // exist, so the CSV is refused before anything is written, exactly as for an unknown
  // column (the allow-list's fields only are offered).
  WriteFile(Path("vip.csv"), "first_name,age,vip\nVip,40,true\n");
  r = ImportAs(con.id, key, {"Customers", "vip.csv", "--context", ctx});
  EXPECT_EQ(r.code, kExitRejected) << r;
  EXPECT_NE(r.err.find("column 'vip' is not a field of the object (fields: first_name, last_name, age)"),
            std::string::npos)
      << r;
  // The server, sent such a field anyway, answers exactly as for a field that does not
  // exist; the importer's refusal says the same.
  {
    auto sdk = Client::connect(server_->address(), con.id, key);
    TenantContext tc(*sdk, pub.id);
    Parameters hidden, unknown;
    hidden.add("first_name", "Sdk").add("age", int64_t{40}).add("vip", true);
    unknown.add("first_name", "Sdk").add("age", int64_t{40}).add("shoe_size", true);
    auto reply = sdk->importRecords("Customers", {hidden, unknown}, ImportBatch{}, tc, /*dryRun=*/true);
    ASSERT_TRUE(reply.ok()) << reply.getMessage();
    ASSERT_EQ(reply.value().results.size(), 2u);
    EXPECT_EQ(reply.value().results[0].code, ErrorCode::InvalidArgument);
    EXPECT_EQ(reply.value().results[0].message, "object Customers has no field 'vip'");
    EXPECT_EQ(reply.value().results[1].message, "object Customers has no field 'shoe_size'");
  }
  // In JSON Lines the key is a rejected row, and the other rows go in.
  WriteFile(Path("vip.jsonl"),
            "{\"first_name\":\"JsonVip\",\"age\":40,\"vip\":true}\n{\"first_name\":\"JsonOk\",\"age\":41}\n");
  r = ImportAs(con.id, key, {"Customers", "vip.jsonl", "--context", ctx, "--json"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  ExpectSummary(r, 2, 1, 1);
  EXPECT_EQ(ReadFile(Path("vip.jsonl.rejects.csv")),
            std::string(kRejectHeader) +
                "1,vip,not a field of the object,"
                "\"{\"\"first_name\"\":\"\"JsonVip\"\",\"\"age\"\":40,\"\"vip\"\":true}\"\n");
  EXPECT_EQ(Names(AllRecords(*pub.client, "Customers")),
            (std::set<std::string>{"Adult", "Edge", "JsonOk"}));
  EXPECT_TRUE(AllRecords(*con.client, "Customers").empty());

  // Without the add right in the designated user's role, the import is denied (exit 3)
  // and adds nothing.
  Rights read_only{true, false, false, false};
  ASSERT_TRUE(pub.client->updateRole(0, "customers-add", {{"Customers", read_only}}).ok());
  WriteFile(Path("denied.csv"), "first_name,age\nLate,50\n");
  r = ImportAs(con.id, key, {"Customers", "denied.csv", "--context", ctx});
  EXPECT_EQ(r.code, kExitDenied) << r;
  EXPECT_NE(r.err.find("PermissionDenied"), std::string::npos) << r;
  EXPECT_EQ(Names(AllRecords(*pub.client, "Customers")),
            (std::set<std::string>{"Adult", "Edge", "JsonOk"}));
  // A tenant that publishes no policy for C cannot be named at all.
  r = ImportAs(con.id, key, {"Customers", "denied.csv", "--context", std::to_string(con.id + 100000)});
  EXPECT_EQ(r.code, kExitDenied) << r;

  // The calls are in both tenants' audit logs: P's (the target) and C's (the caller).
  AuditQuery q;
  q.callerTenant = con.id;
  auto pub_log = pub.client->queryAudit(q);
  ASSERT_TRUE(pub_log.ok()) << pub_log.getMessage();
  auto con_log = con.client->queryAudit(AuditQuery());
  ASSERT_TRUE(con_log.ok()) << con_log.getMessage();
  for (const auto* log : {&pub_log.value(), &con_log.value()}) {
    int imports_ok = 0, imports_denied = 0, describes = 0;
    for (const AuditEntry& e : *log) {
      if (e.targetTenant != pub.id || e.callerTenant != con.id) continue;
      EXPECT_EQ(e.callerUser, loader.value().user.id);
      EXPECT_EQ(e.principal, principal) << e.api;
      if (e.api == "importRecords" && e.object == "Customers") {
        if (e.outcome == "OK") ++imports_ok;
        if (e.outcome == "PermissionDenied") ++imports_denied;
      }
      if (e.api == "describeObject") ++describes;
    }
    bool is_pub = log == &pub_log.value();
    EXPECT_GE(imports_ok, 2) << (is_pub ? "publisher" : "consumer");
    EXPECT_GE(imports_denied, 1) << (is_pub ? "publisher" : "consumer");
    EXPECT_GE(describes, 4) << (is_pub ? "publisher" : "consumer");
  }
}

// ---- --physical --------------------------------------------------------------------------

// The same file through one physical import gives the records and rejects of a logical
// import. The object then holds records, so a second physical import is refused and
// changes nothing; options that only a logical import has are refused before anything is
// sent.
TEST_F(ImportTest, PhysicalImportGivesTheRecordsAndRejectsOfALogicalOne) {
  TenantHandle physical = Tenant("cli-physical");
  TenantHandle logical = Tenant("cli-logical");
  std::string csv = "first_name,last_name,age\n";
  for (int i = 0; i < 1200; ++i) {
    csv += "n" + std::to_string(i) + ",l" + std::to_string(i) + "," + std::to_string(i % 80) + "\n";
  }
  csv += "bad,row,not-a-number\n";
  WriteFile(Path("phys.csv"), csv);
  RunResult r = Import(physical, {"Customers", "phys.csv", "--physical", "--json", "--rejects", "phys.rejects.csv"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  ExpectSummary(r, 1201, 1200, 1);
  EXPECT_TRUE(SummaryOf(r).value("physical", false)) << r;
  EXPECT_FALSE(Exists(Path("phys.csv.checkpoint")));  // nothing to resume
  r = Import(logical, {"Customers", "phys.csv", "--json", "--rejects", "log.rejects.csv"});
  EXPECT_EQ(r.code, kExitRejected) << r;
  ExpectSummary(r, 1201, 1200, 1);
  EXPECT_EQ(ReadFile(Path("phys.rejects.csv")), ReadFile(Path("log.rejects.csv")));

  auto imported = ByName(AllRecords(*physical.client, "Customers"));
  auto added = ByName(AllRecords(*logical.client, "Customers"));
  ASSERT_EQ(imported.size(), 1200u);
  ASSERT_EQ(added.size(), imported.size());
  for (const auto& [name, rec] : added) {
    ASSERT_TRUE(imported.count(name)) << name;
    EXPECT_EQ(imported[name].get("last_name").asText(), rec.get("last_name").asText());
    EXPECT_EQ(imported[name].get("age").asInt(), rec.get("age").asInt());
  }

  r = Import(physical, {"Customers", "phys.csv", "--physical", "--rejects", "again.csv"});
  EXPECT_NE(r.code, kExitOk) << r;
  EXPECT_NE(r.err.find("Conflict"), std::string::npos) << r;
  EXPECT_EQ(AllRecords(*physical.client, "Customers").size(), 1200u);
  for (const char* other : {"--resume", "--dry-run"}) {
    r = Import(physical, {"Customers", "phys.csv", "--physical", other});
    EXPECT_EQ(r.code, kExitUsage) << other << r;
    EXPECT_NE(r.err.find("--physical cannot be combined"), std::string::npos) << r;
  }
}

}  // namespace
}  // namespace cotenant::testing
