// Store::Search: the query planner and the paged, resumable search.
//
// Plans, in order of preference:
//   1. an equality / IS NULL / IN conjunct on an indexed field: scan those index entries;
//   2. a sort whose first key is an indexed field: scan that index in sort order (bounded
//      by range conjuncts on the same field) and stop after the page;
//   3. a range or STARTS WITH conjunct on an indexed field: scan that index range;
//   4. otherwise scan the object's record range (in id order).
// When the scan order is the requested order, rows stream and the scan stops after the
// page plus one row (to know whether the result is complete). Otherwise the matches are
// kept in a bounded heap of offset + rows + 1 and sorted.
//
// Every page reads one snapshot. The continuation token holds a fingerprint of the query
// and the sort key of the last row; the next page starts strictly after that key.

#include <algorithm>
#include <cstring>
#include <functional>
#include <queue>

#include "storage/criteria.h"
#include "storage/key_encoding.h"
#include "storage/record_codec.h"
#include "storage/store_internal.h"

namespace cotenant::storage {
namespace {

constexpr char kTokenVersion = 1;

int CompareNullable(const Value& a, const Value& b) {
  if (a.is_null() || b.is_null()) return a.is_null() == b.is_null() ? 0 : (a.is_null() ? 1 : -1);
  return a.Compare(b);
}

struct ResolvedSort {
  int slot;
  FieldType type;
  bool descending;
};

// The sort key of a row: the sort values, then the record id (always ascending).
struct RowKey {
  std::vector<Value> values;
  RecordId id = 0;
};

class RowOrder {
 public:
  explicit RowOrder(const std::vector<ResolvedSort>* sort) : sort_(sort) {}
  int operator()(const RowKey& a, const RowKey& b) const {
    for (size_t i = 0; i < sort_->size(); ++i) {
      int c = CompareNullable(a.values[i], b.values[i]);
      if ((*sort_)[i].descending) c = -c;
      if (c != 0) return c;
    }
    return a.id < b.id ? -1 : (a.id > b.id ? 1 : 0);
  }

 private:
  const std::vector<ResolvedSort>* sort_;
};

RowKey KeyOf(const Record& r, const std::vector<ResolvedSort>& sort) {
  RowKey k;
  k.values.reserve(sort.size());
  for (const auto& s : sort) k.values.push_back(r.Get(s.slot));
  k.id = r.id;
  return k;
}

uint64_t Fingerprint(const ObjectDef& def, const SearchRequest& req) {
  // FNV-1a over everything that defines the row order and the row set.
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  mix(std::to_string(def.id));
  mix(req.criteria);
  mix(std::to_string(req.parameters.size()));
  for (const auto& v : req.parameters) mix(TypedKey(v));
  for (const auto& s : req.sort) {
    mix(s.field);
    mix(s.descending ? "d" : "a");
  }
  return h;
}

std::string EncodeToken(uint64_t fingerprint, const RowKey& key) {
  std::string t(1, kTokenVersion);
  AppendU64(&t, fingerprint);
  for (const auto& v : key.values) AppendOrdered(&t, v);
  AppendU64(&t, key.id);
  return t;
}

Status DecodeToken(std::string_view t, uint64_t fingerprint,
                   const std::vector<ResolvedSort>& sort, RowKey* key) {
  const Status bad = Status::InvalidArgument("continuation token is malformed");
  if (t.size() < 17 || t[0] != kTokenVersion) return bad;
  if (DecodeU64(t.data() + 1) != fingerprint) {
    return Status::InvalidArgument(
        "continuation token belongs to a different query (object, criteria or sort changed)");
  }
  t.remove_prefix(9);
  for (const auto& s : sort) {
    Value v;
    if (!DecodeOrdered(&t, s.type, &v)) return bad;
    key->values.push_back(std::move(v));
  }
  if (t.size() != 8) return bad;
  key->id = DecodeU64(t.data());
  return Status::OK();
}

// A key range of the index or record column family.
struct Range {
  std::string lower;  // inclusive
  std::string upper;  // exclusive
};

// Ordered encoding of a text value without its terminator: every text starting with
// `s` encodes to something starting with this.
std::string TextPrefixEncoding(const std::string& s) {
  std::string e;
  AppendOrdered(&e, Value::Text(s));
  e.resize(e.size() - 2);
  return e;
}

struct IndexPlan {
  int slot = -1;
  int rank = 0;  // 3 = equality / null, 2 = IN, 1 = range / prefix; 0 = none
  std::vector<Range> ranges;
};

// Index ranges that contain every record satisfying predicate `p` (a superset: the
// filter is evaluated again on each record).
bool RangesFor(const criteria::BoundExpr& p, const std::string& prefix, IndexPlan* plan) {
  using criteria::Op;
  auto point = [&](const Value& v) {
    std::string k = prefix;
    AppendOrdered(&k, v);
    return Range{k, PrefixSuccessor(k)};
  };
  std::string values_lo = prefix + '\x01';   // first non-null value
  std::string values_hi = prefix + '\x02';   // nulls start here
  switch (p.op) {
    case Op::kEq:
      plan->ranges = {point(p.operands[0])};
      plan->rank = 3;
      return true;
    case Op::kIsNull:
      plan->ranges = {point(Value())};
      plan->rank = 3;
      return true;
    case Op::kIn: {
      std::vector<std::string> encs;
      for (const auto& v : p.operands) {
        std::string k = prefix;
        AppendOrdered(&k, v);
        encs.push_back(std::move(k));
      }
      std::sort(encs.begin(), encs.end());
      encs.erase(std::unique(encs.begin(), encs.end()), encs.end());
      plan->ranges.clear();
      for (auto& e : encs) plan->ranges.push_back(Range{e, PrefixSuccessor(e)});
      plan->rank = 2;
      return true;
    }
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: {
      std::string k = prefix;
      AppendOrdered(&k, p.operands[0]);
      Range r{values_lo, values_hi};
      if (p.op == Op::kLt) r.upper = k;
      if (p.op == Op::kLe) r.upper = PrefixSuccessor(k);
      if (p.op == Op::kGt) r.lower = PrefixSuccessor(k);
      if (p.op == Op::kGe) r.lower = k;
      plan->ranges = {r};
      plan->rank = 1;
      return true;
    }
    case Op::kStartsWith: {
      std::string k = prefix + TextPrefixEncoding(p.operands[0].text());
      plan->ranges = {Range{k, PrefixSuccessor(k)}};
      plan->rank = 1;
      return true;
    }
    default:
      return false;
  }
}

void Intersect(Range* a, const Range& b) {
  if (b.lower > a->lower) a->lower = b.lower;
  if (b.upper < a->upper) a->upper = b.upper;
}

class Searcher {
 public:
  Searcher(const KvEngine* kv, TenantId tenant, const ObjectDef& def,
           const criteria::BoundExpr* filter, const RecordScope* scope,
           const std::vector<ResolvedSort>& sort, const KvSnapshot* snap,
           const std::atomic<bool>* cancelled, uint64_t* examined)
      : kv_(kv), tenant_(tenant), def_(def), filter_(filter), scope_(scope), sort_(sort),
        cancelled_(cancelled), examined_(*examined) {
    ro_.snapshot = snap;
    examined_ = 0;
  }

  // Fetches and filters the record `id`. *keep is false when it does not match.
  Status Fetch(RecordId id, std::string_view stored, Record* rec, bool* keep) {
    if ((++examined_ & (kCancelCheckRows - 1)) == 0 && cancelled_ != nullptr &&
        cancelled_->load(std::memory_order_relaxed)) {
      return Status::Busy("the search was cancelled after " + std::to_string(examined_) +
                          " rows: its caller has gone");
    }
    std::string buf;
    if (stored.data() == nullptr) {
      Status s = kv_->Get(Cf::kRecords, RecordKey(tenant_, def_.id, id), &buf, ro_);
      if (s.IsNotFound()) {
        return Status::Internal("index entry without its record " + std::to_string(id));
      }
      COTENANT_RETURN_IF_ERROR(s);
      stored = buf;
    }
    if (!DecodeRecord(stored, def_, rec)) {
      return Status::Internal("record " + std::to_string(id) + " is corrupt");
    }
    rec->id = id;
    *keep = (filter_ == nullptr || filter_->Matches(*rec)) &&
            (scope_ == nullptr || scope_->row_filter == nullptr || scope_->row_filter->Matches(*rec));
    return Status::OK();
  }

  // Visits candidate records of the index ranges, in index order (reversed with
  // descending, ties kept in ascending id order). fn returns false to stop.
  Status ScanIndex(const std::vector<Range>& ranges, bool descending,
                   const std::function<bool(Record&&)>& fn) {
    auto visit = [&](RecordId id, bool* go_on) -> Status {
      Record rec;
      bool keep = false;
      COTENANT_RETURN_IF_ERROR(Fetch(id, {}, &rec, &keep));
      *go_on = !keep || fn(std::move(rec));
      return Status::OK();
    };
    if (!descending) {
      for (const auto& r : ranges) {
        if (r.lower >= r.upper && !r.upper.empty()) continue;
        auto it = kv_->NewIterator(Cf::kIndexes, r.lower, r.upper, ro_);
        for (it->SeekToFirst(); it->Valid(); it->Next()) {
          auto k = it->key();
          bool go_on = true;
          COTENANT_RETURN_IF_ERROR(visit(DecodeU64(k.data() + k.size() - 8), &go_on));
          if (!go_on) return Status::OK();
        }
        COTENANT_RETURN_IF_ERROR(it->status());
      }
      return Status::OK();
    }
    for (auto r = ranges.rbegin(); r != ranges.rend(); ++r) {
      if (r->lower >= r->upper && !r->upper.empty()) continue;
      auto it = kv_->NewIterator(Cf::kIndexes, r->lower, r->upper, ro_);
      it->SeekToLast();
      std::vector<RecordId> group;
      while (it->Valid()) {
        // Collect one run of equal values (walking backwards), then emit it by id.
        std::string value(it->key().substr(0, it->key().size() - 8));
        group.clear();
        while (it->Valid() && it->key().size() == value.size() + 8 &&
               std::memcmp(it->key().data(), value.data(), value.size()) == 0) {
          group.push_back(DecodeU64(it->key().data() + value.size()));
          it->Prev();
        }
        for (auto id = group.rbegin(); id != group.rend(); ++id) {
          bool go_on = true;
          COTENANT_RETURN_IF_ERROR(visit(*id, &go_on));
          if (!go_on) return Status::OK();
        }
      }
      COTENANT_RETURN_IF_ERROR(it->status());
    }
    return Status::OK();
  }

  // Visits the object's records in id order within [lower, upper).
  Status ScanRecords(const Range& r, bool descending, const std::function<bool(Record&&)>& fn) {
    KvReadOptions ro = ro_;
    ro.fill_cache = false;  // a full scan should not evict the hot set
    auto it = kv_->NewIterator(Cf::kRecords, r.lower, r.upper, ro);
    if (descending) it->SeekToLast(); else it->SeekToFirst();
    while (it->Valid()) {
      auto k = it->key();
      Record rec;
      bool keep = false;
      COTENANT_RETURN_IF_ERROR(Fetch(DecodeU64(k.data() + kObjectPrefixLen), it->value(), &rec, &keep));
      if (keep && !fn(std::move(rec))) return Status::OK();
      if (descending) it->Prev(); else it->Next();
    }
    return it->status();
  }

 private:
  const KvEngine* kv_;
  TenantId tenant_;
  const ObjectDef& def_;
  const criteria::BoundExpr* filter_;
  const RecordScope* scope_;
  const std::vector<ResolvedSort>& sort_;
  static constexpr uint64_t kCancelCheckRows = 256;  // a power of two
  KvReadOptions ro_;
  const std::atomic<bool>* cancelled_;
  uint64_t& examined_;  // the result's rows_examined: counted even when the search fails
};

}  // namespace

Status Store::Search(TenantId tenant, const SearchRequest& req, SearchResult* out,
                     const RecordScope* scope) const {
  std::shared_ptr<const ObjectDef> def_ptr;
  COTENANT_RETURN_IF_ERROR(impl_->Object(tenant, req.object, nullptr, &def_ptr));
  const ObjectDef& def = *def_ptr;
  const Limits& limits = options_.limits;
  if (req.rows < 1 || req.rows > limits.max_page_rows) {
    return Status::InvalidArgument("numberOfRows must be between 1 and " +
                                   std::to_string(limits.max_page_rows) + ", got " +
                                   std::to_string(req.rows));
  }
  COTENANT_RETURN_IF_ERROR(
      criteria::CheckSize("criteria", req.criteria.size(), limits.max_criteria_bytes));
  if (req.sort.size() > 2) return Status::InvalidArgument("at most two sort keys are allowed");

  // Names resolve against the object as the principal sees it: a hidden field is
  // answered exactly like one that does not exist.
  ObjectDef masked;
  const ObjectDef* view = &def;
  if (scope != nullptr && !scope->visible_fields.empty()) {
    masked = scope->Mask(def);
    view = &masked;
  }
  std::unique_ptr<criteria::BoundExpr> filter;
  COTENANT_RETURN_IF_ERROR(criteria::Compile(req.criteria, *view, &filter, req.parameters));
  std::vector<ResolvedSort> sort;
  for (const auto& k : req.sort) {
    auto slot = view->Slot(k.field);
    if (!slot) {
      return Status::InvalidArgument("sort field '" + k.field + "' does not exist in object " +
                                     def.name);
    }
    sort.push_back(ResolvedSort{*slot, def.SlotType(*slot), k.descending});
  }
  // The id is the final tie-breaker anyway; a trailing ascending id key is redundant.
  if (!sort.empty() && sort.back().slot == static_cast<int>(SystemField::kId) &&
      !sort.back().descending) {
    sort.pop_back();
  }

  uint64_t fp = Fingerprint(def, req);
  std::optional<RowKey> after;
  if (!req.continuation.empty()) {
    RowKey k;
    COTENANT_RETURN_IF_ERROR(DecodeToken(req.continuation, fp, sort, &k));
    after = std::move(k);
  }
  RowOrder order(&sort);

  auto snap = impl_->kv_->GetSnapshot();
  Searcher searcher(impl_->kv_, tenant, def, filter.get(), scope, sort, snap.get(), req.cancelled,
                    &out->rows_examined);

  // ---- Choose the plan.
  IndexPlan best;
  if (filter != nullptr) {
    std::vector<const criteria::BoundExpr*> conjuncts;
    if (filter->kind == criteria::BoundExpr::Kind::kAnd) {
      for (const auto& c : filter->children) conjuncts.push_back(c.get());
    } else {
      conjuncts.push_back(filter.get());
    }
    std::map<int, IndexPlan> per_field;
    for (const auto* c : conjuncts) {
      if (c->kind != criteria::BoundExpr::Kind::kPredicate || c->slot < 0 ||
          !def.fields[static_cast<size_t>(c->slot)].indexed) {
        continue;
      }
      IndexPlan p;
      p.slot = c->slot;
      if (!RangesFor(*c, IndexPrefix(tenant, def.id, c->slot), &p)) continue;
      auto& cur = per_field[c->slot];
      if (cur.rank == 0) {
        cur = std::move(p);
      } else if (cur.rank == 1 && p.rank == 1) {
        Intersect(&cur.ranges[0], p.ranges[0]);  // a < x AND x < b
      } else if (p.rank > cur.rank) {
        cur = std::move(p);
      }
    }
    for (auto& [slot, p] : per_field) {
      if (p.rank > best.rank ||
          (p.rank == best.rank && p.rank == 2 && p.ranges.size() < best.ranges.size())) {
        best = p;
      }
    }
  }
  const bool id_order = sort.empty() || (sort.size() == 1 && sort[0].slot == static_cast<int>(SystemField::kId));
  int order_slot = -1;  // an indexed field whose index order is the requested order
  if (sort.size() == 1 && sort[0].slot >= 0 && def.fields[static_cast<size_t>(sort[0].slot)].indexed) {
    order_slot = sort[0].slot;
  }
  const bool descending = !sort.empty() && sort[0].descending;

  enum class Kind { kIndex, kRecords } kind;
  std::vector<Range> ranges;
  bool ordered = false;
  if (best.rank >= 2 || (best.rank == 1 && order_slot < 0)) {
    kind = Kind::kIndex;
    ranges = best.ranges;
    ordered = best.slot == order_slot;
    out->plan = "index:" + def.fields[static_cast<size_t>(best.slot)].name;
  } else if (order_slot >= 0) {
    kind = Kind::kIndex;
    std::string prefix = IndexPrefix(tenant, def.id, order_slot);
    ranges = {Range{prefix, PrefixSuccessor(prefix)}};
    if (best.rank == 1 && best.slot == order_slot) Intersect(&ranges[0], best.ranges[0]);
    ordered = true;
    out->plan = "index:" + def.fields[static_cast<size_t>(order_slot)].name;
  } else {
    kind = Kind::kRecords;
    std::string prefix = ObjectPrefix(tenant, def.id);
    ranges = {Range{prefix, PrefixSuccessor(prefix)}};
    ordered = id_order;
    out->plan = "scan";
  }

  // Resume strictly after the token: narrow the ranges where the order allows, and
  // filter the remaining rows by key either way.
  if (after && ordered) {
    if (kind == Kind::kRecords) {
      std::string k = RecordKey(tenant, def.id, after->id);
      if (descending) ranges[0].upper = std::min(ranges[0].upper, k);
      else ranges[0].lower = std::max(ranges[0].lower, k + '\0');
    } else {
      std::string vk = IndexPrefix(tenant, def.id, order_slot);
      AppendOrdered(&vk, after->values[0]);
      for (auto& r : ranges) {
        if (descending) {
          std::string end = PrefixSuccessor(vk);
          if (end < r.upper) r.upper = end;
        } else {
          std::string k = vk;
          AppendU64(&k, after->id);
          k.push_back('\0');
          if (k > r.lower) r.lower = k;
        }
      }
    }
  }

  const uint64_t want = uint64_t{req.offset} + req.rows;  // rows to reach the page end
  if (!ordered && want > options_.limits.max_sort_window) {
    return Status::InvalidArgument(
        "offset + numberOfRows is " + std::to_string(want) + "; a search in an order no index gives "
        "keeps that many rows in memory and may reach at most " +
        std::to_string(options_.limits.max_sort_window) +
        ": page on with the continuation token instead of a large offset (or sort by an indexed field)");
  }
  out->records.clear();
  out->complete = true;
  out->continuation.clear();

  if (ordered) {
    uint64_t seen = 0;
    bool more = false;
    auto take = [&](Record&& rec) {
      if (after && order(KeyOf(rec, sort), *after) <= 0) return true;
      if (seen >= want) {
        more = true;
        return false;
      }
      if (seen++ >= req.offset) out->records.push_back(std::move(rec));
      return true;
    };
    if (kind == Kind::kIndex) {
      COTENANT_RETURN_IF_ERROR(searcher.ScanIndex(ranges, descending, take));
    } else {
      COTENANT_RETURN_IF_ERROR(searcher.ScanRecords(ranges[0], descending, take));
    }
    out->complete = !more;
  } else {
    // Bounded heap: the `want + 1` smallest rows in the requested order.
    struct Entry {
      RowKey key;
      Record rec;
    };
    auto less = [&](const Entry& a, const Entry& b) { return order(a.key, b.key) < 0; };
    std::priority_queue<Entry, std::vector<Entry>, decltype(less)> heap(less);
    auto take = [&](Record&& rec) {
      RowKey key = KeyOf(rec, sort);
      if (after && order(key, *after) <= 0) return true;
      if (heap.size() == want + 1) {
        if (order(key, heap.top().key) >= 0) return true;
        heap.pop();
      }
      heap.push(Entry{std::move(key), std::move(rec)});
      return true;
    };
    if (kind == Kind::kIndex) {
      COTENANT_RETURN_IF_ERROR(searcher.ScanIndex(ranges, false, take));
    } else {
      COTENANT_RETURN_IF_ERROR(searcher.ScanRecords(ranges[0], false, take));
    }
    out->complete = heap.size() <= want;
    if (!out->complete) heap.pop();  // the one row past the page
    std::vector<Record> rows(heap.size());
    for (size_t i = heap.size(); i-- > 0;) {
      rows[i] = std::move(const_cast<Entry&>(heap.top()).rec);
      heap.pop();
    }
    for (size_t i = req.offset; i < rows.size(); ++i) out->records.push_back(std::move(rows[i]));
  }
  // An incomplete page always holds rows: `want` >= offset + 1 rows were seen.
  if (!out->complete) out->continuation = EncodeToken(fp, KeyOf(out->records.back(), sort));
  out->object = std::move(def_ptr);
  return Status::OK();
}

}  // namespace cotenant::storage
