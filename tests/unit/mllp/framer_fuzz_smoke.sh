#!/bin/sh
# A short run of the MLLP framer fuzzer (about 20 s) from corpus seeds; skipped (exit 77)
# when no fuzz build exists. Usage: framer_fuzz_smoke.sh FUZZER CORPUS_DIR
fuzzer="$1"
corpus="$2"
if [ ! -x "$fuzzer" ]; then
    echo "skipped: no fuzz binary at $fuzzer (see docs/fuzzing.md to build one)"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$(dirname "$0")/framer_fuzz_seeds.py" "$corpus" "$work/seeds" || exit 1
mkdir "$work/corpus"
"$fuzzer" -max_total_time=20 -print_final_stats=1 "$work/corpus" "$work/seeds" >"$work/log" 2>&1
status=$?
tail -n 12 "$work/log"
exit $status
