// Order-preserving key encoding.
//
// Fixed-width integers are big-endian so that byte order equals numeric order. Values in
// index keys are encoded so that memcmp order equals Value::Compare order for one field
// type, with null after every value:
//   tag 0x01 + payload   for a value
//   tag 0x02             for null
// Payloads: int and timestamp: the 64-bit two's complement with the sign bit flipped,
// big-endian; float: IEEE-754 bits, all flipped when negative, else sign bit set
// (-0.0 is encoded as +0.0); bool: one byte 0/1; text: bytes with 0x00 escaped as 0x00 0xFF,
// terminated by 0x00 0x01 (so a prefix sorts before its extensions).

#ifndef COTENANT_STORAGE_KEY_ENCODING_H_
#define COTENANT_STORAGE_KEY_ENCODING_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "storage/value.h"

namespace cotenant::storage {

void AppendU16(std::string* out, uint16_t v);
void AppendU32(std::string* out, uint32_t v);
void AppendU64(std::string* out, uint64_t v);
// REQUIRES: at least 2 / 4 / 8 bytes at p.
uint16_t DecodeU16(const char* p);
uint32_t DecodeU32(const char* p);
uint64_t DecodeU64(const char* p);

// Appends the ordered encoding of `v` (any type, or null).
void AppendOrdered(std::string* out, const Value& v);
// The value's type and ordered encoding: the same for two values exactly when they have one
// type and compare equal. For fingerprints of queries (bound criteria parameters).
std::string TypedKey(const Value& v);
// Decodes one ordered value of type `type` from the front of *in and advances it.
// Returns false on malformed input.
bool DecodeOrdered(std::string_view* in, FieldType type, Value* out);

// Smallest key greater than every key that starts with `prefix` (prefix + 1 as a big
// number); empty when the prefix is all 0xFF.
std::string PrefixSuccessor(std::string_view prefix);

// Reads an id written as exactly 16 lowercase hex digits (as ids appear in meta keys);
// false for any other text.
bool ParseHex16(std::string_view s, uint64_t* v);

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_KEY_ENCODING_H_
