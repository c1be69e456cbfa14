#include "rpc/connections.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <utility>
#include <vector>

#include <capnp/message.h>
#include <capnp/rpc-twoparty.h>
#include <capnp/rpc.capnp.h>
#include <capnp/rpc.h>
#include <capnp/serialize-async.h>
#include <kj/debug.h>
#include <kj/io.h>
#include <spdlog/spdlog.h>

#include "rpc/tls.h"

namespace cotenant::rpc {
namespace {

// The standard framing allows at most this many segments (as capnp's own reader).
constexpr uint32_t kMaxSegments = 512;
// Room in the traversal limit for our own look at a message's capability table.
constexpr uint64_t kInspectWords = 64;

uint32_t Le32(const kj::byte* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

// What a connection's stream, its login capability and its charges share. A message
// may outlive its connection by a moment, so this is shared, not owned by one of them.
struct ConnState {
  bool logged_in = false;
  kj::Own<kj::PromiseFulfiller<void>> on_login;
  size_t held_bytes = 0;  // this connection's share of the in-flight budget
};


// No method takes capabilities from a client: a call (or a return) carrying more than a
// few is refused before the RPC system imports them.
void CheckCapabilities(capnp::MessageReader& reader, size_t max_caps) {
  auto message = reader.getRoot<capnp::rpc::Message>();
  size_t caps = 0;
  switch (message.which()) {
    case capnp::rpc::Message::CALL:
      caps = message.getCall().getParams().getCapTable().size();
      break;
    case capnp::rpc::Message::RETURN:
      if (message.getReturn().isResults()) {
        caps = message.getReturn().getResults().getCapTable().size();
      }
      break;
    default:
      break;
  }
  KJ_REQUIRE(caps <= max_caps,
             kj::str("message carries ", caps, " capabilities; at most ", max_caps,
                     " are accepted"));
}

}  // namespace

std::string PeerAddress(kj::AsyncIoStream& stream) {
  sockaddr_storage addr{};
  uint len = sizeof(addr);
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] {
                stream.getpeername(reinterpret_cast<sockaddr*>(&addr), &len);
              })) {
    return "unknown";
  }
  char buf[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&addr)->sin_addr, buf, sizeof(buf));
  } else if (addr.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&addr)->sin6_addr, buf, sizeof(buf));
  } else {
    return "local";
  }
  return buf;
}

// The in-flight budget, shared by every loop. A charge is released when the RPC system
// drops the message, on the connection's own loop; a waiter on another loop is woken
// through a cross-thread fulfiller.
// Charges are granted in arrival order: a message that does not fit waits in a FIFO, and
// each release grants the waiters at its head that now fit (one cross-thread wake-up each,
// none for those that must go on waiting). A waiter whose connection goes first is
// skipped, or gives back a grant it never used.
class ConnectionShare::Budget {
 public:
  Budget(size_t limit, Metrics* metrics) : limit_(limit), metrics_(metrics) {}

  // Resolves once `bytes` are charged to `state`'s connection. On the connection's loop.
  kj::Promise<void> Charge(size_t bytes, std::shared_ptr<ConnState> state) {
    std::unique_lock<std::mutex> lock(mu_);
    // A connection with calls in flight never waits: its own answers may depend on the
    // messages behind this one (a waiting connection holds nothing, so none deadlocks).
    // Otherwise nobody overtakes a waiter.
    if (state->held_bytes > 0 || used_ == 0 || (waiters_.empty() && used_ + bytes <= limit_)) {
      used_ += bytes;
      lock.unlock();
      Held(bytes, *state);
      return kj::READY_NOW;
    }
    auto ticket = std::make_shared<Ticket>();
    ticket->bytes = bytes;
    auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
    ticket->fulfiller = kj::mv(paf.fulfiller);
    waiters_.push_back(ticket);
    lock.unlock();
    return paf.promise
        .then([this, ticket, state = std::move(state)] {
          ticket->consumed = true;
          Held(ticket->bytes, *state);
        })
        .attach(kj::defer([this, ticket] {
          int waiting = kWaiting;
          if (ticket->state.compare_exchange_strong(waiting, kAbandoned)) return;  // skipped later
          if (!ticket->consumed) Give(ticket->bytes);  // granted as the connection went
        }));
  }

  // Gives back a charge of `state`'s connection. On the connection's loop.
  void Release(size_t bytes, ConnState& state) {
    state.held_bytes -= bytes;
    metrics_->connection_counters().inflight_request_bytes.fetch_sub(
        static_cast<int64_t>(bytes), std::memory_order_relaxed);
    Give(bytes);
  }

 private:
  static constexpr int kWaiting = 0, kGranted = 1, kAbandoned = 2;
  struct Ticket {
    size_t bytes = 0;
    std::atomic<int> state{kWaiting};
    bool consumed = false;  // the waiting connection's loop only
    kj::Own<kj::CrossThreadPromiseFulfiller<void>> fulfiller;
  };

  void Held(size_t bytes, ConnState& state) {
    state.held_bytes += bytes;  // the connection's loop only
    metrics_->connection_counters().inflight_request_bytes.fetch_add(
        static_cast<int64_t>(bytes), std::memory_order_relaxed);
  }

  // Takes `bytes` off the budget and grants the waiters at the head that now fit.
  void Give(size_t bytes) {
    std::vector<kj::Own<kj::CrossThreadPromiseFulfiller<void>>> granted;
    {
      std::lock_guard<std::mutex> lock(mu_);
      used_ -= bytes;
      while (!waiters_.empty()) {
        Ticket& head = *waiters_.front();
        if (head.state.load() == kWaiting && used_ != 0 && used_ + head.bytes > limit_) break;
        int waiting = kWaiting;
        if (head.state.compare_exchange_strong(waiting, kGranted)) {
          used_ += head.bytes;
          granted.push_back(kj::mv(head.fulfiller));
        }
        waiters_.pop_front();  // granted, or abandoned by its connection
      }
    }
    for (auto& f : granted) f->fulfill();
  }

  const size_t limit_;
  Metrics* const metrics_;
  std::mutex mu_;
  size_t used_ = 0;
  std::deque<std::shared_ptr<Ticket>> waiters_;
};

ConnectionShare::ConnectionShare(const ConnectionLimits& limits, Metrics* metrics)
    : limits_(limits),
      metrics_(metrics),
      budget_(std::make_unique<Budget>(limits.max_inflight_bytes, metrics)) {}

ConnectionShare::~ConnectionShare() = default;

// A connection's messages in the standard framing, read with this connection's current
// size limit (checked on the segment table, before the body is read or allocated),
// charged to the in-flight budget, and refused when they carry capabilities. Writes go
// straight to the stream.
class RpcListener::Messages final : public capnp::MessageStream {
 public:
  Messages(kj::AsyncIoStream& stream, RpcListener& owner, std::shared_ptr<ConnState> state,
           std::shared_ptr<const Outbox> outbox)
      : stream_(stream), writer_(stream), owner_(owner), state_(std::move(state)),
        outbox_(std::move(outbox)) {}

  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> tryReadMessage(
      kj::ArrayPtr<kj::AutoCloseFd>, capnp::ReaderOptions,
      kj::ArrayPtr<capnp::word>) override {
    return RoomToRead().then([this] { return ReadMessage(); });
  }

  kj::Promise<void> writeMessage(kj::ArrayPtr<const int> fds,
                                 kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments)
      override {
    size_t answer = outbox_->max_unsent_bytes() != 0 ? AnswerBytes(segments) : 0;
    return writer_.writeMessage(fds, segments).then([this, answer] { Wrote(answer); });
  }
  kj::Promise<void> writeMessages(
      kj::ArrayPtr<kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>>> messages) override {
    size_t answers = 0;
    if (outbox_->max_unsent_bytes() != 0) {
      for (auto& m : messages) answers += AnswerBytes(m);
    }
    return writer_.writeMessages(messages).then([this, answers] { Wrote(answers); });
  }
  kj::Maybe<int> getSendBufferSize() override { return writer_.getSendBufferSize(); }
  kj::Promise<void> end() override { return writer_.end(); }

 private:
  // Resolves when the connection's unwritten answers are within bounds: checked again
  // after each write, and every few milliseconds (the network counts a write as done a
  // moment after it told us).
  kj::Promise<void> RoomToRead() {
    if (!outbox_->full()) return kj::READY_NOW;
    if (!paused_) {
      paused_ = true;
      owner_.metrics_->connection_counters().unsent_pauses.fetch_add(1, std::memory_order_relaxed);
    }
    auto paf = kj::newPromiseAndFulfiller<void>();
    wrote_ = kj::mv(paf.fulfiller);
    return paf.promise.exclusiveJoin(owner_.timer_.afterDelay(10 * kj::MILLISECONDS))
        .then([this] { return RoomToRead(); });
  }
  // The size of an outgoing message when it is an answer (an RPC Return), else 0.
  static size_t AnswerBytes(kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) {
    size_t words = 0;
    for (auto& s : segments) words += s.size();
    capnp::ReaderOptions options;
    options.traversalLimitInWords = words + kInspectWords;
    capnp::SegmentArrayMessageReader reader(segments, options);
    bool answer = false;
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] {
                  answer = reader.getRoot<capnp::rpc::Message>().isReturn();
                })) {
      return 0;
    }
    return answer ? words * sizeof(capnp::word) : 0;
  }
  void Wrote(size_t answer_bytes) {
    outbox_->Written(answer_bytes);
    if (wrote_ && wrote_->isWaiting()) wrote_->fulfill();
    if (paused_ && !outbox_->full()) paused_ = false;
  }

  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> ReadMessage() {
    return stream_.tryRead(first_, sizeof(first_), sizeof(first_))
        .then([this](size_t n) -> kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> {
          if (n == 0) return kj::Maybe<capnp::MessageReaderAndFds>(nullptr);
          KJ_REQUIRE(n == sizeof(first_), "connection closed inside a message header");
          uint32_t count = Le32(first_) + 1u;  // 0 when the field overflowed
          KJ_REQUIRE(count >= 1 && count <= kMaxSegments,
                     kj::str("message has too many segments (", Le32(first_), ")"));
          auto sizes = kj::heapArray<uint32_t>(count);
          sizes[0] = Le32(first_ + 4);
          if (count == 1) return ReadBody(kj::mv(sizes));
          auto rest = kj::heapArray<kj::byte>((count & ~1u) * 4);
          auto read = stream_.read(rest.begin(), rest.size());
          return read.then([this, sizes = kj::mv(sizes), rest = kj::mv(rest)]() mutable {
            for (size_t i = 1; i < sizes.size(); ++i) sizes[i] = Le32(rest.begin() + 4 * (i - 1));
            return ReadBody(kj::mv(sizes));
          });
        });
  }

  kj::Promise<kj::Maybe<capnp::MessageReaderAndFds>> ReadBody(kj::Array<uint32_t> sizes) {
    uint64_t words = 0;
    for (uint32_t s : sizes) words += s;
    const ConnectionLimits& limits = owner_.limits_;
    size_t limit = state_->logged_in ? limits.max_message_bytes
                                     : limits.max_message_bytes_before_login;
    uint64_t bytes = words * sizeof(capnp::word);
    KJ_REQUIRE(bytes <= limit,
               kj::str("message of ", bytes, " bytes is over the limit of ", limit, " bytes",
                       state_->logged_in ? "" : " before login"));
    size_t charged = static_cast<size_t>(bytes);
    return owner_.share_.budget_->Charge(charged, state_)
        .then([this, charged, words, sizes = kj::mv(sizes)]() mutable {
          // From here the charge belongs to the reader built below (or is released if the
          // read fails).
          ConnectionShare::Budget* budget = owner_.share_.budget_.get();
          auto release = kj::defer([budget, charged, state = state_] {
            budget->Release(charged, *state);
          });
          auto data = kj::heapArray<capnp::word>(words);
          kj::Promise<void> read = words == 0
              ? kj::Promise<void>(kj::READY_NOW)
              : stream_.read(data.begin(), words * sizeof(capnp::word));
          return read.then([this, words, sizes = kj::mv(sizes), data = kj::mv(data),
                            release = kj::mv(release)]() mutable
                           -> kj::Maybe<capnp::MessageReaderAndFds> {
            auto segments = kj::heapArray<kj::ArrayPtr<const capnp::word>>(sizes.size());
            size_t offset = 0;
            for (size_t i = 0; i < sizes.size(); ++i) {
              segments[i] = data.slice(offset, offset + sizes[i]);
              offset += sizes[i];
            }
            capnp::ReaderOptions options;
            options.traversalLimitInWords = words + kInspectWords;
            kj::Own<capnp::MessageReader> reader =
                kj::heap<capnp::SegmentArrayMessageReader>(segments.asPtr(), options)
                    .attach(kj::mv(segments), kj::mv(data), kj::mv(release));
            CheckCapabilities(*reader, owner_.limits_.max_caps_per_message);
            return capnp::MessageReaderAndFds{kj::mv(reader), nullptr};
          });
        });
  }

  kj::AsyncIoStream& stream_;
  capnp::AsyncIoMessageStream writer_;
  RpcListener& owner_;
  std::shared_ptr<ConnState> state_;
  std::shared_ptr<const Outbox> outbox_;
  kj::Own<kj::PromiseFulfiller<void>> wrote_;  // a paused read, woken by the next write
  bool paused_ = false;                        // counted once per pause
  kj::byte first_[8];  // segment count and first segment size of the message being read
};

// One place in the connection caps: taken when a connection is accepted (before its TLS
// handshake, if any), given back when it closes.
class RpcListener::Slot {
 public:
  // Which cap refused a connection, and how full it was.
  struct Refusal {
    enum class Cap { kNone, kTotal, kPerPeer } cap = Cap::kNone;
    size_t open = 0;
    std::string Describe() const {
      return cap == Cap::kTotal ? std::to_string(open) + " open (--max-connections)"
                                : std::to_string(open) + " open from it (--max-connections-per-peer)";
    }
  };
  // Takes a place (cap kNone), or answers which cap has none.
  static Refusal Take(ConnectionShare& share, const std::string& peer) {
    std::lock_guard<std::mutex> lock(share.mu_);
    if (share.open_ >= share.limits_.max_connections) return {Refusal::Cap::kTotal, share.open_};
    auto it = share.per_peer_.find(peer);
    if (it != share.per_peer_.end() && it->second >= share.limits_.max_connections_per_peer) {
      return {Refusal::Cap::kPerPeer, it->second};
    }
    ++share.open_;
    ++share.per_peer_[peer];
    return {};
  }
  // REQUIRES: Take(share, peer) took a place.
  Slot(ConnectionShare& share, std::string peer) : share_(share), peer_(std::move(peer)) {}
  ~Slot() {
    std::lock_guard<std::mutex> lock(share_.mu_);
    --share_.open_;
    auto it = share_.per_peer_.find(peer_);
    if (it != share_.per_peer_.end() && --it->second == 0) share_.per_peer_.erase(it);
  }
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

  const std::string& peer() const { return peer_; }

 private:
  ConnectionShare& share_;
  std::string peer_;
};

class RpcListener::Connection {
 public:
  Connection(RpcListener& owner, kj::Own<kj::AsyncIoStream> stream, kj::Own<Slot> slot)
      : owner_(owner),
        slot_(kj::mv(slot)),
        peer_(slot_->peer()),
        state_(std::make_shared<ConnState>()),
        outbox_(std::make_shared<Outbox>(owner.limits_.max_unsent_bytes)),
        stream_(kj::mv(stream)),
        messages_(*stream_, owner, state_, outbox_),
        network_(messages_, capnp::rpc::twoparty::Side::SERVER, SendOptions(owner.limits_)),
        rpc_(capnp::makeRpcServer(network_, Bootstrap(owner.ctx_, peer_, state_, outbox_))) {
    outbox_->Attach([network = &network_] { return network->getCurrentQueueSize(); });
    // Bounds the parameters of calls in flight on this connection: beyond it the server
    // stops reading from the client until answers go out.
    rpc_.setFlowLimit(owner.limits_.max_message_bytes / sizeof(capnp::word));
    owner_.metrics_->ConnectionOpened(owner_.loop_);
  }

  ~Connection() {
    outbox_->Detach();  // capabilities of this connection may live a moment longer
    owner_.metrics_->ConnectionClosed();
  }

  // Resolves when the client disconnects, or when it has not logged in in time.
  kj::Promise<void> Run() {
    auto paf = kj::newPromiseAndFulfiller<void>();
    state_->on_login = kj::mv(paf.fulfiller);
    int ms = owner_.limits_.login_timeout_ms;
    auto deadline =
        paf.promise.then([] { return false; })
            .exclusiveJoin(owner_.timer_.afterDelay(ms * kj::MILLISECONDS).then([] { return true; }))
            .then([this, ms](bool timed_out) -> kj::Promise<void> {
              if (!timed_out) return kj::NEVER_DONE;
              owner_.metrics_->connection_counters().login_timeouts.fetch_add(
                  1, std::memory_order_relaxed);
              spdlog::info("closing connection from {}: no login within {} ms", peer_, ms);
              return kj::READY_NOW;
            });
    return network_.onDisconnect().exclusiveJoin(kj::mv(deadline));
  }

 private:
  // The vat network checks outgoing messages against these options' traversal limit:
  // an answer may be as large as the largest message a client may send.
  static capnp::ReaderOptions SendOptions(const ConnectionLimits& limits) {
    capnp::ReaderOptions options;
    options.traversalLimitInWords = limits.max_message_bytes / sizeof(capnp::word);
    return options;
  }

  static capnp::Capability::Client Bootstrap(const ServiceContext& ctx, const std::string& peer,
                                             std::shared_ptr<ConnState> state,
                                             std::shared_ptr<const Outbox> outbox) {
    return kj::heap<CotenantImpl>(
        ctx, peer,
        [state = std::move(state)] {
          state->logged_in = true;
          if (state->on_login && state->on_login->isWaiting()) state->on_login->fulfill();
        },
        std::move(outbox));
  }

  RpcListener& owner_;
  kj::Own<Slot> slot_;
  std::string peer_;
  std::shared_ptr<ConnState> state_;
  std::shared_ptr<Outbox> outbox_;
  kj::Own<kj::AsyncIoStream> stream_;
  Messages messages_;
  capnp::TwoPartyVatNetwork network_;
  capnp::RpcSystem<capnp::rpc::twoparty::VatId> rpc_;
};

void RpcListener::Errors::taskFailed(kj::Exception&& e) {
  // A client that sent a bad or oversized message, or vanished: only its connection ends.
  spdlog::info("connection closed with error: {}", e.getDescription().cStr());
}

RpcListener::RpcListener(kj::ConnectionReceiver* listener, kj::LowLevelAsyncIoProvider& io,
                         kj::Timer& timer, const ServiceContext& ctx, ConnectionShare& share,
                         size_t loop, RpcTls* tls)
    : listener_(listener),
      io_(io),
      timer_(timer),
      ctx_(ctx),
      share_(share),
      limits_(share.limits_),
      metrics_(share.metrics_),
      loop_(loop),
      tls_(tls),
      connections_(errors_) {
  if (listener_ == nullptr) {
    inbox_task_ = ServeInbox().eagerlyEvaluate([](kj::Exception&& e) {
      spdlog::error("an RPC event loop stopped taking connections: {}", e.getDescription().cStr());
    });
  }
}

RpcListener::~RpcListener() {
  std::lock_guard<std::mutex> lock(inbox_mu_);
  inbox_closed_ = true;  // sockets posted from now on close at once
}

void RpcListener::Post(kj::AutoCloseFd fd) {
  kj::Own<kj::CrossThreadPromiseFulfiller<void>> wake;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    if (inbox_closed_) return;
    inbox_.push_back(kj::mv(fd));
    wake = kj::mv(inbox_wake_);
  }
  if (wake) wake->fulfill();
}

kj::Promise<void> RpcListener::ServeInbox() {
  std::vector<kj::AutoCloseFd> arrived;
  kj::Promise<void> next = nullptr;
  {
    std::lock_guard<std::mutex> lock(inbox_mu_);
    arrived.swap(inbox_);
    if (arrived.empty()) {
      auto paf = kj::newPromiseAndCrossThreadFulfiller<void>();
      inbox_wake_ = kj::mv(paf.fulfiller);
      next = kj::mv(paf.promise);
    }
  }
  for (auto& fd : arrived) {
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] {
                  Admit(io_.wrapSocketFd(kj::mv(fd), kj::LowLevelAsyncIoProvider::ALREADY_CLOEXEC |
                                                         kj::LowLevelAsyncIoProvider::ALREADY_NONBLOCK));
                })) {
      spdlog::warn("cannot set up a handed-over connection: {}", e->getDescription().cStr());
    }
  }
  if (!arrived.empty()) next = kj::evalLater([] {});  // let this loop turn between batches
  return next.then([this] { return ServeInbox(); });
}

kj::Promise<void> RpcListener::Accept() {
  // KJ's accept() throws at once for an error it does not retry itself (EMFILE, ENFILE,
  // ENOMEM); that must reach the back-off, not end the loop. When it does not throw, the
  // accept either succeeded or is waiting for a client: either way the listener works.
  kj::Maybe<kj::Promise<kj::Own<kj::AsyncIoStream>>> pending;
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] { pending = listener_->accept(); })) {
    return BackOff(kj::mv(*e)).then([this] { return Accept(); });
  }
  Recovered();
  return KJ_ASSERT_NONNULL(pending)
      .then(
          [this](kj::Own<kj::AsyncIoStream> stream) -> kj::Promise<void> {
            Recovered();
            KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] { Dispatch(kj::mv(stream)); })) {
              spdlog::warn("cannot set up an accepted connection: {}", e->getDescription().cStr());
            }
            return kj::READY_NOW;
          },
          [this](kj::Exception&& e) { return BackOff(kj::mv(e)); })
      .then([this] { return Accept(); });
}

kj::Promise<void> RpcListener::BackOff(kj::Exception&& e) {
  std::string reason = e.getDescription().cStr();
  metrics_->connection_counters().accept_errors.fetch_add(1, std::memory_order_relaxed);
  metrics_->SetNotAccepting(reason);
  uint64_t failures = 0;
  auto delay = backoff_.Failed(&failures);
  if (failures > 0) {
    spdlog::warn("accept failed ({} time(s) since the last report): {}; retrying in {} ms",
                 failures, reason, delay.count());
  }
  return timer_.afterDelay(delay.count() * kj::MILLISECONDS);
}

void RpcListener::Recovered() {
  if (uint64_t streak = backoff_.Succeeded()) {
    metrics_->SetNotAccepting("");
    spdlog::info("accepting connections again after {} failed accept(s)", streak);
  }
}

void RpcListener::Dispatch(kj::Own<kj::AsyncIoStream> stream) {
  size_t turn = next_peer_;
  next_peer_ = (next_peer_ + 1) % (peers_.size() + 1);
  if (turn == 0) return Admit(kj::mv(stream));
  // The socket moves to the other loop as a descriptor: a stream belongs to its loop. When
  // there is no descriptor to spare (dup fails: out of them), this loop serves it.
  int fd = -1;
  KJ_IF_MAYBE(own, stream->getFd()) { fd = ::fcntl(*own, F_DUPFD_CLOEXEC, 0); }
  if (fd < 0) return Admit(kj::mv(stream));
  stream = nullptr;  // closes this loop's descriptor; the connection lives on in `fd`
  peers_[turn - 1]->Post(kj::AutoCloseFd(fd));
}

void RpcListener::Admit(kj::Own<kj::AsyncIoStream> stream) {
  std::string peer = PeerAddress(*stream);
  auto& counters = metrics_->connection_counters();
  // The slot counts from here, so a connection still in its TLS handshake counts
  // against both caps too. Dropping the stream closes the socket at once.
  Slot::Refusal full = Slot::Take(share_, peer);
  if (full.cap != Slot::Refusal::Cap::kNone) {
    (full.cap == Slot::Refusal::Cap::kTotal ? counters.refused_max_connections : counters.refused_per_peer)
        .fetch_add(1, std::memory_order_relaxed);
    spdlog::debug("refused a connection from {}: {}", peer, full.Describe());
    return;
  }
  auto slot = kj::heap<Slot>(share_, std::move(peer));
  if (tls_ != nullptr) {
    // The connection exists once the handshake is done; a failed one ends in errors_
    // like any other broken connection.
    connections_.add(tls_->Secure(kj::mv(stream), timer_)
                         .then([this, slot = kj::mv(slot)](kj::Own<kj::AsyncIoStream> secure) mutable {
                           auto conn = kj::heap<Connection>(*this, kj::mv(secure), kj::mv(slot));
                           auto done = conn->Run();
                           return done.attach(kj::mv(conn));
                         }));
    return;
  }
  auto conn = kj::heap<Connection>(*this, kj::mv(stream), kj::mv(slot));
  auto done = conn->Run();
  connections_.add(done.attach(kj::mv(conn)));
}

}  // namespace cotenant::rpc
