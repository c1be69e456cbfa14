// Binary encoding of a record's value in the records column family, and the key layouts
// of every column family. Internal to storage/.
//
// Record value:
//   u8 format (1)
//   varint version, varint createdBy, zigzag createdAt, varint modifiedBy, zigzag modifiedAt
//   varint n; n x { varint slot, u8 type, payload }   (only non-null values)
// Payloads: text = varint length + bytes; int/timestamp = zigzag varint; float = 8 bytes
// little-endian IEEE-754; bool = 1 byte. The record id lives in the key, not the value.
//
// Keys (T = 8-byte big-endian tenant id, always first):
//   records:  T | object u32 | record u64
//   indexes:  T | object u32 | slot u16 | ordered value | record u64
//   meta:     T | key bytes   (store-internal keys start with a byte below 0x20)
//   audit:    T | ordered time u64 | sequence u64

#ifndef COTENANT_STORAGE_RECORD_CODEC_H_
#define COTENANT_STORAGE_RECORD_CODEC_H_

#include <string>
#include <string_view>

#include "storage/storage.h"

namespace cotenant::storage {

// Appends the encoded record (everything but its id).
void EncodeRecord(const Record& record, std::string* out);
// Decodes into *record (values sized to object.fields). Returns false when malformed.
bool DecodeRecord(std::string_view in, const ObjectDef& object, Record* record);

std::string TenantPrefix(TenantId tenant);
std::string ObjectPrefix(TenantId tenant, ObjectId object);
std::string RecordKey(TenantId tenant, ObjectId object, RecordId id);
std::string IndexPrefix(TenantId tenant, ObjectId object, int slot);
std::string IndexKey(TenantId tenant, ObjectId object, int slot, const Value& v, RecordId id);
// The unique-value entry of a unique field (in the indexes column family, after the
// object's ordinary index entries): T | object | 0x8000|slot | ordered value, whose value
// is the id (u64) of the one record that holds the value. Nulls have none.
inline constexpr uint16_t kUniqueSlotFlag = 0x8000;
std::string UniquePrefix(TenantId tenant, ObjectId object, int slot);
std::string UniqueKey(TenantId tenant, ObjectId object, int slot, const Value& v);

inline constexpr size_t kTenantPrefixLen = 8;
inline constexpr size_t kObjectPrefixLen = 12;
inline constexpr size_t kRecordKeyLen = 20;
inline constexpr size_t kIndexPrefixLen = 14;

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_RECORD_CODEC_H_
