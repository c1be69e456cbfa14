// Helpers shared by the SDK's sources and its unit tests. Not installed; not part of the
// public API. Exported from the shared library only so that the unit tests
// (sdk/types_test.cc) can call them without a server.

#ifndef COTENANT_SDK_INTERNAL_H_
#define COTENANT_SDK_INTERNAL_H_

#include <optional>
#include <string>
#include <vector>

#include "cotenant/client.h"

namespace cotenant {

// Fills a Record from the library's side; Record's fields are private to keep it a value.
struct RecordBuilder {
  static void setId(Record& r, uint64_t id) { r.id_ = id; }
  static void addField(Record& r, std::string name, Value v) {
    r.fields_.emplace_back(std::move(name), std::move(v));
  }
  static void setMeta(Record& r, uint64_t createdBy, int64_t createdAt, uint64_t modifiedBy,
                      int64_t modifiedAt, uint64_t version) {
    r.createdBy_ = createdBy;
    r.createdAt_ = createdAt;
    r.modifiedBy_ = modifiedBy;
    r.modifiedAt_ = modifiedAt;
    r.version_ = version;
  }
  static void setPermissions(Record& r, bool canUpdate, bool canDelete) {
    r.canUpdate_ = canUpdate;
    r.canDelete_ = canDelete;
  }
};

namespace internal {

// The kind of a kj::Exception, without including KJ here.
enum class ExceptionKind { Failed, Overloaded, Disconnected, Unimplemented };

struct ParsedError {
  ErrorCode code;
  std::string message;
  bool connectionLost = false;  // the transport failed under the call (see classifyFailure)
};

// Maps a failed call to a code and message. A description carrying the schema's
// "cotenant:<Code>: <message>" tag (anywhere, e.g. after "remote exception: ") yields that
// code and the text after the tag; an unknown <Code> yields Internal with the whole
// description. Untagged: DISCONNECTED -> Unavailable, OVERLOADED -> Busy, anything else ->
// Internal, with the description (minus a "remote exception: " prefix) as message.
// connectionLost is set for an untagged failure raised on this side of the connection
// (not "remote exception: ") of kind DISCONNECTED or FAILED: the connection went away
// (end of stream, reset, refused), not an answer of the server.
COTENANT_EXPORT ParsedError classifyFailure(ExceptionKind kind, const std::string& description);

// Maps a code name from the wire ("NotFound", also "Busy" which the server sends with
// OVERLOADED) to ErrorCode; nullopt when unknown.
COTENANT_EXPORT std::optional<ErrorCode> parseCodeName(const std::string& name);

// Splits "a, b,c" into {"a","b","c"}, trimming blanks and dropping empty items. "*" (alone
// or as any item) or "" means every field and yields an empty list.
COTENANT_EXPORT std::vector<std::string> splitFieldList(const std::string& fields);

// "asc"/"ascending"/"" -> false, "desc"/"descending" -> true (any case); nullopt otherwise.
COTENANT_EXPORT std::optional<bool> parseSortDescending(const std::string& order);

// Checks "host:port" (port 1..65535; IPv6 hosts in brackets). Returns an error message, or
// "" when the address is well formed.
COTENANT_EXPORT std::string checkAddress(const std::string& address);

// Splits a comma-separated list of addresses ("a:7770, [::1]:7770") into its entries,
// trimming blanks, and checks each with checkAddress. Returns false with *error naming the
// first malformed or empty entry.
COTENANT_EXPORT bool splitAddressList(const std::string& list, std::vector<std::string>* out,
                                      std::string* error);

}  // namespace internal
}  // namespace cotenant

#endif  // COTENANT_SDK_INTERNAL_H_
