// The store checker (storage/fsck.h): one pass over a snapshot of every column family.
//
// Memory: the catalog (tenants, objects, sequences, users, keys) and, for one object at a
// time, its records' expected index keys are held; nothing else is.

#include "storage/fsck.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <set>

#include "storage/fsck_internal.h"
#include "storage/key_encoding.h"
#include "storage/kv.h"
#include "storage/record_codec.h"
#include "storage/store_internal.h"

namespace cotenant::storage {
namespace {

using json = nlohmann::json;

std::string Printable(std::string_view bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

// "records:7/2/42": the tenant, then what follows it, decoded where the layout is known.
std::string KeyText(Cf cf, std::string_view key) {
  std::string out(CfName(cf));
  out += ':';
  if (key.size() < kTenantPrefixLen) return out + Printable(key);
  out += std::to_string(DecodeU64(key.data()));
  std::string_view rest = key.substr(kTenantPrefixLen);
  if ((cf == Cf::kRecords || cf == Cf::kIndexes) && rest.size() >= 4) {
    out += "/" + std::to_string(DecodeU32(rest.data()));
    rest.remove_prefix(4);
    if (cf == Cf::kRecords && rest.size() == 8) return out + "/" + std::to_string(DecodeU64(rest.data()));
    if (cf == Cf::kIndexes && rest.size() >= 2 + 8) {
      out += "/field " + std::to_string(DecodeU16(rest.data()));
      out += "/" + Printable(rest.substr(2, rest.size() - 10));
      return out + "/record " + std::to_string(DecodeU64(rest.data() + rest.size() - 8));
    }
  }
  if (cf == Cf::kMeta && !rest.empty() && static_cast<unsigned char>(rest[0]) < 0x20) {
    unsigned char kind = static_cast<unsigned char>(rest[0]);
    rest.remove_prefix(1);
    if (kind == static_cast<unsigned char>(kMetaObject)) return out + "/object/" + Printable(rest);
    if (kind == static_cast<unsigned char>(kMetaSequence)) return out + "/sequence/" + Printable(rest);
    if (kind == static_cast<unsigned char>(kMetaImport) && rest.size() >= 8 + 2 + 8) {
      return out + "/import/user " + std::to_string(DecodeU64(rest.data())) + "/" +
             Printable(rest.substr(8, rest.size() - 8 - 9)) + "/batch " +
             std::to_string(DecodeU64(rest.data() + rest.size() - 8));
    }
    if (kind == static_cast<unsigned char>(kMetaTenant) && rest.size() == 8) {
      return out + "/tenant/" + std::to_string(DecodeU64(rest.data()));
    }
    return out + "/\\x" + std::to_string(kind) + Printable(rest);
  }
  return out + "/" + Printable(rest);
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

struct TenantEntry {
  TenantInfo info;
  bool deleting = false;
  std::map<ObjectId, ObjectDef> objects;
  std::map<std::string, uint64_t> sequences;   // name -> reserved-until
  std::map<std::string, std::string> meta;     // printable-key meta (sharing's entries)
  int64_t records = 0, bytes = 0;
  RecordId max_record = 0;
};

class Checker {
 public:
  Checker(const KvEngine& kv, const KvSnapshot* snap, const CheckOptions& options,
          CheckReport* report)
      : kv_(kv), options_(options), report_(report) {
    ro_.snapshot = snap;
    ro_.fill_cache = false;
  }

  Status Run(const std::map<TenantId, LiveUsage>* live_usage) {
    *report_ = CheckReport();
    COTENANT_RETURN_IF_ERROR(LoadCatalog());
    for (auto& [id, t] : tenants_) {
      if (t.deleting) {
        report_->pending_deletions.push_back(id);
        continue;
      }
      for (auto& [oid, def] : t.objects) COTENANT_RETURN_IF_ERROR(CheckObject(t, def));
    }
    COTENANT_RETURN_IF_ERROR(CheckUndeclared(Cf::kRecords));
    COTENANT_RETURN_IF_ERROR(CheckUndeclared(Cf::kIndexes));
    for (int cf = 0; cf < kNumCfs; ++cf) COTENANT_RETURN_IF_ERROR(CheckOwners(static_cast<Cf>(cf)));
    CheckSequences();
    CheckReferences();
    CheckUsage(live_usage);
    return Status::OK();
  }

 private:
  void Problem(std::string kind, TenantId tenant, std::string key, std::string what) {
    ++report_->problem_count;
    if (report_->problems.size() < options_.max_problems) {
      report_->problems.push_back({std::move(kind), tenant, std::move(key), std::move(what)});
    }
  }
  void Count(const char* what, uint64_t n = 1) { report_->checked[what] += n; }

  std::unique_ptr<KvIterator> Iter(Cf cf, std::string lower, std::string upper) const {
    return kv_.NewIterator(cf, std::move(lower), std::move(upper), ro_);
  }

  // Tenants, their objects and sequences, and every printable meta key.
  Status LoadCatalog() {
    std::string tprefix = MetaKey(kGlobalTenant, std::string(1, kMetaTenant));
    auto it = Iter(Cf::kMeta, tprefix, PrefixSuccessor(tprefix));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      Count("tenants");
      json j = json::parse(it->value(), nullptr, false);
      std::string_view k = it->key();
      TenantEntry t;
      if (j.is_discarded() || !j.is_object() || k.size() != tprefix.size() + 8) {
        Problem("meta-corrupt", 0, KeyText(Cf::kMeta, k), "tenant entry does not decode");
        continue;
      }
      t.info.id = j.value("id", uint64_t{0});
      t.info.name = j.value("name", std::string());
      t.deleting = j.value("deleting", false);
      TenantId keyed = DecodeU64(k.data() + tprefix.size());
      if (t.info.id != keyed || keyed == kGlobalTenant) {
        Problem("meta-corrupt", keyed, KeyText(Cf::kMeta, k),
                "tenant entry holds id " + std::to_string(t.info.id));
        continue;
      }
      tenants_.emplace(keyed, std::move(t));
    }
    COTENANT_RETURN_IF_ERROR(it->status());
    COTENANT_RETURN_IF_ERROR(LoadMeta(kGlobalTenant, &global_));
    for (auto& [id, t] : tenants_) {
      if (!t.deleting) COTENANT_RETURN_IF_ERROR(LoadMeta(id, &t));
    }
    return Status::OK();
  }

  Status LoadMeta(TenantId id, TenantEntry* t) {
    auto it = Iter(Cf::kMeta, TenantPrefix(id), TenantPrefix(id + 1));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      Count("meta keys");
      std::string_view k = it->key().substr(kTenantPrefixLen);
      std::string_view v = it->value();
      if (k.empty()) {
        Problem("meta-corrupt", id, KeyText(Cf::kMeta, it->key()), "empty meta key");
      } else if (k[0] == kMetaObject) {
        ObjectDef def;
        if (!DecodeObjectJson(v, &def) || def.name != k.substr(1)) {
          Problem("meta-corrupt", id, KeyText(Cf::kMeta, it->key()), "object definition does not decode");
        } else if (!t->objects.emplace(def.id, def).second) {
          Problem("meta-corrupt", id, KeyText(Cf::kMeta, it->key()),
                  "object id " + std::to_string(def.id) + " is used by two objects");
        } else {
          Count("objects");
        }
      } else if (k[0] == kMetaSequence) {
        if (v.size() != 8) {
          Problem("meta-corrupt", id, KeyText(Cf::kMeta, it->key()), "sequence value is not 8 bytes");
        } else {
          t->sequences[std::string(k.substr(1))] = DecodeU64(v.data());
        }
      } else if (k[0] == kMetaTenant) {
        if (id != kGlobalTenant) {
          Problem("meta-corrupt", id, KeyText(Cf::kMeta, it->key()), "tenant entry outside tenant 0");
        }
      } else if (k[0] == kMetaImport) {
        // owner u64 | import id | 0x00 | sequence u64, written with the batch's records.
        if (k.size() < 1 + 8 + 2 + 8 || k[k.size() - 9] != '\0') {
          Problem("meta-corrupt", id, KeyText(Cf::kMeta, it->key()), "malformed import batch marker key");
        } else {
          Count("import batch markers");
        }
      } else if (static_cast<unsigned char>(k[0]) < 0x20) {
        Problem("meta-corrupt", id, KeyText(Cf::kMeta, it->key()), "unknown store-internal meta key");
      } else {
        t->meta.emplace(std::string(k), std::string(v));
      }
    }
    return it->status();
  }

  // Records of one object against its index entries.
  Status CheckObject(TenantEntry& t, const ObjectDef& def) {
    TenantId tid = t.info.id;
    std::string prefix = ObjectPrefix(tid, def.id);
    std::vector<std::string> expected;
    std::map<RecordId, std::vector<Value>> values;  // only when the object has indexes
    std::map<std::string, RecordId> unique;          // unique-value entries called for
    bool indexed = std::any_of(def.fields.begin(), def.fields.end(), [](const FieldDef& f) { return f.indexed; });
    auto it = Iter(Cf::kRecords, prefix, PrefixSuccessor(prefix));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      Count("records");
      std::string_view k = it->key();
      if (k.size() != kRecordKeyLen) {
        Problem("record-corrupt", tid, KeyText(Cf::kRecords, k), "record key is not 20 bytes");
        continue;
      }
      RecordId rid = DecodeU64(k.data() + kObjectPrefixLen);
      t.records += 1;
      t.bytes += static_cast<int64_t>(k.size() + it->value().size());
      t.max_record = std::max(t.max_record, rid);
      Record r;
      if (!DecodeRecord(it->value(), def, &r)) {
        Problem("record-corrupt", tid, KeyText(Cf::kRecords, k),
                "record does not decode against object " + def.name);
        continue;
      }
      for (size_t i = 0; i < def.fields.size(); ++i) {
        if (def.fields[i].required && r.values[i].is_null()) {
          Problem("record-corrupt", tid, KeyText(Cf::kRecords, k),
                  "required field " + def.fields[i].name + " is null");
        }
        if (def.fields[i].indexed) expected.push_back(IndexKey(tid, def.id, static_cast<int>(i), r.values[i], rid));
        if (def.fields[i].unique && !r.values[i].is_null()) {
          auto [at, fresh] = unique.emplace(UniqueKey(tid, def.id, static_cast<int>(i), r.values[i]), rid);
          if (!fresh) {
            Problem("unique-duplicate", tid, KeyText(Cf::kRecords, k),
                    "record " + std::to_string(rid) + " of " + def.name + " has the value " +
                        Printable(r.values[i].ToString()) + " of unique field " + def.fields[i].name +
                        " that record " + std::to_string(at->second) + " has");
          }
        }
      }
      if (indexed) values.emplace(rid, std::move(r.values));
    }
    COTENANT_RETURN_IF_ERROR(it->status());
    std::sort(expected.begin(), expected.end());
    auto ix = Iter(Cf::kIndexes, prefix, PrefixSuccessor(prefix));
    size_t e = 0;
    auto missing = [&](const std::string& key) {
      RecordId rid = DecodeU64(key.data() + key.size() - 8);
      int slot = DecodeU16(key.data() + kObjectPrefixLen);
      Problem("index-missing", tid, KeyText(Cf::kIndexes, key),
              "record " + std::to_string(rid) + " of " + def.name + " has no index entry for field " +
                  def.fields[static_cast<size_t>(slot)].name);
    };
    for (ix->SeekToFirst(); ix->Valid(); ix->Next()) {
      Count("index entries");
      std::string_view k = ix->key();
      if (k.size() >= kIndexPrefixLen && (DecodeU16(k.data() + kObjectPrefixLen) & kUniqueSlotFlag) != 0) {
        CheckUniqueEntry(tid, def, k, ix->value(), &unique);
        continue;
      }
      while (e < expected.size() && expected[e] < k) missing(expected[e++]);
      if (e < expected.size() && expected[e] == k) {
        ++e;
        continue;
      }
      ExtraIndexEntry(tid, def, k, values);
    }
    COTENANT_RETURN_IF_ERROR(ix->status());
    while (e < expected.size()) missing(expected[e++]);
    for (const auto& [key, rid] : unique) {
      int slot = DecodeU16(key.data() + kObjectPrefixLen) & ~kUniqueSlotFlag;
      Problem("index-missing", tid, KeyText(Cf::kIndexes, key),
              "record " + std::to_string(rid) + " of " + def.name +
                  " has no unique-value entry for field " + def.fields[static_cast<size_t>(slot)].name);
    }
    return Status::OK();
  }

  // A unique-value entry against the records that call for one (`unique`: those not seen
  // yet; this one is taken out when it matches).
  void CheckUniqueEntry(TenantId tid, const ObjectDef& def, std::string_view k, std::string_view v,
                        std::map<std::string, RecordId>* unique) {
    std::string text = KeyText(Cf::kIndexes, k);
    int slot = DecodeU16(k.data() + kObjectPrefixLen) & ~kUniqueSlotFlag;
    if (static_cast<size_t>(slot) >= def.fields.size() || !def.fields[static_cast<size_t>(slot)].unique) {
      Problem("index-extra", tid, text,
              "unique-value entry for field slot " + std::to_string(slot) + ", which is not unique in " + def.name);
      return;
    }
    if (v.size() != 8) {
      Problem("index-corrupt", tid, text, "unique-value entry does not hold a record id");
      return;
    }
    RecordId rid = DecodeU64(v.data());
    auto it = unique->find(std::string(k));
    if (it == unique->end()) {
      Problem("index-extra", tid, text,
              "unique-value entry points at record " + std::to_string(rid) + " of " + def.name +
                  ", which does not hold the value");
      return;
    }
    if (it->second != rid) {
      Problem("index-stale", tid, text,
              "unique-value entry points at record " + std::to_string(rid) + ", but record " +
                  std::to_string(it->second) + " holds the value");
    }
    unique->erase(it);
  }

  // An index entry no record calls for: which of the ways it can be wrong.
  void ExtraIndexEntry(TenantId tid, const ObjectDef& def, std::string_view k,
                       const std::map<RecordId, std::vector<Value>>& values) {
    std::string text = KeyText(Cf::kIndexes, k);
    if (!ix_ok(k)) {
      Problem("index-corrupt", tid, text, "index key is too short");
      return;
    }
    int slot = DecodeU16(k.data() + kObjectPrefixLen);
    RecordId rid = DecodeU64(k.data() + k.size() - 8);
    if (static_cast<size_t>(slot) >= def.fields.size() || !def.fields[static_cast<size_t>(slot)].indexed) {
      Problem("index-extra", tid, text,
              "entry for field slot " + std::to_string(slot) + ", which " + def.name + " does not index");
      return;
    }
    const FieldDef& f = def.fields[static_cast<size_t>(slot)];
    std::string_view enc = k.substr(kIndexPrefixLen, k.size() - kIndexPrefixLen - 8);
    Value v;
    std::string_view rest = enc;
    if (!DecodeOrdered(&rest, f.type, &v) || !rest.empty()) {
      Problem("index-corrupt", tid, text, "the value does not decode as field " + f.name + "'s type");
      return;
    }
    auto it = values.find(rid);
    if (it == values.end()) {
      Problem("index-extra", tid, text,
              "points at record " + std::to_string(rid) + " of " + def.name + ", which does not exist");
      return;
    }
    Problem("index-stale", tid, text,
            "record " + std::to_string(rid) + "'s field " + f.name + " is " +
                Printable(it->second[static_cast<size_t>(slot)].ToString()) + ", not " +
                Printable(v.ToString()));
  }
  static bool ix_ok(std::string_view k) { return k.size() >= kIndexPrefixLen + 1 + 8; }

  // Keys of live tenants in records/indexes that name no declared object.
  Status CheckUndeclared(Cf cf) {
    for (auto& [tid, t] : tenants_) {
      if (t.deleting) continue;
      auto it = Iter(cf, TenantPrefix(tid), TenantPrefix(tid + 1));
      for (it->SeekToFirst(); it->Valid();) {
        std::string_view k = it->key();
        if (k.size() < kObjectPrefixLen) {
          Problem(cf == Cf::kRecords ? "record-corrupt" : "index-corrupt", tid, KeyText(cf, k), "key too short");
          it->Next();
          continue;
        }
        ObjectId oid = DecodeU32(k.data() + kTenantPrefixLen);
        if (t.objects.count(oid) != 0) {
          std::string next = PrefixSuccessor(ObjectPrefix(tid, oid));
          if (next.empty()) break;
          it->Seek(next);
          continue;
        }
        Count(cf == Cf::kRecords ? "records" : "index entries");
        Problem(cf == Cf::kRecords ? "record-orphan" : "index-extra", tid, KeyText(cf, k),
                "object id " + std::to_string(oid) + " is not declared in tenant " + std::to_string(tid));
        it->Next();
      }
      COTENANT_RETURN_IF_ERROR(it->status());
    }
    return Status::OK();
  }

  // Every key's tenant prefix names a live tenant (or tenant 0, for meta).
  Status CheckOwners(Cf cf) {
    auto it = Iter(cf, std::string(), std::string());
    for (it->SeekToFirst(); it->Valid();) {
      std::string_view k = it->key();
      if (k.size() < kTenantPrefixLen) {
        Problem("orphan-key", 0, KeyText(cf, k), "key shorter than a tenant prefix");
        it->Next();
        continue;
      }
      TenantId tid = DecodeU64(k.data());
      auto t = tenants_.find(tid);
      bool owned = (tid == kGlobalTenant && cf == Cf::kMeta) || (t != tenants_.end());
      if (owned) {
        if (cf == Cf::kAudit && !t->second.deleting) {
          // Audit entries are only counted; the records and indexes were walked per object.
          auto a = Iter(cf, TenantPrefix(tid), TenantPrefix(tid + 1));
          uint64_t n = 0;
          for (a->SeekToFirst(); a->Valid(); a->Next()) ++n;
          COTENANT_RETURN_IF_ERROR(a->status());
          Count("audit entries", n);
        }
        if (tid == UINT64_MAX) break;
        it->Seek(TenantPrefix(tid + 1));
        continue;
      }
      Problem("orphan-key", tid, KeyText(cf, k),
              tid == kGlobalTenant ? "tenant 0 holds no " + std::string(CfName(cf))
                                   : TenantWords(tid));
      it->Next();
    }
    return it->status();
  }

  std::string TenantWords(TenantId tid) const {
    return IsDeleted(tid) ? "belongs to deleted tenant " + std::to_string(tid)
                          : "belongs to tenant " + std::to_string(tid) + ", which never existed";
  }
  bool Live(TenantId tid) const {
    auto t = tenants_.find(tid);
    return t != tenants_.end() && !t->second.deleting;
  }
  bool Deleting(TenantId tid) const {
    auto t = tenants_.find(tid);
    return t != tenants_.end() && t->second.deleting;
  }
  // Issued once and gone now.
  bool IsDeleted(TenantId tid) const {
    auto s = global_.sequences.find("tenant");
    return tenants_.count(tid) == 0 && s != global_.sequences.end() && tid < s->second;
  }

  void Ahead(TenantId tenant, const TenantEntry& t, const std::string& seq, uint64_t max_used,
             const std::string& what) {
    if (max_used == 0) return;
    Count("sequences");
    std::string key = KeyText(Cf::kMeta, MetaKey(tenant, std::string(1, kMetaSequence) + seq));
    auto s = t.sequences.find(seq);
    if (s == t.sequences.end()) {
      Problem("sequence-behind", tenant, key,
              "no " + seq + " sequence, yet " + what + " " + std::to_string(max_used) + " is in use");
    } else if (s->second <= max_used) {
      Problem("sequence-behind", tenant, key,
              "the " + seq + " sequence is reserved up to " + std::to_string(s->second) + ", but " +
                  what + " " + std::to_string(max_used) + " is in use");
    }
  }

  void CheckSequences() {
    uint64_t max_tenant = 0, max_user = 0, max_key = 0, max_role = 0;
    for (const auto& [id, t] : tenants_) max_tenant = std::max(max_tenant, id);
    auto scan_ids = [&](const TenantEntry& t) {
      for (const auto& [k, v] : t.meta) {
        uint64_t id = 0;
        if (StartsWith(k, "user/") && ParseHex16(std::string_view(k).substr(5), &id)) max_user = std::max(max_user, id);
        if (StartsWith(k, "apikey/") && ParseHex16(std::string_view(k).substr(7), &id)) max_key = std::max(max_key, id);
        if (StartsWith(k, "role/")) {
          json j = json::parse(v, nullptr, false);
          if (j.is_object()) max_role = std::max(max_role, j.value("id", uint64_t{0}));
        }
      }
    };
    scan_ids(global_);
    for (const auto& [id, t] : tenants_) {
      if (t.deleting) continue;
      scan_ids(t);
      Ahead(id, t, "record", t.max_record, "record id");
    }
    Ahead(kGlobalTenant, global_, "tenant", max_tenant, "tenant id");
    Ahead(kGlobalTenant, global_, "user", max_user, "user id");
    Ahead(kGlobalTenant, global_, "apikey", max_key, "API key id");
    Ahead(kGlobalTenant, global_, "role", max_role, "role id");
  }

  // Reads `"tenant"` out of a JSON value; false when absent.
  static bool TenantOf(const std::string& v, TenantId* out, bool* dormant = nullptr) {
    json j = json::parse(v, nullptr, false);
    if (!j.is_object() || !j.contains("tenant") || !j["tenant"].is_number_unsigned()) return false;
    *out = j["tenant"].get<uint64_t>();
    if (dormant != nullptr) *dormant = j.value("dormant", false);
    return true;
  }

  // A reference to `target` from an entry: a problem when the target is gone for good.
  // One to a tenant being deleted is left to the next open (the deletion is pending).
  bool RefersToGone(TenantId target) const { return !Live(target) && !Deleting(target); }

  void CheckReferences() {
    // Tenant 0: users, API keys and policy lookups point into tenants.
    for (const auto& [k, v] : global_.meta) {
      std::string key = KeyText(Cf::kMeta, MetaKey(kGlobalTenant, k));
      TenantId owner = 0;
      if (StartsWith(k, "user/") || StartsWith(k, "apikey/")) {
        Count("references");
        bool user = StartsWith(k, "user/");
        if (!TenantOf(v, &owner)) {
          Problem("meta-corrupt", 0, key, "entry names no tenant");
        } else if (RefersToGone(owner)) {
          Problem("dangling-reference", owner, key,
                  std::string(user ? "user" : "API key") + " lookup entry " + TenantWords(owner));
        } else if (Live(owner) && tenants_.at(owner).meta.count(k) == 0) {
          Problem("dangling-reference", owner, key,
                  std::string(user ? "user" : "API key") + " lookup entry names tenant " +
                      std::to_string(owner) + ", which has no " + k);
        }
      } else if (StartsWith(k, "designated/") && k.size() == 11 + 16 + 1 + 16) {
        Count("references");
        TenantId designated = 0, publisher = 0;
        if (!ParseHex16(std::string_view(k).substr(11, 16), &designated) ||
            !ParseHex16(std::string_view(k).substr(28, 16), &publisher)) {
          Problem("meta-corrupt", 0, key, "unreadable policy lookup key");
          continue;
        }
        if (RefersToGone(publisher)) {
          Problem("dangling-reference", publisher, key, "policy lookup entry's publisher " + TenantWords(publisher));
          continue;
        }
        if (!Live(publisher)) continue;
        const auto& pm = tenants_.at(publisher).meta;
        auto p = pm.find("policy/" + v);
        if (p == pm.end()) {
          Problem("dangling-reference", publisher, key,
                  "names policy '" + v + "' of tenant " + std::to_string(publisher) + ", which does not exist");
        } else if (IsDeleted(designated) && !PolicyDormant(p->second)) {
          Problem("dangling-reference", designated, key,
                  "policy '" + v + "' of tenant " + std::to_string(publisher) + " designates " +
                      TenantWords(designated));
        }
      }
    }
    for (const auto& [tid, t] : tenants_) {
      if (t.deleting) continue;
      for (const auto& [k, v] : t.meta) {
        std::string key = KeyText(Cf::kMeta, MetaKey(tid, k));
        if (StartsWith(k, "user/")) {
          Count("references");
          if (global_.meta.count(k) == 0) Problem("dangling-reference", tid, key, "user has no lookup entry in tenant 0");
        } else if (StartsWith(k, "policyfor/")) {
          Count("references");
          TenantId designated = 0;
          ParseHex16(std::string_view(k).substr(10), &designated);
          auto p = t.meta.find("policy/" + v);
          if (p == t.meta.end()) {
            Problem("dangling-reference", tid, key, "names policy '" + v + "', which does not exist");
          } else if (IsDeleted(designated) && !PolicyDormant(p->second)) {
            Problem("dangling-reference", tid, key,
                    "policy '" + v + "' designates " + TenantWords(designated));
          }
        } else if (StartsWith(k, "member/")) {
          Count("references");
          // member/<user hex>/<role>
          std::string role = k.size() > 7 + 17 ? k.substr(7 + 17) : std::string();
          TenantId member_tenant = 0;
          bool dormant = false;
          if (t.meta.count("role/" + role) == 0) {
            Problem("dangling-reference", tid, key, "membership of role '" + role + "', which does not exist");
          } else if (!TenantOf(v, &member_tenant, &dormant)) {
            Problem("meta-corrupt", tid, key, "membership names no tenant");
          } else if (!dormant && IsDeleted(member_tenant)) {
            Problem("dangling-reference", tid, key, "membership of a user who " + TenantWords(member_tenant));
          }
        }
      }
    }
  }

  static bool PolicyDormant(const std::string& v) {
    json j = json::parse(v, nullptr, false);
    return j.is_object() && j.value("dormant", false);
  }

  void CheckUsage(const std::map<TenantId, LiveUsage>* live) {
    if (live == nullptr) return;
    for (const auto& [tid, u] : *live) {
      auto t = tenants_.find(tid);
      if (t == tenants_.end() || t->second.deleting) continue;
      Count("usage counters");
      std::string key = "usage:" + std::to_string(tid);
      if (u.records != t->second.records) {
        Problem("usage-mismatch", tid, key,
                "the record counter says " + std::to_string(u.records) + ", the records number " +
                    std::to_string(t->second.records));
      }
      if (u.bytes != t->second.bytes) {
        Problem("usage-mismatch", tid, key,
                "the byte counter says " + std::to_string(u.bytes) + ", the records hold " +
                    std::to_string(t->second.bytes));
      }
    }
  }

  const KvEngine& kv_;
  const CheckOptions& options_;
  CheckReport* report_;
  KvReadOptions ro_;
  std::map<TenantId, TenantEntry> tenants_;
  TenantEntry global_;
};

// A running server holds RocksDB's LOCK file with a POSIX record lock; probing it with
// F_GETLK neither takes nor disturbs it.
Status CheckNotLocked(const std::string& path) {
  std::string lock = path + "/LOCK";
  int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::OK();  // no LOCK file: nobody ever opened it for writing
  struct flock fl {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  int rc = ::fcntl(fd, F_GETLK, &fl);
  ::close(fd);
  if (rc == 0 && fl.l_type != F_UNLCK) {
    return Status::Busy("data directory " + path + " is in use by a running server (process " +
                        std::to_string(fl.l_pid) +
                        " holds its lock); stop it first, or check it while it runs with "
                        "'cotenant fsck --online'");
  }
  return Status::OK();
}

}  // namespace

Status CheckSnapshot(const KvEngine& kv, const KvSnapshot* snapshot,
                     const std::map<TenantId, LiveUsage>* live_usage, const CheckOptions& options,
                     CheckReport* report) {
  Checker c(kv, snapshot, options, report);
  return c.Run(live_usage);
}

Status CheckDataDirectory(const std::string& path, const CheckOptions& options,
                          CheckReport* report) {
  struct stat st {};
  if (::stat((path + "/CURRENT").c_str(), &st) != 0) {
    return Status::NotFound("no store in " + path + " (it has no CURRENT file)");
  }
  COTENANT_RETURN_IF_ERROR(CheckNotLocked(path));
  std::unique_ptr<KvEngine> engine;
  COTENANT_RETURN_IF_ERROR(OpenRocksEngineReadOnly(path, &engine));
  auto snap = engine->GetSnapshot();
  return CheckSnapshot(*engine, snap.get(), nullptr, options, report);
}

Status CheckPostgresStore(const std::string& storage, const CheckOptions& options,
                          CheckReport* report) {
  StoreOptions so;
  so.storage = storage;
  so.storage_connections = 2;
  so.exclusive = true;
  std::unique_ptr<KvEngine> engine;
  Status s = OpenPostgresEngine(so, &engine);
  if (s.IsConflict()) {
    return Status::Busy("the store is in use by a running server (" + s.message() +
                        "); stop it first, or check it while it runs with 'cotenant fsck --online'");
  }
  COTENANT_RETURN_IF_ERROR(s);
  auto snap = engine->GetSnapshot();
  return CheckSnapshot(*engine, snap.get(), nullptr, options, report);
}

Status Store::Check(const CheckOptions& options, CheckReport* report) const {
  // The snapshot and the live counters are taken together with every tenant's writes
  // held off for an instant (the gates, in id order), so counters and records agree
  // exactly; the walk itself runs with writes going on.
  std::vector<std::pair<TenantId, std::shared_ptr<TenantState>>> states;
  {
    std::shared_lock<std::shared_mutex> l(impl_->catalog_mu_);
    for (const auto& [id, ts] : impl_->tenants_) states.emplace_back(id, ts);
  }
  std::sort(states.begin(), states.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::map<TenantId, LiveUsage> usage;
  std::shared_ptr<const KvSnapshot> snap;
  {
    std::vector<std::unique_lock<std::shared_mutex>> gates;
    gates.reserve(states.size());
    for (auto& [id, ts] : states) gates.emplace_back(ts->write_gate);
    snap = engine_->GetSnapshot();
    for (auto& [id, ts] : states) {
      if (!ts->usage_ready.load(std::memory_order_acquire)) continue;  // never counted yet
      usage[id] = LiveUsage{ts->usage_base_records.load() + ts->usage_records.load(),
                            ts->usage_base_bytes.load() + ts->usage_bytes.load()};
    }
  }
  return CheckSnapshot(*engine_, snap.get(), &usage, options, report);
}

std::string CheckReportText(const CheckReport& r) {
  std::string out = r.clean() ? "clean\n" : std::to_string(r.problem_count) + " problem(s) found\n";
  out += "checked:\n";
  for (const auto& [what, n] : r.checked) out += "  " + what + ": " + std::to_string(n) + "\n";
  if (!r.pending_deletions.empty()) {
    out += "tenant deletions a crash interrupted (finished when the store next opens):";
    for (TenantId t : r.pending_deletions) out += " " + std::to_string(t);
    out += "\n";
  }
  if (!r.problems.empty()) out += "problems:\n";
  for (const auto& p : r.problems) {
    out += "  " + p.kind + " tenant " + std::to_string(p.tenant) + " " + p.key + ": " + p.what + "\n";
  }
  if (r.problem_count > r.problems.size()) {
    out += "  ... and " + std::to_string(r.problem_count - r.problems.size()) + " more\n";
  }
  return out;
}

std::string CheckReportJson(const CheckReport& r) {
  json j;
  j["clean"] = r.clean();
  j["checked"] = json::object();
  for (const auto& [what, n] : r.checked) j["checked"][what] = n;
  j["pendingDeletions"] = r.pending_deletions;
  j["problemCount"] = r.problem_count;
  j["problems"] = json::array();
  for (const auto& p : r.problems) {
    j["problems"].push_back({{"kind", p.kind}, {"tenant", p.tenant}, {"key", p.key}, {"what", p.what}});
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace cotenant::storage
