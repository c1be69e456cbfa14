// wire::Admin, the store as a whole: checkStore (storage/fsck.h) and backup
// (storage/backup.h), both on the work pool.

#include "rpc/serve.h"
#include "storage/backup.h"
#include "storage/fsck.h"

namespace cotenant::rpc {

using sharing::Api;

kj::Promise<void> AdminImpl::checkStore(CheckStoreContext context) {
  return Serve(ctx_, Api::kCheckStore, [&]() -> kj::Promise<void> {
    uint32_t max = context.getParams().getMaxProblems();
    Args args(ctx_.limits);
    if (max > 10000) {
      args.Take(Status::InvalidArgument("maxProblems may be at most 10000, not " + std::to_string(max)));
    }
    storage::CheckOptions options;
    options.max_problems = max == 0 ? 100 : max;
    const storage::Store* store = ctx_.store;
    struct Out : AdminOut {
      storage::CheckReport report;
    };
    return Run<Out>(
        Call(Api::kCheckStore), args.status(),
        [store, options](const sharing::AdminDecision&) {
          Out o;
          o.status = store->Check(options, &o.report);
          return o;
        },
        [context](Out& o) mutable {
          const storage::CheckReport& r = o.report;
          auto w = context.getResults().initReport();
          w.setClean(r.clean());
          w.setProblemCount(r.problem_count);
          auto counts = w.initChecked(static_cast<unsigned>(r.checked.size()));
          unsigned i = 0;
          for (const auto& [what, n] : r.checked) {
            counts[i].setWhat(what.c_str());
            counts[i].setCount(n);
            ++i;
          }
          auto pending = w.initPendingDeletions(static_cast<unsigned>(r.pending_deletions.size()));
          for (i = 0; i < r.pending_deletions.size(); ++i) pending.set(i, r.pending_deletions[i]);
          auto problems = w.initProblems(static_cast<unsigned>(r.problems.size()));
          for (i = 0; i < r.problems.size(); ++i) {
            problems[i].setKind(r.problems[i].kind.c_str());
            problems[i].setTenant(r.problems[i].tenant);
            problems[i].setKey(r.problems[i].key.c_str());
            problems[i].setWhat(r.problems[i].what.c_str());
          }
        });
  });
}

kj::Promise<void> AdminImpl::backup(BackupContext context) {
  return Serve(ctx_, Api::kBackup, [&]() -> kj::Promise<void> {
    auto params = context.getParams();
    Args args(ctx_.limits);
    std::string dir;
    if (params.getDir().size() > 4096) {
      args.Take(Status::InvalidArgument("backup directory: a path of more than 4096 bytes"));
    } else {
      args.Take(CopyText(params.getDir(), "backup directory", &dir));
    }
    uint32_t keep = params.getKeep();
    const storage::Store* store = ctx_.store;
    struct Out : AdminOut {
      storage::BackupInfo info;
    };
    return Run<Out>(
        Call(Api::kBackup), args.status(),
        [store, dir, keep](const sharing::AdminDecision&) {
          Out o;
          o.status = store->Backup(dir, keep, &o.info);
          return o;
        },
        [context](Out& o) mutable {
          auto w = context.getResults().initBackup();
          w.setId(o.info.id);
          w.setCreatedAt(o.info.created_at);
          w.setSizeBytes(o.info.size_bytes);
          w.setFiles(o.info.files);
          w.setCopiedBytes(o.info.copied_bytes);
          w.setKept(o.info.kept);
        });
  });
}

}  // namespace cotenant::rpc
