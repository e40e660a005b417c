#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace exitscope::app {

/// Parsed "--key value" / "--flag" command-line options of one subcommand.
/// Unknown options, missing values and malformed numbers are errors that
/// name the option.
class CliArgs {
public:
    /// `flags` take no value; every other option takes one.
    CliArgs(const std::vector<std::string>& args, const std::set<std::string>& known,
            const std::set<std::string>& flags);
    /// The options `command` declares in its help (app/cli/cli_help.cpp):
    /// exactly what `exitscope-cli COMMAND --help` lists.
    CliArgs(const std::vector<std::string>& args, const std::string& command);

    bool has(const std::string& key) const { return m_values.count(key) > 0; }
    std::string get(const std::string& key, const std::string& fallback = {}) const;
    std::string require(const std::string& key) const;
    long long getInt(const std::string& key, long long fallback, long long lo, long long hi) const;
    double getDouble(const std::string& key, double fallback, double lo, double hi) const;
    /// Comma-separated numbers, e.g. "0.9,0.9,0.8".
    std::vector<double> getDoubles(const std::string& key) const;

private:
    void parse(const std::vector<std::string>& args, const std::set<std::string>& known,
               const std::set<std::string>& flags);

    std::string m_command;
    std::map<std::string, std::string> m_values;
};

} // namespace exitscope::app
