// Pieces of the `cotenant` CLI that do not parse argv: argument-spec parsing, exit codes,
// and the text and JSON renderings of SDK types. See docs/CLI.md for the contract.

#ifndef COTENANT_TOOLS_COTENANT_CLI_UTIL_H_
#define COTENANT_TOOLS_COTENANT_CLI_UTIL_H_

#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cotenant/client.h"

namespace cotenant::cli {

// Exit codes (docs/CLI.md).
constexpr int kExitOk = 0;
constexpr int kExitError = 1;     // server, connection or internal error
constexpr int kExitUsage = 2;     // bad command line
constexpr int kExitDenied = 3;    // PermissionDenied, Unauthenticated
constexpr int kExitNotFound = 4;  // NotFound
constexpr int kExitRejected = 5;  // InvalidArgument, Conflict, ResourceExhausted

int exitCodeFor(ErrorCode code);

// A bad command line; the message names the bad argument.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "name:type[:indexed][:required]" (flags in any order). Throws UsageError naming `spec`.
FieldDef parseFieldSpec(const std::string& spec);

// "name=value" -> {name, value}; the value may contain '='. Throws UsageError.
std::pair<std::string, std::string> parseAssignment(const std::string& spec);

// "field" or "field:asc" / "field:desc" -> {field, order}. Throws UsageError.
std::pair<std::string, std::string> parseSortSpec(const std::string& spec);

// Strict decimal id for `what` ("tenant id", "record id"). Throws UsageError.
uint64_t parseId(const std::string& text, const std::string& what);

// Continuation tokens are bytes; the CLI shows them as lowercase hex.
std::string toHex(const std::string& bytes);
std::optional<std::string> fromHex(const std::string& hex);

// ---- JSON renderings (stable; docs/CLI.md) -------------------------------------------------
nlohmann::json toJson(const Value& v);
nlohmann::json toJson(const Record& r);
nlohmann::json toJson(const TenantInfo& t);
nlohmann::json toJson(const UserInfo& u);
nlohmann::json toJson(const ObjectInfo& o);

// ---- text tables ---------------------------------------------------------------------------

// Left-aligned columns separated by two spaces, widths by UTF-8 code points.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& os) const;
  size_t size() const { return rows_.size(); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Table cell for a value: "" for null (so missing and null read alike in a grid).
std::string cell(const Value& v);

// Records as a table: ID, the fields in first-seen order, VERSION, MODIFIED.
void printRecords(std::ostream& os, const std::vector<Record>& records);

// One record as "name: value" lines.
void printRecord(std::ostream& os, const Record& r);

}  // namespace cotenant::cli

#endif  // COTENANT_TOOLS_COTENANT_CLI_UTIL_H_
