#include "core/model/zoo.h"

#include "core/common/error.h"
#include "core/model/msdnet.h"
#include "core/model/resnet_spinn.h"
#include "core/model/vgg_fine.h"

#include <cmath>

namespace exitscope::core {

std::vector<std::string> zooModelNames() { return {"msdnet", "resnet-spinn", "vgg-fine"}; }

std::shared_ptr<MultiExitNet> buildModel(const ModelSpec& spec) {
    if (spec.classNames.size() < 2) throw Error(spec.name + ": a model needs at least 2 classes");
    try {
        if (spec.name == "msdnet") return buildMsdNet(spec);
        if (spec.name == "resnet-spinn") return buildResNetSpinn(spec);
        if (spec.name == "vgg-fine") return buildVggFine(spec);
    } catch (const nlohmann::json::exception& e) {
        throw Error(spec.name + ": bad model option: " + e.what());
    } catch (const c10::Error& e) {
        throw Error(spec.name + ": cannot build the model for input " + std::to_string(spec.channels) + "x" +
                    std::to_string(spec.height) + "x" + std::to_string(spec.width) + ": " + e.what_without_backtrace());
    }
    std::string known;
    for (const auto& n : zooModelNames()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown model '" + spec.name + "' (known: " + known + ")");
}

std::vector<int64_t> placeExitsByFraction(const std::vector<int64_t>& blockMacs,
                                          const std::vector<double>& targets) {
    double total = 0;
    for (auto m : blockMacs) total += static_cast<double>(m);
    std::vector<double> cumulative;
    double run = 0;
    for (auto m : blockMacs) {
        run += static_cast<double>(m);
        cumulative.push_back(total > 0 ? run / total : 0.0);
    }
    std::vector<int64_t> positions;
    for (double t : targets) {
        if (!(t > 0.0 && t < 1.0)) throw Error("exit fraction " + std::to_string(t) + " is outside (0, 1)");
        const int64_t first = positions.empty() ? 0 : positions.back() + 1;
        int64_t best = -1;
        for (int64_t b = first; b < static_cast<int64_t>(cumulative.size()); ++b)
            if (best < 0 || std::abs(cumulative[static_cast<std::size_t>(b)] - t) <
                                std::abs(cumulative[static_cast<std::size_t>(best)] - t))
                best = b;
        if (best < 0) throw Error("not enough blocks to place an exit at fraction " + std::to_string(t));
        positions.push_back(best);
    }
    return positions;
}

} // namespace exitscope::core
