// The context every `cotenant` command runs in (connection, output mode, the leaf-command
// registry) and the helpers that commands of several nouns use.

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {

Client& CliContext::client() {
  if (!client_) {
    if (tenant.empty()) throw UsageError("no tenant: pass --tenant ID or set COTENANT_TENANT");
    uint64_t tenantId = parseId(tenant, "tenant id");
    if (tlsCert.empty() != tlsKey.empty()) {
      throw UsageError("give --tls-cert and --tls-key together");
    }
    ClientOptions options;
    options.tlsCa = tlsCa;
    options.tlsCert = tlsCert;
    options.tlsKey = tlsKey;
    options.tlsServerName = tlsServerName;
    client_ = Client::connect(addr, tenantId, resolveKey(), options);
  }
  return *client_;
}

void AddConnectionOptions(CLI::App& app, CliContext& s) {
  app.add_option("--addr", s.addr,
                 "server host:port, or several comma-separated (the first that answers; the "
                 "next one if it goes away) (env COTENANT_ADDR)")
      ->envname("COTENANT_ADDR")
      ->capture_default_str();
  app.add_option("--tenant", s.tenant, "tenant id to log in to (env COTENANT_TENANT)")
      ->envname("COTENANT_TENANT");
  app.add_option("--key", s.key, "API key (env COTENANT_KEY)");
  app.add_option("--key-file", s.keyFile, "file holding the API key (env COTENANT_KEY_FILE)");
  app.add_option("--tls-ca", s.tlsCa,
                 "connect with TLS, trusting the server certificate this CA file (PEM) signed "
                 "(env COTENANT_TLS_CA)")
      ->envname("COTENANT_TLS_CA");
  app.add_option("--tls-cert", s.tlsCert,
                 "client certificate (PEM) for a server that requires one; implies TLS "
                 "(env COTENANT_TLS_CERT)")
      ->envname("COTENANT_TLS_CERT");
  app.add_option("--tls-key", s.tlsKey, "private key (PEM) of --tls-cert (env COTENANT_TLS_KEY)")
      ->envname("COTENANT_TLS_KEY");
  app.add_option("--tls-server-name", s.tlsServerName,
                 "DNS name the server certificate must carry (default: the --addr host; give "
                 "it when --addr is an IP address) (env COTENANT_TLS_SERVER_NAME)")
      ->envname("COTENANT_TLS_SERVER_NAME");
}

void CliContext::emit(const nlohmann::json& j, const std::function<void()>& human) const {
  if (json) {
    std::cout << j.dump(2) << "\n";
  } else {
    human();
  }
}

CLI::App* CliContext::leaf(CLI::App* parent, const std::string& name, const std::string& help,
                           std::function<void()> fn) {
  CLI::App* sub = parent->add_subcommand(name, help);
  actions_.emplace_back(sub, std::move(fn));
  return sub;
}

bool CliContext::runSelected() {
  for (auto& [sub, fn] : actions_) {
    if (sub->parsed()) {
      fn();
      return true;
    }
  }
  return false;
}

// --key, then --key-file, then $COTENANT_KEY, then $COTENANT_KEY_FILE: a flag on the
// command line beats the environment.
std::string CliContext::resolveKey() const {
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

uint64_t optionalTenant(const std::string& text) {
  return text.empty() ? 0 : parseId(text, "tenant id");
}

uint64_t effectiveTenant(CliContext& s, const std::string& inTenant) {
  return inTenant.empty() ? s.client().user().tenantId : parseId(inTenant, "tenant id");
}

uint64_t resolveUser(CliContext& s, const std::string& spec, uint64_t tenantId) {
  if (spec.empty()) throw UsageError("empty user: want a user id or name");
  if (auto id = RecordId::parse(spec)) return *id;
  if (tenantId == s.client().user().tenantId) tenantId = 0;
  std::string label = tenantId == 0 ? "your tenant" : "tenant " + std::to_string(tenantId);
  auto users = s.client().listUsers(tenantId);
  if (!users.ok()) {
    throw Failed{users.getCode(), "cannot look up user '" + spec + "' in " + label + ": " +
                                      users.getMessage() + " (give the user id instead)"};
  }
  return matchUser(users.value(), spec, label);
}

uint64_t userIdOf(CliContext& s, const std::string& spec, const std::string& userTenant) {
  UserRef ref = parseUserRef(spec);
  if (ref.id != 0) return ref.id;
  uint64_t tenant = ref.tenant != 0 ? ref.tenant : optionalTenant(userTenant);
  return resolveUser(s, ref.name, tenant == 0 ? s.client().user().tenantId : tenant);
}

void printUsers(const std::vector<UserInfo>& users) {
  Table t({"ID", "TENANT", "NAME", "LEVEL", "CREATED"});
  for (const auto& u : users) {
    t.add({std::to_string(u.id), std::to_string(u.tenantId), u.name, adminLevelName(u.level),
           formatTimestamp(u.createdAt)});
  }
  t.print(std::cout);
}

}  // namespace cotenant::cli
