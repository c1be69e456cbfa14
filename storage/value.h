// Field values and field types shared by storage/, sharing/ and rpc/.
//
// A Value is null or one of the five field types. Timestamps are microseconds since
// 1970-01-01T00:00:00Z (UTC) and are a distinct alternative so that a timestamp is never
// confused with an int.

#ifndef COTENANT_STORAGE_VALUE_H_
#define COTENANT_STORAGE_VALUE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"
#include "common/time.h"

namespace cotenant::storage {

enum class FieldType : unsigned char { kText = 0, kInt = 1, kFloat = 2, kBool = 3, kTimestamp = 4 };

// "text", "int", "float", "bool", "timestamp".
std::string_view FieldTypeName(FieldType t);
// Parses a type name; nullopt when unknown.
std::optional<FieldType> ParseFieldType(std::string_view name);

struct Timestamp {
  int64_t micros = 0;
  friend bool operator==(Timestamp a, Timestamp b) { return a.micros == b.micros; }
  friend auto operator<=>(Timestamp a, Timestamp b) { return a.micros <=> b.micros; }
};

class Value {
 public:
  Value() = default;  // null
  static Value Null() { return Value(); }
  static Value Text(std::string s) { return Value(Rep(std::move(s))); }
  static Value Int(int64_t v) { return Value(Rep(v)); }
  static Value Float(double v) { return Value(Rep(v)); }
  static Value Bool(bool v) { return Value(Rep(v)); }
  static Value Time(int64_t micros) { return Value(Rep(Timestamp{micros})); }

  bool is_null() const { return rep_.index() == 0; }
  // The type of a non-null value. REQUIRES: !is_null().
  FieldType type() const { return static_cast<FieldType>(rep_.index() - 1); }

  // Accessors. REQUIRES: the value holds that type.
  const std::string& text() const { return std::get<std::string>(rep_); }
  int64_t int_value() const { return std::get<int64_t>(rep_); }
  double float_value() const { return std::get<double>(rep_); }
  bool bool_value() const { return std::get<bool>(rep_); }
  int64_t time_micros() const { return std::get<Timestamp>(rep_).micros; }

  // Total order among values of one type; null sorts after every value.
  // REQUIRES: both null or of the same type.
  int Compare(const Value& other) const;
  friend bool operator==(const Value& a, const Value& b) { return a.rep_ == b.rep_; }

  // Human form: text as-is, numbers in decimal, timestamps as ISO 8601 UTC, null as "null".
  std::string ToString() const;
  // ToString() in single quotes, cut after 64 bytes: for error messages.
  std::string Quoted() const;

 private:
  using Rep = std::variant<std::monostate, std::string, int64_t, double, bool, Timestamp>;
  explicit Value(Rep r) : rep_(std::move(r)) {}
  Rep rep_;
};

// Timestamps are printed and parsed by common/time.h (the strict forms on the wire).
using ::cotenant::FormatTimestamp;
using ::cotenant::ParseTimestamp;

// Converts `in` to a value of `type`: a value already of that type is kept; text is parsed
// strictly ("42", "1.5", "true"/"false", ISO timestamps); an int is accepted for a float
// field. Anything else is InvalidArgument naming `field`. Null stays null.
Status CoerceValue(const Value& in, FieldType type, std::string_view field, Value* out);

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_VALUE_H_
