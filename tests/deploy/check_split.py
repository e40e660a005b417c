#!/usr/bin/env python3
"""Chains the two halves of a split export (exitscope-cli export --split-after B)
in Debian's python3-torch, with no ExitScope code, and compares them with the
whole export on the same test images:
  - a sample that leaves on the device must leave there in the whole file too,
    with the same prediction and score (the same computation);
  - the others cross the 8-bit quantisation; the share whose exit and
    prediction still equal the whole file's is measured and printed, and must
    be at least --min-agree.
Also checks what the halves say about themselves (split.json, part, the state
tensors sent). Exits 1 on any failure.

usage: check_split.py --whole FILE --device FILE --server FILE [--limit N] [--batch N] [--min-agree F]
"""
import argparse
import gzip
import json
import struct
import sys

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--whole", required=True)
ap.add_argument("--device", required=True)
ap.add_argument("--server", required=True)
ap.add_argument("--images", default="/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
ap.add_argument("--limit", type=int, default=1000)
ap.add_argument("--batch", type=int, default=200)
ap.add_argument("--min-agree", type=float, default=0.98)
args = ap.parse_args()

whole = torch.jit.load(args.whole).eval()
extra = {"exitscope/split.json": ""}
device = torch.jit.load(args.device, _extra_files=extra).eval()
split = json.loads(extra["exitscope/split.json"])
server = torch.jit.load(args.server).eval()
if device.part != "device" or server.part != "server" or whole.part != "whole":
    sys.exit("check_split: the files' parts are %s, %s, %s" % (whole.part, device.part, server.part))
if device.split_after != split["split_after_block"] or server.split_after != device.split_after:
    sys.exit("check_split: the halves disagree on the split")

with gzip.open(args.images, "rb") as f:
    data = f.read()
_, count, rows, cols = struct.unpack(">IIII", data[:16])
n = min(args.limit, count)
images = torch.frombuffer(bytearray(data[16:16 + n * rows * cols]), dtype=torch.uint8).view(n, 1, rows, cols)

P, E, S, Pw, Ew, Sw, D = [], [], [], [], [], [], []
sent = 0
with torch.no_grad():
    for s in range(0, n, args.batch):
        x = images[s:s + args.batch].float() / 255.0
        pred, ex, score, rows_, q, scale, zp = device(x)
        D.append(ex >= 0)
        if len(q) != 0:
            if len(q) != split["state_tensors"] or any(t.dtype != torch.uint8 for t in q):
                sys.exit("check_split: the device half sent %d tensors (%s), split.json says %d uint8" % (
                    len(q), [t.dtype for t in q], split["state_tensors"]))
            if rows_.numel() != q[0].size(0) or (ex[rows_] != -1).any():
                sys.exit("check_split: rows sent do not match the samples still running")
            p2, e2, s2 = server(q, scale, zp)
            pred[rows_], ex[rows_], score[rows_] = p2, e2, s2
            sent += rows_.numel()
        pw, ew, sw = whole(x)
        P.append(pred); E.append(ex); S.append(score); Pw.append(pw); Ew.append(ew); Sw.append(sw)
P, E, S, Pw, Ew, Sw = map(torch.cat, (P, E, S, Pw, Ew, Sw))
if (E < 0).any():
    sys.exit("check_split: some samples got no exit from the chained halves")
device_left = torch.cat(D)
d_ok = ((E == Ew) & (P == Pw) & (S == Sw))[device_left]
if not bool(d_ok.all()):
    sys.exit("check_split: %d of %d samples that left on the device differ from the whole file" % (
        int((~d_ok).sum()), int(device_left.sum())))
agree = (E == Ew) & (P == Pw)
rest = ~device_left
share = float(agree.float().mean())
print("check_split: split after block %d (%d state tensors): %d of %d samples left on the device (identical to the "
      "whole file), %d crossed 8-bit quantisation; chained = whole for %d of %d samples (%.2f%%): exit differs for %d, "
      "prediction for %d" % (split["split_after_block"], split["state_tensors"], int(device_left.sum()), n, sent,
                             int(agree.sum()), n, 100 * share, int((E != Ew).sum()), int((P != Pw).sum())))
if sent != int(rest.sum()):
    sys.exit("check_split: %d samples were sent but %d did not leave on the device" % (sent, int(rest.sum())))
sys.exit(0 if share >= args.min_agree else 1)
