// The installation secret: 32 random bytes in a file only its owner may read.
//
// Every front-end sharing one memcached must hold the same secret (it authenticates what
// they cache there and the continuation tokens they hand out), so it lives in a file an
// operator can copy: raw bytes, exactly kSecretBytes long, mode 0600 (or stricter).
//
// Thread safety: plain functions; call them before serving.

#ifndef COTENANT_COMMON_SECRET_H_
#define COTENANT_COMMON_SECRET_H_

#include <cstddef>
#include <string>

#include "common/status.h"

namespace cotenant {

inline constexpr size_t kSecretBytes = 32;

// Reads the secret at `path` into *secret. InvalidArgument, naming the file and what is
// wrong, when it is not a regular file, grants any permission to group or others, or is
// not exactly kSecretBytes long; NotFound when it does not exist; Internal for I/O errors.
[[nodiscard]] Status ReadSecretFile(const std::string& path, std::string* secret);

// Reads the secret at `path`; when there is no file, first creates one with fresh random
// bytes (see CreateOwnerOnlyFile). Errors as ReadSecretFile, or Internal when the file
// cannot be created.
[[nodiscard]] Status LoadOrCreateSecretFile(const std::string& path, std::string* secret);

// Creates the file `path` holding `content`, readable and writable by its owner only. It
// appears complete or not at all: the bytes go to a new temporary file (mode 0600,
// O_EXCL) in the same directory, are fsynced, and the file is then linked into place,
// which fails with Conflict when `path` already exists; the directory is fsynced after.
[[nodiscard]] Status CreateOwnerOnlyFile(const std::string& path, const std::string& content);

}  // namespace cotenant

#endif  // COTENANT_COMMON_SECRET_H_
