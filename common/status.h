// Status: the outcome of a storage or sharing operation.
//
// storage/ and sharing/ report business outcomes with a Status, never with exceptions.
// A Status is [[nodiscard]]: every caller checks it or passes it on. The rpc/ layer
// turns it into what the client sees in exactly one place (rpc/errors.h).
//
// Thread safety: a Status is a value; distinct objects may be used from any thread.

#ifndef COTENANT_COMMON_STATUS_H_
#define COTENANT_COMMON_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace cotenant {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound,           // the tenant, object, record or user does not exist (or is hidden)
    kPermissionDenied,   // the caller may not do this
    kInvalidArgument,    // the request is malformed
    kConflict,           // version mismatch, or a name already taken
    kResourceExhausted,  // a limit or quota was exceeded
    kUnauthenticated,    // bad credentials
    kBusy,               // overloaded; the caller may retry
    kInternal,           // I/O error, corruption, or a bug
    kUnavailable,        // the storage engine cannot be reached; a write's outcome is unknown
  };

  Status() = default;  // OK

  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status PermissionDenied(std::string msg) {
    return Status(Code::kPermissionDenied, std::move(msg));
  }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status Conflict(std::string msg) { return Status(Code::kConflict, std::move(msg)); }
  static Status ResourceExhausted(std::string msg) {
    return Status(Code::kResourceExhausted, std::move(msg));
  }
  static Status Unauthenticated(std::string msg) {
    return Status(Code::kUnauthenticated, std::move(msg));
  }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }
  static Status Unavailable(std::string msg) {
    return Status(Code::kUnavailable, std::move(msg));
  }
  // A status of any code (one read back from storage); kOk drops the message. A byte that
  // is no code reads as kInternal.
  static Status FromCode(Code code, std::string msg) {
    if (code == Code::kOk) return Status();
    if (code > Code::kInternal) code = Code::kInternal;
    return Status(code, std::move(msg));
  }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsPermissionDenied() const { return code_ == Code::kPermissionDenied; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsConflict() const { return code_ == Code::kConflict; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  bool IsBusy() const { return code_ == Code::kBusy; }

  // Stable name of the code: "OK", "NotFound", "PermissionDenied", ... (used on the wire).
  static std::string_view CodeName(Code code);
  std::string_view code_name() const { return CodeName(code_); }

  // "NotFound: record 12 does not exist".
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// Returns early from the enclosing function when `expr` is not OK.
#define COTENANT_RETURN_IF_ERROR(expr)        \
  do {                                        \
    ::cotenant::Status _st = (expr);          \
    if (!_st.ok()) return _st;                \
  } while (0)

}  // namespace cotenant

#endif  // COTENANT_COMMON_STATUS_H_
