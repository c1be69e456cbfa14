// Raw RocksDB fill: the floor under a Cotenant import of the same file (bench/import_bench.sh).
//
//   import_raw_fill FILE DIR [--batch N] [--sync-interval-ms N]
//
// Reads the CSV FILE (a header line, then rows whose first column is the indexed value; no
// quoted fields, as import_bench.sh generates them) and writes, per row, what the store
// writes for a record with one indexed field: the record key tenant|object|id (big-endian,
// id from 1) in the "records" column family with the row's bytes as its value, and the
// index key tenant|object|slot|value|id with an empty value in the "indexes" column family.
// Rows go in WriteBatches of --batch (default 500, the importer's default) on the options
// the store opens RocksDB with (MakeRocksOptions of a default StoreOptions: shared block
// cache, one memtable budget, bloom filters, LZ4), WAL on, no sync per batch; like the
// store's default group durability, a thread syncs the WAL every --sync-interval-ms
// (default 10; 0 = never). DIR is created and must not hold a store.
//
// Times the span from opening FILE to the last write returning, and prints one JSON line:
// {"rows": N, "bytes": N, "seconds": S}. No parsing of types, no encoding, no network:
// what is left is the engine's own cost for the same keys and roughly the same bytes.

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/raw_store_db.h"

namespace {

using namespace cotenant::storage;
using Clock = std::chrono::steady_clock;


}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: import_raw_fill FILE DIR [--batch N] [--sync-interval-ms N]\n");
    return 2;
  }
  std::string file = argv[1], dir = argv[2];
  size_t batch_rows = 500;
  int sync_ms = 10;
  for (int i = 3; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--batch") batch_rows = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--sync-interval-ms") sync_ms = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "import_raw_fill: unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  if (batch_rows == 0) batch_rows = 1;
  if (std::filesystem::exists(dir + "/CURRENT")) {
    std::fprintf(stderr, "import_raw_fill: %s already holds a database\n", dir.c_str());
    return 2;
  }
  std::filesystem::create_directories(dir);

  bench::RawStoreDb raw(dir);
  rocksdb::DB* db = raw.db();

  uint64_t rows = 0, bytes = 0;
  double seconds = 0;
  {
    bench::WalSyncer syncer(db, sync_ms, "import_raw_fill");
    auto t0 = Clock::now();
    std::FILE* in = std::fopen(file.c_str(), "rb");
    if (in == nullptr) {
      std::fprintf(stderr, "import_raw_fill: cannot open %s: %s\n", file.c_str(), std::strerror(errno));
      return 1;
    }
    std::vector<char> buf(1 << 20);
    std::string carry;  // a line cut by the end of the buffer
    bool header = true;
    rocksdb::WriteBatch wb;
    size_t in_batch = 0;
    auto put_row = [&](std::string_view line) {
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) return;
      if (header) {
        header = false;
        return;
      }
      ++rows;
      bytes += line.size() + 1;
      size_t comma = line.find(',');
      raw.PutRow(&wb, rows, line.substr(0, comma), line);
      if (++in_batch == batch_rows) {
        raw.Write(&wb);
        wb.Clear();
        in_batch = 0;
      }
    };
    size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
      std::string_view chunk(buf.data(), n);
      size_t start = 0;
      for (size_t nl; (nl = chunk.find('\n', start)) != std::string_view::npos; start = nl + 1) {
        if (!carry.empty()) {
          carry.append(chunk.substr(start, nl - start));
          put_row(carry);
          carry.clear();
        } else {
          put_row(chunk.substr(start, nl - start));
        }
      }
      carry.append(chunk.substr(start));
    }
    bool read_error = std::ferror(in) != 0;
    std::fclose(in);
    if (read_error) {
      std::fprintf(stderr, "import_raw_fill: cannot read %s\n", file.c_str());
      return 1;
    }
    if (!carry.empty()) put_row(carry);
    if (in_batch > 0) raw.Write(&wb);
    seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  }

  std::printf("{\"rows\": %llu, \"bytes\": %llu, \"seconds\": %.3f}\n",
              static_cast<unsigned long long>(rows), static_cast<unsigned long long>(bytes), seconds);
  return 0;
}
