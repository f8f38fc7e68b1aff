#!/bin/sh
# Runs the HL7 parser fuzzer for about 20 s over the corpus if it was built (docs/fuzzing.md);
# exits 77, which CTest reports as skipped, when there is no fuzz build.
#   fuzz_short.sh FUZZER SCRATCH_DIR SEED_DIR...
# libFuzzer writes new inputs into its first directory: the scratch one, never the corpus.
fuzzer=$1
scratch=$2
shift 2
if [ ! -x "$fuzzer" ]; then
  echo "no fuzz build at $fuzzer: skipped"
  exit 77
fi
mkdir -p "$scratch"
exec "$fuzzer" -max_total_time=20 -rss_limit_mb=2048 -timeout=5 -max_len=16384 "$scratch" "$@"
