#!/usr/bin/env bash
# scripts/supervise.sh, the demo's supervisor, on dummy processes: a service killed with
# kill -9 is reported and restarted with a growing back-off while the others keep running,
# a service that dies during start-up makes wait_until exit 1 naming it, and so does a
# wait that runs out.
#   supervise_test.sh SOURCE_DIR
set -uo pipefail
source "$1/scripts/supervise.sh"
work=$(mktemp -d)
trap 'services_stop; rm -rf "$work"' EXIT
failures=0
: >"$work/log"
check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; failures=$((failures + 1)); fi
}
# Runs supervise_step (output to $work/log) until `eval CONDITION` holds; gives up after
# 30 s, a bound that only a broken supervisor reaches.
step_until() {
  local deadline=$((SECONDS + 30))
  until eval "$1"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    supervise_step >>"$work/log"
    sleep 0.1
  done
}

service_start victim "$work/victim.out" sleep 600
service_start bystander "$work/bystander.out" sleep 600
bystander=${svc_pid[bystander]}

first=${svc_pid[victim]}
kill -9 "$first"
check "the kill is reported" step_until 'grep -q "victim (pid $first) was killed by SIGKILL after .*restarting in 1s" "$work/log"'
check "the victim is restarted" step_until 'grep -q "victim restarted (pid [0-9]*, restart 1)" "$work/log"'
second=${svc_pid[victim]}
check "the restart is a new, live process" eval '[ "$second" != "$first" ] && kill -0 "$second"'

kill -9 "$second"
check "the second restart waits longer" step_until 'grep -q "victim (pid $second) was killed by SIGKILL after .*restarting in 2s" "$work/log"'
check "and happens" step_until 'grep -q "victim restarted (pid [0-9]*, restart 2)" "$work/log"'
check "the bystander kept running, never restarted" eval '[ "${svc_pid[bystander]}" = "$bystander" ] && kill -0 "$bystander" && ! grep -q bystander "$work/log"'

# A scheduled absence: up 2 s, away 2 s, back; never counted as a restart.
service_start wanderer "$work/wanderer.out" sleep 600
service_schedule wanderer 2 2
wanderer=${svc_pid[wanderer]}
check "it leaves on its schedule" step_until 'grep -q "wanderer (pid $wanderer) leaves on its schedule for 2s" "$work/log"'
check "the process was stopped" eval '! kill -0 "$wanderer" 2>/dev/null'
check "it comes back" step_until 'grep -q "wanderer is back on its schedule (pid [0-9]*)" "$work/log"'
check "as a new, live process, not a restart" eval 'kill -0 "${svc_pid[wanderer]}" && ! grep -q "wanderer restarted" "$work/log"'
check "and leaves again" step_until '[ "$(grep -c "wanderer (pid [0-9]*) leaves on its schedule" "$work/log")" -ge 2 ]'

# Start-up: a service that exits while the demo waits for it fails the start-up.
( service_start broken "$work/broken.out" sh -c 'echo "cannot bind port 1: in use" >&2; exit 3'
  SUPERVISE_START_TIMEOUT=30 wait_until "a port that never opens" false ) 2>"$work/startup.err"
status=$?
check "start-up failure exits 1" [ "$status" -eq 1 ]
check "it names the service, its status and its output" \
  grep -q "start-up failed: broken exited with status 3 while waiting for a port that never opens" "$work/startup.err"
check "and shows the end of its output" grep -q "cannot bind port 1: in use" "$work/startup.err"

# Start-up: what never happens (a hospital that never comes online) fails the start-up
# once the wait's bound has passed, while every service still runs.
( SUPERVISE_START_TIMEOUT=1 wait_until "a hospital online" false ) 2>"$work/timeout.err"
status=$?
check "a wait that runs out exits 1" [ "$status" -eq 1 ]
check "saying what did not happen" grep -q "start-up failed: a hospital online did not happen within 1s" "$work/timeout.err"

cat "$work/log"
[ "$failures" -eq 0 ]
