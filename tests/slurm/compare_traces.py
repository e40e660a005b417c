#!/usr/bin/env python3
"""Compares two safetensors files tensor by tensor, bit for bit, with numpy
only (no ExitScope code): a merged trace or split profile against the
single-process one of the same data. Timing tensors (block_ms, head_ms,
exit_ms; encode_ms, decode_ms and their sums) are measured per machine and
left out. Exit 0 when every other tensor is equal, 1 otherwise.

usage: compare_traces.py MERGED SINGLE
"""
import json
import struct
import sys

import numpy as np

TIMING = {"block_ms", "head_ms", "exit_ms", "encode_ms", "decode_ms", "encode_ms_sum", "decode_ms_sum"}
DTYPES = {"F64": np.float64, "F32": np.float32, "I64": np.int64, "I32": np.int32, "U8": np.uint8, "BOOL": np.bool_}


def read(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, e in header.items():
        a, b = e["data_offsets"]
        tensors[name] = np.frombuffer(data[a:b], dtype=DTYPES[e["dtype"]]).reshape(e["shape"])
    return tensors, meta


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1])
        return 2
    merged, mmeta = read(sys.argv[1])
    single, _ = read(sys.argv[2])
    if set(merged) != set(single):
        print(f"compare: tensor names differ: {sorted(set(merged) ^ set(single))}")
        return 1
    compared = 0
    for name in sorted(single):
        if name in TIMING:
            continue
        a, b = merged[name], single[name]
        if a.shape != b.shape or a.dtype != b.dtype or a.tobytes() != b.tobytes():
            diff = "shape" if a.shape != b.shape else f"{int(np.sum(a != b))} element(s)"
            print(f"compare: {name} differs ({diff})")
            return 1
        compared += 1
    shards = json.loads(mmeta.get("shards", "[]"))
    print(f"compare: {compared} tensors equal bit for bit (timings aside); merged from {len(shards)} shard(s) "
          f"on {mmeta.get('hosts', '?')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
