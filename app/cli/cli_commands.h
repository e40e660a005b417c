#pragma once

#include <functional>
#include <string>
#include <vector>

namespace exitscope::app {

// Each subcommand of exitscope-cli takes its arguments after the command
// name and returns the process exit status. User errors are thrown as
// core::Error and printed by main.
int runTrain(const std::vector<std::string>& args);
int runProfile(const std::vector<std::string>& args);
int runExecute(const std::vector<std::string>& args);
int runExport(const std::vector<std::string>& args);
int runInfo(const std::vector<std::string>& args);
int runEval(const std::vector<std::string>& args);
int runTune(const std::vector<std::string>& args);
int runSweep(const std::vector<std::string>& args);
int runCalibrate(const std::vector<std::string>& args);
int runProfileSplits(const std::vector<std::string>& args);
int runSimulate(const std::vector<std::string>& args);
class CliArgs;
/// `simulate --drift` (app/cli/cli_drift.cpp).
int runDriftSimulation(const CliArgs& args);
int runSplitRun(const std::vector<std::string>& args);
int runInspect(const std::vector<std::string>& args);
/// `explain`: Grad-CAM overlays of the exits an image reached (app/cli/cli_explain.cpp).
int runExplain(const std::vector<std::string>& args);
/// The server half of split-run, started by split-run itself.
int runSplitServe(const std::vector<std::string>& args);
int runElastic(const std::vector<std::string>& args);
/// `merge --out FILE SHARD...` (core/profile/merge.h).
int runMerge(const std::vector<std::string>& args);

/// Writes `text` to standard output when `path` is "-", else to the file
/// (through a temporary file renamed into place).
void writeTextOutput(const std::string& path, const std::string& text);

/// Draws a one-line progress bar on stderr (a plain line per call when
/// stderr is not a terminal and `always` is set).
void printProgress(double fraction, const std::string& message, bool always = false);
/// Whether a progress bar on the terminal has left its line unfinished.
bool progressLineOpen();

/// Runs a command's body and turns what it throws into exitscope-cli's
/// one-line report: core::Error exits 1, core::Cancelled 130, anything else 3.
int runGuarded(const std::string& command, const std::function<int()>& body);

/// Whether `info`'s arguments name one trace file (read without LibTorch).
bool isTraceInfo(const std::vector<std::string>& args);
/// `info TRACE`.
int runTraceInfo(const std::vector<std::string>& args);

} // namespace exitscope::app
