// Values, field types, timestamps, and the small model helpers of storage.h.

#include "storage/value.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>

#include "common/env.h"
#include "storage/storage.h"

namespace cotenant::storage {

namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

// Error messages quote user input; keep them short when the input is not.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  if (s.size() > kMax) {
    out.append(s.substr(0, kMax));
    out += "...";
  } else {
    out.append(s);
  }
  out += "'";
  return out;
}

std::string FloatToString(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, res.ptr);
}

std::string Describe(const Value& v) {
  if (v.is_null()) return "null";
  std::string out(FieldTypeName(v.type()));
  out += ' ';
  out += Quote(v.ToString());
  return out;
}

Status Mismatch(std::string_view field, FieldType type, const Value& in,
                std::string_view why = {}) {
  std::string msg = "field '" + std::string(field) + "' expects " +
                    std::string(FieldTypeName(type)) + ", got " + Describe(in);
  if (!why.empty()) {
    msg += ": ";
    msg += why;
  }
  return Status::InvalidArgument(std::move(msg));
}

constexpr std::string_view kSystemFieldNames[] = {"id",        "version",    "createdBy",
                                                  "createdAt", "modifiedBy", "modifiedAt"};

}  // namespace

std::string_view FieldTypeName(FieldType t) {
  switch (t) {
    case FieldType::kText: return "text";
    case FieldType::kInt: return "int";
    case FieldType::kFloat: return "float";
    case FieldType::kBool: return "bool";
    case FieldType::kTimestamp: return "timestamp";
  }
  return "unknown";
}

std::optional<FieldType> ParseFieldType(std::string_view name) {
  for (FieldType t : {FieldType::kText, FieldType::kInt, FieldType::kFloat, FieldType::kBool,
                      FieldType::kTimestamp}) {
    if (name == FieldTypeName(t)) return t;
  }
  return std::nullopt;
}

int Value::Compare(const Value& other) const {
  if (is_null() || other.is_null()) {
    if (is_null() && other.is_null()) return 0;
    return is_null() ? 1 : -1;
  }
  switch (type()) {
    case FieldType::kText: {
      // string_view compares as unsigned bytes (char_traits<char>), i.e. code point order.
      int c = std::string_view(text()).compare(other.text());
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case FieldType::kInt: {
      auto a = int_value(), b = other.int_value();
      return a < b ? -1 : (a > b ? 1 : 0);
    }
    case FieldType::kFloat: {
      // Total order matching the key encoding: -0.0 == +0.0, NaN after +inf.
      double a = float_value(), b = other.float_value();
      bool na = std::isnan(a), nb = std::isnan(b);
      if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
      return a < b ? -1 : (a > b ? 1 : 0);
    }
    case FieldType::kBool: {
      int a = bool_value(), b = other.bool_value();
      return a - b;
    }
    case FieldType::kTimestamp: {
      auto a = time_micros(), b = other.time_micros();
      return a < b ? -1 : (a > b ? 1 : 0);
    }
  }
  return 0;
}

std::string Value::Quoted() const { return Quote(ToString()); }

std::string Value::ToString() const {
  if (is_null()) return "null";
  switch (type()) {
    case FieldType::kText: return text();
    case FieldType::kInt: return std::to_string(int_value());
    case FieldType::kFloat: return FloatToString(float_value());
    case FieldType::kBool: return bool_value() ? "true" : "false";
    case FieldType::kTimestamp: return FormatTimestamp(time_micros());
  }
  return "";
}

Status CoerceValue(const Value& in, FieldType type, std::string_view field, Value* out) {
  if (in.is_null()) {
    *out = Value::Null();
    return Status::OK();
  }
  if (in.type() == type) {
    if (type == FieldType::kFloat && std::isnan(in.float_value())) {
      return Mismatch(field, type, in, "NaN is not a storable number");
    }
    *out = in;
    return Status::OK();
  }
  if (type == FieldType::kFloat && in.type() == FieldType::kInt) {
    *out = Value::Float(static_cast<double>(in.int_value()));
    return Status::OK();
  }
  if (in.type() != FieldType::kText) return Mismatch(field, type, in);

  const std::string& s = in.text();
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  switch (type) {
    case FieldType::kText:
      break;  // handled above
    case FieldType::kInt: {
      int64_t v = 0;
      auto res = std::from_chars(begin, end, v);
      if (res.ec == std::errc::result_out_of_range) {
        return Mismatch(field, type, in, "out of the 64-bit range");
      }
      if (s.empty() || res.ec != std::errc() || res.ptr != end) return Mismatch(field, type, in);
      *out = Value::Int(v);
      return Status::OK();
    }
    case FieldType::kFloat: {
      // Only plain decimal notation: from_chars would also take "inf" and "nan".
      for (char c : s) {
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' ||
              c == 'E')) {
          return Mismatch(field, type, in);
        }
      }
      double v = 0;
      auto res = std::from_chars(begin, end, v, std::chars_format::general);
      if (res.ec == std::errc::result_out_of_range) {
        return Mismatch(field, type, in, "out of the double range");
      }
      if (s.empty() || res.ec != std::errc() || res.ptr != end) return Mismatch(field, type, in);
      *out = Value::Float(v);
      return Status::OK();
    }
    case FieldType::kBool:
      if (EqualsIgnoreCase(s, "true")) {
        *out = Value::Bool(true);
        return Status::OK();
      }
      if (EqualsIgnoreCase(s, "false")) {
        *out = Value::Bool(false);
        return Status::OK();
      }
      return Mismatch(field, type, in);
    case FieldType::kTimestamp: {
      int64_t micros = 0;
      Status st = ParseTimestamp(s, &micros);
      if (!st.ok()) {
        // The input is quoted once already; keep only ParseTimestamp's reason. Its
        // message is "invalid timestamp '<text>': <reason>", with <text> cut when long.
        const std::string& msg = st.message();
        size_t cut = msg.find("': ", msg.find('\'') + 1 + std::min<size_t>(s.size(), 64));
        return Mismatch(field, type, in, cut == std::string::npos ? msg : msg.substr(cut + 3));
      }
      *out = Value::Time(micros);
      return Status::OK();
    }
  }
  return Mismatch(field, type, in);
}

// ---- Model helpers declared in storage.h --------------------------------------------

std::string_view TenantKindName(TenantKind k) {
  switch (k) {
    case TenantKind::kTenant: return "tenant";
    case TenantKind::kMsp: return "msp";
    case TenantKind::kIsv: return "isv";
    case TenantKind::kSystem: return "system";
  }
  return "unknown";
}

std::optional<TenantKind> ParseTenantKind(std::string_view name) {
  for (TenantKind k : {TenantKind::kTenant, TenantKind::kMsp, TenantKind::kIsv,
                       TenantKind::kSystem}) {
    if (name == TenantKindName(k)) return k;
  }
  return std::nullopt;
}

std::optional<int> ObjectDef::Slot(std::string_view name) const {
  // System names are reserved (CreateObject refuses them), so checking them first cannot
  // hide a declared field.
  for (int i = 0; i < 6; ++i) {
    if (name == kSystemFieldNames[i]) return -(i + 1);
  }
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

FieldType ObjectDef::SlotType(int slot) const {
  if (slot >= 0) return fields[static_cast<size_t>(slot)].type;
  switch (static_cast<SystemField>(slot)) {
    case SystemField::kCreatedAt:
    case SystemField::kModifiedAt:
      return FieldType::kTimestamp;
    default:
      return FieldType::kInt;
  }
}

std::string_view ObjectDef::SlotName(int slot) const {
  if (slot >= 0) return fields[static_cast<size_t>(slot)].name;
  int i = -slot - 1;
  return i < 6 ? kSystemFieldNames[i] : std::string_view("?");
}

Value Record::Get(int slot) const {
  if (slot >= 0) {
    return static_cast<size_t>(slot) < values.size() ? values[static_cast<size_t>(slot)]
                                                     : Value::Null();
  }
  // Ids, versions and user ids are unsigned 64-bit; their int Values keep the bit pattern,
  // which criteria compare as unsigned (criteria::BoundExpr::unsigned_int).
  switch (static_cast<SystemField>(slot)) {
    case SystemField::kId: return Value::Int(static_cast<int64_t>(id));
    case SystemField::kVersion: return Value::Int(static_cast<int64_t>(version));
    case SystemField::kCreatedBy: return Value::Int(static_cast<int64_t>(created_by));
    case SystemField::kCreatedAt: return Value::Time(created_at);
    case SystemField::kModifiedBy: return Value::Int(static_cast<int64_t>(modified_by));
    case SystemField::kModifiedAt: return Value::Time(modified_at);
  }
  return Value::Null();
}

int64_t NowMicros() { return SystemClock()->NowMicros(); }

}  // namespace cotenant::storage
