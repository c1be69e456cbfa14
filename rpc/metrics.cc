#include "rpc/metrics.h"

#include <fmt/format.h>

namespace cotenant::rpc {

std::string_view ApiName(Api api) {
  switch (api) {
    case Api::kLogin: return "login";
    case Api::kRecords: return "records";
    case Api::kAdmin: return "admin";
    case Api::kWhoami: return "whoami";
    case Api::kAddRecord: return "addRecord";
    case Api::kAddRecords: return "addRecords";
    case Api::kUpdateRecord: return "updateRecord";
    case Api::kDeleteRecord: return "deleteRecord";
    case Api::kGetRecord: return "getRecord";
    case Api::kSearchRecords: return "searchRecords";
    case Api::kCreateTenant: return "createTenant";
    case Api::kListTenants: return "listTenants";
    case Api::kDeleteTenant: return "deleteTenant";
    case Api::kCreateObject: return "createObject";
    case Api::kListObjects: return "listObjects";
    case Api::kCreateUser: return "createUser";
    case Api::kListUsers: return "listUsers";
    case Api::kDeleteUser: return "deleteUser";
    case Api::kCreateApiKey: return "createApiKey";
    case Api::kRevokeApiKey: return "revokeApiKey";
    case Api::kListApiKeys: return "listApiKeys";
    case Api::kCreateRole: return "createRole";
    case Api::kUpdateRole: return "updateRole";
    case Api::kDeleteRole: return "deleteRole";
    case Api::kListRoles: return "listRoles";
    case Api::kAddRoleMember: return "addRoleMember";
    case Api::kRemoveRoleMember: return "removeRoleMember";
    case Api::kCreatePolicy: return "createPolicy";
    case Api::kUpdatePolicy: return "updatePolicy";
    case Api::kDeletePolicy: return "deletePolicy";
    case Api::kListPolicies: return "listPolicies";
    case Api::kSetSetting: return "setSetting";
    case Api::kListSettings: return "listSettings";
    case Api::kQueryAudit: return "queryAudit";
    case Api::kUsage: return "usage";
    case Api::kCreatePermissionSet: return "createPermissionSet";
    case Api::kUpdatePermissionSet: return "updatePermissionSet";
    case Api::kDeletePermissionSet: return "deletePermissionSet";
    case Api::kListPermissionSets: return "listPermissionSets";
    case Api::kExplain: return "explain";
    case Api::kCount: break;
  }
  return "unknown";
}

ApiAccess AccessOf(Api api) {
  switch (api) {
    case Api::kLogin: return {"", ""};
    case Api::kRecords: return {"", ""};
    case Api::kAdmin: return {"", ""};
    case Api::kWhoami: return {"", ""};
    case Api::kAddRecord: return {"records", "POST"};
    case Api::kAddRecords: return {"records", "POST"};
    case Api::kUpdateRecord: return {"records", "PUT"};
    case Api::kDeleteRecord: return {"records", "DELETE"};
    case Api::kGetRecord: return {"records", "GET"};
    case Api::kSearchRecords: return {"records", "GET"};
    case Api::kCreateTenant: return {"admin/tenants", "POST"};
    case Api::kListTenants: return {"admin/tenants", "GET"};
    case Api::kDeleteTenant: return {"admin/tenants", "DELETE"};
    case Api::kCreateObject: return {"admin/objects", "POST"};
    case Api::kListObjects: return {"admin/objects", "GET"};
    case Api::kCreateUser: return {"admin/users", "POST"};
    case Api::kListUsers: return {"admin/users", "GET"};
    case Api::kDeleteUser: return {"admin/users", "DELETE"};
    case Api::kCreateApiKey: return {"admin/keys", "POST"};
    case Api::kRevokeApiKey: return {"admin/keys", "DELETE"};
    case Api::kListApiKeys: return {"admin/keys", "GET"};
    case Api::kCreateRole: return {"admin/roles", "POST"};
    case Api::kUpdateRole: return {"admin/roles", "PUT"};
    case Api::kDeleteRole: return {"admin/roles", "DELETE"};
    case Api::kListRoles: return {"admin/roles", "GET"};
    case Api::kAddRoleMember: return {"admin/memberships", "POST"};
    case Api::kRemoveRoleMember: return {"admin/memberships", "DELETE"};
    case Api::kCreatePolicy: return {"admin/policies", "POST"};
    case Api::kUpdatePolicy: return {"admin/policies", "PUT"};
    case Api::kDeletePolicy: return {"admin/policies", "DELETE"};
    case Api::kListPolicies: return {"admin/policies", "GET"};
    case Api::kSetSetting: return {"admin/settings", "PUT"};
    case Api::kListSettings: return {"admin/settings", "GET"};
    case Api::kQueryAudit: return {"admin/audit", "GET"};
    case Api::kUsage: return {"admin/usage", "GET"};
    case Api::kCreatePermissionSet: return {"admin/permissionsets", "POST"};
    case Api::kUpdatePermissionSet: return {"admin/permissionsets", "PUT"};
    case Api::kDeletePermissionSet: return {"admin/permissionsets", "DELETE"};
    case Api::kListPermissionSets: return {"admin/permissionsets", "GET"};
    case Api::kExplain: return {"admin/explain", "GET"};
    case Api::kCount: break;
  }
  return {"", ""};
}

std::optional<Api> ApiByName(std::string_view name) {
  for (int i = 0; i < static_cast<int>(Api::kCount); ++i) {
    if (ApiName(static_cast<Api>(i)) == name) return static_cast<Api>(i);
  }
  return std::nullopt;
}

void Metrics::Record(Api api, Status::Code outcome, double seconds) {
  auto& a = apis_[static_cast<size_t>(api)];
  a.outcomes[static_cast<size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b]) ++b;
  a.buckets[b].fetch_add(1, std::memory_order_relaxed);
  if (seconds < 0) seconds = 0;
  a.sum_nanos.fetch_add(static_cast<uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

uint64_t Metrics::requests(Api api, Status::Code outcome) const {
  return apis_[static_cast<size_t>(api)].outcomes[static_cast<size_t>(outcome)].load(
      std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  fmt::memory_buffer out;
  auto it = std::back_inserter(out);
  fmt::format_to(it, "# HELP cotenant_requests_total RPC calls by API and outcome.\n"
                     "# TYPE cotenant_requests_total counter\n");
  for (int i = 0; i < static_cast<int>(Api::kCount); ++i) {
    const auto& a = apis_[static_cast<size_t>(i)];
    for (int o = 0; o < kOutcomes; ++o) {
      fmt::format_to(it, "cotenant_requests_total{{api=\"{}\",outcome=\"{}\"}} {}\n",
                     ApiName(static_cast<Api>(i)), Status::CodeName(static_cast<Status::Code>(o)),
                     a.outcomes[static_cast<size_t>(o)].load(std::memory_order_relaxed));
    }
  }
  fmt::format_to(it, "# HELP cotenant_request_duration_seconds RPC call latency by API.\n"
                     "# TYPE cotenant_request_duration_seconds histogram\n");
  for (int i = 0; i < static_cast<int>(Api::kCount); ++i) {
    const auto& a = apis_[static_cast<size_t>(i)];
    std::string_view name = ApiName(static_cast<Api>(i));
    uint64_t cumulative = 0;
    for (size_t b = 0; b <= kBuckets.size(); ++b) {
      cumulative += a.buckets[b].load(std::memory_order_relaxed);
      if (b < kBuckets.size()) {
        fmt::format_to(it, "cotenant_request_duration_seconds_bucket{{api=\"{}\",le=\"{}\"}} {}\n",
                       name, kBuckets[b], cumulative);
      } else {
        fmt::format_to(it,
                       "cotenant_request_duration_seconds_bucket{{api=\"{}\",le=\"+Inf\"}} {}\n",
                       name, cumulative);
      }
    }
    fmt::format_to(it, "cotenant_request_duration_seconds_sum{{api=\"{}\"}} {:.9f}\n", name,
                   static_cast<double>(a.sum_nanos.load(std::memory_order_relaxed)) / 1e9);
    fmt::format_to(it, "cotenant_request_duration_seconds_count{{api=\"{}\"}} {}\n", name,
                   cumulative);
  }
  uint64_t block_cache = 0, memtables = 0;
  if (memory_source_) memory_source_(&block_cache, &memtables);
  fmt::format_to(it,
                 "# HELP cotenant_block_cache_bytes Bytes in the storage block cache.\n"
                 "# TYPE cotenant_block_cache_bytes gauge\n"
                 "cotenant_block_cache_bytes {}\n"
                 "# HELP cotenant_memtable_bytes Bytes in storage memtables.\n"
                 "# TYPE cotenant_memtable_bytes gauge\n"
                 "cotenant_memtable_bytes {}\n"
                 "# HELP cotenant_connections Open RPC connections.\n"
                 "# TYPE cotenant_connections gauge\n"
                 "cotenant_connections {}\n"
                 "# HELP cotenant_pool_queued_jobs Storage jobs waiting for or running on a pool thread.\n"
                 "# TYPE cotenant_pool_queued_jobs gauge\n"
                 "cotenant_pool_queued_jobs {}\n",
                 block_cache, memtables, connections(), queue_source_ ? queue_source_() : 0);
  std::string text = fmt::to_string(out);
  if (extra_source_) text += extra_source_();
  return text;
}

}  // namespace cotenant::rpc
