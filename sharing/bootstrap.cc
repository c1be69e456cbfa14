// First start of an installation: the system tenant, its admin, and the admin's key file.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/secret.h"
#include "sharing/identity.h"

namespace cotenant::sharing {

namespace {

// Writes `content` to a new file at `path` readable by the owner only, replacing a stale
// one (a key file left by a start that did not finish).
Status WriteSecretFile(const std::string& path, const std::string& content) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::Internal("cannot remove stale " + path + ": " + std::strerror(errno));
  }
  return CreateOwnerOnlyFile(path, content);
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
