// Access: the resolved rights of one caller on one tenant; names of rights and paths.

#include "sharing/sharing_internal.h"

namespace cotenant::sharing {

using namespace internal;  // NOLINT: this layer's own helpers

// ---- Names ------------------------------------------------------------------------------

std::string RightsToString(uint8_t rights) {
  std::string s;
  for (Right r : {kRead, kAdd, kUpdate, kDelete}) {
    if (rights & r) {
      if (!s.empty()) s += ",";
      s += RightName(r);
    }
  }
  return s.empty() ? "none" : s;
}

std::string_view RightVerb(Right r) {
  switch (r) {
    case kRead: return "GET";
    case kAdd: return "POST";
    case kUpdate: return "PUT";
    case kDelete: return "DELETE";
  }
  return "?";
}

std::string_view RightName(Right r) {
  switch (r) {
    case kRead: return "read";
    case kAdd: return "add";
    case kUpdate: return "update";
    case kDelete: return "delete";
  }
  return "?";
}

std::string_view PathName(Path p) {
  switch (p) {
    case Path::kOwn: return "own";
    case Path::kCrossTenantRole: return "cross-tenant role";
    case Path::kPolicy: return "policy";
    case Path::kGlobalPolicy: return "global policy";
    case Path::kDenied: return "denied";
  }
  return "?";
}

// ---- Access -----------------------------------------------------------------------------

uint8_t Access::RightsOn(std::string_view object) const {
  if (path == Path::kDenied) return 0;
  if (scoped && scope.find(object) == scope.end()) return 0;
  return RoleRightsOn(rights, object);
}

Status Access::Check(std::string_view object, Right right) const {
  if (path == Path::kDenied) return Status::PermissionDenied(denial);
  if (RightsOn(object) & right) return Status::OK();
  std::string why;
  if (scoped && scope.find(object) == scope.end()) {
    why = "policy '" + policy + "' does not share object " + std::string(object);
  } else {
    why = "the roles of user " + std::to_string(principal) + " grant " +
          RightsToString(RoleRightsOn(rights, object)) + " on " + std::string(object) +
          ", not " + std::string(RightName(right));
  }
  return Status::PermissionDenied("Access Denied: user " + std::to_string(principal) +
                                  " may not " + std::string(RightVerb(right)) + " records/" +
                                  std::string(object) + " in tenant " + std::to_string(target) +
                                  ": " + why);
}

Status Access::ScopeFor(const storage::ObjectDef& def,
                        std::shared_ptr<const storage::RecordScope>* out) const {
  out->reset();
  if (!scoped) return Status::OK();
  auto it = scope.find(def.name);
  if (it == scope.end()) return Status::OK();  // Check() refused the object already
  const ObjectScope& os = it->second;
  if (os.row_filter.empty() && os.fields.empty()) return Status::OK();
  std::lock_guard<std::mutex> l(compiled_mu_);
  auto& slot = compiled_[def.id];
  if (!slot) {
    slot = std::make_shared<Compiled>();
    if (!os.row_filter.empty()) {
      slot->status = storage::criteria::Compile(os.row_filter, def, &slot->filter);
      if (!slot->status.ok()) {
        slot->status = Status::Internal("the row filter of policy '" + policy +
                                        "' no longer compiles: " + slot->status.message());
      }
      slot->scope.row_filter = slot->filter.get();
    }
    if (!os.fields.empty()) {
      slot->scope.visible_fields.assign(def.fields.size(), false);
      for (const auto& f : os.fields) {
        auto s = def.Slot(f);
        if (s && *s >= 0) slot->scope.visible_fields[static_cast<size_t>(*s)] = true;
      }
    }
  }
  if (!slot->status.ok()) return slot->status;
  *out = std::shared_ptr<const storage::RecordScope>(slot, &slot->scope);
  return Status::OK();
}

std::string Access::Describe() const {
  switch (path) {
    case Path::kOwn: return "own tenant";
    case Path::kCrossTenantRole:
      return "cross-tenant role as user " + std::to_string(principal);
    case Path::kPolicy:
    case Path::kGlobalPolicy:
      return std::string(PathName(path)) + " '" + policy + "' as user " + std::to_string(principal);
    case Path::kDenied: return "no policy";
  }
  return "";
}

std::string Access::Serialize() const {
  json scope_json = json::array();
  for (const auto& [name, s] : scope) {
    scope_json.push_back({{"object", s.object}, {"rowFilter", s.row_filter}, {"fields", s.fields}});
  }
  return json{{"ct", caller_tenant}, {"cu", caller}, {"t", target},
              {"path", static_cast<int>(path)}, {"principal", principal}, {"policy", policy},
              {"denial", denial}, {"expiresAt", expires_at}, {"rights", RightsToJson(rights)},
              {"scoped", scoped}, {"scope", scope_json}}
      .dump();
}

Status Access::Deserialize(std::string_view bytes, Access* a) {
  json j = json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::Internal("bad cached context");
  a->caller_tenant = j.value("ct", uint64_t{0});
  a->caller = j.value("cu", uint64_t{0});
  a->target = j.value("t", uint64_t{0});
  int path = j.value("path", static_cast<int>(Path::kDenied));
  if (path < 0 || path > static_cast<int>(Path::kDenied)) return Status::Internal("bad cached context");
  a->path = static_cast<Path>(path);
  a->principal = j.value("principal", uint64_t{0});
  a->policy = j.value("policy", std::string());
  a->denial = j.value("denial", std::string());
  a->expires_at = j.value("expiresAt", int64_t{0});
  a->rights = RightsFromJson(j.value("rights", json::object()));
  a->scoped = j.value("scoped", false);
  for (auto& s : ScopeFromJson(j.value("scope", json::array()))) {
    std::string name = s.object;
    a->scope.emplace(std::move(name), std::move(s));
  }
  return Status::OK();
}

}  // namespace cotenant::sharing
