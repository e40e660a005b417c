#!/usr/bin/env python3
"""Times the early-exit loop a user would write in Python, for bench_vs_loop.

Loads a TorchScript file that follows ExitScope's multi-exit convention
(docs/torchscript.md) with Debian's python3-torch, and runs the first
--images Fashion-MNIST test images through it block by block under
torch.inference_mode(): after each exit, the samples whose max softmax is
>= --threshold leave, and the others are kept with index_select (batch
compaction). The images are prepared as bench_vs_loop prepares them
(zero padded to the model's size, the grey channel replicated, scaled to
[0, 1], normalised with the model's mean and std).

Prints one JSON line: the rate of the first pass (a fresh process, as a
script run once sees it), the rate of the passes after it (steady state,
after TorchScript's profiling executor has optimised the graphs), minor
page faults per 10,000 images in the steady passes, and the exit histogram.

usage: /usr/bin/python3 bench/python_loop.py --model FILE [--images N] [--batch N]
       [--threshold T] [--threads N] [--min-time S] [--serve]

With --serve (as bench_vs_loop runs it, to time it in the same rounds as the
executor): prints the first pass's line, then answers each "pass" line on
stdin with one pass's seconds and minor page faults.
"""
import argparse
import gzip
import json
import resource
import struct
import sys
import time

import torch
import torch.nn.functional as F

DEFAULT_IMAGES = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"


def read_idx_images(path: str, count: int) -> torch.Tensor:
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        data = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != 2051:
        sys.exit("python_loop: %s is not an IDX image file" % path)
    n = min(n, count)
    return torch.frombuffer(bytearray(data[16:16 + n * rows * cols]), dtype=torch.uint8).view(n, 1, rows, cols)


def prepare(grey: torch.Tensor, shape, mean, std) -> torch.Tensor:
    """uint8 [n, 1, h, w] -> normalised float [n, C, H, W]."""
    c, h, w = shape
    dh, dw = h - grey.size(2), w - grey.size(3)
    x = F.pad(grey, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2)).expand(-1, c, -1, -1).float() / 255.0
    if mean:
        x = (x - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
    return x.contiguous()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", default=DEFAULT_IMAGES)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=250)
    ap.add_argument("--threshold", type=float, default=0.9)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--min-time", type=float, default=2.0)
    ap.add_argument("--serve", action="store_true", help="after the first pass, run one pass per 'pass' line on stdin")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    m = torch.jit.load(args.model)
    m.eval()
    blocks = list(m.blocks.children())
    exits = list(m.exits.children())
    exit_blocks = list(m.exit_blocks)
    mean = list(m.mean) if hasattr(m, "mean") else []
    std = list(m.std) if hasattr(m, "std") else []
    x = prepare(read_idx_images(args.data, args.images), list(m.input_shape), mean, std)
    batches = list(torch.split(x, args.batch))
    K = len(exits)
    threshold = args.threshold

    def run(batch: torch.Tensor):
        n = batch.size(0)
        active = torch.arange(n)
        exit_taken = torch.empty(n, dtype=torch.long)
        prediction = torch.empty(n, dtype=torch.long)
        state = [batch]
        k = 0
        for b, block in enumerate(blocks):
            state = block(state)
            while k < K and exit_blocks[k] == b:
                conf, best = torch.softmax(exits[k](state), 1).max(1)
                leave = conf >= threshold if k < K - 1 else torch.ones_like(conf, dtype=torch.bool)
                gone = leave.nonzero().squeeze(1)
                exit_taken[active[gone]] = k
                prediction[active[gone]] = best[gone]
                k += 1
                if gone.numel() == conf.numel():
                    return exit_taken, prediction
                if gone.numel() > 0:
                    keep = (~leave).nonzero().squeeze(1)
                    active = active.index_select(0, keep)
                    state = [t.index_select(0, keep) for t in state]
        return exit_taken, prediction

    def one_pass():
        t0 = time.perf_counter()
        histogram = [0] * K
        for b in batches:
            taken, _ = run(b)
            for k in taken.tolist():
                histogram[k] += 1
        return time.perf_counter() - t0, histogram

    def faults():
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt

    with torch.inference_mode():
        seconds, histogram = one_pass()
        first = {"first_pass_images_per_s": x.size(0) / seconds, "histogram": histogram,
                 "threads": torch.get_num_threads(), "torch": torch.__version__}
        if args.serve:
            # bench_vs_loop times this process in its own rounds: one pass per
            # "pass" line on stdin, answered with its seconds and page faults.
            print(json.dumps(first), flush=True)
            while sys.stdin.readline().strip() == "pass":
                f0 = faults()
                seconds, _ = one_pass()
                print(json.dumps({"seconds": seconds, "minor_faults": faults() - f0}), flush=True)
            return
        f0 = faults()
        done, seconds = 0, 0.0
        while seconds < args.min_time:
            s, _ = one_pass()
            seconds += s
            done += x.size(0)
        first.update({"images_per_s": done / seconds, "minor_faults_per_10k": (faults() - f0) * 10000.0 / done})
        print(json.dumps(first))

if __name__ == "__main__":
    main()
