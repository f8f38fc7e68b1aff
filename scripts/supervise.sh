# shellcheck shell=bash
# Process supervision for scripts/demo, as systemd's Restart=always does it; sourced, not
# run. Each service is a named command whose output goes to its own file:
#
#   service_start NAME OUTFILE COMMAND [ARG...]   start it, and keep it running from now on
#   service_schedule NAME UP DOWN                 from now on NAME runs UP seconds, is then
#                                                 stopped (SIGTERM, as an operator would) for
#                                                 DOWN seconds, and so on: a hospital whose
#                                                 server goes away and comes back on its own
#   wait_until WHAT CHECK                         start-up: wait (bounded) until `eval CHECK`
#                                                 succeeds; exit 1 naming what failed when a
#                                                 service exits meanwhile or time runs out
#   supervise_step                                one pass: report services that exited and
#                                                 schedule them; restart those whose time came
#   supervise                                     supervise_step twice a second, for ever
#   services_stop                                 TERM every service, last started first,
#                                                 and wait for it (KILL after 10 s)
#
# Back-off: a service that exits is restarted after 1 s, then 2, 4, ... up to 30 s; once
# it ran for 60 s the next restart is after 1 s again. Every exit and restart is printed.
# Settings: SUPERVISE_START_TIMEOUT (seconds wait_until waits, default 60).

declare -A svc_cmd=() svc_out=() svc_pid=() svc_started=() svc_delay=() svc_due=() svc_restarts=()
declare -A svc_up=() svc_down=() svc_away=()
svc_names=()

_svc_say() { echo "demo: $(date +%T) $*"; }

_svc_launch() {
  local name=$1
  eval "${svc_cmd[$name]}" '>>"${svc_out[$name]}" 2>&1 &'
  svc_pid[$name]=$!
  svc_started[$name]=$SECONDS
}

# How a process ended, from its wait status.
_svc_ended() {
  if [ "$1" -gt 128 ]; then echo "was killed by SIG$(kill -l $(($1 - 128)) 2>/dev/null || echo $(($1 - 128)))"
  else echo "exited with status $1"; fi
}

service_start() {
  local name=$1 out=$2
  shift 2
  svc_cmd[$name]=$(printf '%q ' "$@")
  svc_out[$name]=$out
  svc_delay[$name]=1
  svc_restarts[$name]=0
  svc_names+=("$name")
  _svc_launch "$name"
}

service_schedule() {
  svc_up[$1]=$2
  svc_down[$1]=$3
}

# Stops a service whose scheduled time up has passed; it comes back after its time away.
_svc_leave_on_schedule() {
  local name=$1 pid=${svc_pid[$1]}
  [ -n "${svc_up[$name]:-}" ] && [ -n "$pid" ] || return 1
  [ $((SECONDS - svc_started[$name])) -ge "${svc_up[$name]}" ] || return 1
  _svc_say "$name (pid $pid) leaves on its schedule for ${svc_down[$name]}s"
  kill -TERM "$pid" 2>/dev/null || true
  { wait "$pid"; } 2>/dev/null || true
  svc_pid[$name]=""
  svc_away[$name]=1
  svc_due[$name]=$((SECONDS + svc_down[$name]))
  return 0
}

wait_until() {
  local what=$1 check=$2 deadline=$((SECONDS + ${SUPERVISE_START_TIMEOUT:-60})) name status
  until eval "$check" >/dev/null 2>&1; do
    for name in "${svc_names[@]}"; do
      [ -n "${svc_pid[$name]}" ] || continue  # away on its schedule, or waiting to restart
      kill -0 "${svc_pid[$name]}" 2>/dev/null && continue
      status=0
      wait "${svc_pid[$name]}" 2>/dev/null || status=$?
      svc_pid[$name]=""
      echo "demo: start-up failed: $name $(_svc_ended "$status") while waiting for $what; the end of ${svc_out[$name]}:" >&2
      tail -n 5 "${svc_out[$name]}" | sed 's/^/    /' >&2
      exit 1
    done
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "demo: start-up failed: $what did not happen within ${SUPERVISE_START_TIMEOUT:-60}s" >&2
      exit 1
    fi
    sleep 0.2
  done
}

supervise_step() {
  local name status ran
  for name in "${svc_names[@]}"; do
    _svc_leave_on_schedule "$name" && continue
    if [ -n "${svc_pid[$name]}" ]; then
      kill -0 "${svc_pid[$name]}" 2>/dev/null && continue
      status=0
      wait "${svc_pid[$name]}" 2>/dev/null || status=$?
      ran=$((SECONDS - svc_started[$name]))
      if [ "$ran" -ge 60 ]; then svc_delay[$name]=1; fi
      _svc_say "$name (pid ${svc_pid[$name]}) $(_svc_ended "$status") after ${ran}s; restarting in ${svc_delay[$name]}s"
      svc_pid[$name]=""
      svc_due[$name]=$((SECONDS + svc_delay[$name]))
      svc_delay[$name]=$((svc_delay[$name] * 2 > 30 ? 30 : svc_delay[$name] * 2))
    elif [ "$SECONDS" -ge "${svc_due[$name]}" ]; then
      _svc_launch "$name"
      if [ -n "${svc_away[$name]:-}" ]; then
        svc_away[$name]=""
        _svc_say "$name is back on its schedule (pid ${svc_pid[$name]})"
      else
        svc_restarts[$name]=$((svc_restarts[$name] + 1))
        _svc_say "$name restarted (pid ${svc_pid[$name]}, restart ${svc_restarts[$name]})"
      fi
    fi
  done
}

supervise() {
  while true; do
    supervise_step
    # A service killed by a signal is reaped while the shell waits here: its stderr here
    # drops bash's own "Killed" notice, which would repeat what supervise_step prints.
    { sleep 0.5; } 2>/dev/null
  done
}

# In the reverse order of their start, each waited for before the next is stopped, as
# systemd stops units: the agents leave while the broker still carries their last words.
# One still running 10 s after SIGTERM gets SIGKILL (systemd's TimeoutStopSec).
services_stop() {
  local i name pid tries
  for ((i = ${#svc_names[@]} - 1; i >= 0; i--)); do
    name=${svc_names[$i]}
    pid=${svc_pid[$name]}
    [ -n "$pid" ] || continue
    kill -TERM "$pid" 2>/dev/null || true
    for ((tries = 0; tries < 100; tries++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      _svc_say "$name (pid $pid) did not stop within 10s of SIGTERM; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    { wait "$pid"; } 2>/dev/null || true
    svc_pid[$name]=""
  done
}
