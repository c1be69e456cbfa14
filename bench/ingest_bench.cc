// Physical import against a raw RocksDB fill of the same keys (docs/BENCHMARKS.md).
//
//   ingest_bench DIR [--rows N] [--batch N] [--only raw|ingest]
//
// Both sides write N rows (default 1,000,000) of about 200 bytes with one indexed text
// field (an e-mail-like value in no particular order) and one plain text field:
//  - raw: per row the record key tenant|object|id in "records" with the row's bytes as
//    value and the index key tenant|object|slot|value|id in "indexes", in WriteBatches of
//    --batch rows (default 1000), WAL on and unsynced, on the store's RocksDB options;
//  - ingest: Store::BeginIngest, Ingest::Add of batches of --batch rows (each checked and
//    encoded as an import checks it), Ingest::Commit.
// Rows are generated per batch on both sides (the same generator), so neither holds the
// whole input. Prints one JSON line with both times and ratio = raw seconds / ingest
// seconds (1.0 = as fast as the raw fill; above = faster). --only runs one side (to read
// its peak RSS from /usr/bin/time -v). DIR must not exist.

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/raw_store_db.h"
#include "storage/key_encoding.h"
#include "storage/storage.h"

namespace {

using namespace cotenant::storage;
using Clock = std::chrono::steady_clock;
using cotenant::Status;

void Die(const std::string& what) {
  std::fprintf(stderr, "ingest_bench: %s\n", what.c_str());
  std::exit(1);
}

uint64_t Mix(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

std::string Email(uint64_t i) {
  char b[64];
  std::snprintf(b, sizeof b, "user%016llx@example.com", static_cast<unsigned long long>(Mix(i)));
  return b;
}

std::string Note(uint64_t i) {
  std::string n = "row " + std::to_string(i) + " ";
  while (n.size() < 160) n += "lorem ipsum dolor sit amet ";
  n.resize(160);
  return n;
}

double RawFill(const std::string& dir, uint64_t rows, size_t batch) {
  bench::RawStoreDb raw(dir);
  auto t0 = Clock::now();
  rocksdb::WriteBatch wb;
  std::string value;
  for (uint64_t id = 1; id <= rows; ++id) {
    std::string email = Email(id);
    value = email + "," + Note(id);
    raw.PutRow(&wb, id, email, value);
    if (id % batch == 0 || id == rows) {
      raw.Write(&wb);
      wb.Clear();
    }
  }
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double Ingest(const std::string& dir, uint64_t rows, size_t batch, uint64_t* chunks) {
  StoreOptions options;
  options.path = dir;
  options.limits.max_batch_records = batch;
  std::unique_ptr<Store> store;
  Status s = Store::Open(options, &store);
  if (!s.ok()) Die("open store: " + s.ToString());
  TenantInfo t;
  ObjectDef def;
  if (!store->CreateTenant("bench", TenantKind::kTenant, 0, &t).ok() ||
      !store->CreateObject(t.id, "People",
                           {{"email", FieldType::kText, true, true}, {"note", FieldType::kText, false, false}},
                           &def)
           .ok()) {
    Die("setup");
  }
  auto t0 = Clock::now();
  std::unique_ptr<Store::Ingest> ingest;
  s = store->BeginIngest(t.id, "People", 1, nullptr, &ingest);
  if (!s.ok()) Die("begin: " + s.ToString());
  std::vector<FieldValues> part;
  std::vector<Store::ImportOutcome> out;
  for (uint64_t id = 1; id <= rows; ++id) {
    part.push_back({{"email", Value::Text(Email(id))}, {"note", Value::Text(Note(id))}});
    if (part.size() == batch || id == rows) {
      s = ingest->Add(part, &out);
      if (!s.ok()) Die("add: " + s.ToString());
      part.clear();
    }
  }
  uint64_t committed = 0;
  s = ingest->Commit(&committed);
  if (!s.ok()) Die("commit: " + s.ToString());
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  *chunks = ingest->chunks_written();
  if (committed != rows) Die("committed " + std::to_string(committed) + " rows");
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: ingest_bench DIR [--rows N] [--batch N]\n");
    return 2;
  }
  std::string dir = argv[1];
  uint64_t rows = 1000000;
  size_t batch = 1000;
  std::string only;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--rows") rows = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--batch") batch = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--only") only = argv[i + 1];
    else Die("unknown flag " + a);
  }
  if (rows == 0 || batch == 0) Die("--rows and --batch must be positive");
  if (std::filesystem::exists(dir)) Die(dir + " already exists");
  std::filesystem::create_directories(dir);
  if (!only.empty() && only != "raw" && only != "ingest") Die("--only takes raw or ingest");
  double raw = only == "ingest" ? 0 : RawFill(dir + "/raw", rows, batch);
  uint64_t chunks = 0;
  double ingest = only == "raw" ? 0 : Ingest(dir + "/ingest", rows, batch, &chunks);
  std::printf("{\"rows\": %llu, \"raw_seconds\": %.3f, \"ingest_seconds\": %.3f, \"index_chunks\": %llu, "
              "\"ratio\": %.2f}\n",
              static_cast<unsigned long long>(rows), raw, ingest, static_cast<unsigned long long>(chunks),
              only.empty() ? raw / ingest : 0.0);
  return 0;
}
