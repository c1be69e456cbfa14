// Writing and reading the lines of a tenant dump (tenant_dump.h).

#include <cmath>
#include <limits>

#include <nlohmann/json.hpp>

#include "cli_parse.h"
#include "tenant_dump.h"

namespace cotenant::cli::dump {
namespace {

using nlohmann::json;

json author(const std::string& who) { return who.empty() ? json(nullptr) : json(who); }

json fieldJson(const std::string& type, const Value& v) {
  switch (v.type()) {
    case Value::Type::Null: return nullptr;
    case Value::Type::Text: return v.asText();
    case Value::Type::Int: return v.asInt();
    case Value::Type::Bool: return v.asBool();
    case Value::Type::Timestamp: return v.asTimestamp();
    case Value::Type::Float: {
      double d = v.asFloat();
      // JSON has no infinities: they are written as text.
      if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
      return d;
    }
  }
  (void)type;
  return nullptr;
}

}  // namespace

std::string headerLine(const Header& h) {
  return json{{"format", kFormat},
              {"version", kVersion},
              {"tenant", {{"name", h.tenant}, {"kind", h.kind}, {"id", std::to_string(h.sourceId)}}},
              {"dumpedAt", h.dumpedAt}}
             .dump() +
         "\n";
}

std::string configLine(const std::string& yaml) { return json{{"config", yaml}}.dump() + "\n"; }

std::string objectLine(const std::string& object) { return json{{"object", object}}.dump() + "\n"; }

std::string recordLine(const config::CObject& def, const Record& r, const std::string& createdBy,
                       const std::string& modifiedBy) {
  json fields = json::object();
  for (const auto& f : def.fields) fields[f.name] = fieldJson(f.type, r.get(f.name));
  json line{{"id", std::to_string(r.id())},
            {"version", r.version()},
            {"createdBy", author(createdBy)},
            {"createdAt", r.createdAt()},
            {"modifiedBy", author(modifiedBy)},
            {"modifiedAt", r.modifiedAt()},
            {"fields", std::move(fields)}};
  try {
    return line.dump() + "\n";
  } catch (const json::exception& e) {
    throw config::ServerError(ErrorCode::Internal, "record " + r.idString() + " holds text that is not UTF-8: " + e.what());
  }
}

std::string endLine(uint64_t objects, uint64_t records) {
  return json{{"end", {{"objects", objects}, {"records", records}}}}.dump() + "\n";
}

// ---- reading -------------------------------------------------------------------------------

Reader::Reader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  if (!in_) throw UsageError("cannot read '" + path + "'");
  if (!readLine()) fail("the file is empty: a tenant dump starts with its header line");
  json h;
  try {
    h = json::parse(line_);
  } catch (const json::exception&) {
    fail("not a tenant dump: the first line is not JSON");
  }
  if (!h.is_object() || h.value("format", json()) != kFormat) {
    fail(std::string("not a tenant dump: the first line has no \"format\":\"") + kFormat + "\"");
  }
  if (h.value("version", json()) != kVersion) {
    fail("dump format version " + h.value("version", json()).dump() + " is not supported (this cotenant reads version " +
         std::to_string(kVersion) + ")");
  }
  const json& t = h.value("tenant", json());
  if (!t.is_object() || !t.value("name", json()).is_string() || !t.value("kind", json()).is_string()) {
    fail("the header names no tenant (\"tenant\":{\"name\":...,\"kind\":...})");
  }
  header_.tenant = t["name"].get<std::string>();
  header_.kind = t["kind"].get<std::string>();
  if (t.contains("id") && t["id"].is_string()) header_.sourceId = std::strtoull(t["id"].get<std::string>().c_str(), nullptr, 10);
  if (h.contains("dumpedAt") && h["dumpedAt"].is_number_integer()) header_.dumpedAt = h["dumpedAt"].get<int64_t>();

  if (!readLine()) fail("the file ends after its header: it is truncated (no configuration line)");
  json c;
  try {
    c = json::parse(line_);
  } catch (const json::exception&) {
    fail("the configuration line is not JSON");
  }
  if (!c.is_object() || !c.value("config", json()).is_string()) fail("the second line must be {\"config\": \"<YAML>\"}");
  // Problems of the YAML are named FILE:LINE(config):LINE:COL.
  slice_ = config::parseConfig(c["config"].get<std::string>(), path_ + ":" + std::to_string(lineNo_) + " (configuration)");
  auto it = slice_.tenants.find(header_.tenant);
  if (it == slice_.tenants.end()) fail("the configuration holds no tenant '" + header_.tenant + "', which the header names");
  if (it->second.kind != header_.kind) fail("the header says kind " + header_.kind + ", the configuration " + it->second.kind);
}

void Reader::fail(const std::string& what) const {
  throw config::ConfigError({path_ + ":" + std::to_string(lineNo_) + ": " + what});
}

bool Reader::readLine() {
  if (!std::getline(in_, line_)) {
    if (in_.bad()) fail("read error");
    return false;
  }
  ++lineNo_;
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  return true;
}

Reader::Item Reader::next(std::string* object, DumpRecord* rec) {
  if (ended_) fail("read past the end line");
  if (!readLine()) {
    ++lineNo_;
    fail("the file ends without its end line: it is truncated (" + std::to_string(records_) + " records read)");
  }
  json j;
  try {
    j = json::parse(line_);
  } catch (const json::exception& e) {
    fail(std::string("not JSON (") + e.what() + ")");
  }
  if (!j.is_object()) fail("a line must be one JSON object");
  if (j.contains("end")) {
    const json& e = j["end"];
    if (!e.is_object() || !e.value("records", json()).is_number_unsigned() || !e.value("objects", json()).is_number_unsigned()) {
      fail("the end line must be {\"end\":{\"objects\":N,\"records\":N}}");
    }
    if (e["records"].get<uint64_t>() != records_ || e["objects"].get<uint64_t>() != objects_) {
      fail("the end line counts " + e["objects"].dump() + " objects and " + e["records"].dump() + " records; the file holds " +
           std::to_string(objects_) + " and " + std::to_string(records_));
    }
    while (readLine()) {
      if (!line_.empty()) fail("text after the end line");
    }
    ended_ = true;
    return Item::kEnd;
  }
  if (j.contains("object")) {
    if (!j["object"].is_string() || j.size() != 1) fail("an object line must be {\"object\":\"NAME\"}");
    std::string name = j["object"].get<std::string>();
    const auto& objs = tenant().objects;
    auto it = objs.find(name);
    if (it == objs.end()) fail("object '" + name + "' is not an object of tenant '" + header_.tenant + "' in the configuration");
    if (seen_[name]) fail("object '" + name + "' appears twice");
    seen_[name] = true;
    current_ = &it->second;
    lastId_ = 0;
    ++objects_;
    *object = name;
    return Item::kObject;
  }
  if (current_ == nullptr) fail("a record before any object line");
  *object = current_->name;
  DumpRecord r;
  r.lineBytes = line_.size();
  auto idText = j.value("id", json());
  uint64_t id = 0;
  if (!idText.is_string()) fail("record: \"id\" must be the record id as a decimal string");
  try {
    id = parseId(idText.get<std::string>(), "record id");
  } catch (const UsageError&) {
    fail("record: \"id\" " + idText.dump() + " is not a decimal id");
  }
  std::string rw = "record " + std::to_string(id) + " of " + current_->name + ": ";
  if (id == 0 || id >= (uint64_t{1} << 63)) fail(rw + "the id must be from 1 to 2^63-1");
  if (id <= lastId_) fail(rw + "ids must ascend within an object (the one before is " + std::to_string(lastId_) + ")");
  r.id = id;
  for (auto it = j.begin(); it != j.end(); ++it) {
    static const char* const kKeys[] = {"id", "version", "createdBy", "createdAt", "modifiedBy", "modifiedAt", "fields"};
    bool known = false;
    for (const char* k : kKeys) known = known || it.key() == k;
    if (!known) fail(rw + "unknown key '" + it.key() + "'");
  }
  const json& v = j.value("version", json());
  if (!v.is_number_unsigned() || v.get<uint64_t>() == 0) fail(rw + "\"version\" must be a whole number >= 1");
  r.version = v.get<uint64_t>();
  auto stamp = [&](const char* key, int64_t* out) {
    const json& x = j.value(key, json());
    if (!x.is_number_integer()) fail(rw + "\"" + key + "\" must be microseconds since the epoch (an integer)");
    *out = x.get<int64_t>();
  };
  stamp("createdAt", &r.createdAt);
  stamp("modifiedAt", &r.modifiedAt);
  auto who = [&](const char* key, std::string* out) {
    const json& x = j.value(key, json());
    if (x.is_null()) return;
    if (!x.is_string() || x.get<std::string>().empty()) fail(rw + "\"" + key + "\" must be a user name, NAME@TENANT, or null");
    *out = x.get<std::string>();
  };
  who("createdBy", &r.createdBy);
  who("modifiedBy", &r.modifiedBy);
  const json& f = j.value("fields", json());
  if (!f.is_object()) fail(rw + "\"fields\" must be an object of field values");
  for (auto it = f.begin(); it != f.end(); ++it) {
    bool known = false;
    for (const auto& d : current_->fields) known = known || d.name == it.key();
    if (!known) fail(rw + "object " + current_->name + " has no field '" + it.key() + "'");
  }
  for (const auto& d : current_->fields) {
    auto x = f.find(d.name);
    if (x == f.end() || x->is_null()) {
      if (d.required) fail(rw + "field '" + d.name + "' is required");
      r.fields.addNull(d.name);
      continue;
    }
    std::string want = "field '" + d.name + "' is " + d.type + ": ";
    if (d.type == "text") {
      if (!x->is_string()) fail(rw + want + "want a string");
      r.fields.add(d.name, x->get<std::string>());
    } else if (d.type == "int") {
      if (!x->is_number_integer() || (x->is_number_unsigned() && x->get<uint64_t>() > uint64_t(INT64_MAX))) fail(rw + want + "want a 64-bit integer");
      r.fields.addValue(d.name, Value::integer(x->get<int64_t>()));
    } else if (d.type == "float") {
      if (x->is_number()) {
        r.fields.addValue(d.name, Value::floating(x->get<double>()));
      } else if (x->is_string() && (*x == "Infinity" || *x == "-Infinity")) {
        r.fields.addValue(d.name, Value::floating(*x == "Infinity" ? std::numeric_limits<double>::infinity()
                                                                   : -std::numeric_limits<double>::infinity()));
      } else {
        fail(rw + want + "want a number (or \"Infinity\", \"-Infinity\")");
      }
    } else if (d.type == "bool") {
      if (!x->is_boolean()) fail(rw + want + "want true or false");
      r.fields.addValue(d.name, Value::boolean(x->get<bool>()));
    } else {
      if (!x->is_number_integer() || (x->is_number_unsigned() && x->get<uint64_t>() > uint64_t(INT64_MAX))) fail(rw + want + "want microseconds since the epoch (an integer)");
      r.fields.addValue(d.name, Value::timestamp(x->get<int64_t>()));
    }
  }
  lastId_ = id;
  ++records_;
  *rec = std::move(r);
  return Item::kRecord;
}

}  // namespace cotenant::cli::dump
