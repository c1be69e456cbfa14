// Conversions between the wire types (schemas/cotenant.capnp) and storage/sharing types.
//
// Everything read from a capnp Reader is copied into plain C++ values here, on the event
// loop thread, before any work is handed to another thread: readers point into the
// request message, which belongs to the loop. Builders are only ever filled on the loop.
//
// Wire input is bounded before it is copied (WireLimits); a violation is InvalidArgument
// (text too long, bad enum value) or ResourceExhausted (too many list entries).

#ifndef COTENANT_RPC_CONVERT_H_
#define COTENANT_RPC_CONVERT_H_

#include <string>
#include <string_view>
#include <vector>

#include "schemas/cotenant.capnp.h"
#include "sharing/audit.h"
#include "sharing/identity.h"
#include "sharing/permission_lint.h"
#include "sharing/permission_sets.h"
#include "sharing/sharing.h"
#include "sharing/usage.h"
#include "storage/storage.h"

namespace cotenant::rpc {

struct WireLimits {
  size_t max_fields_per_record = 256;  // entries of a `fields` list (values or projection)
  size_t max_name_bytes = 256;         // object, field, tenant and user names, sort keys
  size_t max_api_key_bytes = 256;      // longer keys are rejected as bad credentials
  size_t max_continuation_bytes = 4096;
  // Search criteria and row filters (the store's Limits::max_criteria_bytes).
  size_t max_criteria_bytes = storage::Limits{}.max_criteria_bytes;
};

// Copies client text after checking that it is well-formed UTF-8 (InvalidArgument
// naming `what` and the offset of the first bad byte otherwise).
Status CopyText(capnp::Text::Reader text, std::string_view what, std::string* out);

// Copies a name (object, field, tenant, user, sort key) after checking its length and,
// as CopyText, its encoding. `what` names it in the error ("object name").
Status CopyName(capnp::Text::Reader text, std::string_view what, const WireLimits& limits,
                std::string* out);

// Copies a criteria text (search criteria, a row filter) as CopyText does, after checking
// its size against limits.max_criteria_bytes, before any of it is copied or parsed. `what` names it in the
// error ("criteria", "row filter of Customers").
Status CopyCriteria(capnp::Text::Reader text, std::string_view what, const WireLimits& limits,
                    std::string* out);

// Wire value -> storage value. NaN floats are InvalidArgument naming `field`.
Status FromWire(wire::Value::Reader in, std::string_view field, storage::Value* out);

// The bound parameters of a search's criteria: at most criteria::kMaxTokens of them, and
// their text together with the criteria (`criteria_bytes`) within
// limits.max_criteria_bytes; each value as FromWire takes it, errors naming "criteria
// parameter N".
Status CopyParameters(capnp::List<wire::Value>::Reader in, size_t criteria_bytes,
                      const WireLimits& limits, std::vector<storage::Value>* out);
void ToWire(const storage::Value& in, wire::Value::Builder out);

// A `fields` list of an add or update: at most limits.max_fields_per_record entries
// (ResourceExhausted), each name checked as by CopyName. `where` prefixes errors
// ("record 3: ") for batches.
Status FromWire(capnp::List<wire::Field>::Reader in, const WireLimits& limits,
                std::string_view where, storage::FieldValues* out);

// A projection list: at most limits.max_fields_per_record names.
Status CopyProjection(capnp::List<capnp::Text>::Reader in, const WireLimits& limits,
                      std::vector<std::string>* out);

// Resolves a projection against an object: empty = every declared field; system field
// names are accepted and skipped (the Record struct carries them anyway); an unknown
// name is InvalidArgument naming it. *slots receives declared-field slots, no repeats.
Status ResolveProjection(const storage::ObjectDef& def, const std::vector<std::string>& names,
                         std::vector<int>* slots);

// Record -> wire, with the declared fields in `slots` (every projected field appears, a
// null Value when unset). `permissions` fills Record.permissions when set.
struct RecordPermissionsView {
  bool can_update = false;
  bool can_delete = false;
};
void ToWire(const storage::Record& in, const storage::ObjectDef& def,
            const std::vector<int>& slots, const RecordPermissionsView* permissions,
            wire::Record::Builder out);
// Every declared field.
void ToWire(const storage::Record& in, const storage::ObjectDef& def, wire::Record::Builder out);

Status FromWire(wire::FieldType in, storage::FieldType* out);
wire::FieldType ToWire(storage::FieldType in);
Status FromWire(wire::TenantKind in, storage::TenantKind* out);
wire::TenantKind ToWire(storage::TenantKind in);
Status FromWire(wire::AdminLevel in, sharing::AdminLevel* out);
wire::AdminLevel ToWire(sharing::AdminLevel in);

Status FromWire(wire::FieldDef::Reader in, const WireLimits& limits, storage::FieldDef* out);
void ToWire(const storage::FieldDef& in, wire::FieldDef::Builder out);
void ToWire(const storage::ObjectDef& in, wire::ObjectDef::Builder out);
void ToWire(const storage::TenantQuota& in, wire::Quota::Builder out);
storage::TenantQuota FromWire(wire::Quota::Reader in);
void ToWire(const storage::TenantInfo& in, wire::TenantInfo::Builder out);
void ToWire(const sharing::User& in, wire::UserInfo::Builder out);

// ---- Sharing ---------------------------------------------------------------------------

// Rights per object; at most limits.max_fields_per_record entries; "*" allowed.
Status FromWire(capnp::List<wire::ObjectRights>::Reader in, const WireLimits& limits,
                sharing::RightsMap* out);
void ToWire(const sharing::Role& in, wire::RoleInfo::Builder out);
// A policy as sent by a client (publisher, timestamps are the server's to set).
Status FromWire(wire::PolicyInfo::Reader in, const WireLimits& limits, sharing::Policy* out);
void ToWire(const sharing::Policy& in, wire::PolicyInfo::Builder out);
void ToWire(const sharing::KeyInfo& in, wire::ApiKeyInfo::Builder out);
void ToWire(const sharing::AuditRecord& in, wire::AuditEntry::Builder out);
void ToWire(const sharing::UsageReport& in, wire::UsageInfo::Builder out);
void ToWire(const sharing::UsageSample& in, wire::UsageSample::Builder out);
void ToWire(const sharing::LintFinding& in, wire::LintFinding::Builder out);
Status FromWire(wire::PermissionSetInfo::Reader in, const WireLimits& limits,
                sharing::PermissionSet* out);
void ToWire(const sharing::PermissionSet& in, wire::PermissionSetInfo::Builder out);

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_CONVERT_H_
