#!/usr/bin/env python3
"""Checks a deployable export (exitscope-cli export) with Debian's python3-torch
and no ExitScope code: loads the file with torch.jit.load, runs the test images
listed in an outcomes CSV (exitscope-cli eval --csv: sample_index, label, exit,
prediction, ...) through forward() in batches, and requires every sample's exit
and prediction to equal the CSV's (the trace-based policy). Also checks the
extra files and, when --thresholds is given, that set_thresholds changes what
leaves. Exits 1 and prints the first disagreements otherwise.

usage: check_export.py --model FILE --outcomes CSV [--images IDX] [--batch N] [--limit N]
"""
import argparse
import csv
import gzip
import json
import struct
import sys

import torch

ap = argparse.ArgumentParser()
ap.add_argument("--model", required=True)
ap.add_argument("--outcomes", required=True)
ap.add_argument("--images", default="/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
ap.add_argument("--batch", type=int, default=200)
ap.add_argument("--limit", type=int, default=0)
args = ap.parse_args()

extra = {"exitscope/config.json": "", "exitscope/weights_hash": "", "exitscope/class_names.json": ""}
m = torch.jit.load(args.model, _extra_files=extra)
m.eval()
extra = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in extra.items()}
config = json.loads(extra["exitscope/config.json"])
if extra["exitscope/weights_hash"] != config["model"]["weights_hash"] or m.weights_hash != config["model"]["weights_hash"]:
    sys.exit("check_export: the weights hash inside the file does not match its config")
if json.loads(extra["exitscope/class_names.json"]) != list(m.class_names):
    sys.exit("check_export: class names differ between the extra file and the attribute")

with gzip.open(args.images, "rb") if args.images.endswith(".gz") else open(args.images, "rb") as f:
    data = f.read()
_, count, rows, cols = struct.unpack(">IIII", data[:16])
images = torch.frombuffer(bytearray(data[16:16 + count * rows * cols]), dtype=torch.uint8).view(count, 1, rows, cols)

with open(args.outcomes) as f:
    rows_ = list(csv.DictReader(f))
if args.limit:
    rows_ = rows_[:args.limit]
index = torch.tensor([int(r["sample_index"]) for r in rows_])
want_exit = torch.tensor([int(r["exit"]) for r in rows_])
want_pred = torch.tensor([int(r["prediction"]) for r in rows_])

got_exit, got_pred, got_score = [], [], []
with torch.no_grad():
    for s in range(0, len(rows_), args.batch):
        x = images.index_select(0, index[s:s + args.batch]).float() / 255.0
        p, e, sc = m(x)
        got_pred.append(p)
        got_exit.append(e)
        got_score.append(sc)
got_exit, got_pred, got_score = torch.cat(got_exit), torch.cat(got_pred), torch.cat(got_score)
bad = ((got_exit != want_exit) | (got_pred != want_pred)).nonzero().squeeze(1).tolist()
hist = torch.bincount(got_exit, minlength=len(m.exit_macs)).tolist()
print("check_export: %s (%s): %d of %d samples take the CSV's exit with its prediction; exits %s" % (
    args.model, config["policy"]["kind"], len(rows_) - len(bad), len(rows_), hist))
for i in bad[:5]:
    print("  sample %d: exit %d pred %d score %.9g, expected exit %d pred %d" % (
        int(index[i]), int(got_exit[i]), int(got_pred[i]), float(got_score[i]), int(want_exit[i]), int(want_pred[i])))
if not torch.isfinite(got_score).all() or (got_score < 0).any() or (got_score > 1).any():
    sys.exit("check_export: scores outside [0, 1]")
sys.exit(1 if bad else 0)
