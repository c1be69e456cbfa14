// StatusOr<T>: a value of type T, or the Status that says why there is none.
//
// Used where a function returns one thing or fails, in place of an out-parameter beside a
// Status. Like Status it is [[nodiscard]].
//
//   StatusOr<Decision> d = gate.Decide(call);
//   if (!d.ok()) return d.status();
//   Use(*d);
//
// Thread safety: a value; distinct objects may be used from any thread.

#ifndef COTENANT_COMMON_STATUSOR_H_
#define COTENANT_COMMON_STATUSOR_H_

#include <cassert>
#include <optional>
#include <utility>

#include "common/status.h"

namespace cotenant {

template <typename T>
class [[nodiscard]] StatusOr {
 public:
  // REQUIRES: !status.ok() (an OK StatusOr carries a value).
  StatusOr(Status status) : status_(std::move(status)) {  // NOLINT: implicit by design
    assert(!status_.ok());
    if (status_.ok()) status_ = Status::Internal("StatusOr built from OK without a value");
  }
  StatusOr(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design

  bool ok() const { return status_.ok(); }
  const Status& status() const& { return status_; }
  Status status() && { return std::move(status_); }

  // REQUIRES: ok().
  const T& value() const& { return *value_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  const T& operator*() const& { return *value_; }
  T& operator*() & { return *value_; }
  const T* operator->() const { return &*value_; }
  T* operator->() { return &*value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

// Assigns the value of `expr` (a StatusOr) to `lhs`, or returns its Status.
#define COTENANT_ASSIGN_OR_RETURN(lhs, expr)            \
  auto COTENANT_CONCAT_(_so_, __LINE__) = (expr);       \
  if (!COTENANT_CONCAT_(_so_, __LINE__).ok())           \
    return COTENANT_CONCAT_(_so_, __LINE__).status();   \
  lhs = std::move(COTENANT_CONCAT_(_so_, __LINE__)).value()
#define COTENANT_CONCAT_(a, b) COTENANT_CONCAT_INNER_(a, b)
#define COTENANT_CONCAT_INNER_(a, b) a##b

}  // namespace cotenant

#endif  // COTENANT_COMMON_STATUSOR_H_
