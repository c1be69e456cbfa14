// Online backups of the whole store, and restoring one into a new data directory
// (docs/OPERATIONS.md, "Backups").
//
// A backup directory holds any number of backups of one store. Each is a consistent
// point-in-time copy of every column family, taken while the store serves: the engine's
// table files are immutable, so a backup copies the live ones (and the write-ahead log
// of what is not in a table file yet) without stopping writes. Table files already in
// the directory from an earlier backup are shared, not copied again, so a second backup
// copies only what changed. Every file is kept with its checksum; restoring verifies
// them before anything is written.
//
// Thread safety: Store::Backup may run while the store serves; two backups of one store
// do not run at once (the second answers Busy). RestoreBackup and ListBackups work on
// directories no server uses.

#ifndef COTENANT_STORAGE_BACKUP_H_
#define COTENANT_STORAGE_BACKUP_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace cotenant::storage {

struct BackupInfo {
  uint32_t id = 0;           // 1, 2, ... within its backup directory
  int64_t created_at = 0;    // seconds since the epoch
  uint64_t size_bytes = 0;   // of every file the backup needs (shared ones included)
  uint32_t files = 0;        // how many files it needs
  uint64_t copied_bytes = 0; // written into the directory by this backup (Store::Backup only)
  uint32_t kept = 0;         // backups left in the directory after old ones were purged
};

// The backups in `dir`, oldest first. NotFound when `dir` holds none.
Status ListBackups(const std::string& dir, std::vector<BackupInfo>* out);

// Restores backup `id` of `backup_dir` (0 = the latest) into `data_dir`, which must not
// exist or be empty; it is created mode 0700. Every file is verified against its
// checksum first; a failure leaves `data_dir` empty (removed when this made it).
Status RestoreBackup(const std::string& backup_dir, const std::string& data_dir, uint32_t id,
                     BackupInfo* restored);

}  // namespace cotenant::storage

#endif  // COTENANT_STORAGE_BACKUP_H_
