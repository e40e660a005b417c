#!/usr/bin/env python3
"""Export a small multi-exit network with a residual add and a
squeeze-excitation block as a TorchScript file ExitScope can load.

The worked example of docs/torchscript.md. It follows the convention there
(blocks, exits, exit_blocks, input_shape, class_names, mean, std) and is
exported with torch.jit.script: torch.jit.trace would keep only the traced
forward and drop the attributes ExitScope reads.

Input [3, 32, 32] (CIFAR-10-sized), ten classes, untrained weights.

  block 0  stem: conv 3x3 stride 2, 3 -> 16, batch norm, relu      -> [16, 16, 16]
  block 1  residual: relu(x + bn(conv 3x3 16 -> 16 (x)))            -> [16, 16, 16]
  block 2  conv 3x3 stride 2, 16 -> 32, batch norm, relu, then a
           squeeze-excitation (pool, linear 32 -> 8, relu,
           linear 8 -> 32, sigmoid, multiply)                       -> [32, 8, 8]
  exit 0   after block 1: global average pool, linear 16 -> 10
  exit 1   after block 2: global average pool, linear 32 -> 10

Usage: python3 export_residual_se.py --out residual_se.pt
Written for PyTorch 1.13, the LibTorch version of Debian 12.
"""
import argparse
from typing import List

import torch
import torch.nn.functional as F
from torch import nn


class Stem(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(16)

    def forward(self, state: List[torch.Tensor]) -> List[torch.Tensor]:
        return [torch.relu(self.bn(self.conv(state[0])))]


class Residual(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(channels)

    def forward(self, state: List[torch.Tensor]) -> List[torch.Tensor]:
        x = state[0]
        return [torch.relu(x + self.bn(self.conv(x)))]


class DownSE(nn.Module):
    """A strided convolution followed by squeeze-excitation."""

    def __init__(self, inp: int, out: int, reduced: int):
        super().__init__()
        self.conv = nn.Conv2d(inp, out, 3, 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(out)
        self.fc1 = nn.Linear(out, reduced)
        self.fc2 = nn.Linear(reduced, out)

    def forward(self, state: List[torch.Tensor]) -> List[torch.Tensor]:
        y = torch.relu(self.bn(self.conv(state[0])))
        s = F.adaptive_avg_pool2d(y, 1).flatten(1)
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return [y * s.view(s.size(0), s.size(1), 1, 1)]


class PoolLinearExit(nn.Module):
    def __init__(self, channels: int, num_classes: int):
        super().__init__()
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, state: List[torch.Tensor]) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(state[-1], 1).flatten(1))


class ResidualSENet(nn.Module):
    exit_blocks: List[int]
    input_shape: List[int]
    class_names: List[str]
    mean: List[float]
    std: List[float]

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([Stem(), Residual(16), DownSE(16, 32, 8)])
        self.exits = nn.ModuleList([PoolLinearExit(16, 10), PoolLinearExit(32, 10)])
        self.exit_blocks = [1, 2]
        self.input_shape = [3, 32, 32]
        self.class_names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
        self.mean = [0.4914, 0.4822, 0.4465]
        self.std = [0.2470, 0.2435, 0.2616]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="TorchScript file to write")
    args = parser.parse_args()
    torch.manual_seed(0)
    net = ResidualSENet().eval()
    torch.jit.script(net).save(args.out)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
