// explain and simulate: the gate's decision of a call, with the reasoning kept.
//
// It runs the very functions a real call runs (Gate::Finish, Gate::AuthorizeAdmin), with
// the permission sets traced or replaced by a draft, so an explanation cannot disagree
// with what the call would answer.

#include "sharing/gate.h"

namespace cotenant::sharing {
namespace {

void AddSets(Explanation* o, UserId user, const PermissionDecision& d) {
  for (const auto& c : d.considered) o->sets.push_back({c.set, user, c.matched_allow, c.matched_deny});
}

std::string Who(const User& u) {
  return "user " + std::to_string(u.id) + " of tenant " + std::to_string(u.tenant);
}

}  // namespace

StatusOr<Explanation> Gate::Explain(const Credential& asker_cred, const ExplainRequest& req) const {
  User asker;
  COTENANT_RETURN_IF_ERROR(parts_.identity->Check(asker_cred, &asker));
  if ((req.draft_set || !req.remove_set.empty()) && asker.level != AdminLevel::kSystemAdmin) {
    return Status::PermissionDenied("Access Denied: " + Who(asker) +
                                    " may not simulate permission sets: it needs a system admin");
  }
  User subject = asker;
  if (req.user != 0 && req.user != asker.id) {
    Status found = parts_.identity->FindUser(req.user, &subject);
    // Outside a system admin's reach, a missing user and another tenant's user answer
    // alike: user ids cannot be probed.
    if (found.IsNotFound() && asker.level != AdminLevel::kSystemAdmin) subject.tenant = 0;
    else COTENANT_RETURN_IF_ERROR(found);
  }
  if (asker.level != AdminLevel::kSystemAdmin &&
      (subject.tenant != asker.tenant ||
       (subject.id != asker.id && asker.level < AdminLevel::kTenantAdmin))) {
    return Status::PermissionDenied("Access Denied: " + Who(asker) +
                                    " may only explain calls of users of its own tenant");
  }
  auto api = ApiByName(req.api);
  if (!api || AccessOf(*api).resource.empty()) {
    return Status::InvalidArgument("'" + req.api + "' is not an API that permission sets evaluate");
  }
  Status failed;  // a draft permission set that does not validate
  Evaluator evaluate = [&](const AccessRequest& r) {
    if (!req.draft_set && req.remove_set.empty()) return parts_.psets->Evaluate(r, /*trace=*/true);
    PermissionDecision d;
    PermissionSet removal;
    removal.name = req.remove_set;
    Status s = parts_.psets->Simulate(r, req.draft_set ? *req.draft_set : removal, !req.draft_set, &d);
    if (!s.ok()) failed = s;
    return d;
  };
  TenantId target = req.tenant == 0 ? subject.tenant : req.tenant;
  // A draft policy is one the asker could save: a policy of its own tenant, or any
  // tenant's for a system admin. A draft "saved" in another tenant would tell the asker
  // about that tenant (whether it exists, its users, objects and fields); it is refused
  // with one answer whatever that tenant holds.
  if (req.draft_policy && asker.level != AdminLevel::kSystemAdmin && target != asker.tenant) {
    return Status::PermissionDenied("Access Denied: " + Who(asker) +
                                    " may only simulate data-sharing policies of its own tenant");
  }
  // Someone on the designated side sees what the publisher lets it see, no more: not
  // the row filter's text, nor the names of the permission sets of the publisher's user.
  bool outsider = asker.level != AdminLevel::kSystemAdmin && target != asker.tenant;
  Explanation o;
  if (IsRecordApi(*api)) {
    COTENANT_RETURN_IF_ERROR(ExplainRecord(subject, *api, target, req, evaluate, outsider, &o));
    COTENANT_RETURN_IF_ERROR(failed);
    return o;
  }
  // An administrative call: the same rules DecideAdmin applies, for `subject`.
  const AdminRule& rule = AdminRuleOf(*api);
  if (!rule.names_tenant) target = subject.tenant;
  o.path = "admin";
  o.principal = subject.id;
  PermissionDecision sets;
  sets.policy = -1;  // stays -1 unless the permission sets were evaluated
  o.verdict = AuthorizeAdmin(subject, *api, target, evaluate, &sets);
  COTENANT_RETURN_IF_ERROR(failed);
  if (subject.level == AdminLevel::kSystemAdmin) {
    o.steps.push_back(Who(subject) + " is a system admin: its administrative calls are exempt from permission sets");
  } else if (sets.policy != -1) {
    AddSets(&o, subject.id, sets);
    o.deciding_set = sets.set;
    o.deciding_policy = sets.policy;
    AccessRequest r = RequestOf(*api, subject.id, target, "");
    o.steps.push_back("permission sets of " + Who(subject) + " for " + r.method + " " + r.resource_type +
                      " in tenant " + std::to_string(target) + ": " + sets.Reason());
  }
  if (o.verdict.ok() && subject.level < rule.level) {
    o.verdict = Status::PermissionDenied(
        "Access Denied: " + Who(subject) + " may not " + std::string(rule.what) + ": it needs " +
        (rule.level == AdminLevel::kSystemAdmin ? "a system admin" : "a tenant admin or system admin"));
  }
  if (!o.verdict.ok()) o.steps.push_back(o.verdict.message());
  o.steps.push_back(rule.acts_on_user
                        ? "then the rules on the user acted on apply (a tenant admin acts on its own tenant's users only, never on a system admin)"
                        : "admin level: " + std::string(rule.what) + " needs " +
                              std::string(AdminLevelName(rule.level)) + " or above");
  o.allowed = o.verdict.ok();
  return o;
}

Status Gate::ExplainRecord(const User& subject, Api api, TenantId target, const ExplainRequest& req,
                           const Evaluator& evaluate, bool outsider, Explanation* o) const {
  std::shared_ptr<const Access> access;
  COTENANT_RETURN_IF_ERROR(
      req.draft_policy
          ? parts_.sharing->ResolveDraft(subject.tenant, subject.id, target, *req.draft_policy, &access)
          : parts_.sharing->Resolve(subject.tenant, subject.id, target, &access));
  RecordCall call;
  call.api = api;
  call.context = target;
  call.object = req.object;
  DecisionPtr d = Finish(subject, call, access, evaluate);
  o->path = std::string(PathName(access->path));
  o->policy = access->policy;
  o->principal = access->principal;
  o->verdict = d->verdict();
  o->steps.push_back("context: " + Who(subject) + " on tenant " + std::to_string(target) + ": " +
                     (access->path == Path::kDenied ? access->denial : access->Describe()));
  if (access->path != Path::kDenied) {
    AddSets(o, subject.id, d->caller_sets());
    o->steps.push_back("permission sets of user " + std::to_string(subject.id) + ": " +
                       d->caller_sets().Reason());
    const PermissionDecision* decider = &d->caller_sets();
    bool principal_decided = false;
    if (d->principal_evaluated()) {
      const PermissionDecision& ps = d->principal_sets();
      if (outsider) {
        o->steps.push_back("permission sets of user " + std::to_string(access->principal) +
                           " (the policy's user): " +
                           (ps.allowed ? "allowed" : "denied by a permission set of the publisher"));
      } else {
        AddSets(o, access->principal, ps);
        o->steps.push_back("permission sets of user " + std::to_string(access->principal) +
                           " (the policy's user): " + ps.Reason());
      }
      if (d->caller_sets().allowed) {
        decider = &ps;
        principal_decided = true;
      }
    }
    if (!(outsider && principal_decided)) {
      o->deciding_set = decider->set;
      o->deciding_policy = decider->policy;
    }
    o->rights = RightsToString(access->RightsOn(req.object));
    o->steps.push_back("role rights of user " + std::to_string(access->principal) + " on " + req.object +
                       (access->scoped ? " within the policy's scope" : "") + ": " + o->rights +
                       " (needs " + std::string(RightName(RightOf(api))) + ")");
    auto sc = access->scope.find(req.object);
    if (sc != access->scope.end()) {
      std::string filter = sc->second.row_filter.empty() ? std::string("none")
                           : outsider ? std::string(kHiddenRowFilter)
                                      : sc->second.row_filter;
      o->scope = "row filter: " + filter;
      std::string fields;
      for (const auto& f : sc->second.fields) fields += (fields.empty() ? "" : ",") + f;
      o->scope += "; fields: " + (fields.empty() ? std::string("all") : fields);
      o->steps.push_back("scope of " + req.object + ": " + o->scope);
    }
  }
  bool sets_and_rights_passed = access->path != Path::kDenied && d->caller_sets().allowed &&
                                (!d->principal_evaluated() || d->principal_sets().allowed) &&
                                (access->RightsOn(req.object) & RightOf(api)) != 0;
  if (sets_and_rights_passed) {
    o->steps.push_back(d->allowed() ? "object " + req.object + " exists: the call goes on to its arguments and the record"
                                    : d->verdict().message());
  }
  o->allowed = d->allowed();
  return Status::OK();
}

}  // namespace cotenant::sharing
