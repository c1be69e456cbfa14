// `cotenant object create|list`.

#include <iostream>

#include "cli_render.h"
#include "commands.h"

namespace cotenant::cli {
namespace {

struct Options {
  std::string name, inTenant;
  std::vector<std::string> fieldSpecs;
};

void printObjects(const std::vector<ObjectInfo>& objects) {
  Table t({"OBJECT", "ID", "FIELD", "TYPE", "REQUIRED", "INDEXED", "UNIQUE"});
  for (const auto& o : objects) {
    if (o.fields.empty()) t.add({o.name, std::to_string(o.id)});
    for (const auto& f : o.fields) {
      t.add({o.name, std::to_string(o.id), f.name, fieldTypeName(f.type),
             f.required ? "yes" : "no", f.indexed ? "yes" : "no", f.unique ? "yes" : "no"});
    }
  }
  t.print(std::cout);
}

}  // namespace

void AddObjectCommands(CLI::App& app, CliContext& s) {
  auto& opt = s.keep<Options>();
  CLI::App* obj = app.add_subcommand("object", "Create and list objects (record types)");
  obj->require_subcommand(1);
  auto* ocreate = s.leaf(obj, "create", "Create an object with declared fields", [&s, &opt] {
    std::vector<FieldDef> defs;
    for (const auto& spec : opt.fieldSpecs) defs.push_back(parseFieldSpec(spec));
    uint64_t tid = optionalTenant(opt.inTenant);
    auto o = s.client().createObject(tid, opt.name, defs);
    check(o);
    s.emit({{"object", toJson(o.value())}}, [&] { printObjects({o.value()}); });
  });
  ocreate->add_option("NAME", opt.name, "object name, unique in the tenant")->required();
  ocreate->add_option("--field", opt.fieldSpecs, "name:type[:indexed][:required][:unique] (repeatable; unique: one record per value)")
      ->required();
  ocreate->add_option("--in-tenant", opt.inTenant, "tenant (default: own)");

  auto* olist = s.leaf(obj, "list", "List objects and their fields", [&s, &opt] {
    uint64_t tid = optionalTenant(opt.inTenant);
    auto l = s.client().listObjects(tid);
    check(l);
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& o : l.value()) arr.push_back(toJson(o));
    s.emit({{"objects", arr}}, [&] { printObjects(l.value()); });
  });
  olist->add_option("--in-tenant", opt.inTenant, "tenant (default: own)");
}

}  // namespace cotenant::cli
