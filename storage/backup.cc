// Backups with RocksDB's BackupEngine: table files shared between the backups of one
// directory (with their checksums in the names), the WAL copied for what is still in
// memtables, so a backup is consistent without stopping writes.

#include "storage/backup.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/utilities/backup_engine.h>

#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <system_error>

#include "storage/kv.h"
#include "storage/rocksdb_engine.h"
#include "storage/storage.h"

namespace cotenant::storage {
namespace {

namespace fs = std::filesystem;

// Written with each backup, so a restore can tell a Cotenant backup from another
// RocksDB backup in the same place.
constexpr const char* kBackupMetadata = "cotenant-store-backup/1";

Status BackupError(const std::string& what, const std::string& dir, const rocksdb::Status& s) {
  if (s.IsNoSpace()) {
    return Status::ResourceExhausted(what + " " + dir + ": disk full (" + s.ToString() + ")");
  }
  if (s.IsBusy()) return Status::Busy(what + " " + dir + ": " + s.ToString());
  if (s.IsIOError() || s.IsNotFound()) {
    return Status::InvalidArgument(what + " " + dir + ": " + s.ToString());
  }
  if (s.IsCorruption()) return Status::Internal(what + " " + dir + ": corrupt backup: " + s.ToString());
  return Status::Internal(what + " " + dir + ": " + s.ToString());
}

// Bytes of the regular files under `dir` (0 when it does not exist).
uint64_t BytesUnder(const std::string& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code fec;
    if (it->is_regular_file(fec)) total += it->file_size(fec);
  }
  return total;
}

BackupInfo InfoOf(const rocksdb::BackupInfo& b) {
  BackupInfo out;
  out.id = b.backup_id;
  out.created_at = b.timestamp;
  out.size_bytes = b.size;
  out.files = b.number_files;
  return out;
}

// Backups in `dir` must be of this product: a directory of someone else's RocksDB
// backups is not restored as a store.
Status CheckOurs(const std::string& dir, const std::vector<rocksdb::BackupInfo>& infos) {
  for (const auto& b : infos) {
    if (b.app_metadata != kBackupMetadata) {
      return Status::InvalidArgument("backup directory " + dir + ": backup " +
                                     std::to_string(b.backup_id) + " is not a Cotenant store backup");
    }
  }
  return Status::OK();
}

}  // namespace

Status KvEngine::Backup(const std::string&, uint32_t, BackupInfo*) {
  return Status::InvalidArgument("this storage engine does not take backups; use the engine's own");
}

Status Store::Backup(const std::string& dir, uint32_t keep, BackupInfo* out) const {
  return engine_->Backup(dir, keep, out);
}

Status BackupRocks(rocksdb::DB* db, const std::string& dir, uint32_t keep, BackupInfo* out) {
  if (dir.empty() || dir[0] != '/') {
    return Status::InvalidArgument("backup directory must be an absolute path on the server, not '" +
                                   dir + "'");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::InvalidArgument("cannot create backup directory " + dir + ": " + ec.message());
  if (!fs::is_directory(dir, ec)) {
    return Status::InvalidArgument("backup directory " + dir + " is not a directory");
  }
  const uint64_t before = BytesUnder(dir);

  rocksdb::BackupEngineOptions options(dir);
  options.sync = true;                       // a backup that returned is on disk
  options.share_table_files = true;          // incremental: unchanged tables are not copied
  options.share_files_with_checksum = true;  // sharing is safe across stores and restores
  rocksdb::BackupEngine* raw = nullptr;
  rocksdb::IOStatus s = rocksdb::BackupEngine::Open(options, rocksdb::Env::Default(), &raw);
  if (!s.ok()) return BackupError("cannot open backup directory", dir, s);
  std::unique_ptr<rocksdb::BackupEngine> engine(raw);

  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  COTENANT_RETURN_IF_ERROR(CheckOurs(dir, infos));

  rocksdb::CreateBackupOptions create;
  // No flush: the live WAL is copied with the tables, so the backup holds every write
  // acknowledged before it began, whether synced yet or not.
  create.flush_before_backup = false;
  rocksdb::BackupID id = 0;
  s = engine->CreateNewBackupWithMetadata(create, db, kBackupMetadata, &id);
  if (!s.ok()) return BackupError("cannot back up to", dir, s);
  const uint64_t after = BytesUnder(dir);

  infos.clear();
  engine->GetBackupInfo(&infos);
  for (const auto& b : infos) {
    if (b.backup_id == id) *out = InfoOf(b);
  }
  out->id = id;
  out->copied_bytes = after > before ? after - before : 0;
  if (keep > 0) {
    s = engine->PurgeOldBackups(keep);
    if (!s.ok()) return BackupError("backup taken, but cannot delete old backups in", dir, s);
  }
  infos.clear();
  engine->GetBackupInfo(&infos);
  out->kept = static_cast<uint32_t>(infos.size());
  return Status::OK();
}

Status ListBackups(const std::string& dir, std::vector<BackupInfo>* out) {
  out->clear();
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound("no backup directory at " + dir);
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  rocksdb::IOStatus s =
      rocksdb::BackupEngineReadOnly::Open(rocksdb::BackupEngineOptions(dir), rocksdb::Env::Default(), &raw);
  if (!s.ok()) return BackupError("cannot open backup directory", dir, s);
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  std::vector<rocksdb::BackupInfo> infos;
  engine->GetBackupInfo(&infos);
  if (infos.empty()) return Status::NotFound("backup directory " + dir + " holds no backup");
  COTENANT_RETURN_IF_ERROR(CheckOurs(dir, infos));
  for (const auto& b : infos) out->push_back(InfoOf(b));
  return Status::OK();
}

Status RestoreBackup(const std::string& backup_dir, const std::string& data_dir, uint32_t id,
                     BackupInfo* restored) {
  std::vector<BackupInfo> backups;
  COTENANT_RETURN_IF_ERROR(ListBackups(backup_dir, &backups));
  const BackupInfo* chosen = &backups.back();
  if (id != 0) {
    chosen = nullptr;
    for (const auto& b : backups) {
      if (b.id == id) chosen = &b;
    }
    if (chosen == nullptr) {
      return Status::NotFound("backup directory " + backup_dir + " holds no backup " +
                              std::to_string(id) + " (it holds " + std::to_string(backups.size()) +
                              ", the latest is " + std::to_string(backups.back().id) + ")");
    }
  }

  std::error_code ec;
  bool made = false;
  if (fs::exists(data_dir, ec)) {
    if (!fs::is_directory(data_dir, ec)) {
      return Status::InvalidArgument("cannot restore into " + data_dir + ": it is not a directory");
    }
    if (!fs::is_empty(data_dir, ec)) {
      return Status::InvalidArgument("cannot restore into " + data_dir +
                                     ": it is not empty (restore into a new data directory)");
    }
  } else {
    fs::create_directories(data_dir, ec);
    if (ec) return Status::InvalidArgument("cannot create " + data_dir + ": " + ec.message());
    made = true;
  }
  ::chmod(data_dir.c_str(), 0700);

  rocksdb::BackupEngineReadOnly* raw = nullptr;
  rocksdb::IOStatus s = rocksdb::BackupEngineReadOnly::Open(rocksdb::BackupEngineOptions(backup_dir),
                                                            rocksdb::Env::Default(), &raw);
  if (!s.ok()) return BackupError("cannot open backup directory", backup_dir, s);
  std::unique_ptr<rocksdb::BackupEngineReadOnly> engine(raw);
  // Every file against its checksum before a byte is restored.
  s = engine->VerifyBackup(chosen->id, /*verify_with_checksum=*/true);
  if (s.ok()) s = engine->RestoreDBFromBackup(chosen->id, data_dir, data_dir);
  if (!s.ok()) {
    // Nothing half-restored stays behind.
    for (fs::directory_iterator it(data_dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code rec;
      fs::remove_all(it->path(), rec);
    }
    if (made) fs::remove(data_dir, ec);
    return BackupError("cannot restore backup " + std::to_string(chosen->id) + " of", backup_dir, s);
  }
  *restored = *chosen;
  return Status::OK();
}

}  // namespace cotenant::storage
