#include "core/eval/sweep.h"

#include "core/common/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

namespace exitscope::core {

namespace {

void checkPoints(const std::vector<SweepPoint>& points, const char* what) {
    for (std::size_t i = 0; i < points.size(); ++i) {
        if (std::isnan(points[i].accuracy) || std::isnan(points[i].meanCost)) {
            std::ostringstream os;
            os << what << ": point " << i << " (parameter " << points[i].parameter << ") has accuracy "
               << points[i].accuracy << " and cost " << points[i].meanCost << "; NaN cannot be ranked";
            throw Error(os.str());
        }
    }
}

void checkNotEmpty(const std::vector<SweepPoint>& points, const char* what) {
    if (points.empty()) {
        std::ostringstream os;
        os << what << ": the sweep has no points";
        throw Error(os.str());
    }
}

} // namespace

std::vector<SweepPoint> sweepParameter(const std::vector<double>& grid,
                                       const std::function<SweepPoint(double)>& evaluate) {
    std::vector<SweepPoint> points;
    points.reserve(grid.size());
    for (double v : grid) points.push_back(evaluate(v));
    return points;
}

std::vector<SweepPoint> paretoFront(const std::vector<SweepPoint>& points) {
    checkPoints(points, "Pareto front");
    std::vector<std::size_t> order(points.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    // Cheapest first and, at equal cost, most accurate first: then a point is
    // on the front exactly when it beats the best accuracy seen so far.
    std::stable_sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) {
        if (points[i].meanCost != points[j].meanCost) return points[i].meanCost < points[j].meanCost;
        return points[i].accuracy > points[j].accuracy;
    });
    std::vector<SweepPoint> front;
    for (std::size_t i : order)
        if (front.empty() || points[i].accuracy > front.back().accuracy) front.push_back(points[i]);
    return front;
}

SweepPoint bestUnderBudget(const std::vector<SweepPoint>& points, double averageBudget) {
    checkNotEmpty(points, "best under budget");
    checkPoints(points, "best under budget");
    if (std::isnan(averageBudget)) throw Error("best under budget: the average budget is NaN");
    const SweepPoint* best = nullptr;
    double cheapest = points.front().meanCost;
    for (const auto& p : points) {
        cheapest = std::min(cheapest, p.meanCost);
        if (p.meanCost > averageBudget) continue;
        if (!best || p.accuracy > best->accuracy || (p.accuracy == best->accuracy && p.meanCost < best->meanCost))
            best = &p;
    }
    if (!best) {
        std::ostringstream os;
        os << "average budget " << averageBudget << " is below the cheapest operating point (mean cost " << cheapest
           << ")";
        throw Error(os.str());
    }
    return *best;
}

SweepPoint cheapestAtAccuracy(const std::vector<SweepPoint>& points, double targetAccuracy) {
    checkNotEmpty(points, "cheapest at accuracy");
    checkPoints(points, "cheapest at accuracy");
    if (std::isnan(targetAccuracy)) throw Error("cheapest at accuracy: the target accuracy is NaN");
    const SweepPoint* best = nullptr;
    double mostAccurate = points.front().accuracy;
    for (const auto& p : points) {
        mostAccurate = std::max(mostAccurate, p.accuracy);
        if (p.accuracy < targetAccuracy) continue;
        if (!best || p.meanCost < best->meanCost || (p.meanCost == best->meanCost && p.accuracy > best->accuracy))
            best = &p;
    }
    if (!best) {
        std::ostringstream os;
        os << "target accuracy " << targetAccuracy << " is not reached by any operating point (best " << mostAccurate
           << ")";
        throw Error(os.str());
    }
    return *best;
}

} // namespace exitscope::core
