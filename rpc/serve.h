// What the handlers of rpc/ share: outcome metrics around a handler, argument copying
// that keeps the first error, and the admin-call runner. Internal to rpc/.

#ifndef COTENANT_RPC_SERVE_H_
#define COTENANT_RPC_SERVE_H_

#include <chrono>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "rpc/errors.h"
#include "rpc/services.h"

namespace cotenant::rpc {

// Runs a handler body (which may throw or return a promise) and records its outcome and
// latency. Internal failures are logged; business outcomes are not (they are the
// client's to see).
template <typename Body>
kj::Promise<void> Serve(const ServiceContext& ctx, Api api, Body&& body) {
  auto start = std::chrono::steady_clock::now();
  Metrics* metrics = ctx.metrics;
  auto seconds = [start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  return kj::evalNow(kj::fwd<Body>(body))
      .then([metrics, api, seconds]() { metrics->Record(api, Status::Code::kOk, seconds()); },
            [metrics, api, seconds](kj::Exception&& e) {
              Status::Code code = CodeOf(e);
              metrics->Record(api, code, seconds());
              if (code == Status::Code::kInternal) {
                spdlog::warn("{} failed: {}", ApiName(api), e.getDescription().cStr());
              }
              kj::throwFatalException(kj::mv(e));
            });
}

// Copies arguments out of a request, keeping the first error: an administrative call
// answers its decision before its arguments (a caller without the right learns nothing
// from its mistakes).
class Args {
 public:
  explicit Args(const WireLimits& limits) : limits_(limits) {}
  void Name(capnp::Text::Reader text, std::string_view what, std::string* out) {
    Take(CopyName(text, what, limits_, out));
  }
  void Take(Status s) {
    if (status_.ok() && !s.ok()) status_ = std::move(s);
  }
  const WireLimits& limits() const { return limits_; }
  Status status() const { return status_; }

 private:
  const WireLimits& limits_;
  Status status_;
};

// The usual result of an administrative change: its status and what the audit says.
struct AdminOut {
  Status status;
  std::string what;    // "role sales"; empty = nothing to audit (reads)
  std::string detail;  // "created"
  storage::TenantId audit_tenant = 0;  // whose log; 0 = the tenant the call acted on
};

template <typename Out, typename Work, typename Fill>
kj::Promise<void> AdminImpl::Run(sharing::AdminCall call, Status args, Work&& work, Fill&& fill) {
  struct Decided {
    Status status;
    sharing::AdminDecision decision;
    Out out;
  };
  ThrowIfError(AdmitCall(ctx_, *session_));
  const sharing::Gate* gate = ctx_.gate;
  Api api = call.api;
  return ctx_.pool
      ->Submit<Decided>(session_->credential.tenant,
                        [gate, call = std::move(call), args = std::move(args),
                         work = kj::fwd<Work>(work)]() mutable {
        Decided r;
        auto d = gate->DecideAdmin(call);
        if (!d.ok()) {
          r.status = d.status();
          return r;
        }
        r.decision = std::move(d).value();
        if (!args.ok()) {
          r.status = std::move(args);
          return r;
        }
        r.out = work(r.decision);
        r.status = r.out.status;
        return r;
      })
      .then([gate, api, fill = kj::fwd<Fill>(fill)](Decided r) mutable {
        ThrowIfError(r.status);
        fill(r.out);
        if (!r.out.what.empty()) {
          gate->RecordChange(r.decision.caller,
                             r.out.audit_tenant != 0 ? r.out.audit_tenant : r.decision.target, api,
                             r.out.what, r.out.detail);
        }
      });
}

}  // namespace cotenant::rpc

#endif  // COTENANT_RPC_SERVE_H_
