// Classifies Fashion-MNIST test images with an ExitScope export through
// LibTorch alone, no ExitScope code (docs/deploy.md).
// usage: deploy_cpp MODEL-ee.pt [t10k-images-idx3-ubyte.gz]    build: link torch and zlib
#include <torch/script.h>
#include <zlib.h>

#include <iostream>
#include <vector>

int main(int argc, char** argv) {
    if (argc < 2) return std::cerr << "usage: deploy_cpp MODEL-ee.pt [IDX images]\n", 2;
    torch::jit::Module model = torch::jit::load(argv[1]);
    gzFile f = gzopen(argc > 2 ? argv[2] : "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", "rb");
    std::vector<uint8_t> raw(16 + 256 * 784);
    if (!f || gzread(f, raw.data(), static_cast<unsigned>(raw.size())) != static_cast<int>(raw.size()))
        return std::cerr << "cannot read the images\n", 1;
    gzclose(f);
    auto x = torch::from_blob(raw.data() + 16, {256, 1, 28, 28}, torch::kUInt8).to(torch::kFloat32) / 255.0;
    torch::NoGradGuard noGrad;
    auto out = model.forward({x}).toTuple();  // (prediction, exit index, score), each [256]
    auto prediction = out->elements()[0].toTensor(), exit = out->elements()[1].toTensor();
    auto names = model.attr("class_names").toList();
    for (int i = 0; i < 3; ++i)
        std::cout << "image " << i << ": " << names.get(prediction[i].item<int64_t>()).toStringRef() << ", left at exit "
                  << exit[i].item<int64_t>() << "\n";
    auto used = torch::bincount(exit);
    std::cout << "samples per exit:";
    for (int64_t k = 0; k < used.size(0); ++k) std::cout << " " << used[k].item<int64_t>();
    std::cout << "\n";
}
