#include "rpc/convert.h"

#include <cmath>
#include <string>

#include "common/utf8.h"
#include "storage/criteria.h"

namespace cotenant::rpc {
namespace {

}  // namespace

Status CopyText(capnp::Text::Reader text, std::string_view what, std::string* out) {
  std::string_view view(text.cStr(), text.size());
  size_t bad = InvalidUtf8Offset(view);
  if (bad != std::string_view::npos) {
    return Status::InvalidArgument(std::string(what) + " is not valid UTF-8 (byte " +
                                   std::to_string(bad) + " of " + std::to_string(view.size()) + ")");
  }
  out->assign(view);
  return Status::OK();
}

Status CopyName(capnp::Text::Reader text, std::string_view what, const WireLimits& limits,
                std::string* out) {
  if (text.size() > limits.max_name_bytes) {
    return Status::InvalidArgument(std::string(what) + " is " + std::to_string(text.size()) +
                                   " bytes long; the limit is " +
                                   std::to_string(limits.max_name_bytes));
  }
  return CopyText(text, what, out);
}

Status CopyCriteria(capnp::Text::Reader text, std::string_view what, const WireLimits& limits,
                    std::string* out) {
  COTENANT_RETURN_IF_ERROR(
      storage::criteria::CheckSize(what, text.size(), limits.max_criteria_bytes));
  return CopyText(text, what, out);
}

namespace {

// `what` names the value in errors ("field 'age'", "criteria parameter 2").
Status ValueFromWire(wire::Value::Reader in, const std::string& what, storage::Value* out) {
  switch (in.which()) {
    case wire::Value::NULL_:
      *out = storage::Value::Null();
      return Status::OK();
    case wire::Value::TEXT: {
      std::string text;
      COTENANT_RETURN_IF_ERROR(CopyText(in.getText(), what, &text));
      *out = storage::Value::Text(std::move(text));
      return Status::OK();
    }
    case wire::Value::INT:
      *out = storage::Value::Int(in.getInt());
      return Status::OK();
    case wire::Value::FLOAT: {
      double d = in.getFloat();
      if (std::isnan(d)) return Status::InvalidArgument(what + ": NaN is not a valid float value");
      *out = storage::Value::Float(d);
      return Status::OK();
    }
    case wire::Value::BOOL:
      *out = storage::Value::Bool(in.getBool());
      return Status::OK();
    case wire::Value::TIMESTAMP:
      *out = storage::Value::Time(in.getTimestamp());
      return Status::OK();
  }
  return Status::InvalidArgument(what + ": unknown value kind (a newer client?)");
}

}  // namespace

Status FromWire(wire::Value::Reader in, std::string_view field, storage::Value* out) {
  return ValueFromWire(in, "field '" + std::string(field) + "'", out);
}

Status CopyParameters(capnp::List<wire::Value>::Reader in, size_t criteria_bytes,
                      const WireLimits& limits, std::vector<storage::Value>* out) {
  out->clear();
  if (in.size() > storage::criteria::kMaxTokens) {
    return Status::InvalidArgument("criteria parameters: " + std::to_string(in.size()) +
                                   " given; at most " + std::to_string(storage::criteria::kMaxTokens));
  }
  out->reserve(in.size());
  size_t bytes = criteria_bytes;
  for (unsigned i = 0; i < in.size(); ++i) {
    wire::Value::Reader v = in[i];
    if (v.isText()) {
      bytes += v.getText().size();
      if (bytes > limits.max_criteria_bytes) {
        return Status::InvalidArgument("criteria with their parameters are over " +
                                       std::to_string(limits.max_criteria_bytes) +
                                       " bytes, the limit (at parameter " + std::to_string(i + 1) + ")");
      }
    }
    storage::Value value;
    COTENANT_RETURN_IF_ERROR(ValueFromWire(v, "criteria parameter " + std::to_string(i + 1), &value));
    out->push_back(std::move(value));
  }
  return Status::OK();
}

void ToWire(const storage::Value& in, wire::Value::Builder out) {
  if (in.is_null()) {
    out.setNull();
    return;
  }
  switch (in.type()) {
    case storage::FieldType::kText:
      out.setText(capnp::Text::Reader(in.text().data(), in.text().size()));
      return;
    case storage::FieldType::kInt:
      out.setInt(in.int_value());
      return;
    case storage::FieldType::kFloat:
      out.setFloat(in.float_value());
      return;
    case storage::FieldType::kBool:
      out.setBool(in.bool_value());
      return;
    case storage::FieldType::kTimestamp:
      out.setTimestamp(in.time_micros());
      return;
  }
  out.setNull();
}

Status FromWire(capnp::List<wire::Field>::Reader in, const WireLimits& limits,
                std::string_view where, storage::FieldValues* out) {
  if (in.size() > limits.max_fields_per_record) {
    return Status::ResourceExhausted(std::string(where) + "the record has " +
                                     std::to_string(in.size()) + " fields; the limit is " +
                                     std::to_string(limits.max_fields_per_record) +
                                     " (--max-fields)");
  }
  out->clear();
  out->reserve(in.size());
  for (auto f : in) {
    storage::FieldValue fv;
    Status s = CopyName(f.getName(), "field name", limits, &fv.name);
    if (!s.ok()) return Status::InvalidArgument(std::string(where) + s.message());
    s = FromWire(f.getValue(), fv.name, &fv.value);
    if (!s.ok()) return Status::InvalidArgument(std::string(where) + s.message());
    out->push_back(std::move(fv));
  }
  return Status::OK();
}

Status CopyProjection(capnp::List<capnp::Text>::Reader in, const WireLimits& limits,
                      std::vector<std::string>* out) {
  if (in.size() > limits.max_fields_per_record) {
    return Status::ResourceExhausted("the projection names " + std::to_string(in.size()) +
                                     " fields; the limit is " +
                                     std::to_string(limits.max_fields_per_record) +
                                     " (--max-fields)");
  }
  out->clear();
  out->reserve(in.size());
  for (auto t : in) {
    std::string name;
    COTENANT_RETURN_IF_ERROR(CopyName(t, "projected field name", limits, &name));
    out->push_back(std::move(name));
  }
  return Status::OK();
}

Status ResolveProjection(const storage::ObjectDef& def, const std::vector<std::string>& names,
                         std::vector<int>* slots) {
  slots->clear();
  if (names.empty()) {
    for (size_t i = 0; i < def.fields.size(); ++i) slots->push_back(static_cast<int>(i));
    return Status::OK();
  }
  std::vector<bool> seen(def.fields.size(), false);
  for (const auto& name : names) {
    auto slot = def.Slot(name);
    if (!slot) {
      return Status::InvalidArgument("unknown field '" + name + "' in the projection of object '" +
                                     def.name + "'");
    }
    if (*slot < 0) continue;  // system fields are always in the Record struct
    auto i = static_cast<size_t>(*slot);
    if (seen[i]) continue;
    seen[i] = true;
    slots->push_back(*slot);
  }
  return Status::OK();
}

void ToWire(const storage::Record& in, const storage::ObjectDef& def,
            const std::vector<int>& slots, const RecordPermissionsView* permissions,
            wire::Record::Builder out) {
  out.setId(in.id);
  out.setVersion(in.version);
  out.setCreatedBy(in.created_by);
  out.setCreatedAt(in.created_at);
  out.setModifiedBy(in.modified_by);
  out.setModifiedAt(in.modified_at);
  auto fields = out.initFields(static_cast<unsigned>(slots.size()));
  for (size_t i = 0; i < slots.size(); ++i) {
    auto slot = static_cast<size_t>(slots[i]);
    const auto& name = def.fields[slot].name;
    fields[static_cast<unsigned>(i)].setName(capnp::Text::Reader(name.data(), name.size()));
    if (slot < in.values.size()) {
      ToWire(in.values[slot], fields[static_cast<unsigned>(i)].initValue());
    } else {
      fields[static_cast<unsigned>(i)].initValue().setNull();
    }
  }
  if (permissions != nullptr) {
    auto p = out.initPermissions();
    p.setCanUpdate(permissions->can_update);
    p.setCanDelete(permissions->can_delete);
  }
}

void ToWire(const storage::Record& in, const storage::ObjectDef& def, wire::Record::Builder out) {
  std::vector<int> all;
  all.reserve(def.fields.size());
  for (size_t i = 0; i < def.fields.size(); ++i) all.push_back(static_cast<int>(i));
  ToWire(in, def, all, nullptr, out);
}

Status FromWire(wire::FieldType in, storage::FieldType* out) {
  switch (in) {
    case wire::FieldType::TEXT: *out = storage::FieldType::kText; return Status::OK();
    case wire::FieldType::INT: *out = storage::FieldType::kInt; return Status::OK();
    case wire::FieldType::FLOAT: *out = storage::FieldType::kFloat; return Status::OK();
    case wire::FieldType::BOOL: *out = storage::FieldType::kBool; return Status::OK();
    case wire::FieldType::TIMESTAMP: *out = storage::FieldType::kTimestamp; return Status::OK();
  }
  return Status::InvalidArgument("unknown field type " +
                                 std::to_string(static_cast<unsigned>(in)));
}

wire::FieldType ToWire(storage::FieldType in) {
  switch (in) {
    case storage::FieldType::kText: return wire::FieldType::TEXT;
    case storage::FieldType::kInt: return wire::FieldType::INT;
    case storage::FieldType::kFloat: return wire::FieldType::FLOAT;
    case storage::FieldType::kBool: return wire::FieldType::BOOL;
    case storage::FieldType::kTimestamp: return wire::FieldType::TIMESTAMP;
  }
  return wire::FieldType::TEXT;
}

Status FromWire(wire::TenantKind in, storage::TenantKind* out) {
  switch (in) {
    case wire::TenantKind::TENANT: *out = storage::TenantKind::kTenant; return Status::OK();
    case wire::TenantKind::MSP: *out = storage::TenantKind::kMsp; return Status::OK();
    case wire::TenantKind::ISV: *out = storage::TenantKind::kIsv; return Status::OK();
    case wire::TenantKind::SYSTEM: *out = storage::TenantKind::kSystem; return Status::OK();
  }
  return Status::InvalidArgument("unknown tenant kind " +
                                 std::to_string(static_cast<unsigned>(in)));
}

wire::TenantKind ToWire(storage::TenantKind in) {
  switch (in) {
    case storage::TenantKind::kTenant: return wire::TenantKind::TENANT;
    case storage::TenantKind::kMsp: return wire::TenantKind::MSP;
    case storage::TenantKind::kIsv: return wire::TenantKind::ISV;
    case storage::TenantKind::kSystem: return wire::TenantKind::SYSTEM;
  }
  return wire::TenantKind::TENANT;
}

Status FromWire(wire::AdminLevel in, sharing::AdminLevel* out) {
  switch (in) {
    case wire::AdminLevel::USER: *out = sharing::AdminLevel::kUser; return Status::OK();
    case wire::AdminLevel::TENANT_ADMIN:
      *out = sharing::AdminLevel::kTenantAdmin;
      return Status::OK();
    case wire::AdminLevel::SYSTEM_ADMIN:
      *out = sharing::AdminLevel::kSystemAdmin;
      return Status::OK();
  }
  return Status::InvalidArgument("unknown admin level " +
                                 std::to_string(static_cast<unsigned>(in)));
}

wire::AdminLevel ToWire(sharing::AdminLevel in) {
  switch (in) {
    case sharing::AdminLevel::kUser: return wire::AdminLevel::USER;
    case sharing::AdminLevel::kTenantAdmin: return wire::AdminLevel::TENANT_ADMIN;
    case sharing::AdminLevel::kSystemAdmin: return wire::AdminLevel::SYSTEM_ADMIN;
  }
  return wire::AdminLevel::USER;
}

Status FromWire(wire::FieldDef::Reader in, const WireLimits& limits, storage::FieldDef* out) {
  COTENANT_RETURN_IF_ERROR(CopyName(in.getName(), "field name", limits, &out->name));
  Status s = FromWire(in.getType(), &out->type);
  if (!s.ok()) return Status::InvalidArgument("field '" + out->name + "': " + s.message());
  out->required = in.getRequired();
  out->indexed = in.getIndexed();
  out->unique = in.getUnique();
  return Status::OK();
}

void ToWire(const storage::FieldDef& in, wire::FieldDef::Builder out) {
  out.setName(capnp::Text::Reader(in.name.data(), in.name.size()));
  out.setType(ToWire(in.type));
  out.setRequired(in.required);
  out.setIndexed(in.indexed);
  out.setUnique(in.unique);
}

void ToWire(const storage::ObjectDef& in, wire::ObjectDef::Builder out) {
  out.setId(in.id);
  out.setName(capnp::Text::Reader(in.name.data(), in.name.size()));
  auto fields = out.initFields(static_cast<unsigned>(in.fields.size()));
  for (size_t i = 0; i < in.fields.size(); ++i) {
    ToWire(in.fields[i], fields[static_cast<unsigned>(i)]);
  }
}

void ToWire(const storage::TenantQuota& in, wire::Quota::Builder out) {
  out.setRecords(in.records);
  out.setBytes(in.bytes);
  out.setCallsPerSecond(in.calls_per_second);
  out.setConcurrentWork(in.concurrent_work);
}

storage::TenantQuota FromWire(wire::Quota::Reader in) {
  storage::TenantQuota q;
  q.records = in.getRecords();
  q.bytes = in.getBytes();
  q.calls_per_second = in.getCallsPerSecond();
  q.concurrent_work = in.getConcurrentWork();
  return q;
}

void ToWire(const storage::TenantInfo& in, wire::TenantInfo::Builder out) {
  out.setId(in.id);
  out.setName(capnp::Text::Reader(in.name.data(), in.name.size()));
  out.setKind(ToWire(in.kind));
  out.setProvider(in.provider);
  out.setCreatedAt(in.created_at);
  if (!(in.quota == storage::TenantQuota{})) ToWire(in.quota, out.initQuota());
}

void ToWire(const sharing::User& in, wire::UserInfo::Builder out) {
  out.setId(in.id);
  out.setTenantId(in.tenant);
  out.setName(capnp::Text::Reader(in.name.data(), in.name.size()));
  out.setLevel(ToWire(in.level));
  out.setCreatedAt(in.created_at);
}

// ---- Sharing ---------------------------------------------------------------------------

namespace {
capnp::Text::Reader Txt(const std::string& s) { return capnp::Text::Reader(s.data(), s.size()); }
}  // namespace

Status FromWire(capnp::List<wire::ObjectRights>::Reader in, const WireLimits& limits,
                sharing::RightsMap* out) {
  out->clear();
  if (in.size() > limits.max_fields_per_record) {
    return Status::ResourceExhausted("rights name " + std::to_string(in.size()) +
                                     " objects; the limit is " +
                                     std::to_string(limits.max_fields_per_record));
  }
  for (auto r : in) {
    std::string object;
    COTENANT_RETURN_IF_ERROR(CopyName(r.getObject(), "object name", limits, &object));
    if (object.empty()) return Status::InvalidArgument("rights need an object name or '*'");
    auto w = r.getRights();
    uint8_t mask = (w.getRead() ? sharing::kRead : 0) | (w.getAdd() ? sharing::kAdd : 0) |
                   (w.getUpdate() ? sharing::kUpdate : 0) | (w.getDelete() ? sharing::kDelete : 0);
    if (!out->emplace(object, mask).second) {
      return Status::InvalidArgument("rights name object " + object + " twice");
    }
  }
  return Status::OK();
}

void ToWire(const sharing::Role& in, wire::RoleInfo::Builder out) {
  out.setId(in.id);
  out.setTenantId(in.tenant);
  out.setName(Txt(in.name));
  out.setCrossTenant(in.cross_tenant);
  auto rights = out.initRights(static_cast<unsigned>(in.rights.size()));
  unsigned i = 0;
  for (const auto& [object, mask] : in.rights) {
    rights[i].setObject(Txt(object));
    auto r = rights[i].initRights();
    r.setRead(mask & sharing::kRead);
    r.setAdd(mask & sharing::kAdd);
    r.setUpdate(mask & sharing::kUpdate);
    r.setDelete(mask & sharing::kDelete);
    ++i;
  }
  auto members = out.initMembers(static_cast<unsigned>(in.members.size()));
  for (unsigned m = 0; m < in.members.size(); ++m) {
    members[m].setTenantId(in.members[m].tenant);
    members[m].setUserId(in.members[m].user);
  }
}

Status FromWire(wire::PolicyInfo::Reader in, const WireLimits& limits, sharing::Policy* out) {
  COTENANT_RETURN_IF_ERROR(CopyName(in.getName(), "policy name", limits, &out->name));
  out->designated = in.getDesignated();
  out->global = in.getGlobal();
  out->user = in.getUserId();
  out->expires_at = in.getExpiresAt();
  auto scope = in.getScope();
  if (scope.size() > limits.max_fields_per_record) {
    return Status::ResourceExhausted("the scope names " + std::to_string(scope.size()) +
                                     " objects; the limit is " +
                                     std::to_string(limits.max_fields_per_record));
  }
  out->scope.clear();
  for (auto os : scope) {
    sharing::ObjectScope o;
    COTENANT_RETURN_IF_ERROR(CopyName(os.getObject(), "object name", limits, &o.object));
    COTENANT_RETURN_IF_ERROR(
        CopyCriteria(os.getRowFilter(), "row filter of " + o.object, limits, &o.row_filter));
    COTENANT_RETURN_IF_ERROR(CopyProjection(os.getFields(), limits, &o.fields));
    out->scope.push_back(std::move(o));
  }
  return Status::OK();
}

void ToWire(const sharing::Policy& in, wire::PolicyInfo::Builder out) {
  out.setPublisher(in.publisher);
  out.setName(Txt(in.name));
  out.setDesignated(in.designated);
  out.setGlobal(in.global);
  out.setUserId(in.user);
  out.setExpiresAt(in.expires_at);
  out.setCreatedAt(in.created_at);
  out.setModifiedAt(in.modified_at);
  auto scope = out.initScope(static_cast<unsigned>(in.scope.size()));
  for (unsigned i = 0; i < in.scope.size(); ++i) {
    scope[i].setObject(Txt(in.scope[i].object));
    scope[i].setRowFilter(Txt(in.scope[i].row_filter));
    auto fields = scope[i].initFields(static_cast<unsigned>(in.scope[i].fields.size()));
    for (unsigned f = 0; f < in.scope[i].fields.size(); ++f) fields.set(f, Txt(in.scope[i].fields[f]));
  }
}

void ToWire(const sharing::KeyInfo& in, wire::ApiKeyInfo::Builder out) {
  std::string id = sharing::KeyIdText(in.id);
  out.setKeyId(Txt(id));
  out.setUserId(in.user);
  out.setCreatedAt(in.created_at);
  out.setRevoked(in.revoked);
}

void ToWire(const sharing::AuditRecord& in, wire::AuditEntry::Builder out) {
  out.setTime(in.time);
  out.setCallerTenant(in.caller_tenant);
  out.setCallerUser(in.caller_user);
  out.setPrincipal(in.principal);
  out.setTargetTenant(in.target_tenant);
  out.setApi(Txt(in.api));
  out.setObject(Txt(in.object));
  out.setRecordId(in.record_id);
  out.setOutcome(Txt(in.outcome));
  out.setDetail(Txt(in.detail));
}

namespace {
// The figures UsageInfo and UsageSample share.
template <typename Builder>
void FiguresToWire(const sharing::UsageReport& in, Builder out) {
  out.setRecords(in.records);
  out.setBytes(in.bytes);
  auto calls = out.initCalls(static_cast<unsigned>(in.calls.size()));
  for (unsigned i = 0; i < in.calls.size(); ++i) {
    calls[i].setApi(Txt(in.calls[i].first));
    calls[i].setCalls(in.calls[i].second);
  }
  out.setServedToOthers(in.served_to_others);
  out.setConsumedFromOthers(in.consumed_from_others);
}
}  // namespace

void ToWire(const sharing::UsageReport& in, wire::UsageInfo::Builder out) {
  out.setTenantId(in.tenant);
  FiguresToWire(in, out);
  ToWire(in.quota, out.initQuota());
}

void ToWire(const sharing::UsageSample& in, wire::UsageSample::Builder out) {
  out.setAt(in.at);
  FiguresToWire(in.figures, out);
}

void ToWire(const sharing::LintFinding& in, wire::LintFinding::Builder out) {
  out.setSet(Txt(in.set));
  out.setPolicy(static_cast<uint32_t>(in.policy));
  out.setKind(Txt(in.kind));
  out.setMessage(Txt(in.message));
}

Status FromWire(wire::PermissionSetInfo::Reader in, const WireLimits& limits,
                sharing::PermissionSet* out) {
  COTENANT_RETURN_IF_ERROR(CopyName(in.getName(), "permission set name", limits, &out->name));
  out->system_scope = in.getSystemScope();
  out->all_tenants = in.getAllTenants();
  auto bounded = [&](size_t n, std::string_view what) {
    if (n > limits.max_fields_per_record) {
      return Status::ResourceExhausted("a permission set lists " + std::to_string(n) + " " +
                                       std::string(what) + "; the limit is " +
                                       std::to_string(limits.max_fields_per_record));
    }
    return Status::OK();
  };
  COTENANT_RETURN_IF_ERROR(bounded(in.getTenants().size(), "tenants"));
  COTENANT_RETURN_IF_ERROR(bounded(in.getUsers().size(), "users"));
  COTENANT_RETURN_IF_ERROR(bounded(in.getPolicies().size(), "policies"));
  out->tenants.clear();
  for (uint64_t t : in.getTenants()) out->tenants.push_back(t);
  out->users.clear();
  for (uint64_t u : in.getUsers()) out->users.push_back(u);
  out->policies.clear();
  for (auto p : in.getPolicies()) {
    sharing::PermissionPolicy pp;
    if (p.getEffect() == wire::Effect::ALLOW) {
      pp.effect = sharing::Effect::kAllow;
    } else if (p.getEffect() == wire::Effect::DENY) {
      pp.effect = sharing::Effect::kDeny;
    } else {
      return Status::InvalidArgument("unknown policy effect " +
                                     std::to_string(static_cast<unsigned>(p.getEffect())));
    }
    COTENANT_RETURN_IF_ERROR(CopyName(p.getResourceTypeRegex(), "resourceTypeRegex", limits, &pp.resource_type));
    COTENANT_RETURN_IF_ERROR(CopyName(p.getApiNameRegex(), "apiNameRegex", limits, &pp.api_name));
    COTENANT_RETURN_IF_ERROR(CopyName(p.getMethodRegex(), "methodRegex", limits, &pp.method));
    out->policies.push_back(std::move(pp));
  }
  return Status::OK();
}

void ToWire(const sharing::PermissionSet& in, wire::PermissionSetInfo::Builder out) {
  out.setName(Txt(in.name));
  out.setSystemScope(in.system_scope);
  out.setAllTenants(in.all_tenants);
  auto tenants = out.initTenants(static_cast<unsigned>(in.tenants.size()));
  for (unsigned i = 0; i < in.tenants.size(); ++i) tenants.set(i, in.tenants[i]);
  auto users = out.initUsers(static_cast<unsigned>(in.users.size()));
  for (unsigned i = 0; i < in.users.size(); ++i) users.set(i, in.users[i]);
  auto pols = out.initPolicies(static_cast<unsigned>(in.policies.size()));
  for (unsigned i = 0; i < in.policies.size(); ++i) {
    const auto& p = in.policies[i];
    pols[i].setEffect(p.effect == sharing::Effect::kDeny ? wire::Effect::DENY : wire::Effect::ALLOW);
    pols[i].setResourceTypeRegex(Txt(p.resource_type));
    pols[i].setApiNameRegex(Txt(p.api_name));
    pols[i].setMethodRegex(Txt(p.method));
  }
}

}  // namespace cotenant::rpc
