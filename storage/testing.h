// Helpers for storage/ tests: a store in a temporary directory, and a checker that every
// index entry matches its record and every record has its index entries.

#ifndef COTENANT_STORAGE_TESTING_H_
#define COTENANT_STORAGE_TESTING_H_

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>

#include "storage/key_encoding.h"
#include "storage/kv.h"
#include "storage/record_codec.h"
#include "storage/storage.h"
#include "tests/test_support.h"

namespace cotenant::storage::testing {

// Options for a test store under `path`, on the engine the suite runs on.
inline StoreOptions TestStoreOptions(const std::string& path, StoreOptions options = {}) {
  options.path = path;
  options.storage = cotenant::testing::TestStorageUri(path);
  options.storage_connections = 4;
  return options;
}

inline std::unique_ptr<Store> OpenStore(const std::string& path, StoreOptions options = {}) {
  options = TestStoreOptions(path, std::move(options));
  options.block_cache_bytes = 8 << 20;
  options.memtable_bytes = 8 << 20;
  std::unique_ptr<Store> store;
  Status s = Store::Open(options, &store);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return store;
}

// Returns "" when indexes and records of `object` agree exactly, else what differs.
inline std::string CheckIndexes(const Store& store, TenantId tenant, const std::string& object) {
  std::shared_ptr<const ObjectDef> def;
  Status s = store.GetObject(tenant, object, &def);
  if (!s.ok()) return s.ToString();
  std::set<std::string> expected, actual;
  std::string prefix = ObjectPrefix(tenant, def->id);
  auto it = store.engine()->NewIterator(Cf::kRecords, prefix, PrefixSuccessor(prefix));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Record r;
    if (!DecodeRecord(it->value(), *def, &r)) return "undecodable record";
    RecordId id = DecodeU64(it->key().data() + kObjectPrefixLen);
    for (size_t i = 0; i < def->fields.size(); ++i) {
      if (def->fields[i].indexed) {
        expected.insert(IndexKey(tenant, def->id, static_cast<int>(i), r.values[i], id));
      }
      if (def->fields[i].unique && !r.values[i].is_null()) {
        std::string holder;
        AppendU64(&holder, id);
        expected.insert(UniqueKey(tenant, def->id, static_cast<int>(i), r.values[i]) + "=" + holder);
      }
    }
  }
  if (!it->status().ok()) return it->status().ToString();
  auto ix = store.engine()->NewIterator(Cf::kIndexes, prefix, PrefixSuccessor(prefix));
  for (ix->SeekToFirst(); ix->Valid(); ix->Next()) {
    bool unique = (DecodeU16(ix->key().data() + kObjectPrefixLen) & kUniqueSlotFlag) != 0;
    // A unique-value entry is compared with the record it points at.
    actual.insert(unique ? std::string(ix->key()) + "=" + std::string(ix->value())
                         : std::string(ix->key()));
  }
  if (expected == actual) return "";
  size_t missing = 0, extra = 0;
  for (const auto& k : expected) missing += actual.count(k) == 0;
  for (const auto& k : actual) extra += expected.count(k) == 0;
  return std::to_string(missing) + " index entries missing, " + std::to_string(extra) +
         " index entries without a matching record";
}

inline FieldValues Fields(std::initializer_list<FieldValue> f) { return FieldValues(f); }

}  // namespace cotenant::storage::testing

#endif  // COTENANT_STORAGE_TESTING_H_
