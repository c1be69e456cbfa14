# Cotenant wire protocol, version 1.
#
# A client connects over TCP, takes the bootstrap capability (`Cotenant`), and logs in
# with a tenant id and an API key. Everything else goes through capabilities derived from
# the returned `Session`, so nothing is ever taken on the caller's word.
#
# Errors. A failed call raises a Cap'n Proto exception. Business outcomes use type
# FAILED with a description that starts with "cotenant:<Code>: " followed by a human
# message, where <Code> is one of
#   NotFound          the tenant, object or record does not exist (or is not visible)
#   PermissionDenied  the caller may not do this; the message says what was missing
#   InvalidArgument   the request is malformed; the message names the problem
#   Conflict          an expected version did not match, or a name is taken
#   ResourceExhausted a configured limit or quota was exceeded
#   Unauthenticated   bad tenant id or API key, or the key was revoked
#   Internal          the server hit an unexpected failure (I/O, corruption)
# A server that is shedding load raises OVERLOADED. Cap'n Proto may prefix the
# description with "remote exception: "; clients look for the "cotenant:" tag.
#
# Field numbers are never reused; new fields are only ever appended.

@0xd0057e2104b06e72;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("cotenant::wire");

struct Value {
  # One field value. The server checks it against the object's declared field type.
  # A `text` value sent for a non-text field is parsed strictly (e.g. "42" for an int,
  # "2024-05-01T12:00:00Z" for a timestamp); anything else that does not match the
  # declared type is InvalidArgument.
  union {
    null @0 :Void;          # no value (allowed unless the field is required)
    text @1 :Text;          # UTF-8 text
    int @2 :Int64;          # signed 64-bit integer
    float @3 :Float64;      # IEEE-754 double (NaN is rejected)
    bool @4 :Bool;          # true / false
    timestamp @5 :Int64;    # microseconds since 1970-01-01T00:00:00Z
  }
}

struct Field {
  # A named value inside a record.
  name @0 :Text;            # field name as declared on the object
  value @1 :Value;          # its value
}

struct RecordPermissions {
  # Per-record rights of the principal, returned when a read asks for them
  # ("retrieve record permissions").
  canUpdate @0 :Bool;       # the principal may update this record
  canDelete @1 :Bool;       # the principal may delete this record
}

struct Record {
  id @0 :UInt64;            # server-assigned, unique within the tenant, never reused
  fields @1 :List(Field);   # the projected fields (all declared fields when no projection)
  createdBy @2 :UInt64;     # user id that added the record
  createdAt @3 :Int64;      # microseconds since the epoch, server clock
  modifiedBy @4 :UInt64;    # user id of the last change
  modifiedAt @5 :Int64;     # microseconds since the epoch, server clock
  version @6 :UInt64;       # 1 on add; +1 on every update
  permissions @7 :RecordPermissions;  # set only when the read asked for permissions
}

struct TenantContext {
  # Names the tenant whose data a record call acts on. Absent, or naming the caller's own
  # tenant: the call acts on the caller's tenant as the caller. Naming another tenant: the
  # server resolves that tenant's data-sharing policy for the caller's tenant.
  tenantId @0 :UInt64;      # the publishing tenant
}

enum SortOrder {
  ascending @0;             # nulls last, ties by record id
  descending @1;            # nulls first, ties by record id
}

enum FieldType {
  text @0;
  int @1;
  float @2;
  bool @3;
  timestamp @4;
}

struct FieldDef {
  name @0 :Text;            # [A-Za-z_][A-Za-z0-9_]{0,63}; not a system field name
  type @1 :FieldType;       # declared type; values are checked against it
  required @2 :Bool;        # add must give a non-null value; update may not set null
  indexed @3 :Bool;         # keep a secondary index (used by search for filters and sorts)
  unique @4 :Bool;          # at most one record holds each value (nulls aside): a write
                            # giving a second record the value is Conflict naming the field
                            # and value. Implies indexed. Records are reached by a unique
                            # field's value with getRecordBy and the other calls by key.
}

struct ObjectDef {
  id @0 :UInt32;            # server-assigned, unique within the tenant
  name @1 :Text;            # unique within the tenant, same syntax as field names
  fields @2 :List(FieldDef);
}

enum TenantKind {
  tenant @0;                # an ordinary customer tenant
  msp @1;                   # a managed service provider (provider must be an ISV)
  isv @2;                   # an independent software vendor (has no provider)
  system @3;                # the operator's own tenant, created on first start
}

struct Quota {
  # What one tenant may use; 0 = no limit. A call past a quota is answered
  # ResourceExhausted naming it. Set by system admins (setQuota).
  records @0 :UInt64;         # records stored
  bytes @1 :UInt64;           # bytes stored, as usage counts them
  callsPerSecond @2 :UInt32;  # calls by the tenant's users (bursts of up to a second's worth)
  concurrentWork @3 :UInt32;  # storage jobs of the tenant's users queued or running at once
}

struct TenantInfo {
  id @0 :UInt64;            # server-assigned, shown in decimal, never reused
  name @1 :Text;            # display name, unique among live tenants
  kind @2 :TenantKind;
  provider @3 :UInt64;      # the ISV or MSP that manages it; 0 = none
  createdAt @4 :Int64;      # microseconds since the epoch
  quota @5 :Quota;
}

enum AdminLevel {
  user @0;                  # data calls only (subject to role rights)
  tenantAdmin @1;           # manages its own tenant's users, roles, objects and policies
  systemAdmin @2;           # manages every tenant
}

struct UserInfo {
  id @0 :UInt64;            # server-assigned, unique across the installation
  tenantId @1 :UInt64;      # home tenant
  name @2 :Text;            # unique within the home tenant
  level @3 :AdminLevel;
  createdAt @4 :Int64;      # microseconds since the epoch
}

struct Rights {
  # What a role grants on one object.
  read @0 :Bool;            # getRecord, getRecords, searchRecords
  add @1 :Bool;             # addRecord, addRecords, importRecords, finishImport
  update @2 :Bool;          # updateRecord
  delete @3 :Bool;          # deleteRecord
}

struct ObjectRights {
  object @0 :Text;          # an object name, or "*" for every object of the tenant
  rights @1 :Rights;
}

struct RoleMember {
  tenantId @0 :UInt64;      # the member's home tenant (another tenant only for cross-tenant roles)
  userId @1 :UInt64;
}

struct RoleInfo {
  id @0 :UInt64;            # server-assigned
  tenantId @1 :UInt64;      # the tenant the role belongs to
  name @2 :Text;            # unique within the tenant
  rights @3 :List(ObjectRights);  # per object; "*" applies to objects not named
  crossTenant @4 :Bool;     # may have users of other tenants as members (system setting
                            # crossTenantRoles must be on)
  members @5 :List(RoleMember);
}

struct ObjectScope {
  # What a data-sharing policy exposes of one object.
  object @0 :Text;          # object name
  rowFilter @1 :Text;       # criteria (docs/CRITERIA.md); empty = every row
  fields @2 :List(Text);    # field allow-list; empty = every field
}

struct PolicyInfo {
  # A tenant data-sharing policy (docs/SHARING.md): the publisher lets the designated
  # tenant's code act on its data as `userId`, with that user's role rights, within `scope`.
  publisher @0 :UInt64;     # the tenant that owns the data (set by the server)
  name @1 :Text;            # unique within the publisher
  designated @2 :UInt64;    # the tenant admitted; 0 for a global policy
  global @3 :Bool;          # a global policy (ISVs and MSPs only): admits every tenant the
                            # publisher manages, an ISV's transitively through its MSPs
  userId @4 :UInt64;        # a live user of the publisher: the principal of admitted calls
  scope @5 :List(ObjectScope);  # empty = every object the user's roles reach
  expiresAt @6 :Int64;      # microseconds since the epoch; 0 = never. Expired = absent.
  createdAt @7 :Int64;      # set by the server
  modifiedAt @8 :Int64;     # set by the server
}

struct ApiKeyInfo {
  keyId @0 :Text;           # the public part of the key (it is also inside the key)
  userId @1 :UInt64;
  createdAt @2 :Int64;
  revoked @3 :Bool;
}

struct AuditEntry {
  time @0 :Int64;           # microseconds since the epoch
  callerTenant @1 :UInt64;  # the tenant of the user that called
  callerUser @2 :UInt64;
  principal @3 :UInt64;     # the user the call ran as (the policy's user through a policy)
  targetTenant @4 :UInt64;  # the tenant whose data or settings the call touched
  api @5 :Text;             # e.g. "getRecord", "createPolicy"
  object @6 :Text;          # the object, or for admin calls what was changed
  recordId @7 :UInt64;      # 0 when none
  outcome @8 :Text;         # "OK" or the error code name
  detail @9 :Text;          # how the context resolved ("policy share-with-xyz"), or the change
}

struct AuditQuery {
  tenantId @0 :UInt64;      # whose log; 0 = the caller's own tenant
  from @1 :Int64;           # inclusive, microseconds; 0 = the beginning
  to @2 :Int64;             # exclusive; 0 = now
  callerTenant @3 :UInt64;  # only entries of calls from this tenant; 0 = any
  outcome @4 :Text;         # only this outcome ("OK", "PermissionDenied", ...); "" = any
  limit @5 :UInt32;         # keep the newest this many, returned oldest first; 0 = 1000
  direction @6 :Text;       # "in": calls of other tenants into this one; "out": calls its
                            # users made into other tenants; "" = every entry
}

struct ApiCount {
  api @0 :Text;
  calls @1 :UInt64;
}

struct UsageInfo {
  # Metering of one tenant: the tenant is the unit of usage and billing (docs/SHARING.md).
  tenantId @0 :UInt64;
  records @1 :UInt64;             # records stored
  bytes @2 :UInt64;               # bytes of records stored (encoded)
  calls @3 :List(ApiCount);       # calls made by the tenant's users, by API
  servedToOthers @4 :UInt64;      # calls of other tenants served through its policies
  consumedFromOthers @5 :UInt64;  # calls its users made into other tenants
  quota @6 :Quota;                # the limits these figures are held to
}

struct UsageSample {
  # A tenant's figures at one time (Admin.usageHistory).
  at @0 :Int64;                   # seconds since the epoch
  records @1 :UInt64;
  bytes @2 :UInt64;
  calls @3 :List(ApiCount);
  servedToOthers @4 :UInt64;
  consumedFromOthers @5 :UInt64;
}

struct LintFinding {
  # A permission set rule that cannot do what it seems to (Admin.lintPermissionSets).
  set @0 :Text;
  policy @1 :UInt32;              # 1-based; 0 = the set as a whole
  kind @2 :Text;                  # never-matches, no-such-object, shadowed-by-deny, duplicate,
                                  # allows-everything, no-users, no-tenants, unknown-user,
                                  # unknown-tenant
  message @3 :Text;
}

struct Setting {
  name @0 :Text;            # "crossTenantRoles"
  value @1 :Text;           # "true" / "false"
}

enum Effect {
  allow @0;
  deny @1;
}

struct PermissionPolicyInfo {
  # One rule of a permission set. Each regex (RE2 syntax) must match the whole string.
  effect @0 :Effect;
  resourceTypeRegex @1 :Text;  # against "records/<Object>" or "admin/<thing>"
  apiNameRegex @2 :Text;       # against the schema's method name, e.g. "deleteRecord"
  methodRegex @3 :Text;        # against GET (reads), POST (adds, creates), PUT, DELETE
}

struct PermissionSetInfo {
  # API-level allow/deny rules (docs/PERMISSIONS.md). Sets that apply to the caller and the
  # tenant a call touches are evaluated: any matching deny denies; else a matching allow
  # allows; else denied. A set needs at least one policy (InvalidArgument otherwise).
  name @0 :Text;              # unique; 1-64 of [A-Za-z0-9_.-]
  systemScope @1 :Bool;       # true: applies to every user; false: to `users` only
  allTenants @2 :Bool;        # true: every tenant; false: `tenants` only
  tenants @3 :List(UInt64);
  users @4 :List(UInt64);     # user ids (user-scope sets)
  policies @5 :List(PermissionPolicyInfo);  # in order; numbered from 1 in messages
}

struct ExplainRequest {
  # A call to decide without performing it.
  userId @0 :UInt64;          # the caller; 0 = the explaining user itself
  tenantId @1 :UInt64;        # the tenant the call names (a TenantContext); 0 = the caller's own
  api @2 :Text;               # e.g. "deleteRecord", "createPolicy"
  object @3 :Text;            # record calls: the object
  draftPolicy @4 :PolicyInfo; # optional: decide as if this data-sharing policy were saved
                              # (in the tenant the call names, replacing the one of that name)
  draftPermissionSet @5 :PermissionSetInfo;  # optional: as if this set were saved
  removePermissionSet @6 :Text;  # optional: as if this set were deleted
}

struct Explanation {
  allowed @0 :Bool;
  code @1 :Text;              # "OK" or the error code the call would get
  message @2 :Text;           # the message the call would get ("" when allowed)
  contextPath @3 :Text;       # own | cross-tenant role | policy | global policy | denied
  policy @4 :Text;            # the data-sharing policy that admitted the call, if any
  principal @5 :UInt64;       # the user the call would run as
  permissionSets @6 :List(ConsideredSet);
  decidingSet @7 :Text;       # "" when nothing matched (default deny)
  decidingPolicy @8 :UInt32;  # 1-based; 0 = none
  roleRights @9 :Text;        # the principal's rights on the object, e.g. "read,update"
  scope @10 :Text;            # the policy scope of the object (filter, fields), if any
  steps @11 :List(Text);      # the decision, step by step, in words
}

struct ConsideredSet {
  name @0 :Text;
  forUser @1 :UInt64;         # whose sets: the caller, or the policy's user
  matchedAllow @2 :List(UInt32);
  matchedDeny @3 :List(UInt32);
}

interface Cotenant {
  # The bootstrap capability.

  login @0 (tenantId :UInt64, apiKey :Text) -> (session :Session, user :UserInfo);
  # Authenticates a user of `tenantId` with an API key. A wrong tenant, an unknown or
  # revoked key, or a key of another tenant's user all answer Unauthenticated with the
  # same message, so neither tenants nor keys can be probed.
}

interface Session {
  # An authenticated user. Every call re-checks that the user, its key and its home
  # tenant still exist, so revocation reaches sessions opened before it.

  records @0 (context :TenantContext) -> (records :Records);
  # Returns the record API bound to a tenant. Without a context (or with one naming the
  # caller's own tenant) it acts on the caller's tenant. A context naming another tenant
  # is resolved at once (PermissionDenied when no data-sharing policy of that tenant
  # admits the caller's tenant), and again on every call made through it. Designed for
  # pipelining: `session.records(ctx).getRecord(...)` costs one round trip.

  admin @1 () -> (admin :Admin);
  # Administrative calls. They act on the caller's own tenant; only a system admin may
  # name another tenant (a `tenantId` of 0 means the caller's own).

  whoami @2 () -> (user :UserInfo);
  # The authenticated user.
}

interface Records {
  # Record calls on one tenant, as one principal. Object names are case-sensitive.

  addRecord @0 (object :Text, fields :List(Field), minimalReply :Bool) -> (record :Record);
  # Adds a record. Unknown fields, type mismatches and missing required fields are
  # InvalidArgument; a record over the size or field-count limit is ResourceExhausted.
  # The answer is the record as stored; with minimalReply only its id, version and system
  # fields (no `fields`), for writers that need nothing more.

  addRecords @1 (object :Text, records :List(List(Field))) -> (ids :List(UInt64));
  # Adds many records atomically (one storage batch): either all are added, or none and
  # the error names the index of the first bad record. The list is bounded by the
  # server's batch limit (ResourceExhausted beyond it).

  updateRecord @2 (object :Text, id :UInt64, fields :List(Field),
                   expectedVersion :UInt64, minimalReply :Bool) -> (record :Record);
  # Sets the given fields (others keep their values; a null value clears a field).
  # expectedVersion 0 means "any"; otherwise a record whose version differs fails with
  # Conflict and nothing is written. minimalReply as for addRecord.

  deleteRecord @3 (object :Text, id :UInt64, expectedVersion :UInt64) -> ();
  # Deletes a record and its index entries. expectedVersion as for updateRecord.

  getRecord @4 (object :Text, id :UInt64, fields :List(Text),
                retrievePermissions :Bool) -> (record :Record);
  # One record. `fields` projects (empty = every field); an unknown field name is
  # InvalidArgument; a missing record is NotFound.

  searchRecords @5 (request :SearchRequest) -> (result :SearchResult);
  # Records of one object that match a criteria expression (docs/CRITERIA.md), sorted,
  # paged. A page is never silently truncated: `complete` says whether more rows exist.

  getRecords @6 (object :Text, ids :List(UInt64), fields :List(Text),
                 retrievePermissions :Bool) -> (records :List(RecordOrMissing));
  # Many records of one object by id, in one call: the answer has one entry per id, in
  # the order asked (an id may repeat). An entry is the record, projected as by
  # getRecord, or `missing` with the message getRecord would answer NotFound with: a
  # record that does not exist and one the caller may not see are answered alike. The
  # list is bounded by the server's batch limit (ResourceExhausted beyond it). Anything
  # else (an unknown object or field, a denied call) fails the whole call as it fails
  # getRecord.

  importRecords @7 (object :Text, records :List(List(Field)), batch :ImportBatch,
                    dryRun :Bool) -> (results :List(ImportResult), replayed :Bool);
  # A bulk loader's batch (docs/IMPORT.md). The valid records are added atomically (one
  # storage batch) and each invalid one is rejected with its own reason, with nothing of
  # it written: a value the field's type refuses or a missing required field
  # (InvalidArgument), a record outside the rows the caller may write (PermissionDenied),
  # a record over the size limit (ResourceExhausted), a value of a unique field that another
  # record, or an earlier one of the batch, holds (Conflict). `results` has one entry per record,
  # in order. The whole call fails, writing nothing, for what concerns every record: an
  # unknown object, a denied call, a batch over the batch limit, the tenant's quota.
  # Rights: those of addRecords.
  #
  # With `batch.importId` set, the server records (caller, importId, sequence) in the same
  # write as the records. The same batch sent again (after the loader or the server
  # restarted) writes nothing and is answered with the first call's results and
  # `replayed` = true; sent again with other records it is Conflict. So a loader that
  # resumes from a checkpoint older than what it sent adds every record exactly once.
  # dryRun: every record is checked as above and nothing is written (ids are 0).

  finishImport @8 (object :Text, importId :Text) -> (batches :UInt64);
  # Forgets the batch records of a finished import of the caller (how many there were).
  # Rights: those of addRecords on `object`.

  describeObject @9 (object :Text) -> (object :ObjectDef);
  # The object's fields as the caller sees them: through a data-sharing policy with a
  # field allow-list, only the allowed fields. For whoever may read or add its records.

  getRecordBy @10 (object :Text, field :Text, value :Value, fields :List(Text),
                   retrievePermissions :Bool) -> (record :Record);
  # The record whose unique field `field` holds `value` (converted to the field's type as
  # a written value is), projected as by getRecord. A field that is not unique, or one the
  # caller's scope hides (answered as an unknown field), is InvalidArgument. A value no
  # record holds and one held by a record outside the rows the caller may see answer
  # alike: NotFound. Rights: those of getRecord.

  updateRecordBy @11 (object :Text, field :Text, value :Value, fields :List(Field),
                      expectedVersion :UInt64, minimalReply :Bool) -> (record :Record);
  # updateRecord on the record named by a unique field's value (as getRecordBy names
  # it). Rights: those of updateRecord.

  deleteRecordBy @12 (object :Text, field :Text, value :Value, expectedVersion :UInt64) -> ();
  # deleteRecord on the record named by a unique field's value. Rights: those of
  # deleteRecord.

  upsertRecord @13 (object :Text, field :Text, fields :List(Field), minimalReply :Bool)
      -> (record :Record, created :Bool);
  # Updates the record whose unique field `field` holds the value `fields` gives it (a
  # value is required; the fields named are set, the others kept), or adds a record when
  # none holds it; `created` says which. A record outside the rows the caller may see
  # holding the value is Conflict, as adding the value would be. Rights: both those of
  # addRecord and of updateRecord.

  beginPhysicalImport @14 (object :Text) -> (import :PhysicalImport);
  # Starts a physical import into `object`, which must hold no record (Conflict
  # otherwise, and while another physical import of it is open). The server writes the
  # records and their index entries into sorted files as batches come, and makes all of
  # them visible at once when the import commits; until then the object stays empty and
  # adding to it any other way is Conflict. Releasing the capability without committing
  # (or losing the connection) abandons the import: nothing becomes visible and its files
  # are deleted. Rights: those of addRecords; every later call on the import is decided
  # again, with the same rights.

  struct ImportBatch {
    importId @0 :Text;        # 1..64 of [A-Za-z0-9_.-], chosen by the loader; "" = none
    sequence @1 :UInt64;      # the batch's number within the import
    upsertOn @2 :Text;        # a unique field: a record whose value of it some record
                              # holds updates that record instead (as upsertRecord; the
                              # call then also needs the rights of updateRecord); "" = add
  }

  struct ImportResult {
    union {
      id @0 :UInt64;          # the record added or updated (0 in a dry run)
      rejected @1 :Text;      # why it was not added: "<Code>: <message>"
    }
    updated @2 :Bool;         # upsertOn: an existing record was updated, not added
  }
}

interface PhysicalImport {
  # One physical import (Records.beginPhysicalImport). Calls may be sent without waiting
  # for the answers of earlier ones: they are taken one at a time, in the order sent.

  add @0 (records :List(List(Field))) -> (results :List(Records.ImportResult));
  # One batch (1 to the batch limit). Each record is checked as importRecords checks it
  # and gets its own result: the id it will have, or why it was rejected (nothing of it
  # is written). A unique value that another record of the import holds fails the whole
  # import at commit. The call fails as a whole for a bad batch, a denied call, or a
  # failed file write; after a failure of the import itself every later call answers
  # that failure. A caller whose scope of the object changed since the import began (a
  # data-sharing policy changed or went) ends the import: PermissionDenied.

  commit @1 () -> (records :UInt64);
  # Makes every record added so far visible in one atomic step, with its index entries,
  # and ends the import. Conflict when the object gained records meanwhile (none can be
  # added while the import is open; a restore can), ResourceExhausted when the records do
  # not fit the tenant's quota: then nothing is visible. `records`: how many are visible.

  abort @2 () -> ();
  # Ends the import: nothing becomes visible and its files are deleted.
}

struct RecordOrMissing {
  union {
    record @0 :Record;
    missing @1 :Text;         # NotFound, with its message
  }
}

struct SearchRequest {
  object @0 :Text;
  fields @1 :List(Text);        # projection; empty = every field
  criteria @2 :Text;            # filter expression; empty = every record
  sortBy @3 :Text;              # first sort key (a field or id/createdAt/modifiedAt/...); empty = record id
  sortOrder @4 :SortOrder;
  sortBy2 @5 :Text;             # second sort key; empty = none
  sortOrder2 @6 :SortOrder;
  offset @7 :UInt32;            # rows to skip (after the continuation point, if any)
  numberOfRows @8 :UInt32;      # page size, 1..1000 (server limit); 0 means the default (100)
  continuation @9 :Data;        # token from a previous page of the same query; empty = start
  retrievePermissions @10 :Bool;  # fill Record.permissions
  parameters @11 :List(Value);  # the values of the criteria's `?` placeholders, in order
  # (one each, none null; text ones count toward the criteria's size limit). A value
  # stands for itself: text needs no quoting, so criteria built from user input never
  # need escaping. Non-text fields convert a text value strictly, as for record values.
}

struct SearchResult {
  records @0 :List(Record);
  complete @1 :Bool;            # true when no row follows this page
  continuation @2 :Data;        # pass back to get the next page; empty when complete
}

interface Admin {
  # Administrative calls. `tenantId` 0 = the caller's own tenant.

  createTenant @0 (name :Text, kind :TenantKind, provider :UInt64) -> (tenant :TenantInfo);
  # System admins only. The provider must be a live ISV (for an MSP) or a live ISV or
  # MSP (for a tenant); an ISV has none. An unknown provider is InvalidArgument.

  listTenants @1 () -> (tenants :List(TenantInfo));
  # System admins see every live tenant; others see their own.

  deleteTenant @2 (tenantId :UInt64) -> ();
  # System admins only. Tombstones the tenant (nothing is served from it any more), then
  # drops every key of it and compacts the range. Its id is never reused. The system
  # tenant cannot be deleted.

  createObject @3 (tenantId :UInt64, name :Text, fields :List(FieldDef)) -> (object :ObjectDef);
  # Tenant admins of the tenant and system admins. A duplicate name is Conflict.

  listObjects @4 (tenantId :UInt64) -> (objects :List(ObjectDef));

  createUser @5 (tenantId :UInt64, name :Text, level :AdminLevel) -> (user :UserInfo, apiKey :Text);
  # Creates a user with a first API key, returned once (only its hash is stored).
  # Tenant admins create users of their own tenant and may not create system admins.

  listUsers @6 (tenantId :UInt64) -> (users :List(UserInfo));

  deleteUser @7 (tenantId :UInt64, userId :UInt64) -> ();
  # Deletes a user, its keys and its role memberships. Every session of the user fails
  # at once; policies naming it admit nobody until changed.

  createApiKey @8 (tenantId :UInt64, userId :UInt64) -> (key :ApiKeyInfo, apiKey :Text);
  # A further key for a user (rotation: create the new key, then revoke the old one).
  # Only tenant admins of the user's tenant, system admins, or the user itself (a plain
  # user may manage its own keys). No tenant admin acts on a system admin's keys.

  revokeApiKey @9 (tenantId :UInt64, keyId :Text) -> ();
  # Revokes a key: every later call of a session opened with it fails. The key's user
  # itself, tenant admins of its tenant (never a system admin's key), or system admins.

  listApiKeys @10 (tenantId :UInt64, userId :UInt64) -> (keys :List(ApiKeyInfo));

  createRole @11 (tenantId :UInt64, name :Text, rights :List(ObjectRights),
                  crossTenant :Bool) -> (role :RoleInfo);
  updateRole @12 (tenantId :UInt64, name :Text, rights :List(ObjectRights),
                  crossTenant :Bool) -> (role :RoleInfo);
  # Replaces the role's rights and cross-tenant flag. Clearing the flag removes the
  # members from other tenants (setting it again does not restore them). Rights may name
  # objects that do not exist yet.
  deleteRole @13 (tenantId :UInt64, name :Text) -> ();
  listRoles @14 (tenantId :UInt64) -> (roles :List(RoleInfo));

  addRoleMember @15 (tenantId :UInt64, role :Text, memberTenant :UInt64, userId :UInt64) -> ();
  # Gives a user the role (memberTenant 0 = the role's own tenant). A user of another
  # tenant only for a cross-tenant role (InvalidArgument otherwise), only while the system
  # setting crossTenantRoles is on (PermissionDenied otherwise), and only by the role's
  # tenant admin or a system admin.
  removeRoleMember @16 (tenantId :UInt64, role :Text, memberTenant :UInt64, userId :UInt64) -> ();

  createPolicy @17 (tenantId :UInt64, policy :PolicyInfo) -> (policy :PolicyInfo);
  # Publishes a data-sharing policy of `tenantId`. A second policy for the same designated
  # tenant (or a second global policy), or a taken name, is Conflict. A user that is not a
  # live user of the publisher is InvalidArgument.
  updatePolicy @18 (tenantId :UInt64, policy :PolicyInfo) -> (policy :PolicyInfo);
  # Replaces the policy named policy.name (its user, scope and expiry). The designated
  # tenant is fixed: naming another one is InvalidArgument (delete the policy and create
  # one for the other tenant); nothing the update names is silently ignored.
  deletePolicy @19 (tenantId :UInt64, name :Text) -> ();
  listPolicies @20 (publishedBy :UInt64, designating :UInt64) -> (policies :List(PolicyInfo));
  # Exactly one of the two is non-zero. publishedBy = T: who can reach T's data, as whom,
  # with what scope. designating = T: whose data T can reach (global policies of T's
  # providers included). Others than system admins may only name their own tenant.

  setSetting @21 (name :Text, value :Text) -> ();
  # System admins only. "crossTenantRoles" = "true" | "false". Switching it off keeps
  # cross-tenant memberships but admits nobody through them until it is switched on.
  listSettings @22 () -> (settings :List(Setting));

  queryAudit @23 (query :AuditQuery) -> (entries :List(AuditEntry));
  # A tenant's audit log: calls made through TenantContexts (in both tenants' logs) and
  # administrative changes. Tenant admins read their own tenant's; system admins any.

  usage @24 (tenantId :UInt64) -> (usage :UsageInfo);
  # A tenant's metering. Tenant admins read their own tenant's; system admins any.

  createPermissionSet @25 (set :PermissionSetInfo) -> ();
  # System admins only. A bad regex is InvalidArgument naming the pattern and RE2's reason.
  updatePermissionSet @26 (set :PermissionSetInfo) -> ();
  deletePermissionSet @27 (name :Text) -> ();
  listPermissionSets @28 () -> (sets :List(PermissionSetInfo));

  explain @29 (request :ExplainRequest) -> (explanation :Explanation);
  # The whole decision of a call without performing it: how the context resolves, each
  # permission set considered and which policy decided, the role right, the scope. With
  # a draft policy or permission set, the decision as if it were saved (simulate).
  # Tenant admins explain calls of users of their tenant; system admins any.

  checkStore @30 (maxProblems :UInt32) -> (report :StoreCheckReport);
  # System admins only. Checks the whole store on one snapshot while it serves (indexes
  # against records, usage counters, keys of deleted tenants, references, id sequences;
  # docs/OPERATIONS.md, "Checking a store"). Runs on the work pool; writes are held off
  # only for the instant the snapshot is taken. maxProblems: how many problems to list
  # (0 = 100; at most 10000); problemCount counts them all.

  struct StoreCheckReport {
    clean @0 :Bool;                        # no problem found
    checked @1 :List(Count);               # how many items of each kind were checked
    pendingDeletions @2 :List(UInt64);     # tenants whose interrupted deletion is unfinished
    problemCount @3 :UInt64;               # every problem found, listed or not
    problems @4 :List(Problem);            # the first maxProblems found

    struct Count {
      what @0 :Text;                       # "records", "index entries", "sequences", ...
      count @1 :UInt64;
    }
    struct Problem {
      kind @0 :Text;                       # "index-missing", "orphan-key", ...
      tenant @1 :UInt64;                   # the tenant it concerns (0 = installation-wide)
      key @2 :Text;                        # the key, printable ("indexes:7/1/field 0/...")
      what @3 :Text;                       # what is wrong
    }
  }

  setQuota @31 (tenantId :UInt64, quota :Quota) -> ();
  # System admins only. Replaces the tenant's quota (every field; 0 = no limit). Usage
  # already past a new limit stays; further growth is refused.

  backup @32 (dir :Text, keep :UInt32) -> (backup :BackupInfo);
  # System admins only. Adds a consistent backup of the whole store to `dir`, an absolute
  # path on the server's machine (created mode 0700 when missing), while the server goes
  # on serving. Files that earlier backups in `dir` already hold are shared, not copied
  # again, so a second backup copies only what changed. keep > 0: afterwards, delete all
  # but the newest `keep` backups in `dir`. Busy while another backup runs. Restore with
  # `cotenantd --restore-from DIR --data NEWDIR` (docs/OPERATIONS.md, "Backups").

  struct BackupInfo {
    id @0 :UInt32;            # 1, 2, ... within its directory
    createdAt @1 :Int64;      # seconds since the epoch
    sizeBytes @2 :UInt64;     # of every file the backup needs, shared ones included
    files @3 :UInt32;         # how many files it needs
    copiedBytes @4 :UInt64;   # written into the directory by this backup
    kept @5 :UInt32;          # backups in the directory afterwards
  }

  readTenantRecords @33 (tenantId :UInt64, object :Text, afterId :UInt64, limit :UInt32)
      -> (records :List(Record), complete :Bool);
  # System admins only (a dump: `cotenant tenant dump`). Up to `limit` (1..1000) records of
  # the tenant's object whose id is greater than `afterId`, in id order, read from one
  # snapshot, every declared field present (a null Value when unset) with id, version and
  # created/modified by and at as stored. No role rights or policy scope apply: the call
  # reads the tenant as stored. complete = no record follows; otherwise call again with
  # afterId = the last id. Audited in the tenant's log.

  restoreTenantRecords @34 (tenantId :UInt64, object :Text, records :List(Record))
      -> (restored :UInt32);
  # System admins only (a restore: `cotenant tenant restore`). Writes records with their
  # own id, version, createdBy/At and modifiedBy/At into the tenant's object, all or none
  # (at most 1000). Ids strictly ascending, the first greater than every id the object
  # holds (nothing is ever overwritten), each below 2^63; versions >= 1; values checked as
  # an add checks them; `permissions` is ignored. The tenant's record id sequence moves
  # past the largest id, so a later add never reuses one; usage and quotas count the
  # records. Audited in the tenant's log.

  usageHistory @35 (tenantId :UInt64) -> (intervalSeconds :UInt32, samples :List(UsageSample));
  # Tenant admins (own tenant) and system admins. The tenant's usage sampled every
  # intervalSeconds (cotenantd --usage-history-interval), oldest first, the newest kept
  # (--usage-history-samples), then its figures now. Kept in memory by each server from its
  # start; each sample is the figures of the whole store.

  lintPermissionSets @36 () -> (findings :List(LintFinding));
  # Tenant admins and system admins: what is wrong with the permission sets the caller can
  # list (listPermissionSets): rules that match no call or no existing object, allow rules
  # every call of which a deny rule denies, repeated rules, sets for nobody, unknown users
  # and tenants (docs/PERMISSIONS.md, "Lint").
}
