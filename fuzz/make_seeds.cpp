// Writes the fuzz targets' seed corpora: small valid files made by
// ExitScope's own writers (trace, tuned config, codec payload, platform
// JSON) or, for formats ExitScope only reads (IDX, CIFAR-10, images), by
// the format's documented layout and OpenCV's encoders. Deterministic, so
// running it again reproduces fuzz/corpus/ byte for byte:
//     build/fuzz/fuzz_make_seeds fuzz/corpus
#include "core/common/atomic_file.h"
#include "core/config/tuned_config.h"
#include "core/elastic/predictor.h"
#include "core/trace/trace.h"
#include "simulator/codec/codec.h"
#include "simulator/loopback/shaped_link.h"
#include "simulator/platform/platform.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace core = exitscope::core;
namespace sim = exitscope::simulator;
using Bytes = std::vector<uint8_t>;

void writeFile(const fs::path& path, const Bytes& bytes) {
    fs::create_directories(path.parent_path());
    core::writeFileAtomically(path.string(), [&](std::ostream& out) {
        out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    });
    std::printf("%s: %zu bytes\n", path.c_str(), bytes.size());
}

void writeText(const fs::path& path, const std::string& text) { writeFile(path, Bytes(text.begin(), text.end())); }

Bytes readFile(const fs::path& path) { return core::readFileBytes(path.string(), 1 << 20); }

// N samples, K exits, C classes, B blocks, gate width D; probabilities are
// simple fractions that sum to 1 per (sample, exit).
core::Trace smallTrace(int64_t N, int64_t K, int64_t C, int64_t B, int64_t D) {
    core::Trace t;
    t.numSamples = N; t.numExits = K; t.numClasses = C; t.numBlocks = B; t.gateDim = D;
    for (int64_t n = 0; n < N; ++n) {
        for (int64_t k = 0; k < K; ++k) {
            for (int64_t c = 0; c < C; ++c) t.probs.push_back(c == (n + k) % C ? 0.5f + 0.5f / C : 0.5f / C);
        }
        t.labels.push_back(n % C);
        t.sampleIndex.push_back(n);
    }
    for (int64_t k = 0; k < K; ++k) {
        t.exitBlock.push_back(k * (B - 1) / (K > 1 ? K - 1 : 1));
        t.exitMacs.push_back(1000 * (k + 1)); t.exitParams.push_back(100 * (k + 1));
        t.exitMs.push_back(0.5f * static_cast<float>(k + 1));
        t.headMacs.push_back(50); t.headParams.push_back(10); t.headMs.push_back(0.05f);
        if (D > 0) t.gateDims.push_back(D);
    }
    for (int64_t b = 0; b < B; ++b) {
        t.blockMacs.push_back(900); t.blockParams.push_back(90); t.blockMs.push_back(0.4f);
        t.blockOutBytes.push_back(256); t.blockRelu.push_back(static_cast<uint8_t>(b % 2));
    }
    for (int64_t i = 0; i < N * K * D; ++i) t.gateInputs.push_back(0.25f * static_cast<float>(i % 7) - 0.5f);
    t.metadata = {{"model", "msdnet"}, {"weights_hash", "0123abcd"}, {"dataset", "fashion-mnist"}, {"split", "val"}};
    return t;
}

Bytes gzipped(const Bytes& raw) {
    z_stream z{};
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("zlib");
    Bytes out(deflateBound(&z, raw.size()) + 32);
    z.next_in = const_cast<Bytes::value_type*>(raw.data());
    z.avail_in = static_cast<uInt>(raw.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uInt>(out.size());
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("zlib deflate");
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

Bytes idxFile(uint8_t dims, const std::vector<uint32_t>& shape, const Bytes& data) {
    Bytes b = {0, 0, 0x08, dims};
    for (uint32_t d : shape) {
        for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<uint8_t>(d >> s));
    }
    b.insert(b.end(), data.begin(), data.end());
    return b;
}

// The fuzz_idx input form: u16 label-file length, label file, image file.
Bytes idxPair(const Bytes& labels, const Bytes& images) {
    Bytes b = {static_cast<uint8_t>(labels.size() & 0xff), static_cast<uint8_t>(labels.size() >> 8)};
    b.insert(b.end(), labels.begin(), labels.end());
    b.insert(b.end(), images.begin(), images.end());
    return b;
}

Bytes encoded(const cv::Mat& img, const std::string& ext, const std::vector<int>& params = {}) {
    std::vector<uchar> buf;
    if (!cv::imencode(ext, img, buf, params)) throw std::runtime_error("OpenCV cannot encode " + ext);
    return Bytes(buf.begin(), buf.end());
}

} // namespace

int main(int argc, char** argv) {
    const fs::path out = argc > 1 ? argv[1] : "fuzz/corpus";
    try {
        const fs::path tmp = out / "tmp-make-seeds";
        fs::create_directories(tmp);

        // Traces, written by writeTrace: without and with LEENet gate inputs.
        const core::Trace plain = smallTrace(3, 2, 3, 2, 0);
        core::writeTrace(plain, (tmp / "t.safetensors").string());
        writeFile(out / "trace" / "small.safetensors", readFile(tmp / "t.safetensors"));
        core::writeTrace(smallTrace(2, 3, 2, 3, 2), (tmp / "g.safetensors").string());
        writeFile(out / "trace" / "gates.safetensors", readFile(tmp / "g.safetensors"));

        // Tuned configs, written by saveConfig.
        auto config = [&](const core::PolicyConfig& p, const std::string& name) {
            core::saveConfig(core::makeTunedConfig(p, plain), (tmp / "c.json").string());
            writeFile(out / "config" / name, readFile(tmp / "c.json"));
        };
        core::PolicyConfig p;
        p.confidence = {core::ConfidenceCriterion::MaxSoftmax, {0.75f}, {}};
        config(p, "confidence.json");
        p.confidence = {core::ConfidenceCriterion::Entropy, {0.5f, 0.25f}, {1.5f, 1.0f}};
        config(p, "entropy-temperatures.json");
        p = {};
        p.kind = core::PolicyKind::Static;
        p.staticExit = 1;
        config(p, "static.json");
        p.kind = core::PolicyKind::Anytime;
        p.anytimeBudget = 1500;
        config(p, "anytime.json");
        core::TunedConfig elastic = core::makeTunedConfig(p, plain);
        core::ElasticSettings e;
        e.deadlineSpec = "uniform:0.2,1.0";
        e.fullMs = 1.0;
        e.distributionMs = core::ForcedExitDistribution::uniform(0.2, 1.0);
        e.predictor = core::ConfidencePredictor::train({0.2f, 0.7f, 0.4f, 0.9f, 0.6f, 0.8f}, 2, {{2}, 1, 2, 1e-3, 0});
        elastic.elastic = e;
        core::saveConfig(elastic, (tmp / "e.json").string());
        writeFile(out / "config" / "elastic.json", readFile(tmp / "e.json"));

        // Codec payloads, written by encodeState in each mode.
        const std::vector<sim::TensorData> state = {
            {{1, 2, 2, 2}, {0.f, 1.f, 2.f, 0.f, -1.f, 0.5f, 0.f, 3.f}}, {{3}, {7.f, 7.f, 7.f}}, {{}, {0.25f}}};
        writeFile(out / "codec" / "lossless.bin", sim::encodeState(state, sim::CodecMode::Lossless));
        writeFile(out / "codec" / "per-tensor.bin", sim::encodeState(state, sim::CodecMode::PerTensor8));
        writeFile(out / "codec" / "per-channel.bin", sim::encodeState(state, sim::CodecMode::PerChannel8));

        // IDX: 3 images of 2 x 3 pixels and their labels, raw and gzipped.
        const Bytes labels = idxFile(1, {3}, {2, 0, 1});
        const Bytes images = idxFile(3, {3, 2, 3}, {0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160, 170});
        writeFile(out / "idx" / "raw.idx", idxPair(labels, images));
        writeFile(out / "idx" / "gzip.idx", idxPair(gzipped(labels), gzipped(images)));

        // CIFAR-10: two records (label byte + 3 x 32 x 32), and a class-name file.
        Bytes cifar;
        for (uint8_t label : {3, 9}) {
            cifar.push_back(label);
            for (int i = 0; i < 3072; ++i) cifar.push_back(static_cast<uint8_t>((i * 7 + label) % 256));
        }
        writeFile(out / "cifar" / "two-records.bin", cifar);
        writeText(out / "cifar" / "batches.meta.txt",
                  "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n");

        // Images in the formats and depths the image-folder reader converts.
        cv::Mat rgb(6, 5, CV_8UC3), gray16(4, 4, CV_16UC1), rgba(3, 3, CV_8UC4), grayA(4, 3, CV_8UC2);
        cv::randu(rgb, 0, 256); cv::randu(gray16, 0, 65535); cv::randu(rgba, 0, 256); cv::randu(grayA, 0, 256);
        writeFile(out / "image" / "rgb.png", encoded(rgb, ".png"));
        writeFile(out / "image" / "gray16.png", encoded(gray16, ".png"));
        writeFile(out / "image" / "rgba.png", encoded(rgba, ".png"));
        writeFile(out / "image" / "rgb.jpg", encoded(rgb, ".jpg", {cv::IMWRITE_JPEG_QUALITY, 50}));
        writeFile(out / "image" / "rgb.bmp", encoded(rgb, ".bmp"));
        writeFile(out / "image" / "gray.pgm", encoded(gray16, ".pgm"));
        writeFile(out / "image" / "rgb.ppm", encoded(rgb, ".ppm"));
        writeFile(out / "image" / "gray16.tif", encoded(gray16, ".tif"));
        writeFile(out / "image" / "rgb.webp", encoded(rgb, ".webp"));

        // Platforms (platformToJson) and a bandwidth schedule CSV.
        writeText(out / "platform" / "relative.json",
                  sim::platformToJson(sim::Platform::withRelativeSpeed("phone", 0.25, 0.1)).dump(2));
        writeText(out / "platform" / "gflops.json", sim::platformToJson(sim::Platform::withGflops("server", 900)).dump(2));
        writeText(out / "platform" / "bandwidth.csv", "time_s,mbps\n# a drop and a recovery\n0,10\n2.5,0.5\n\n7,25\n");

        // Forced-exit times and distribution specs (exitscope-cli elastic --deadline).
        writeText(out / "elastic" / "times.csv", "time_ms,note\n# measured deadlines\n0.5,a\n1.25\n\n3,b\n0\n");
        writeText(out / "elastic" / "uniform.txt", "uniform:0.2,1.0");
        writeText(out / "elastic" / "normal.txt", "normal:0.5,0.15");
        writeText(out / "elastic" / "exponential.txt", "exponential:mean=0.4");
        writeText(out / "elastic" / "fixed.txt", "fixed:1e-3");

        // Split-run frame headers (encodeFrameHeader).
        sim::FrameHeader request;
        request.type = sim::FrameHeader::Request;
        request.requestId = 7;
        request.blocksOnDevice = 2;
        request.value = 3;
        request.bodyLength = 4096;
        writeFile(out / "frame" / "request.bin", sim::encodeFrameHeader(request));
        sim::FrameHeader reply = request;
        reply.type = sim::FrameHeader::Reply;
        reply.exit = 4;
        reply.bodyLength = 0;
        writeFile(out / "frame" / "reply.bin", sim::encodeFrameHeader(reply));
        fs::remove_all(tmp);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fuzz_make_seeds: %s\n", e.what());
        return 1;
    }
    return 0;
}
