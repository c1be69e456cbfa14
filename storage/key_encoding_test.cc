#include "storage/key_encoding.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace cotenant::storage {
namespace {

std::string Enc(const Value& v) {
  std::string out;
  AppendOrdered(&out, v);
  return out;
}

int Sign(int x) { return (x > 0) - (x < 0); }

// memcmp order as a sign, shorter-is-smaller on a common prefix (std::string compares so).
int ByteOrder(const std::string& a, const std::string& b) { return Sign(a.compare(b)); }

// Every pair of the values must order the same way encoded as they do by Value::Compare,
// and every encoding must decode back to an equal value consuming exactly its bytes.
void CheckOrderAndRoundTrip(const std::vector<Value>& values, FieldType type) {
  std::vector<std::string> enc;
  enc.reserve(values.size());
  for (const Value& v : values) enc.push_back(Enc(v));
  for (size_t i = 0; i < values.size(); ++i) {
    for (size_t j = 0; j < values.size(); ++j) {
      ASSERT_EQ(ByteOrder(enc[i], enc[j]), Sign(values[i].Compare(values[j])))
          << values[i].ToString() << " vs " << values[j].ToString();
    }
    std::string with_tail = enc[i] + "tail";
    std::string_view rest = with_tail;
    Value back;
    ASSERT_TRUE(DecodeOrdered(&rest, type, &back)) << values[i].ToString();
    EXPECT_EQ(rest, "tail") << values[i].ToString();
    EXPECT_EQ(back.Compare(values[i]), 0) << values[i].ToString() << " -> " << back.ToString();
  }
}

TEST(FixedWidthTest, BigEndianRoundTripAndOrder) {
  std::string s;
  AppendU16(&s, 0x0102);
  AppendU32(&s, 0x03040506);
  AppendU64(&s, 0x0708090a0b0c0d0eULL);
  ASSERT_EQ(s.size(), 14u);
  EXPECT_EQ(s.substr(0, 3), std::string("\x01\x02\x03"));
  EXPECT_EQ(DecodeU16(s.data()), 0x0102);
  EXPECT_EQ(DecodeU32(s.data() + 2), 0x03040506u);
  EXPECT_EQ(DecodeU64(s.data() + 6), 0x0708090a0b0c0d0eULL);

  std::mt19937_64 rng(1);
  for (int i = 0; i < 2000; ++i) {
    uint64_t a = rng(), b = rng() >> (rng() % 64);
    std::string ea, eb;
    AppendU64(&ea, a);
    AppendU64(&eb, b);
    ASSERT_EQ(ByteOrder(ea, eb), a < b ? -1 : (a > b ? 1 : 0));
    ASSERT_EQ(DecodeU64(ea.data()), a);
    uint32_t c = static_cast<uint32_t>(a), d = static_cast<uint32_t>(b);
    std::string ec, ed;
    AppendU32(&ec, c);
    AppendU32(&ed, d);
    ASSERT_EQ(ByteOrder(ec, ed), c < d ? -1 : (c > d ? 1 : 0));
    ASSERT_EQ(DecodeU32(ec.data()), c);
  }
}

TEST(OrderedEncodingTest, DocumentedBytes) {
  EXPECT_EQ(Enc(Value::Null()), std::string("\x02"));
  EXPECT_EQ(Enc(Value::Int(0)), std::string("\x01\x80\0\0\0\0\0\0\0", 9));
  EXPECT_EQ(Enc(Value::Int(-1)), std::string("\x01\x7f\xff\xff\xff\xff\xff\xff\xff", 9));
  EXPECT_EQ(Enc(Value::Bool(true)), std::string("\x01\x01", 2));
  EXPECT_EQ(Enc(Value::Text(std::string("a\0b", 3))), std::string("\x01" "a\0\xff" "b\0\x01", 7));
  EXPECT_EQ(Enc(Value::Float(-0.0)), Enc(Value::Float(0.0)));
  EXPECT_EQ(Enc(Value::Float(0.0)), std::string("\x01\x80\0\0\0\0\0\0\0", 9));
}

TEST(OrderedEncodingTest, IntsRandomized) {
  std::vector<Value> values = {Value::Int(INT64_MIN), Value::Int(INT64_MIN + 1),
                               Value::Int(INT64_MAX), Value::Int(INT64_MAX - 1),
                               Value::Int(-1),        Value::Int(0),
                               Value::Int(1),         Value::Int(-256),
                               Value::Int(255),       Value::Null()};
  std::mt19937_64 rng(42);
  for (int i = 0; i < 250; ++i) {
    // Mix full-range values with small ones so neighbours and sign changes are common.
    int64_t v = static_cast<int64_t>(rng());
    if (i % 2) v >>= (rng() % 63);
    values.push_back(Value::Int(v));
  }
  CheckOrderAndRoundTrip(values, FieldType::kInt);
}

TEST(OrderedEncodingTest, TimestampsIncludingPre1970) {
  std::vector<Value> values = {Value::Time(INT64_MIN), Value::Time(INT64_MAX),
                               Value::Time(-62135596800000000), Value::Time(-1),
                               Value::Time(0), Value::Time(1), Value::Null()};
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> dist(-4'000'000'000'000'000, 4'000'000'000'000'000);
  for (int i = 0; i < 250; ++i) values.push_back(Value::Time(dist(rng)));
  CheckOrderAndRoundTrip(values, FieldType::kTimestamp);
}

TEST(OrderedEncodingTest, FloatsRandomized) {
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<Value> values = {
      Value::Float(-inf),
      Value::Float(inf),
      Value::Float(-0.0),
      Value::Float(0.0),
      Value::Float(std::numeric_limits<double>::denorm_min()),
      Value::Float(-std::numeric_limits<double>::denorm_min()),
      Value::Float(std::numeric_limits<double>::min()),
      Value::Float(-std::numeric_limits<double>::min()),
      Value::Float(std::numeric_limits<double>::max()),
      Value::Float(std::numeric_limits<double>::lowest()),
      Value::Float(1.0),
      Value::Float(-1.0),
      Value::Float(1e-300),
      Value::Float(-1e300),
      Value::Float(0.1),
      Value::Float(std::nextafter(0.1, 1.0)),
      Value::Null(),
  };
  std::mt19937_64 rng(99);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::uniform_int_distribution<int> exp(-300, 300);
  for (int i = 0; i < 250; ++i) {
    double v = unit(rng) * std::pow(10.0, exp(rng));
    if (i % 5 == 0) v = std::bit_cast<double>(rng());  // arbitrary bit patterns
    if (std::isnan(v)) v = 0.5;
    values.push_back(Value::Float(v));
  }
  CheckOrderAndRoundTrip(values, FieldType::kFloat);
}

TEST(OrderedEncodingTest, NegativeZeroDecodesAsZero) {
  std::string e = Enc(Value::Float(-0.0));
  std::string_view in = e;
  Value back;
  ASSERT_TRUE(DecodeOrdered(&in, FieldType::kFloat, &back));
  EXPECT_FALSE(std::signbit(back.float_value()));
}

TEST(OrderedEncodingTest, TextRandomized) {
  std::vector<Value> values = {
      Value::Text(""),
      Value::Text(std::string("\0", 1)),
      Value::Text(std::string("\0\0", 2)),
      Value::Text(std::string("\0\x01", 2)),
      Value::Text(std::string("a\0", 2)),
      Value::Text(std::string("a\0b", 3)),
      Value::Text("a"),
      Value::Text("ab"),
      Value::Text("abc"),
      Value::Text("abd"),
      Value::Text("b"),
      Value::Text("\x01"),
      Value::Text("\xff"),
      Value::Text("\xff\xff"),
      Value::Text("Z"),
      Value::Text("caf\xC3\xA9"),       // café
      Value::Text("cafe"),
      Value::Text("\xE2\x82\xAC"),      // €
      Value::Text("\xF0\x9F\x98\x80"),  // emoji
      Value::Null(),
  };
  std::mt19937_64 rng(3);
  // A small alphabet with NUL, 0x01 and 0xFF makes escapes and shared prefixes frequent.
  const char alphabet[] = {'\0', '\x01', 'a', 'b', '\xfe', '\xff'};
  for (int i = 0; i < 300; ++i) {
    std::string s;
    size_t len = rng() % 7;
    for (size_t k = 0; k < len; ++k) s.push_back(alphabet[rng() % sizeof(alphabet)]);
    values.push_back(Value::Text(s));
  }
  CheckOrderAndRoundTrip(values, FieldType::kText);
}

TEST(OrderedEncodingTest, BoolsAndNull) {
  CheckOrderAndRoundTrip({Value::Bool(false), Value::Bool(true), Value::Null()},
                         FieldType::kBool);
}

TEST(OrderedEncodingTest, CompositeKeysOrderByFirstThenSecond) {
  // Index keys are (value, record id): a text prefix must not run into the id that follows.
  auto key = [](const std::string& s, uint64_t id) {
    std::string k;
    AppendOrdered(&k, Value::Text(s));
    AppendU64(&k, id);
    return k;
  };
  EXPECT_LT(key("ab", UINT64_MAX), key("abc", 0));
  EXPECT_LT(key("a", 5), key("a", 6));
  EXPECT_LT(key(std::string("a\0", 2), 0), key("ab", 0));
  EXPECT_GT(key(std::string("a\0", 2), 0), key("a", UINT64_MAX));
}

TEST(OrderedEncodingTest, DecodeRejectsMalformed) {
  const struct {
    std::string bytes;
    FieldType type;
  } cases[] = {
      {"", FieldType::kInt},
      {"\x03", FieldType::kInt},
      {std::string("\x01\x80\0\0", 4), FieldType::kInt},
      {std::string("\x01\x80\0\0\0\0\0\0", 8), FieldType::kFloat},
      {"\x01", FieldType::kBool},
      {"\x01\x02", FieldType::kBool},
      {"\x01" "abc", FieldType::kText},
      {std::string("\x01" "a\0", 3), FieldType::kText},
      {std::string("\x01" "a\0\x05", 4), FieldType::kText},
  };
  for (const auto& c : cases) {
    std::string_view in = c.bytes;
    Value v;
    EXPECT_FALSE(DecodeOrdered(&in, c.type, &v)) << FieldTypeName(c.type);
  }
}

TEST(OrderedEncodingTest, DecodesConsecutiveValues) {
  std::string k;
  AppendOrdered(&k, Value::Text("x"));
  AppendOrdered(&k, Value::Null());
  AppendOrdered(&k, Value::Int(-3));
  std::string_view in = k;
  Value a, b, c;
  ASSERT_TRUE(DecodeOrdered(&in, FieldType::kText, &a));
  ASSERT_TRUE(DecodeOrdered(&in, FieldType::kFloat, &b));
  ASSERT_TRUE(DecodeOrdered(&in, FieldType::kInt, &c));
  EXPECT_TRUE(in.empty());
  EXPECT_TRUE(a == Value::Text("x"));
  EXPECT_TRUE(b.is_null());
  EXPECT_TRUE(c == Value::Int(-3));
}

TEST(PrefixSuccessorTest, Cases) {
  EXPECT_EQ(PrefixSuccessor("abc"), "abd");
  EXPECT_EQ(PrefixSuccessor(std::string("a\xff\xff", 3)), "b");
  EXPECT_EQ(PrefixSuccessor(std::string("\x00", 1)), std::string("\x01", 1));
  EXPECT_EQ(PrefixSuccessor(std::string("\x01\xfe", 2)), std::string("\x01\xff", 2));
  EXPECT_EQ(PrefixSuccessor(std::string("\xff\xff", 2)), "");
  EXPECT_EQ(PrefixSuccessor(""), "");
  // Every extension of the prefix sorts below the successor; the successor does not start
  // with the prefix.
  std::string tenant;
  AppendU64(&tenant, 41);
  std::string succ = PrefixSuccessor(tenant);
  EXPECT_LT(tenant + std::string(20, '\xff'), succ);
  std::string next;
  AppendU64(&next, 42);
  EXPECT_EQ(succ, next);
}

}  // namespace
}  // namespace cotenant::storage
