// cotenantd's TOML configuration file, fed to CLI11 as config items (config_file.h).

#include "config_file.h"

#include <sys/stat.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <istream>
#include <memory>
#include <sstream>

#include <toml++/toml.h>

namespace cotenant::daemon {
namespace {

// What TOML type a value must have to set an option, from the option's CLI11 declaration.
enum class Kind {
  kFlag,      // add_flag: a boolean
  kInteger,   // INT: an integer
  kUnsigned,  // UINT: an integer >= 0
  kFloat,     // FLOAT or NUMBER: an integer or a float
  kBoolean,   // BOOLEAN (an option taking a bool value): a boolean
  kText,      // TEXT: a string
  kOther,     // a type name CLI11 or the app chose (e.g. "URI"): any scalar; CLI11 converts it
};

Kind KindOf(const CLI::Option& op) {
  if (op.get_expected_min() == 0) return Kind::kFlag;
  // The type name is the value type's, then ":"-joined descriptions of the validators
  // ("UINT:INT in [1 - 256]"); only the first part says the type.
  std::string type = op.get_type_name();
  type = type.substr(0, type.find(':'));
  if (type == "INT") return Kind::kInteger;
  if (type == "UINT") return Kind::kUnsigned;
  if (type == "FLOAT" || type == "NUMBER") return Kind::kFloat;
  if (type == "BOOLEAN") return Kind::kBoolean;
  if (type == "TEXT") return Kind::kText;
  return Kind::kOther;
}

const char* KindWanted(Kind kind) {
  switch (kind) {
    case Kind::kFlag:
    case Kind::kBoolean:
      return "a boolean (true or false)";
    case Kind::kInteger:
      return "an integer";
    case Kind::kUnsigned:
      return "an integer (0 or more)";
    case Kind::kFloat:
      return "a number";
    case Kind::kText:
      return "a string";
    case Kind::kOther:
      return "a string, number or boolean";
  }
  return "a value";
}

const char* TypeName(toml::node_type type) {
  switch (type) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    case toml::node_type::none:
      break;
  }
  return "nothing";
}

// "SOURCE:LINE: " for a node of the file.
std::string At(const std::string& source, const toml::source_region& where) {
  return source + ":" + std::to_string(where.begin.line) + ": ";
}

std::string FormatDouble(double v) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  return ec == std::errc() ? std::string(buf, end) : std::to_string(v);
}

// One scalar `node` as the string CLI11 parses for an option of `kind`; throws
// CLI::ConfigError naming `key` when the node has the wrong type.
std::string ScalarValue(const toml::node& node, Kind kind, const std::string& key,
                        const std::string& source) {
  const toml::node_type type = node.type();
  bool ok = false;
  switch (kind) {
    case Kind::kFlag:
    case Kind::kBoolean:
      ok = type == toml::node_type::boolean;
      break;
    case Kind::kInteger:
      ok = type == toml::node_type::integer;
      break;
    case Kind::kUnsigned:
      ok = type == toml::node_type::integer;
      if (ok && node.as_integer()->get() < 0) {
        throw CLI::ConfigError(At(source, node.source()) + key + ": must not be negative (" +
                               std::to_string(node.as_integer()->get()) + ")");
      }
      break;
    case Kind::kFloat:
      ok = type == toml::node_type::integer || type == toml::node_type::floating_point;
      break;
    case Kind::kText:
      ok = type == toml::node_type::string;
      break;
    case Kind::kOther:
      ok = type == toml::node_type::string || type == toml::node_type::integer ||
           type == toml::node_type::floating_point || type == toml::node_type::boolean;
      break;
  }
  if (!ok) {
    throw CLI::ConfigError(At(source, node.source()) + key + ": expected " + KindWanted(kind) +
                           ", found " + TypeName(type));
  }
  switch (type) {
    case toml::node_type::string:
      return node.as_string()->get();
    case toml::node_type::integer:
      return std::to_string(node.as_integer()->get());
    case toml::node_type::floating_point:
      return FormatDouble(node.as_floating_point()->get());
    case toml::node_type::boolean:
      return node.as_boolean()->get() ? "true" : "false";
    default:
      return {};  // unreachable: refused above
  }
}

// Runs the option's validators on `value` now, so that a refused value is reported with
// the file's line (CLI11 runs them again when it takes the value, naming only the option).
void Validate(CLI::Option& op, std::string value, const std::string& where,
              const std::string& key) {
  for (int i = 0;; ++i) {
    CLI::Validator* v = nullptr;
    try {
      v = op.get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      return;
    }
    std::string error = (*v)(value);
    if (!error.empty()) throw CLI::ConfigError(where + key + ": " + error);
  }
}

// The reader CLI11 calls for --config: CLI11 opens the file and hands over its stream.
class TomlConfig final : public CLI::Config {
 public:
  explicit TomlConfig(CLI::App* app) : app_(app) {}

  std::string to_config(const CLI::App* app, bool default_also, bool write_description,
                        std::string prefix) const override {
    return CLI::ConfigTOML().to_config(app, default_also, write_description, std::move(prefix));
  }

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::ostringstream text;
    text << input.rdbuf();
    const std::string source = Source();
    if (input.bad()) throw CLI::FileError("cannot read " + source);
    return ConfigItemsFromToml(*app_, text.str(), source);
  }

 private:
  // The file being read, for messages: the value of --config.
  std::string Source() const {
    const CLI::Option* opt = app_->get_config_ptr();
    if (opt != nullptr && !opt->results().empty()) return opt->results().back();
    return "configuration file";
  }

  CLI::App* app_;
};

// --config's check, run as soon as the flag is parsed: the file exists, is not a
// directory, and can be opened (the message says why not).
CLI::Validator ReadableFile() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) {
          return "cannot read " + path + ": " + std::strerror(errno);
        }
        if (S_ISDIR(st.st_mode)) return "cannot read " + path + ": it is a directory";
        std::FILE* f = std::fopen(path.c_str(), "r");
        if (f == nullptr) return "cannot read " + path + ": " + std::strerror(errno);
        std::fclose(f);
        return {};
      },
      "");
}

}  // namespace

std::vector<CLI::ConfigItem> ConfigItemsFromToml(CLI::App& app, std::string_view text,
                                                 const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw CLI::ConfigError(source + ":" + std::to_string(e.source().begin.line) + ":" +
                           std::to_string(e.source().begin.column) +
                           ": not valid TOML: " + std::string(e.description()));
  }

  std::vector<CLI::ConfigItem> items;
  for (auto&& [k, node] : table) {
    const std::string key(k.str());
    const std::string where = At(source, k.source());
    if (node.is_table()) {
      throw CLI::ConfigError(where + key +
                             ": a table; every setting is a top-level key (no [sections] "
                             "or dotted keys)");
    }
    CLI::Option* op = key.empty() || key[0] == '-' ? nullptr : app.get_option_no_throw("--" + key);
    if (op == nullptr) {
      std::string hint;
      std::string dashed = key;
      for (char& c : dashed) c = c == '_' ? '-' : c;
      if (dashed != key && app.get_option_no_throw("--" + dashed) != nullptr) {
        hint = " (did you mean " + dashed + "?)";
      }
      throw CLI::ConfigError(where + "unknown key " + key + hint +
                             ": the keys are the long names of the flags, without --");
    }
    if (op == app.get_config_ptr() || op == app.get_help_ptr() ||
        op == app.get_help_all_ptr() || !op->get_configurable()) {
      throw CLI::ConfigError(where + key + ": cannot be set in the configuration file");
    }

    const Kind kind = KindOf(*op);
    CLI::ConfigItem item;
    item.name = key;
    if (const toml::array* array = node.as_array()) {
      if (kind == Kind::kFlag || op->get_items_expected_max() <= 1) {
        throw CLI::ConfigError(where + key + ": expected " + KindWanted(kind) +
                               ", found an array (the option takes one value)");
      }
      for (const toml::node& element : *array) {
        item.inputs.push_back(ScalarValue(element, kind, key, source));
      }
    } else {
      item.inputs.push_back(ScalarValue(node, kind, key, source));
    }
    if (kind != Kind::kFlag) {
      for (const std::string& value : item.inputs) Validate(*op, value, where, key);
    }
    items.push_back(std::move(item));
  }
  return items;
}

CLI::Option* AddConfigFileOption(CLI::App& app) {
  app.config_formatter(std::make_shared<TomlConfig>(&app));
  // A key that names no option is an error (ConfigItemsFromToml reports it first, with
  // its line; this is the backstop).
  app.allow_config_extras(CLI::config_extras_mode::error);
  CLI::Option* opt = app.set_config(
      "--config", "",
      "TOML file of settings: each key is a flag's long name without -- "
      "(listen = \"127.0.0.1:7770\", rpc-threads = 4); flags given on the command line win");
  opt->type_name("FILE")->check(ReadableFile())->trigger_on_parse();
  return opt;
}

}  // namespace cotenant::daemon
