#include "storage/key_encoding.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace cotenant::storage {

namespace {

constexpr char kValueTag = 0x01;
constexpr char kNullTag = 0x02;
constexpr uint64_t kSignBit = uint64_t{1} << 63;

uint64_t FloatKey(double v) {
  if (v == 0.0) v = 0.0;  // -0.0 == +0.0 in Value::Compare, so one encoding for both
  // One NaN encoding, above +inf, matching Value::Compare.
  if (std::isnan(v)) v = std::numeric_limits<double>::quiet_NaN();
  uint64_t bits = std::bit_cast<uint64_t>(v);
  return (bits & kSignBit) ? ~bits : (bits | kSignBit);
}

double FloatFromKey(uint64_t key) {
  uint64_t bits = (key & kSignBit) ? (key & ~kSignBit) : ~key;
  return std::bit_cast<double>(bits);
}

}  // namespace

void AppendU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v >> 8));
  out->push_back(static_cast<char>(v));
}

void AppendU32(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void AppendU64(std::string* out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

uint16_t DecodeU16(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>((u[0] << 8) | u[1]);
}

uint32_t DecodeU32(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | u[i];
  return v;
}

uint64_t DecodeU64(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | u[i];
  return v;
}

std::string TypedKey(const Value& v) {
  std::string out = v.is_null() ? "null" : std::string(FieldTypeName(v.type()));
  out.push_back(':');
  AppendOrdered(&out, v);
  return out;
}

void AppendOrdered(std::string* out, const Value& v) {
  if (v.is_null()) {
    out->push_back(kNullTag);
    return;
  }
  out->push_back(kValueTag);
  switch (v.type()) {
    case FieldType::kInt:
      AppendU64(out, static_cast<uint64_t>(v.int_value()) ^ kSignBit);
      break;
    case FieldType::kTimestamp:
      AppendU64(out, static_cast<uint64_t>(v.time_micros()) ^ kSignBit);
      break;
    case FieldType::kFloat:
      AppendU64(out, FloatKey(v.float_value()));
      break;
    case FieldType::kBool:
      out->push_back(v.bool_value() ? 1 : 0);
      break;
    case FieldType::kText: {
      const std::string& s = v.text();
      out->reserve(out->size() + s.size() + 2);
      for (char c : s) {
        out->push_back(c);
        if (c == '\0') out->push_back('\xff');
      }
      out->push_back('\0');
      out->push_back('\x01');
      break;
    }
  }
}

bool DecodeOrdered(std::string_view* in, FieldType type, Value* out) {
  if (in->empty()) return false;
  const char tag = (*in)[0];
  if (tag == kNullTag) {
    in->remove_prefix(1);
    *out = Value::Null();
    return true;
  }
  if (tag != kValueTag) return false;
  std::string_view p = in->substr(1);
  switch (type) {
    case FieldType::kInt:
    case FieldType::kTimestamp:
    case FieldType::kFloat: {
      if (p.size() < 8) return false;
      uint64_t raw = DecodeU64(p.data());
      if (type == FieldType::kInt) {
        *out = Value::Int(static_cast<int64_t>(raw ^ kSignBit));
      } else if (type == FieldType::kTimestamp) {
        *out = Value::Time(static_cast<int64_t>(raw ^ kSignBit));
      } else {
        *out = Value::Float(FloatFromKey(raw));
      }
      p.remove_prefix(8);
      break;
    }
    case FieldType::kBool: {
      if (p.empty() || (p[0] != 0 && p[0] != 1)) return false;
      *out = Value::Bool(p[0] == 1);
      p.remove_prefix(1);
      break;
    }
    case FieldType::kText: {
      std::string s;
      size_t i = 0;
      for (;;) {
        size_t zero = p.find('\0', i);
        if (zero == std::string_view::npos || zero + 1 >= p.size()) return false;
        s.append(p.data() + i, zero - i);
        char next = p[zero + 1];
        i = zero + 2;
        if (next == '\x01') break;
        if (next != '\xff') return false;
        s.push_back('\0');
      }
      p.remove_prefix(i);
      *out = Value::Text(std::move(s));
      break;
    }
  }
  *in = p;
  return true;
}

std::string PrefixSuccessor(std::string_view prefix) {
  std::string out(prefix);
  while (!out.empty()) {
    auto last = static_cast<unsigned char>(out.back());
    if (last != 0xff) {
      out.back() = static_cast<char>(last + 1);
      return out;
    }
    out.pop_back();
  }
  return out;
}

bool ParseHex16(std::string_view s, uint64_t* v) {
  if (s.size() != 16) return false;
  uint64_t r = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else return false;  // lowercase only: one spelling per key
    r = (r << 4) | static_cast<uint64_t>(d);
  }
  *v = r;
  return true;
}

}  // namespace cotenant::storage
