// First start of an installation: the system tenant, its admin, and the admin's key file.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "sharing/identity.h"

namespace cotenant::sharing {

namespace {

Status ErrnoStatus(const std::string& what, int err) {
  return Status::Internal(what + ": " + std::strerror(err));
}

// Writes `content` to a new file at `path` readable by the owner only. The file is
// created with O_EXCL and mode 0600, so no other mode ever exists on disk; fchmod undoes
// a umask that would have removed the owner's bits.
Status WriteSecretFile(const std::string& path, const std::string& content) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus("cannot remove stale " + path, errno);
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return ErrnoStatus("cannot create " + path, errno);
  Status s;
  if (::fchmod(fd, 0600) != 0) s = ErrnoStatus("cannot chmod " + path, errno);
  size_t off = 0;
  while (s.ok() && off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      s = ErrnoStatus("cannot write " + path, errno);
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus("cannot fsync " + path, errno);
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus("cannot close " + path, errno);
  if (!s.ok()) {
    ::unlink(path.c_str());
    return s;
  }
  // Make the new directory entry durable too.
  std::string dir = path.substr(0, path.find_last_of('/') == std::string::npos
                                       ? 1
                                       : path.find_last_of('/'));
  if (dir.empty()) dir = "/";
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

}  // namespace

Status Bootstrap(storage::Store* store, Identity* identity, const std::string& data_dir,
                 std::string* key_path) {
  key_path->clear();
  storage::TenantInfo system;
  bool found = false;
  for (const auto& t : store->ListTenants()) {
    if (t.kind == storage::TenantKind::kSystem) {
      system = t;
      found = true;
      break;
    }
  }
  if (!found) {
    COTENANT_RETURN_IF_ERROR(
        store->CreateTenant("system", storage::TenantKind::kSystem, 0, &system));
  }
  std::vector<User> users;
  COTENANT_RETURN_IF_ERROR(identity->ListUsers(system.id, &users));
  if (!users.empty()) return Status::OK();  // set up before; the key was written then

  // The key file is written (and fsynced) before the user is committed: a crash in
  // between leaves no admin, and the next start writes a fresh key over the stale file.
  Identity::Pending p;
  COTENANT_RETURN_IF_ERROR(
      identity->Prepare(system.id, "admin", AdminLevel::kSystemAdmin, &p));
  std::string path = (data_dir.empty() ? std::string(".") : data_dir) + "/admin.key";
  COTENANT_RETURN_IF_ERROR(WriteSecretFile(path, p.api_key + "\n"));
  Status s = identity->Commit(p);
  if (!s.ok()) {
    ::unlink(path.c_str());
    return s;
  }
  *key_path = path;
  return Status::OK();
}

}  // namespace cotenant::sharing
