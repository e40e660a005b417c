#!/usr/bin/env python3
"""Images per second of a deployable export (exitscope-cli export) from Python.

usage: bench/time_export.py FILE.pt [--images 2000] [--batch 250] [--rounds 6]
Times torch.jit.load(FILE) on the first Fashion-MNIST test images, 1 thread,
median of the rounds. Run it once plainly and once with the CLI's malloc
tunables (GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824)
to see what the allocator costs (docs/deploy.md, Speed).
"""
import argparse
import gzip
import time

import numpy as np
import torch

p = argparse.ArgumentParser()
p.add_argument("file")
p.add_argument("--images", type=int, default=2000)
p.add_argument("--batch", type=int, default=250)
p.add_argument("--rounds", type=int, default=6)
p.add_argument("--data", default="/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
a = p.parse_args()
torch.set_num_threads(1)
model = torch.jit.load(a.file)
model.eval()
raw = gzip.open(a.data).read()[16:]
x = torch.from_numpy(np.frombuffer(raw, dtype=np.uint8)[: a.images * 784].reshape(-1, 1, 28, 28).astype(np.float32) / 255)
batches = list(torch.split(x, a.batch))
with torch.no_grad():
    for _ in range(3):
        for b in batches:
            model(b)
    rates = []
    for _ in range(a.rounds):
        t = time.perf_counter()
        for b in batches:
            model(b)
        rates.append(x.size(0) / (time.perf_counter() - t))
print(f"{a.file}: {np.median(rates):.1f} images/s (median of {a.rounds} rounds, {x.size(0)} images, batch {a.batch})")
