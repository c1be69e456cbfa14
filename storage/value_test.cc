#include "storage/value.h"

#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

#include "common/status.h"
#include "storage/storage.h"

namespace cotenant::storage {
namespace {

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
