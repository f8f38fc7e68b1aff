#!/bin/sh
# agent-ctl.sh start|stop: what systemd's `systemctl start|stop hisgate-agent` does for the
# updater's tests and benchmark, with real processes: start runs <root>/current/bin/
# hisgate-agent in its own session (it outlives the updater, as a systemd unit would) and
# keeps its pid; stop sends SIGTERM and waits for it to end (SIGKILL after 20 s). Both are
# safe to run twice. Environment: AGENT_ROOT, AGENT_CONFIG, AGENT_PIDFILE, AGENT_LOG.
set -u
alive() {
    [ -f "$AGENT_PIDFILE" ] || return 1
    pid=$(cat "$AGENT_PIDFILE")
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
    # A zombie (ended, not yet reaped by whoever adopted it) is not running.
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
    [ "$state" != "Z" ] && [ -n "$state" ]
}
case "$1" in
start)
    if alive; then exit 0; fi
    setsid "$AGENT_ROOT/current/bin/hisgate-agent" --config "$AGENT_CONFIG" >>"$AGENT_LOG" 2>&1 </dev/null &
    echo $! >"$AGENT_PIDFILE.tmp" && mv "$AGENT_PIDFILE.tmp" "$AGENT_PIDFILE"
    ;;
stop)
    if ! alive; then rm -f "$AGENT_PIDFILE"; exit 0; fi
    pid=$(cat "$AGENT_PIDFILE")
    kill -TERM "$pid" 2>/dev/null
    i=0
    while alive; do
        i=$((i + 1))
        if [ $i -gt 2000 ]; then kill -KILL "$pid" 2>/dev/null; fi
        sleep 0.01
    done
    rm -f "$AGENT_PIDFILE"
    ;;
*) echo "usage: agent-ctl.sh start|stop" >&2; exit 2 ;;
esac
