// Parsing of command-line arguments beyond CLI11: specs, ids, users, times, hex tokens.

#include "common/time.h"
#include "cli_parse.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <set>
#include <tuple>

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
                      " (want name:type[:indexed][:required][:unique], type one of text, int, float, "
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
    bool* flag = parts[i] == "indexed"    ? &def.indexed
                 : parts[i] == "required" ? &def.required
                 : parts[i] == "unique"   ? &def.unique
                                          : nullptr;
    if (flag == nullptr) throw bad("unknown flag '" + parts[i] + "'");
    if (*flag) throw bad("'" + parts[i] + "' given twice");
    *flag = true;
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

// ---- permission sets ------------------------------------------------------------------------

namespace {
std::vector<std::string> splitBlanks(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    if (i == s.size()) break;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}
}  // namespace

PermissionPolicy parsePolicySpec(Effect effect, const std::string& spec) {
  std::string flag = std::string("--") + effectName(effect);
  auto fields = splitBlanks(spec);
  if (fields.size() != 3) {
    throw UsageError("bad " + flag + " '" + spec + "': want three patterns separated by blanks, "
                     "RESOURCE-TYPE API-NAME METHOD (e.g. 'records/Job.* .* GET|DELETE'), got " +
                     std::to_string(fields.size()) +
                     "; quote the whole spec, and write a space inside a pattern as \\x20");
  }
  for (auto& f : fields) {
    if (f == "*") f = ".*";
  }
  return PermissionPolicy{effect, fields[0], fields[1], fields[2]};
}

std::vector<PermissionPolicy> parsePolicySpecs(const std::vector<PolicyArg>& args) {
  if (args.empty()) throw UsageError("no policies: give at least one --allow or --deny");
  std::vector<PermissionPolicy> out;
  for (const auto& a : args) out.push_back(parsePolicySpec(a.effect, a.spec));
  return out;
}

std::string formatPolicy(const PermissionPolicy& p) {
  return std::string(effectName(p.effect)) + " " + p.resourceTypeRegex + " " + p.apiNameRegex +
         " " + p.methodRegex;
}

void checkPermissionSetName(const std::string& name) {
  bool ok = !name.empty() && name.size() <= 64 &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' ||
                     c == '-';
            });
  if (!ok) {
    throw UsageError("bad permission set name '" + name + "': want 1-64 of A-Z a-z 0-9 _ . -");
  }
}

UserRef parseUserRef(const std::string& spec) {
  UserRef r;
  if (spec.empty()) throw UsageError("empty --user: want a user id, NAME or NAME@TENANT");
  if (auto id = RecordId::parse(spec)) {
    r.id = *id;
    return r;
  }
  size_t at = spec.rfind('@');
  if (at != std::string::npos) {
    if (auto t = RecordId::parse(spec.substr(at + 1))) {
      r.name = spec.substr(0, at);
      r.tenant = *t;
      if (r.name.empty()) throw UsageError("bad --user '" + spec + "': empty name before '@'");
      return r;
    }
  }
  r.name = spec;
  return r;
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
  // The one parser of the product, in the forms a person types (common/time.h).
  int64_t micros = 0;
  if (!ParseTimestamp(text, &micros, TimeForms::kLenient).ok()) return std::nullopt;
  return micros;
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

}  // namespace cotenant::cli
