// Shell completion for `cotenant`, generated from the CLI11 app itself: its commands,
// subcommands and their options are the ones the binary parses, so the script cannot
// drift from the CLI. `cotenant completion bash` prints it (the build installs that output
// as the bash completion of the package).

#ifndef COTENANT_TOOLS_COTENANT_COMPLETION_H_
#define COTENANT_TOOLS_COTENANT_COMPLETION_H_

#include <string>

#include <CLI/CLI.hpp>

namespace cotenant::cli {

// A bash completion script for `program` built from `app`'s tree of subcommands: at each
// position it offers the subcommands of the command typed so far, or (after "-") its
// options and those of the commands above it (global options may follow the command),
// and after an option whose values are a fixed set (CLI::IsMember), that set. Hidden
// commands (empty group) are left out. Needs bash 4.2 (associative arrays, declare -g).
std::string BashCompletionScript(const CLI::App& app, const std::string& program);

class CliContext;

// Adds the hidden `completion bash` command to `app`: it prints BashCompletionScript of
// `app` as it is when the command runs (every command added by then), needing no server.
void AddCompletionCommand(CLI::App& app, CliContext& s);

}  // namespace cotenant::cli

#endif  // COTENANT_TOOLS_COTENANT_COMPLETION_H_
