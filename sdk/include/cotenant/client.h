// Cotenant C++ SDK: the Client and TenantContext. Include this header; it brings in the
// value types (<cotenant/types.h>) and the administration types (<cotenant/admin.h>).
//
// A Client is one authenticated connection to a cotenantd server. Record calls
// (addRecord, updateRecord, deleteRecord, getRecord, searchRecords) act on the caller's
// own tenant, or through a TenantContext on the data another tenant shares with it;
// administrative calls mirror the Admin interface of the wire schema
// (schemas/cotenant.capnp). docs/SDK.md is the guide.
//
//   auto client = cotenant::Client::connect("127.0.0.1:7770", 7771212345, apiKey);
//   cotenant::Parameters params;
//   params.add("first_name", "John");
//   cotenant::Result r = client->addRecord("Customers", params);
//   if (!r.ok()) std::cerr << r.getCode() << ": " << r.getMessage() << "\n";
//
// Errors. Record and admin calls never throw: the outcome is in the returned Result (or
// Outcome<T>), whose getCode() is ErrorCode::OK on success. Only two things throw
// cotenant::Error: Client::connect when it cannot connect or log in, and the TenantContext
// constructor when the server refuses the context (no data-sharing policy of that tenant
// admits the caller's tenant; docs/SHARING.md).
//
// Threads. A Client runs its network event loop on a background thread it owns. Every
// public member of Client, TenantContext, and of the futures they return may be used from
// any number of threads at once. Parameters, Value, Record and Result are plain values:
// safe to read from several threads, not to modify concurrently.
//
// Many calls in flight. Each *Async call returns a std::future at once and the request is
// sent without waiting for earlier ones; the synchronous calls are the Async ones followed
// by future::get(). Throughput on one connection comes from keeping many calls in flight.
//
// A lost connection. When the server goes away, the client logs in to the next address
// of its list that answers (round robin from the lost one, skipping those that cannot be
// reached, 5 s for each and 15 s in all) and goes on there: a read (get*, search*,
// describeObject, whoami, opening a TenantContext, the administrative list*, queryAudit,
// usage, explain, checkStore, readTenantRecords) is sent once more on the new connection;
// a write that may have reached the lost server answers Unavailable, its message saying
// that the outcome is unknown, and is never sent again; a write made once the loss was
// already known goes on the new connection. TenantContexts keep working; a PhysicalImport
// begun on the lost connection is abandoned. docs/SDK.md, "A lost connection".
//
// These headers do not expose Cap'n Proto; users need only them and the library.

#ifndef COTENANT_CLIENT_H_
#define COTENANT_CLIENT_H_

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "cotenant/admin.h"
#include "cotenant/types.h"

namespace cotenant {

// ---------------------------------------------------------------------------------------
// Client

class Client;
class ClientCore;  // internal
class ContextHandle;  // internal

// Names the tenant whose data a record call acts on. The server performs each call made
// through it as the user that tenant's data-sharing policy designates, within the policy's
// scope (docs/SHARING.md).
//
// The constructor resolves the context on the server at once (one round trip) and throws
// Error with PermissionDenied when no data-sharing policy of that tenant admits the
// caller's tenant (an unknown tenant gets the same answer), Unavailable without a
// connection, InvalidArgument for a tenant id string that is not a decimal number. Every
// call made through the context is checked again by the server, so a revoked policy
// takes effect at once.
//
// Copies share the server-side capability; it is released when the last copy goes.
// Thread-safe. A TenantContext may outlive its Client; calls through it then answer
// Unavailable. REQUIRES: a context is used only with the Client that made it (otherwise
// the call answers InvalidArgument).
class COTENANT_EXPORT TenantContext {
 public:
  TenantContext(Client& client, uint64_t tenantId);
  TenantContext(Client& client, const std::string& tenantId);

  uint64_t tenantId() const { return tenantId_; }

 private:
  friend class Client;
  uint64_t tenantId_;
  std::shared_ptr<ContextHandle> handle_;
};

// One physical import into an empty object (Client::beginPhysicalImport): the server
// writes the records and their index entries into sorted files as batches come and makes
// them all visible at once on commit(). Until then the object stays empty, and adding to
// it any other way is Conflict. Destroying the PhysicalImport without commit() (or losing
// the connection) abandons the import: nothing becomes visible and the server deletes its
// files. Each call is decided again by the server with the rights of addRecords; a
// caller whose access to the object changed since the import began (a data-sharing
// policy changed or went) finds the import ended with PermissionDenied.
//
// Thread-safe; calls are taken by the server one at a time, in the order made, so
// addAsync may be called again before an earlier batch is answered. REQUIRES: the Client
// outlives it (after the Client is gone, calls answer Unavailable).
class COTENANT_EXPORT PhysicalImport {
 public:
  ~PhysicalImport();
  PhysicalImport(const PhysicalImport&) = delete;
  PhysicalImport& operator=(const PhysicalImport&) = delete;

  // One batch (1 to the server's batch limit): one entry per record, in order, as
  // importRecords answers (replayed is always false). A rejected record has nothing of it
  // written. A unique value given to two records of the import fails commit() whole.
  Outcome<ImportReply> add(const std::vector<Parameters>& records);
  std::future<Outcome<ImportReply>> addAsync(const std::vector<Parameters>& records);
  // Makes every record added so far visible in one step and ends the import; the value is
  // how many. Conflict when the object gained records meanwhile, ResourceExhausted when
  // they do not fit the tenant's quota: then nothing is visible.
  Outcome<uint64_t> commit();
  // Ends the import; nothing becomes visible.
  Result abort();

 private:
  friend class Client;
  PhysicalImport(std::shared_ptr<ClientCore> core, uint64_t id);
  std::shared_ptr<ClientCore> core_;
  uint64_t id_;
};

// How a Client connects. The default is a plaintext connection.
//
// TLS is used when `tls` is true or any tls* field is set. The server's certificate must
// chain to a CA in tlsCa (or, with tlsCa empty, to the system's trusted CAs) and name
// tlsServerName (default: the host part of the address: "db.example.com:7770" expects a
// certificate for db.example.com). The name is matched against the certificate's DNS
// names only, not its IP-address entries: when the address is an IP address, set
// tlsServerName to a DNS name the certificate carries. For a server
// that asks for client certificates (mutual TLS), set tlsCert and tlsKey. Files are PEM
// and read once, by connect; the key must not be encrypted. TLS 1.2 or later.
//
// Synchronous calls. By default every call, synchronous or not, goes through the client's
// one connection and its event-loop thread: a synchronous call hands the request to that
// thread and waits for it to hand the answer back. With callerThreadConnections, the
// synchronous record calls (addRecord, addRecords, updateRecord, deleteRecord, getRecord,
// getRecords, search and searchRecords, getRecordBy, updateRecordBy, deleteRecordBy,
// upsertRecord) run on the calling thread itself, over a connection of that thread's own:
// no hand-off between threads, which is what many threads each making one call at a time
// need. Each calling
// thread's connection is opened and logged in (with this client's tenant, key and TLS
// settings) on the thread's first such call, lives until the thread ends or the Client is
// destroyed, and counts towards the server's connection limits (one per thread). A thread
// whose connection is lost logs in again as the client's own connection does (see "A lost
// connection" at the top of this file). Order: the synchronous calls of one thread reach
// the server in the order made; between a thread's asynchronous calls (which use the
// client's connection) and its synchronous ones there is no order unless it waits for the
// asynchronous result first.
// Everything else (asynchronous calls, administrative calls, TenantContext creation,
// physical imports) uses the client's connection as before.
struct ClientOptions {
  bool callerThreadConnections = false;
  bool tls = false;
  std::string tlsCa;          // CA certificate(s) trusted to sign the server's certificate
  std::string tlsCert;        // this client's certificate (chain), for mutual TLS
  std::string tlsKey;         // its private key; REQUIRES: tlsCert and tlsKey both or neither
  std::string tlsServerName;  // name the server's certificate must carry; "" = address host

  bool tlsEnabled() const {
    return tls || !tlsCa.empty() || !tlsCert.empty() || !tlsKey.empty() ||
           !tlsServerName.empty();
  }
};

class COTENANT_EXPORT Client {
 public:
  // Connects to `address` ("host:port"; IPv6 as "[::1]:7770") and logs in as the user
  // whose API key is `apiKey` in tenant `tenantId`. `address` may list several servers,
  // comma-separated ("a:7770,b:7770"): the first that can be reached serves the client,
  // and when its connection is lost the next one that answers does (see "A lost
  // connection" at the top of this file).
  // Throws Error: Unavailable when no server can be reached (naming each address tried),
  // Unauthenticated for a bad tenant or key, InvalidArgument for a malformed address. The returned client is connected; its
  // session and record capabilities are requested pipelined with the login.
  static std::unique_ptr<Client> connect(const std::string& address, uint64_t tenantId,
                                         const std::string& apiKey);
  // The same with connection options (TLS). Also throws InvalidArgument when a TLS file
  // cannot be read or parsed, or tlsCert is given without tlsKey; Unavailable, with the
  // reason, when the TLS handshake fails (the server's certificate is not trusted or does
  // not name the server, the server refused this client's certificate or has none).
  static std::unique_ptr<Client> connect(const std::string& address, uint64_t tenantId,
                                         const std::string& apiKey,
                                         const ClientOptions& options);

  // Stops the event-loop thread and closes the connection. Calls still in flight
  // complete with Unavailable ("client closed"); their futures stay valid.
  // REQUIRES: not called from a callback of this client (there are none today).
  ~Client();

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The user that logged in (from the login response; no round trip).
  const UserInfo& user() const;

  // The user the server sees now (a round trip; fails once the user or key is revoked).
  Outcome<UserInfo> whoami();

  // ---- Record calls --------------------------------------------------------------------
  // Each call has a form without TenantContext (the caller's own tenant) and one with.
  // Object names are case-sensitive. `fields` is a comma-separated list of field names
  // ("first_name,age"), or "*" / "" for every field.

  // Adds a record. On success getId() is the new id and getRecords() holds the record.
  Result addRecord(const std::string& object, const Parameters& params);
  Result addRecord(const std::string& object, const Parameters& params,
                   const TenantContext& ctx);
  std::future<Result> addRecordAsync(const std::string& object, const Parameters& params);
  std::future<Result> addRecordAsync(const std::string& object, const Parameters& params,
                                     const TenantContext& ctx);

  // Adds many records atomically: all or none. On success ids() holds the new ids in
  // input order; on failure the message names the index of the first bad record.
  Result addRecords(const std::string& object, const std::vector<Parameters>& records);
  Result addRecords(const std::string& object, const std::vector<Parameters>& records,
                    const TenantContext& ctx);
  std::future<Result> addRecordsAsync(const std::string& object,
                                      const std::vector<Parameters>& records);
  std::future<Result> addRecordsAsync(const std::string& object,
                                      const std::vector<Parameters>& records,
                                      const TenantContext& ctx);

  // Sets the given fields (others keep their values; addNull clears one). With a non-zero
  // expectedVersion the update fails with Conflict, writing nothing, unless the record's
  // version is that. On success getRecords() holds the updated record.
  Result updateRecord(const std::string& object, RecordId id, const Parameters& params,
                      uint64_t expectedVersion = 0);
  Result updateRecord(const std::string& object, RecordId id, const Parameters& params,
                      const TenantContext& ctx, uint64_t expectedVersion = 0);
  std::future<Result> updateRecordAsync(const std::string& object, RecordId id,
                                        const Parameters& params,
                                        uint64_t expectedVersion = 0);
  std::future<Result> updateRecordAsync(const std::string& object, RecordId id,
                                        const Parameters& params, const TenantContext& ctx,
                                        uint64_t expectedVersion = 0);

  // Deletes a record. expectedVersion as for updateRecord.
  Result deleteRecord(const std::string& object, RecordId id, uint64_t expectedVersion = 0);
  Result deleteRecord(const std::string& object, RecordId id, const TenantContext& ctx,
                      uint64_t expectedVersion = 0);
  std::future<Result> deleteRecordAsync(const std::string& object, RecordId id,
                                        uint64_t expectedVersion = 0);
  std::future<Result> deleteRecordAsync(const std::string& object, RecordId id,
                                        const TenantContext& ctx,
                                        uint64_t expectedVersion = 0);

  // One record, projected to `fields`. A missing record is NotFound. `params` may ask for
  // record permissions (Parameters::retrieveRecordPermissions); its fields are ignored.
  Result getRecord(const std::string& object, const std::string& fields, RecordId id,
                   const Parameters& params = Parameters());
  Result getRecord(const std::string& object, const std::string& fields, RecordId id,
                   const TenantContext& ctx, const Parameters& params = Parameters());
  std::future<Result> getRecordAsync(const std::string& object, const std::string& fields,
                                     RecordId id, const Parameters& params = Parameters());
  std::future<Result> getRecordAsync(const std::string& object, const std::string& fields,
                                     RecordId id, const TenantContext& ctx,
                                     const Parameters& params = Parameters());

  // Many records by id in one call: on success value() has one Result per id, in the
  // order asked (an id may repeat), each OK with getRecords() holding the record or
  // NotFound with getRecord's message (a record that does not exist and one the caller
  // may not see are answered alike). At most the server's batch limit of ids (1000 by
  // default; ResourceExhausted beyond it). A malformed id is InvalidArgument for the whole
  // call, without a round trip; so are the errors getRecord would give for every id (an
  // unknown object or field, a denied call).
  Outcome<std::vector<Result>> getRecords(const std::string& object, const std::string& fields,
                                          const std::vector<RecordId>& ids,
                                          const Parameters& params = Parameters());
  Outcome<std::vector<Result>> getRecords(const std::string& object, const std::string& fields,
                                          const std::vector<RecordId>& ids,
                                          const TenantContext& ctx,
                                          const Parameters& params = Parameters());
  std::future<Outcome<std::vector<Result>>> getRecordsAsync(
      const std::string& object, const std::string& fields, const std::vector<RecordId>& ids,
      const Parameters& params = Parameters());
  std::future<Outcome<std::vector<Result>>> getRecordsAsync(
      const std::string& object, const std::string& fields, const std::vector<RecordId>& ids,
      const TenantContext& ctx, const Parameters& params = Parameters());

  // ---- Records by a unique field's value ----------------------------------------------
  // `field` is a unique field of the object (FieldDef::unique) and `value` the value that
  // names the record (a text value is converted to the field's type, as for writes). A
  // field that is not unique, or one the caller may not see, is InvalidArgument. A value
  // no record holds and one held by a record the caller may not see are both NotFound.

  // getRecord on the record that holds the value.
  Result getRecordBy(const std::string& object, const std::string& fields,
                     const std::string& field, const Value& value,
                     const Parameters& params = Parameters());
  Result getRecordBy(const std::string& object, const std::string& fields,
                     const std::string& field, const Value& value, const TenantContext& ctx,
                     const Parameters& params = Parameters());
  std::future<Result> getRecordByAsync(const std::string& object, const std::string& fields,
                                       const std::string& field, const Value& value,
                                       const Parameters& params = Parameters());
  std::future<Result> getRecordByAsync(const std::string& object, const std::string& fields,
                                       const std::string& field, const Value& value,
                                       const TenantContext& ctx,
                                       const Parameters& params = Parameters());
  // updateRecord on the record that holds the value.
  Result updateRecordBy(const std::string& object, const std::string& field, const Value& value,
                        const Parameters& params, uint64_t expectedVersion = 0);
  Result updateRecordBy(const std::string& object, const std::string& field, const Value& value,
                        const Parameters& params, const TenantContext& ctx,
                        uint64_t expectedVersion = 0);
  std::future<Result> updateRecordByAsync(const std::string& object, const std::string& field,
                                          const Value& value, const Parameters& params,
                                          uint64_t expectedVersion = 0);
  std::future<Result> updateRecordByAsync(const std::string& object, const std::string& field,
                                          const Value& value, const Parameters& params,
                                          const TenantContext& ctx,
                                          uint64_t expectedVersion = 0);
  // deleteRecord on the record that holds the value.
  Result deleteRecordBy(const std::string& object, const std::string& field, const Value& value,
                        uint64_t expectedVersion = 0);
  Result deleteRecordBy(const std::string& object, const std::string& field, const Value& value,
                        const TenantContext& ctx, uint64_t expectedVersion = 0);
  std::future<Result> deleteRecordByAsync(const std::string& object, const std::string& field,
                                          const Value& value, uint64_t expectedVersion = 0);
  std::future<Result> deleteRecordByAsync(const std::string& object, const std::string& field,
                                          const Value& value, const TenantContext& ctx,
                                          uint64_t expectedVersion = 0);
  // Updates the record whose unique `field` holds the value `params` gives it (the fields
  // given are set, the others kept), or adds a record when none holds it: created() says
  // which, getRecords() holds the record. A value held by a record the caller may not see
  // is Conflict, as adding it would be. Needs the rights to add and to update.
  Result upsertRecord(const std::string& object, const std::string& field,
                      const Parameters& params);
  Result upsertRecord(const std::string& object, const std::string& field,
                      const Parameters& params, const TenantContext& ctx);
  std::future<Result> upsertRecordAsync(const std::string& object, const std::string& field,
                                        const Parameters& params);
  std::future<Result> upsertRecordAsync(const std::string& object, const std::string& field,
                                        const Parameters& params, const TenantContext& ctx);

  // A bulk loader's batch (docs/IMPORT.md): the valid records are added atomically and
  // each invalid one is rejected on its own (its code and reason in the reply, nothing of
  // it written): a value its field's type refuses, a missing required field, a record
  // outside the rows the caller may write, one over the size limit. The call as a whole
  // fails, writing nothing, only for what concerns every record (an unknown object, a
  // denied call, more records than the batch limit, the tenant's quota). A value of a
  // unique field that another record, or an earlier one of the batch, holds rejects the
  // record with Conflict; with batch.upsertOn such a record updates the holder instead
  // (its entry's `updated`). With batch.importId set, the same batch sent again is
  // answered from its first outcome (reply.replayed) and adds nothing; sent again with
  // other records it is Conflict. dryRun checks every record and writes nothing.
  Outcome<ImportReply> importRecords(const std::string& object,
                                     const std::vector<Parameters>& records,
                                     const ImportBatch& batch, bool dryRun = false);
  Outcome<ImportReply> importRecords(const std::string& object,
                                     const std::vector<Parameters>& records,
                                     const ImportBatch& batch, const TenantContext& ctx,
                                     bool dryRun = false);
  std::future<Outcome<ImportReply>> importRecordsAsync(const std::string& object,
                                                       const std::vector<Parameters>& records,
                                                       const ImportBatch& batch,
                                                       bool dryRun = false);
  std::future<Outcome<ImportReply>> importRecordsAsync(const std::string& object,
                                                       const std::vector<Parameters>& records,
                                                       const ImportBatch& batch,
                                                       const TenantContext& ctx,
                                                       bool dryRun = false);
  // Forgets what the server kept of a finished import's batches; the value is how many.
  Outcome<uint64_t> finishImport(const std::string& object, const std::string& importId);
  Outcome<uint64_t> finishImport(const std::string& object, const std::string& importId,
                                 const TenantContext& ctx);
  // Starts a physical import into `object` (see PhysicalImport), which must hold no
  // record. Throws Error: Conflict when the object holds records or another physical
  // import of it is open, NotFound for an unknown object, PermissionDenied without the
  // rights of addRecords, Unavailable without a connection.
  std::unique_ptr<PhysicalImport> beginPhysicalImport(const std::string& object);
  std::unique_ptr<PhysicalImport> beginPhysicalImport(const std::string& object,
                                                      const TenantContext& ctx);
  // The object's fields as the caller sees them (through a data-sharing policy with a
  // field allow-list, only those fields). For whoever may read or add its records.
  Outcome<ObjectInfo> describeObject(const std::string& object);
  Outcome<ObjectInfo> describeObject(const std::string& object, const TenantContext& ctx);

  // Simple search: records matching `criteria` ("" = all), by record id, first page of
  // the server's default size. complete() says whether more rows exist.
  Result searchRecords(const std::string& object, const std::string& fields,
                       const std::string& criteria, const Parameters& params = Parameters());
  Result searchRecords(const std::string& object, const std::string& fields,
                       const std::string& criteria, const TenantContext& ctx,
                       const Parameters& params = Parameters());

  // Detailed search: sorted by sortBy then sortBy2 ("" = none), orders "asc"
  // or "desc", skipping `offset` rows, returning at most numberOfRows (1..1000) rows.
  // Nulls sort last ascending and first descending; ties by record id.
  Result searchRecords(const std::string& object, const std::string& fields,
                       const std::string& criteria, const std::string& sortBy,
                       const std::string& sortOrder, const std::string& sortBy2,
                       const std::string& sortOrder2, int offset, int numberOfRows,
                       const Parameters& params = Parameters());
  Result searchRecords(const std::string& object, const std::string& fields,
                       const std::string& criteria, const std::string& sortBy,
                       const std::string& sortOrder, const std::string& sortBy2,
                       const std::string& sortOrder2, int offset, int numberOfRows,
                       const TenantContext& ctx, const Parameters& params = Parameters());

  // Any search, including the next page of an earlier one: set query.continuation to the
  // previous Result::continuation() and keep the rest of the query the same (offset and
  // numberOfRows may change). A token serves only the user, tenant context and query it
  // was issued for; any other use is InvalidArgument (docs/CRITERIA.md).
  Result search(const SearchQuery& query);
  Result search(const SearchQuery& query, const TenantContext& ctx);
  std::future<Result> searchAsync(const SearchQuery& query);
  std::future<Result> searchAsync(const SearchQuery& query, const TenantContext& ctx);

  // ---- Administrative calls (schemas/cotenant.capnp `Admin`) ---------------------------
  // They act on the caller's own tenant; only a system admin may name another tenant.
  // A `tenantId` of 0 means the caller's own tenant.

  Outcome<TenantInfo> createTenant(const std::string& name, TenantKind kind,
                                   uint64_t provider = 0);  // system admins only
  Outcome<std::vector<TenantInfo>> listTenants();
  Result deleteTenant(uint64_t tenantId);  // system admins only
  Outcome<ObjectInfo> createObject(uint64_t tenantId, const std::string& name,
                                   const std::vector<FieldDef>& fields);
  Outcome<std::vector<ObjectInfo>> listObjects(uint64_t tenantId = 0);
  Outcome<NewUser> createUser(uint64_t tenantId, const std::string& name, AdminLevel level);
  Outcome<std::vector<UserInfo>> listUsers(uint64_t tenantId = 0);
  // Deletes the user, its keys and role memberships; its open sessions fail at once and
  // policies naming it admit nobody until changed.
  Result deleteUser(uint64_t tenantId, uint64_t userId);

  // API keys. Rotation: createApiKey, switch the application over, revokeApiKey(old).
  // Tenant admins of the user's tenant, system admins, or the user itself.
  Outcome<NewApiKey> createApiKey(uint64_t tenantId, uint64_t userId);
  Result revokeApiKey(uint64_t tenantId, const std::string& keyId);
  Outcome<std::vector<ApiKeyInfo>> listApiKeys(uint64_t tenantId, uint64_t userId);

  // Roles. A duplicate name is Conflict. updateRole replaces the rights and the
  // cross-tenant flag. Members of another tenant only for a cross-tenant role, only while
  // the setting crossTenantRoles is "true".
  Outcome<RoleInfo> createRole(uint64_t tenantId, const std::string& name,
                               const std::vector<ObjectRights>& rights, bool crossTenant = false);
  Outcome<RoleInfo> updateRole(uint64_t tenantId, const std::string& name,
                               const std::vector<ObjectRights>& rights, bool crossTenant = false);
  Result deleteRole(uint64_t tenantId, const std::string& name);
  Outcome<std::vector<RoleInfo>> listRoles(uint64_t tenantId = 0);
  Result addRoleMember(uint64_t tenantId, const std::string& role, uint64_t memberTenant,
                       uint64_t userId);
  Result removeRoleMember(uint64_t tenantId, const std::string& role, uint64_t memberTenant,
                          uint64_t userId);

  // Data-sharing policies of tenant `tenantId` (docs/SHARING.md). publisher, createdAt and
  // modifiedAt of `policy` are ignored (the server sets them). A second policy for the same
  // designated tenant, a second global policy, or a taken name is Conflict. updatePolicy
  // replaces the user, scope and expiry of the policy named policy.name.
  Outcome<PolicyInfo> createPolicy(uint64_t tenantId, const PolicyInfo& policy);
  Outcome<PolicyInfo> updatePolicy(uint64_t tenantId, const PolicyInfo& policy);
  Result deletePolicy(uint64_t tenantId, const std::string& name);
  // Exactly one of the two is non-zero (otherwise InvalidArgument without a round trip).
  // publishedBy = T: who can reach T's data. designating = T: whose data T can reach,
  // global policies of T's providers included.
  Outcome<std::vector<PolicyInfo>> listPolicies(uint64_t publishedBy, uint64_t designating);

  // System settings ("crossTenantRoles" = "true" | "false"). setSetting: system admins.
  Result setSetting(const std::string& name, const std::string& value);
  Outcome<std::vector<Setting>> listSettings();

  // A tenant's audit log in time order (newest last). Tenant admins read their own tenant's;
  // system admins any.
  Outcome<std::vector<AuditEntry>> queryAudit(const AuditQuery& query);

  // A tenant's metering (0 = own). Tenant admins read their own; system admins any.
  Outcome<UsageInfo> usage(uint64_t tenantId = 0);
  // Replaces a tenant's quota, every field (0 = no limit). System admins only. Usage
  // already past a new limit stays; further growth is refused.
  Result setQuota(uint64_t tenantId, const Quota& quota);

  // Permission sets (docs/PERMISSIONS.md). System admins only. A bad regex is
  // InvalidArgument naming the pattern and RE2's reason; a taken name Conflict.
  // updatePermissionSet replaces the set named set.name (NotFound when absent).
  Result createPermissionSet(const PermissionSetInfo& set);
  Result updatePermissionSet(const PermissionSetInfo& set);
  Result deletePermissionSet(const std::string& name);
  Outcome<std::vector<PermissionSetInfo>> listPermissionSets();

  // The whole decision of a call without performing it: how the context resolves, each
  // permission set considered and which policy decided, the role rights, the scope. With a
  // draft in the request, the decision as if it were saved (simulate). The outcome is OK
  // whenever the explanation was obtained, whatever its verdict (Explanation::allowed).
  // Tenant admins explain calls of users of their tenant; system admins any.
  Outcome<Explanation> explain(const ExplainRequest& request);

  // Checks the whole store on one snapshot while the server runs (indexes, usage
  // counters, keys of deleted tenants, references, id sequences). System admins only
  // (PermissionDenied otherwise). maxProblems: problems listed (0 = 100, at most 10000).
  Outcome<StoreCheckReport> checkStore(uint32_t maxProblems = 0);

  // Adds a consistent backup of the whole store to `dir`, an absolute path on the
  // server's machine, while the server serves; incremental against the backups already
  // in `dir`. keep > 0 then deletes all but the newest `keep`. System admins only. Busy
  // while another backup runs. Restore with `cotenantd --restore-from DIR --data NEWDIR`.
  Outcome<BackupInfo> backup(const std::string& dir, uint32_t keep = 0);

  // Tenant dump and restore. System admins only (PermissionDenied otherwise); audited in
  // the tenant's log. readTenantRecords: up to `limit` (1..1000) records of the tenant's
  // object with an id greater than afterId, in id order, as stored (no role rights or
  // policy scope apply). restoreTenantRecords: writes records with their own ids,
  // versions and times, all or none (at most 1000): ids strictly ascending, the first
  // greater than every id the object holds, so nothing is overwritten; the tenant's id
  // sequence moves past them. Answers how many were written.
  Outcome<TenantRecordPage> readTenantRecords(uint64_t tenantId, const std::string& object,
                                              uint64_t afterId, uint32_t limit = 1000);
  Outcome<uint32_t> restoreTenantRecords(uint64_t tenantId, const std::string& object,
                                         const std::vector<RestoredRecord>& records);

 private:
  friend class TenantContext;
  explicit Client(std::shared_ptr<ClientCore> core);
  std::shared_ptr<ClientCore> core_;
};

}  // namespace cotenant

#endif  // COTENANT_CLIENT_H_
