#include "cli_util.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <ctime>
#include <set>

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

// ---- sharing ------------------------------------------------------------------------------

namespace {
std::string trimBlanks(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}
}  // namespace

ObjectRights parseRightSpec(const std::string& spec) {
  auto bad = [&](const std::string& why) {
    return UsageError("bad --right '" + spec + "': " + why +
                      " (want OBJECT:RIGHTS, OBJECT a name or '*', RIGHTS a comma-separated "
                      "list of read, add, update, delete, or 'all' or 'none')");
  };
  size_t colon = spec.find(':');
  if (colon == std::string::npos) throw bad("missing ':'");
  ObjectRights out;
  out.object = trimBlanks(spec.substr(0, colon));
  if (out.object.empty()) throw bad("empty object name");
  auto rights = parseRights(spec.substr(colon + 1));
  if (!rights) throw bad("bad rights '" + spec.substr(colon + 1) + "'");
  out.rights = *rights;
  return out;
}

std::vector<ObjectRights> parseRightSpecs(const std::vector<std::string>& specs) {
  std::vector<ObjectRights> out;
  std::set<std::string> seen;
  for (const auto& spec : specs) {
    ObjectRights r = parseRightSpec(spec);
    if (!seen.insert(r.object).second) {
      throw UsageError("bad --right '" + spec + "': object '" + r.object + "' given twice");
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string formatRightSpecs(const std::vector<ObjectRights>& rights) {
  std::string out;
  for (const auto& r : rights) {
    if (!out.empty()) out += ' ';
    out += r.object + ":" + formatRights(r.rights);
  }
  return out;
}

std::vector<ObjectScope> groupScope(const std::vector<ScopeArg>& args) {
  std::vector<ObjectScope> out;
  std::vector<bool> hasFilter, hasFields;
  std::set<std::string> seen;
  for (const auto& a : args) {
    switch (a.kind) {
      case ScopeArg::Kind::Object: {
        std::string name = trimBlanks(a.value);
        if (name.empty()) throw UsageError("bad --object '': want an object name");
        if (!seen.insert(name).second) {
          throw UsageError("--object '" + name + "' given twice: give each object once, with "
                           "its --filter and --fields after it");
        }
        out.push_back(ObjectScope{name, "", {}});
        hasFilter.push_back(false);
        hasFields.push_back(false);
        break;
      }
      case ScopeArg::Kind::Filter:
        if (out.empty()) {
          throw UsageError("--filter '" + a.value + "' comes before any --object: a --filter "
                           "applies to the --object before it");
        }
        if (hasFilter.back()) {
          throw UsageError("second --filter for --object '" + out.back().object +
                           "': combine them with AND in one criteria");
        }
        if (trimBlanks(a.value).empty()) {
          throw UsageError("empty --filter for --object '" + out.back().object +
                           "': leave --filter out to share every row");
        }
        out.back().rowFilter = a.value;
        hasFilter.back() = true;
        break;
      case ScopeArg::Kind::Fields: {
        if (out.empty()) {
          throw UsageError("--fields '" + a.value + "' comes before any --object: --fields "
                           "applies to the --object before it");
        }
        if (hasFields.back()) {
          throw UsageError("second --fields for --object '" + out.back().object +
                           "': list every field in one --fields a,b,c");
        }
        std::vector<std::string> names;
        size_t start = 0;
        while (start <= a.value.size()) {
          size_t comma = a.value.find(',', start);
          if (comma == std::string::npos) comma = a.value.size();
          std::string item = trimBlanks(a.value.substr(start, comma - start));
          start = comma + 1;
          if (item.empty()) continue;
          if (item == "*") {
            throw UsageError("bad --fields '" + a.value + "': leave --fields out to share every field");
          }
          if (std::find(names.begin(), names.end(), item) == names.end()) names.push_back(item);
        }
        if (names.empty()) throw UsageError("bad --fields '" + a.value + "': want a,b,...");
        out.back().fields = std::move(names);
        hasFields.back() = true;
        break;
      }
    }
  }
  return out;
}

std::string scopeSummary(const std::vector<ObjectScope>& scope) {
  if (scope.empty()) return "all objects";
  std::string out;
  for (const auto& o : scope) {
    if (!out.empty()) out += ", ";
    out += o.object;
    std::string detail;
    if (!o.rowFilter.empty()) detail = "filter";
    if (!o.fields.empty()) {
      if (!detail.empty()) detail += "; ";
      detail += "fields ";
      for (size_t i = 0; i < o.fields.size(); ++i) detail += (i ? "," : "") + o.fields[i];
    }
    if (!detail.empty()) out += " (" + detail + ")";
  }
  return out;
}

uint64_t matchUser(const std::vector<UserInfo>& users, const std::string& name,
                   const std::string& tenantLabel) {
  std::vector<const UserInfo*> hits;
  for (const auto& u : users) {
    if (u.name == name) hits.push_back(&u);
  }
  if (hits.size() == 1) return hits[0]->id;
  if (hits.empty()) {
    std::string hint;
    for (const auto& u : users) {
      if (u.name.size() == name.size() &&
          std::equal(u.name.begin(), u.name.end(), name.begin(), [](char a, char b) {
            return std::tolower(static_cast<unsigned char>(a)) ==
                   std::tolower(static_cast<unsigned char>(b));
          })) {
        hint = " (user names are case-sensitive; did you mean '" + u.name + "'?)";
        break;
      }
    }
    throw UsageError("no user named '" + name + "' in " + tenantLabel + hint +
                     "; `cotenant user list` shows them, or give the user id");
  }
  std::string ids;
  for (const auto* u : hits) ids += (ids.empty() ? "" : ", ") + std::to_string(u->id);
  throw UsageError("user name '" + name + "' is ambiguous in " + tenantLabel + " (ids " + ids +
                   "); give the user id");
}

// ---- times --------------------------------------------------------------------------------

int64_t nowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::optional<int64_t> parseDuration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  constexpr int64_t kSecond = 1000000;
  int64_t total = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = i;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
    if (digits == i || digits == text.size()) return std::nullopt;
    int64_t n = 0;
    auto r = std::from_chars(text.data() + i, text.data() + digits, n);
    if (r.ec != std::errc()) return std::nullopt;
    int64_t unit = 0;
    switch (text[digits]) {
      case 's': unit = kSecond; break;
      case 'm': unit = 60 * kSecond; break;
      case 'h': unit = 3600 * kSecond; break;
      case 'd': unit = 86400 * kSecond; break;
      case 'w': unit = 7 * 86400 * kSecond; break;
      default: return std::nullopt;
    }
    // Bounded well inside int64 so that now +/- the duration cannot overflow either.
    constexpr int64_t kMax = int64_t{1} << 61;
    if (n > kMax / unit || total > kMax - n * unit) return std::nullopt;
    total += n * unit;
    i = digits + 1;
  }
  if (total == 0) return std::nullopt;
  return total;
}

std::optional<int64_t> parseIsoTime(const std::string& text) {
  size_t pos = 0;
  auto number = [&](size_t width, int* out) {
    if (pos + width > text.size()) return false;
    int v = 0;
    for (size_t i = 0; i < width; ++i) {
      char c = text[pos + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    pos += width;
    return true;
  };
  auto expect = [&](char c) {
    if (pos < text.size() && text[pos] == c) {
      ++pos;
      return true;
    }
    return false;
  };
  std::tm tm{};
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!number(4, &year) || !expect('-') || !number(2, &month) || !expect('-') ||
      !number(2, &day)) {
    return std::nullopt;
  }
  int64_t micros = 0;
  int64_t offsetSeconds = 0;
  if (pos < text.size()) {
    if (text[pos] != 'T' && text[pos] != ' ') return std::nullopt;
    ++pos;
    if (!number(2, &hour) || !expect(':') || !number(2, &minute)) return std::nullopt;
    if (expect(':')) {
      if (!number(2, &second)) return std::nullopt;
      if (expect('.')) {
        size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
        size_t n = pos - start;
        if (n == 0 || n > 6) return std::nullopt;
        std::string frac = text.substr(start, n) + std::string(6 - n, '0');
        micros = std::stoll(frac);
      }
    }
    if (expect('Z')) {
      // UTC
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      int sign = text[pos] == '+' ? 1 : -1;
      ++pos;
      int oh = 0, om = 0;
      if (!number(2, &oh)) return std::nullopt;
      expect(':');
      if (!number(2, &om) || oh > 23 || om > 59) return std::nullopt;
      offsetSeconds = sign * (oh * 3600 + om * 60);
    }
  }
  if (pos != text.size()) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) {
    return std::nullopt;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t t = timegm(&tm);
  // timegm normalises (Feb 30 -> Mar 2); a changed day means the date did not exist.
  if (tm.tm_mday != day || tm.tm_mon != month - 1) return std::nullopt;
  return (static_cast<int64_t>(t) - offsetSeconds) * 1000000 + micros;
}

int64_t parsePastTime(const std::string& text, int64_t now, const std::string& option) {
  if (auto d = parseDuration(text)) return now - *d;
  if (auto t = parseIsoTime(text)) return *t;
  throw UsageError("bad " + option + " '" + text +
                   "': want an ISO-8601 time (2024-05-01T12:00:00Z) or a duration ago "
                   "(90s, 15m, 1h, 2d, 1w, 1h30m)");
}

int64_t parseExpiry(const std::string& text, int64_t now) {
  if (text == "never") return 0;
  // Whole seconds: an expiry reads better without the clock's microseconds.
  if (auto d = parseDuration(text)) return (now + *d) / 1000000 * 1000000;
  if (auto t = parseIsoTime(text)) {
    if (*t <= 0) throw UsageError("bad --expires '" + text + "': before 1970");
    return *t;
  }
  throw UsageError("bad --expires '" + text +
                   "': want 'never', an ISO-8601 time (2030-01-01T00:00:00Z) or a duration "
                   "from now (30d, 12h)");
}

std::string checkOutcome(const std::string& text) {
  static const char* kOutcomes[] = {"OK", "NotFound", "PermissionDenied", "InvalidArgument",
                                    "Conflict", "ResourceExhausted", "Unauthenticated",
                                    "Internal", "Busy"};
  for (const char* o : kOutcomes) {
    if (text == o) return text;
  }
  std::string all;
  for (const char* o : kOutcomes) all += (all.empty() ? "" : ", ") + std::string(o);
  throw UsageError("bad --outcome '" + text + "': want one of " + all);
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

namespace {
nlohmann::json idOrNull(uint64_t id) {
  return id == 0 ? nlohmann::json(nullptr) : nlohmann::json(std::to_string(id));
}
}  // namespace

nlohmann::json toJson(const Rights& r) {
  return {{"read", r.read}, {"add", r.add}, {"update", r.update}, {"delete", r.del}};
}

nlohmann::json toJson(const RoleInfo& r) {
  nlohmann::json rights = nlohmann::json::array();
  for (const auto& o : r.rights) rights.push_back({{"object", o.object}, {"rights", toJson(o.rights)}});
  nlohmann::json members = nlohmann::json::array();
  for (const auto& m : r.members) {
    members.push_back({{"tenantId", std::to_string(m.tenantId)}, {"userId", std::to_string(m.userId)}});
  }
  return {{"id", std::to_string(r.id)}, {"tenantId", std::to_string(r.tenantId)},
          {"name", r.name},           {"crossTenant", r.crossTenant},
          {"rights", rights},         {"members", members}};
}

nlohmann::json toJson(const PolicyInfo& p, int64_t now) {
  nlohmann::json scope = nlohmann::json::array();
  for (const auto& o : p.scope) {
    scope.push_back({{"object", o.object},
                     {"rowFilter", o.rowFilter.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.rowFilter)},
                     {"fields", o.fields}});
  }
  return {
      {"name", p.name},
      {"publisher", std::to_string(p.publisher)},
      {"designated", idOrNull(p.designated)},
      {"global", p.global},
      {"userId", std::to_string(p.userId)},
      {"scope", scope},
      {"expiresAt", p.expiresAt == 0 ? nlohmann::json(nullptr) : nlohmann::json(formatTimestamp(p.expiresAt))},
      {"expired", p.expiredAt(now)},
      {"createdAt", formatTimestamp(p.createdAt)},
      {"modifiedAt", formatTimestamp(p.modifiedAt)},
  };
}

nlohmann::json toJson(const ApiKeyInfo& k) {
  return {{"keyId", k.keyId},
          {"userId", std::to_string(k.userId)},
          {"createdAt", formatTimestamp(k.createdAt)},
          {"revoked", k.revoked}};
}

nlohmann::json toJson(const AuditEntry& e) {
  return {
      {"time", formatTimestamp(e.time)},
      {"callerTenant", std::to_string(e.callerTenant)},
      {"callerUser", std::to_string(e.callerUser)},
      {"principal", std::to_string(e.principal)},
      {"targetTenant", std::to_string(e.targetTenant)},
      {"api", e.api},
      {"object", e.object},
      {"recordId", idOrNull(e.recordId)},
      {"outcome", e.outcome},
      {"detail", e.detail},
  };
}

nlohmann::json toJson(const UsageInfo& u) {
  nlohmann::json calls = nlohmann::json::object();
  for (const auto& c : u.calls) calls[c.api] = c.calls;
  return {
      {"tenantId", std::to_string(u.tenantId)},
      {"records", u.records},
      {"bytes", u.bytes},
      {"calls", calls},
      {"servedToOthers", u.servedToOthers},
      {"consumedFromOthers", u.consumedFromOthers},
  };
}

nlohmann::json toJson(const Setting& s) { return {{"name", s.name}, {"value", s.value}}; }

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

namespace {
std::string oneLine(std::string s) {
  for (char& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return s;
}
}  // namespace

void printRoles(std::ostream& os, const std::vector<RoleInfo>& roles) {
  Table t({"ID", "NAME", "CROSS-TENANT", "RIGHTS", "MEMBERS"});
  for (const auto& r : roles) {
    std::string members;
    for (const auto& m : r.members) {
      if (!members.empty()) members += ' ';
      members += std::to_string(m.userId);
      if (m.tenantId != r.tenantId) members += "@" + std::to_string(m.tenantId);
    }
    t.add({std::to_string(r.id), r.name, r.crossTenant ? "yes" : "no",
           r.rights.empty() ? "none" : formatRightSpecs(r.rights), members});
  }
  t.print(os);
}

void printPolicies(std::ostream& os, const std::vector<PolicyInfo>& policies, int64_t now) {
  Table t({"NAME", "PUBLISHER", "DESIGNATED", "USER", "SCOPE", "EXPIRES"});
  for (const auto& p : policies) {
    std::string expires = p.expiresAt == 0 ? "never" : formatTimestamp(p.expiresAt);
    if (p.expiredAt(now)) expires += " (expired)";
    t.add({p.name, std::to_string(p.publisher),
           p.global ? "global" : std::to_string(p.designated), std::to_string(p.userId),
           oneLine(scopeSummary(p.scope)), expires});
  }
  t.print(os);
  // The table only summarises scopes; spell out filters and field lists below it.
  for (const auto& p : policies) {
    for (const auto& o : p.scope) {
      if (!o.rowFilter.empty()) {
        os << "  " << p.name << " " << o.object << " filter: " << oneLine(o.rowFilter) << "\n";
      }
      if (!o.fields.empty()) {
        os << "  " << p.name << " " << o.object << " fields: ";
        for (size_t i = 0; i < o.fields.size(); ++i) os << (i ? "," : "") << o.fields[i];
        os << "\n";
      }
    }
  }
}

void printApiKeys(std::ostream& os, const std::vector<ApiKeyInfo>& keys) {
  Table t({"KEY ID", "USER", "CREATED", "STATUS"});
  for (const auto& k : keys) {
    t.add({k.keyId, std::to_string(k.userId), formatTimestamp(k.createdAt),
           k.revoked ? "revoked" : "active"});
  }
  t.print(os);
}

void printAudit(std::ostream& os, const std::vector<AuditEntry>& entries) {
  Table t({"TIME", "CALLER", "PRINCIPAL", "TARGET", "API", "OBJECT", "RECORD", "OUTCOME", "DETAIL"});
  for (const auto& e : entries) {
    t.add({formatTimestamp(e.time),
           std::to_string(e.callerUser) + "@" + std::to_string(e.callerTenant),
           std::to_string(e.principal), std::to_string(e.targetTenant), e.api, oneLine(e.object),
           e.recordId == 0 ? "" : std::to_string(e.recordId), e.outcome, oneLine(e.detail)});
  }
  t.print(os);
}

void printUsage(std::ostream& os, const UsageInfo& u) {
  Table t({"TENANT", "RECORDS", "BYTES", "SERVED-TO-OTHERS", "CONSUMED-FROM-OTHERS"});
  t.add({std::to_string(u.tenantId), std::to_string(u.records), std::to_string(u.bytes),
         std::to_string(u.servedToOthers), std::to_string(u.consumedFromOthers)});
  t.print(os);
  if (u.calls.empty()) return;
  os << "\n";
  Table calls({"API", "CALLS"});
  for (const auto& c : u.calls) calls.add({c.api, std::to_string(c.calls)});
  calls.print(os);
}

void printSettings(std::ostream& os, const std::vector<Setting>& settings) {
  Table t({"NAME", "VALUE"});
  for (const auto& s : settings) t.add({s.name, s.value});
  t.print(os);
}

}  // namespace cotenant::cli
