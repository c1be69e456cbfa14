// Search continuation tokens as clients see them: the store's token of the next page,
// sealed with a MAC (common/mac.h, under the installation secret) that binds it to the
// query and to the decision it was issued under. Internal to rpc/.
//
// The binding covers the caller (its tenant and user), the tenant searched, the path and
// principal the gate chose, the object and the scope the principal has of it (row filter,
// field allow-list), and the query (object, criteria, sort keys). A token replayed by
// another tenant or user, under another scope or for another query, or altered in any
// byte, is refused with one InvalidArgument message, whichever of these it was. Offset and
// page size are not bound: they may change from one page to the next.
//
// Wire format: u8 version=1 | store token | 32-byte MAC of ("search-token/1", binding,
// store token).
//
// Thread safety: plain functions of their arguments.

#ifndef COTENANT_RPC_SEARCH_TOKEN_H_
#define COTENANT_RPC_SEARCH_TOKEN_H_

#include <string>
#include <string_view>

#include "common/mac.h"
#include "common/status.h"
#include "storage/storage.h"

namespace cotenant::rpc {

// What a token is bound to: `scope_fingerprint` (sharing::Decision::ScopeFingerprint())
// and the query of `req`.
std::string TokenBinding(std::string_view scope_fingerprint, const storage::SearchRequest& req);

// The client's token for `store_token` under `binding`. Internal when no MAC can be made.
[[nodiscard]] Status SealToken(const Mac& mac, std::string_view binding,
                               std::string_view store_token, std::string* token);

// The store's token inside `token`, when `token` was sealed under `binding`; else
// InvalidArgument "continuation token does not belong to this query".
[[nodiscard]] Status OpenToken(const Mac& mac, std::string_view binding, std::string_view token,
                               std::string* store_token);

// The answer to a token this server did not issue for this query.
Status TokenRefused();

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_SEARCH_TOKEN_H_
