// cotenantd: the Cotenant server. See docs/OPERATIONS.md.
//
// Exit codes: 0 after a clean shutdown on SIGTERM/SIGINT; 1 when the store cannot be
// opened or the listener cannot be set up; 2 for bad command-line flags.

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "common/secret.h"
#include "rpc/ops_http.h"
#include "rpc/server.h"
#include "sharing/identity.h"
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

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cotenantd: the Cotenant tenant-scoped record store server"};

  std::string data_dir = "./cotenant-data";
  std::string listen = "127.0.0.1:7770";
  std::string http;
  std::string durability = "group";
  int sync_interval_ms = 10;
  int threads = 4;
  size_t block_cache_mb = 256;
  size_t memtable_mb = 64;
  size_t max_message_mb = 64;
  size_t max_record_kb = 1024;
  size_t max_batch = 1000;
  uint32_t max_page_rows = 1000;
  size_t max_fields = 256;
  std::string log_level = "info";

  app.add_option("--data", data_dir, "Data directory (created when missing)")
      ->capture_default_str();
  app.add_option("--listen", listen, "RPC listen address HOST:PORT")
      ->check(HostPort())
      ->capture_default_str();
  app.add_option("--http", http, "Ops HTTP endpoint HOST:PORT (/healthz, /metrics); off when unset")
      ->check(HostPort());
  app.add_option("--durability", durability,
                 "sync: fsync the WAL before every acknowledgement; group: fsync it every "
                 "--sync-interval-ms")
      ->check(CLI::IsMember({"sync", "group"}))
      ->capture_default_str();
  app.add_option("--sync-interval-ms", sync_interval_ms, "WAL fsync interval in group mode")
      ->check(CLI::Range(1, 60000))
      ->capture_default_str();
  app.add_option("--threads", threads, "Storage worker threads")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  app.add_option("--block-cache-mb", block_cache_mb, "Block cache size in MiB")
      ->check(CLI::Range(size_t{1}, size_t{1} << 20))
      ->capture_default_str();
  app.add_option("--memtable-mb", memtable_mb, "Memtable (write buffer) size per column family in MiB")
      ->check(CLI::Range(size_t{1}, size_t{65536}))
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
  std::string cache_secret_file;
  app.add_option("--cache-secret-file", cache_secret_file,
                 "File of exactly 32 random bytes, mode 0600, authenticating what this server "
                 "stores in memcached and the continuation tokens it hands out; give every "
                 "server sharing a memcached the same file. Default: DATA/cache.secret, "
                 "created on first start");
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

  // Before any thread exists (RocksDB starts its own): SIGTERM/SIGINT go to the loop.
  cotenant::rpc::Server::CaptureSignals();
  std::signal(SIGPIPE, SIG_IGN);
  spdlog::set_level(spdlog::level::from_str(log_level));

  cotenant::storage::StoreOptions store_options;
  store_options.path = data_dir;
  store_options.durability = durability == "sync" ? cotenant::storage::Durability::kSync
                                                  : cotenant::storage::Durability::kGroup;
  store_options.sync_interval_ms = sync_interval_ms;
  store_options.block_cache_bytes = block_cache_mb << 20;
  store_options.memtable_bytes = memtable_mb << 20;
  store_options.limits.max_record_bytes = max_record_kb << 10;
  store_options.limits.max_batch_records = max_batch;
  store_options.limits.max_page_rows = max_page_rows;
  store_options.limits.max_fields_per_object = max_fields;

  std::unique_ptr<cotenant::storage::Store> store;
  cotenant::Status s = cotenant::storage::Store::Open(store_options, &store);
  if (!s.ok()) {
    spdlog::error("cannot open the store at {}: {}", data_dir, s.ToString());
    return 1;
  }
  spdlog::info("opened store at {} (durability {}{})", data_dir, durability,
               durability == "group" ? ", WAL fsync every " + std::to_string(sync_interval_ms) + " ms"
                                     : std::string());

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
  options.listen = listen;
  options.http = http;
  options.threads = threads;
  options.max_message_bytes = max_message_mb << 20;
  options.wire.max_fields_per_record = max_fields;
  options.memcached = memcached;
  options.memcached_timeout_ms = memcached_timeout_ms;
  options.secret = std::move(secret);
  options.tls = tls;

  cotenant::rpc::Server server(std::move(store), std::move(identity), options);
  s = server.Run();
  if (!s.ok()) {
    spdlog::error("{}", s.ToString());
    return 1;
  }
  return 0;
}
