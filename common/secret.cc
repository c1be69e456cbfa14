#include "common/secret.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace cotenant {
namespace {

Status ErrnoStatus(const std::string& what, int err) {
  return Status::Internal(what + ": " + std::strerror(err));
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, const std::string& path, const std::string& content) {
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = ::write(fd, content.data() + off, content.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("cannot write " + path, errno);
    }
    off += static_cast<size_t>(n);
  }
  return Status::OK();
}

}  // namespace

Status ReadSecretFile(const std::string& path, std::string* secret) {
  secret->clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound("secret file " + path + " does not exist");
    return ErrnoStatus("cannot open secret file " + path, errno);
  }
  // Checked on the open descriptor, so the file judged is the file read.
  struct stat st {};
  Status s;
  if (::fstat(fd, &st) != 0) {
    s = ErrnoStatus("cannot stat secret file " + path, errno);
  } else if (!S_ISREG(st.st_mode)) {
    s = Status::InvalidArgument("secret file " + path + " is not a regular file");
  } else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    s = Status::InvalidArgument("secret file " + path + " has mode " + mode +
                                "; it must not be accessible to group or others (chmod 600 " +
                                path + ")");
  } else if (st.st_size != static_cast<off_t>(kSecretBytes)) {
    s = Status::InvalidArgument("secret file " + path + " holds " + std::to_string(st.st_size) +
                                " bytes; it must hold exactly " + std::to_string(kSecretBytes) +
                                " random bytes");
  }
  std::string buf(kSecretBytes, '\0');
  size_t off = 0;
  while (s.ok() && off < buf.size()) {
    ssize_t n = ::read(fd, buf.data() + off, buf.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      s = ErrnoStatus("cannot read secret file " + path, errno);
    } else if (n == 0) {
      s = Status::InvalidArgument("secret file " + path + " is shorter than " +
                                  std::to_string(kSecretBytes) + " bytes");
    } else {
      off += static_cast<size_t>(n);
    }
  }
  ::close(fd);
  if (!s.ok()) return s;
  *secret = std::move(buf);
  return Status::OK();
}

Status CreateOwnerOnlyFile(const std::string& path, const std::string& content) {
  std::string tmp = path + ".tmp-XXXXXX";
  std::vector<char> name(tmp.begin(), tmp.end());
  name.push_back('\0');
  // mkstemp: O_CREAT | O_EXCL, mode 0600 whatever the umask.
  int fd = ::mkostemp(name.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("cannot create a temporary file next to " + path, errno);
  tmp.assign(name.data());
  Status s = WriteAll(fd, tmp, content);
  if (s.ok() && ::fsync(fd) != 0) s = ErrnoStatus("cannot fsync " + tmp, errno);
  if (::close(fd) != 0 && s.ok()) s = ErrnoStatus("cannot close " + tmp, errno);
  if (s.ok() && ::link(tmp.c_str(), path.c_str()) != 0) {
    s = errno == EEXIST ? Status::Conflict(path + " already exists")
                        : ErrnoStatus("cannot create " + path, errno);
  }
  ::unlink(tmp.c_str());
  if (!s.ok()) return s;
  // Make the new directory entry durable too.
  int dfd = ::open(DirOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::OK();
}

Status LoadOrCreateSecretFile(const std::string& path, std::string* secret) {
  Status s = ReadSecretFile(path, secret);
  if (!s.IsNotFound()) return s;
  std::string fresh(kSecretBytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(fresh.data()), static_cast<int>(fresh.size())) !=
      1) {
    return Status::Internal("cannot generate a random secret for " + path);
  }
  s = CreateOwnerOnlyFile(path, fresh);
  // Another process created it first: use that one, as it does.
  if (s.IsConflict()) return ReadSecretFile(path, secret);
  COTENANT_RETURN_IF_ERROR(s);
  *secret = std::move(fresh);
  return Status::OK();
}

}  // namespace cotenant
