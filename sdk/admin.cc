// The administrative calls of Client: tenants, objects, users, API keys, roles,
// data-sharing policies, settings, audit, usage, permission sets and explain. Each is one
// request on the session's Admin capability, waited for.

#include "loop.h"
#include "wire.h"

namespace cotenant {

using internal::Call;
using internal::fromWire;
using internal::str;
using internal::toWire;
using internal::txt;

// ---- tenants, objects, users ---------------------------------------------------------------

Outcome<TenantInfo> Client::createTenant(const std::string& name, TenantKind kind,
                                         uint64_t provider) {
  return core_
      ->call<Outcome<TenantInfo>>(Call::CreateTenant, [name, kind, provider](LoopState& s) {
        auto req = s.admin.createTenantRequest();
        req.setName(txt(name));
        req.setKind(toWire(kind));
        req.setProvider(provider);
        return req.send().then([](capnp::Response<wire::Admin::CreateTenantResults>&& r) {
          return Outcome<TenantInfo>(fromWire(r.getTenant()));
        });
      })
      .get();
}

Outcome<std::vector<TenantInfo>> Client::listTenants() {
  using Out = Outcome<std::vector<TenantInfo>>;
  return core_
      ->call<Out>(Call::ListTenants, [](LoopState& s) {
        return s.admin.listTenantsRequest().send().then(
            [](capnp::Response<wire::Admin::ListTenantsResults>&& r) {
              std::vector<TenantInfo> out;
              for (auto t : r.getTenants()) out.push_back(fromWire(t));
              return Out(std::move(out));
            });
      })
      .get();
}

Result Client::deleteTenant(uint64_t tenantId) {
  return core_
      ->call<Result>(Call::DeleteTenant, [tenantId](LoopState& s) {
        auto req = s.admin.deleteTenantRequest();
        req.setTenantId(tenantId);
        return req.send().then(
            [](capnp::Response<wire::Admin::DeleteTenantResults>&&) { return Result(); });
      })
      .get();
}

Outcome<ObjectInfo> Client::createObject(uint64_t tenantId, const std::string& name,
                                         const std::vector<FieldDef>& fields) {
  return core_
      ->call<Outcome<ObjectInfo>>(Call::CreateObject, [tenantId, name, fields](LoopState& s) {
        auto req = s.admin.createObjectRequest();
        req.setTenantId(tenantId);
        req.setName(txt(name));
        auto list = req.initFields(static_cast<unsigned>(fields.size()));
        for (unsigned i = 0; i < fields.size(); ++i) {
          list[i].setName(txt(fields[i].name));
          list[i].setType(toWire(fields[i].type));
          list[i].setRequired(fields[i].required);
          list[i].setIndexed(fields[i].indexed);
          list[i].setUnique(fields[i].unique);
        }
        return req.send().then([](capnp::Response<wire::Admin::CreateObjectResults>&& r) {
          return Outcome<ObjectInfo>(fromWire(r.getObject()));
        });
      })
      .get();
}

Outcome<std::vector<ObjectInfo>> Client::listObjects(uint64_t tenantId) {
  using Out = Outcome<std::vector<ObjectInfo>>;
  return core_
      ->call<Out>(Call::ListObjects, [tenantId](LoopState& s) {
        auto req = s.admin.listObjectsRequest();
        req.setTenantId(tenantId);
        return req.send().then([](capnp::Response<wire::Admin::ListObjectsResults>&& r) {
          std::vector<ObjectInfo> out;
          for (auto o : r.getObjects()) out.push_back(fromWire(o));
          return Out(std::move(out));
        });
      })
      .get();
}

Outcome<NewUser> Client::createUser(uint64_t tenantId, const std::string& name,
                                    AdminLevel level) {
  return core_
      ->call<Outcome<NewUser>>(Call::CreateUser, [tenantId, name, level](LoopState& s) {
        auto req = s.admin.createUserRequest();
        req.setTenantId(tenantId);
        req.setName(txt(name));
        req.setLevel(toWire(level));
        return req.send().then([](capnp::Response<wire::Admin::CreateUserResults>&& r) {
          NewUser out;
          out.user = fromWire(r.getUser());
          out.apiKey = str(r.getApiKey());
          return Outcome<NewUser>(std::move(out));
        });
      })
      .get();
}

Outcome<std::vector<UserInfo>> Client::listUsers(uint64_t tenantId) {
  using Out = Outcome<std::vector<UserInfo>>;
  return core_
      ->call<Out>(Call::ListUsers, [tenantId](LoopState& s) {
        auto req = s.admin.listUsersRequest();
        req.setTenantId(tenantId);
        return req.send().then([](capnp::Response<wire::Admin::ListUsersResults>&& r) {
          std::vector<UserInfo> out;
          for (auto u : r.getUsers()) out.push_back(fromWire(u));
          return Out(std::move(out));
        });
      })
      .get();
}

Result Client::deleteUser(uint64_t tenantId, uint64_t userId) {
  return core_
      ->call<Result>(Call::DeleteUser, [tenantId, userId](LoopState& s) {
        auto req = s.admin.deleteUserRequest();
        req.setTenantId(tenantId);
        req.setUserId(userId);
        return req.send().then(
            [](capnp::Response<wire::Admin::DeleteUserResults>&&) { return Result(); });
      })
      .get();
}

// ---- API keys ---------------------------------------------------------------------------------

Outcome<NewApiKey> Client::createApiKey(uint64_t tenantId, uint64_t userId) {
  return core_
      ->call<Outcome<NewApiKey>>(Call::CreateApiKey, [tenantId, userId](LoopState& s) {
        auto req = s.admin.createApiKeyRequest();
        req.setTenantId(tenantId);
        req.setUserId(userId);
        return req.send().then([](capnp::Response<wire::Admin::CreateApiKeyResults>&& r) {
          NewApiKey out;
          out.key = fromWire(r.getKey());
          out.apiKey = str(r.getApiKey());
          return Outcome<NewApiKey>(std::move(out));
        });
      })
      .get();
}

Result Client::revokeApiKey(uint64_t tenantId, const std::string& keyId) {
  return core_
      ->call<Result>(Call::RevokeApiKey, [tenantId, keyId](LoopState& s) {
        auto req = s.admin.revokeApiKeyRequest();
        req.setTenantId(tenantId);
        req.setKeyId(txt(keyId));
        return req.send().then(
            [](capnp::Response<wire::Admin::RevokeApiKeyResults>&&) { return Result(); });
      })
      .get();
}

Outcome<std::vector<ApiKeyInfo>> Client::listApiKeys(uint64_t tenantId, uint64_t userId) {
  using Out = Outcome<std::vector<ApiKeyInfo>>;
  return core_
      ->call<Out>(Call::ListApiKeys, [tenantId, userId](LoopState& s) {
        auto req = s.admin.listApiKeysRequest();
        req.setTenantId(tenantId);
        req.setUserId(userId);
        return req.send().then([](capnp::Response<wire::Admin::ListApiKeysResults>&& r) {
          std::vector<ApiKeyInfo> out;
          for (auto k : r.getKeys()) out.push_back(fromWire(k));
          return Out(std::move(out));
        });
      })
      .get();
}

// ---- roles ------------------------------------------------------------------------------------

namespace {

// createRole and updateRole send the same fields and answer the role; they differ only in
// the method `request(admin)` starts.
template <typename MakeRequest>
Outcome<RoleInfo> sendRole(ClientCore& core, Call call, MakeRequest request,
                           uint64_t tenantId, const std::string& name,
                           const std::vector<ObjectRights>& rights, bool crossTenant) {
  return core
      .call<Outcome<RoleInfo>>(call, [request, tenantId, name, rights, crossTenant](LoopState& s) {
        auto req = request(s.admin);
        req.setTenantId(tenantId);
        req.setName(txt(name));
        toWire(rights, req.initRights(static_cast<unsigned>(rights.size())));
        req.setCrossTenant(crossTenant);
        return req.send().then(
            [](auto&& r) { return Outcome<RoleInfo>(fromWire(r.getRole())); });
      })
      .get();
}

}  // namespace

Outcome<RoleInfo> Client::createRole(uint64_t tenantId, const std::string& name,
                                     const std::vector<ObjectRights>& rights, bool crossTenant) {
  return sendRole(
      *core_, Call::CreateRole,
      [](wire::Admin::Client& admin) { return admin.createRoleRequest(); },
      tenantId, name, rights, crossTenant);
}

Outcome<RoleInfo> Client::updateRole(uint64_t tenantId, const std::string& name,
                                     const std::vector<ObjectRights>& rights, bool crossTenant) {
  return sendRole(
      *core_, Call::UpdateRole,
      [](wire::Admin::Client& admin) { return admin.updateRoleRequest(); },
      tenantId, name, rights, crossTenant);
}

Result Client::deleteRole(uint64_t tenantId, const std::string& name) {
  return core_
      ->call<Result>(Call::DeleteRole, [tenantId, name](LoopState& s) {
        auto req = s.admin.deleteRoleRequest();
        req.setTenantId(tenantId);
        req.setName(txt(name));
        return req.send().then(
            [](capnp::Response<wire::Admin::DeleteRoleResults>&&) { return Result(); });
      })
      .get();
}

Outcome<std::vector<RoleInfo>> Client::listRoles(uint64_t tenantId) {
  using Out = Outcome<std::vector<RoleInfo>>;
  return core_
      ->call<Out>(Call::ListRoles, [tenantId](LoopState& s) {
        auto req = s.admin.listRolesRequest();
        req.setTenantId(tenantId);
        return req.send().then([](capnp::Response<wire::Admin::ListRolesResults>&& r) {
          std::vector<RoleInfo> out;
          for (auto role : r.getRoles()) out.push_back(fromWire(role));
          return Out(std::move(out));
        });
      })
      .get();
}

Result Client::addRoleMember(uint64_t tenantId, const std::string& role, uint64_t memberTenant,
                             uint64_t userId) {
  return core_
      ->call<Result>(Call::AddRoleMember, [tenantId, role, memberTenant, userId](LoopState& s) {
        auto req = s.admin.addRoleMemberRequest();
        req.setTenantId(tenantId);
        req.setRole(txt(role));
        req.setMemberTenant(memberTenant);
        req.setUserId(userId);
        return req.send().then(
            [](capnp::Response<wire::Admin::AddRoleMemberResults>&&) { return Result(); });
      })
      .get();
}

Result Client::removeRoleMember(uint64_t tenantId, const std::string& role,
                                uint64_t memberTenant, uint64_t userId) {
  return core_
      ->call<Result>(Call::RemoveRoleMember, [tenantId, role, memberTenant, userId](LoopState& s) {
        auto req = s.admin.removeRoleMemberRequest();
        req.setTenantId(tenantId);
        req.setRole(txt(role));
        req.setMemberTenant(memberTenant);
        req.setUserId(userId);
        return req.send().then(
            [](capnp::Response<wire::Admin::RemoveRoleMemberResults>&&) { return Result(); });
      })
      .get();
}

// ---- data-sharing policies ----------------------------------------------------------------------

namespace {

// createPolicy and updatePolicy send the same fields and answer the stored policy; they
// differ only in the method `request(admin)` starts.
template <typename MakeRequest>
Outcome<PolicyInfo> sendPolicy(ClientCore& core, Call call, MakeRequest request,
                               uint64_t tenantId, const PolicyInfo& policy) {
  return core
      .call<Outcome<PolicyInfo>>(call, [request, tenantId, policy](LoopState& s) {
        auto req = request(s.admin);
        req.setTenantId(tenantId);
        toWire(policy, req.initPolicy());
        return req.send().then(
            [](auto&& r) { return Outcome<PolicyInfo>(fromWire(r.getPolicy())); });
      })
      .get();
}

}  // namespace

Outcome<PolicyInfo> Client::createPolicy(uint64_t tenantId, const PolicyInfo& policy) {
  return sendPolicy(
      *core_, Call::CreatePolicy,
      [](wire::Admin::Client& admin) { return admin.createPolicyRequest(); },
      tenantId, policy);
}

Outcome<PolicyInfo> Client::updatePolicy(uint64_t tenantId, const PolicyInfo& policy) {
  return sendPolicy(
      *core_, Call::UpdatePolicy,
      [](wire::Admin::Client& admin) { return admin.updatePolicyRequest(); },
      tenantId, policy);
}

Result Client::deletePolicy(uint64_t tenantId, const std::string& name) {
  return core_
      ->call<Result>(Call::DeletePolicy, [tenantId, name](LoopState& s) {
        auto req = s.admin.deletePolicyRequest();
        req.setTenantId(tenantId);
        req.setName(txt(name));
        return req.send().then(
            [](capnp::Response<wire::Admin::DeletePolicyResults>&&) { return Result(); });
      })
      .get();
}

Outcome<std::vector<PolicyInfo>> Client::listPolicies(uint64_t publishedBy, uint64_t designating) {
  using Out = Outcome<std::vector<PolicyInfo>>;
  if ((publishedBy == 0) == (designating == 0)) {
    return Out(ErrorCode::InvalidArgument,
               "listPolicies: give exactly one of publishedBy and designating");
  }
  return core_
      ->call<Out>(Call::ListPolicies, [publishedBy, designating](LoopState& s) {
        auto req = s.admin.listPoliciesRequest();
        req.setPublishedBy(publishedBy);
        req.setDesignating(designating);
        return req.send().then([](capnp::Response<wire::Admin::ListPoliciesResults>&& r) {
          std::vector<PolicyInfo> out;
          for (auto p : r.getPolicies()) out.push_back(fromWire(p));
          return Out(std::move(out));
        });
      })
      .get();
}

// ---- settings, audit, usage ---------------------------------------------------------------------

Result Client::setSetting(const std::string& name, const std::string& value) {
  return core_
      ->call<Result>(Call::SetSetting, [name, value](LoopState& s) {
        auto req = s.admin.setSettingRequest();
        req.setName(txt(name));
        req.setValue(txt(value));
        return req.send().then(
            [](capnp::Response<wire::Admin::SetSettingResults>&&) { return Result(); });
      })
      .get();
}

Outcome<std::vector<Setting>> Client::listSettings() {
  using Out = Outcome<std::vector<Setting>>;
  return core_
      ->call<Out>(Call::ListSettings, [](LoopState& s) {
        return s.admin.listSettingsRequest().send().then(
            [](capnp::Response<wire::Admin::ListSettingsResults>&& r) {
              std::vector<Setting> out;
              for (auto x : r.getSettings()) out.push_back({str(x.getName()), str(x.getValue())});
              return Out(std::move(out));
            });
      })
      .get();
}

Outcome<std::vector<AuditEntry>> Client::queryAudit(const AuditQuery& query) {
  using Out = Outcome<std::vector<AuditEntry>>;
  return core_
      ->call<Out>(Call::QueryAudit, [query](LoopState& s) {
        auto req = s.admin.queryAuditRequest();
        auto q = req.initQuery();
        q.setTenantId(query.tenantId);
        q.setFrom(query.from);
        q.setTo(query.to);
        q.setCallerTenant(query.callerTenant);
        q.setOutcome(txt(query.outcome));
        q.setLimit(query.limit);
        q.setDirection(txt(query.direction));
        return req.send().then([](capnp::Response<wire::Admin::QueryAuditResults>&& r) {
          std::vector<AuditEntry> out;
          for (auto e : r.getEntries()) out.push_back(fromWire(e));
          return Out(std::move(out));
        });
      })
      .get();
}

Outcome<UsageInfo> Client::usage(uint64_t tenantId) {
  return core_
      ->call<Outcome<UsageInfo>>(Call::Usage, [tenantId](LoopState& s) {
        auto req = s.admin.usageRequest();
        req.setTenantId(tenantId);
        return req.send().then([](capnp::Response<wire::Admin::UsageResults>&& r) {
          return Outcome<UsageInfo>(fromWire(r.getUsage()));
        });
      })
      .get();
}

Result Client::setQuota(uint64_t tenantId, const Quota& quota) {
  return core_
      ->call<Result>(Call::SetQuota, [tenantId, quota](LoopState& s) {
        auto req = s.admin.setQuotaRequest();
        req.setTenantId(tenantId);
        toWire(quota, req.initQuota());
        return req.send().then(
            [](capnp::Response<wire::Admin::SetQuotaResults>&&) { return Result(); });
      })
      .get();
}

// ---- permission sets, explain ---------------------------------------------------------------

namespace {

// createPermissionSet and updatePermissionSet send the same set and answer nothing; they
// differ only in the method `request(admin)` starts.
template <typename MakeRequest>
Result sendPermissionSet(ClientCore& core, Call call, MakeRequest request,
                         const PermissionSetInfo& set) {
  return core
      .call<Result>(call, [request, set](LoopState& s) {
        auto req = request(s.admin);
        toWire(set, req.initSet());
        return req.send().then([](auto&&) { return Result(); });
      })
      .get();
}

}  // namespace

Result Client::createPermissionSet(const PermissionSetInfo& set) {
  return sendPermissionSet(
      *core_, Call::CreatePermissionSet,
      [](wire::Admin::Client& admin) { return admin.createPermissionSetRequest(); }, set);
}

Result Client::updatePermissionSet(const PermissionSetInfo& set) {
  return sendPermissionSet(
      *core_, Call::UpdatePermissionSet,
      [](wire::Admin::Client& admin) { return admin.updatePermissionSetRequest(); }, set);
}

Result Client::deletePermissionSet(const std::string& name) {
  return core_
      ->call<Result>(Call::DeletePermissionSet, [name](LoopState& s) {
        auto req = s.admin.deletePermissionSetRequest();
        req.setName(txt(name));
        return req.send().then(
            [](capnp::Response<wire::Admin::DeletePermissionSetResults>&&) { return Result(); });
      })
      .get();
}

Outcome<std::vector<PermissionSetInfo>> Client::listPermissionSets() {
  using Out = Outcome<std::vector<PermissionSetInfo>>;
  return core_
      ->call<Out>(Call::ListPermissionSets, [](LoopState& s) {
        return s.admin.listPermissionSetsRequest().send().then(
            [](capnp::Response<wire::Admin::ListPermissionSetsResults>&& r) {
              std::vector<PermissionSetInfo> out;
              for (auto set : r.getSets()) out.push_back(fromWire(set));
              return Out(std::move(out));
            });
      })
      .get();
}

Outcome<Explanation> Client::explain(const ExplainRequest& request) {
  if (request.draftPermissionSet && !request.removePermissionSet.empty()) {
    return Outcome<Explanation>(
        ErrorCode::InvalidArgument,
        "explain: give draftPermissionSet or removePermissionSet, not both");
  }
  return core_
      ->call<Outcome<Explanation>>(Call::Explain, [request](LoopState& s) {
        auto req = s.admin.explainRequest();
        toWire(request, req.initRequest());
        return req.send().then([](capnp::Response<wire::Admin::ExplainResults>&& r) {
          return Outcome<Explanation>(fromWire(r.getExplanation()));
        });
      })
      .get();
}

Outcome<StoreCheckReport> Client::checkStore(uint32_t maxProblems) {
  return core_
      ->call<Outcome<StoreCheckReport>>(Call::CheckStore, [maxProblems](LoopState& s) {
        auto req = s.admin.checkStoreRequest();
        req.setMaxProblems(maxProblems);
        return req.send().then([](capnp::Response<wire::Admin::CheckStoreResults>&& r) {
          auto w = r.getReport();
          StoreCheckReport out;
          out.clean = w.getClean();
          out.problemCount = w.getProblemCount();
          for (auto c : w.getChecked()) out.checked.emplace_back(str(c.getWhat()), c.getCount());
          for (uint64_t t : w.getPendingDeletions()) out.pendingDeletions.push_back(t);
          for (auto p : w.getProblems()) {
            out.problems.push_back({str(p.getKind()), p.getTenant(), str(p.getKey()), str(p.getWhat())});
          }
          return Outcome<StoreCheckReport>(std::move(out));
        });
      })
      .get();
}

Outcome<BackupInfo> Client::backup(const std::string& dir, uint32_t keep) {
  return core_
      ->call<Outcome<BackupInfo>>(Call::Backup, [dir, keep](LoopState& s) {
        auto req = s.admin.backupRequest();
        req.setDir(dir);
        req.setKeep(keep);
        return req.send().then([](capnp::Response<wire::Admin::BackupResults>&& r) {
          auto w = r.getBackup();
          BackupInfo out;
          out.id = w.getId();
          out.createdAt = w.getCreatedAt();
          out.sizeBytes = w.getSizeBytes();
          out.files = w.getFiles();
          out.copiedBytes = w.getCopiedBytes();
          out.kept = w.getKept();
          return Outcome<BackupInfo>(out);
        });
      })
      .get();
}

Outcome<TenantRecordPage> Client::readTenantRecords(uint64_t tenantId, const std::string& object,
                                                   uint64_t afterId, uint32_t limit) {
  return core_
      ->call<Outcome<TenantRecordPage>>(Call::ReadTenantRecords, [tenantId, object, afterId,
                                                                  limit](LoopState& s) {
        auto req = s.admin.readTenantRecordsRequest();
        req.setTenantId(tenantId);
        req.setObject(txt(object));
        req.setAfterId(afterId);
        req.setLimit(limit);
        return req.send().then([](capnp::Response<wire::Admin::ReadTenantRecordsResults>&& r) {
          TenantRecordPage out;
          for (auto rec : r.getRecords()) out.records.push_back(fromWire(rec, false));
          out.complete = r.getComplete();
          return Outcome<TenantRecordPage>(std::move(out));
        });
      })
      .get();
}

Outcome<uint32_t> Client::restoreTenantRecords(uint64_t tenantId, const std::string& object,
                                               const std::vector<RestoredRecord>& records) {
  return core_
      ->call<Outcome<uint32_t>>(Call::RestoreTenantRecords, [tenantId, object,
                                                             records](LoopState& s) {
        auto req = s.admin.restoreTenantRecordsRequest();
        req.setTenantId(tenantId);
        req.setObject(txt(object));
        auto list = req.initRecords(static_cast<unsigned>(records.size()));
        for (size_t i = 0; i < records.size(); ++i) {
          const RestoredRecord& in = records[i];
          auto w = list[static_cast<unsigned>(i)];
          w.setId(in.id);
          w.setVersion(in.version);
          w.setCreatedBy(in.createdBy);
          w.setCreatedAt(in.createdAt);
          w.setModifiedBy(in.modifiedBy);
          w.setModifiedAt(in.modifiedAt);
          toWire(in.fields, w.initFields(static_cast<unsigned>(in.fields.size())));
        }
        return req.send().then([](capnp::Response<wire::Admin::RestoreTenantRecordsResults>&& r) {
          return Outcome<uint32_t>(r.getRestored());
        });
      })
      .get();
}

}  // namespace cotenant
