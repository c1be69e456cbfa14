// cotenant-import: columns to fields, and cells or JSON values to typed record values.
//
// Values are coerced here, on the client, rather than sent as text for the server to
// parse: a bad value then becomes a reject line naming the column and the value before
// any call, and the rest of its batch still goes in.

#include "mapping.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

#include "common/time.h"
#include "common/utf8.h"

namespace cotenant::import {
namespace {

constexpr size_t kQuoteMax = 64;  // bytes of a value quoted in a reason

// 'value', cut to kQuoteMax bytes (not inside a UTF-8 sequence) with "..." when longer:
// a reason names the value without copying a huge cell into the reject file twice.
std::string Quote(std::string_view value) {
  if (value.size() <= kQuoteMax) return "'" + std::string(value) + "'";
  size_t cut = kQuoteMax;
  while (cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) --cut;
  return "'" + std::string(value.substr(0, cut)) + "...'";
}

std::string Plural(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string FieldList(const std::vector<FieldDef>& fields) {
  if (fields.empty()) return "none";
  std::string s;
  for (const FieldDef& f : fields) {
    if (!s.empty()) s += ", ";
    s += f.name;
  }
  return s;
}

std::string NameList(const std::vector<std::string>& names) {
  std::string s;
  for (const std::string& n : names) {
    if (!s.empty()) s += ", ";
    s += n;
  }
  return s;
}

int FieldIndex(const std::vector<FieldDef>& fields, const std::string& name) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// A decimal integer: an optional sign, then digits only (no blanks, no "0x", no ".0").
bool ParseInt(std::string_view s, int64_t* v, std::string* reason) {
  std::string_view d = s;
  if (!d.empty() && d[0] == '+') d.remove_prefix(1);  // from_chars takes '-' but not '+'
  size_t first = !d.empty() && d[0] == '-' && d.size() == s.size() ? 1 : 0;
  if (d.size() <= first || !IsDigit(d[first])) {
    *reason = "not an integer: " + Quote(s);
    return false;
  }
  auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), *v);
  if (end != d.data() + d.size()) {
    *reason = "not an integer: " + Quote(s);
    return false;
  }
  if (ec == std::errc::result_out_of_range) {
    *reason = "integer out of range: " + Quote(s);
    return false;
  }
  if (ec != std::errc()) {
    *reason = "not an integer: " + Quote(s);
    return false;
  }
  return true;
}

// A decimal number ("1.5", "-2", "1e3"), finite. from_chars rather than strtod: it reads
// the same in every locale. Only digits, signs, '.' and exponents are let through, which
// keeps out what it would also take ("inf", "nan").
bool ParseFloat(std::string_view s, double* v, std::string* reason) {
  std::string_view d = s;
  if (!d.empty() && d[0] == '+') d.remove_prefix(1);
  bool ok = !d.empty() && !(d.size() < s.size() && d[0] == '-');
  for (char c : d) {
    if (!IsDigit(c) && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E') ok = false;
  }
  if (!ok) {
    *reason = "not a number: " + Quote(s);
    return false;
  }
  auto [end, ec] = std::from_chars(d.data(), d.data() + d.size(), *v, std::chars_format::general);
  if (end != d.data() + d.size() || (ec != std::errc() && ec != std::errc::result_out_of_range)) {
    *reason = "not a number: " + Quote(s);
    return false;
  }
  if (ec == std::errc::result_out_of_range || !std::isfinite(*v)) {
    *reason = "number out of range: " + Quote(s);
    return false;
  }
  return true;
}

bool ParseBool(std::string_view s, bool* v, std::string* reason) {
  static constexpr std::string_view kTrue[] = {"true", "t", "yes", "y", "1"};
  static constexpr std::string_view kFalse[] = {"false", "f", "no", "n", "0"};
  if (s.size() <= 5) {
    char lower[5];
    for (size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      lower[i] = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    }
    std::string_view l(lower, s.size());
    for (std::string_view t : kTrue) {
      if (l == t) {
        *v = true;
        return true;
      }
    }
    for (std::string_view f : kFalse) {
      if (l == f) {
        *v = false;
        return true;
      }
    }
  }
  *reason = "not a boolean (true/false, yes/no, 1/0): " + Quote(s);
  return false;
}

bool ParseTime(std::string_view s, int64_t* micros, std::string* reason) {
  // The longest form is 32 bytes; the parser's message would quote a long cell whole.
  if (s.size() > kQuoteMax) {
    *reason = "invalid timestamp " + Quote(s) + ": too long";
    return false;
  }
  Status st = ParseTimestamp(s, micros, TimeForms::kLenient);
  if (!st.ok()) {
    *reason = st.message();
    return false;
  }
  return true;
}

// A CSV cell (not empty) or a JSON string, for field f.
bool AddText(const FieldDef& f, const std::string& s, Parameters* out, std::string* reason) {
  switch (f.type) {
    case FieldType::Text: {
      size_t bad = InvalidUtf8Offset(s);
      if (bad != std::string_view::npos) {
        *reason = "not valid UTF-8 (byte " + std::to_string(bad) + ")";
        return false;
      }
      out->add(f.name, s);
      return true;
    }
    case FieldType::Int: {
      int64_t v = 0;
      if (!ParseInt(s, &v, reason)) return false;
      out->add(f.name, v);
      return true;
    }
    case FieldType::Float: {
      double v = 0;
      if (!ParseFloat(s, &v, reason)) return false;
      out->add(f.name, v);
      return true;
    }
    case FieldType::Bool: {
      bool v = false;
      if (!ParseBool(s, &v, reason)) return false;
      out->add(f.name, v);
      return true;
    }
    case FieldType::Timestamp: {
      int64_t micros = 0;
      if (!ParseTime(s, &micros, reason)) return false;
      out->addTimestamp(f.name, micros);
      return true;
    }
  }
  *reason = "field of an unknown type";
  return false;
}

const char* JsonKind(const nlohmann::json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::string: return "string";
    case nlohmann::json::value_t::boolean: return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float: return "number";
    case nlohmann::json::value_t::array: return "array";
    case nlohmann::json::value_t::object: return "object";
    default: return "value";
  }
}

std::string WrongKind(const FieldDef& f, const nlohmann::json& v) {
  return std::string(fieldTypeName(f.type)) + " field '" + f.name + "' cannot take a JSON " +
         JsonKind(v) + ": " + Quote(v.dump());
}

// A JSON integer as an int64_t; false (with *reason) for one out of range or not integral.
bool JsonInt(const nlohmann::json& v, int64_t* out, std::string* reason) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      *reason = "integer out of range: " + Quote(v.dump());
      return false;
    }
    *out = static_cast<int64_t>(u);
    return true;
  }
  if (v.is_number_integer()) {
    *out = v.get<int64_t>();
    return true;
  }
  // A float with an integral value ("1e3", "4.0") is that integer.
  double d = v.get<double>();
  if (std::trunc(d) != d) {
    *reason = "not an integer: " + Quote(v.dump());
    return false;
  }
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) {
    *reason = "integer out of range: " + Quote(v.dump());
    return false;
  }
  *out = static_cast<int64_t>(d);
  return true;
}

// A JSON value (not null) for field f.
bool AddJson(const FieldDef& f, const nlohmann::json& v, Parameters* out, std::string* reason) {
  if (v.is_array() || v.is_object()) {
    *reason = WrongKind(f, v);
    return false;
  }
  switch (f.type) {
    case FieldType::Text:
      if (v.is_string()) return AddText(f, v.get_ref<const std::string&>(), out, reason);
      out->add(f.name, v.dump());  // a number or a bool as its JSON text
      return true;
    case FieldType::Int: {
      if (!v.is_number()) break;
      int64_t i = 0;
      if (!JsonInt(v, &i, reason)) return false;
      out->add(f.name, i);
      return true;
    }
    case FieldType::Float:
      if (!v.is_number()) break;
      out->add(f.name, v.get<double>());
      return true;
    case FieldType::Bool:
      if (!v.is_boolean()) break;
      out->add(f.name, v.get<bool>());
      return true;
    case FieldType::Timestamp: {
      if (v.is_string()) return AddText(f, v.get_ref<const std::string&>(), out, reason);
      if (!v.is_number_integer()) break;  // microseconds; a fraction of one is no time
      int64_t micros = 0;
      if (!JsonInt(v, &micros, reason)) return false;
      out->addTimestamp(f.name, micros);
      return true;
    }
  }
  *reason = WrongKind(f, v);
  return false;
}

}  // namespace

Mapping::Mapping(std::vector<FieldDef> fields, std::vector<std::string> columns,
                 const MappingOptions& options, Format format)
    : fields_(std::move(fields)),
      columns_(std::move(columns)),
      options_(options),
      format_(format) {
  // What --map and --skip say must make sense on its own.
  for (const auto& [column, field] : options_.renames) {
    if (FieldIndex(fields_, field) < 0) {
      throw MappingError("--map " + column + "=" + field + ": the object has no field '" + field +
                         "' (fields: " + FieldList(fields_) + ")");
    }
    if (options_.skipped.count(column) != 0) {
      throw MappingError("column '" + column + "' is given to both --map and --skip; give one");
    }
  }
  std::map<std::string, std::string> renamed_onto;  // field -> the --map column for it
  for (const auto& [column, field] : options_.renames) {
    auto [it, fresh] = renamed_onto.emplace(field, column);
    if (!fresh) {
      throw MappingError("--map " + it->second + "=" + field + " and --map " + column + "=" +
                         field + " both fill field '" + field + "'");
    }
  }
  // JSON keys are only known row by row: convert() resolves them.
  if (format_ == Format::kJsonl) return;

  // Without a header the columns are the fields, in declaration order.
  bool header = !columns_.empty();
  std::vector<std::string> names = columns_;
  if (!header) {
    for (const FieldDef& f : fields_) names.push_back(f.name);
  }
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < names.size(); ++i) {
    if (!position.emplace(names[i], i).second) {
      throw MappingError("column '" + names[i] + "' appears twice in the header (columns " +
                         std::to_string(position[names[i]] + 1) + " and " +
                         std::to_string(i + 1) + ")");
    }
  }
  auto missing = [&](const std::string& flag, const std::string& column) {
    std::string where = header ? "the header has no column '" + column + "' (columns: " +
                                     NameList(names) + ")"
                               : "there is no column '" + column +
                                     "' (without a header, the columns are the object's "
                                     "fields: " + FieldList(fields_) + ")";
    return MappingError(flag + " " + column + ": " + where);
  };
  for (const auto& [column, field] : options_.renames) {
    if (position.count(column) == 0) throw missing("--map", column);
  }
  for (const std::string& column : options_.skipped) {
    if (position.count(column) == 0) throw missing("--skip", column);
  }

  slot_of_column_.assign(names.size(), -1);
  std::vector<int> column_of_field(fields_.size(), -1);
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& column = names[i];
    if (options_.skipped.count(column) != 0) continue;
    auto rename = options_.renames.find(column);
    const std::string& field = rename != options_.renames.end() ? rename->second : column;
    int slot = FieldIndex(fields_, field);
    if (slot < 0) {
      throw MappingError("column '" + column + "' is not a field of the object (fields: " +
                         FieldList(fields_) + "); use --skip " + column + " or --map " +
                         column + "=FIELD");
    }
    if (column_of_field[slot] >= 0) {
      const std::string& other = names[static_cast<size_t>(column_of_field[slot])];
      throw MappingError("columns '" + other + "' and '" + column + "' both fill field '" +
                         field + "'; --skip one of them or --map it to another field");
    }
    column_of_field[slot] = static_cast<int>(i);
    slot_of_column_[i] = slot;
  }
}

bool Mapping::convert(const Row& row, Parameters* out, Rejection* why) const {
  std::string reason;
  if (format_ == Format::kJsonl) {
    // Keys are resolved one by one: a --skip first, then a --map, then the key itself.
    std::vector<const std::string*> filled_by(fields_.size(), nullptr);
    for (auto it = row.object.begin(); it != row.object.end(); ++it) {
      const std::string& key = it.key();
      if (options_.skipped.count(key) != 0) continue;
      auto rename = options_.renames.find(key);
      int slot = FieldIndex(fields_, rename != options_.renames.end() ? rename->second : key);
      if (slot < 0) {
        *why = Rejection{key, "not a field of the object"};
        return false;
      }
      const FieldDef& f = fields_[static_cast<size_t>(slot)];
      if (filled_by[slot] != nullptr) {
        *why = Rejection{key, "field '" + f.name + "' is already given by key '" +
                                  *filled_by[slot] + "'"};
        return false;
      }
      filled_by[slot] = &key;
      const nlohmann::json& v = it.value();
      if (v.is_null()) {
        out->addNull(f.name);
      } else if (!AddJson(f, v, out, &reason)) {
        *why = Rejection{key, std::move(reason)};
        return false;
      }
    }
    return true;
  }

  const std::vector<std::string>& cells = row.cells;
  if (!columns_.empty() && cells.size() != columns_.size()) {
    *why = Rejection{"", "row has " + Plural(cells.size(), "cell", "cells") + "; the header has " +
                             Plural(columns_.size(), "column", "columns")};
    return false;
  }
  if (columns_.empty() && cells.size() > fields_.size()) {
    *why = Rejection{"", "row has " + Plural(cells.size(), "cell", "cells") + "; the object has " +
                             Plural(fields_.size(), "field", "fields")};
    return false;
  }
  // Without a header, fewer cells than fields leave the rest unset.
  for (size_t i = 0; i < cells.size(); ++i) {
    int slot = slot_of_column_[i];
    if (slot < 0) continue;
    const FieldDef& f = fields_[static_cast<size_t>(slot)];
    if (cells[i].empty()) {
      out->addNull(f.name);
    } else if (!AddText(f, cells[i], out, &reason)) {
      *why = Rejection{columns_.empty() ? f.name : columns_[i], std::move(reason)};
      return false;
    }
  }
  return true;
}

}  // namespace cotenant::import
