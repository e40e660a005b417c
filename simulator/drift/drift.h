#pragma once

#include "core/policy/confidence.h"
#include "core/trace/trace.h"

#include <cstdint>
#include <functional>
#include <utility>
#include <map>
#include <string>
#include <vector>

namespace exitscope::simulator {

/// Severity of the data over a request stream: step k holds from request
/// `fromRequest` until the next step (issue 18's drifting stream).
struct DriftStep {
    int64_t fromRequest = 0;
    int severity = 0;  ///< 0 = clean, 1..5 = the corruption's severities
};

/// Parses "REQ:SEV,REQ:SEV,..." (the first step at request 0, requests
/// increasing, severities 0..5), e.g. "0:0,2000:1,4000:3". Error naming the
/// bad step otherwise.
std::vector<DriftStep> parseDriftSchedule(const std::string& text);

/// The online re-fitting of thresholds (the Apparate idea): a share of the
/// requests runs the whole network, the agreement of the early exits with
/// the final exit on the last `window` of them is the accuracy signal, and
/// the global threshold is re-fitted every `refitEvery` of them to keep the
/// drop within `maxDrop`.
struct AdaptOptions {
    double share = 0.05;     ///< requests run to the end, (0, 1]
    double maxDrop = 0.01;   ///< accuracy-drop budget against the final exit, [0, 1]
    int64_t window = 200;    ///< full-network requests the signal is taken over
    int64_t refitEvery = 20; ///< full-network requests between re-fits
};

/// Parses "share=0.05,max-drop=0.01[,window=200][,refit=20]".
AdaptOptions parseAdaptOptions(const std::string& text);

/// The global confidence threshold fitted to a drop budget: the lowest value
/// of `grid` at which the policy's accuracy on `scores` (their `correct`
/// flags) is at most `maxDrop` below the final exit's on the same samples
/// (core::sweepGlobalThresholds, the one decision code). With `correct` set
/// to agreement with the final exit's prediction this is the online signal,
/// which needs no labels. 1 when no lower value holds the budget.
float fitThreshold(const core::ConfidenceScores& scores, const std::vector<float>& grid, double maxDrop);

/// The rows `rows` of several score tables (`tables[rows[i].first]`, sample
/// `rows[i].second`) as one table; with `agreement` its `correct` flags say
/// whether each exit agrees with the final exit instead of with the label.
core::ConfidenceScores gatherScores(const std::vector<const core::ConfidenceScores*>& tables,
                                    const std::vector<std::pair<int, int64_t>>& rows, bool agreement);

/// One request's record, for the CSV log.
struct DriftRequest {
    int64_t index = 0;
    int severity = 0;
    int64_t sample = 0;       ///< row of the severity's trace
    std::string policy;       ///< "fixed", "adaptive" or "oracle"
    float threshold = 0;      ///< in force for this request
    int64_t exitTaken = 0;
    bool correct = false;
    bool finalCorrect = false;  ///< what the final exit answers on the same image
    bool ranToEnd = false;      ///< sampled by the adaptive policy
    double macs = 0;
};

/// What one policy did over a span of the stream.
struct DriftSpan {
    int64_t firstRequest = 0, requests = 0;
    int severity = 0;             ///< the severity at the span's start
    double accuracy = 0;          ///< against the true labels
    double finalAccuracy = 0;     ///< the final exit's on the same requests
    double drop = 0;              ///< finalAccuracy - accuracy
    double meanExit = 0;
    double macsFraction = 0;      ///< mean MACs / the final exit's MACs
    double ranToEndShare = 0;     ///< requests that ran the whole network
    float threshold = 0;          ///< in force at the span's end
};

struct DriftPolicyReport {
    std::string name;
    std::vector<DriftSpan> spans;     ///< every `spanRequests` requests
    std::vector<DriftSpan> segments;  ///< one per schedule step (one severity each)
    DriftSpan total;
    int64_t spansOverBudget = 0;  ///< spans whose drop exceeds the budget
};

struct DriftReport {
    std::vector<DriftPolicyReport> policies;  ///< fixed, adaptive, oracle
    std::vector<DriftRequest> requests;       ///< every policy's requests, when asked for
    AdaptOptions adapt;
    float fittedOnClean = 0;                  ///< the fixed policy's threshold
};

struct DriftOptions {
    int64_t numRequests = 10000;
    int64_t spanRequests = 500;  ///< requests per reported span
    uint64_t seed = 0;
    bool keepRequests = false;
};

/// Runs the stream through the three policies: thresholds fitted once on the
/// clean validation trace ("fixed"), re-fitted online from the final exit's
/// answers on a share of the requests ("adaptive"), and fitted on the true
/// labels of the very data served ("oracle": at each severity the threshold
/// fitted on that severity's whole labelled trace, which the requests are
/// drawn from; no request run to the end). `bySeverity[s]` is the test
/// trace at severity s (0: clean); every one the schedule names must be
/// there, all of the same weights and exits. Exits come from the one
/// decision code (core::evaluate on max-softmax scores).
DriftReport simulateDrift(const core::Trace& cleanVal, const std::map<int, const core::Trace*>& bySeverity,
                          const std::vector<DriftStep>& schedule, const AdaptOptions& adapt, const DriftOptions& options);

} // namespace exitscope::simulator
