#include "rpc/tls.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <kj/compat/tls.h>
#include <kj/debug.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace cotenant::rpc {
namespace {

constexpr auto kHandshakeTimeout = 10 * kj::SECONDS;

// Runs `make` (a kj constructor that parses PEM or loads into OpenSSL) and turns its
// exception into InvalidArgument "<flag> <path>: <what>: <OpenSSL's reason>".
template <typename Make>
Status Try(const std::string& flag, const std::string& path, const std::string& what,
           Make&& make) {
  try {
    make();
    return Status::OK();
  } catch (const kj::Exception& e) {
    return Status::InvalidArgument(flag + " " + path + ": " + what + ": " +
                                   e.getDescription().cStr());
  }
}

// Whether the first certificate of cert_pem is the public half of key_pem. OpenSSL would
// otherwise drop a mismatched key silently and fail every handshake later.
bool KeyMatchesCert(const std::string& cert_pem, const std::string& key_pem) {
  BIO* cb = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  BIO* kb = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  X509* cert = cb ? PEM_read_bio_X509(cb, nullptr, nullptr, nullptr) : nullptr;
  EVP_PKEY* key = kb ? PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr) : nullptr;
  bool match = cert != nullptr && key != nullptr && X509_check_private_key(cert, key) == 1;
  EVP_PKEY_free(key);
  X509_free(cert);
  BIO_free(kb);
  BIO_free(cb);
  return match;
}

}  // namespace

Status ReadPemFile(const std::string& flag, const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument(flag + ": cannot read " + path + ": " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::InvalidArgument(flag + ": cannot read " + path);
  *out = ss.str();
  if (out->empty()) return Status::InvalidArgument(flag + ": " + path + " is empty");
  return Status::OK();
}

RpcTls::~RpcTls() = default;

Status RpcTls::Load(const TlsFiles& files, std::unique_ptr<RpcTls>* out) {
  if (files.cert.empty() || files.key.empty()) {
    return Status::InvalidArgument("--tls-cert and --tls-key must be given together");
  }
  std::string cert_pem, key_pem, ca_pem;
  COTENANT_RETURN_IF_ERROR(ReadPemFile("--tls-cert", files.cert, &cert_pem));
  COTENANT_RETURN_IF_ERROR(ReadPemFile("--tls-key", files.key, &key_pem));
  if (!files.client_ca.empty()) {
    COTENANT_RETURN_IF_ERROR(ReadPemFile("--tls-client-ca", files.client_ca, &ca_pem));
  }

  // kj::TlsKeypair has no default constructor: parse into Maybes first.
  kj::Maybe<kj::TlsCertificate> cert;
  kj::Maybe<kj::TlsPrivateKey> key;
  std::vector<kj::TlsCertificate> cas;
  COTENANT_RETURN_IF_ERROR(Try("--tls-cert", files.cert, "not a PEM certificate",
                               [&] { cert = kj::TlsCertificate(cert_pem.c_str()); }));
  COTENANT_RETURN_IF_ERROR(Try("--tls-key", files.key, "not an unencrypted PEM private key",
                               [&] { key = kj::TlsPrivateKey(key_pem.c_str()); }));
  if (!ca_pem.empty()) {
    COTENANT_RETURN_IF_ERROR(Try("--tls-client-ca", files.client_ca, "not a PEM certificate",
                                 [&] { cas.emplace_back(ca_pem.c_str()); }));
  }
  if (!KeyMatchesCert(cert_pem, key_pem)) {
    return Status::InvalidArgument("--tls-key " + files.key + " is not the key of --tls-cert " +
                                   files.cert);
  }
  kj::TlsKeypair keypair{kj::mv(KJ_ASSERT_NONNULL(key)), kj::mv(KJ_ASSERT_NONNULL(cert))};

  kj::TlsContext::Options options;
  options.minVersion = kj::TlsVersion::TLS_1_2;
  options.defaultKeypair = keypair;
  // Only the configured CA vouches for clients, never the system's public CAs.
  options.useSystemTrustStore = false;
  options.verifyClients = !cas.empty();
  options.trustedCertificates = kj::ArrayPtr<const kj::TlsCertificate>(cas.data(), cas.size());

  std::unique_ptr<RpcTls> tls(new RpcTls());
  COTENANT_RETURN_IF_ERROR(Try("--tls-cert", files.cert, "cannot be used",
                               [&] { tls->context_ = std::make_unique<kj::TlsContext>(options); }));
  *out = std::move(tls);
  return Status::OK();
}

kj::Promise<kj::Own<kj::AsyncIoStream>> RpcTls::Secure(kj::Own<kj::AsyncIoStream> stream,
                                                       kj::Timer& timer) {
  return context_->wrapServer(kj::mv(stream))
      .exclusiveJoin(timer.afterDelay(kHandshakeTimeout)
                         .then([]() -> kj::Own<kj::AsyncIoStream> {
                           kj::throwFatalException(KJ_EXCEPTION(DISCONNECTED, "TLS handshake not finished within 10 s"));
                         }));
}

}  // namespace cotenant::rpc
