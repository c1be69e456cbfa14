#include "rpc/errors.h"

#include <string_view>

#include <kj/string.h>

namespace cotenant::rpc {

kj::Exception ToException(const Status& status) {
  Status::Code code = status.ok() ? Status::Code::kInternal : status.code();
  std::string_view name = Status::CodeName(code);
  const std::string& msg =
      status.ok() ? std::string("ToException called with an OK status") : status.message();
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
    for (int c = 0; c <= static_cast<int>(Status::Code::kInternal); ++c) {
      auto code = static_cast<Status::Code>(c);
      if (code != Status::Code::kOk && Status::CodeName(code) == rest) return code;
    }
  }
  if (e.getType() == kj::Exception::Type::OVERLOADED) return Status::Code::kBusy;
  return Status::Code::kInternal;
}

}  // namespace cotenant::rpc
