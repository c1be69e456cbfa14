// A small HTTP/1.1 client for the end-to-end suites of the HTTP/JSON API: one keep-alive
// connection to 127.0.0.1, requests written as curl writes them, responses framed by
// Content-Length. Every read has a timeout, so a test never hangs on a server that does
// not answer.

#ifndef COTENANT_TESTS_HTTP_CLIENT_H_
#define COTENANT_TESTS_HTTP_CLIENT_H_

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "tests/test_support.h"

namespace cotenant::testing {

struct HttpReply {
  int status = 0;  // 0: the connection closed (or timed out) before a whole response
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  nlohmann::json json;  // the body parsed; null when it is not JSON

  std::string code() const {
    return json.is_object() && json.contains("code") ? json["code"].get<std::string>() : "";
  }
  std::string message() const {
    return json.is_object() && json.contains("message") ? json["message"].get<std::string>() : "";
  }
};

inline std::ostream& operator<<(std::ostream& os, const HttpReply& r) {
  return os << "HTTP " << r.status << " " << r.body;
}

class HttpConnection {
 public:
  // `source`: the local address to connect from (any 127.x.y.z), as ConnectLoopback.
  explicit HttpConnection(int port, int timeout_s = 20, const char* source = nullptr)
      : fd_(ConnectLoopback(port, timeout_s, source)) {}
  ~HttpConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  bool ok() const { return fd_ >= 0; }

  // The credentials sent with every later request (an empty key sends no Authorization).
  void Login(uint64_t tenant, std::string key) {
    tenant_ = std::to_string(tenant);
    key_ = std::move(key);
  }

  // Writes raw bytes; false when the connection is gone.
  bool Write(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // One request and its response. `headers` are added to the credentials.
  HttpReply Call(const std::string& verb, const std::string& path, const std::string& body = "",
                 const std::map<std::string, std::string>& headers = {}) {
    if (!Write(Request(verb, path, body, headers))) return {};
    return Read();
  }

  // The request as written on the wire.
  std::string Request(const std::string& verb, const std::string& path, const std::string& body,
                      const std::map<std::string, std::string>& headers) const {
    std::string r = verb + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    if (!key_.empty()) r += "Authorization: Bearer " + key_ + "\r\n";
    if (!tenant_.empty()) r += "Cotenant-Tenant: " + tenant_ + "\r\n";
    for (const auto& [name, value] : headers) r += name + ": " + value + "\r\n";
    if (!body.empty() || verb == "POST" || verb == "PATCH") {
      r += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    return r + "\r\n" + body;
  }

  // Reads one response.
  HttpReply Read() {
    HttpReply reply;
    size_t end;
    while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return reply;
    }
    std::string head = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12) return reply;
    const int status = std::atoi(status_line.c_str() + 9);
    for (size_t at = line_end; at != std::string::npos && at < head.size();) {
      size_t next = head.find("\r\n", at + 2);
      std::string line = head.substr(at + 2, next == std::string::npos ? std::string::npos : next - at - 2);
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string name = line.substr(0, colon);
        std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(' '));
        reply.headers[name] = value;
      }
      at = next;
    }
    size_t length = reply.headers.count("content-length") != 0
                        ? std::strtoull(reply.headers["content-length"].c_str(), nullptr, 10)
                        : 0;
    while (buffer_.size() < length) {
      if (!Fill()) return reply;
    }
    reply.body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    reply.status = status;
    reply.json = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
    if (reply.json.is_discarded()) reply.json = nullptr;
    return reply;
  }

  // True when the server closes the connection (a read answers end of stream) before the
  // socket's timeout; bytes it sends first are kept in `*before`.
  bool ClosedByServer(std::string* before = nullptr) {
    while (Fill()) {
    }
    if (before != nullptr) *before = buffer_;
    return closed_;
  }

 private:
  bool Fill() {
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      closed_ = true;  // end of stream, or a reset
    }
    if (n <= 0) return false;
    buffer_.append(buf, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string tenant_;
  std::string key_;
  std::string buffer_;
  bool closed_ = false;
};

}  // namespace cotenant::testing

#endif  // COTENANT_TESTS_HTTP_CLIENT_H_
