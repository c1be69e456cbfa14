// `cotenant tenant dump` and `cotenant tenant restore`: one tenant's configuration slice
// and records to a file (tenant_dump.h), and back as a new tenant (docs/CLI.md, "Moving a
// tenant"). The configuration part is the declarative configuration's (config.h); the
// records go through readTenantRecords and restoreTenantRecords, a page at a time.

#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli_render.h"
#include "commands.h"
#include "config.h"
#include "config_internal.h"
#include "tenant_dump.h"

namespace cotenant::cli {
namespace {

struct DumpOptions {
  std::string id, file, name;
};

constexpr uint32_t kPageRecords = 1000;
// A restore batch stays well below the server's message limits.
constexpr size_t kBatchBytes = 4u << 20;

std::string plural(uint64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

void runDump(CliContext& s, const DumpOptions& o) {
  uint64_t tid = parseId(o.id, "tenant id");
  Client& client = s.client();
  config::ServerState st = config::readServer(client);
  std::string name;
  for (const auto& [n, id] : st.tenantIds) {
    if (id == tid) name = n;
  }
  if (name.empty()) throw Failed{ErrorCode::NotFound, "tenant " + o.id + " does not exist"};
  const config::CTenant& t = st.cfg.tenants.at(name);
  if (t.kind == "system") {
    throw Failed{ErrorCode::InvalidArgument, "the system tenant cannot be dumped (it is the installation's own)"};
  }
  std::vector<std::string> leftOut;
  config::Config slice = config::sliceTenant(st, name, &leftOut);
  std::map<uint64_t, std::string> author;  // user id -> "user" or "user@tenant"
  for (const auto& [key, uid] : st.userIds) author[uid] = key.first == name ? key.second : key.second + "@" + key.first;
  auto authorOf = [&](uint64_t id) {
    auto a = author.find(id);
    return a == author.end() ? std::string() : a->second;
  };

  // Written beside the target and renamed at the end: a dump that fails leaves no file
  // that could pass for a whole one.
  std::string partial = o.file + ".partial";
  std::ofstream out(partial, std::ios::binary | std::ios::trunc);
  if (!out) throw Failed{ErrorCode::Internal, "cannot write '" + partial + "'"};
  dump::Header h{name, t.kind, tid, nowMicros()};
  out << dump::headerLine(h) << dump::configLine(config::emitConfig(slice));
  uint64_t total = 0, unknownAuthors = 0;
  const config::CTenant& sliced = slice.tenants.at(name);
  try {
    for (const auto& [on, obj] : sliced.objects) {
      out << dump::objectLine(on);
      uint64_t after = 0;
      for (;;) {
        auto page = client.readTenantRecords(tid, on, after, kPageRecords);
        check(page);
        for (const auto& r : page.value().records) {
          std::string cb = authorOf(r.createdBy()), mb = authorOf(r.modifiedBy());
          if (cb.empty() || mb.empty()) ++unknownAuthors;
          out << dump::recordLine(obj, r, cb, mb);
          after = r.id();
          ++total;
        }
        if (page.value().complete || page.value().records.empty()) break;
      }
    }
    out << dump::endLine(sliced.objects.size(), total);
    out.close();
    if (!out) throw Failed{ErrorCode::Internal, "cannot write '" + partial + "'"};
    if (std::rename(partial.c_str(), o.file.c_str()) != 0) {
      throw Failed{ErrorCode::Internal, "cannot rename '" + partial + "' to '" + o.file + "'"};
    }
  } catch (...) {
    out.close();
    std::remove(partial.c_str());
    throw;
  }
  nlohmann::json j{{"tenantId", std::to_string(tid)},
                   {"name", name},
                   {"file", o.file},
                   {"objects", sliced.objects.size()},
                   {"records", total},
                   {"users", sliced.users.size()},
                   {"recordsWithUnknownAuthors", unknownAuthors},
                   {"leftOut", leftOut}};
  s.emit({{"dump", j}}, [&] {
    std::cout << "Dumped tenant '" << name << "' (id " << tid << ") to " << o.file << ": "
              << plural(sliced.objects.size(), "object", "objects") << ", " << plural(total, "record", "records")
              << ", " << plural(sliced.users.size(), "user", "users") << " (no API keys).\n";
    if (unknownAuthors > 0) {
      std::cout << plural(unknownAuthors, "record names", "records name")
                << " an author who is no longer a user (written as null).\n";
    }
    for (const auto& l : leftOut) std::cout << "left out: " << l << "\n";
  });
}

// The restore's changes in two parts: what the records need first, the rest after them
// (so no role member or policy can reach the tenant while its records are written).
void splitPlan(config::Plan& all, config::Plan* first, config::Plan* second) {
  for (auto& c : all.changes) (config::isStructural(c) ? first : second)->changes.push_back(std::move(c));
}

void runRestore(CliContext& s, const DumpOptions& o) {
  // The whole file is read and checked before the server is asked anything.
  config::Config slice;
  dump::Header header;
  {
    dump::Reader r(o.file);
    std::string object;
    dump::DumpRecord rec;
    while (r.next(&object, &rec) != dump::Reader::Item::kEnd) {}
    slice = r.slice();
    header = r.header();
  }
  std::string newName = o.name.empty() ? header.tenant : o.name;
  Client& client = s.client();
  config::ServerState st = config::readServer(client);
  config::RestorePlan rp = config::planRestore(slice, header.tenant, newName, st);
  config::Plan first, second;
  splitPlan(rp.plan, &first, &second);
  std::ostringstream sink;  // the plan's own lines: nothing secret, but not for stdout
  uint64_t newId = 0, records = 0, unknownAuthors = 0;
  std::vector<std::string> createdSets;
  for (const auto& c : second.changes) {
    if (c.text.rfind("create permission set ", 0) == 0) createdSets.push_back(c.text.substr(22));
  }
  std::string step = "creating the tenant, its objects and users";
  try {
    config::runPlan(client, first, st, sink);
    newId = st.tenantIds.at(newName);
    step = "restoring records";
    auto authorId = [&](const std::string& who) -> uint64_t {
      if (who.empty()) return 0;
      auto [u, tn] = config::splitUser(who);
      auto it = st.userIds.find({tn.empty() ? newName : tn, u});
      return it == st.userIds.end() ? 0 : it->second;
    };
    dump::Reader r(o.file);
    std::string object, batchObject;
    dump::DumpRecord rec;
    std::vector<RestoredRecord> batch;
    size_t batchBytes = 0;
    auto flush = [&] {
      if (batch.empty()) return;
      auto n = client.restoreTenantRecords(newId, batchObject, batch);
      if (!n.ok()) {
        throw config::ServerError(n.getCode(), "object " + batchObject + ", records " + std::to_string(batch.front().id) +
                                                   " to " + std::to_string(batch.back().id) + ": " + n.getMessage());
      }
      records += n.value();
      batch.clear();
      batchBytes = 0;
    };
    for (;;) {
      auto item = r.next(&object, &rec);
      if (item != dump::Reader::Item::kRecord) {
        flush();
        if (item == dump::Reader::Item::kEnd) break;
        batchObject = object;
        continue;
      }
      RestoredRecord out;
      out.id = rec.id;
      out.version = rec.version;
      out.createdBy = authorId(rec.createdBy);
      out.createdAt = rec.createdAt;
      out.modifiedBy = authorId(rec.modifiedBy);
      out.modifiedAt = rec.modifiedAt;
      out.fields = std::move(rec.fields);
      if (out.createdBy == 0 || out.modifiedBy == 0) ++unknownAuthors;
      if (batch.size() == kPageRecords || (batchBytes + rec.lineBytes > kBatchBytes && !batch.empty())) flush();
      batch.push_back(std::move(out));
      batchBytes += rec.lineBytes;
    }
    step = "restoring roles, members, policies and permission sets";
    config::runPlan(client, second, st, sink);
  } catch (const std::exception& e) {
    // Nothing half-written stays: the new tenant goes with everything in it.
    std::string undo;
    if (newId == 0 && st.tenantIds.count(newName)) newId = st.tenantIds.at(newName);
    if (newId != 0) {
      Result del = client.deleteTenant(newId);
      undo = del.ok() ? "; the tenant '" + newName + "' (id " + std::to_string(newId) +
                            ") it had created was deleted: nothing of the restore remains"
                      : "; deleting the tenant '" + newName + "' (id " + std::to_string(newId) +
                            ") it had created failed too (" + del.getMessage() + "): delete it with `cotenant tenant delete " +
                            std::to_string(newId) + "`";
      for (const auto& set : createdSets) (void)client.deletePermissionSet(set);  // absent when not reached
    }
    ErrorCode code = ErrorCode::Internal;
    if (auto* se = dynamic_cast<const config::ServerError*>(&e)) code = se->code();
    throw Failed{code, "restore failed while " + step + ": " + e.what() + undo};
  }
  if (unknownAuthors > 0) {
    rp.notRestored.push_back(plural(unknownAuthors, "record names", "records name") +
                             " an author who is not a user here (created or modified by user id 0)");
  }
  const config::CTenant& t = slice.tenants.at(header.tenant);
  nlohmann::json j{{"tenantId", std::to_string(newId)},
                   {"name", newName},
                   {"dumpedTenant", {{"name", header.tenant}, {"id", std::to_string(header.sourceId)}}},
                   {"objects", t.objects.size()},
                   {"records", records},
                   {"users", t.users.size()},
                   {"notRestored", rp.notRestored},
                   {"notes", rp.notes}};
  s.emit({{"restore", j}}, [&] {
    std::cout << "Restored tenant '" << header.tenant << "' (id " << header.sourceId << " where it was dumped) as '"
              << newName << "', id " << newId << ": " << plural(t.objects.size(), "object", "objects") << ", "
              << plural(records, "record", "records") << ", " << plural(t.users.size(), "user", "users") << ", "
              << plural(t.roles.size(), "role", "roles") << ", " << plural(t.policies.size(), "policy", "policies") << ".\n";
    if (!t.users.empty()) {
      std::cout << "The users have no API keys: create one for each with `cotenant key create --user USER --in-tenant "
                << newId << "`.\n";
    }
    for (const auto& n : rp.notes) std::cout << "note: " << n << "\n";
    if (rp.notRestored.empty()) {
      std::cout << "Every reference was restored.\n";
    } else {
      std::cout << "Not restored (" << rp.notRestored.size() << "):\n";
      for (const auto& n : rp.notRestored) std::cout << "  " << n << "\n";
    }
  });
}

}  // namespace

void AddTenantDumpCommands(CLI::App* tenant, CliContext& s) {
  auto& o = s.keep<DumpOptions>();
  auto* d = s.leaf(tenant, "dump",
                   "Write one tenant's users, objects, records, roles, members, policies and permission-set "
                   "memberships to a file; never API keys (system admins)",
                   [&s, &o] { runDump(s, o); });
  d->add_option("ID", o.id, "tenant id")->required();
  d->add_option("--to", o.file, "the dump file to write (JSON Lines; docs/CLI.md)")->required();

  auto* r = s.leaf(tenant, "restore",
                   "Create a new tenant from a dump file, with the same content under a new id, and list "
                   "the references to other tenants that could not be restored (system admins)",
                   [&s, &o] { runRestore(s, o); });
  r->add_option("FILE", o.file, "a file written by tenant dump")->required();
  r->add_option("--name", o.name, "the new tenant's name (default: the dumped tenant's)");
}

}  // namespace cotenant::cli
