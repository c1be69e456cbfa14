#include "rpc/http_json.h"

#include <charconv>
#include <vector>

#include <capnp/message.h>
#include <kj/encoding.h>

#include "rpc/errors.h"

namespace cotenant::rpc::http {
namespace {

// A status of the given code (Status has no public code-and-message constructor).
Status WithCode(Status::Code code, std::string msg) {
  switch (code) {
    case Status::Code::kOk:
      return Status::OK();
    case Status::Code::kNotFound:
      return Status::NotFound(std::move(msg));
    case Status::Code::kPermissionDenied:
      return Status::PermissionDenied(std::move(msg));
    case Status::Code::kInvalidArgument:
      return Status::InvalidArgument(std::move(msg));
    case Status::Code::kConflict:
      return Status::Conflict(std::move(msg));
    case Status::Code::kResourceExhausted:
      return Status::ResourceExhausted(std::move(msg));
    case Status::Code::kUnauthenticated:
      return Status::Unauthenticated(std::move(msg));
    case Status::Code::kBusy:
      return Status::Busy(std::move(msg));
    case Status::Code::kUnavailable:
      return Status::Unavailable(std::move(msg));
    case Status::Code::kInternal:
      break;
  }
  return Status::Internal(std::move(msg));
}

// A JSON codec error without its internal wording: "expected <condition>; " and
// "; field.getName() = " go.
std::string Clean(kj::StringPtr description) {
  std::string d = description.cStr();
  if (d.rfind("expected ", 0) == 0) {
    size_t semi = d.find("; ");
    if (semi != std::string::npos) d = d.substr(semi + 2);
  }
  const std::string kName = "; field.getName() = ";
  for (size_t at; (at = d.find(kName)) != std::string::npos;) d.replace(at, kName.size(), ": ");
  return d;
}

}  // namespace

Status StatusOf(const kj::Exception& e) {
  std::string_view d(e.getDescription().cStr(), e.getDescription().size());
  Status::Code code = CodeOf(e);
  constexpr std::string_view kTag = "cotenant:";
  size_t at = d.find(kTag);
  if (at != std::string_view::npos) {
    std::string_view rest = d.substr(at + kTag.size());
    size_t colon = rest.find(": ");
    if (colon != std::string_view::npos) return WithCode(code, std::string(rest.substr(colon + 2)));
  }
  if (code == Status::Code::kBusy) return Status::Busy(std::string(d));
  return ForClient(Status::Internal(std::string(d)));
}

void Base64Data::encode(const capnp::JsonCodec&, capnp::Data::Reader input,
                        capnp::JsonValue::Builder output) const {
  output.setString(kj::encodeBase64(input));
}

capnp::Orphan<capnp::Data> Base64Data::decode(const capnp::JsonCodec&,
                                              capnp::JsonValue::Reader input,
                                              capnp::Orphanage orphanage) const {
  KJ_REQUIRE(input.isString(), "expected a base64 string");
  auto bytes = kj::decodeBase64(input.getString());
  KJ_REQUIRE(!bytes.hadErrors, "not base64");
  return orphanage.newOrphanCopy(capnp::Data::Reader(bytes));
}

std::string Json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool ParseU64(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

Status SetFromQuery(capnp::DynamicStruct::Builder params, capnp::StructSchema::Field field,
                    std::string_view text) {
  const std::string name = field.getProto().getName().cStr();
  // Converts one scalar and hands it to `set`.
  auto scalar = [&](capnp::Type t, std::string_view v, auto&& set) -> Status {
    auto bad = [&](const char* what) {
      return Status::InvalidArgument("query parameter " + name + " must be " + what + ", not \"" +
                                     std::string(v) + "\"");
    };
    switch (t.which()) {
      case capnp::schema::Type::TEXT:
        set(capnp::DynamicValue::Reader(capnp::Text::Reader(v.data(), v.size())));
        return Status::OK();
      case capnp::schema::Type::BOOL:
        if (v != "true" && v != "false") return bad("true or false");
        set(capnp::DynamicValue::Reader(v == "true"));
        return Status::OK();
      case capnp::schema::Type::UINT8:
      case capnp::schema::Type::UINT16:
      case capnp::schema::Type::UINT32:
      case capnp::schema::Type::UINT64: {
        uint64_t n = 0;
        if (!ParseU64(v, &n)) return bad("a non-negative decimal integer");
        try {
          set(capnp::DynamicValue::Reader(n));
        } catch (const kj::Exception&) {
          return bad("a smaller integer");
        }
        return Status::OK();
      }
      case capnp::schema::Type::INT8:
      case capnp::schema::Type::INT16:
      case capnp::schema::Type::INT32:
      case capnp::schema::Type::INT64: {
        int64_t n = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (v.empty() || ec != std::errc() || end != v.data() + v.size()) {
          return bad("a decimal integer");
        }
        try {
          set(capnp::DynamicValue::Reader(n));
        } catch (const kj::Exception&) {
          return bad("a smaller integer");
        }
        return Status::OK();
      }
      case capnp::schema::Type::ENUM: {
        KJ_IF_MAYBE(e, t.asEnum().findEnumerantByName(std::string(v).c_str())) {
          set(capnp::DynamicValue::Reader(capnp::DynamicEnum(*e)));
          return Status::OK();
        }
        return bad("one of the enum's names");
      }
      default:
        return Status::InvalidArgument("parameter " + name +
                                       " cannot be given in the query: give it in the JSON body");
    }
  };
  capnp::Type t = field.getType();
  if (t.isList()) {
    capnp::Type element = t.asList().getElementType();
    std::vector<std::string_view> items;
    for (size_t start = 0; !text.empty() && start <= text.size();) {
      size_t comma = text.find(',', start);
      if (comma == std::string_view::npos) comma = text.size();
      items.push_back(text.substr(start, comma - start));
      start = comma + 1;
    }
    auto list = params.init(field, static_cast<capnp::uint>(items.size())).as<capnp::DynamicList>();
    for (size_t i = 0; i < items.size(); ++i) {
      COTENANT_RETURN_IF_ERROR(scalar(element, items[i], [&](capnp::DynamicValue::Reader v) {
        list.set(static_cast<capnp::uint>(i), v);
      }));
    }
    return Status::OK();
  }
  return scalar(t, text, [&](capnp::DynamicValue::Reader v) { params.set(field, v); });
}

Status DecodeBody(const capnp::JsonCodec& codec, kj::StringPtr body,
                  capnp::DynamicStruct::Builder params, const std::string& method) {
  capnp::MallocMessageBuilder raw;
  auto root = raw.initRoot<capnp::JsonValue>();
  KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] { codec.decodeRaw(body, root); })) {
    return Status::InvalidArgument("the request body is not valid JSON: " +
                                   Clean(e->getDescription()));
  }
  if (root.which() != capnp::JsonValue::OBJECT) {
    return Status::InvalidArgument("the request body must be a JSON object (the parameters of " +
                                   method + ")");
  }
  capnp::StructSchema schema = params.getSchema();
  for (auto member : root.getObject()) {
    std::string name = member.getName().cStr();
    if (schema.findFieldByName(member.getName()) == nullptr) {
      return Status::InvalidArgument("unknown field " + name + " in the request body: " + method +
                                     " has no parameter of that name");
    }
    capnp::MallocMessageBuilder one;
    auto object = one.initRoot<capnp::JsonValue>().initObject(1);
    object[0].setName(member.getName());
    object[0].setValue(member.getValue());
    KJ_IF_MAYBE(e, kj::runCatchingExceptions([&] {
                  codec.decode(one.getRoot<capnp::JsonValue>().asReader(), params);
                })) {
      return Status::InvalidArgument("the request body's " + name + " is not a valid value: " +
                                     Clean(e->getDescription()));
    }
  }
  return Status::OK();
}
}  // namespace cotenant::rpc::http
