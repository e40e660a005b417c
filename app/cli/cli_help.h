#pragma once

#include <string>
#include <vector>

namespace exitscope::app {

/// One option of an exitscope-cli command. `value` names what it takes
/// ("FILE", "N"); empty for a flag. `fallback` says what holds without it
/// (empty: required or nothing; see `required`).
struct OptionHelp {
    std::string name;
    std::string value;
    std::string fallback;
    std::string help;
    bool required = false;
};

/// A command's options, its one-line summary and a longer description.
/// The same table makes `exitscope-cli CMD --help` and tells CliArgs which
/// options the command accepts, so the help lists exactly what is parsed.
struct CommandHelp {
    std::string name;
    std::string positional;  ///< e.g. "FILE" for `info FILE`; empty when none
    std::string summary;
    std::string details;
    std::vector<OptionHelp> options;
    bool internal = false;  ///< started by another command, not listed in the usage
};

/// Every command, in the order of the general usage.
const std::vector<CommandHelp>& commandHelps();

/// The command called `name`; nullptr when there is none.
const CommandHelp* findCommandHelp(const std::string& name);

/// `exitscope-cli NAME --help`: usage line, description, every option with
/// what it takes and its default.
std::string formatCommandHelp(const CommandHelp& command);

/// The general usage: every command with its summary.
std::string formatUsage();

/// Whether the arguments after the command ask for its help (--help or -h).
bool asksForHelp(const std::vector<std::string>& args);

} // namespace exitscope::app
