#!/bin/sh
# A short run of one libFuzzer target from its committed seeds (fuzz/seeds/<name>/), where
# a fuzz build exists; exits 77, which CTest reports as skipped, where there is none
# (docs/fuzzing.md). New inputs go to a scratch directory, never into the seeds.
#   fuzz_short.sh FUZZER SEED_DIR SCRATCH_DIR SECONDS
fuzzer=$1
seeds=$2
scratch=$3
seconds=$4
if [ ! -x "$fuzzer" ]; then
  echo "no fuzz build at $fuzzer: skipped"
  exit 77
fi
rm -rf "$scratch"
mkdir -p "$scratch/corpus"
cd "$scratch" || exit 1
"$fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 corpus "$seeds" >log 2>&1
status=$?
grep -E "property failed|ERROR|SUMMARY|stat::number_of_executed_units|stat::peak_rss_mb|Done" log | tail -n 12
exit $status
