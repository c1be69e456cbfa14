// The one boundary where a Status becomes what a Cap'n Proto client sees.
//
// Business outcomes travel as kj::Exception of type FAILED whose description is exactly
// "cotenant:<Code>: <message>" (an Internal message is generic, see ForClient; Code = Status::CodeName: NotFound, PermissionDenied,
// InvalidArgument, Conflict, ResourceExhausted, Unauthenticated, Internal). A Busy status
// becomes type OVERLOADED with description "cotenant:Busy: <message>", so clients may
// retry. See schemas/cotenant.capnp and docs/PROTOCOL.md.

#ifndef COTENANT_RPC_ERRORS_H_
#define COTENANT_RPC_ERRORS_H_

#include <kj/exception.h>

#include "common/status.h"

namespace cotenant::rpc {

// What a client may see of a status. An Internal status (an I/O error, corruption, a bug)
// carries server detail such as file paths and storage engine messages, so it is logged
// here at error level as "internal error (id <id>): <detail>", with a fresh random id of
// 16 hex digits, and answered as Internal "internal error (id <id>)": the operator finds
// the detail by the id the client reports. Every other status is returned unchanged, and
// so is an Internal status already in that form. Thread-safe.
Status ForClient(const Status& status);

// The exception of ForClient(status). REQUIRES: !status.ok().
kj::Exception ToException(const Status& status);

// Throws ToException(status) when status is not OK.
inline void ThrowIfError(const Status& status) {
  if (!status.ok()) kj::throwFatalException(ToException(status));
}

// The code an exception reports to the client: the "cotenant:<Code>:" tag when present,
// kBusy for OVERLOADED, kInternal for anything else (a bug, a transport failure).
// Used for metrics and logs.
Status::Code CodeOf(const kj::Exception& e);

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_ERRORS_H_
