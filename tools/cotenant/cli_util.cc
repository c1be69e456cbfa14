#include "cli_util.h"

#include <algorithm>
#include <charconv>

namespace cotenant::cli {

int exitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::OK: return kExitOk;
    case ErrorCode::PermissionDenied:
    case ErrorCode::Unauthenticated: return kExitDenied;
    case ErrorCode::NotFound: return kExitNotFound;
    case ErrorCode::InvalidArgument:
    case ErrorCode::Conflict:
    case ErrorCode::ResourceExhausted: return kExitRejected;
    case ErrorCode::Unavailable:
    case ErrorCode::Internal:
    case ErrorCode::Busy: return kExitError;
  }
  return kExitError;
}

namespace {
std::vector<std::string> splitColons(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t c = s.find(':', start);
    parts.push_back(s.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return parts;
}
}  // namespace

FieldDef parseFieldSpec(const std::string& spec) {
  auto bad = [&](const std::string& why) {
    return UsageError("bad --field '" + spec + "': " + why +
                      " (want name:type[:indexed][:required], type one of text, int, float, "
                      "bool, timestamp)");
  };
  auto parts = splitColons(spec);
  if (parts.size() < 2) throw bad("missing type");
  FieldDef def;
  def.name = parts[0];
  if (def.name.empty()) throw bad("empty field name");
  auto type = parseFieldType(parts[1]);
  if (!type) throw bad("unknown type '" + parts[1] + "'");
  def.type = *type;
  for (size_t i = 2; i < parts.size(); ++i) {
    if (parts[i] == "indexed" && !def.indexed) {
      def.indexed = true;
    } else if (parts[i] == "required" && !def.required) {
      def.required = true;
    } else if (parts[i] == "indexed" || parts[i] == "required") {
      throw bad("'" + parts[i] + "' given twice");
    } else {
      throw bad("unknown flag '" + parts[i] + "'");
    }
  }
  return def;
}

std::pair<std::string, std::string> parseAssignment(const std::string& spec) {
  size_t eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) {
    throw UsageError("bad --set '" + spec + "': want name=value");
  }
  return {spec.substr(0, eq), spec.substr(eq + 1)};
}

std::pair<std::string, std::string> parseSortSpec(const std::string& spec) {
  size_t c = spec.rfind(':');
  if (c == std::string::npos) {
    if (spec.empty()) throw UsageError("bad sort '': want field[:asc|desc]");
    return {spec, "asc"};
  }
  std::string field = spec.substr(0, c), order = spec.substr(c + 1);
  if (field.empty() || (order != "asc" && order != "desc")) {
    throw UsageError("bad sort '" + spec + "': want field[:asc|desc]");
  }
  return {field, order};
}

uint64_t parseId(const std::string& text, const std::string& what) {
  auto v = RecordId::parse(text);
  if (!v) throw UsageError(what + " '" + text + "' is not a decimal number");
  return *v;
}

std::string toHex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::optional<std::string> fromHex(const std::string& hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned v = 0;
    auto r = std::from_chars(hex.data() + i, hex.data() + i + 2, v, 16);
    if (r.ec != std::errc() || r.ptr != hex.data() + i + 2) return std::nullopt;
    out += static_cast<char>(v);
  }
  return out;
}

// ---- JSON -------------------------------------------------------------------------------

nlohmann::json toJson(const Value& v) {
  switch (v.type()) {
    case Value::Type::Null: return nullptr;
    case Value::Type::Text: return v.asText();
    case Value::Type::Int: return v.asInt();
    case Value::Type::Float: return v.asFloat();
    case Value::Type::Bool: return v.asBool();
    case Value::Type::Timestamp: return v.toString();
  }
  return nullptr;
}

nlohmann::json toJson(const Record& r) {
  nlohmann::json fields = nlohmann::json::object();
  for (const auto& [name, value] : r.fields()) fields[name] = toJson(value);
  nlohmann::json j = {
      {"id", r.idString()},
      {"version", r.version()},
      {"createdBy", std::to_string(r.createdBy())},
      {"createdAt", formatTimestamp(r.createdAt())},
      {"modifiedBy", std::to_string(r.modifiedBy())},
      {"modifiedAt", formatTimestamp(r.modifiedAt())},
      {"fields", fields},
  };
  if (r.canUpdate() || r.canDelete()) {
    j["permissions"] = {{"canUpdate", r.canUpdate().value_or(false)},
                        {"canDelete", r.canDelete().value_or(false)}};
  }
  return j;
}

nlohmann::json toJson(const TenantInfo& t) {
  return {
      {"id", std::to_string(t.id)},
      {"name", t.name},
      {"kind", tenantKindName(t.kind)},
      {"provider", t.provider == 0 ? nlohmann::json(nullptr) : nlohmann::json(std::to_string(t.provider))},
      {"createdAt", formatTimestamp(t.createdAt)},
  };
}

nlohmann::json toJson(const UserInfo& u) {
  return {
      {"id", std::to_string(u.id)},
      {"tenantId", std::to_string(u.tenantId)},
      {"name", u.name},
      {"level", adminLevelName(u.level)},
      {"createdAt", formatTimestamp(u.createdAt)},
  };
}

nlohmann::json toJson(const ObjectInfo& o) {
  nlohmann::json fields = nlohmann::json::array();
  for (const auto& f : o.fields) {
    fields.push_back({{"name", f.name},
                      {"type", fieldTypeName(f.type)},
                      {"required", f.required},
                      {"indexed", f.indexed}});
  }
  return {{"id", o.id}, {"name", o.name}, {"fields", fields}};
}

// ---- text -------------------------------------------------------------------------------

namespace {
size_t displayWidth(const std::string& s) {
  // Code points, not bytes: continuation bytes (10xxxxxx) do not count.
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}
}  // namespace

void Table::print(std::ostream& os) const {
  std::vector<size_t> widths(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], displayWidth(row[i]));
    }
  };
  measure(header_);
  for (const auto& r : rows_) measure(r);
  auto line = [&](const std::vector<std::string>& row) {
    std::string out;
    for (size_t i = 0; i < widths.size(); ++i) {
      const std::string& c = i < row.size() ? row[i] : std::string();
      out += c;
      if (i + 1 < widths.size()) out.append(widths[i] - displayWidth(c) + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    os << out << "\n";
  };
  line(header_);
  for (const auto& r : rows_) line(r);
}

std::string cell(const Value& v) {
  if (v.isNull()) return "";
  std::string s = v.toString();
  // Keep one record on one line.
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}

void printRecords(std::ostream& os, const std::vector<Record>& records) {
  std::vector<std::string> names;
  for (const auto& r : records) {
    for (const auto& f : r.fields()) {
      if (std::find(names.begin(), names.end(), f.first) == names.end()) names.push_back(f.first);
    }
  }
  std::vector<std::string> header{"ID"};
  header.insert(header.end(), names.begin(), names.end());
  header.push_back("VERSION");
  header.push_back("MODIFIED");
  Table t(header);
  for (const auto& r : records) {
    std::vector<std::string> row{r.idString()};
    for (const auto& n : names) row.push_back(cell(r.get(n)));
    row.push_back(std::to_string(r.version()));
    row.push_back(formatTimestamp(r.modifiedAt()));
    t.add(std::move(row));
  }
  t.print(os);
}

void printRecord(std::ostream& os, const Record& r) {
  Table t({"FIELD", "VALUE"});
  t.add({"id", r.idString()});
  for (const auto& [name, value] : r.fields()) t.add({name, value.isNull() ? "(null)" : cell(value)});
  t.add({"version", std::to_string(r.version())});
  t.add({"createdBy", std::to_string(r.createdBy())});
  t.add({"createdAt", formatTimestamp(r.createdAt())});
  t.add({"modifiedBy", std::to_string(r.modifiedBy())});
  t.add({"modifiedAt", formatTimestamp(r.modifiedAt())});
  if (r.canUpdate()) t.add({"canUpdate", *r.canUpdate() ? "true" : "false"});
  if (r.canDelete()) t.add({"canDelete", *r.canDelete() ? "true" : "false"});
  t.print(os);
}

}  // namespace cotenant::cli
