#include "rpc/search_token.h"

#include "storage/key_encoding.h"

namespace cotenant::rpc {
namespace {

constexpr char kTokenVersion = 1;
constexpr std::string_view kMacPurpose = "search-token/1";

void AppendPart(std::string* out, std::string_view v) {
  out->append(std::to_string(v.size()));
  out->push_back(':');
  out->append(v);
}

}  // namespace

Status TokenRefused() {
  return Status::InvalidArgument("continuation token does not belong to this query");
}

std::string TokenBinding(std::string_view scope_fingerprint, const storage::SearchRequest& req) {
  std::string out;
  AppendPart(&out, scope_fingerprint);
  AppendPart(&out, req.object);
  AppendPart(&out, req.criteria);
  AppendPart(&out, std::to_string(req.parameters.size()));
  for (const auto& v : req.parameters) AppendPart(&out, storage::TypedKey(v));
  AppendPart(&out, std::to_string(req.sort.size()));
  for (const auto& k : req.sort) {
    AppendPart(&out, k.field);
    AppendPart(&out, k.descending ? "desc" : "asc");
  }
  return out;
}

Status SealToken(const Mac& mac, std::string_view binding, std::string_view store_token,
                 std::string* token) {
  std::string tag;
  if (!mac.Sign({kMacPurpose, binding, store_token}, &tag)) {
    return Status::Internal("cannot authenticate a continuation token");
  }
  token->clear();
  token->reserve(1 + store_token.size() + tag.size());
  token->push_back(kTokenVersion);
  token->append(store_token);
  token->append(tag);
  return Status::OK();
}

Status OpenToken(const Mac& mac, std::string_view binding, std::string_view token,
                 std::string* store_token) {
  if (token.size() < 1 + Mac::kTagBytes || token[0] != kTokenVersion) return TokenRefused();
  std::string_view inner = token.substr(1, token.size() - 1 - Mac::kTagBytes);
  if (!mac.Verify(token.substr(token.size() - Mac::kTagBytes), {kMacPurpose, binding, inner})) {
    return TokenRefused();
  }
  store_token->assign(inner);
  return Status::OK();
}

}  // namespace cotenant::rpc
