// Cotenant C++ SDK: the plain value types of record calls and the errors every call
// reports: ErrorCode and Error, Value, Parameters, Record, RecordId, Result, Outcome<T>
// and SearchQuery.
//
// These are values: safe to read from several threads, not to modify concurrently.
// Included by <cotenant/client.h>; users normally include that instead.

#ifndef COTENANT_TYPES_H_
#define COTENANT_TYPES_H_

#include <cstdint>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#if defined(_WIN32)
#define COTENANT_EXPORT
#else
#define COTENANT_EXPORT __attribute__((visibility("default")))
#endif

namespace cotenant {

// ---------------------------------------------------------------------------------------
// Error codes

// The outcome of a call. OK is 0, so `result.getCode() == ErrorCode::OK` tests success.
// The numbers are stable and never reused.
enum class ErrorCode : int {
  OK = 0,
  NotFound = 1,           // the tenant, object or record does not exist (or is not visible)
  PermissionDenied = 2,   // the caller may not do this; the message says what was missing
  InvalidArgument = 3,    // the request is malformed; the message names the problem
  Conflict = 4,           // an expected version did not match, or a name is taken
  ResourceExhausted = 5,  // a configured limit or quota was exceeded
  Unauthenticated = 6,    // bad tenant id or API key, or the key was revoked
  Unavailable = 7,        // no connection: refused, lost, or the Client was closed
  Internal = 8,           // the server (or this library) hit an unexpected failure
  Busy = 9,               // the server is shedding load (Cap'n Proto OVERLOADED); retry later
};

// "OK", "NotFound", ... (the names above). Never returns null.
COTENANT_EXPORT const char* errorCodeName(ErrorCode code);

// Writes errorCodeName(code).
COTENANT_EXPORT std::ostream& operator<<(std::ostream& os, ErrorCode code);

// Thrown only by Client::connect and the TenantContext constructors.
class COTENANT_EXPORT Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ErrorCode code() const noexcept { return code_; }
  // The message without the code (what() is "<Code>: <message>").
  const std::string& message() const noexcept { return message_; }

 private:
  ErrorCode code_;
  std::string message_;
};

// ---------------------------------------------------------------------------------------
// Values, parameters and records

// One field value: null, text, int (signed 64-bit), float (double), bool, or timestamp
// (microseconds since 1970-01-01T00:00:00Z).
class COTENANT_EXPORT Value {
 public:
  enum class Type { Null, Text, Int, Float, Bool, Timestamp };

  Value() = default;  // null
  static Value null() { return Value(); }
  static Value text(std::string v);
  static Value integer(int64_t v);
  static Value floating(double v);
  static Value boolean(bool v);
  static Value timestamp(int64_t micros);

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::Null; }

  // Accessors. REQUIRES: type() is the matching type (else std::logic_error).
  const std::string& asText() const;
  int64_t asInt() const;
  double asFloat() const;
  bool asBool() const;
  int64_t asTimestamp() const;  // microseconds since the epoch

  // Human-readable form: "null", the text itself, decimal integers, the shortest decimal
  // that reads back as the same double, "true"/"false", and timestamps as ISO-8601 UTC
  // ("2024-05-01T12:00:00Z", with ".ffffff" when there are microseconds).
  std::string toString() const;

  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  Type type_ = Type::Null;
  std::variant<std::monostate, std::string, int64_t, double, bool> v_;
};

// Formats microseconds since the epoch as ISO-8601 UTC, as Value::toString does.
COTENANT_EXPORT std::string formatTimestamp(int64_t micros);

// The field values of an add or update, in the order added, plus the option of getRecord
// and searchRecords to retrieve record permissions.
//
// Adding a name that is already present replaces its value and keeps its position.
// Text values for non-text fields are parsed strictly by the server ("42" for an int,
// "2024-05-01T12:00:00Z" for a timestamp).
class COTENANT_EXPORT Parameters {
 public:
  Parameters() = default;

  Parameters& add(const std::string& name, const std::string& value);
  Parameters& add(const std::string& name, const char* value);  // REQUIRES: value != nullptr
  Parameters& add(const std::string& name, double value);
  Parameters& add(const std::string& name, bool value);
  // Every integer type (int, long, int64_t, unsigned, ...) is sent as a signed 64-bit int.
  template <typename T,
            typename std::enable_if<std::is_integral<T>::value &&
                                        !std::is_same<T, bool>::value,
                                    int>::type = 0>
  Parameters& add(const std::string& name, T value) {
    return addValue(name, Value::integer(static_cast<int64_t>(value)));
  }
  Parameters& addTimestamp(const std::string& name, int64_t micros);
  Parameters& addNull(const std::string& name);  // clears the field on update
  Parameters& addValue(const std::string& name, Value value);

  // Asks getRecord and searchRecords to say, for each record, whether the caller may
  // update and delete it: they then fill Record::canUpdate() and Record::canDelete().
  // Ignored by add, update and delete.
  Parameters& retrieveRecordPermissions(bool on);
  bool retrievesRecordPermissions() const { return retrievePermissions_; }

  // Asks addRecord and updateRecord to answer with the record's id, version and system
  // fields only (Record::fields() empty): less for the server to send back and for the
  // client to decode, when the writer needs nothing more. Ignored by the other calls.
  Parameters& minimalReply(bool on);
  bool wantsMinimalReply() const { return minimalReply_; }

  const std::vector<std::pair<std::string, Value>>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  size_t size() const { return fields_.size(); }

  // The value for `name`, or nullptr when absent. The pointer is valid until the next add.
  const Value* find(const std::string& name) const;

 private:
  std::vector<std::pair<std::string, Value>> fields_;
  bool retrievePermissions_ = false;
  bool minimalReply_ = false;
};

// One record as returned by the server.
class COTENANT_EXPORT Record {
 public:
  uint64_t id() const { return id_; }
  std::string idString() const;  // decimal

  // The value of field `name`; a null Value when the field is null or was not projected.
  const Value& get(const std::string& name) const;
  // True when the server returned field `name` (it may still be null).
  bool has(const std::string& name) const;
  // The returned fields in the server's order.
  const std::vector<std::pair<std::string, Value>>& fields() const { return fields_; }

  uint64_t createdBy() const { return createdBy_; }    // user id
  int64_t createdAt() const { return createdAt_; }     // microseconds since the epoch
  uint64_t modifiedBy() const { return modifiedBy_; }  // user id
  int64_t modifiedAt() const { return modifiedAt_; }   // microseconds since the epoch
  uint64_t version() const { return version_; }        // 1 on add, +1 per update

  // Set only when the read asked for record permissions.
  std::optional<bool> canUpdate() const { return canUpdate_; }
  std::optional<bool> canDelete() const { return canDelete_; }

 private:
  friend struct RecordBuilder;
  uint64_t id_ = 0;
  std::vector<std::pair<std::string, Value>> fields_;
  uint64_t createdBy_ = 0;
  int64_t createdAt_ = 0;
  uint64_t modifiedBy_ = 0;
  int64_t modifiedAt_ = 0;
  uint64_t version_ = 0;
  std::optional<bool> canUpdate_;
  std::optional<bool> canDelete_;
};

// A record id given as a number or as a decimal string, so that ids an application holds
// as text (from a form, a URL or JSON) can be passed as they are.
// A string that is not a decimal number in 1..2^64-1 makes the call fail with
// InvalidArgument before anything is sent.
class COTENANT_EXPORT RecordId {
 public:
  template <typename T,
            typename std::enable_if<std::is_integral<T>::value &&
                                        !std::is_same<T, bool>::value,
                                    int>::type = 0>
  RecordId(T id)  // NOLINT(google-explicit-constructor): ids read naturally as numbers
      : value_(static_cast<uint64_t>(id)), valid_(id > 0), text_() {
    if (!valid_) text_ = std::to_string(id);
  }
  RecordId(const std::string& id);  // NOLINT(google-explicit-constructor)
  RecordId(const char* id);         // NOLINT(google-explicit-constructor)

  bool valid() const { return valid_; }
  uint64_t value() const { return value_; }
  // What the caller passed, for error messages.
  std::string text() const;

  // Parses a strict decimal id ("123"; no sign, spaces or leading '+'; not 0; fits in
  // 64 bits). Returns nullopt otherwise.
  static std::optional<uint64_t> parse(const std::string& text);

 private:
  uint64_t value_ = 0;
  bool valid_ = false;
  std::string text_;  // set when built from a string or an invalid number
};

// The outcome of a record call.
class COTENANT_EXPORT Result {
 public:
  Result() = default;  // OK, empty
  Result(ErrorCode code, std::string message)
      : code_(code), message_(std::move(message)) {}

  ErrorCode getCode() const { return code_; }
  const std::string& getMessage() const { return message_; }  // empty on success
  bool ok() const { return code_ == ErrorCode::OK; }

  // add/update/get: the one record; search: the page, in order. Empty for delete and
  // batch add, and on failure.
  const std::vector<Record>& getRecords() const { return records_; }
  // addRecord: the new record's id (0 otherwise). addRecords: the first id.
  uint64_t getId() const { return ids_.empty() ? 0 : ids_.front(); }
  // addRecords: the new ids in input order. addRecord: the one id.
  const std::vector<uint64_t>& ids() const { return ids_; }
  // upsertRecord: true when the record was added, false when an existing one was updated.
  bool created() const { return created_; }

  // searchRecords: true when no row follows this page (a page is never silently
  // truncated). Other calls: true.
  bool complete() const { return complete_; }
  // searchRecords: an opaque token for the next page of the same query; empty when
  // complete. Pass it in SearchQuery::continuation.
  const std::string& continuation() const { return continuation_; }

  // For the library and for tests that fake results.
  std::vector<Record>& mutableRecords() { return records_; }
  std::vector<uint64_t>& mutableIds() { return ids_; }
  void setComplete(bool complete) { complete_ = complete; }
  void setContinuation(std::string token) { continuation_ = std::move(token); }
  void setCreated(bool created) { created_ = created; }

 private:
  ErrorCode code_ = ErrorCode::OK;
  std::string message_;
  std::vector<Record> records_;
  std::vector<uint64_t> ids_;
  bool complete_ = true;
  std::string continuation_;
  bool created_ = false;
};

// The outcome of an administrative call: a code and message as in Result, and on success
// a value.
template <typename T>
class Outcome {
 public:
  Outcome(T value) : value_(std::move(value)) {}  // NOLINT: OK outcome
  Outcome(ErrorCode code, std::string message)
      : code_(code), message_(std::move(message)), value_() {}

  ErrorCode getCode() const { return code_; }
  const std::string& getMessage() const { return message_; }
  bool ok() const { return code_ == ErrorCode::OK; }
  // REQUIRES: ok() (otherwise a default-constructed T).
  const T& value() const { return value_; }
  T& value() { return value_; }

 private:
  ErrorCode code_ = ErrorCode::OK;
  std::string message_;
  T value_;
};

// ---------------------------------------------------------------------------------------
// Search

// A complete search request: everything the detailed searchRecords takes, plus the
// continuation token of the next page.
struct SearchQuery {
  std::string object;
  std::string fields = "*";        // comma-separated projection; "*" or "" = every field
  std::string criteria;            // docs/CRITERIA.md; "" = every record
  // The values of the criteria's `?` placeholders, in order: "age > ? AND name = ?" with
  // {Value::integer(30), Value::text(userInput)}. A value stands for itself (no quoting or
  // escaping), so criteria built from user input are safe; null is not allowed.
  std::vector<Value> parameters;
  std::string sortBy;              // "" = record id
  std::string sortOrder = "asc";   // "asc"/"desc" (also "ascending"/"descending"; any case)
  std::string sortBy2;             // "" = none
  std::string sortOrder2 = "asc";
  uint32_t offset = 0;             // rows skipped after the continuation point
  uint32_t numberOfRows = 0;       // page size 1..1000; 0 = the server default (100)
  std::string continuation;        // Result::continuation() of the previous page; "" = start
  bool retrievePermissions = false;
};

// ---------------------------------------------------------------------------------------
// Bulk import

// Names one batch of a bulk load (Client::importRecords), so that the server recognises
// the batch when it is sent again (after the loader or the server restarted) and answers
// it from its first outcome instead of adding its records twice.
struct ImportBatch {
  std::string importId;  // 1..64 of [A-Za-z0-9_.-], chosen by the loader; "" = no record kept
  uint64_t sequence = 0; // the batch's number within the import
  // A unique field: a record whose value of it some record holds updates that record
  // instead of being added (as upsertRecord; needs the update right too). "" = add all.
  std::string upsertOn;
};

// What importRecords answered: one entry per record sent, in order.
struct ImportReply {
  struct Entry {
    uint64_t id = 0;                 // the record added or updated (0 when rejected, or in a dry run)
    bool updated = false;            // upsertOn: an existing record was updated, not added
    ErrorCode code = ErrorCode::OK;  // OK, or why this record was not added
    std::string message;             // the reason, naming the field ("" when OK)
    bool ok() const { return code == ErrorCode::OK; }
  };
  std::vector<Entry> results;
  bool replayed = false;  // the server had this batch already: results are the first call's
};

}  // namespace cotenant

#endif  // COTENANT_TYPES_H_
