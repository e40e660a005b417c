#include "app/cli/cli_args.h"

#include "app/cli/cli_help.h"
#include "core/common/error.h"

#include <cmath>
#include <sstream>
#include <stdexcept>

namespace exitscope::app {

using core::Error;

CliArgs::CliArgs(const std::vector<std::string>& args, const std::set<std::string>& known,
                 const std::set<std::string>& flags) {
    parse(args, known, flags);
}

CliArgs::CliArgs(const std::vector<std::string>& args, const std::string& command) : m_command(command) {
    const CommandHelp* help = findCommandHelp(command);
    if (help == nullptr) throw std::logic_error("no help for command " + command);
    std::set<std::string> known, flags;
    for (const auto& o : help->options) (o.value.empty() ? flags : known).insert(o.name);
    parse(args, known, flags);
    for (const auto& o : help->options)
        if (o.required && !has(o.name))
            throw Error("option --" + o.name + " " + o.value + " is required (exitscope-cli " + command +
                        " --help lists the options)");
}

void CliArgs::parse(const std::vector<std::string>& args, const std::set<std::string>& known,
                    const std::set<std::string>& flags) {
    const std::string seeHelp =
        m_command.empty() ? std::string() : " (exitscope-cli " + m_command + " --help lists the options)";
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a.rfind("--", 0) != 0) throw Error("unexpected argument '" + a + "'" + seeHelp);
        const std::string key = a.substr(2);
        if (!known.count(key) && !flags.count(key)) throw Error("unknown option --" + key + seeHelp);
        if (flags.count(key)) {
            m_values[key] = "1";
            continue;
        }
        if (i + 1 >= args.size()) throw Error("option --" + key + " needs a value");
        m_values[key] = args[++i];
    }
}

std::string CliArgs::get(const std::string& key, const std::string& fallback) const {
    auto it = m_values.find(key);
    return it == m_values.end() ? fallback : it->second;
}

std::string CliArgs::require(const std::string& key) const {
    auto it = m_values.find(key);
    if (it == m_values.end() || it->second.empty()) throw Error("option --" + key + " is required");
    return it->second;
}

long long CliArgs::getInt(const std::string& key, long long fallback, long long lo, long long hi) const {
    if (!has(key)) return fallback;
    const std::string v = get(key);
    std::size_t pos = 0;
    long long x = 0;
    try {
        x = std::stoll(v, &pos);
    } catch (...) {
        pos = 0;
    }
    if (pos == 0 || pos != v.size()) throw Error("--" + key + ": '" + v + "' is not an integer");
    if (x < lo || x > hi)
        throw Error("--" + key + ": " + v + " is outside " + std::to_string(lo) + ".." + std::to_string(hi));
    return x;
}

double CliArgs::getDouble(const std::string& key, double fallback, double lo, double hi) const {
    if (!has(key)) return fallback;
    const std::string v = get(key);
    std::size_t pos = 0;
    double x = 0;
    try {
        x = std::stod(v, &pos);
    } catch (...) {
        pos = 0;
    }
    if (pos == 0 || pos != v.size() || !std::isfinite(x)) throw Error("--" + key + ": '" + v + "' is not a number");
    if (x < lo || x > hi) {
        std::ostringstream os;
        os << "--" << key << ": " << v << " is outside [" << lo << ", " << hi << "]";
        throw Error(os.str());
    }
    return x;
}

std::vector<double> CliArgs::getDoubles(const std::string& key) const {
    std::vector<double> out;
    std::stringstream ss(get(key));
    std::string item;
    while (std::getline(ss, item, ',')) {
        std::size_t pos = 0;
        double x = 0;
        try {
            x = std::stod(item, &pos);
        } catch (...) {
            pos = 0;
        }
        if (pos == 0 || pos != item.size() || !std::isfinite(x))
            throw Error("--" + key + ": '" + item + "' is not a number");
        out.push_back(x);
    }
    return out;
}

} // namespace exitscope::app
