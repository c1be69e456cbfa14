// Record and value decoding (storage/record_codec.h, storage/key_encoding.h,
// storage/value.h): arbitrary bytes decoded as a stored record and as ordered index
// values; whatever decodes must re-encode and decode to the same thing, and the ordered
// encoding must sort like Value::Compare.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz/fuzz_util.h"
#include "storage/key_encoding.h"
#include "storage/record_codec.h"
#include "storage/storage.h"
#include "storage/value.h"

namespace cotenant::storage {
namespace {

const ObjectDef& Def() {
  static const ObjectDef* def = [] {
    auto* d = new ObjectDef;
    d->id = 7;
    d->name = "Things";
    d->fields = {{"name", FieldType::kText, true, true},  {"n", FieldType::kInt, false, true},
                 {"f", FieldType::kFloat, false, false}, {"b", FieldType::kBool, false, true},
                 {"t", FieldType::kTimestamp, false, true}, {"note", FieldType::kText, false, false}};
    return d;
  }();
  return *def;
}

bool SameValue(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null();
  if (a.type() != b.type()) return false;
  if (a.type() == FieldType::kFloat) {
    double x = a.float_value(), y = b.float_value();
    return std::memcmp(&x, &y, sizeof x) == 0;  // NaN payloads and -0.0 kept bit for bit
  }
  return a == b;
}

bool SameRecord(const Record& a, const Record& b) {
  if (a.version != b.version || a.created_by != b.created_by || a.created_at != b.created_at ||
      a.modified_by != b.modified_by || a.modified_at != b.modified_at ||
      a.values.size() != b.values.size()) {
    return false;
  }
  for (size_t i = 0; i < a.values.size(); ++i) {
    if (!SameValue(a.values[i], b.values[i])) return false;
  }
  return true;
}

int Sign(int x) { return (x > 0) - (x < 0); }

void FuzzRecord(std::string_view in) {
  Record r;
  if (!DecodeRecord(in, Def(), &r)) return;
  FUZZ_CHECK(r.values.size() == Def().fields.size(), "values sized to the object");
  std::string enc;
  EncodeRecord(r, &enc);
  Record back;
  FUZZ_CHECK(DecodeRecord(enc, Def(), &back), "a re-encoded record decodes");
  FUZZ_CHECK(SameRecord(r, back), "decode(encode(r)) == r");
  std::string enc2;
  EncodeRecord(back, &enc2);
  FUZZ_CHECK(enc == enc2, "encoding is deterministic");
  for (const Value& v : r.values) (void)v.ToString();
}

// Ordered index values: two values of one type decoded from the bytes; when both
// decode, each round-trips and the byte order of the encodings is Value::Compare.
void FuzzOrdered(std::string_view in) {
  if (in.empty()) return;
  FieldType type = static_cast<FieldType>(static_cast<unsigned char>(in[0]) % 5);
  in.remove_prefix(1);
  Value a, b;
  if (!DecodeOrdered(&in, type, &a)) return;
  std::string ea;
  AppendOrdered(&ea, a);
  std::string_view ra = ea;
  Value a2;
  FUZZ_CHECK(DecodeOrdered(&ra, type, &a2) && ra.empty(), "ordered value re-decodes");
  // The index order is Compare's total order: -0.0 and +0.0 are one key, every NaN is
  // one key after +inf; otherwise the value comes back as it was.
  FUZZ_CHECK(a2.Compare(a) == 0 && (a.type() == FieldType::kFloat || a == a2),
             "ordered round trip of " + a.ToString());
  if (!DecodeOrdered(&in, type, &b)) return;
  std::string eb;
  AppendOrdered(&eb, b);
  int by_value = Sign(a.Compare(b));
  int by_bytes = Sign(ea.compare(eb));
  FUZZ_CHECK(by_value == by_bytes, "ordered encoding sorts like Compare: " + a.ToString() +
                                       " vs " + b.ToString());
}

// Text coerced to every field type (the wire's strict parsing of typed values).
void FuzzCoerce(std::string_view in) {
  Value text = Value::Text(std::string(in));
  for (int t = 0; t < 5; ++t) {
    Value out;
    Status s = CoerceValue(text, static_cast<FieldType>(t), "f", &out);
    if (!s.ok()) {
      FUZZ_CHECK(s.IsInvalidArgument(), s.ToString());
      continue;
    }
    FUZZ_CHECK(!out.is_null() && out.type() == static_cast<FieldType>(t), "coerced type");
    // What a value prints as parses back to the same value (timestamps, ints, bools).
    if (t != static_cast<int>(FieldType::kFloat)) {
      Value again;
      Status s2 = CoerceValue(Value::Text(out.ToString()), static_cast<FieldType>(t), "f", &again);
      FUZZ_CHECK(s2.ok() && SameValue(out, again), "ToString re-parses: " + out.ToString());
    }
  }
}

}  // namespace
}  // namespace cotenant::storage

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  cotenant::storage::FuzzRecord(in);
  cotenant::storage::FuzzOrdered(in);
  if (size <= 256) cotenant::storage::FuzzCoerce(in);
  return 0;
}
