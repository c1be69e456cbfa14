// Storage benchmark: the Store against raw RocksDB on the same options, in one run.
//
//   storage_bench [--records N] [--gets N] [--dir DIR]
//
// Loads N records of ~200 bytes with one indexed field through Store::AddRecords (batches
// of 1000) and the same number of 200-byte values through raw WriteBatch puts (batches of
// 1000); then random point reads on 1 and 2 threads; then searches: the top 20 by the
// indexed field among the N records, and a non-indexed filter over an object of 10k
// records. Prints each figure and its ratio to the raw baseline.

#include <rocksdb/db.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "storage/key_encoding.h"
#include "storage/rocksdb_engine.h"
#include "storage/storage.h"

namespace {

using namespace cotenant::storage;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

void Check(const cotenant::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

void Check(const rocksdb::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

std::string RandomText(std::mt19937_64& rng, size_t n) {
  static const char kAlpha[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
  std::string s(n, ' ');
  for (auto& c : s) c = kAlpha[rng() % (sizeof(kAlpha) - 1)];
  return s;
}

// Runs `per_thread` calls of fn(thread, i) on `threads` threads; returns calls per second.
template <typename Fn>
double Parallel(int threads, uint64_t per_thread, Fn fn) {
  std::vector<std::thread> ts;
  auto start = Clock::now();
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (uint64_t i = 0; i < per_thread; ++i) fn(t, i);
    });
  }
  for (auto& t : ts) t.join();
  return static_cast<double>(per_thread * static_cast<uint64_t>(threads)) /
         Seconds(start, Clock::now());
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t records = 1000000, gets = 500000;
  std::string dir = "/tmp/cotenant-storage-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--records") records = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--gets") gets = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--dir") dir = argv[i + 1];
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  StoreOptions options;
  options.path = dir + "/store";
  options.durability = Durability::kGroup;

  std::mt19937_64 rng(42);
  std::printf("storage benchmark: %llu records of ~200 bytes, %llu random gets per run\n",
              static_cast<unsigned long long>(records), static_cast<unsigned long long>(gets));
  std::printf("options: block cache %zu MiB, memtables %zu MiB, WAL on, no fsync per write\n\n",
              options.block_cache_bytes >> 20, options.memtable_bytes >> 20);

  // ---- Raw RocksDB baseline, same options.
  std::shared_ptr<rocksdb::Cache> cache;
  rocksdb::DBOptions dbo;
  rocksdb::ColumnFamilyOptions cfo;
  MakeRocksOptions(options, &cache, &dbo, &cfo);
  rocksdb::Options raw_options(dbo, cfo);
  rocksdb::DB* raw = nullptr;
  Check(rocksdb::DB::Open(raw_options, dir + "/raw", &raw), "open raw");
  std::vector<std::string> payloads;
  for (int i = 0; i < 4096; ++i) payloads.push_back(RandomText(rng, 170));
  auto raw_key = [](uint64_t i) {
    std::string k;
    AppendU64(&k, 7);
    AppendU32(&k, 1);
    AppendU64(&k, i);
    return k;
  };
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < records; i += 1000) {
    rocksdb::WriteBatch b;
    for (uint64_t j = i; j < std::min(records, i + 1000); ++j) {
      Check(b.Put(raw_key(j), payloads[j % payloads.size()] + RandomText(rng, 30)), "batch");
    }
    Check(raw->Write(rocksdb::WriteOptions(), &b), "raw write");
  }
  double raw_put = static_cast<double>(records) / Seconds(t0, Clock::now());

  // ---- Store.
  std::unique_ptr<Store> store;
  Check(Store::Open(options, &store), "open store");
  TenantInfo tenant;
  Check(store->CreateTenant("bench", TenantKind::kTenant, 0, &tenant), "tenant");
  ObjectDef def;
  Check(store->CreateObject(tenant.id, "Items",
                            {{"name", FieldType::kText, true, true},
                             {"payload", FieldType::kText},
                             {"n", FieldType::kInt}},
                            &def),
        "object");
  t0 = Clock::now();
  for (uint64_t i = 0; i < records; i += 1000) {
    std::vector<FieldValues> batch;
    for (uint64_t j = i; j < std::min(records, i + 1000); ++j) {
      batch.push_back({{"name", Value::Text(RandomText(rng, 16))},
                       {"payload", Value::Text(payloads[j % payloads.size()])},
                       {"n", Value::Int(static_cast<int64_t>(j))}});
    }
    std::vector<RecordId> ids;
    Check(store->AddRecords(tenant.id, "Items", batch, 1, &ids), "add");
  }
  double store_add = static_cast<double>(records) / Seconds(t0, Clock::now());

  // ---- Point reads.
  auto raw_get = [&](int threads) {
    return Parallel(threads, gets / static_cast<uint64_t>(threads), [&](int t, uint64_t i) {
      thread_local std::mt19937_64 r(static_cast<uint64_t>(t) * 7919 + 1);
      std::string v;
      Check(raw->Get(rocksdb::ReadOptions(), raw_key(r() % records), &v), "raw get");
    });
  };
  auto store_get = [&](int threads) {
    return Parallel(threads, gets / static_cast<uint64_t>(threads), [&](int t, uint64_t i) {
      thread_local std::mt19937_64 r(static_cast<uint64_t>(t) * 7919 + 2);
      Record rec;
      Check(store->GetRecord(tenant.id, "Items", 1 + r() % records, &rec, nullptr), "get");
    });
  };
  // Warm both caches the same way before measuring.
  raw_get(2);
  store_get(2);
  double raw_get1 = raw_get(1), store_get1 = store_get(1);
  double raw_get2 = raw_get(2), store_get2 = store_get(2);

  std::printf("%-34s %14s %14s %8s\n", "operation", "raw RocksDB/s", "Cotenant/s", "ratio");
  auto row = [](const char* name, double raw_v, double ours) {
    std::printf("%-34s %14.0f %14.0f %7.2fx\n", name, raw_v, ours, ours / raw_v);
  };
  row("add (batches of 1000, +1 index)", raw_put, store_add);
  row("get, 1 thread", raw_get1, store_get1);
  row("get, 2 threads", raw_get2, store_get2);

  // ---- Search.
  auto time_search = [&](const SearchRequest& req, int reps, std::string* plan, size_t* rows) {
    SearchResult res;
    Check(store->Search(tenant.id, req, &res), "search warm-up");
    auto start = Clock::now();
    for (int i = 0; i < reps; ++i) Check(store->Search(tenant.id, req, &res), "search");
    *plan = res.plan;
    *rows = res.records.size();
    return Seconds(start, Clock::now()) / reps * 1e6;
  };
  std::printf("\n%-58s %12s %s\n", "search (in-process server time per call)", "micros", "plan");
  SearchRequest top;
  top.object = "Items";
  top.sort = {{"name", false}};
  top.rows = 20;
  std::string plan;
  size_t rows = 0;
  double us = time_search(top, 2000, &plan, &rows);
  std::printf("%-58s %12.1f %s (%zu rows)\n", "top 20 by indexed field, ascending, 1M records", us,
              plan.c_str(), rows);
  top.sort = {{"name", true}};
  us = time_search(top, 2000, &plan, &rows);
  std::printf("%-58s %12.1f %s (%zu rows)\n", "top 20 by indexed field, descending", us,
              plan.c_str(), rows);

  Check(store->CreateObject(tenant.id, "Small",
                            {{"note", FieldType::kText}, {"n", FieldType::kInt}}, &def),
        "object");
  for (int i = 0; i < 10000; i += 1000) {
    std::vector<FieldValues> batch;
    for (int j = i; j < i + 1000; ++j) {
      batch.push_back({{"note", Value::Text(RandomText(rng, 150))}, {"n", Value::Int(j)}});
    }
    std::vector<RecordId> ids;
    Check(store->AddRecords(tenant.id, "Small", batch, 1, &ids), "add small");
  }
  SearchRequest scan;
  scan.object = "Small";
  scan.criteria = "note contains 'xyz' or n = 5000";
  scan.rows = 100;
  us = time_search(scan, 50, &plan, &rows);
  std::printf("%-58s %12.1f %s (%zu rows)\n", "non-indexed filter over 10k records", us,
              plan.c_str(), rows);

  uint64_t block_cache = 0, memtables = 0;
  store->MemoryUsage(&block_cache, &memtables);
  std::printf("\nstore memory: block cache %.1f MiB, memtables %.1f MiB\n",
              static_cast<double>(block_cache) / (1 << 20), static_cast<double>(memtables) / (1 << 20));

  store.reset();
  delete raw;
  std::filesystem::remove_all(dir);
  return 0;
}
