#!/bin/sh
# A short run of the MLLP framer fuzzer (about 20 s); skipped (exit 77) when no fuzz build
# exists. Seeds: 200 messages from hl7-gen, in files of 10, plus the external corpus's
# good/ files when present ($HISGATE_HL7_CORPUS, else DEFAULT_CORPUS_DIR).
# Usage: framer_fuzz_smoke.sh FUZZER HL7_GEN DEFAULT_CORPUS_DIR
fuzzer="$1"
generator="$2"
corpus="${HISGATE_HL7_CORPUS:-$3}"
if [ ! -x "$fuzzer" ]; then
    echo "skipped: no fuzz binary at $fuzzer (see docs/fuzzing.md to build one)"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/generated"
for seed in $(seq 1 20); do
    "$generator" --seed "$seed" --count 10 "$work/generated/file-$seed.hl7" 2>/dev/null || exit 1
done
set -- "$work/generated"
if [ -d "$corpus/good" ]; then
    set -- "$@" "$corpus/good"
else
    echo "no HL7 corpus at $corpus: seeds are the generated messages only"
fi
python3 "$(dirname "$0")/framer_fuzz_seeds.py" "$work/seeds" "$@" || exit 1
mkdir "$work/corpus"
"$fuzzer" -max_total_time=20 -print_final_stats=1 "$work/corpus" "$work/seeds" >"$work/log" 2>&1
status=$?
tail -n 12 "$work/log"
exit $status
