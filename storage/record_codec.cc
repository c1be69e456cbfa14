#include "storage/record_codec.h"

#include <cstring>

#include "storage/key_encoding.h"

namespace cotenant::storage {
namespace {

constexpr unsigned char kFormat = 1;

void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, static_cast<size_t>(n));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) { return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1)); }

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && !in->empty(); shift += 7) {
    auto byte = static_cast<unsigned char>(in->front());
    in->remove_prefix(1);
    result |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      *v = result;
      return true;
    }
  }
  return false;
}

}  // namespace

void EncodeRecord(const Record& r, std::string* out) {
  out->push_back(static_cast<char>(kFormat));
  PutVarint(out, r.version);
  PutVarint(out, r.created_by);
  PutVarint(out, ZigZag(r.created_at));
  PutVarint(out, r.modified_by);
  PutVarint(out, ZigZag(r.modified_at));
  uint64_t present = 0;
  for (const auto& v : r.values) present += v.is_null() ? 0 : 1;
  PutVarint(out, present);
  for (size_t slot = 0; slot < r.values.size(); ++slot) {
    const Value& v = r.values[slot];
    if (v.is_null()) continue;
    PutVarint(out, slot);
    out->push_back(static_cast<char>(v.type()));
    switch (v.type()) {
      case FieldType::kText:
        PutVarint(out, v.text().size());
        out->append(v.text());
        break;
      case FieldType::kInt:
        PutVarint(out, ZigZag(v.int_value()));
        break;
      case FieldType::kTimestamp:
        PutVarint(out, ZigZag(v.time_micros()));
        break;
      case FieldType::kFloat: {
        double d = v.float_value();
        char buf[8];
        std::memcpy(buf, &d, 8);  // the platform is little-endian (x86-64, aarch64)
        out->append(buf, 8);
        break;
      }
      case FieldType::kBool:
        out->push_back(v.bool_value() ? 1 : 0);
        break;
    }
  }
}

bool DecodeRecord(std::string_view in, const ObjectDef& object, Record* r) {
  if (in.empty() || static_cast<unsigned char>(in.front()) != kFormat) return false;
  in.remove_prefix(1);
  uint64_t created_at = 0, modified_at = 0, present = 0;
  if (!GetVarint(&in, &r->version) || !GetVarint(&in, &r->created_by) ||
      !GetVarint(&in, &created_at) || !GetVarint(&in, &r->modified_by) ||
      !GetVarint(&in, &modified_at) || !GetVarint(&in, &present)) {
    return false;
  }
  r->created_at = UnZigZag(created_at);
  r->modified_at = UnZigZag(modified_at);
  r->values.assign(object.fields.size(), Value());
  for (uint64_t i = 0; i < present; ++i) {
    uint64_t slot = 0;
    if (!GetVarint(&in, &slot) || in.empty()) return false;
    auto type = static_cast<FieldType>(static_cast<unsigned char>(in.front()));
    in.remove_prefix(1);
    Value v;
    switch (type) {
      case FieldType::kText: {
        uint64_t len = 0;
        if (!GetVarint(&in, &len) || len > in.size()) return false;
        v = Value::Text(std::string(in.substr(0, len)));
        in.remove_prefix(len);
        break;
      }
      case FieldType::kInt:
      case FieldType::kTimestamp: {
        uint64_t z = 0;
        if (!GetVarint(&in, &z)) return false;
        v = type == FieldType::kInt ? Value::Int(UnZigZag(z)) : Value::Time(UnZigZag(z));
        break;
      }
      case FieldType::kFloat: {
        if (in.size() < 8) return false;
        double d;
        std::memcpy(&d, in.data(), 8);
        in.remove_prefix(8);
        v = Value::Float(d);
        break;
      }
      case FieldType::kBool:
        if (in.empty()) return false;
        v = Value::Bool(in.front() != 0);
        in.remove_prefix(1);
        break;
      default:
        return false;
    }
    // A slot beyond the definition belongs to a field this reader does not know.
    if (slot < r->values.size()) r->values[slot] = std::move(v);
  }
  return in.empty();
}

std::string TenantPrefix(TenantId tenant) {
  std::string k;
  AppendU64(&k, tenant);
  return k;
}

std::string ObjectPrefix(TenantId tenant, ObjectId object) {
  std::string k;
  k.reserve(kObjectPrefixLen);
  AppendU64(&k, tenant);
  AppendU32(&k, object);
  return k;
}

std::string RecordKey(TenantId tenant, ObjectId object, RecordId id) {
  std::string k;
  k.reserve(kRecordKeyLen);
  AppendU64(&k, tenant);
  AppendU32(&k, object);
  AppendU64(&k, id);
  return k;
}

std::string IndexPrefix(TenantId tenant, ObjectId object, int slot) {
  std::string k;
  k.reserve(kIndexPrefixLen + 16);
  AppendU64(&k, tenant);
  AppendU32(&k, object);
  AppendU16(&k, static_cast<uint16_t>(slot));
  return k;
}

std::string IndexKey(TenantId tenant, ObjectId object, int slot, const Value& v, RecordId id) {
  std::string k = IndexPrefix(tenant, object, slot);
  AppendOrdered(&k, v);
  AppendU64(&k, id);
  return k;
}

std::string UniquePrefix(TenantId tenant, ObjectId object, int slot) {
  return IndexPrefix(tenant, object, kUniqueSlotFlag | slot);
}

std::string UniqueKey(TenantId tenant, ObjectId object, int slot, const Value& v) {
  std::string k = UniquePrefix(tenant, object, slot);
  AppendOrdered(&k, v);
  return k;
}

}  // namespace cotenant::storage
