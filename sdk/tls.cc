// The client side of TLS: the kj::TlsContext a Client's connection is wrapped in, made
// from ClientOptions (client.h).

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <kj/debug.h>

#include "loop.h"

namespace cotenant {
namespace internal {
namespace {

std::string readPem(const char* option, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw Error(ErrorCode::InvalidArgument, std::string(option) + ": cannot read '" + path +
                                                "': " + std::strerror(errno));
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string pem = ss.str();
  if (pem.empty()) throw Error(ErrorCode::InvalidArgument, std::string(option) + ": '" + path + "' is empty");
  return pem;
}

// Runs a kj parse of `path` and turns its failure into InvalidArgument.
template <typename T>
T parsePem(const char* option, const std::string& path, const char* what) {
  std::string pem = readPem(option, path);
  try {
    return T(kj::StringPtr(pem.c_str()));
  } catch (const kj::Exception& e) {
    throw Error(ErrorCode::InvalidArgument, std::string(option) + ": '" + path + "' is not " +
                                                what + ": " + e.getDescription().cStr());
  }
}

}  // namespace

std::shared_ptr<kj::TlsContext> makeTlsContext(const ClientOptions& options,
                                               const std::string& address,
                                               std::string* serverName) {
  if (options.tlsCert.empty() != options.tlsKey.empty()) {
    throw Error(ErrorCode::InvalidArgument, "tlsCert and tlsKey must be given together");
  }
  *serverName = options.tlsServerName;
  if (serverName->empty()) {
    // checkAddress has passed: "host:port" or "[v6]:port".
    *serverName = address.substr(0, address.rfind(':'));
    if (serverName->front() == '[') *serverName = serverName->substr(1, serverName->size() - 2);
  }
  std::vector<kj::TlsCertificate> cas;
  if (!options.tlsCa.empty()) {
    cas.push_back(parsePem<kj::TlsCertificate>("tlsCa", options.tlsCa, "a PEM certificate"));
  }
  kj::TlsContext::Options o;
  o.minVersion = kj::TlsVersion::TLS_1_2;
  o.useSystemTrustStore = cas.empty();
  o.trustedCertificates = kj::ArrayPtr<const kj::TlsCertificate>(cas.data(), cas.size());
  kj::Maybe<kj::TlsKeypair> keypair;
  if (!options.tlsCert.empty()) {
    auto cert = parsePem<kj::TlsCertificate>("tlsCert", options.tlsCert, "a PEM certificate");
    auto key = parsePem<kj::TlsPrivateKey>("tlsKey", options.tlsKey,
                                           "an unencrypted PEM private key");
    keypair = kj::TlsKeypair{kj::mv(key), kj::mv(cert)};
    o.defaultKeypair = KJ_ASSERT_NONNULL(keypair);
  }
  try {
    // The context takes its own references to the certificates and key.
    return std::make_shared<kj::TlsContext>(kj::mv(o));
  } catch (const kj::Exception& e) {
    throw Error(ErrorCode::InvalidArgument,
                std::string("TLS options cannot be used: ") + e.getDescription().cStr());
  }
}

}  // namespace internal
}  // namespace cotenant
