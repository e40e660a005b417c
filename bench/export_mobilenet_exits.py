#!/usr/bin/env python3
"""Export a small MobileNet-style network with four exits as TorchScript, for
bench_vs_loop and python_loop.py (issue 15).

It follows ExitScope's multi-exit convention (docs/torchscript.md, the same as
docs/examples/export_multi_exit.py): `blocks`, `exits`, `exit_blocks`,
`input_shape`, `class_names`, `mean`, `std`. Input 3 x 32 x 32; blocks are
depthwise separable convolutions (depthwise 3x3, pointwise 1x1, batch norm,
ReLU), one of them followed by a squeeze-excitation block; exits are global
average pooling and a linear classifier after blocks 1, 2 and 3, and the
final classifier after block 4.

The weights are untrained (seeded, so the file is the same every time); each
exit classifier is centred and scaled on 1,000 Fashion-MNIST train images so
that the max softmax differs between images and a global threshold sends
images out at every exit.

Usage: /usr/bin/python3 bench/export_mobilenet_exits.py --out mobilenet_exits.pt
Written for PyTorch 1.13 (Debian 12's python3-torch).
"""
import argparse
import gzip
import os
import struct
from typing import List

import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(cin: int, cout: int, kernel: int, stride: int, groups: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class DepthwiseSeparable(nn.Module):
    """MobileNet v1's building block: depthwise 3x3, then pointwise 1x1."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.depthwise = conv_bn_relu(cin, cin, 3, stride, groups=cin)
        self.pointwise = conv_bn_relu(cin, cout, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class SqueezeExcitation(nn.Module):
    """Channel attention (Hu et al.): pool, reduce, expand, sigmoid, rescale."""

    def __init__(self, channels: int, reduction: int = 4):
        super().__init__()
        self.reduce = nn.Conv2d(channels, channels // reduction, 1)
        self.expand = nn.Conv2d(channels // reduction, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1)
        s = torch.sigmoid(self.expand(F.relu(self.reduce(s))))
        return x * s


class Stage(nn.Module):
    """One ExitScope block on a one-tensor state."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, state: List[torch.Tensor]) -> List[torch.Tensor]:
        return [self.body(state[0])]


class PoolLinearExit(nn.Module):
    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, state: List[torch.Tensor]) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(state[-1], 1).flatten(1))


class MobileNetExits(nn.Module):
    exit_blocks: List[int]
    input_shape: List[int]
    class_names: List[str]
    mean: List[float]
    std: List[float]

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.blocks = nn.ModuleList([
            Stage(nn.Sequential(conv_bn_relu(3, 16, 3, 1), DepthwiseSeparable(16, 32, 1))),  # 32x32
            Stage(DepthwiseSeparable(32, 64, 2)),  # 16x16
            Stage(nn.Sequential(DepthwiseSeparable(64, 64, 1), SqueezeExcitation(64))),  # 16x16
            Stage(nn.Sequential(DepthwiseSeparable(64, 128, 2), DepthwiseSeparable(128, 128, 1))),  # 8x8
            Stage(nn.Sequential(DepthwiseSeparable(128, 256, 2), DepthwiseSeparable(256, 256, 1))),  # 4x4
        ])
        self.exits = nn.ModuleList([PoolLinearExit(c, num_classes) for c in (64, 64, 128, 256)])
        self.exit_blocks = [1, 2, 3, 4]
        self.input_shape = [3, 32, 32]
        self.class_names = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker",
                            "Bag", "Ankle boot"]
        # Fashion-MNIST's grey mean and std, per channel (the bench replicates the grey image).
        self.mean = [0.2860, 0.2860, 0.2860]
        self.std = [0.3530, 0.3530, 0.3530]

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Logits of every exit (for Python users; ExitScope runs blocks and exits one by one)."""
        logits: List[torch.Tensor] = []
        state: List[torch.Tensor] = [x]
        i = 0
        for block in self.blocks:
            state = block(state)
            k = 0
            for head in self.exits:
                if self.exit_blocks[k] == i:
                    logits.append(head(state))
                k += 1
            i += 1
        return logits


def fashion_mnist_as_rgb32(path: str, count: int) -> torch.Tensor:
    """The first `count` images of a Fashion-MNIST IDX file as uint8 [n, 3, 32, 32]:
    zero padded by 2 pixels on each side, the grey channel replicated (as
    bench_vs_loop and python_loop.py prepare them)."""
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    n = min(count, struct.unpack(">I", data[4:8])[0])
    grey = torch.frombuffer(bytearray(data[16:16 + n * 784]), dtype=torch.uint8).view(n, 1, 28, 28)
    return F.pad(grey, (2, 2, 2, 2)).expand(n, 3, 32, 32).contiguous()


def make_net(calibration: torch.Tensor) -> MobileNetExits:
    torch.manual_seed(15)
    net = MobileNetExits()
    # Non-trivial batch-norm statistics, as training would leave them.
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.8, 1.6)
            m.bias.data.uniform_(-0.1, 0.3)
    net.eval()
    # Untrained heads on ReLU features answer one class for every image with
    # the same confidence. Centre and scale each head's logits on calibration
    # images (no training), deeper exits more confident, so that the max
    # softmax differs from image to image and a threshold spreads the exits.
    x = (calibration.float() / 255.0 - net.mean[0]) / net.std[0]
    with torch.no_grad():
        state: List[torch.Tensor] = [x]
        for b, block in enumerate(net.blocks):
            state = block(state)
            for k, head in enumerate(net.exits):
                if net.exit_blocks[k] != b:
                    continue
                features = F.adaptive_avg_pool2d(state[-1], 1).flatten(1)
                z = features @ head.fc.weight.t()
                mean, spread = z.mean(0), z.std(0).mean()
                sharpness = 4.0 + 1.0 * k
                head.fc.weight.mul_(sharpness / spread)
                head.fc.bias.copy_(-mean * sharpness / spread)
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="TorchScript file to write")
    parser.add_argument("--calibrate-on", default="/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz",
                        help="IDX images whose first 1,000 centre the exit heads (default: Fashion-MNIST train; "
                             "seeded random images when the file is missing)")
    args = parser.parse_args()
    if os.path.exists(args.calibrate_on):
        calibration = fashion_mnist_as_rgb32(args.calibrate_on, 1000)
    else:
        calibration = torch.randint(0, 256, (1000, 3, 32, 32), generator=torch.Generator().manual_seed(15),
                                    dtype=torch.uint8)
    torch.jit.script(make_net(calibration)).save(args.out)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
