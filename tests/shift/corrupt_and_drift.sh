#!/usr/bin/env bash
# profile --corrupt writes a trace of corrupted images that says so, and
# simulate --drift runs the three policies over the clean and shifted traces.
# usage: corrupt_and_drift.sh CLI MODEL_STEM WORKDIR
set -euo pipefail
CLI=$1 M=$2 WORK=$3
mkdir -p "$WORK"
fail() { echo "corrupt_and_drift: FAILED: $*"; exit 1; }
"$CLI" profile --weights "$M.pt" --data fashion-mnist --max-samples 600 --corrupt gaussian-noise:3 --corrupt-seed 5 \
    --timing-samples 5 --out "$WORK/noise3.safetensors" > "$WORK/profile.log" 2>&1 || fail "profile: $(tail -1 "$WORK/profile.log")"
"$CLI" info "$WORK/noise3.safetensors" | grep -q "corruption: gaussian-noise:3" || fail "the trace does not record its corruption"
"$CLI" info "$WORK/noise3.safetensors" | grep -q "corruption_seed: 5" || fail "the trace does not record the corruption's seed"
# The same command again gives the same probabilities (seeded noise): compare the traces bit for bit.
"$CLI" profile --weights "$M.pt" --data fashion-mnist --max-samples 600 --corrupt gaussian-noise:3 --corrupt-seed 5 \
    --timing-samples 5 --out "$WORK/noise3-again.safetensors" > /dev/null 2>&1
/usr/bin/python3 "$(dirname "$0")/../slurm/compare_traces.py" "$WORK/noise3.safetensors" "$WORK/noise3-again.safetensors" > /dev/null ||
    fail "two profiles with the same corruption seed differ"
"$CLI" simulate --drift 0:0,1000:3 --trace "$M-test.safetensors" --val-trace "$M-val.safetensors" \
    --shifted "$WORK/noise3.safetensors" --requests 3000 --span 1000 --json --csv "$WORK/drift.csv" > "$WORK/drift.json" ||
    fail "simulate --drift: $(tail -1 "$WORK/drift.json")"
/usr/bin/python3 - "$WORK/drift.json" "$WORK/drift.csv" <<'PY' || fail "the drift report is not what the stream did"
import csv, json, sys
j = json.load(open(sys.argv[1]))
names = [p["name"] for p in j["policies"]]
assert names == ["fixed", "adaptive", "oracle"], names
rows = list(csv.DictReader(open(sys.argv[2])))
assert len(rows) == 3 * 3000, len(rows)
for p in j["policies"]:
    mine = [r for r in rows if r["policy"] == p["name"]]
    acc = sum(int(r["correct"]) for r in mine) / len(mine)
    assert abs(acc - p["total"]["accuracy"]) < 1e-9, (p["name"], acc, p["total"]["accuracy"])
    assert [s["severity"] for s in p["segments"]] == [0, 3], p["segments"]
    assert all(r["severity"] == ("0" if int(r["request"]) < 1000 else "3") for r in mine)
ran = [r for r in rows if r["policy"] == "adaptive" and r["ran_to_end"] == "1"]
assert 0.02 < len(ran) / 3000 < 0.09, len(ran)
assert all(r["exit"] == "4" for r in ran)
PY
# A clean trace given as shifted, and a schedule reaching a severity no trace has.
if "$CLI" simulate --drift 0:0,10:3 --trace "$M-test.safetensors" --val-trace "$M-val.safetensors" \
    --shifted "$M-test.safetensors" 2> "$WORK/err.txt"; then fail "a clean --shifted trace was taken"; fi
grep -q "made with profile --corrupt" "$WORK/err.txt" || fail "$(cat "$WORK/err.txt")"
if "$CLI" simulate --drift 0:0,10:4 --trace "$M-test.safetensors" --val-trace "$M-val.safetensors" \
    --shifted "$WORK/noise3.safetensors" 2> "$WORK/err.txt"; then fail "a schedule without its trace ran"; fi
grep -q "no trace of that severity" "$WORK/err.txt" || fail "$(cat "$WORK/err.txt")"
echo "corrupt_and_drift: ok"
