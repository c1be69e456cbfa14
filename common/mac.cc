#include "common/mac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdint>
#include <memory>

namespace cotenant {
namespace {

// Fetched once; an EVP_MAC is reference-counted and safe to share between threads.
EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

struct CtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

}  // namespace

Mac::Mac(std::string key) : key_(std::move(key)) {}

bool Mac::Sign(std::initializer_list<std::string_view> parts, std::string* tag) const {
  tag->clear();
  EVP_MAC* alg = HmacAlgorithm();
  if (alg == nullptr || key_.empty()) return false;
  std::unique_ptr<EVP_MAC_CTX, CtxFree> ctx(EVP_MAC_CTX_new(alg));
  if (!ctx) return false;
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key_.data()), key_.size(),
                   params) != 1) {
    return false;
  }
  for (std::string_view part : parts) {
    unsigned char len[8];
    const uint64_t n = part.size();
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>((n >> (8 * i)) & 0xff);
    if (EVP_MAC_update(ctx.get(), len, sizeof(len)) != 1 ||
        EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(part.data()),
                       part.size()) != 1) {
      return false;
    }
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t out_len = 0;
  if (EVP_MAC_final(ctx.get(), out, &out_len, sizeof(out)) != 1 || out_len != kTagBytes) {
    return false;
  }
  tag->assign(reinterpret_cast<const char*>(out), out_len);
  return true;
}

bool Mac::Verify(std::string_view tag, std::initializer_list<std::string_view> parts) const {
  if (tag.size() != kTagBytes) return false;
  std::string expected;
  if (!Sign(parts, &expected)) return false;
  return CRYPTO_memcmp(expected.data(), tag.data(), kTagBytes) == 0;
}

}  // namespace cotenant
