// The RocksDB options the store runs with, for tools that must match them exactly (the
// storage benchmark's raw-RocksDB baseline). Internal to storage/ and bench/.

#ifndef COTENANT_STORAGE_ROCKSDB_ENGINE_H_
#define COTENANT_STORAGE_ROCKSDB_ENGINE_H_

#include <rocksdb/cache.h>
#include <rocksdb/options.h>

#include <memory>

#include "storage/storage.h"

namespace cotenant::storage {

// Fills the DB and column-family options (and the block cache they share) that
// OpenRocksEngine uses for `options`.
void MakeRocksOptions(const StoreOptions& options, std::shared_ptr<rocksdb::Cache>* cache,
                      rocksdb::DBOptions* db_options, rocksdb::ColumnFamilyOptions* cf_options);

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_ROCKSDB_ENGINE_H_
