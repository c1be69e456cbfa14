#include "common/status.h"

namespace cotenant {

std::string_view Status::CodeName(Code code) {
  // These names travel on the wire and in logs; never rename one.
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kNotFound: return "NotFound";
    case Code::kPermissionDenied: return "PermissionDenied";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kConflict: return "Conflict";
    case Code::kResourceExhausted: return "ResourceExhausted";
    case Code::kUnauthenticated: return "Unauthenticated";
    case Code::kBusy: return "Busy";
    case Code::kInternal: return "Internal";
    case Code::kUnavailable: return "Unavailable";
  }
  return "Internal";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(CodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace cotenant
