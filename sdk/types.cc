// Plain value types of the SDK and the pure helpers behind error mapping and argument
// checks. Nothing here touches Cap'n Proto, so all of it is unit-testable without a server.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "common/time.h"
#include "cotenant/client.h"
#include "internal.h"

namespace cotenant {

// ---- ErrorCode / Error ------------------------------------------------------------------

const char* errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::OK: return "OK";
    case ErrorCode::NotFound: return "NotFound";
    case ErrorCode::PermissionDenied: return "PermissionDenied";
    case ErrorCode::InvalidArgument: return "InvalidArgument";
    case ErrorCode::Conflict: return "Conflict";
    case ErrorCode::ResourceExhausted: return "ResourceExhausted";
    case ErrorCode::Unauthenticated: return "Unauthenticated";
    case ErrorCode::Unavailable: return "Unavailable";
    case ErrorCode::Internal: return "Internal";
    case ErrorCode::Busy: return "Busy";
  }
  return "Internal";
}

std::ostream& operator<<(std::ostream& os, ErrorCode code) { return os << errorCodeName(code); }

Error::Error(ErrorCode code, const std::string& message)
    : std::runtime_error(std::string(errorCodeName(code)) + ": " + message),
      code_(code),
      message_(message) {}

// ---- Value ------------------------------------------------------------------------------

Value Value::text(std::string v) {
  Value r;
  r.type_ = Type::Text;
  r.v_ = std::move(v);
  return r;
}
Value Value::integer(int64_t v) {
  Value r;
  r.type_ = Type::Int;
  r.v_ = v;
  return r;
}
Value Value::floating(double v) {
  Value r;
  r.type_ = Type::Float;
  r.v_ = v;
  return r;
}
Value Value::boolean(bool v) {
  Value r;
  r.type_ = Type::Bool;
  r.v_ = v;
  return r;
}
Value Value::timestamp(int64_t micros) {
  Value r;
  r.type_ = Type::Timestamp;
  r.v_ = micros;
  return r;
}

namespace {
[[noreturn]] void wrongType(const char* wanted) {
  throw std::logic_error(std::string("cotenant::Value is not ") + wanted);
}
}  // namespace

const std::string& Value::asText() const {
  if (type_ != Type::Text) wrongType("text");
  return std::get<std::string>(v_);
}
int64_t Value::asInt() const {
  if (type_ != Type::Int) wrongType("int");
  return std::get<int64_t>(v_);
}
double Value::asFloat() const {
  if (type_ != Type::Float) wrongType("float");
  return std::get<double>(v_);
}
bool Value::asBool() const {
  if (type_ != Type::Bool) wrongType("bool");
  return std::get<bool>(v_);
}
int64_t Value::asTimestamp() const {
  if (type_ != Type::Timestamp) wrongType("timestamp");
  return std::get<int64_t>(v_);
}

std::string formatTimestamp(int64_t micros) { return ::cotenant::FormatTimestamp(micros); }

std::string Value::toString() const {
  switch (type_) {
    case Type::Null: return "null";
    case Type::Text: return std::get<std::string>(v_);
    case Type::Int: return std::to_string(std::get<int64_t>(v_));
    case Type::Float: {
      double d = std::get<double>(v_);
      if (std::isnan(d)) return "nan";
      if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
      char buf[64];
      auto res = std::to_chars(buf, buf + sizeof(buf), d);  // shortest round-trip form
      return std::string(buf, res.ptr);
    }
    case Type::Bool: return std::get<bool>(v_) ? "true" : "false";
    case Type::Timestamp: return formatTimestamp(std::get<int64_t>(v_));
  }
  return "";
}

bool Value::operator==(const Value& other) const {
  return type_ == other.type_ && v_ == other.v_;
}

// ---- Parameters -------------------------------------------------------------------------

Parameters& Parameters::addValue(const std::string& name, Value value) {
  for (auto& f : fields_) {
    if (f.first == name) {
      f.second = std::move(value);
      return *this;
    }
  }
  fields_.emplace_back(name, std::move(value));
  return *this;
}

Parameters& Parameters::add(const std::string& name, const std::string& value) {
  return addValue(name, Value::text(value));
}
Parameters& Parameters::add(const std::string& name, const char* value) {
  return addValue(name, Value::text(value == nullptr ? std::string() : std::string(value)));
}
Parameters& Parameters::add(const std::string& name, double value) {
  return addValue(name, Value::floating(value));
}
Parameters& Parameters::add(const std::string& name, bool value) {
  return addValue(name, Value::boolean(value));
}
Parameters& Parameters::addTimestamp(const std::string& name, int64_t micros) {
  return addValue(name, Value::timestamp(micros));
}
Parameters& Parameters::addNull(const std::string& name) { return addValue(name, Value()); }

Parameters& Parameters::retrieveRecordPermissions(bool on) {
  retrievePermissions_ = on;
  return *this;
}

Parameters& Parameters::minimalReply(bool on) {
  minimalReply_ = on;
  return *this;
}

const Value* Parameters::find(const std::string& name) const {
  for (const auto& f : fields_) {
    if (f.first == name) return &f.second;
  }
  return nullptr;
}

// ---- Record -----------------------------------------------------------------------------

std::string Record::idString() const { return std::to_string(id_); }

const Value& Record::get(const std::string& name) const {
  static const Value kNull;
  for (const auto& f : fields_) {
    if (f.first == name) return f.second;
  }
  return kNull;
}

bool Record::has(const std::string& name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const auto& f) { return f.first == name; });
}

// ---- RecordId ---------------------------------------------------------------------------

std::optional<uint64_t> RecordId::parse(const std::string& text) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), v);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || v == 0) {
    return std::nullopt;
  }
  return v;
}

RecordId::RecordId(const std::string& id) : text_(id) {
  if (auto v = parse(id)) {
    value_ = *v;
    valid_ = true;
  }
}

RecordId::RecordId(const char* id) : RecordId(std::string(id == nullptr ? "" : id)) {}

std::string RecordId::text() const {
  if (!text_.empty() || !valid_) return text_;
  return std::to_string(value_);
}

// ---- Admin enums ------------------------------------------------------------------------

const char* tenantKindName(TenantKind kind) {
  switch (kind) {
    case TenantKind::Tenant: return "tenant";
    case TenantKind::Msp: return "msp";
    case TenantKind::Isv: return "isv";
    case TenantKind::System: return "system";
  }
  return "tenant";
}
const char* fieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::Text: return "text";
    case FieldType::Int: return "int";
    case FieldType::Float: return "float";
    case FieldType::Bool: return "bool";
    case FieldType::Timestamp: return "timestamp";
  }
  return "text";
}
const char* adminLevelName(AdminLevel level) {
  switch (level) {
    case AdminLevel::User: return "user";
    case AdminLevel::TenantAdmin: return "tenant-admin";
    case AdminLevel::SystemAdmin: return "system-admin";
  }
  return "user";
}

std::optional<TenantKind> parseTenantKind(const std::string& name) {
  for (auto k : {TenantKind::Tenant, TenantKind::Msp, TenantKind::Isv, TenantKind::System}) {
    if (name == tenantKindName(k)) return k;
  }
  return std::nullopt;
}
std::optional<FieldType> parseFieldType(const std::string& name) {
  for (auto t : {FieldType::Text, FieldType::Int, FieldType::Float, FieldType::Bool,
                 FieldType::Timestamp}) {
    if (name == fieldTypeName(t)) return t;
  }
  return std::nullopt;
}
std::optional<AdminLevel> parseAdminLevel(const std::string& name) {
  for (auto l : {AdminLevel::User, AdminLevel::TenantAdmin, AdminLevel::SystemAdmin}) {
    if (name == adminLevelName(l)) return l;
  }
  return std::nullopt;
}

// ---- Permission sets ----------------------------------------------------------------------

const char* effectName(Effect effect) { return effect == Effect::Deny ? "deny" : "allow"; }

std::optional<Effect> parseEffect(const std::string& name) {
  if (name == "allow") return Effect::Allow;
  if (name == "deny") return Effect::Deny;
  return std::nullopt;
}

ErrorCode Explanation::errorCode() const {
  if (code == "OK" || (code.empty() && allowed)) return ErrorCode::OK;
  if (auto c = internal::parseCodeName(code)) return *c;
  return ErrorCode::Internal;
}

// ---- Rights -----------------------------------------------------------------------------

std::string formatRights(const Rights& rights) {
  std::string out;
  auto add = [&](bool on, const char* name) {
    if (!on) return;
    if (!out.empty()) out += ',';
    out += name;
  };
  add(rights.read, "read");
  add(rights.add, "add");
  add(rights.update, "update");
  add(rights.del, "delete");
  return out.empty() ? "none" : out;
}

std::optional<Rights> parseRights(const std::string& text) {
  Rights r;
  bool any = false, special = false;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    item = b == std::string::npos ? "" : item.substr(b, e - b + 1);
    start = comma + 1;
    if (item.empty()) return std::nullopt;
    bool* flag = nullptr;
    if (item == "read") flag = &r.read;
    if (item == "add") flag = &r.add;
    if (item == "update") flag = &r.update;
    if (item == "delete") flag = &r.del;
    if (flag != nullptr) {
      if (*flag || special) return std::nullopt;
      *flag = true;
    } else if ((item == "all" || item == "none") && !any) {
      if (item == "all") r = Rights::all();
      special = true;
    } else {
      return std::nullopt;
    }
    any = true;
  }
  return r;
}

// ---- internal helpers -------------------------------------------------------------------

namespace internal {

std::optional<ErrorCode> parseCodeName(const std::string& name) {
  for (auto c : {ErrorCode::NotFound, ErrorCode::PermissionDenied, ErrorCode::InvalidArgument,
                 ErrorCode::Conflict, ErrorCode::ResourceExhausted, ErrorCode::Unauthenticated,
                 ErrorCode::Internal, ErrorCode::Busy, ErrorCode::Unavailable}) {
    if (name == errorCodeName(c)) return c;
  }
  return std::nullopt;
}

ParsedError classifyFailure(ExceptionKind kind, const std::string& description) {
  static const std::string kTag = "cotenant:";
  size_t at = description.find(kTag);
  if (at != std::string::npos) {
    size_t codeStart = at + kTag.size();
    size_t colon = description.find(':', codeStart);
    if (colon != std::string::npos) {
      if (auto code = parseCodeName(description.substr(codeStart, colon - codeStart))) {
        size_t msg = colon + 1;
        if (msg < description.size() && description[msg] == ' ') ++msg;
        return {*code, description.substr(msg)};
      }
    }
  }
  std::string msg = description;
  static const std::string kRemote = "remote exception: ";
  bool remote = msg.compare(0, kRemote.size(), kRemote) == 0;
  if (remote) msg.erase(0, kRemote.size());
  // An untagged failure raised on this side of the connection (a reset, a broken pipe)
  // is the transport failing, whatever type KJ gave it.
  if (!remote && kind == ExceptionKind::Failed) return {ErrorCode::Unavailable, msg, true};
  // An overloaded server may tag its reason with a code we do not know: still Busy.
  switch (kind) {
    case ExceptionKind::Disconnected: return {ErrorCode::Unavailable, msg, !remote};
    case ExceptionKind::Overloaded: return {ErrorCode::Busy, msg};
    case ExceptionKind::Unimplemented:
      return {ErrorCode::Internal, "server does not implement this call: " + msg};
    case ExceptionKind::Failed: break;
  }
  return {ErrorCode::Internal, msg};
}

namespace {
std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}
}  // namespace

std::vector<std::string> splitFieldList(const std::string& fields) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= fields.size()) {
    size_t comma = fields.find(',', start);
    if (comma == std::string::npos) comma = fields.size();
    std::string item = trim(fields.substr(start, comma - start));
    if (item == "*") return {};
    if (!item.empty()) out.push_back(std::move(item));
    start = comma + 1;
  }
  return out;
}

std::optional<bool> parseSortDescending(const std::string& order) {
  std::string o = trim(order);
  std::transform(o.begin(), o.end(), o.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (o.empty() || o == "asc" || o == "ascending") return false;
  if (o == "desc" || o == "descending") return true;
  return std::nullopt;
}

std::string checkAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return "address '" + address + "' is not host:port";
  }
  std::string host = address.substr(0, colon);
  if (host.front() == '[' ? host.back() != ']' || host.size() < 3
                          : host.find(':') != std::string::npos) {
    return "address '" + address + "': write IPv6 hosts in brackets, e.g. [::1]:7770";
  }
  std::string port = address.substr(colon + 1);
  unsigned v = 0;
  auto res = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || res.ec != std::errc() || res.ptr != port.data() + port.size() ||
      v == 0 || v > 65535) {
    return "address '" + address + "' has no valid port (1..65535)";
  }
  return "";
}

bool splitAddressList(const std::string& list, std::vector<std::string>* out,
                      std::string* error) {
  out->clear();
  size_t start = 0;
  for (;;) {
    size_t comma = list.find(',', start);
    std::string item = trim(list.substr(start, comma == std::string::npos ? std::string::npos
                                                                           : comma - start));
    if (item.empty()) {
      *error = "address list '" + list + "' has an empty entry";
      return false;
    }
    std::string bad = checkAddress(item);
    if (!bad.empty()) {
      *error = list.find(',') == std::string::npos ? bad : "in address list '" + list + "': " + bad;
      return false;
    }
    out->push_back(std::move(item));
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

}  // namespace internal
}  // namespace cotenant
