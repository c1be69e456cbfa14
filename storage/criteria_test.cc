#include "storage/criteria.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>

#include <gtest/gtest.h>

// GCC 12 misreads the inlined malloc/free pair below as mismatched new/delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Counts heap allocations in this test binary, to hold BoundExpr::Matches to its promise
// of not allocating per row.
std::atomic<uint64_t> g_allocations{0};

// Every unaligned form is replaced, so each allocation is freed by its own family: with only
// new/delete replaced, a `new (std::nothrow)` (std::stable_sort's temporary buffer) came
// from the runtime's allocator and went back through our free(), which AddressSanitizer
// reports as a new/free mismatch. (The aligned forms stay the runtime's, new and delete.)
static void* CountedAlloc(std::size_t n) noexcept {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new(std::size_t n) {
  if (void* p = CountedAlloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = CountedAlloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return CountedAlloc(n); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }

namespace cotenant::storage::criteria {
namespace {

// ---- Parsing --------------------------------------------------------------------------

std::unique_ptr<Expr> MustParse(std::string_view text) {
  std::unique_ptr<Expr> e;
  Status st = Parse(text, &e);
  EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
  return e;
}

// A compact rendering of a parse tree, so tests state the structure they expect.
std::string Show(const Expr* e) {
  if (e == nullptr) return "<all>";
  switch (e->kind) {
    case Expr::Kind::kAnd:
    case Expr::Kind::kOr: {
      std::string out = e->kind == Expr::Kind::kAnd ? "(and" : "(or";
      for (const auto& c : e->children) out += " " + Show(c.get());
      return out + ")";
    }
    case Expr::Kind::kNot:
      return "(not " + Show(e->children[0].get()) + ")";
    case Expr::Kind::kPredicate:
      break;
  }
  static constexpr const char* kOps[] = {"=", "!=", "<", "<=", ">", ">=", "contains",
                                         "startswith", "matches", "in", "notin", "isnull",
                                         "isnotnull"};
  std::string out = "[" + e->field + " " + kOps[static_cast<int>(e->op)];
  for (const Value& v : e->operands) {
    if (v.is_null()) {
      out += " null";
    } else {
      out += " " + std::string(FieldTypeName(v.type())) + ":" + v.ToString();
    }
  }
  return out + "]";
}

std::string ShowParse(std::string_view text) {
  auto e = MustParse(text);
  return Show(e.get());
}

TEST(CriteriaParseTest, EmptyMeansEverything) {
  EXPECT_EQ(ShowParse(""), "<all>");
  EXPECT_EQ(ShowParse("   \t\n "), "<all>");
}

TEST(CriteriaParseTest, EveryComparisonOperator) {
  EXPECT_EQ(ShowParse("a = 1"), "[a = int:1]");
  EXPECT_EQ(ShowParse("a != 1"), "[a != int:1]");
  EXPECT_EQ(ShowParse("a <> 1"), "[a != int:1]");
  EXPECT_EQ(ShowParse("a < 1"), "[a < int:1]");
  EXPECT_EQ(ShowParse("a <= 1"), "[a <= int:1]");
  EXPECT_EQ(ShowParse("a > 1"), "[a > int:1]");
  EXPECT_EQ(ShowParse("a >= 1"), "[a >= int:1]");
  EXPECT_EQ(ShowParse("a>=1"), "[a >= int:1]");
  EXPECT_EQ(ShowParse("a<>'x'"), "[a != text:x]");
}

TEST(CriteriaParseTest, TextOperators) {
  EXPECT_EQ(ShowParse("name contains 'Bri'"), "[name contains text:Bri]");
  EXPECT_EQ(ShowParse("name STARTS WITH 'O'"), "[name startswith text:O]");
  EXPECT_EQ(ShowParse("name starts   with 'O'"), "[name startswith text:O]");
  EXPECT_EQ(ShowParse("name Matches '[a-z]+'"), "[name matches text:[a-z]+]");
}

TEST(CriteriaParseTest, InNotInAndNullTests) {
  EXPECT_EQ(ShowParse("a in (1, 2,3)"), "[a in int:1 int:2 int:3]");
  EXPECT_EQ(ShowParse("a IN ('x')"), "[a in text:x]");
  EXPECT_EQ(ShowParse("a not in (1.5, -2)"), "[a notin float:1.5 int:-2]");
  EXPECT_EQ(ShowParse("a is null"), "[a isnull]");
  EXPECT_EQ(ShowParse("a IS NOT NULL"), "[a isnotnull]");
  EXPECT_EQ(ShowParse("a Is Not Null"), "[a isnotnull]");
}

TEST(CriteriaParseTest, Literals) {
  EXPECT_EQ(ShowParse("a = 'O''Brien'"), "[a = text:O'Brien]");
  EXPECT_EQ(ShowParse("a = ''''"), "[a = text:']");
  EXPECT_EQ(ShowParse("a = ''"), "[a = text:]");
  EXPECT_EQ(ShowParse("a = 'and or not ( )'"), "[a = text:and or not ( )]");
  EXPECT_EQ(ShowParse("a = 'caf\xC3\xA9'"), "[a = text:caf\xC3\xA9]");
  EXPECT_EQ(ShowParse("a = -42"), "[a = int:-42]");
  EXPECT_EQ(ShowParse("a = -9223372036854775808"), "[a = int:-9223372036854775808]");
  EXPECT_EQ(ShowParse("a = 3.25"), "[a = float:3.25]");
  EXPECT_EQ(ShowParse("a = -0.5"), "[a = float:-0.5]");
  EXPECT_EQ(ShowParse("a = 1e3"), "[a = float:1000]");
  EXPECT_EQ(ShowParse("a = 2.5E-1"), "[a = float:0.25]");
  EXPECT_EQ(ShowParse("a = TRUE"), "[a = bool:true]");
  EXPECT_EQ(ShowParse("a = false"), "[a = bool:false]");
  EXPECT_EQ(ShowParse("a = 2024-05-01"), "[a = timestamp:2024-05-01T00:00:00Z]");
  EXPECT_EQ(ShowParse("a > 2024-05-01T12:00:00Z"), "[a > timestamp:2024-05-01T12:00:00Z]");
  EXPECT_EQ(ShowParse("a > 2024-05-01T12:00:00.5Z"),
            "[a > timestamp:2024-05-01T12:00:00.500Z]");
  EXPECT_EQ(ShowParse("a > 2024-05-01T14:00:00+02:00"),
            "[a > timestamp:2024-05-01T12:00:00Z]");
  EXPECT_EQ(ShowParse("a > 2024-05-01T08:00:00.000001-04:00"),
            "[a > timestamp:2024-05-01T12:00:00.000001Z]");
  EXPECT_EQ(ShowParse("a in (2024-01-01,2024-02-01)"),
            "[a in timestamp:2024-01-01T00:00:00Z timestamp:2024-02-01T00:00:00Z]");
  // A quoted timestamp stays text until Bind.
  EXPECT_EQ(ShowParse("a = '2024-05-01'"), "[a = text:2024-05-01]");
}

TEST(CriteriaParseTest, PrecedenceAndParentheses) {
  EXPECT_EQ(ShowParse("a = 1 or b = 2 and c = 3"),
            "(or [a = int:1] (and [b = int:2] [c = int:3]))");
  EXPECT_EQ(ShowParse("(a = 1 or b = 2) and c = 3"),
            "(and (or [a = int:1] [b = int:2]) [c = int:3])");
  EXPECT_EQ(ShowParse("not a = 1 and b = 2"), "(and (not [a = int:1]) [b = int:2])");
  EXPECT_EQ(ShowParse("NOT (a = 1 AND b = 2)"), "(not (and [a = int:1] [b = int:2]))");
  EXPECT_EQ(ShowParse("not not a is null"), "(not (not [a isnull]))");
  EXPECT_EQ(ShowParse("a=1 AND b=2 AND c=3 OR d=4 OR e=5"),
            "(or (and [a = int:1] [b = int:2] [c = int:3]) [d = int:4] [e = int:5])");
  EXPECT_EQ(ShowParse("((a = 1))"), "[a = int:1]");
  EXPECT_EQ(ShowParse("a = 1 aNd (b = 2 oR NOT c = 3)"),
            "(and [a = int:1] (or [b = int:2] (not [c = int:3])))");
}

TEST(CriteriaParseTest, FieldNamesAndPositions) {
  auto e = MustParse("  under_score_9 = 1 and Name2 = 'x'");
  ASSERT_EQ(e->kind, Expr::Kind::kAnd);
  EXPECT_EQ(e->children[0]->field, "under_score_9");
  EXPECT_EQ(e->children[0]->position, 3u);
  EXPECT_EQ(e->children[1]->field, "Name2");
  EXPECT_EQ(e->children[1]->position, 25u);
  EXPECT_EQ(ShowParse("_x = 1"), "[_x = int:1]");
}

struct Malformed {
  const char* text;
  size_t column;
  const char* expected;  // the text after "expected "
  const char* found;     // the text after "found "
};

TEST(CriteriaParseTest, RejectsMalformedWithColumnAndExpectation) {
  const Malformed cases[] = {
      {"a =", 4, "literal", "end of input"},
      {"a", 2, "operator", "end of input"},
      {"a == 1", 4, "literal", "'='"},
      {"a = 1 and", 10, "field name, NOT or '('", "end of input"},
      {"a = 1 or or b = 2", 10, "field name, NOT or '('", "'or'"},
      {"= 1", 1, "field name, NOT or '('", "'='"},
      {"a = 1 b = 2", 7, "AND, OR or end of input", "'b'"},
      {"a = 1)", 6, "AND, OR or end of input (this ')' has no matching '('", "')'"},
      {"(a = 1", 7, "')' to close the '(' at column 1", "end of input"},
      {"((a = 1) or (b = 2)", 20, "')' to close the '(' at column 1", "end of input"},
      {"a = 'abc", 9, "closing quote for the string that starts at column 5", "end of input"},
      {"a = 'O'Brien'", 8, "AND, OR or end of input", "'Brien'"},
      {"a = 12abc", 5, "number", "'12abc'"},
      {"a = 1.2.3", 5, "number", "'1.2.3'"},
      {"a = 1.", 5, "number", "'1.'"},
      {"a = 1e", 5, "number", "'1e'"},
      {"a = 99999999999999999999", 5, "number within the 64-bit integer range", "'9999"},
      {"a = 2024-13-01", 5, "timestamp", "'2024-13-01' (month out of range 01..12)"},
      {"a = 2024-05-01T12:00:00", 5, "timestamp", "'2024-05-01T12:00:00' (missing time zone"},
      {"a = 2024-05-01 12:00:00Z", 16, "AND, OR or end of input", "number 12"},
      {"a = active", 5, "literal (quote text as 'like this')", "'active'"},
      {"a = null", 5, "literal (test for null with IS NULL)", "'null'"},
      {"a = \"x\"", 5, "literal", "'\"'"},
      {"a like 'x'", 3, "operator (=, !=", "'like'"},
      {"a in ()", 7, "literal (an IN list cannot be empty)", "')'"},
      {"a in 1, 2", 6, "'(' to open the IN list", "number 1"},
      {"a in (1 2)", 9, "',' or ')' in the IN list", "number 2"},
      {"a in (1,)", 9, "literal", "')'"},
      {"a in (1", 8, "',' or ')' in the IN list", "end of input"},
      {"a not like 'x'", 7, "IN after NOT", "'like'"},
      {"a is 'x'", 6, "NULL or NOT NULL after IS", "string ''x''"},
      {"a is not 5", 10, "NULL after IS NOT", "number 5"},
      {"a starts 'x'", 10, "WITH after STARTS", "string ''x''"},
      {"a contains 5", 12, "quoted text", "number 5"},
      {"a matches abc", 11, "quoted text", "'abc'"},
      {"a = 1 @ b", 7, "AND, OR or end of input", "'@'"},
      {"and = 1", 1, "field name, NOT or '('", "'and'"},
      {"not", 4, "field name, NOT or '('", "end of input"},
      {"()", 2, "field name, NOT or '('", "')'"},
      {"a = - 1", 5, "literal", "'-'"},
  };
  for (const auto& c : cases) {
    std::unique_ptr<Expr> e;
    Status st = Parse(c.text, &e);
    ASSERT_TRUE(st.IsInvalidArgument()) << c.text;
    const std::string want_prefix = "criteria: at column " + std::to_string(c.column) + ": ";
    EXPECT_EQ(st.message().rfind(want_prefix, 0), 0u) << c.text << " -> " << st.message();
    EXPECT_NE(st.message().find(std::string("expected ") + c.expected), std::string::npos)
        << c.text << " -> " << st.message();
    EXPECT_NE(st.message().find(std::string("found ") + c.found), std::string::npos)
        << c.text << " -> " << st.message();
  }
}

TEST(CriteriaParseTest, NestingLimit) {
  std::string ok = std::string(64, '(') + "a = 1" + std::string(64, ')');
  EXPECT_EQ(ShowParse(ok), "[a = int:1]");

  std::string too_deep = std::string(65, '(') + "a = 1" + std::string(65, ')');
  std::unique_ptr<Expr> e;
  Status st = Parse(too_deep, &e);
  ASSERT_TRUE(st.IsInvalidArgument());
  EXPECT_EQ(st.message(), "criteria: at column 65: expression nested deeper than 64 levels");

  // A hostile input must fail cleanly, not overflow the stack.
  std::string bomb(200000, '(');
  EXPECT_TRUE(Parse(bomb, &e).IsInvalidArgument());
  std::string nots;
  for (int i = 0; i < 100000; ++i) nots += "not ";
  EXPECT_TRUE(Parse(nots + "a = 1", &e).IsInvalidArgument());

  // Long flat chains are not nesting.
  std::string chain = "a = 0";
  for (int i = 1; i < 2000; ++i) chain += " and a = " + std::to_string(i);
  EXPECT_TRUE(Parse(chain, &e).ok());
  EXPECT_EQ(e->children.size(), 2000u);
}

// Nesting is counted while lexing: a huge run of '(' is refused at the 65th, with the
// parser's message, after tokenising only that much (a few allocations, not one token
// per byte).
TEST(CriteriaParseTest, DepthIsCountedWhileLexing) {
  const std::string bomb(1 << 20, '(');
  std::unique_ptr<Expr> e;
  const uint64_t before = g_allocations.load();
  Status st = Parse(bomb, &e);
  const uint64_t allocations = g_allocations.load() - before;
  ASSERT_TRUE(st.IsInvalidArgument());
  EXPECT_EQ(st.message(), "criteria: at column 65: expression nested deeper than 64 levels");
  EXPECT_LT(allocations, 100u);

  // The same for NOTs, and for '(' and NOTs mixed after a long valid prefix.
  std::string nots;
  for (int i = 0; i < 200000; ++i) nots += "not ";
  const uint64_t before_nots = g_allocations.load();
  st = Parse(nots + "a = 1", &e);
  EXPECT_LT(g_allocations.load() - before_nots, 100u);
  EXPECT_EQ(st.message(), "criteria: at column 257: expression nested deeper than 64 levels");
}

TEST(CriteriaParseTest, TokenLimit) {
  // kMaxTokens tokens exactly parse: "a is not null" is 4 tokens, " or a = 1" 4 more.
  static_assert(kMaxTokens % 4 == 0);
  std::string text = "a is not null";
  for (size_t tokens = 4; tokens < kMaxTokens; tokens += 4) text += " or a = 1";
  std::unique_ptr<Expr> e;
  EXPECT_TRUE(Parse(text, &e).ok()) << Parse(text, &e).ToString();

  // One more is refused at that token, and the rest of a long input is never read.
  std::string over = text + " or a = 1";
  Status st = Parse(over, &e);
  ASSERT_TRUE(st.IsInvalidArgument());
  EXPECT_EQ(st.message(), "criteria: at column " + std::to_string(text.size() + 2) +
                              ": criteria longer than " + std::to_string(kMaxTokens) +
                              " tokens");
  std::string huge = "a = 1";
  while (huge.size() < (8u << 20)) huge += " and a = 1";
  const uint64_t before = g_allocations.load();
  EXPECT_TRUE(Parse(huge, &e).IsInvalidArgument());
  EXPECT_LT(g_allocations.load() - before, 4 * kMaxTokens);
}

TEST(CriteriaParseTest, CheckSize) {
  EXPECT_TRUE(CheckSize("criteria", 16384, 16384).ok());
  Status st = CheckSize("row filter of Customers", 16385, 16384);
  ASSERT_TRUE(st.IsInvalidArgument());
  EXPECT_EQ(st.message(), "row filter of Customers is 16385 bytes; the limit is 16384 bytes");
}

// ---- Binding --------------------------------------------------------------------------

ObjectDef People() {
  ObjectDef def;
  def.id = 9;
  def.name = "People";
  def.fields = {{"name", FieldType::kText, true, true},
                {"age", FieldType::kInt, false, true},
                {"score", FieldType::kFloat, false, false},
                {"active", FieldType::kBool, false, false},
                {"born", FieldType::kTimestamp, false, false}};
  return def;
}

Status CompileFor(std::string_view text, std::unique_ptr<BoundExpr>* out) {
  return Compile(text, People(), out);
}

TEST(CriteriaBindTest, ResolvesSlotsAndConvertsLiterals) {
  std::unique_ptr<BoundExpr> b;
  ASSERT_TRUE(CompileFor("score > 3", &b).ok());
  EXPECT_EQ(b->slot, 2);
  EXPECT_EQ(b->type, FieldType::kFloat);
  ASSERT_EQ(b->operands.size(), 1u);
  EXPECT_TRUE(b->operands[0] == Value::Float(3.0));

  ASSERT_TRUE(CompileFor("born >= '2024-05-01T12:00:00Z'", &b).ok());
  EXPECT_TRUE(b->operands[0] == Value::Time(1714564800000000));

  ASSERT_TRUE(CompileFor("createdAt < 2024-05-01 and id in (1, 2)", &b).ok());
  ASSERT_EQ(b->kind, BoundExpr::Kind::kAnd);
  EXPECT_EQ(b->children[0]->slot, static_cast<int>(SystemField::kCreatedAt));
  EXPECT_EQ(b->children[0]->type, FieldType::kTimestamp);
  EXPECT_EQ(b->children[1]->slot, static_cast<int>(SystemField::kId));
  EXPECT_EQ(b->children[1]->type, FieldType::kInt);

  ASSERT_TRUE(CompileFor("active = 'TRUE'", &b).ok());
  EXPECT_TRUE(b->operands[0] == Value::Bool(true));

  std::vector<int> slots;
  ASSERT_TRUE(CompileFor("name = 'a' or (not age > 1 and version = 2)", &b).ok());
  b->CollectSlots(&slots);
  EXPECT_EQ(slots, (std::vector<int>{0, 1, static_cast<int>(SystemField::kVersion)}));

  ASSERT_TRUE(CompileFor("", &b).ok());
  EXPECT_EQ(b, nullptr);
  EXPECT_TRUE(Bind(nullptr, People(), &b).ok());
  EXPECT_EQ(b, nullptr);
}

TEST(CriteriaBindTest, Errors) {
  const struct {
    const char* text;
    const char* message;
  } cases[] = {
      {"nope = 1", "criteria: at column 1: unknown field 'nope' in object 'People'"},
      {"age = 1 and Name = 'x'", "criteria: at column 13: unknown field 'Name'"},
      {"age = 'abc'", "criteria: at column 1: field 'age' expects int, got text 'abc'"},
      {"age = 1.5", "field 'age' expects int, got float '1.5'"},
      {"age in (1, 'two')", "field 'age' expects int, got text 'two'"},
      {"name = 2024-05-01", "field 'name' expects text, got timestamp"},
      {"name = 5", "field 'name' expects text, got int '5'"},
      {"born > 5", "field 'born' expects timestamp, got int '5'"},
      {"born > '2024-02-30'", "day out of range"},
      {"active = 1", "field 'active' expects bool, got int '1'"},
      {"active < true", "'<' does not apply to bool field 'active'"},
      {"active >= false", "'>=' does not apply to bool field 'active'"},
      {"age contains '1'", "CONTAINS needs a text field; 'age' is int"},
      {"born starts with '2024'", "STARTS WITH needs a text field; 'born' is timestamp"},
      {"id matches '1.*'", "MATCHES needs a text field; 'id' is int"},
      {"name matches '(unclosed'", "bad regular expression '(unclosed' for field 'name': "
                                   "missing ): (unclosed"},
      {"name matches 'a**'", "bad regular expression 'a**'"},
  };
  for (const auto& c : cases) {
    std::unique_ptr<BoundExpr> b;
    Status st = CompileFor(c.text, &b);
    ASSERT_TRUE(st.IsInvalidArgument()) << c.text;
    EXPECT_NE(st.message().find(c.message), std::string::npos)
        << c.text << " -> " << st.message();
    EXPECT_EQ(b, nullptr);
  }
}

// ---- Evaluation -----------------------------------------------------------------------

Record Person(Value name, Value age, Value score = Value::Null(), Value active = Value::Null(),
              Value born = Value::Null()) {
  Record r;
  r.id = 100;
  r.version = 2;
  r.created_by = 7;
  r.created_at = 1714564800000000;  // 2024-05-01T12:00:00Z
  r.modified_by = 8;
  r.modified_at = 1714564800000000 + 1;
  r.values = {std::move(name), std::move(age), std::move(score), std::move(active),
              std::move(born)};
  return r;
}

bool Eval(std::string_view text, const Record& r) {
  std::unique_ptr<BoundExpr> b;
  Status st = CompileFor(text, &b);
  EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
  if (!st.ok()) return false;
  return b->Matches(r);
}

TEST(CriteriaEvalTest, ComparisonTruthTable) {
  Record r = Person(Value::Text("Ann"), Value::Int(30), Value::Float(2.5), Value::Bool(true),
                    Value::Time(0));
  const struct {
    const char* text;
    bool want;
  } cases[] = {
      {"age = 30", true},   {"age = 31", false},  {"age != 30", false}, {"age <> 31", true},
      {"age < 30", false},  {"age < 31", true},   {"age <= 30", true},  {"age <= 29", false},
      {"age > 29", true},   {"age > 30", false},  {"age >= 30", true},  {"age >= 31", false},
      {"score = 2.5", true}, {"score > 2", true}, {"score < -1e9", false},
      {"active = true", true}, {"active != true", false}, {"active = 'false'", false},
      {"born = 1970-01-01", true}, {"born < 1970-01-01T00:00:00.000001Z", true},
      {"born > 1969-12-31T23:59:59Z", true},
      {"name = 'Ann'", true}, {"name = 'ann'", false}, {"name < 'B'", true},
      {"name > 'Ann'", false}, {"name >= 'An'", true},
  };
  for (const auto& c : cases) EXPECT_EQ(Eval(c.text, r), c.want) << c.text;
}

TEST(CriteriaEvalTest, TextOperators) {
  Record r = Person(Value::Text("O'Brien caf\xC3\xA9"), Value::Int(1));
  EXPECT_TRUE(Eval("name contains 'Bri'", r));
  EXPECT_TRUE(Eval("name contains ''", r));
  EXPECT_FALSE(Eval("name contains 'bri'", r));
  EXPECT_TRUE(Eval("name starts with 'O''B'", r));
  EXPECT_FALSE(Eval("name starts with 'Brien'", r));
  // MATCHES is a whole-string match, not a search.
  EXPECT_FALSE(Eval("name matches 'Brien'", r));
  EXPECT_TRUE(Eval("name matches '.*Brien.*'", r));
  EXPECT_TRUE(Eval("name matches 'O''[A-Z][a-z]+ caf.'", r));  // '.' matches one code point
  EXPECT_TRUE(Eval("name matches '(?i)o''brien.*'", r));
  EXPECT_FALSE(Eval("name matches 'O'", r));
}

TEST(CriteriaEvalTest, BoundParametersStandForThemselves) {
  Record r = Person(Value::Text("O'Brien caf\xC3\xA9"), Value::Int(41));
  auto eval = [&](std::string_view text, std::vector<Value> params) {
    std::unique_ptr<BoundExpr> b;
    Status st = Compile(text, People(), &b, params);
    EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
    return st.ok() && b->Matches(r);
  };
  EXPECT_TRUE(eval("name = ? AND age > ?", {Value::Text("O'Brien caf\xC3\xA9"), Value::Int(40)}));
  EXPECT_FALSE(eval("name = ? AND age > ?", {Value::Text("O'Brien caf\xC3\xA9"), Value::Int(41)}));
  // Text that would break out of a quoted literal is only text.
  EXPECT_FALSE(eval("name = ?", {Value::Text("x' OR name != 'x")}));
  EXPECT_TRUE(eval("name contains ? OR name starts with ?", {Value::Text("'Bri"), Value::Text("zz")}));
  EXPECT_TRUE(eval("name matches ?", {Value::Text("O'.*")}));
  // IN lists, and text converted strictly to the field's type, as record values are.
  EXPECT_TRUE(eval("age IN (?, ?, 7)", {Value::Int(3), Value::Text("41")}));
  EXPECT_TRUE(eval("born IS NULL AND score < ? OR active = ?", {Value::Float(1.5), Value::Bool(false)}) ==
              eval("born IS NULL AND score < 1.5 OR active = false", {}));

  std::unique_ptr<BoundExpr> b;
  auto error = [&](std::string_view text, std::vector<Value> params) {
    Status st = Compile(text, People(), &b, params);
    EXPECT_TRUE(st.IsInvalidArgument()) << text << ": " << st.ToString();
    return st.message();
  };
  EXPECT_EQ(error("age > ? AND name = ?", {Value::Int(1)}),
            "criteria: at column 20: parameter 2 has no value (1 given)");
  EXPECT_EQ(error("age > ?", {Value::Int(1), Value::Int(2)}),
            "criteria: 2 parameter(s) given, but the criteria have 1 placeholder(s) '?'");
  EXPECT_EQ(error("", {Value::Int(1)}),
            "criteria: 1 parameter(s) given, but the criteria have 0 placeholder(s) '?'");
  EXPECT_EQ(error("age = ?", {Value::Null()}),
            "criteria: at column 7: parameter 1 is null (test for null with IS NULL)");
  EXPECT_EQ(error("name contains ?", {Value::Int(4)}),
            "criteria: at column 15: parameter 1 must be text here, got int");
  EXPECT_NE(error("age = ?", {Value::Text("forty")}).find("forty"), std::string::npos);
  EXPECT_EQ(error("age = ?", {}),
            "criteria: at column 7: '?' stands for a bound parameter, and none were given");
  // A placeholder is a value, never a field name or an operator.
  EXPECT_NE(error("? = 1", {Value::Text("age")}).find("expected field name"), std::string::npos);
  // Criteria without parameters are unchanged, and a '?' inside quotes is text.
  EXPECT_TRUE(eval("name != '?'", {}));
}

TEST(CriteriaEvalTest, InAndNotIn) {
  Record r = Person(Value::Text("b"), Value::Int(5));
  EXPECT_TRUE(Eval("age in (1, 5, 9)", r));
  EXPECT_FALSE(Eval("age in (1, 9)", r));
  EXPECT_FALSE(Eval("age not in (1, 5)", r));
  EXPECT_TRUE(Eval("age not in (1, 9)", r));
  EXPECT_TRUE(Eval("name in ('a', 'b')", r));
  // Long lists take the sorted path; check hits at both ends and a miss in between.
  EXPECT_TRUE(Eval("age in (20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 5)", r));
  EXPECT_TRUE(Eval("age in (5, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10)", r));
  EXPECT_FALSE(Eval("age in (20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 4, 6)", r));
  EXPECT_TRUE(Eval("age not in (20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 4, 6)", r));
  EXPECT_TRUE(Eval("score in (1, 2)", Person(Value::Text("x"), Value::Int(0), Value::Float(2))));
}

TEST(CriteriaEvalTest, NullSemantics) {
  Record r = Person(Value::Text("x"), Value::Null());
  const struct {
    const char* text;
    bool want;
  } cases[] = {
      {"age is null", true},        {"age is not null", false},
      {"age = 1", false},           {"age != 1", false},
      {"age < 1", false},           {"age >= 1", false},
      {"age in (1, 2)", false},     {"age not in (1, 2)", false},
      {"not age = 1", true},        {"not age != 1", true},
      {"not age is null", false},   {"score > 0", false},
      {"born > 1900-01-01", false}, {"active = false", false},
      {"name is null", false},      {"name is not null", true},
  };
  for (const auto& c : cases) EXPECT_EQ(Eval(c.text, r), c.want) << c.text;
  Record no_name = Person(Value::Null(), Value::Int(1));
  EXPECT_FALSE(Eval("name contains ''", no_name));
  EXPECT_FALSE(Eval("name starts with ''", no_name));
  EXPECT_FALSE(Eval("name matches '.*'", no_name));
  EXPECT_TRUE(Eval("not name matches '.*'", no_name));
  // A record shorter than the object (a field added later) reads as null.
  Record short_record;
  short_record.values = {Value::Text("y")};
  EXPECT_TRUE(Eval("age is null and born is null", short_record));
  EXPECT_FALSE(Eval("age = 0", short_record));
}

TEST(CriteriaEvalTest, BooleanConnectives) {
  Record r = Person(Value::Text("Ann"), Value::Int(30));
  const struct {
    const char* text;
    bool want;
  } cases[] = {
      {"age = 30 and name = 'Ann'", true},
      {"age = 30 and name = 'Bob'", false},
      {"age = 1 or name = 'Ann'", true},
      {"age = 1 or name = 'Bob'", false},
      {"not age = 30", false},
      {"not (age = 1 or name = 'Bob')", true},
      {"age = 1 or age = 30 and name = 'Bob'", false},    // AND binds tighter
      {"(age = 1 or age = 30) and name = 'Ann'", true},
      {"age = 30 or age = 1 and name = 'Bob'", true},
      {"not not age = 30", true},
  };
  for (const auto& c : cases) EXPECT_EQ(Eval(c.text, r), c.want) << c.text;
}

TEST(CriteriaEvalTest, SystemFields) {
  Record r = Person(Value::Text("Ann"), Value::Int(30));
  EXPECT_TRUE(Eval("id = 100", r));
  EXPECT_FALSE(Eval("id > 100", r));
  EXPECT_TRUE(Eval("version = 2 and createdBy = 7 and modifiedBy = 8", r));
  EXPECT_TRUE(Eval("createdAt = 2024-05-01T12:00:00Z", r));
  EXPECT_TRUE(Eval("createdAt = '2024-05-01T14:00:00+02:00'", r));
  EXPECT_TRUE(Eval("modifiedAt > 2024-05-01T12:00:00Z", r));
  EXPECT_FALSE(Eval("modifiedAt > 2024-05-01T12:00:00.000001Z", r));
  EXPECT_TRUE(Eval("id is not null and not createdAt is null", r));
}

// Ids (and versions, user ids) are unsigned 64-bit: literals up to 2^64-1 name them and
// compare unsigned, on both sides of 2^63.
TEST(CriteriaEvalTest, UnsignedSystemFieldsTakeTheFullRange) {
  Record big = Person(Value::Text("Ann"), Value::Int(30));
  big.id = UINT64_MAX;
  big.created_by = (uint64_t{1} << 63) + 5;
  Record small = Person(Value::Text("Bob"), Value::Int(31));  // id 100

  EXPECT_TRUE(Eval("id = 18446744073709551615", big));
  EXPECT_FALSE(Eval("id = 18446744073709551615", small));
  EXPECT_TRUE(Eval("id > 9223372036854775807", big));
  EXPECT_FALSE(Eval("id > 9223372036854775807", small));
  EXPECT_TRUE(Eval("id < 18446744073709551615", small));
  EXPECT_FALSE(Eval("id < 18446744073709551615", big));
  EXPECT_TRUE(Eval("id > 100", big));  // signed, UINT64_MAX would be -1
  EXPECT_TRUE(Eval("id >= 0", big));
  EXPECT_TRUE(Eval("id = '18446744073709551615'", big));
  EXPECT_TRUE(Eval("createdBy = 9223372036854775813 and createdBy > 9223372036854775812", big));
  EXPECT_TRUE(Eval("id in (1, 18446744073709551615)", big));
  EXPECT_FALSE(Eval("id not in (1, 18446744073709551615)", big));
  // A long IN list is sorted at bind time: in unsigned order too.
  const std::string list =
      "id in (18446744073709551615, 9223372036854775808, 1, 2, 3, 4, 5, 6, 7, 8, 100)";
  EXPECT_TRUE(Eval(list, big));
  EXPECT_TRUE(Eval(list, small));
  big.id = (uint64_t{1} << 63) + 1;
  EXPECT_FALSE(Eval(list, big));

  // Out of the field's range: a clear error, not a wrapped comparison.
  std::unique_ptr<BoundExpr> b;
  Status st = CompileFor("id = -1", &b);
  ASSERT_TRUE(st.IsInvalidArgument());
  EXPECT_EQ(st.message(), "criteria: at column 1: field 'id' expects an integer from 0 to "
                          "18446744073709551615, got int '-1'");
  st = CompileFor("age = 9223372036854775808", &b);
  ASSERT_TRUE(st.IsInvalidArgument());
  EXPECT_EQ(st.message(), "criteria: at column 1: field 'age' expects int, got integer "
                          "9223372036854775808 (int fields end at 9223372036854775807)");
  EXPECT_TRUE(CompileFor("name = 18446744073709551615", &b).IsInvalidArgument());
  ASSERT_TRUE(CompileFor("score < 18446744073709551615", &b).ok());
  EXPECT_TRUE(b->operands[0] == Value::Float(18446744073709551615.0));
  // Past 2^64-1 the literal is no number at all.
  st = CompileFor("id = 18446744073709551616", &b);
  EXPECT_NE(st.message().find("expected number within the 64-bit integer range"),
            std::string::npos)
      << st.message();
}

TEST(CriteriaEvalTest, FloatFieldAcceptsIntLiteralAndNegativeZero) {
  Record r = Person(Value::Text("x"), Value::Int(0), Value::Float(-0.0));
  EXPECT_TRUE(Eval("score = 0", r));
  EXPECT_TRUE(Eval("score >= 0.0", r));
  EXPECT_FALSE(Eval("score < 0", r));
}

TEST(CriteriaEvalTest, ConcurrentEvaluationOfOneExpression) {
  std::unique_ptr<BoundExpr> b;
  ASSERT_TRUE(CompileFor("name matches 'a.c' and age in (1,2,3,4,5,6,7,8,9,10)", &b).ok());
  const Record yes = Person(Value::Text("abc"), Value::Int(10));
  const Record no = Person(Value::Text("abd"), Value::Int(10));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (!b->Matches(yes) || b->Matches(no)) wrong.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(CriteriaEvalTest, MatchesDoesNotAllocate) {
  std::unique_ptr<BoundExpr> b;
  ASSERT_TRUE(CompileFor("(name = 'a long name that is not in small-string storage' or "
                         "name contains 'needle' or name starts with 'x' or "
                         "name in ('p', 'q')) and not age is null and id > 0 and "
                         "createdAt > 2000-01-01 and score not in (1,2,3,4,5,6,7,8,9,10)",
                         &b).ok());
  const Record r = Person(Value::Text("hay needle hay, also long enough to be on the heap"),
                          Value::Int(1), Value::Float(0.5));
  ASSERT_TRUE(b->Matches(r));
  const uint64_t before = g_allocations.load();
  bool all = true;
  for (int i = 0; i < 1000; ++i) all = b->Matches(r) && all;
  EXPECT_EQ(g_allocations.load() - before, 0u);
  EXPECT_TRUE(all);
}

}  // namespace
}  // namespace cotenant::storage::criteria
