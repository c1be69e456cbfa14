// wire::Cotenant (login) and wire::Session: what an authenticated connection starts from.

#include <spdlog/spdlog.h>

#include "rpc/serve.h"

namespace cotenant::rpc {

Status Outbox::Room() const {
  if (!full()) return Status::OK();
  return Status::ResourceExhausted(
      "this connection has " + std::to_string(unsent_bytes()) +
      " bytes of answers its client has not read (the limit is " +
      std::to_string(max_unsent_bytes_) +
      ", --max-unsent-bytes-per-connection); read the answers before sending more calls");
}

namespace {

// One summary line every few seconds, written by whichever failed or refused login comes
// after the interval, instead of a line per failure.
void LogLoginSummary(sharing::LoginThrottle* throttle) {
  if (auto summary = throttle->TakeSummary()) spdlog::warn("{}", *summary);
}

}  // namespace

kj::Promise<void> CotenantImpl::login(LoginContext context) {
  return Serve(ctx_, Api::kLogin, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    storage::TenantId tenant = params.getTenantId();
    auto key_reader = params.getApiKey();
    sharing::LoginThrottle* throttle = ctx_.login_throttle;
    // A locked-out address gets no key check at all.
    if (Status admitted = throttle->Admit(peer_, tenant); !admitted.ok()) {
      LogLoginSummary(throttle);
      ThrowIfError(admitted);
    }
    if (key_reader.size() > ctx_.limits.max_api_key_bytes) {
      throttle->Failed(peer_, tenant);
      LogLoginSummary(throttle);
      ThrowIfError(Status::Unauthenticated(std::string(sharing::kBadCredentials)));
    }
    std::string key(key_reader.cStr(), key_reader.size());
    struct Out {
      Status status;
      sharing::User user;
      sharing::Credential credential;
    };
    sharing::Identity* identity = ctx_.identity;
    const sharing::Gate* gate = ctx_.gate;
    return ctx_.pool
        ->Submit<Out>(tenant, [identity, gate, tenant, key = std::move(key)]() {
          Out o;
          // On a shared store: a key revoked on another front-end is refused here too.
          o.status = gate->Observe(tenant, tenant, nullptr);
          if (o.status.ok()) o.status = identity->Authenticate(tenant, key, &o.user, &o.credential);
          return o;
        })
        .then([this, context, tenant, throttle](Out o) mutable {
          if (o.status.ok()) {
            throttle->Succeeded(peer_);
          } else if (o.status.code() == Status::Code::kUnauthenticated) {
            throttle->Failed(peer_, tenant);
            LogLoginSummary(throttle);
          }
          ThrowIfError(o.status);
          if (on_login_) on_login_();
          auto session = std::make_shared<SessionState>(SessionState{o.credential, o.user, outbox_});
          auto results = context.getResults();
          ToWire(o.user, results.initUser());
          results.setSession(kj::heap<SessionImpl>(ctx_, std::move(session)));
        });
  });
}

kj::Promise<void> SessionImpl::records(RecordsContext context) {
  return Serve(ctx_, Api::kRecords, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    sharing::RecordCall call;
    call.credential = session_->credential;
    call.api = Api::kRecords;
    if (params.hasContext()) call.context = params.getContext().getTenantId();
    // Decided now, so a refused context fails this call (and every call pipelined on
    // it, as the SDK's TenantContext constructor throws); RecordsImpl asks again on each
    // call, so a later revocation reaches this capability too.
    const sharing::Gate* gate = ctx_.gate;
    auto answer = [this, context, gate](sharing::DecisionPtr d) mutable {
      gate->Count(*d);
      gate->Record(*d, 0, d->verdict().code());
      ThrowIfError(d->verdict());
      std::optional<storage::TenantId> target;
      if (d->cross_tenant()) target = d->target();
      context.getResults().setRecords(kj::heap<RecordsImpl>(ctx_, session_, target));
    };
    if (auto now = gate->TryDecide(call)) {
      ThrowIfError(now->status());
      answer(std::move(*now).value());
      return kj::READY_NOW;
    }
    return ctx_.pool
        ->Submit<StatusOr<sharing::DecisionPtr>>(call.credential.tenant,
                                                 [gate, call]() { return gate->Decide(call); })
        .then([answer](StatusOr<sharing::DecisionPtr> d) mutable {
          ThrowIfError(d.status());
          answer(std::move(d).value());
        });
  });
}

kj::Promise<void> SessionImpl::admin(AdminContext context) {
  return Serve(ctx_, Api::kAdmin, [&]() -> kj::Promise<void> {
    sharing::User user;
    ThrowIfError(ctx_.identity->Check(session_->credential, &user));
    context.getResults().setAdmin(kj::heap<AdminImpl>(ctx_, session_));
    return kj::READY_NOW;
  });
}

kj::Promise<void> SessionImpl::whoami(WhoamiContext context) {
  return Serve(ctx_, Api::kWhoami, [&]() -> kj::Promise<void> {
    if (!ctx_.store->shared()) {
      sharing::User user;
      ThrowIfError(ctx_.identity->Check(session_->credential, &user));
      ToWire(user, context.getResults().initUser());
      return kj::READY_NOW;
    }
    // A shared store: what the other front-ends changed is read first (off the loop).
    struct Out {
      Status status;
      sharing::User user;
    };
    const sharing::Gate* gate = ctx_.gate;
    sharing::Identity* identity = ctx_.identity;
    sharing::Credential cred = session_->credential;
    return ctx_.pool
        ->Submit<Out>(cred.tenant, [gate, identity, cred]() {
          Out o;
          o.status = gate->Observe(cred.tenant, cred.tenant, nullptr);
          if (o.status.ok()) o.status = identity->Check(cred, &o.user);
          return o;
        })
        .then([context](Out o) mutable {
          ThrowIfError(o.status);
          ToWire(o.user, context.getResults().initUser());
        });
  });
}

}  // namespace cotenant::rpc
