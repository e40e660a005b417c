#!/usr/bin/env python3
"""Export a ResNet with early exits as a TorchScript file ExitScope can load.

ExitScope's convention (docs/torchscript.md): a scripted module with
  blocks       nn.ModuleList, blocks[i](state: List[Tensor]) -> List[Tensor]
  exits        nn.ModuleList, exits[k](state: List[Tensor]) -> Tensor [n, classes]
  exit_blocks  List[int], the block each exit reads (the last exit reads the last block)
  input_shape  List[int], [channels, height, width]
  class_names  List[str]
  mean, std    List[float] (optional), normalisation of pixels scaled to [0, 1]
  block_macs   List[int] (optional), block_relu List[bool] (optional)

Usage:
  python3 export_multi_exit.py --out resnet_exits.pt
        wraps torchvision's resnet18 (untrained, 3x32x32, 10 classes) when
        torchvision is installed, else a small torchvision-style ResNet
  python3 export_multi_exit.py --fixture DIR
        writes the test fixtures of ExitScope's test suite into DIR

Written for PyTorch 1.13, the LibTorch version of Debian 12. A newer
PyTorch writes TorchScript files that LibTorch 1.13 may refuse ("unknown
opcode" or "version not supported"): export with PyTorch 1.13 (for example
Debian 12's python3-torch), or build ExitScope against the matching LibTorch.
"""
import argparse
import os
import struct
from typing import List

import torch
import torch.nn.functional as F
from torch import nn


class BasicBlock(nn.Module):
    """torchvision.models.resnet.BasicBlock in miniature (same attribute names)."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = nn.Identity()
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class TinyResNet(nn.Module):
    """A small network with torchvision's ResNet attribute names (conv1, bn1,
    relu, maxpool, layer1..layer3, fc), for machines without torchvision."""

    def __init__(self, in_channels: int = 1, widths=(8, 16, 32), num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity()
        self.layer1 = nn.Sequential(BasicBlock(widths[0], widths[0]))
        self.layer2 = nn.Sequential(BasicBlock(widths[0], widths[1], 2))
        self.layer3 = nn.Sequential(BasicBlock(widths[1], widths[2], 2))
        self.fc = nn.Linear(widths[2], num_classes)


class Stage(nn.Module):
    """One ExitScope block: a piece of the backbone on a one-tensor state."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, state: List[torch.Tensor]) -> List[torch.Tensor]:
        return [self.body(state[0])]


class PoolLinearExit(nn.Module):
    """An exit head: global average pool and a linear classifier."""

    def __init__(self, channels: int, num_classes: int, extra_logits: int = 0):
        super().__init__()
        self.fc = nn.Linear(channels, num_classes + extra_logits)

    def forward(self, state: List[torch.Tensor]) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(state[-1], 1).flatten(1))


class FinalExit(nn.Module):
    """The ResNet's own classifier (its fc) as the last exit."""

    def __init__(self, fc: nn.Linear):
        super().__init__()
        self.fc = fc

    def forward(self, state: List[torch.Tensor]) -> torch.Tensor:
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(state[-1], 1), 1))


class MultiExitResNet(nn.Module):
    exit_blocks: List[int]
    input_shape: List[int]
    class_names: List[str]
    mean: List[float]
    std: List[float]

    def __init__(self, resnet: nn.Module, widths: List[int], input_shape: List[int], class_names: List[str],
                 mean: List[float], std: List[float], exits_after: List[int], extra_logits: int = 0):
        super().__init__()
        stem = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool)
        layers = [resnet.layer1, resnet.layer2, resnet.layer3] + ([resnet.layer4] if hasattr(resnet, "layer4") else [])
        self.blocks = nn.ModuleList([Stage(stem)] + [Stage(layer) for layer in layers])
        heads: List[nn.Module] = [PoolLinearExit(widths[b], len(class_names), extra_logits) for b in exits_after]
        heads.append(FinalExit(resnet.fc))
        self.exits = nn.ModuleList(heads)
        self.exit_blocks = list(exits_after) + [len(self.blocks) - 1]
        self.input_shape = input_shape
        self.class_names = class_names
        self.mean = mean
        self.std = std

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


class ClassifyOnlyExit(nn.Module):
    """A broken exit for the tests: it has classify() but no forward()."""

    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(channels, num_classes)

    @torch.jit.export
    def classify(self, state: List[torch.Tensor]) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(state[-1], 1).flatten(1))


def fashion_resnet(extra_logits: int = 0) -> MultiExitResNet:
    torch.manual_seed(0)
    widths = [8, 8, 16, 32]  # channels leaving the stem and each layer
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
    net = MultiExitResNet(TinyResNet(), widths, [1, 28, 28], classes, [0.2860], [0.3530], [1, 2], extra_logits)
    # Give batch norm non-trivial statistics, as training would.
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    return net.eval()


def write_fixtures(directory: str) -> None:
    """The model ExitScope's tests import, the images they profile and the
    probabilities PyTorch computes for them, plus broken variants."""
    os.makedirs(directory, exist_ok=True)
    net = fashion_resnet()
    torch.jit.script(net).save(os.path.join(directory, "resnet_exits.pt"))

    gen = torch.Generator().manual_seed(1)
    n = 6
    pixels = torch.randint(0, 256, (n, 1, 28, 28), generator=gen, dtype=torch.uint8)
    x = (pixels.float() / 255.0 - 0.2860) / 0.3530
    with torch.no_grad():
        probs = torch.stack([F.softmax(l, dim=1) for l in net(x)], dim=1)  # [n, K, C]
    with open(os.path.join(directory, "images.u8"), "wb") as f:
        f.write(pixels.numpy().tobytes())
    with open(os.path.join(directory, "probs.f32"), "wb") as f:
        f.write(struct.pack("<%df" % probs.numel(), *probs.flatten().tolist()))

    # Broken variants, each with one documented error.
    torch.jit.script(fashion_resnet(extra_logits=1)).save(os.path.join(directory, "wrong_shape.pt"))
    torch.jit.script(_WithoutExitBlocks(fashion_resnet())).save(os.path.join(directory, "missing_attribute.pt"))
    # input_shape says 3 channels, the stem takes 1: the load-time dry run fails inside the script.
    three = fashion_resnet()
    three.input_shape, three.mean, three.std = [3, 28, 28], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]
    torch.jit.script(three).save(os.path.join(directory, "wrong_input_shape.pt"))
    net = fashion_resnet()
    net.exits[0] = ClassifyOnlyExit(8, 10)
    torch.jit.script(_ExitsNotCalled(net)).save(os.path.join(directory, "missing_forward.pt"))
    own = WithOwnMacs(fashion_resnet())
    torch.jit.script(own).save(os.path.join(directory, "own_macs.pt"))
    with open(os.path.join(directory, "stamp"), "w") as f:
        f.write("ok\n")


class WithOwnMacs(nn.Module):
    """The convention plus the optional block_macs and block_relu attributes."""
    exit_blocks: List[int]
    input_shape: List[int]
    class_names: List[str]
    block_macs: List[int]
    block_relu: List[bool]

    def __init__(self, net: MultiExitResNet):
        super().__init__()
        self.blocks = net.blocks
        self.exits = net.exits
        self.exit_blocks = net.exit_blocks
        self.input_shape = net.input_shape
        self.class_names = net.class_names
        self.block_macs = [1000, 2000, 3000, 4000]
        self.block_relu = [True, False, True, True]

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        state: List[torch.Tensor] = [x]
        for block in self.blocks:
            state = block(state)
        return state


class _WithoutExitBlocks(nn.Module):
    """The convention minus exit_blocks."""
    input_shape: List[int]
    class_names: List[str]

    def __init__(self, net: MultiExitResNet):
        super().__init__()
        self.blocks = net.blocks
        self.exits = net.exits
        self.input_shape = net.input_shape
        self.class_names = net.class_names

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        state: List[torch.Tensor] = [x]
        for block in self.blocks:
            state = block(state)
        return state


class _ExitsNotCalled(_WithoutExitBlocks):
    """The convention with an exit that has no forward method."""
    exit_blocks: List[int]

    def __init__(self, net: MultiExitResNet):
        super().__init__(net)
        self.exit_blocks = net.exit_blocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", help="TorchScript file to write")
    parser.add_argument("--fixture", help="write the test fixtures into this directory")
    args = parser.parse_args()
    if args.fixture:
        write_fixtures(args.fixture)
        return
    if not args.out:
        parser.error("give --out FILE or --fixture DIR")
    try:
        import torchvision  # noqa: F401

        resnet = torchvision.models.resnet18(num_classes=10)
        widths = [64, 64, 128, 256, 512]
        net = MultiExitResNet(resnet, widths, [3, 32, 32], [str(c) for c in range(10)], [0.4914, 0.4822, 0.4465],
                              [0.2470, 0.2435, 0.2616], [1, 2, 3])
    except ImportError:
        net = fashion_resnet()
    torch.jit.script(net.eval()).save(args.out)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
