#pragma once

#include <functional>
#include <vector>

namespace exitscope::core {

/// One point of a policy's accuracy-cost curve: the parameter value that made
/// it (threshold, alpha, budget...), the accuracy and the mean cost per sample.
struct SweepPoint {
    double parameter = 0.0;
    double accuracy = 0.0;
    double meanCost = 0.0;
};

/// Evaluates `evaluate` at every value of a parameter grid, in grid order.
std::vector<SweepPoint> sweepParameter(const std::vector<double>& grid,
                                       const std::function<SweepPoint(double)>& evaluate);

/// The Pareto front of a curve: the points no other point dominates (another
/// point dominates when its cost is <= and its accuracy >=, one of them
/// strictly). Returned by rising cost (and so rising accuracy); of identical
/// (cost, accuracy) points only the first in input order is kept. Error when
/// a point's accuracy or cost is NaN.
std::vector<SweepPoint> paretoFront(const std::vector<SweepPoint>& points);

/// The operating point with the highest accuracy whose mean cost is <=
/// `averageBudget`; ties go to the lower cost, then to the earlier point.
/// Error naming the budget and the cheapest cost when no point fits, or when
/// there are no points or the budget is NaN.
SweepPoint bestUnderBudget(const std::vector<SweepPoint>& points, double averageBudget);

/// The operating point with the lowest mean cost whose accuracy is >=
/// `targetAccuracy`; ties go to the higher accuracy, then to the earlier
/// point. Error naming the target and the best accuracy reached when no
/// point reaches it, or when there are no points or the target is NaN.
SweepPoint cheapestAtAccuracy(const std::vector<SweepPoint>& points, double targetAccuracy);

} // namespace exitscope::core
