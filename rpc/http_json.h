// The JSON side of the HTTP/JSON API (rpc/http_api.h): parameters from a request's body
// and query, and errors as the client sees them. Internal to rpc/.

#ifndef COTENANT_RPC_HTTP_JSON_H_
#define COTENANT_RPC_HTTP_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <capnp/compat/json.h>
#include <capnp/dynamic.h>
#include <kj/exception.h>
#include <nlohmann/json.hpp>

#include "common/status.h"

namespace cotenant::rpc::http {

// What a client sees of an exception a call raised: the code and message of the
// "cotenant:<Code>: <message>" the RPC client would get; anything else is Internal, with
// its detail logged (rpc/errors.h ForClient).
Status StatusOf(const kj::Exception& e);

// Data (search continuation tokens) as a base64 string instead of the codec's default, an
// array of numbers. Register once with JsonCodec::addTypeHandler; must outlive the codec.
class Base64Data final : public capnp::JsonCodec::Handler<capnp::Data> {
 public:
  void encode(const capnp::JsonCodec& codec, capnp::Data::Reader input,
              capnp::JsonValue::Builder output) const override;
  capnp::Orphan<capnp::Data> decode(const capnp::JsonCodec& codec, capnp::JsonValue::Reader input,
                                    capnp::Orphanage orphanage) const override;
};

// `j` as text; bytes that are not UTF-8 (a message may quote what a client sent) are
// replaced, never thrown on.
std::string Json(const nlohmann::json& j);

// A decimal unsigned integer, all of `text`.
bool ParseU64(std::string_view text, uint64_t* out);

// Sets the parameter `field` of `params` from the text of a query parameter: scalars in
// their usual spelling ("true", "17", an enum's name), lists of them comma-separated.
// InvalidArgument naming the parameter otherwise.
Status SetFromQuery(capnp::DynamicStruct::Builder params, capnp::StructSchema::Field field,
                    std::string_view text);

// Decodes a JSON body (an object) into the parameters of `method`, one top-level member at
// a time so an error names the parameter it concerns; an unknown member is refused.
// InvalidArgument saying what is wrong otherwise.
Status DecodeBody(const capnp::JsonCodec& codec, kj::StringPtr body,
                  capnp::DynamicStruct::Builder params, const std::string& method);

}  // namespace cotenant::rpc::http

#endif  // COTENANT_RPC_HTTP_JSON_H_
