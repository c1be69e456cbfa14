// The RocksDB options the store runs with, for tools that must match them exactly (the
// storage benchmark's raw-RocksDB baseline). Internal to storage/ and bench/.

#ifndef COTENANT_STORAGE_ROCKSDB_ENGINE_H_
#define COTENANT_STORAGE_ROCKSDB_ENGINE_H_

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <memory>
#include <string>

#include "storage/storage.h"

namespace cotenant::storage {

// Fills the DB and column-family options (and the block cache they share) that
// OpenRocksEngine uses for `options`.
void MakeRocksOptions(const StoreOptions& options, std::shared_ptr<rocksdb::Cache>* cache,
                      rocksdb::DBOptions* db_options, rocksdb::ColumnFamilyOptions* cf_options);

struct BackupInfo;
// Adds a backup of `db` to `dir` (storage/backup.h; backup.cc). REQUIRES: no other backup
// of `db` runs at once.
Status BackupRocks(rocksdb::DB* db, const std::string& dir, uint32_t keep, BackupInfo* out);

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_ROCKSDB_ENGINE_H_
