// The one boundary where a Status becomes what a Cap'n Proto client sees.
//
// Business outcomes travel as kj::Exception of type FAILED whose description is exactly
// "cotenant:<Code>: <message>" (Code = Status::CodeName: NotFound, PermissionDenied,
// InvalidArgument, Conflict, ResourceExhausted, Unauthenticated, Internal). A Busy status
// becomes type OVERLOADED with description "cotenant:Busy: <message>", so clients may
// retry. See schemas/cotenant.capnp and docs/PROTOCOL.md.

#ifndef COTENANT_RPC_ERRORS_H_
#define COTENANT_RPC_ERRORS_H_

#include <kj/exception.h>

#include "common/status.h"

namespace cotenant::rpc {

// REQUIRES: !status.ok().
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
