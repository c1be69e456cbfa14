// Cotenant SDK quickstart: add, get, update, search and delete records of `Customers`.
//
// Expects an object Customers (first_name text required indexed, last_name text,
// age int indexed) in the tenant, and the environment:
//   COTENANT_ADDR    host:port of cotenantd (default 127.0.0.1:7770)
//   COTENANT_TENANT  tenant id to log in to
//   COTENANT_KEY     API key of a user with read/add/update/delete rights on Customers
// Exits 0 when every call answered as expected, 1 otherwise.

#include <cotenant/client.h>

#include <cstdlib>
#include <iostream>
#include <string>

namespace {

int failures = 0;

// Prints "<what>: <code> <message>" and counts an unexpected code.
void report(const std::string& what, const cotenant::Result& r,
            cotenant::ErrorCode expected = cotenant::ErrorCode::OK) {
  std::cout << what << ": code=" << static_cast<int>(r.getCode()) << " (" << r.getCode()
            << ") message=\"" << r.getMessage() << "\"\n";
  if (r.getCode() != expected) {
    std::cout << "  UNEXPECTED: wanted " << expected << "\n";
    ++failures;
  }
}

std::string env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

int main() {
  const std::string addr = env("COTENANT_ADDR", "127.0.0.1:7770");
  const std::string tenant = env("COTENANT_TENANT", "");
  const std::string key = env("COTENANT_KEY", "");
  auto tenantId = cotenant::RecordId::parse(tenant);
  if (!tenantId || key.empty()) {
    std::cerr << "set COTENANT_TENANT (a tenant id) and COTENANT_KEY\n";
    return 2;
  }

  std::unique_ptr<cotenant::Client> client;
  try {
    client = cotenant::Client::connect(addr, *tenantId, key);
  } catch (const cotenant::Error& e) {
    std::cerr << "connect failed: " << e.what() << "\n";
    return 1;
  }
  std::cout << "logged in as " << client->user().name << " (user " << client->user().id
            << ") of tenant " << client->user().tenantId << "\n";

  // Add: the field values go in Parameters.
  cotenant::Parameters params;
  params.add("first_name", "John").add("last_name", "Smith").add("age", 30);
  cotenant::Result added = client->addRecord("Customers", params);
  report("addRecord", added);
  if (!added.ok()) return 1;
  // Ids may be passed as decimal strings, the way an application that keeps them as text
  // would.
  const std::string id = std::to_string(added.getId());
  std::cout << "  new id " << id << "\n";

  // A record with a missing required field is rejected.
  cotenant::Parameters noName;
  noName.add("age", 5);
  report("addRecord without first_name", client->addRecord("Customers", noName),
         cotenant::ErrorCode::InvalidArgument);

  // Get, with record permissions.
  cotenant::Parameters withPermissions;
  withPermissions.retrieveRecordPermissions(true);
  cotenant::Result got = client->getRecord("Customers", "first_name,age", id, withPermissions);
  report("getRecord", got);
  if (got.ok()) {
    const cotenant::Record& r = got.getRecords().front();
    std::cout << "  " << r.idString() << ": first_name=" << r.get("first_name").toString()
              << " age=" << r.get("age").toString() << " version=" << r.version()
              << " canUpdate=" << (r.canUpdate() ? (*r.canUpdate() ? "yes" : "no") : "?") << "\n";
    if (r.get("first_name").toString() != "John" || r.get("age").toString() != "30") {
      std::cout << "  UNEXPECTED field values\n";
      ++failures;
    }
  }

  // Update, expecting version 1; a second update expecting 1 again conflicts.
  cotenant::Parameters older;
  older.add("age", 31);
  cotenant::Result updated = client->updateRecord("Customers", id, older, 1);
  report("updateRecord (expect version 1)", updated);
  if (updated.ok()) std::cout << "  version now " << updated.getRecords().front().version() << "\n";
  report("updateRecord (stale version 1)", client->updateRecord("Customers", id, older, 1),
         cotenant::ErrorCode::Conflict);

  // Simple and detailed search.
  cotenant::Result found =
      client->searchRecords("Customers", "first_name,last_name,age", "first_name = 'John'");
  report("searchRecords (simple)", found);
  bool seen = false;
  for (const auto& r : found.getRecords()) seen = seen || r.idString() == id;
  if (found.ok() && !seen) {
    std::cout << "  UNEXPECTED: record " << id << " not found by search\n";
    ++failures;
  }
  cotenant::Result sorted = client->searchRecords("Customers", "*", "age >= 18", "age", "desc",
                                                  "last_name", "asc", 0, 10);
  report("searchRecords (detailed)", sorted);
  std::cout << "  " << sorted.getRecords().size() << " rows, complete=" << sorted.complete()
            << "\n";

  // Many calls in flight on one client.
  std::vector<std::future<cotenant::Result>> inFlight;
  for (int i = 0; i < 20; ++i) inFlight.push_back(client->getRecordAsync("Customers", "*", id));
  int ok = 0;
  for (auto& f : inFlight) ok += f.get().ok() ? 1 : 0;
  std::cout << "20 async getRecord: " << ok << " ok\n";
  if (ok != 20) ++failures;

  // Bad id strings never reach the server.
  report("getRecord(\"abc\")", client->getRecord("Customers", "*", "abc"),
         cotenant::ErrorCode::InvalidArgument);

  // Delete, then the record is gone.
  report("deleteRecord", client->deleteRecord("Customers", id));
  report("getRecord after delete", client->getRecord("Customers", "*", id),
         cotenant::ErrorCode::NotFound);

  // A TenantContext naming a tenant with no policy for us is refused at construction.
  try {
    cotenant::TenantContext other(*client, "999999999999");
    std::cout << "TenantContext(999999999999): accepted\n  UNEXPECTED\n";
    ++failures;
  } catch (const cotenant::Error& e) {
    std::cout << "TenantContext(999999999999): " << e.what() << "\n";
    if (e.code() != cotenant::ErrorCode::PermissionDenied) ++failures;
  }

  std::cout << (failures == 0 ? "quickstart: all calls answered as expected\n"
                              : "quickstart: " + std::to_string(failures) + " unexpected\n");
  return failures == 0 ? 0 : 1;
}
