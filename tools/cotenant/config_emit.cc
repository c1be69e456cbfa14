// Writing a Config as YAML (emitConfig): byte-stable, everything sorted by name.

#include "config.h"

#include <yaml-cpp/yaml.h>

namespace cotenant::cli::config {

std::string emitConfig(const Config& cfg) {
  YAML::Emitter out;
  out.SetIndent(2);
  out << YAML::BeginMap;
  out << YAML::Key << "version" << YAML::Value << 1;
  if (!cfg.settings.empty()) {
    out << YAML::Key << "settings" << YAML::Value << YAML::BeginMap;
    for (const auto& [k, v] : cfg.settings) out << YAML::Key << k << YAML::Value << v;
    out << YAML::EndMap;
  }
  // Tenants in creation-safe order would hide names; sort by name (providers are names).
  out << YAML::Key << "tenants" << YAML::Value << YAML::BeginSeq;
  for (const auto& [tn, t] : cfg.tenants) {
    out << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value << tn;
    out << YAML::Key << "kind" << YAML::Value << t.kind;
    if (!t.provider.empty()) out << YAML::Key << "provider" << YAML::Value << t.provider;
    if (!(t.quota == Quota{})) {
      out << YAML::Key << "quota" << YAML::Value << YAML::Flow << YAML::BeginMap;
      if (t.quota.records != 0) out << YAML::Key << "records" << YAML::Value << t.quota.records;
      if (t.quota.bytes != 0) out << YAML::Key << "bytes" << YAML::Value << t.quota.bytes;
      if (t.quota.callsPerSecond != 0) out << YAML::Key << "callsPerSecond" << YAML::Value << t.quota.callsPerSecond;
      if (t.quota.concurrentWork != 0) out << YAML::Key << "concurrentWork" << YAML::Value << t.quota.concurrentWork;
      out << YAML::EndMap;
    }
    if (!t.users.empty()) {
      out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq;
      for (const auto& [un, u] : t.users) {
        out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << un
            << YAML::Key << "level" << YAML::Value << u.level << YAML::EndMap;
      }
      out << YAML::EndSeq;
    }
    if (!t.objects.empty()) {
      out << YAML::Key << "objects" << YAML::Value << YAML::BeginSeq;
      for (const auto& [on, o] : t.objects) {
        out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << on;
        out << YAML::Key << "fields" << YAML::Value << YAML::BeginSeq;
        for (const auto& f : o.fields) {
          out << YAML::Flow << YAML::BeginMap << YAML::Key << "name" << YAML::Value << f.name
              << YAML::Key << "type" << YAML::Value << f.type;
          if (f.required) out << YAML::Key << "required" << YAML::Value << true;
          if (f.unique) {
            out << YAML::Key << "unique" << YAML::Value << true;  // implies indexed
          } else if (f.indexed) {
            out << YAML::Key << "indexed" << YAML::Value << true;
          }
          out << YAML::EndMap;
        }
        out << YAML::EndSeq << YAML::EndMap;
      }
      out << YAML::EndSeq;
    }
    if (!t.roles.empty()) {
      out << YAML::Key << "roles" << YAML::Value << YAML::BeginSeq;
      for (const auto& [rn, r] : t.roles) {
        out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << rn;
        if (r.crossTenant) out << YAML::Key << "crossTenant" << YAML::Value << true;
        out << YAML::Key << "rights" << YAML::Value << YAML::BeginMap;
        for (const auto& [obj, rights] : r.rights) out << YAML::Key << obj << YAML::Value << rights;
        out << YAML::EndMap;
        if (!r.members.empty()) {
          out << YAML::Key << "members" << YAML::Value << YAML::BeginSeq;
          for (const auto& m : r.members) out << m;
          out << YAML::EndSeq;
        }
        out << YAML::EndMap;
      }
      out << YAML::EndSeq;
    }
    if (!t.policies.empty()) {
      out << YAML::Key << "policies" << YAML::Value << YAML::BeginSeq;
      for (const auto& [pn, p] : t.policies) {
        out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << pn;
        if (p.global) {
          out << YAML::Key << "global" << YAML::Value << true;
        } else {
          out << YAML::Key << "designated" << YAML::Value << p.designated;
        }
        if (p.user.empty()) {
          out << YAML::Key << "user" << YAML::Value << YAML::Null
              << YAML::Comment("user " + std::to_string(p.missingUserId) + " no longer exists: name a user");
        } else {
          out << YAML::Key << "user" << YAML::Value << p.user;
        }
        if (!p.scope.empty()) {
          out << YAML::Key << "scope" << YAML::Value << YAML::BeginSeq;
          for (const auto& s : p.scope) {
            out << YAML::BeginMap << YAML::Key << "object" << YAML::Value << s.object;
            if (!s.filter.empty()) out << YAML::Key << "filter" << YAML::Value << YAML::DoubleQuoted << s.filter;
            if (!s.fields.empty()) {
              out << YAML::Key << "fields" << YAML::Value << YAML::Flow << YAML::BeginSeq;
              for (const auto& f : s.fields) out << f;
              out << YAML::EndSeq;
            }
            out << YAML::EndMap;
          }
          out << YAML::EndSeq;
        }
        if (p.expiresAt != 0) out << YAML::Key << "expiresAt" << YAML::Value << formatTimestamp(p.expiresAt);
        out << YAML::EndMap;
      }
      out << YAML::EndSeq;
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;
  if (!cfg.permissionSets.empty()) {
    out << YAML::Key << "permissionSets" << YAML::Value << YAML::BeginSeq;
    for (const auto& [sn, s] : cfg.permissionSets) {
      out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << sn;
      out << YAML::Key << "scope" << YAML::Value << s.scope;
      if (s.allTenants) {
        out << YAML::Key << "tenants" << YAML::Value << "all";
      } else {
        out << YAML::Key << "tenants" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (const auto& t : s.tenants) out << t;
        out << YAML::EndSeq;
      }
      if (!s.users.empty()) {
        out << YAML::Key << "users" << YAML::Value << YAML::Flow << YAML::BeginSeq;
        for (const auto& u : s.users) out << u;
        out << YAML::EndSeq;
      }
      out << YAML::Key << "policies" << YAML::Value << YAML::BeginSeq;
      for (const auto& r : s.policies) {
        out << YAML::Flow << YAML::BeginMap;
        out << YAML::Key << "effect" << YAML::Value << r.effect;
        out << YAML::Key << "resourceTypeRegex" << YAML::Value << YAML::SingleQuoted << r.resourceTypeRegex;
        out << YAML::Key << "apiNameRegex" << YAML::Value << YAML::SingleQuoted << r.apiNameRegex;
        out << YAML::Key << "methodRegex" << YAML::Value << YAML::SingleQuoted << r.methodRegex;
        out << YAML::EndMap;
      }
      out << YAML::EndSeq << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
  return "# Cotenant access configuration (cotenant export; docs/CLI.md). Names, not ids;\n"
         "# API keys are never part of this file.\n" +
         std::string(out.c_str()) + "\n";
}

}  // namespace cotenant::cli::config
