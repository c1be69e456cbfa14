#include "rpc/ops_http.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>
#include <functional>
#include <chrono>
#include <utility>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <spdlog/spdlog.h>

#include "common/background.h"
#include "rpc/accept_backoff.h"

namespace cotenant::rpc {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

Status SplitHostPort(const std::string& address, std::string* host, uint16_t* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size()) {
    return Status::InvalidArgument("address '" + address + "' is not HOST:PORT");
  }
  std::string h = address.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string_view p(address.data() + colon + 1, address.size() - colon - 1);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
  if (ec != std::errc() || end != p.data() + p.size() || value > 65535) {
    return Status::InvalidArgument("address '" + address + "' has an invalid port");
  }
  *host = h;
  *port = static_cast<uint16_t>(value);
  return Status::OK();
}

struct OpsHttpServer::State {
  ~State() {
    if (reserve_fd >= 0) ::close(reserve_fd);
  }
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  asio::steady_timer retry{io};  // the back-off after a failed accept
  AcceptBackoff backoff;
  // A descriptor held back for the day the process runs out of them: given up for one
  // accept, so /healthz can still say why the server is not accepting.
  int reserve_fd = -1;
  Metrics* metrics = nullptr;
  std::shared_ptr<asio::ssl::context> tls;  // null = plain HTTP
};

namespace {

// What differs between HTTP and HTTPS: the handshake and how the sending side closes.
void Handshake(beast::tcp_stream&, std::function<void(beast::error_code)> done) { done({}); }
void Handshake(beast::ssl_stream<beast::tcp_stream>& s,
               std::function<void(beast::error_code)> done) {
  beast::get_lowest_layer(s).expires_after(std::chrono::seconds(30));
  s.async_handshake(asio::ssl::stream_base::server, std::move(done));
}
void CloseSend(beast::tcp_stream& s) {
  beast::error_code ignored;
  s.socket().shutdown(tcp::socket::shutdown_send, ignored);
}
void CloseSend(beast::ssl_stream<beast::tcp_stream>& s) {
  // The TLS close_notify is skipped: the session ends here either way and a client that
  // stopped reading must not keep it waiting.
  CloseSend(s.next_layer());
}

// One connection; Stream is beast::tcp_stream (HTTP) or an ssl_stream over it (HTTPS).
template <typename Stream>
class HttpSession : public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  template <typename... Args>
  HttpSession(const Metrics* metrics, tcp::socket socket, Args&... tls)
      : stream_(std::move(socket), tls...), metrics_(metrics) {}

  void Start() {
    Handshake(stream_, [self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return CloseSend(self->stream_);
      self->Read();
    });
  }

 private:
  void Read() {
    request_ = {};
    beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
    http::async_read(stream_, buffer_, request_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (ec) return CloseSend(stream_);
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(request_.version());
    response->set(http::field::server, "cotenantd");
    response->keep_alive(request_.keep_alive());
    std::string_view target(request_.target().data(), request_.target().size());
    target = target.substr(0, target.find('?'));
    bool known = target == "/healthz" || target == "/metrics";
    if (known && request_.method() != http::verb::get && request_.method() != http::verb::head) {
      response->result(http::status::method_not_allowed);
      response->set(http::field::allow, "GET, HEAD");
      response->set(http::field::content_type, "text/plain");
      response->body() = "method not allowed\n";
    } else if (target == "/healthz") {
      // Not accepting RPC connections, or failing background work (the audit writer
      // cannot write, the WAL cannot be synced), makes the server unhealthy until it
      // recovers.
      std::string not_accepting = metrics_->not_accepting();
      std::string failing = not_accepting.empty() ? BackgroundFaults::Process().Failing() : "";
      bool healthy = not_accepting.empty() && failing.empty();
      response->result(healthy ? http::status::ok : http::status::service_unavailable);
      response->set(http::field::content_type, "text/plain");
      response->body() = healthy                  ? "ok\n"
                         : !not_accepting.empty() ? "not accepting: " + not_accepting + "\n"
                                                  : "degraded: " + failing + "\n";
    } else if (target == "/metrics") {
      response->result(http::status::ok);
      response->set(http::field::content_type, "text/plain; version=0.0.4");
      response->body() = metrics_->Render();
    } else {
      response->result(http::status::not_found);
      response->set(http::field::content_type, "text/plain");
      response->body() = "not found\n";
    }
    response->prepare_payload();
    if (request_.method() == http::verb::head) response->body().clear();
    http::async_write(stream_, *response,
                      [self = this->shared_from_this(), response](beast::error_code ec, size_t) {
                        if (ec || !response->keep_alive()) return CloseSend(self->stream_);
                        self->Read();
                      });
  }

  Stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  const Metrics* metrics_;
};

void Accept(std::shared_ptr<OpsHttpServer::State> state);

void StartSession(tcp::socket s, const OpsHttpServer::State& state) {
  if (state.tls) {
    std::make_shared<HttpSession<beast::ssl_stream<beast::tcp_stream>>>(state.metrics,
                                                                        std::move(s), *state.tls)
        ->Start();
  } else {
    std::make_shared<HttpSession<beast::tcp_stream>>(state.metrics, std::move(s))->Start();
  }
}

}  // namespace

// Accept loop; holds the state alive while the io_context runs. A failed accept is
// retried after a back-off, never at once (the listener stays readable, so an immediate
// retry would spin); out of descriptors, the reserved one is given up first.
namespace {
void TakeReserve(OpsHttpServer::State& state) {
  if (state.reserve_fd < 0) state.reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

bool OutOfDescriptors(const beast::error_code& ec) {
  return ec == boost::system::errc::too_many_files_open ||
         ec == boost::system::errc::too_many_files_open_in_system;
}

void Accept(std::shared_ptr<OpsHttpServer::State> state) {
  auto* raw = state.get();
  raw->acceptor.async_accept([state = std::move(state)](beast::error_code ec, tcp::socket s) mutable {
    if (ec == asio::error::operation_aborted || !state->acceptor.is_open()) return;
    if (!ec) {
      if (uint64_t streak = state->backoff.Succeeded()) {
        spdlog::info("ops http: accepting again after {} failed accept(s)", streak);
      }
      StartSession(std::move(s), *state);
      TakeReserve(*state);
      Accept(std::move(state));
      return;
    }
    if (OutOfDescriptors(ec) && state->reserve_fd >= 0) {
      ::close(state->reserve_fd);
      state->reserve_fd = -1;
      Accept(std::move(state));
      return;
    }
    state->metrics->connection_counters().accept_errors.fetch_add(1, std::memory_order_relaxed);
    uint64_t failures = 0;
    auto delay = state->backoff.Failed(&failures);
    if (failures > 0) {
      spdlog::warn("ops http: accept failed ({} time(s) since the last report): {}; retrying in {} ms",
                   failures, ec.message(), delay.count());
    }
    auto* timer = &state->retry;
    timer->expires_after(delay);
    timer->async_wait([state = std::move(state)](beast::error_code wait_ec) mutable {
      if (wait_ec || !state->acceptor.is_open()) return;
      TakeReserve(*state);
      Accept(std::move(state));
    });
  });
}
}  // namespace

OpsHttpServer::OpsHttpServer(Metrics* metrics) : metrics_(metrics) {}

OpsHttpServer::~OpsHttpServer() { Stop(); }

Status OpsHttpServer::EnableTls(const std::string& cert_path, const std::string& key_path) {
  auto tls = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
  beast::error_code ec;
  tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1,
                   ec);
  if (!ec) tls->use_certificate_chain_file(cert_path, ec);
  if (ec) return Status::InvalidArgument("HTTPS certificate " + cert_path + ": " + ec.message());
  tls->use_private_key_file(key_path, asio::ssl::context::pem, ec);
  if (ec) return Status::InvalidArgument("HTTPS key " + key_path + ": " + ec.message());
  tls_ = std::move(tls);
  return Status::OK();
}

Status OpsHttpServer::Start(const std::string& address) {
  std::string host;
  uint16_t port = 0;
  COTENANT_RETURN_IF_ERROR(SplitHostPort(address, &host, &port));
  beast::error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("address '" + address + "': " + ec.message());
  state_ = std::make_shared<State>();
  state_->metrics = metrics_;
  TakeReserve(*state_);
  state_->tls = tls_;
  tcp::endpoint endpoint(ip, port);
  auto& acceptor = state_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    state_.reset();
    return Status::Internal("cannot listen for HTTP on " + address + ": " + ec.message());
  }
  port_ = acceptor.local_endpoint().port();
  Accept(state_);
  thread_ = std::thread([state = state_] {
    try {
      state->io.run();
    } catch (const std::exception& e) {
      spdlog::error("ops http: {}", e.what());
    }
  });
  return Status::OK();
}

void OpsHttpServer::Stop() {
  if (!state_) return;
  state_->io.stop();
  if (thread_.joinable()) thread_.join();
  // The io thread is gone: close the listener here, let the aborted accept handler run
  // (it holds a reference to the state), then destroying the io_context destroys every
  // pending session handler and with it every connection.
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  state_->retry.cancel();
  state_->io.restart();
  state_->io.poll();
  state_.reset();
}

}  // namespace cotenant::rpc
