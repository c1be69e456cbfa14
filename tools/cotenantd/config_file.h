// cotenantd's configuration file: `--config FILE`, a TOML file of the same settings as the
// command-line flags (docs/OPERATIONS.md, "Configuration file").
//
// Every top-level key is the long name of one of the app's options without its leading
// `--` (`listen = "127.0.0.1:7770"`, `rpc-threads = 4`, `allow-shared-data-dir = true`).
// Nothing here names an option: the keys accepted are the options declared on the
// CLI11 app, so a flag added to cotenantd is a configuration key at once.
//
// A flag given on the command line wins over the file; the file wins over the built-in
// default. The file is read while CLI11 parses (App::parse), so its values go through the
// same validators, `needs`/`excludes` rules and callbacks as the flags.
//
// Errors are CLI::ParseError, thrown from App::parse, naming the file, the line and the key:
//   - the file cannot be opened or read (CLI::ValidationError on --config);
//   - it is not valid TOML (line and column of the syntax error);
//   - a key names no option, names one that cannot be set from a file (`config`, `help`),
//     or holds a table (there are no sections);
//   - a value has the wrong TOML type for its option: a string for a text option, an
//     integer for an integer option (not negative for an unsigned one), an integer or a
//     float for a floating-point one, a boolean for a flag, an array only for an option
//     that takes several values;
//   - a value the option's validators refuse (out of range, not one of the choices).

#ifndef COTENANT_TOOLS_COTENANTD_CONFIG_FILE_H_
#define COTENANT_TOOLS_COTENANTD_CONFIG_FILE_H_

#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace cotenant::daemon {

// Adds `--config FILE` to `app` and makes `app` read FILE as TOML (above). Call it once,
// before App::parse; it may be called before or after the other options are added.
// Returns the new option. `app` must outlive its parse.
CLI::Option* AddConfigFileOption(CLI::App& app);

// The settings in TOML `text` as CLI11 config items for `app`, one per key, values
// converted to the strings CLI11 parses. `source` names the file in error messages.
// Throws CLI::ConfigError ("SOURCE:LINE: ...") for any of the errors listed above except
// an unreadable file. Used by AddConfigFileOption's reader; public for its tests.
std::vector<CLI::ConfigItem> ConfigItemsFromToml(CLI::App& app, std::string_view text,
                                                 const std::string& source);

}  // namespace cotenant::daemon

#endif  // COTENANT_TOOLS_COTENANTD_CONFIG_FILE_H_
