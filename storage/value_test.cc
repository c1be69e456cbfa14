#include "storage/value.h"

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "storage/status.h"
#include "storage/storage.h"

namespace cotenant::storage {
namespace {

TEST(StatusTest, CodeNamesAndToString) {
  EXPECT_EQ(Status::CodeName(Status::Code::kOk), "OK");
  EXPECT_EQ(Status::NotFound("x").code_name(), "NotFound");
  EXPECT_EQ(Status::PermissionDenied("x").code_name(), "PermissionDenied");
  EXPECT_EQ(Status::InvalidArgument("x").code_name(), "InvalidArgument");
  EXPECT_EQ(Status::Conflict("x").code_name(), "Conflict");
  EXPECT_EQ(Status::ResourceExhausted("x").code_name(), "ResourceExhausted");
  EXPECT_EQ(Status::Unauthenticated("x").code_name(), "Unauthenticated");
  EXPECT_EQ(Status::Busy("x").code_name(), "Busy");
  EXPECT_EQ(Status::Internal("x").code_name(), "Internal");
  EXPECT_EQ(Status::OK().ToString(), "OK");
  EXPECT_EQ(Status::NotFound("record 12 does not exist").ToString(),
            "NotFound: record 12 does not exist");
}

Status FailsThenNeverReached(bool* reached) {
  COTENANT_RETURN_IF_ERROR(Status::Conflict("first"));
  *reached = true;
  return Status::OK();
}

TEST(StatusTest, ReturnIfErrorStopsEarly) {
  bool reached = false;
  Status st = FailsThenNeverReached(&reached);
  EXPECT_TRUE(st.IsConflict());
  EXPECT_FALSE(reached);
}

TEST(FieldTypeTest, NamesRoundTrip) {
  for (FieldType t : {FieldType::kText, FieldType::kInt, FieldType::kFloat, FieldType::kBool,
                      FieldType::kTimestamp}) {
    auto parsed = ParseFieldType(FieldTypeName(t));
    ASSERT_TRUE(parsed.has_value()) << FieldTypeName(t);
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(FieldTypeName(FieldType::kTimestamp), "timestamp");
  EXPECT_FALSE(ParseFieldType("integer").has_value());
  EXPECT_FALSE(ParseFieldType("Text").has_value());
  EXPECT_FALSE(ParseFieldType("").has_value());
}

TEST(TenantKindTest, NamesRoundTrip) {
  EXPECT_EQ(TenantKindName(TenantKind::kMsp), "msp");
  EXPECT_EQ(TenantKindName(TenantKind::kIsv), "isv");
  EXPECT_EQ(ParseTenantKind("tenant"), TenantKind::kTenant);
  EXPECT_EQ(ParseTenantKind("system"), TenantKind::kSystem);
  EXPECT_FALSE(ParseTenantKind("ISV").has_value());
}

TEST(ValueTest, CompareWithinTypesAndNullLast) {
  EXPECT_LT(Value::Int(-5).Compare(Value::Int(3)), 0);
  EXPECT_GT(Value::Int(3).Compare(Value::Int(-5)), 0);
  EXPECT_EQ(Value::Int(7).Compare(Value::Int(7)), 0);
  EXPECT_LT(Value::Float(-0.5).Compare(Value::Float(0.25)), 0);
  EXPECT_EQ(Value::Float(-0.0).Compare(Value::Float(0.0)), 0);
  EXPECT_LT(Value::Float(1e308).Compare(Value::Float(INFINITY)), 0);
  EXPECT_LT(Value::Float(INFINITY).Compare(Value::Float(NAN)), 0);
  EXPECT_LT(Value::Bool(false).Compare(Value::Bool(true)), 0);
  EXPECT_LT(Value::Time(-1).Compare(Value::Time(0)), 0);
  // Bytewise: 'Z' (0x5A) < 'a' (0x61), and bytes >= 0x80 (UTF-8) after ASCII.
  EXPECT_LT(Value::Text("Zebra").Compare(Value::Text("apple")), 0);
  EXPECT_LT(Value::Text("z").Compare(Value::Text("\xC3\xA9")), 0);
  EXPECT_LT(Value::Text("ab").Compare(Value::Text("abc")), 0);
  EXPECT_LT(Value::Text("").Compare(Value::Text(std::string("\0", 1))), 0);
  EXPECT_GT(Value::Null().Compare(Value::Int(INT64_MAX)), 0);
  EXPECT_LT(Value::Text("zzz").Compare(Value::Null()), 0);
  EXPECT_EQ(Value::Null().Compare(Value::Null()), 0);
}

TEST(ValueTest, ToString) {
  EXPECT_EQ(Value::Null().ToString(), "null");
  EXPECT_EQ(Value::Text("O'Brien").ToString(), "O'Brien");
  EXPECT_EQ(Value::Int(-42).ToString(), "-42");
  EXPECT_EQ(Value::Float(1.5).ToString(), "1.5");
  EXPECT_EQ(Value::Float(0.1).ToString(), "0.1");
  EXPECT_EQ(Value::Bool(true).ToString(), "true");
  EXPECT_EQ(Value::Time(1714564800000000).ToString(), "2024-05-01T12:00:00Z");
}

TEST(TimestampTest, FormatExamples) {
  EXPECT_EQ(FormatTimestamp(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(1714564800000000), "2024-05-01T12:00:00Z");
  EXPECT_EQ(FormatTimestamp(1714564800250000), "2024-05-01T12:00:00.250Z");
  EXPECT_EQ(FormatTimestamp(1714564800000001), "2024-05-01T12:00:00.000001Z");
  EXPECT_EQ(FormatTimestamp(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTimestamp(-86400000000), "1969-12-31T00:00:00Z");
  EXPECT_EQ(FormatTimestamp(951782400000000), "2000-02-29T00:00:00Z");
}

TEST(TimestampTest, ParseAcceptsDocumentedForms) {
  struct Case {
    const char* text;
    int64_t micros;
  } cases[] = {
      {"1970-01-01", 0},
      {"2024-05-01", 1714521600000000},
      {"2024-05-01T12:00:00Z", 1714564800000000},
      {"2024-05-01T12:00:00.25Z", 1714564800250000},
      {"2024-05-01T12:00:00.250000Z", 1714564800250000},
      {"2024-05-01T12:00:00.000001Z", 1714564800000001},
      {"2024-05-01T14:00:00+02:00", 1714564800000000},
      {"2024-05-01T07:30:00-04:30", 1714564800000000},
      {"1969-12-31T23:59:59.999999Z", -1},
      {"2000-02-29T00:00:00Z", 951782400000000},
      {"0001-01-01T00:00:00Z", -62135596800000000},
      {"9999-12-31T23:59:59Z", 253402300799000000},
  };
  for (const auto& c : cases) {
    int64_t micros = 12345;
    Status st = ParseTimestamp(c.text, &micros);
    ASSERT_TRUE(st.ok()) << c.text << ": " << st.ToString();
    EXPECT_EQ(micros, c.micros) << c.text;
  }
}

TEST(TimestampTest, ParseRejectsWithReasons) {
  struct Case {
    const char* text;
    const char* reason;
  } cases[] = {
      {"", "expected YYYY-MM-DD"},
      {"2024-5-01", "expected YYYY-MM-DD"},
      {"24-05-01", "expected YYYY-MM-DD"},
      {"2024/05/01", "expected YYYY-MM-DD"},
      {"2024-13-01", "month out of range"},
      {"2024-00-10", "month out of range"},
      {"2023-02-29", "day out of range"},
      {"2024-04-31", "day out of range"},
      {"2024-05-00", "day out of range"},
      {"2024-05-01 12:00:00Z", "expected 'T'"},
      {"2024-05-01t12:00:00Z", "expected 'T'"},
      {"2024-05-01T", "expected HH:MM:SS"},
      {"2024-05-01T12:00Z", "expected HH:MM:SS"},
      {"2024-05-01T24:00:00Z", "hour out of range"},
      {"2024-05-01T12:60:00Z", "minute out of range"},
      {"2024-05-01T12:00:60Z", "second out of range"},
      {"2024-05-01T12:00:00", "missing time zone"},
      {"2024-05-01T12:00:00.Z", "expected digits after '.'"},
      {"2024-05-01T12:00:00.1234567Z", "more than 6 fraction digits"},
      {"2024-05-01T12:00:00+0200", "expected time zone offset"},
      {"2024-05-01T12:00:00+24:00", "offset out of range"},
      {"2024-05-01T12:00:00z", "expected time zone"},
      {"2024-05-01T12:00:00ZZ", "unexpected text after the time zone"},
      {"2024-05-01x", "expected 'T'"},
  };
  for (const auto& c : cases) {
    int64_t micros = 0;
    Status st = ParseTimestamp(c.text, &micros);
    ASSERT_TRUE(st.IsInvalidArgument()) << c.text;
    EXPECT_NE(st.message().find(c.reason), std::string::npos)
        << c.text << " -> " << st.message();
    EXPECT_NE(st.message().find(std::string("'") + c.text + "'"), std::string::npos)
        << st.message();
  }
}

TEST(TimestampTest, RandomFormatParseRoundTrip) {
  std::mt19937_64 rng(20240501);
  // Years 0001..9999, the range the text form can carry.
  std::uniform_int_distribution<int64_t> dist(-62135596800000000, 253402300799999999);
  for (int i = 0; i < 20000; ++i) {
    int64_t micros = dist(rng);
    if (i % 3 == 0) micros -= micros % 1000000;  // whole seconds too
    std::string text = FormatTimestamp(micros);
    int64_t back = 0;
    ASSERT_TRUE(ParseTimestamp(text, &back).ok()) << text;
    ASSERT_EQ(back, micros) << text;
  }
}

struct CoerceCase {
  Value in;
  FieldType type;
  Value want;
};

TEST(CoerceValueTest, Accepts) {
  const CoerceCase cases[] = {
      {Value::Int(5), FieldType::kInt, Value::Int(5)},
      {Value::Text("42"), FieldType::kInt, Value::Int(42)},
      {Value::Text("-9223372036854775808"), FieldType::kInt, Value::Int(INT64_MIN)},
      {Value::Int(3), FieldType::kFloat, Value::Float(3.0)},
      {Value::Float(2.5), FieldType::kFloat, Value::Float(2.5)},
      {Value::Float(INFINITY), FieldType::kFloat, Value::Float(INFINITY)},
      {Value::Text("1.5"), FieldType::kFloat, Value::Float(1.5)},
      {Value::Text("-2e3"), FieldType::kFloat, Value::Float(-2000.0)},
      {Value::Text("7"), FieldType::kFloat, Value::Float(7.0)},
      {Value::Text("true"), FieldType::kBool, Value::Bool(true)},
      {Value::Text("FALSE"), FieldType::kBool, Value::Bool(false)},
      {Value::Text("True"), FieldType::kBool, Value::Bool(true)},
      {Value::Bool(false), FieldType::kBool, Value::Bool(false)},
      {Value::Text("2024-05-01"), FieldType::kTimestamp, Value::Time(1714521600000000)},
      {Value::Text("2024-05-01T12:00:00Z"), FieldType::kTimestamp,
       Value::Time(1714564800000000)},
      {Value::Time(-5), FieldType::kTimestamp, Value::Time(-5)},
      {Value::Text("abc"), FieldType::kText, Value::Text("abc")},
      {Value::Null(), FieldType::kInt, Value::Null()},
      {Value::Null(), FieldType::kText, Value::Null()},
  };
  for (const auto& c : cases) {
    Value out = Value::Text("sentinel");
    Status st = CoerceValue(c.in, c.type, "f", &out);
    ASSERT_TRUE(st.ok()) << c.in.ToString() << " -> " << FieldTypeName(c.type) << ": "
                         << st.ToString();
    EXPECT_TRUE(out == c.want) << c.in.ToString() << " got " << out.ToString();
  }
}

TEST(CoerceValueTest, RejectsNamingFieldAndType) {
  struct Case {
    Value in;
    FieldType type;
    const char* message;
  } cases[] = {
      {Value::Text("abc"), FieldType::kInt, "field 'age' expects int, got text 'abc'"},
      {Value::Text("42x"), FieldType::kInt, "field 'age' expects int, got text '42x'"},
      {Value::Text(" 42"), FieldType::kInt, "field 'age' expects int, got text ' 42'"},
      {Value::Text(""), FieldType::kInt, "field 'age' expects int, got text ''"},
      {Value::Text("1.0"), FieldType::kInt, "field 'age' expects int, got text '1.0'"},
      {Value::Text("9223372036854775808"), FieldType::kInt, "out of the 64-bit range"},
      {Value::Float(1.0), FieldType::kInt, "field 'age' expects int, got float '1'"},
      {Value::Bool(true), FieldType::kInt, "field 'age' expects int, got bool 'true'"},
      {Value::Text("nan"), FieldType::kFloat, "field 'age' expects float, got text 'nan'"},
      {Value::Text("inf"), FieldType::kFloat, "expects float"},
      {Value::Text("1.5.2"), FieldType::kFloat, "expects float"},
      {Value::Text("1e999"), FieldType::kFloat, "out of the double range"},
      {Value::Float(NAN), FieldType::kFloat, "NaN"},
      {Value::Text("yes"), FieldType::kBool, "field 'age' expects bool, got text 'yes'"},
      {Value::Int(1), FieldType::kBool, "expects bool, got int '1'"},
      {Value::Text("2024-13-01"), FieldType::kTimestamp, "month out of range"},
      {Value::Int(1714521600), FieldType::kTimestamp, "expects timestamp, got int"},
      {Value::Int(5), FieldType::kText, "field 'age' expects text, got int '5'"},
      {Value::Time(0), FieldType::kText, "expects text, got timestamp"},
  };
  for (const auto& c : cases) {
    Value out;
    Status st = CoerceValue(c.in, c.type, "age", &out);
    ASSERT_TRUE(st.IsInvalidArgument()) << c.in.ToString() << " -> " << FieldTypeName(c.type);
    EXPECT_NE(st.message().find(c.message), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("'age'"), std::string::npos) << st.message();
  }
}

ObjectDef Customers() {
  ObjectDef def;
  def.id = 3;
  def.name = "Customers";
  def.fields = {{"name", FieldType::kText, true, true},
                {"age", FieldType::kInt, false, false},
                {"score", FieldType::kFloat, false, false}};
  return def;
}

TEST(ObjectDefTest, SlotsForDeclaredAndSystemFields) {
  ObjectDef def = Customers();
  EXPECT_EQ(def.Slot("name"), 0);
  EXPECT_EQ(def.Slot("score"), 2);
  EXPECT_EQ(def.Slot("id"), static_cast<int>(SystemField::kId));
  EXPECT_EQ(def.Slot("version"), static_cast<int>(SystemField::kVersion));
  EXPECT_EQ(def.Slot("createdBy"), static_cast<int>(SystemField::kCreatedBy));
  EXPECT_EQ(def.Slot("createdAt"), static_cast<int>(SystemField::kCreatedAt));
  EXPECT_EQ(def.Slot("modifiedBy"), static_cast<int>(SystemField::kModifiedBy));
  EXPECT_EQ(def.Slot("modifiedAt"), static_cast<int>(SystemField::kModifiedAt));
  EXPECT_FALSE(def.Slot("Name").has_value());
  EXPECT_FALSE(def.Slot("createdat").has_value());
  EXPECT_EQ(def.SlotType(1), FieldType::kInt);
  EXPECT_EQ(def.SlotType(-1), FieldType::kInt);
  EXPECT_EQ(def.SlotType(-4), FieldType::kTimestamp);
  EXPECT_EQ(def.SlotType(-6), FieldType::kTimestamp);
  EXPECT_EQ(def.SlotType(-5), FieldType::kInt);
  for (std::string_view n : {"name", "age", "id", "version", "createdBy", "createdAt",
                             "modifiedBy", "modifiedAt"}) {
    EXPECT_EQ(def.SlotName(*def.Slot(n)), n);
  }
}

TEST(RecordTest, GetDeclaredAndSystemValues) {
  Record r;
  r.id = 12;
  r.version = 3;
  r.created_by = 7;
  r.created_at = 1000;
  r.modified_by = 8;
  r.modified_at = 2000;
  r.values = {Value::Text("Ann"), Value::Null()};
  EXPECT_TRUE(r.Get(0) == Value::Text("Ann"));
  EXPECT_TRUE(r.Get(1).is_null());
  EXPECT_TRUE(r.Get(2).is_null());  // beyond the stored values: unset
  EXPECT_TRUE(r.Get(-1) == Value::Int(12));
  EXPECT_TRUE(r.Get(-2) == Value::Int(3));
  EXPECT_TRUE(r.Get(-3) == Value::Int(7));
  EXPECT_TRUE(r.Get(-4) == Value::Time(1000));
  EXPECT_TRUE(r.Get(-5) == Value::Int(8));
  EXPECT_TRUE(r.Get(-6) == Value::Time(2000));
}

TEST(NowMicrosTest, IsRecentAndMonotoneEnough) {
  int64_t a = NowMicros();
  EXPECT_GT(a, 1700000000000000);  // after Nov 2023
  EXPECT_GE(NowMicros(), a);
}

}  // namespace
}  // namespace cotenant::storage
