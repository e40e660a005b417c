#!/usr/bin/env python3
"""Scripted modules whose multiply-accumulates tests/nn/test_op_mac_counter.cpp
counted by hand. Each is written with torch.jit.script, so LibTorch runs it
through the TorchScript interpreter (boxed operator calls on its stack), which
is where a counter that reads operator arguments at fixed stack positions
goes wrong.

Usage: python3 op_mac_fixtures.py DIR   (writes DIR/<name>.pt and DIR/stamp)
"""
import os
import sys
from typing import List

import torch
import torch.nn.functional as F
from torch import nn


class ResidualInline(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int = 32, reduced: int = 8):
        super().__init__()
        self.fc1 = nn.Linear(channels, reduced)
        self.fc2 = nn.Linear(reduced, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = F.adaptive_avg_pool2d(x, 1).flatten(1)
        s = torch.sigmoid(self.fc2(torch.relu(self.fc1(s))))
        return x * s.view(s.size(0), s.size(1), 1, 1)


class Wrap(nn.Module):
    """One layer as the whole forward."""

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)


class DepthwiseResidual(nn.Module):
    def __init__(self):
        super().__init__()
        self.dw = nn.Conv2d(16, 16, 3, padding=1, groups=16, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.dw(x)


class LinearInExpression(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(20, 7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.fc(x)) * 2 + 1


class Mm(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(5, 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mm(x, self.w) + 1


class Addmm(nn.Module):
    def __init__(self):
        super().__init__()
        self.b = nn.Parameter(torch.randn(6))
        self.w = nn.Parameter(torch.randn(5, 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addmm(self.b, x, self.w) * 3


class Matmul(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(5, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.w - x.sum()


class Bmm(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(2, 5, 7))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.bmm(x.view(2, 2, 5), self.w) + x.mean()


class Pooling(nn.Module):
    """Max and average pooling, and a convolution on the pooled map."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.max_pool2d(x, 2)) + F.avg_pool2d(x, 2)


class PoolingOnly(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(x, 2) + F.avg_pool2d(x, 2) + F.adaptive_avg_pool2d(x, 4)


class BatchNormAfterAdd(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(6)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn(x)


# --- a MobileNet-style multi-exit model in ExitScope's convention (docs/torchscript.md)


class InvertedResidual(nn.Module):
    """MobileNetV2/V3's block: 1x1 expand, depthwise 3x3, optional
    squeeze-excitation (1x1 convs, as torchvision writes it), 1x1 project,
    and the identity added back when the shapes allow."""

    def __init__(self, inp: int, out: int, hidden: int, stride: int, se: bool):
        super().__init__()
        self.expand = nn.Sequential(nn.Conv2d(inp, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6())
        self.dw = nn.Sequential(nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False),
                                nn.BatchNorm2d(hidden), nn.ReLU6())
        self.se = se
        self.fc1 = nn.Conv2d(hidden, 8, 1)
        self.fc2 = nn.Conv2d(8, hidden, 1)
        self.project = nn.Sequential(nn.Conv2d(hidden, out, 1, bias=False), nn.BatchNorm2d(out))
        self.residual = stride == 1 and inp == out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dw(self.expand(x))
        if self.se:
            s = F.adaptive_avg_pool2d(y, 1)
            y = y * F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))
        y = self.project(y)
        if self.residual:
            return x + y
        return y


class Block(nn.Module):
    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, state: List[torch.Tensor]) -> List[torch.Tensor]:
        return [self.body(state[0])]


class PoolLinear(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.fc = nn.Linear(channels, 10)

    def forward(self, state: List[torch.Tensor]) -> torch.Tensor:
        return self.fc(F.adaptive_avg_pool2d(state[-1], 1).flatten(1))


class MobileNetExits(nn.Module):
    exit_blocks: List[int]
    input_shape: List[int]
    class_names: List[str]

    def __init__(self):
        super().__init__()
        stem = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.blocks = nn.ModuleList([Block(stem), Block(InvertedResidual(8, 8, 16, 1, False)),
                                     Block(InvertedResidual(8, 16, 32, 2, True))])
        self.exits = nn.ModuleList([PoolLinear(8), PoolLinear(16)])
        self.exit_blocks = [1, 2]
        self.input_shape = [3, 32, 32]
        self.class_names = [str(c) for c in range(10)]

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        state: List[torch.Tensor] = [x]
        logits: List[torch.Tensor] = []
        for block in self.blocks:
            state = block(state)
        logits.append(self.exits[1](state))
        return logits


def main() -> None:
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    models = {
        "residual_inline": ResidualInline(),
        "squeeze_excitation": SqueezeExcitation(),
        "depthwise_conv": DepthwiseResidual(),
        "grouped_conv": Wrap(nn.Conv2d(8, 12, 3, padding=1, groups=2)),
        "transposed_conv": Wrap(nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, bias=False)),
        "linear_in_expression": LinearInExpression(),
        "mm": Mm(),
        "addmm": Addmm(),
        "matmul": Matmul(),
        "bmm": Bmm(),
        "pooling": Pooling(),
        "pooling_only": PoolingOnly(),
        "batch_norm": BatchNormAfterAdd(),
        "mobilenet_exits": MobileNetExits(),
    }
    for name, module in models.items():
        torch.jit.script(module.eval()).save(os.path.join(out, name + ".pt"))
    with open(os.path.join(out, "stamp"), "w") as f:
        f.write("ok\n")


if __name__ == "__main__":
    main()
