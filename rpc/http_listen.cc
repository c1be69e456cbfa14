// The HTTP/JSON API's sockets: the listening socket every loop opens on the same port, and
// a connection's peer address (for the login throttle and the per-peer cap).

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "rpc/http_api.h"
#include "rpc/ops_http.h"

namespace cotenant::rpc {


Status ListenHttpApi(const std::string& address, kj::LowLevelAsyncIoProvider& io,
                     kj::Own<kj::ConnectionReceiver>* out, uint16_t* port) {
  std::string host;
  uint16_t want = 0;
  COTENANT_RETURN_IF_ERROR(SplitHostPort(address, &host, &want));
  if (!host.empty() && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (host.find(':') != std::string::npos) {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&addr);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(want);
    if (::inet_pton(AF_INET6, host.c_str(), &a6->sin6_addr) != 1) {
      return Status::InvalidArgument("--api: not an IP address: " + host);
    }
    len = sizeof(*a6);
  } else {
    auto* a4 = reinterpret_cast<sockaddr_in*>(&addr);
    a4->sin_family = AF_INET;
    a4->sin_port = htons(want);
    if (host.empty() || host == "*") {
      a4->sin_addr.s_addr = htonl(INADDR_ANY);
    } else if (::inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) {
      return Status::InvalidArgument("--api: not an IP address: " + host);
    }
    len = sizeof(*a4);
  }
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return Status::Internal(std::string("--api: socket: ") + std::strerror(errno));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 1024) != 0) {
    Status s = Status::Internal("cannot listen on " + address + " (--api): " + std::strerror(errno));
    ::close(fd);
    return s;
  }
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof(bound);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  *port = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                            : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  *out = io.wrapListenSocketFd(fd, kj::LowLevelAsyncIoProvider::TAKE_OWNERSHIP |
                                       kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK |
                                       kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC);
  return Status::OK();
}

}  // namespace cotenant::rpc
