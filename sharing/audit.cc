#include "sharing/audit.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <deque>

#include "common/background.h"

namespace cotenant::sharing {

using json = nlohmann::json;

AuditLog::AuditLog(storage::Store* store, int flush_interval_ms)
    : store_(store), interval_ms_(flush_interval_ms < 1 ? 1 : flush_interval_ms) {
  writer_ = std::thread([this] {
    std::unique_lock<std::mutex> l(mu_);
    while (!stopping_) {
      cv_.wait_for(l, std::chrono::milliseconds(interval_ms_));
      l.unlock();
      // A failed write keeps nothing queued twice; it is latched for /healthz and the
      // error surfaces on the next query too.
      (void)RunGuarded("audit writer", [this] { return Flush(); });
      l.lock();
    }
  });
}

AuditLog::~AuditLog() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  (void)Flush();
}

void AuditLog::Record(const AuditRecord& r, storage::TenantId tenant, storage::TenantId other) {
  std::lock_guard<std::mutex> l(mu_);
  queue_.push_back({r, tenant, other != tenant ? other : 0});
}

Status AuditLog::Flush() {
  std::lock_guard<std::mutex> f(flush_mu_);
  std::vector<Queued> queued;
  {
    std::lock_guard<std::mutex> l(mu_);
    queued.swap(queue_);
  }
  std::vector<storage::Store::AuditItem> items;
  items.reserve(queued.size() * 2);
  for (auto& q : queued) {
    std::string entry = Encode(q.record);
    if (q.other != 0) items.push_back({q.other, q.record.time, entry});
    items.push_back({q.tenant, q.record.time, std::move(entry)});
  }
  return store_->AuditAppendBatch(items);
}

Status AuditLog::Query(storage::TenantId tenant, const AuditFilter& filter,
                       std::vector<AuditRecord>* out) {
  COTENANT_RETURN_IF_ERROR(Flush());
  out->clear();
  int64_t to = filter.to == 0 ? storage::NowMicros() + 1 : filter.to;
  std::deque<AuditRecord> newest;
  size_t limit = filter.limit == 0 ? 1000 : filter.limit;
  Status decode = Status::OK();
  COTENANT_RETURN_IF_ERROR(store_->AuditScan(tenant, filter.from, to, [&](int64_t, std::string_view e) {
    AuditRecord r;
    if (!Decode(e, &r)) {
      decode = Status::Internal("corrupt audit entry in tenant " + std::to_string(tenant));
      return false;
    }
    if (filter.caller_tenant != 0 && r.caller_tenant != filter.caller_tenant) return true;
    if (!filter.outcome.empty() && r.outcome != filter.outcome) return true;
    if (filter.direction == AuditDirection::kIn &&
        (r.target_tenant != tenant || r.caller_tenant == tenant)) {
      return true;
    }
    if (filter.direction == AuditDirection::kOut &&
        (r.caller_tenant != tenant || r.target_tenant == tenant)) {
      return true;
    }
    newest.push_back(std::move(r));
    if (newest.size() > limit) newest.pop_front();
    return true;
  }));
  COTENANT_RETURN_IF_ERROR(decode);
  out->assign(std::make_move_iterator(newest.begin()), std::make_move_iterator(newest.end()));
  return Status::OK();
}

std::string AuditLog::Encode(const AuditRecord& r) {
  return json{{"t", r.time},      {"ct", r.caller_tenant}, {"cu", r.caller_user},
              {"p", r.principal}, {"tt", r.target_tenant}, {"api", r.api},
              {"obj", r.object},  {"rec", r.record_id},    {"out", r.outcome},
              {"d", r.detail}}
      // Client text is checked at the wire, but an audit entry must never fail to
      // encode: a stray byte becomes U+FFFD instead of an exception.
      .dump(-1, ' ', false, json::error_handler_t::replace);
}

bool AuditLog::Decode(std::string_view text, AuditRecord* r) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return false;
  r->time = j.value("t", int64_t{0});
  r->caller_tenant = j.value("ct", uint64_t{0});
  r->caller_user = j.value("cu", uint64_t{0});
  r->principal = j.value("p", uint64_t{0});
  r->target_tenant = j.value("tt", uint64_t{0});
  r->api = j.value("api", std::string());
  r->object = j.value("obj", std::string());
  r->record_id = j.value("rec", uint64_t{0});
  r->outcome = j.value("out", std::string());
  r->detail = j.value("d", std::string());
  return true;
}

}  // namespace cotenant::sharing
