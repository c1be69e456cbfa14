// cotenantd: the Cotenant server. See docs/OPERATIONS.md.
//
// Exit codes: 0 after a clean shutdown on SIGTERM/SIGINT; 1 when the data directory is
// open to other users (without --allow-shared-data-dir), the store cannot be opened or the
// listener cannot be set up; 2 for bad command-line flags or a bad --config file.

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "common/secret.h"
#include "common/time.h"
#include "config_file.h"
#include "rpc/console.h"
#include "rpc/ops_http.h"
#include "rpc/server.h"
#include "sharing/identity.h"
#include "storage/backup.h"
#include "storage/fsck.h"
#include "storage/storage.h"

namespace {

// A CLI11 validator for HOST:PORT.
CLI::Validator HostPort() {
  return CLI::Validator(
      [](std::string& value) -> std::string {
        std::string host;
        uint16_t port = 0;
        cotenant::Status s = cotenant::rpc::SplitHostPort(value, &host, &port);
        return s.ok() ? std::string() : s.message();
      },
      "HOST:PORT");
}

// The data directory holds every tenant's records and the key hashes: only the server's
// user may read it. A missing directory is created 0700 (one level, as the store would);
// an existing one that group or others may use is refused unless `allow_shared`, then
// only warned about. Returns false after logging why the server cannot start.
bool CheckDataDir(const std::string& dir, bool allow_shared) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) {
      spdlog::error("cannot stat data directory {}: {}", dir, std::strerror(errno));
      return false;
    }
    if (::mkdir(dir.c_str(), 0700) != 0) {
      spdlog::error("cannot create data directory {}: {}", dir, std::strerror(errno));
      return false;
    }
    return true;
  }
  if (!S_ISDIR(st.st_mode)) {
    spdlog::error("data directory {} exists and is not a directory", dir);
    return false;
  }
  const unsigned mode = st.st_mode & 07777;
  if ((mode & 077) == 0) return true;
  char octal[8];
  std::snprintf(octal, sizeof(octal), "%04o", mode);
  if (!allow_shared) {
    spdlog::error(
        "data directory {} has mode {}: other local users can read or write it; run "
        "`chmod 700 {}` (or start with --allow-shared-data-dir to accept this)",
        dir, octal, dir);
    return false;
  }
  spdlog::warn(
      "DATA DIRECTORY {} HAS MODE {}: other local users can read or write it "
      "(--allow-shared-data-dir); run `chmod 700 {}` to protect it",
      dir, octal, dir);
  return true;
}

// --restore-from: restores a backup into a new data directory, checks the restored
// store as `cotenant fsck` would, and reports. Exit 0 when the store is restored and
// clean, 1 otherwise (a restore that failed leaves the directory empty).
int Restore(const std::string& backup_dir, const std::string& data_dir, uint32_t id) {
  cotenant::storage::BackupInfo info;
  cotenant::Status s = cotenant::storage::RestoreBackup(backup_dir, data_dir, id, &info);
  if (!s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  spdlog::info("restored backup {} of {} (taken {}; {} files, {} bytes) into {}", info.id,
               backup_dir, cotenant::FormatTimestamp(info.created_at * 1000000), info.files,
               info.size_bytes, data_dir);
  cotenant::storage::CheckReport report;
  s = cotenant::storage::CheckDataDirectory(data_dir, cotenant::storage::CheckOptions{}, &report);
  if (!s.ok()) {
    spdlog::error("cannot check the restored store in {}: {}", data_dir, s.message());
    return 1;
  }
  if (!report.clean()) {
    spdlog::error("the restored store in {} has problems:\n{}", data_dir,
                  cotenant::storage::CheckReportText(report));
    return 1;
  }
  spdlog::info("the restored store is consistent; start the server with --data {} (its "
               "users and API keys are those of the backed-up store)",
               data_dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cotenantd: the Cotenant tenant-scoped record store server"};

  std::string data_dir = "./cotenant-data";
  std::string listen = "127.0.0.1:7770";
  std::string http;
  std::string durability = "group";
  int sync_interval_ms = 10;
  int threads = 4;
  int rpc_threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  size_t block_cache_mb = 256;
  size_t memtable_mb = 64;
  size_t max_message_mb = 64;
  size_t max_record_kb = 1024;
  size_t max_batch = 1000;
  uint32_t max_page_rows = 1000;
  size_t max_fields = 256;
  std::string log_level = "info";
  bool allow_shared_data_dir = false;
  std::string restore_from;
  uint32_t restore_id = 0;

  std::string storage;
  size_t storage_connections = 16;
  app.add_option("--data", data_dir,
                 "Data directory (created mode 0700 when missing): the records in the embedded "
                 "engine, the admin key, the cache secret")
      ->capture_default_str();
  app.add_option("--storage", storage,
                 "Keep the records in PostgreSQL instead of the embedded engine: a libpq "
                 "connection URI, e.g. postgresql://user@host:5432/db?options=-csearch_path%3Dcotenant "
                 "(the tables are created in the schema search_path names)");
  app.add_option("--storage-connections", storage_connections,
                 "With --storage: most PostgreSQL connections open at once")
      ->capture_default_str()
      ->check(CLI::Range(2, 1000));
  app.add_option("--restore-from", restore_from,
                 "Restore the latest backup in this directory (made by `cotenant backup`) into "
                 "--data, which must be new or empty, check it, and exit; then start the server "
                 "on --data")
      ->check(CLI::ExistingDirectory);
  app.add_option("--backup-id", restore_id,
                 "With --restore-from: the backup to restore (default: the latest)")
      ->check(CLI::PositiveNumber);
  app.add_flag("--allow-shared-data-dir", allow_shared_data_dir,
               "Start even when group or other users may read or write the data directory "
               "(logged as a warning)");
  app.add_option("--listen", listen, "RPC listen address HOST:PORT")
      ->check(HostPort())
      ->capture_default_str();
  app.add_option("--http", http, "Ops HTTP endpoint HOST:PORT (/healthz, /metrics); off when unset")
      ->check(HostPort());
  cotenant::rpc::HttpApiOptions api;
  app.add_option("--api", api.listen,
                 "HTTP/JSON API address HOST:PORT (every record and admin call as JSON over "
                 "HTTP/1.1, docs/HTTP.md); off when unset")
      ->check(HostPort());
  app.add_option("--console-dir", api.console_dir,
                 "Serve the admin console (/console/ on the --api address) from this directory, "
                 "read at each request, instead of the files built into cotenantd")
      ->check(
          [](const std::string& dir) {
            cotenant::Status s = cotenant::rpc::ConsoleFiles::CheckDir(dir);
            return s.ok() ? std::string() : s.message();
          },
          "DIR");
  app.add_option("--api-timeout-ms", api.request_timeout_ms,
                 "HTTP/JSON API: time a client has to send a request's headers, and again its body")
      ->check(CLI::Range(100, 600000))
      ->capture_default_str();
  app.add_option("--api-idle-timeout-ms", api.idle_timeout_ms,
                 "HTTP/JSON API: how long an idle keep-alive connection stays open")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  app.add_option("--durability", durability,
                 "sync: fsync the WAL before every acknowledgement; group: fsync it every "
                 "--sync-interval-ms")
      ->check(CLI::IsMember({"sync", "group"}))
      ->capture_default_str();
  app.add_option("--sync-interval-ms", sync_interval_ms, "WAL fsync interval in group mode")
      ->check(CLI::Range(1, 60000))
      ->capture_default_str();
  cotenant::sharing::UsageHistoryOptions usage_history;
  app.add_option("--usage-history-interval", usage_history.interval_s,
                 "Seconds between the samples of every tenant's usage kept for its charts")
      ->check(CLI::Range(1, 86400))
      ->capture_default_str();
  app.add_option("--usage-history-samples", usage_history.samples,
                 "Samples of usage kept per tenant, the newest (0: none)")
      ->check(CLI::Range(size_t{0}, size_t{100000}))
      ->capture_default_str();
  app.add_option("--threads", threads, "Storage worker threads")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--rpc-threads", rpc_threads,
                 "RPC event loops, one thread each (default: the number of cores)")
      ->check(CLI::Range(1, 256));
  app.add_option("--block-cache-mb", block_cache_mb, "Block cache size in MiB")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--memtable-mb", memtable_mb, "Memtable (write buffer) size per column family in MiB")
      ->check(CLI::Range(size_t{1}, size_t{65536}))
      ->capture_default_str();
  size_t min_free_disk_mb = 256;
  app.add_option("--min-free-disk-mb", min_free_disk_mb,
                 "Free space kept on the data directory's file system: below it writes answer "
                 "ResourceExhausted (disk full) and reads go on; 0 = none")
      ->check(CLI::Range(size_t{0}, size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--max-message-mb", max_message_mb, "Largest RPC message accepted, in MiB")
      ->check(CLI::Range(size_t{1}, size_t{2047}))
      ->capture_default_str();
  app.add_option("--max-record-kb", max_record_kb, "Largest encoded record, in KiB")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--max-batch", max_batch, "Most records in one addRecords call")
      ->check(CLI::Range(size_t{1}, size_t{1000000}))
      ->capture_default_str();
  app.add_option("--max-page-rows", max_page_rows, "Most rows in one search page")
      ->check(CLI::Range(uint32_t{1}, uint32_t{1000000}))
      ->capture_default_str();
  app.add_option("--max-fields", max_fields,
                 "Most fields in one record, projection or object declaration")
      ->check(CLI::Range(size_t{1}, size_t{65535}))
      ->capture_default_str();
  std::string memcached;
  int memcached_timeout_ms = 50;
  app.add_option("--memcached", memcached,
                 "memcached servers HOST:PORT[,HOST:PORT...] for resolved TenantContexts; "
                 "in-process cache only when unset");
  app.add_option("--memcached-timeout-ms", memcached_timeout_ms,
                 "Timeout of one memcached operation; a slow or dead server costs at most this")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  cotenant::rpc::ConnectionLimits conn;
  app.add_option("--max-connections", conn.max_connections,
                 "Most RPC connections open at once; more are closed as soon as accepted")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--max-connections-per-peer", conn.max_connections_per_peer,
                 "Most RPC connections open at once from one IP address")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--login-timeout-ms", conn.login_timeout_ms,
                 "An RPC connection that has not logged in by then is closed")
      ->check(CLI::Range(1, 3600000))
      ->capture_default_str();
  app.add_option("--max-message-bytes-before-login", conn.max_message_bytes_before_login,
                 "Largest RPC message accepted from a connection that has not logged in")
      ->check(CLI::Range(size_t{1024}, size_t{2047} << 20))
      ->capture_default_str();
  app.add_option("--max-inflight-bytes", conn.max_inflight_bytes,
                 "Bytes of RPC request messages held at once, server-wide (at least "
                 "--max-message-mb); a connection waits before reading past it. The HTTP/JSON "
                 "API's request bodies have a budget of the same size (past it: 503)")
      ->check(CLI::Range(size_t{1} << 20, size_t{1} << 40))
      ->capture_default_str();
  app.add_option("--max-unsent-bytes-per-connection", conn.max_unsent_bytes,
                 "Bytes of answers queued for one connection whose client does not read them; "
                 "past it the connection's calls wait unread and those already read are "
                 "answered ResourceExhausted (0 = no limit)")
      ->check(CLI::Range(size_t{0}, size_t{1} << 40))
      ->capture_default_str();
  std::string cache_secret_file;
  app.add_option("--cache-secret-file", cache_secret_file,
                 "File of exactly 32 random bytes, mode 0600, authenticating what this server "
                 "stores in memcached and the continuation tokens it hands out; give every "
                 "server sharing a memcached the same file. Default: DATA/cache.secret, "
                 "created on first start");
  bool metrics_per_tenant = false;
  app.add_flag("--metrics-per-tenant", metrics_per_tenant,
               "Include per-tenant series (records, bytes, calls by API) in /metrics; they name "
               "every tenant to whoever can reach the ops endpoint");
  cotenant::sharing::LoginThrottleOptions throttle;
  app.add_option("--login-failures-per-address", throttle.free_per_source,
                 "Failed logins one address may make within a minute before it is locked out "
                 "(see --login-lockout-ms)")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--login-lockout-ms", throttle.first_lockout_ms,
                 "How long the first lockout lasts; each further failure doubles it, up to "
                 "60 s or this value if larger")
      ->check(CLI::Range(int64_t{1}, int64_t{3600000}))
      ->capture_default_str();
  app.add_option("--login-failures-per-tenant", throttle.free_per_tenant,
                 "Failed logins on one tenant within a minute before addresses that keep "
                 "failing on it are locked out")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--login-summary-interval-ms", throttle.summary_interval_ms,
                 "Failed and refused logins are logged as one summary line at most this often "
                 "(never a line per guess)")
      ->check(CLI::Range(int64_t{100}, int64_t{3600000}))
      ->capture_default_str();
  cotenant::rpc::TlsFiles tls;
  app.add_option("--tls-cert", tls.cert,
                 "PEM certificate (chain) of this server; with --tls-key the RPC listener "
                 "accepts TLS only and the ops endpoint serves HTTPS. Plaintext when unset");
  app.add_option("--tls-key", tls.key, "PEM private key of --tls-cert (unencrypted)");
  app.add_option("--tls-client-ca", tls.client_ca,
                 "PEM CA certificate(s): RPC clients must present a certificate signed by one "
                 "(mutual TLS). Needs --tls-cert");
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();

  // Every option above is also a key of the --config file.
  cotenant::daemon::AddConfigFileOption(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message, which names the flag
    return 2;
  }
  if (tls.cert.empty() != tls.key.empty()) {
    std::fprintf(stderr, "%s\n",
                 tls.cert.empty() ? "--tls-key needs --tls-cert (give both or neither)"
                                  : "--tls-cert needs --tls-key (give both or neither)");
    return 2;
  }
  if (!tls.client_ca.empty() && tls.cert.empty()) {
    std::fprintf(stderr, "--tls-client-ca needs --tls-cert and --tls-key\n");
    return 2;
  }
  if (max_record_kb * 1024 > max_message_mb * (1u << 20)) {
    std::fprintf(stderr, "--max-record-kb: %zu KiB does not fit in --max-message-mb %zu MiB\n",
                 max_record_kb, max_message_mb);
    return 2;
  }

  if (conn.max_inflight_bytes < max_message_mb * (1u << 20)) {
    std::fprintf(stderr, "--max-inflight-bytes: %zu is less than --max-message-mb %zu MiB\n",
                 conn.max_inflight_bytes, max_message_mb);
    return 2;
  }

  // Before any thread exists (RocksDB starts its own): SIGTERM/SIGINT go to the loop.
  cotenant::rpc::Server::CaptureSignals();
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::from_str(log_level));
  // Before anything is created: every file and directory the server makes (WAL, SST,
  // MANIFEST, admin.key) is its user's alone, whatever umask it was started with.
  ::umask(077);
  if (!restore_from.empty()) return Restore(restore_from, data_dir, restore_id);
  if (restore_id != 0) {
    std::fprintf(stderr, "--backup-id needs --restore-from\n");
    return 2;
  }
  if (!CheckDataDir(data_dir, allow_shared_data_dir)) return 1;

  cotenant::storage::StoreOptions store_options;
  store_options.path = data_dir;
  store_options.storage = storage;
  store_options.storage_connections = storage_connections;
  store_options.durability = durability == "sync" ? cotenant::storage::Durability::kSync
                                                  : cotenant::storage::Durability::kGroup;
  store_options.sync_interval_ms = sync_interval_ms;
  store_options.block_cache_bytes = block_cache_mb << 20;
  store_options.min_free_disk_bytes = static_cast<uint64_t>(min_free_disk_mb) << 20;
  store_options.memtable_bytes = memtable_mb << 20;
  store_options.limits.max_record_bytes = max_record_kb << 10;
  store_options.limits.max_batch_records = max_batch;
  store_options.limits.max_page_rows = max_page_rows;
  store_options.limits.max_fields_per_object = max_fields;
  // The server finishes interrupted tenant deletions itself, with their clean-up.
  store_options.finish_deletions_at_open = false;

  std::unique_ptr<cotenant::storage::Store> store;
  cotenant::Status s = cotenant::storage::Store::Open(store_options, &store);
  if (!s.ok()) {
    spdlog::error("cannot open the store {}: {}",
                  storage.empty() ? "at " + data_dir : "in PostgreSQL", s.ToString());
    return 1;
  }
  if (storage.empty()) {
    spdlog::info("opened store at {} (durability {}{})", data_dir, durability,
                 durability == "group"
                     ? ", WAL fsync every " + std::to_string(sync_interval_ms) + " ms"
                     : std::string());
  } else {
    spdlog::info("opened store in PostgreSQL ({} connections at most; every write committed "
                 "durably); local directory {}", storage_connections, data_dir);
  }

  auto identity = std::make_unique<cotenant::sharing::Identity>(store.get());
  std::string key_path;
  s = cotenant::sharing::Bootstrap(store.get(), identity.get(), data_dir, &key_path);
  if (!s.ok()) {
    spdlog::error("cannot set up the system tenant: {}", s.ToString());
    return 1;
  }
  if (!key_path.empty()) spdlog::info("system admin API key written to {}", key_path);
  for (const auto& t : store->ListTenants()) {
    if (t.kind == cotenant::storage::TenantKind::kSystem) {
      spdlog::info("system tenant id {} (log in there with admin.key)", t.id);
    }
  }

  // The installation secret: given, or generated in the data directory on first start.
  std::string secret;
  const bool secret_given = !cache_secret_file.empty();
  const std::string secret_path = secret_given ? cache_secret_file : data_dir + "/cache.secret";
  s = secret_given ? cotenant::ReadSecretFile(secret_path, &secret)
                   : cotenant::LoadOrCreateSecretFile(secret_path, &secret);
  if (!s.ok()) {
    spdlog::error("--cache-secret-file: {}", s.message());
    return 1;
  }

  cotenant::rpc::ServerOptions options;
  options.usage_history = usage_history;
  options.listen = listen;
  options.http = http;
  options.threads = threads;
  options.rpc_threads = rpc_threads;
  options.max_message_bytes = max_message_mb << 20;
  options.connections = conn;
  options.wire.max_fields_per_record = max_fields;
  options.wire.max_criteria_bytes = store_options.limits.max_criteria_bytes;
  options.memcached = memcached;
  options.memcached_timeout_ms = memcached_timeout_ms;
  options.secret = std::move(secret);
  options.metrics_per_tenant = metrics_per_tenant;
  throttle.max_lockout_ms = std::max(throttle.max_lockout_ms, throttle.first_lockout_ms);
  options.login_throttle = throttle;
  options.tls = tls;
  api.max_body_bytes = max_message_mb << 20;
  api.max_connections = conn.max_connections;
  api.max_connections_per_peer = conn.max_connections_per_peer;
  api.max_inflight_bytes = conn.max_inflight_bytes;
  options.api = api;

  cotenant::rpc::Server server(std::move(store), std::move(identity), options);
  s = server.Run();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  return 0;
}
