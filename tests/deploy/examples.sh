#!/usr/bin/env bash
# ctest deploy.examples_run: the Python and C++ examples of docs/deploy.md on a
# fresh export of the bundled msdnet (budgeted config); each must print its lines.
set -euo pipefail
CLI=$1 CPP=$2 WORK=$3
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
A=$ROOT/assets/models/msdnet-fashion-mnist
rm -rf "$WORK" && mkdir -p "$WORK"
"$CLI" tune --trace "$A-val.safetensors" --policy budgeted --budget 5000000 --out "$WORK/budgeted.json" > /dev/null
"$CLI" export --weights "$A.pt" --config "$WORK/budgeted.json" --out "$WORK/msdnet-ee.pt"
py=$(/usr/bin/python3 "$ROOT/docs/examples/deploy_python.py" "$WORK/msdnet-ee.pt")
echo "$py"
cpp=$("$CPP" "$WORK/msdnet-ee.pt")
echo "$cpp"
grep -q "^image 0: .*, left at exit [0-4]" <<< "$py"
grep -q "^with 0.99 everywhere:" <<< "$py"
grep -q "^image 0: .*, left at exit [0-4]" <<< "$cpp"
# Both programs see the same first image leave at the same exit with the same class.
[ "$(grep '^image 0' <<< "$py" | sed 's/ (score.*//')" = "$(grep '^image 0' <<< "$cpp")" ]
