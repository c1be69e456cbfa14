// Conversions between the SDK's public types and the Cap'n Proto wire types of
// schemas/cotenant.capnp. Internal to the library (not installed). Readers and builders
// belong to messages that live on the event-loop thread, so these run there.

#ifndef COTENANT_SDK_WIRE_H_
#define COTENANT_SDK_WIRE_H_

#include <cstdint>
#include <string>
#include <vector>

#include <capnp/list.h>

#include "cotenant/client.h"
#include "internal.h"
#include "schemas/cotenant.capnp.h"

namespace cotenant {
namespace internal {

// A Text reader over `s`; valid while `s` is.
inline capnp::Text::Reader txt(const std::string& s) {
  return capnp::Text::Reader(s.c_str(), s.size());
}
inline std::string str(capnp::Text::Reader t) { return std::string(t.cStr(), t.size()); }

// Field-name lists (projections, policy scopes); `out` has texts.size() elements.
void toWire(const std::vector<std::string>& texts, capnp::List<capnp::Text>::Builder out);
// Tenant and user id lists; `out` has ids.size() elements.
void toWire(const std::vector<uint64_t>& ids, capnp::List<uint64_t>::Builder out);

Value fromWire(wire::Value::Reader v);
void toWire(const Value& v, wire::Value::Builder out);
// `out` has p.size() elements.
void toWire(const Parameters& p, capnp::List<wire::Field>::Builder out);
// The permissions are kept only when the call asked for them.
Record fromWire(wire::Record::Reader r, bool withPermissions);

TenantKind fromWire(wire::TenantKind k);
wire::TenantKind toWire(TenantKind k);
FieldType fromWire(wire::FieldType t);
wire::FieldType toWire(FieldType t);
AdminLevel fromWire(wire::AdminLevel l);
wire::AdminLevel toWire(AdminLevel l);

Quota fromWire(wire::Quota::Reader q);
void toWire(const Quota& in, wire::Quota::Builder out);
TenantInfo fromWire(wire::TenantInfo::Reader t);
UserInfo fromWire(wire::UserInfo::Reader u);
ObjectInfo fromWire(wire::ObjectDef::Reader o);

Rights fromWire(wire::Rights::Reader r);
void toWire(const Rights& r, wire::Rights::Builder out);
// `out` has rights.size() elements.
void toWire(const std::vector<ObjectRights>& rights,
            capnp::List<wire::ObjectRights>::Builder out);
RoleInfo fromWire(wire::RoleInfo::Reader r);

PolicyInfo fromWire(wire::PolicyInfo::Reader p);
void toWire(const PolicyInfo& p, wire::PolicyInfo::Builder out);

ApiKeyInfo fromWire(wire::ApiKeyInfo::Reader k);
AuditEntry fromWire(wire::AuditEntry::Reader e);
UsageInfo fromWire(wire::UsageInfo::Reader u);

Effect fromWire(wire::Effect e);
wire::Effect toWire(Effect e);
PermissionSetInfo fromWire(wire::PermissionSetInfo::Reader in);
void toWire(const PermissionSetInfo& in, wire::PermissionSetInfo::Builder out);

void toWire(const ExplainRequest& in, wire::ExplainRequest::Builder out);
Explanation fromWire(wire::Explanation::Reader in);

}  // namespace internal
}  // namespace cotenant

#endif  // COTENANT_SDK_WIRE_H_
