// What the client does with a call when its connection is lost (loop.h, ClientCore::run).
// Internal to the library (not installed).
//
// Every call the SDK makes is named by a Call, and one table (failover.cc) says whether it
// only reads. When the connection fails under a call (the server went away: a reset, an
// end of stream, a refused reconnection), the client logs in again to the next address
// of its list that answers, and then:
//   - a read is sent once more on the new connection, and its answer is the caller's;
//   - a write that may have reached the lost server answers Unavailable, saying that its
//     outcome is unknown, and is never sent again (it may have been applied);
//   - a write made once the connection was already known to be lost (it was certainly not
//     sent) goes on the new connection.

#ifndef COTENANT_SDK_FAILOVER_H_
#define COTENANT_SDK_FAILOVER_H_

#include <cstdint>
#include <string>

#include "cotenant/client.h"

namespace cotenant {
namespace internal {

// The calls, by the wire method they send.
enum class Call : uint8_t {
  // Session
  Whoami,
  OpenContext,  // Session.records(context): a TenantContext
  // Records
  AddRecord,
  AddRecords,
  UpdateRecord,
  DeleteRecord,
  GetRecord,
  GetRecords,
  GetRecordBy,
  UpdateRecordBy,
  DeleteRecordBy,
  UpsertRecord,
  SearchRecords,
  DescribeObject,
  ImportRecords,
  FinishImport,
  BeginPhysicalImport,
  PhysicalImportAdd,
  PhysicalImportCommit,
  PhysicalImportAbort,
  // Admin
  CreateTenant,
  ListTenants,
  DeleteTenant,
  CreateObject,
  ListObjects,
  CreateUser,
  ListUsers,
  DeleteUser,
  CreateApiKey,
  RevokeApiKey,
  ListApiKeys,
  CreateRole,
  UpdateRole,
  DeleteRole,
  ListRoles,
  AddRoleMember,
  RemoveRoleMember,
  CreatePolicy,
  UpdatePolicy,
  DeletePolicy,
  ListPolicies,
  SetSetting,
  ListSettings,
  QueryAudit,
  Usage,
  SetQuota,
  CreatePermissionSet,
  UpdatePermissionSet,
  DeletePermissionSet,
  ListPermissionSets,
  Explain,
  CheckStore,
  Backup,
  ReadTenantRecords,
  RestoreTenantRecords,
  kCount  // not a call
};

// The wire method's name ("getRecord").
const char* callName(Call call);

// True when the call only reads (it may be sent again after a lost connection).
bool isRead(Call call);

// The message of a write whose connection was lost while it was in flight.
std::string unknownOutcome(Call call, const std::string& address, const std::string& why);

}  // namespace internal
}  // namespace cotenant

#endif  // COTENANT_SDK_FAILOVER_H_
