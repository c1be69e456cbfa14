#include "rpc/errors.h"

#include <cinttypes>
#include <cstdio>
#include <random>
#include <string_view>

#include <kj/string.h>
#include <spdlog/spdlog.h>

namespace cotenant::rpc {

namespace {

constexpr std::string_view kInternalPrefix = "internal error (id ";
constexpr size_t kErrorIdDigits = 16;

// Already the generic form: "internal error (id " + 16 hex digits + ")".
bool IsGeneric(std::string_view msg) {
  if (msg.size() != kInternalPrefix.size() + kErrorIdDigits + 1 ||
      !msg.starts_with(kInternalPrefix) || msg.back() != ')') {
    return false;
  }
  for (char c : msg.substr(kInternalPrefix.size(), kErrorIdDigits)) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string NewErrorId() {
  thread_local std::mt19937_64 rng{[] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }()};
  char buf[kErrorIdDigits + 1];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, static_cast<uint64_t>(rng()));
  return buf;
}

}  // namespace

Status ForClient(const Status& status) {
  if (status.code() != Status::Code::kInternal || IsGeneric(status.message())) return status;
  std::string generic = std::string(kInternalPrefix) + NewErrorId() + ")";
  spdlog::error("{}: {}", generic, status.message());
  return Status::Internal(std::move(generic));
}

kj::Exception ToException(const Status& status) {
  const Status shown =
      status.ok() ? ForClient(Status::Internal("ToException called with an OK status"))
                  : ForClient(status);
  std::string_view name = Status::CodeName(shown.code());
  const std::string& msg = shown.message();
  const Status::Code code = shown.code();
  auto type = code == Status::Code::kBusy ? kj::Exception::Type::OVERLOADED
                                          : kj::Exception::Type::FAILED;
  return kj::Exception(type, __FILE__, __LINE__,
                       kj::str("cotenant:", kj::ArrayPtr<const char>(name.data(), name.size()),
                               ": ", kj::ArrayPtr<const char>(msg.data(), msg.size())));
}

Status::Code CodeOf(const kj::Exception& e) {
  std::string_view d(e.getDescription().cStr(), e.getDescription().size());
  constexpr std::string_view kTag = "cotenant:";
  size_t at = d.find(kTag);
  if (at != std::string_view::npos) {
    std::string_view rest = d.substr(at + kTag.size());
    rest = rest.substr(0, rest.find(':'));
    for (int c = 0; c <= static_cast<int>(Status::Code::kUnavailable); ++c) {
      auto code = static_cast<Status::Code>(c);
      if (code != Status::Code::kOk && Status::CodeName(code) == rest) return code;
    }
  }
  if (e.getType() == kj::Exception::Type::OVERLOADED) return Status::Code::kBusy;
  return Status::Code::kInternal;
}

}  // namespace cotenant::rpc
