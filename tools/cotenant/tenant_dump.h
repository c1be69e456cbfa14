// The tenant dump file of `cotenant tenant dump` and `cotenant tenant restore` (docs/CLI.md,
// "Moving a tenant"): JSON Lines, one JSON object per line, in this order:
//
//   {"format":"cotenant-tenant-dump","version":1,"tenant":{...},"dumpedAt":...}  header
//   {"config":"<YAML>"}                 the tenant's slice of the configuration (config.h)
//   {"object":"Customers"}              then that object's records, in id order:
//   {"id":"17","version":2,"createdBy":"ann","createdAt":...,"modifiedBy":...,
//    "modifiedAt":...,"fields":{"name":"x","age":null,...}}
//   ...                                 (every object of the tenant, in name order)
//   {"end":{"objects":2,"records":1234}}  last line: a file without it is truncated
//
// Writing and reading are streaming: nothing holds more than one line.

#ifndef COTENANT_TOOLS_COTENANT_TENANT_DUMP_H_
#define COTENANT_TOOLS_COTENANT_TENANT_DUMP_H_

#include <cstdint>
#include <fstream>
#include <map>
#include <string>

#include "config.h"
#include "cotenant/client.h"

namespace cotenant::cli::dump {

inline constexpr const char* kFormat = "cotenant-tenant-dump";
inline constexpr int kVersion = 1;

struct Header {
  std::string tenant;          // the dumped tenant's name
  std::string kind;            // tenant | msp | isv
  uint64_t sourceId = 0;       // its id where it was dumped (for the operator; never reused)
  int64_t dumpedAt = 0;        // microseconds since the epoch
};

std::string headerLine(const Header& h);
std::string configLine(const std::string& yaml);
std::string objectLine(const std::string& object);
// `createdBy`/`modifiedBy`: "user" (of the dumped tenant), "user@tenant", or "" for a user
// that no longer exists (written as null). Throws config::ServerError (Internal) for text
// that is not UTF-8, which the server never stores.
std::string recordLine(const config::CObject& def, const Record& r, const std::string& createdBy,
                       const std::string& modifiedBy);
std::string endLine(uint64_t objects, uint64_t records);

// One record as read back.
struct DumpRecord {
  uint64_t id = 0;
  uint64_t version = 0;
  std::string createdBy, modifiedBy;  // as recordLine wrote them
  int64_t createdAt = 0, modifiedAt = 0;
  Parameters fields;  // every declared field, nulls included
  size_t lineBytes = 0;
};

// Reads a dump line by line, checking each line fully: the first problem throws
// config::ConfigError with one "FILE:LINE: what" entry.
class Reader {
 public:
  // Opens `path` and reads the header and the configuration slice (validated as a
  // configuration file is). Throws UsageError when the file cannot be read.
  explicit Reader(const std::string& path);

  const Header& header() const { return header_; }
  const config::Config& slice() const { return slice_; }
  const config::CTenant& tenant() const { return slice_.tenants.at(header_.tenant); }

  enum class Item { kObject, kRecord, kEnd };
  // The next item: an object's start (*object set), one of its records (*object and *rec
  // set), or the end line (after which nothing may follow).
  Item next(std::string* object, DumpRecord* rec);

  uint64_t records() const { return records_; }
  uint64_t objects() const { return objects_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;
  bool readLine();

  std::string path_;
  std::ifstream in_;
  std::string line_;
  uint64_t lineNo_ = 0;
  Header header_;
  config::Config slice_;
  const config::CObject* current_ = nullptr;
  uint64_t lastId_ = 0;
  std::map<std::string, bool> seen_;
  uint64_t records_ = 0, objects_ = 0;
  bool ended_ = false;
};

}  // namespace cotenant::cli::dump

#endif  // COTENANT_TOOLS_COTENANT_TENANT_DUMP_H_
