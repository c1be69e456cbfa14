// TLS for the RPC listener: the server's certificate and key, and optionally the CA that
// client certificates must be signed by (mutual TLS). Internal to rpc/.
//
// Each accepted connection is wrapped on its own (Secure), so a client that fails the
// handshake, or never finishes it, ends only its own connection: the accept loop and
// every other connection go on.
//
// Threads: made and used on the server's event-loop thread only (it owns a kj::TlsContext).

#ifndef COTENANT_RPC_TLS_H_
#define COTENANT_RPC_TLS_H_

#include <memory>
#include <string>

#include <kj/async-io.h>
#include <kj/timer.h>

#include "common/status.h"

namespace kj {
class TlsContext;
}

namespace cotenant::rpc {

// PEM files. cert and key are both set (TLS on) or both empty (plaintext).
struct TlsFiles {
  std::string cert;       // server certificate, optionally followed by its chain
  std::string key;        // the certificate's private key (unencrypted)
  std::string client_ca;  // CA certificates client certificates must chain to; empty = none asked
  bool enabled() const { return !cert.empty() || !key.empty(); }
};

// Reads a whole file into *out. InvalidArgument naming `flag` and the path when it cannot.
Status ReadPemFile(const std::string& flag, const std::string& path, std::string* out);

class RpcTls {
 public:
  // Loads and checks the files (readable, PEM, key matching the certificate).
  // InvalidArgument naming the flag and file otherwise.
  // REQUIRES: files.enabled(); called on the event-loop thread that will use it.
  static Status Load(const TlsFiles& files, std::unique_ptr<RpcTls>* out);
  ~RpcTls();

  // Runs the server side of the handshake on an accepted stream. Fails (and the stream is
  // dropped) when the client does not speak TLS, offers no certificate or one not signed by
  // the client CA (with client_ca set), or has not finished within 10 s.
  kj::Promise<kj::Own<kj::AsyncIoStream>> Secure(kj::Own<kj::AsyncIoStream> stream,
                                                 kj::Timer& timer);

 private:
  RpcTls() = default;
  std::unique_ptr<kj::TlsContext> context_;
};

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_TLS_H_
