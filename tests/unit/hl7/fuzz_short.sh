#!/bin/sh
# Runs the HL7 parser fuzzer for about 20 s if it was built (docs/fuzzing.md); exits 77,
# which CTest reports as skipped, when there is no fuzz build.
#   fuzz_short.sh FUZZER SCRATCH_DIR HL7_GEN DEFAULT_CORPUS_DIR
# Seeds: 300 messages from hl7-gen (HL7_GEN), plus the external corpus's good and bad
# files when present ($HISGATE_HL7_CORPUS, else DEFAULT_CORPUS_DIR). libFuzzer writes new
# inputs into its first directory: the scratch one, never the corpus.
fuzzer=$1
scratch=$2
generator=$3
corpus=${HISGATE_HL7_CORPUS:-$4}
if [ ! -x "$fuzzer" ]; then
  echo "no fuzz build at $fuzzer: skipped"
  exit 77
fi
mkdir -p "$scratch"
seeds="$scratch-seeds"
rm -rf "$seeds"
"$generator" --seed 1 --count 300 --dir "$seeds" || exit 1
set -- "$seeds"
if [ -d "$corpus/good" ] && [ -d "$corpus/bad" ]; then
  set -- "$@" "$corpus/good/hapi" "$corpus/good/cdc" "$corpus/bad/nhapi"
else
  echo "no HL7 corpus at $corpus: seeds are the generated messages only"
fi
exec "$fuzzer" -max_total_time=20 -rss_limit_mb=2048 -timeout=5 -max_len=16384 "$scratch" "$@"
