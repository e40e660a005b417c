#!/usr/bin/env bash
# ctest deploy.*: exports tuned configs of one model with `exitscope-cli export`
# and checks each file in Debian's python3-torch (check_export.py, no ExitScope
# code): every one of 1,000 test images must take the exit, with the prediction,
# that the trace-based policy gives it (`exitscope-cli eval --csv`).
#   export_matches_policy.sh CLI MODEL WORKDIR     a bundled model (msdnet, resnet-spinn, vgg-fine)
#   export_matches_policy.sh CLI torchscript WORKDIR  the imported example (docs/examples/export_multi_exit.py)
# For the budgeted config it also exports the device and server halves
# (--split-after) and chains them against the whole file (check_split.py).
set -euo pipefail
CLI=$1 MODEL=$2 WORK=$3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PY=/usr/bin/python3
rm -rf "$WORK" && mkdir -p "$WORK"
if [ "$MODEL" = torchscript ]; then
  # An imported model: untrained, so confidence barely varies; budgeted spreads the exits.
  "$PY" "$ROOT/docs/examples/export_multi_exit.py" --out "$WORK/model.pt" > /dev/null
  W=$WORK/model.pt
  "$CLI" profile --weights "$W" --data fashion-mnist --split val --max-samples 1000 --out "$WORK/val.safetensors" > /dev/null 2>&1
  "$CLI" profile --weights "$W" --data fashion-mnist --split test --max-samples 1000 --out "$WORK/test.safetensors" > /dev/null 2>&1
  VAL=$WORK/val.safetensors TEST=$WORK/test.safetensors
  POLICIES=("budgeted --policy budgeted --budget 2000000"
            "confidence-per-exit --policy confidence --thresholds 0.16,0.12"
            "margin --policy confidence --criterion margin --threshold 0.02"
            "gates --policy gates --alpha 0.3")
  SPLIT=1
else
  A=$ROOT/assets/models/$MODEL-fashion-mnist
  W=$A.pt VAL=$A-val.safetensors TEST=$A-test.safetensors
  POLICIES=("max-softmax --policy confidence --threshold 0.8"
            "entropy-calibrated --policy confidence --criterion entropy --threshold 0.7 --calibrate"
            "margin-per-exit --policy confidence --criterion margin --thresholds $("$PY" -c "print(','.join(str(round(0.9-0.1*i,2)) for i in range($("$CLI" info "$TEST" | sed -n 's/.* \([0-9]*\) exits.*/\1/p' | head -1)-1)))")"
            "budgeted --policy budgeted --budget 5000000"
            "gates --policy gates --alpha 0.3")
  SPLIT=3
fi
failed=0
for p in "${POLICIES[@]}"; do
  read -r name opts <<< "$p"
  # shellcheck disable=SC2086
  "$CLI" tune --trace "$VAL" --val-trace "$VAL" --out "$WORK/$name.json" $opts > /dev/null
  "$CLI" eval --trace "$TEST" --config "$WORK/$name.json" --csv "$WORK/$name.csv" > /dev/null
  "$CLI" export --weights "$W" --config "$WORK/$name.json" --out "$WORK/$name.pt" > /dev/null
  "$PY" "$HERE/check_export.py" --model "$WORK/$name.pt" --outcomes "$WORK/$name.csv" --limit 1000 || failed=1
  if [ "$name" = budgeted ]; then
    # The device and server halves chained against the whole file (check_split.py).
    "$CLI" export --weights "$W" --config "$WORK/$name.json" --out "$WORK/$name-split.pt" --split-after "$SPLIT" > /dev/null
    "$PY" "$HERE/check_split.py" --whole "$WORK/$name.pt" --device "$WORK/$name-split-device.pt" \
      --server "$WORK/$name-split-server.pt" --limit 1000 || failed=1
  fi
done
exit $failed
