// Conversions between the SDK's public types and the Cap'n Proto wire types (wire.h).
// Enum conversions fall back to a default for a value added by a newer server rather than
// fail the call.

#include "wire.h"

namespace cotenant {
namespace internal {

void toWire(const std::vector<std::string>& texts, capnp::List<capnp::Text>::Builder out) {
  for (unsigned i = 0; i < texts.size(); ++i) out.set(i, txt(texts[i]));
}
void toWire(const std::vector<uint64_t>& ids, capnp::List<uint64_t>::Builder out) {
  for (unsigned i = 0; i < ids.size(); ++i) out.set(i, ids[i]);
}

Value fromWire(wire::Value::Reader v) {
  switch (v.which()) {
    case wire::Value::NULL_: return Value();
    case wire::Value::TEXT: return Value::text(str(v.getText()));
    case wire::Value::INT: return Value::integer(v.getInt());
    case wire::Value::FLOAT: return Value::floating(v.getFloat());
    case wire::Value::BOOL: return Value::boolean(v.getBool());
    case wire::Value::TIMESTAMP: return Value::timestamp(v.getTimestamp());
  }
  // A union member added by a newer server: show it as null rather than fail the call.
  return Value();
}

void toWire(const Value& v, wire::Value::Builder out) {
  switch (v.type()) {
    case Value::Type::Null: out.setNull(); break;
    case Value::Type::Text: out.setText(txt(v.asText())); break;
    case Value::Type::Int: out.setInt(v.asInt()); break;
    case Value::Type::Float: out.setFloat(v.asFloat()); break;
    case Value::Type::Bool: out.setBool(v.asBool()); break;
    case Value::Type::Timestamp: out.setTimestamp(v.asTimestamp()); break;
  }
}

void toWire(const Parameters& p, capnp::List<wire::Field>::Builder out) {
  unsigned i = 0;
  for (const auto& [name, value] : p.fields()) {
    auto f = out[i++];
    f.setName(txt(name));
    toWire(value, f.initValue());
  }
}

Record fromWire(wire::Record::Reader r, bool withPermissions) {
  Record rec;
  RecordBuilder::setId(rec, r.getId());
  for (auto f : r.getFields()) RecordBuilder::addField(rec, str(f.getName()), fromWire(f.getValue()));
  RecordBuilder::setMeta(rec, r.getCreatedBy(), r.getCreatedAt(), r.getModifiedBy(),
                         r.getModifiedAt(), r.getVersion());
  if (withPermissions && r.hasPermissions()) {
    RecordBuilder::setPermissions(rec, r.getPermissions().getCanUpdate(),
                                  r.getPermissions().getCanDelete());
  }
  return rec;
}

TenantKind fromWire(wire::TenantKind k) {
  switch (k) {
    case wire::TenantKind::TENANT: return TenantKind::Tenant;
    case wire::TenantKind::MSP: return TenantKind::Msp;
    case wire::TenantKind::ISV: return TenantKind::Isv;
    case wire::TenantKind::SYSTEM: return TenantKind::System;
  }
  return TenantKind::Tenant;
}
wire::TenantKind toWire(TenantKind k) {
  switch (k) {
    case TenantKind::Tenant: return wire::TenantKind::TENANT;
    case TenantKind::Msp: return wire::TenantKind::MSP;
    case TenantKind::Isv: return wire::TenantKind::ISV;
    case TenantKind::System: return wire::TenantKind::SYSTEM;
  }
  return wire::TenantKind::TENANT;
}
FieldType fromWire(wire::FieldType t) {
  switch (t) {
    case wire::FieldType::TEXT: return FieldType::Text;
    case wire::FieldType::INT: return FieldType::Int;
    case wire::FieldType::FLOAT: return FieldType::Float;
    case wire::FieldType::BOOL: return FieldType::Bool;
    case wire::FieldType::TIMESTAMP: return FieldType::Timestamp;
  }
  return FieldType::Text;
}
wire::FieldType toWire(FieldType t) {
  switch (t) {
    case FieldType::Text: return wire::FieldType::TEXT;
    case FieldType::Int: return wire::FieldType::INT;
    case FieldType::Float: return wire::FieldType::FLOAT;
    case FieldType::Bool: return wire::FieldType::BOOL;
    case FieldType::Timestamp: return wire::FieldType::TIMESTAMP;
  }
  return wire::FieldType::TEXT;
}
AdminLevel fromWire(wire::AdminLevel l) {
  switch (l) {
    case wire::AdminLevel::USER: return AdminLevel::User;
    case wire::AdminLevel::TENANT_ADMIN: return AdminLevel::TenantAdmin;
    case wire::AdminLevel::SYSTEM_ADMIN: return AdminLevel::SystemAdmin;
  }
  return AdminLevel::User;
}
wire::AdminLevel toWire(AdminLevel l) {
  switch (l) {
    case AdminLevel::User: return wire::AdminLevel::USER;
    case AdminLevel::TenantAdmin: return wire::AdminLevel::TENANT_ADMIN;
    case AdminLevel::SystemAdmin: return wire::AdminLevel::SYSTEM_ADMIN;
  }
  return wire::AdminLevel::USER;
}

Quota fromWire(wire::Quota::Reader q) {
  Quota out;
  out.records = q.getRecords();
  out.bytes = q.getBytes();
  out.callsPerSecond = q.getCallsPerSecond();
  out.concurrentWork = q.getConcurrentWork();
  return out;
}
void toWire(const Quota& in, wire::Quota::Builder out) {
  out.setRecords(in.records);
  out.setBytes(in.bytes);
  out.setCallsPerSecond(in.callsPerSecond);
  out.setConcurrentWork(in.concurrentWork);
}

TenantInfo fromWire(wire::TenantInfo::Reader t) {
  TenantInfo out;
  out.id = t.getId();
  out.name = str(t.getName());
  out.kind = fromWire(t.getKind());
  out.provider = t.getProvider();
  out.createdAt = t.getCreatedAt();
  out.quota = fromWire(t.getQuota());
  return out;
}
UserInfo fromWire(wire::UserInfo::Reader u) {
  UserInfo out;
  out.id = u.getId();
  out.tenantId = u.getTenantId();
  out.name = str(u.getName());
  out.level = fromWire(u.getLevel());
  out.createdAt = u.getCreatedAt();
  return out;
}
ObjectInfo fromWire(wire::ObjectDef::Reader o) {
  ObjectInfo out;
  out.id = o.getId();
  out.name = str(o.getName());
  for (auto f : o.getFields()) {
    FieldDef d;
    d.name = str(f.getName());
    d.type = fromWire(f.getType());
    d.required = f.getRequired();
    d.indexed = f.getIndexed();
    d.unique = f.getUnique();
    out.fields.push_back(std::move(d));
  }
  return out;
}

Rights fromWire(wire::Rights::Reader r) {
  return Rights{r.getRead(), r.getAdd(), r.getUpdate(), r.getDelete()};
}
void toWire(const Rights& r, wire::Rights::Builder out) {
  out.setRead(r.read);
  out.setAdd(r.add);
  out.setUpdate(r.update);
  out.setDelete(r.del);
}
void toWire(const std::vector<ObjectRights>& rights, capnp::List<wire::ObjectRights>::Builder out) {
  for (unsigned i = 0; i < rights.size(); ++i) {
    out[i].setObject(txt(rights[i].object));
    toWire(rights[i].rights, out[i].initRights());
  }
}
RoleInfo fromWire(wire::RoleInfo::Reader r) {
  RoleInfo out;
  out.id = r.getId();
  out.tenantId = r.getTenantId();
  out.name = str(r.getName());
  for (auto o : r.getRights()) out.rights.push_back({str(o.getObject()), fromWire(o.getRights())});
  out.crossTenant = r.getCrossTenant();
  for (auto m : r.getMembers()) out.members.push_back({m.getTenantId(), m.getUserId()});
  return out;
}

PolicyInfo fromWire(wire::PolicyInfo::Reader p) {
  PolicyInfo out;
  out.publisher = p.getPublisher();
  out.name = str(p.getName());
  out.designated = p.getDesignated();
  out.global = p.getGlobal();
  out.userId = p.getUserId();
  for (auto sc : p.getScope()) {
    ObjectScope o;
    o.object = str(sc.getObject());
    o.rowFilter = str(sc.getRowFilter());
    for (auto f : sc.getFields()) o.fields.push_back(str(f));
    out.scope.push_back(std::move(o));
  }
  out.expiresAt = p.getExpiresAt();
  out.createdAt = p.getCreatedAt();
  out.modifiedAt = p.getModifiedAt();
  return out;
}
void toWire(const PolicyInfo& p, wire::PolicyInfo::Builder out) {
  out.setPublisher(p.publisher);
  out.setName(txt(p.name));
  out.setDesignated(p.designated);
  out.setGlobal(p.global);
  out.setUserId(p.userId);
  auto scope = out.initScope(static_cast<unsigned>(p.scope.size()));
  for (unsigned i = 0; i < p.scope.size(); ++i) {
    const ObjectScope& o = p.scope[i];
    scope[i].setObject(txt(o.object));
    scope[i].setRowFilter(txt(o.rowFilter));
    toWire(o.fields, scope[i].initFields(static_cast<unsigned>(o.fields.size())));
  }
  out.setExpiresAt(p.expiresAt);
  out.setCreatedAt(p.createdAt);
  out.setModifiedAt(p.modifiedAt);
}

ApiKeyInfo fromWire(wire::ApiKeyInfo::Reader k) {
  ApiKeyInfo out;
  out.keyId = str(k.getKeyId());
  out.userId = k.getUserId();
  out.createdAt = k.getCreatedAt();
  out.revoked = k.getRevoked();
  return out;
}

AuditEntry fromWire(wire::AuditEntry::Reader e) {
  AuditEntry out;
  out.time = e.getTime();
  out.callerTenant = e.getCallerTenant();
  out.callerUser = e.getCallerUser();
  out.principal = e.getPrincipal();
  out.targetTenant = e.getTargetTenant();
  out.api = str(e.getApi());
  out.object = str(e.getObject());
  out.recordId = e.getRecordId();
  out.outcome = str(e.getOutcome());
  out.detail = str(e.getDetail());
  return out;
}

UsageInfo fromWire(wire::UsageInfo::Reader u) {
  UsageInfo out;
  out.tenantId = u.getTenantId();
  out.records = u.getRecords();
  out.bytes = u.getBytes();
  for (auto c : u.getCalls()) out.calls.push_back({str(c.getApi()), c.getCalls()});
  out.servedToOthers = u.getServedToOthers();
  out.consumedFromOthers = u.getConsumedFromOthers();
  out.quota = fromWire(u.getQuota());
  return out;
}

Effect fromWire(wire::Effect e) { return e == wire::Effect::DENY ? Effect::Deny : Effect::Allow; }
wire::Effect toWire(Effect e) { return e == Effect::Deny ? wire::Effect::DENY : wire::Effect::ALLOW; }

PermissionSetInfo fromWire(wire::PermissionSetInfo::Reader in) {
  PermissionSetInfo out;
  out.name = str(in.getName());
  out.systemScope = in.getSystemScope();
  out.allTenants = in.getAllTenants();
  for (auto t : in.getTenants()) out.tenants.push_back(t);
  for (auto u : in.getUsers()) out.users.push_back(u);
  for (auto p : in.getPolicies()) {
    out.policies.push_back({fromWire(p.getEffect()), str(p.getResourceTypeRegex()),
                            str(p.getApiNameRegex()), str(p.getMethodRegex())});
  }
  return out;
}
void toWire(const PermissionSetInfo& in, wire::PermissionSetInfo::Builder out) {
  out.setName(txt(in.name));
  out.setSystemScope(in.systemScope);
  out.setAllTenants(in.allTenants);
  toWire(in.tenants, out.initTenants(static_cast<unsigned>(in.tenants.size())));
  toWire(in.users, out.initUsers(static_cast<unsigned>(in.users.size())));
  auto policies = out.initPolicies(static_cast<unsigned>(in.policies.size()));
  for (unsigned i = 0; i < in.policies.size(); ++i) {
    const PermissionPolicy& p = in.policies[i];
    policies[i].setEffect(toWire(p.effect));
    policies[i].setResourceTypeRegex(txt(p.resourceTypeRegex));
    policies[i].setApiNameRegex(txt(p.apiNameRegex));
    policies[i].setMethodRegex(txt(p.methodRegex));
  }
}

void toWire(const ExplainRequest& in, wire::ExplainRequest::Builder out) {
  out.setUserId(in.userId);
  out.setTenantId(in.tenantId);
  out.setApi(txt(in.api));
  out.setObject(txt(in.object));
  // The drafts are optional: absent pointers, not empty structs.
  if (in.draftPolicy) toWire(*in.draftPolicy, out.initDraftPolicy());
  if (in.draftPermissionSet) toWire(*in.draftPermissionSet, out.initDraftPermissionSet());
  out.setRemovePermissionSet(txt(in.removePermissionSet));
}

Explanation fromWire(wire::Explanation::Reader in) {
  Explanation out;
  out.allowed = in.getAllowed();
  out.code = str(in.getCode());
  out.message = str(in.getMessage());
  out.contextPath = str(in.getContextPath());
  out.policy = str(in.getPolicy());
  out.principal = in.getPrincipal();
  for (auto c : in.getPermissionSets()) {
    ConsideredSet set;
    set.name = str(c.getName());
    set.forUser = c.getForUser();
    for (auto n : c.getMatchedAllow()) set.matchedAllow.push_back(n);
    for (auto n : c.getMatchedDeny()) set.matchedDeny.push_back(n);
    out.permissionSets.push_back(std::move(set));
  }
  out.decidingSet = str(in.getDecidingSet());
  out.decidingPolicy = in.getDecidingPolicy();
  out.roleRights = str(in.getRoleRights());
  out.scope = str(in.getScope());
  for (auto step : in.getSteps()) out.steps.push_back(str(step));
  return out;
}

}  // namespace internal
}  // namespace cotenant
