// cotenant: the admin and data CLI for a Cotenant server (docs/CLI.md).
//
// Parses the command line with CLI11, connects with the SDK (cotenant::Client), and prints
// aligned tables, or with --json one JSON document on stdout. Errors go to stderr as
// "cotenant: <Code>: <message>" and select the exit code (cli_util.h).

#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>

#include "cli_util.h"
#include "cotenant/client.h"

namespace cotenant::cli {
namespace {

// What every command shares: connection settings and output mode. The client is made on
// first use, so usage errors never need a server.
class Session {
 public:
  std::string addr = "127.0.0.1:7770";
  std::string tenant;
  std::string key;
  std::string keyFile;
  bool json = false;

  Client& client() {
    if (!client_) {
      if (tenant.empty()) throw UsageError("no tenant: pass --tenant ID or set COTENANT_TENANT");
      uint64_t tenantId = parseId(tenant, "tenant id");
      client_ = Client::connect(addr, tenantId, resolveKey());
    }
    return *client_;
  }

  // Prints `j` in --json mode, otherwise runs `human`.
  void emit(const nlohmann::json& j, const std::function<void()>& human) const {
    if (json) {
      std::cout << j.dump(2) << "\n";
    } else {
      human();
    }
  }

 private:
  // --key, then --key-file, then $COTENANT_KEY, then $COTENANT_KEY_FILE: a flag on the
  // command line beats the environment.
  std::string resolveKey() const {
    if (!key.empty() && !keyFile.empty()) throw UsageError("give --key or --key-file, not both");
    if (!key.empty()) return key;
    std::string file = keyFile;
    if (file.empty()) {
      if (const char* k = std::getenv("COTENANT_KEY"); k != nullptr && *k != '\0') return k;
      if (const char* f = std::getenv("COTENANT_KEY_FILE"); f != nullptr) file = f;
    }
    if (file.empty()) {
      throw UsageError("no API key: pass --key or --key-file, or set COTENANT_KEY or COTENANT_KEY_FILE");
    }
    std::ifstream in(file);
    if (!in) throw UsageError("cannot read key file '" + file + "'");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string k = ss.str();
    size_t b = k.find_first_not_of(" \t\r\n");
    size_t e = k.find_last_not_of(" \t\r\n");
    if (b == std::string::npos) throw UsageError("key file '" + file + "' is empty");
    return k.substr(b, e - b + 1);
  }

  std::unique_ptr<Client> client_;
};

// Thrown by commands to end with a server-side outcome.
struct Failed {
  ErrorCode code;
  std::string message;
};

template <typename R>
void check(const R& r) {
  if (!r.ok()) throw Failed{r.getCode(), r.getMessage()};
}

uint64_t optionalTenant(const std::string& text) {
  return text.empty() ? 0 : parseId(text, "tenant id");
}

void printTenants(const std::vector<TenantInfo>& tenants) {
  Table t({"ID", "NAME", "KIND", "PROVIDER", "CREATED"});
  for (const auto& x : tenants) {
    t.add({std::to_string(x.id), x.name, tenantKindName(x.kind),
           x.provider == 0 ? "" : std::to_string(x.provider), formatTimestamp(x.createdAt)});
  }
  t.print(std::cout);
}

void printUsers(const std::vector<UserInfo>& users) {
  Table t({"ID", "TENANT", "NAME", "LEVEL", "CREATED"});
  for (const auto& u : users) {
    t.add({std::to_string(u.id), std::to_string(u.tenantId), u.name, adminLevelName(u.level),
           formatTimestamp(u.createdAt)});
  }
  t.print(std::cout);
}

void printObjects(const std::vector<ObjectInfo>& objects) {
  Table t({"OBJECT", "ID", "FIELD", "TYPE", "REQUIRED", "INDEXED"});
  for (const auto& o : objects) {
    if (o.fields.empty()) t.add({o.name, std::to_string(o.id)});
    for (const auto& f : o.fields) {
      t.add({o.name, std::to_string(o.id), f.name, fieldTypeName(f.type),
             f.required ? "yes" : "no", f.indexed ? "yes" : "no"});
    }
  }
  t.print(std::cout);
}

Parameters buildParams(const std::vector<std::string>& sets, const std::vector<std::string>& nulls) {
  Parameters p;
  for (const auto& s : sets) {
    auto [name, value] = parseAssignment(s);
    p.add(name, value);  // as text: the server coerces it to the declared type
  }
  for (const auto& n : nulls) {
    if (n.empty()) throw UsageError("bad --null '': want a field name");
    p.addNull(n);
  }
  return p;
}

int run(int argc, char** argv) {
  CLI::App app{"cotenant: administer a Cotenant server and work with its records.\n"
               "See docs/CLI.md. Exit codes: 0 ok, 1 error, 2 usage, 3 denied, 4 not found, "
               "5 rejected."};
  app.fallthrough();  // global options may follow the command
  app.require_subcommand(1);

  Session s;
  app.add_option("--addr", s.addr, "server host:port (env COTENANT_ADDR)")
      ->envname("COTENANT_ADDR")
      ->capture_default_str();
  app.add_option("--tenant", s.tenant, "tenant id to log in to (env COTENANT_TENANT)")
      ->envname("COTENANT_TENANT");
  app.add_option("--key", s.key, "API key (env COTENANT_KEY)");
  app.add_option("--key-file", s.keyFile, "file holding the API key (env COTENANT_KEY_FILE)");
  app.add_flag("--json", s.json, "print one JSON document on stdout (shapes in docs/CLI.md)");

  // Each leaf command registers what it does; the one CLI11 selected runs after parsing.
  std::vector<std::pair<CLI::App*, std::function<void()>>> actions;
  auto leaf = [&](CLI::App* parent, const std::string& name, const std::string& help,
                  std::function<void()> fn) {
    CLI::App* sub = parent->add_subcommand(name, help);
    actions.emplace_back(sub, std::move(fn));
    return sub;
  };

  // Option storage; only one command runs, so commands share these.
  std::string name, kind = "tenant", provider, level = "user", inTenant, object, id,
                    fields, where, sort, sort2, context, continuation;
  std::vector<std::string> fieldSpecs, sets, nulls;
  uint64_t expectVersion = 0;
  uint32_t offset = 0, rows = 0;
  bool all = false, permissions = false;

  // ---- whoami ----
  leaf(&app, "whoami", "Show the logged-in user", [&] {
    auto who = s.client().whoami();
    check(who);
    s.emit({{"user", toJson(who.value())}}, [&] { printUsers({who.value()}); });
  });

  // ---- tenant ----
  CLI::App* tenant = app.add_subcommand("tenant", "Create, list and delete tenants");
  tenant->require_subcommand(1);
  auto* tcreate = leaf(tenant, "create", "Create a tenant (system admins)", [&] {
    uint64_t prov = provider.empty() ? 0 : parseId(provider, "provider id");
    auto t = s.client().createTenant(name, *parseTenantKind(kind), prov);
    check(t);
    s.emit({{"tenant", toJson(t.value())}}, [&] { printTenants({t.value()}); });
  });
  tcreate->add_option("NAME", name, "display name, unique among live tenants")->required();
  tcreate->add_option("--kind", kind, "tenant, msp or isv")
      ->check(CLI::IsMember({"tenant", "msp", "isv"}))
      ->capture_default_str();
  tcreate->add_option("--provider", provider, "id of the managing ISV or MSP");

  leaf(tenant, "list", "List tenants (system admins see all, others their own)", [&] {
    auto l = s.client().listTenants();
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& t : l.value()) arr.push_back(toJson(t));
    s.emit({{"tenants", arr}}, [&] { printTenants(l.value()); });
  });

  auto* tdelete = leaf(tenant, "delete", "Delete a tenant and everything in it (system admins)", [&] {
    uint64_t tid = parseId(id, "tenant id");
    check(s.client().deleteTenant(tid));
    s.emit({{"deleted", std::to_string(tid)}}, [&] { std::cout << "Deleted tenant " << tid << "\n"; });
  });
  tdelete->add_option("ID", id, "tenant id")->required();

  // ---- user ----
  CLI::App* user = app.add_subcommand("user", "Create and list users");
  user->require_subcommand(1);
  auto* ucreate = leaf(user, "create", "Create a user and print its first API key", [&] {
    auto u = s.client().createUser(optionalTenant(inTenant), name, *parseAdminLevel(level));
    check(u);
    const char* notice = "This API key will not be shown again: store it now.";
    if (s.json) {
      std::cout << nlohmann::json{{"user", toJson(u.value().user)}, {"apiKey", u.value().apiKey}}.dump(2)
                << "\n";
      std::cerr << "cotenant: " << notice << "\n";
    } else {
      printUsers({u.value().user});
      std::cout << "\nAPI key: " << u.value().apiKey << "\n" << notice << "\n";
    }
  });
  ucreate->add_option("NAME", name, "user name, unique in its tenant")->required();
  ucreate->add_option("--level", level, "user, tenant-admin or system-admin")
      ->check(CLI::IsMember({"user", "tenant-admin", "system-admin"}))
      ->capture_default_str();
  ucreate->add_option("--in-tenant", inTenant, "tenant to create the user in (default: own)");

  auto* ulist = leaf(user, "list", "List users of a tenant", [&] {
    auto l = s.client().listUsers(optionalTenant(inTenant));
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& u : l.value()) arr.push_back(toJson(u));
    s.emit({{"users", arr}}, [&] { printUsers(l.value()); });
  });
  ulist->add_option("--in-tenant", inTenant, "tenant (default: own)");

  // ---- object ----
  CLI::App* obj = app.add_subcommand("object", "Create and list objects (record types)");
  obj->require_subcommand(1);
  auto* ocreate = leaf(obj, "create", "Create an object with declared fields", [&] {
    std::vector<FieldDef> defs;
    for (const auto& spec : fieldSpecs) defs.push_back(parseFieldSpec(spec));
    auto o = s.client().createObject(optionalTenant(inTenant), name, defs);
    check(o);
    s.emit({{"object", toJson(o.value())}}, [&] { printObjects({o.value()}); });
  });
  ocreate->add_option("NAME", name, "object name, unique in the tenant")->required();
  ocreate->add_option("--field", fieldSpecs, "name:type[:indexed][:required] (repeatable)")
      ->required();
  ocreate->add_option("--in-tenant", inTenant, "tenant (default: own)");

  auto* olist = leaf(obj, "list", "List objects and their fields", [&] {
    auto l = s.client().listObjects(optionalTenant(inTenant));
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& o : l.value()) arr.push_back(toJson(o));
    s.emit({{"objects", arr}}, [&] { printObjects(l.value()); });
  });
  olist->add_option("--in-tenant", inTenant, "tenant (default: own)");

  // ---- record ----
  CLI::App* rec = app.add_subcommand("record", "Add, get, update, delete and search records");
  rec->require_subcommand(1);
  // A TenantContext for --context, made once the client exists.
  std::optional<TenantContext> ctx;
  auto withContext = [&]() -> const TenantContext* {
    if (context.empty()) return nullptr;
    uint64_t tid = parseId(context, "context tenant id");
    try {
      ctx.emplace(s.client(), tid);
    } catch (const Error& e) {
      throw Failed{e.code(), e.message()};
    }
    return &*ctx;
  };
  auto contextOption = [&](CLI::App* sub) {
    sub->add_option("--context", context, "act on this tenant's data through its data-sharing policy");
  };
  auto printOne = [&](const Result& r) {
    s.emit({{"record", toJson(r.getRecords().at(0))}}, [&] { printRecord(std::cout, r.getRecords().at(0)); });
  };

  auto* radd = leaf(rec, "add", "Add a record", [&] {
    Parameters p = buildParams(sets, nulls);
    Client& c = s.client();
    const TenantContext* tc = withContext();
    Result r = tc ? c.addRecord(object, p, *tc) : c.addRecord(object, p);
    check(r);
    printOne(r);
  });
  radd->add_option("OBJECT", object, "object name")->required();
  radd->add_option("--set", sets, "name=value (repeatable; sent as text, coerced by the server)");
  radd->add_option("--null", nulls, "field to set to null (repeatable)");
  contextOption(radd);

  auto* rget = leaf(rec, "get", "Get one record", [&] {
    parseId(id, "record id");
    Parameters p;
    p.retrieveRecordPermissions(permissions);
    Client& c = s.client();
    const TenantContext* tc = withContext();
    std::string f = fields.empty() ? "*" : fields;
    Result r = tc ? c.getRecord(object, f, id, *tc, p) : c.getRecord(object, f, id, p);
    check(r);
    printOne(r);
  });
  rget->add_option("OBJECT", object, "object name")->required();
  rget->add_option("ID", id, "record id")->required();
  rget->add_option("--fields", fields, "comma-separated projection (default: all)");
  rget->add_flag("--permissions", permissions, "also show canUpdate/canDelete");
  contextOption(rget);

  auto* rupdate = leaf(rec, "update", "Update fields of a record", [&] {
    parseId(id, "record id");
    Parameters p = buildParams(sets, nulls);
    if (p.empty()) throw UsageError("nothing to update: give --set or --null");
    Client& c = s.client();
    const TenantContext* tc = withContext();
    Result r = tc ? c.updateRecord(object, id, p, *tc, expectVersion)
                  : c.updateRecord(object, id, p, expectVersion);
    check(r);
    printOne(r);
  });
  rupdate->add_option("OBJECT", object, "object name")->required();
  rupdate->add_option("ID", id, "record id")->required();
  rupdate->add_option("--set", sets, "name=value (repeatable)");
  rupdate->add_option("--null", nulls, "field to set to null (repeatable)");
  rupdate->add_option("--expect-version", expectVersion, "fail with Conflict unless the record has this version");
  contextOption(rupdate);

  auto* rdelete = leaf(rec, "delete", "Delete a record", [&] {
    uint64_t rid = parseId(id, "record id");
    Client& c = s.client();
    const TenantContext* tc = withContext();
    Result r = tc ? c.deleteRecord(object, rid, *tc, expectVersion)
                  : c.deleteRecord(object, rid, expectVersion);
    check(r);
    s.emit({{"deleted", std::to_string(rid)}}, [&] { std::cout << "Deleted record " << rid << "\n"; });
  });
  rdelete->add_option("OBJECT", object, "object name")->required();
  rdelete->add_option("ID", id, "record id")->required();
  rdelete->add_option("--expect-version", expectVersion, "fail with Conflict unless the record has this version");
  contextOption(rdelete);

  auto* rsearch = leaf(rec, "search", "Search records", [&] {
    SearchQuery q;
    q.object = object;
    q.fields = fields.empty() ? "*" : fields;
    q.criteria = where;
    if (!sort.empty()) std::tie(q.sortBy, q.sortOrder) = parseSortSpec(sort);
    if (!sort2.empty()) std::tie(q.sortBy2, q.sortOrder2) = parseSortSpec(sort2);
    q.offset = offset;
    q.numberOfRows = rows;
    q.retrievePermissions = permissions;
    if (!continuation.empty()) {
      auto token = fromHex(continuation);
      if (!token) throw UsageError("bad --continuation '" + continuation + "': want the hex token a previous search printed");
      q.continuation = *token;
    }
    Client& c = s.client();
    const TenantContext* tc = withContext();
    std::vector<Record> records;
    Result r;
    while (true) {
      r = tc ? c.search(q, *tc) : c.search(q);
      check(r);
      records.insert(records.end(), r.getRecords().begin(), r.getRecords().end());
      if (!all || r.complete() || r.continuation().empty()) break;
      q.continuation = r.continuation();
      q.offset = 0;  // the offset applied to the first page only
    }
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& x : records) arr.push_back(toJson(x));
    nlohmann::json token = r.complete() ? nlohmann::json(nullptr) : nlohmann::json(toHex(r.continuation()));
    s.emit({{"records", arr}, {"complete", r.complete()}, {"continuation", token}}, [&] {
      printRecords(std::cout, records);
      std::cout << records.size() << (records.size() == 1 ? " row" : " rows");
      if (r.complete()) {
        std::cout << "\n";
      } else {
        std::cout << "; more rows follow: --all, or --continuation " << toHex(r.continuation()) << "\n";
      }
    });
  });
  rsearch->add_option("OBJECT", object, "object name")->required();
  rsearch->add_option("--fields", fields, "comma-separated projection (default: all)");
  rsearch->add_option("--where", where, "criteria, e.g. \"age >= 30 AND last_name starts with 'S'\"");
  rsearch->add_option("--sort", sort, "field[:asc|desc]");
  rsearch->add_option("--sort2", sort2, "second sort key, field[:asc|desc]");
  rsearch->add_option("--offset", offset, "rows to skip");
  rsearch->add_option("--rows", rows, "page size 1..1000 (default: server's, 100)");
  rsearch->add_option("--continuation", continuation, "resume after a page (hex token)");
  rsearch->add_flag("--all", all, "follow continuation tokens until the result is complete");
  rsearch->add_flag("--permissions", permissions, "also return canUpdate/canDelete");
  contextOption(rsearch);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);  // prints help, or the parse error
    return rc == 0 ? kExitOk : kExitUsage;
  }

  try {
    for (auto& [sub, fn] : actions) {
      if (sub->parsed()) {
        fn();
        return kExitOk;
      }
    }
    std::cerr << "cotenant: usage: no command given (see --help)\n";
    return kExitUsage;
  } catch (const UsageError& e) {
    std::cerr << "cotenant: usage: " << e.what() << "\n";
    return kExitUsage;
  } catch (const Failed& f) {
    std::cerr << "cotenant: " << errorCodeName(f.code) << ": " << f.message << "\n";
    return exitCodeFor(f.code);
  } catch (const Error& e) {  // connect
    std::cerr << "cotenant: " << errorCodeName(e.code()) << ": " << e.message() << "\n";
    return exitCodeFor(e.code());
  } catch (const std::exception& e) {
    std::cerr << "cotenant: Internal: " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace
}  // namespace cotenant::cli

int main(int argc, char** argv) { return cotenant::cli::run(argc, argv); }
