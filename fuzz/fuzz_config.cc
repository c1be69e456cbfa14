// The admin CLI's declarative configuration (tools/cotenant/config_parse.cc,
// config_emit.cc, config_plan.cc): arbitrary text parsed as the YAML access file. A bad
// file must be refused with ConfigError (every problem naming FILE:LINE:COL), never
// another exception or a crash. A good file must survive emit -> parse -> emit byte for
// byte, plan no change against a server already in that state, and plan against an
// empty server without failing.

#include <cstddef>
#include <cstdint>
#include <string>

#include "config.h"
#include "fuzz/fuzz_util.h"

namespace {

using cotenant::cli::config::Config;
using cotenant::cli::config::ConfigError;
using cotenant::cli::config::ServerState;

// A server holding exactly `c`, with ids for its tenants and users.
ServerState StateOf(const Config& c, const std::string& system_tenant) {
  ServerState st;
  st.cfg = c;
  st.systemTenant = system_tenant;
  uint64_t id = 1;
  for (const auto& [tn, t] : c.tenants) {
    st.tenantIds[tn] = id++;
    for (const auto& [un, u] : t.users) {
      st.userIds[{tn, un}] = id++;
      if (tn == system_tenant && st.self.empty() && u.level == "system-admin") {
        st.self = un + "@" + tn;
      }
    }
  }
  return st;
}

Config ParseOrDie(const std::string& text, const char* file, const char* what) {
  try {
    return cotenant::cli::config::parseConfig(text, file);
  } catch (const ConfigError& e) {
    FUZZ_CHECK(false, std::string(what) + " is refused: " + e.what() + "\n--- file:\n" + text);
  }
  return Config();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;  // access files are small; keep the runs fast
  std::string text(reinterpret_cast<const char*>(data), size);
  Config cfg;
  try {
    cfg = cotenant::cli::config::parseConfig(text, "fuzz.yaml");
  } catch (const ConfigError& e) {
    FUZZ_CHECK(!e.problems().empty(), "a ConfigError without problems");
    for (const auto& p : e.problems()) {
      FUZZ_CHECK(p.rfind("fuzz.yaml:", 0) == 0, "problem without FILE:LINE:COL: " + p);
    }
    return 0;
  }
  const std::string once = cotenant::cli::config::emitConfig(cfg);
  Config again = ParseOrDie(once, "export.yaml", "the emitted file");
  const std::string twice = cotenant::cli::config::emitConfig(again);
  FUZZ_CHECK(once == twice, "emit is not stable:\n--- once:\n" + once + "\n--- twice:\n" + twice);

  std::string system_tenant = "system";
  for (const auto& [tn, t] : cfg.tenants) {
    if (t.kind == "system") system_tenant = tn;
  }
  auto same = cotenant::cli::config::planChanges(cfg, StateOf(again, system_tenant), {});
  std::string listed;
  for (const auto& ch : same.changes) listed += std::string(1, ch.sign) + " " + ch.text + "\n";
  for (const auto& c : same.conflicts) listed += "conflict: " + c + "\n";
  FUZZ_CHECK(same.changes.empty() && same.conflicts.empty(),
             "a server already in the file's state plans:\n" + listed + "--- file:\n" + once);

  Config empty;
  if (cfg.tenants.count(system_tenant)) {
    empty.tenants[system_tenant].name = system_tenant;
    empty.tenants[system_tenant].kind = "system";
  }
  cotenant::cli::config::PlanOptions opts;
  opts.allowTenantDeletion = (size & 1) != 0;
  auto fresh = cotenant::cli::config::planChanges(cfg, StateOf(empty, system_tenant), opts);
  for (const auto& ch : fresh.changes) {
    FUZZ_CHECK(!ch.text.empty() && ch.run, "a change without text or action");
  }
  return 0;
}
