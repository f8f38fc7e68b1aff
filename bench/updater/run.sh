#!/bin/sh
# The updater's figures (docs/benchmarks.md, "Updater"): hisgate-updater's peak RSS and the
# agent's downtime during a switch, with real processes and real packages.
#   bench/updater/run.sh BUILD_DIR [ROUNDS]
# Builds releases 1.0.0 .. 1.0.ROUNDS of the built agent (one binary, stripped, its version
# stamped in bin/VERSION), starts 1.0.0 through agent-ctl.sh (no broker or HIS: the agent
# starts without them and serves /metrics), then installs each next version by its delta
# and prints, per switch, the updater's peak RSS (getrusage of the child) and the downtime
# the updater measured (agent stop command started -> the new version's first good
# /metrics answer).
set -eu
BUILD=$(cd "$1" && pwd); ROUNDS=${2:-5}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/updater-bench.XXXXXX)
trap 'AGENT_ROOT=$T/root AGENT_CONFIG=$T/agent.json AGENT_PIDFILE=$T/agent.pid AGENT_LOG=$T/agent.out "$HERE/agent-ctl.sh" stop; rm -rf "$T"' EXIT
H="$BUILD/cli/hisgate"
mkdir -p "$T/keys" "$T/releases" "$T/root" "$T/data"
$H release keygen --out "$T/keys/root" >/dev/null
$H release keygen --out "$T/keys/signing" >/dev/null
$H release certify --root "$T/keys/root.key" --key "$T/keys/signing.pub" --name bench --days 30 --out "$T/keys/signing.cert.json" >/dev/null
strip -o "$T/agent.stripped" "$BUILD/agent/hisgate-agent"
for i in $(seq 0 "$ROUNDS"); do
    v=1.0.$i
    mkdir -p "$T/tree-$v/bin"
    cp "$T/agent.stripped" "$T/tree-$v/bin/hisgate-agent"
    echo "$v" >"$T/tree-$v/bin/VERSION"
    $H release build --version "$v" --from "$T/tree-$v" --previous "$T/releases" --out "$T/releases/$v" --level 3 >/dev/null
    $H release sign --manifest "$T/releases/$v/manifest.json" --key "$T/keys/signing.key" --cert "$T/keys/signing.cert.json" --root "$T/keys/root.pub" >/dev/null
done
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/params.json" <<P
{"hospital": {"id": "B001", "region": "south"},
 "his": {"dialect": "hl7v2-mllp", "endpoint": "127.0.0.1:1", "connect_timeout": "1s"}}
P
cat >"$T/agent.json" <<A
{"params_file": "$T/params.json", "state_db": "$T/data/agent.db", "broker": {"uri": "tcp://127.0.0.1:1"},
 "metrics": {"port": $PORT}, "log": {"file": "$T/agent.log"}}
A
CTL="$HERE/agent-ctl.sh"
cat >"$T/updater.json" <<U
{"root_dir": "$T/root", "root_key": "$T/keys/root.pub", "state_files": ["$T/data/agent.db"],
 "stop_command": ["$CTL", "stop"], "start_command": ["$CTL", "start"],
 "health": {"url": "http://127.0.0.1:$PORT/metrics", "trial_ms": 2000, "poll_ms": 50, "timeout_ms": 30000}}
U
export AGENT_ROOT="$T/root" AGENT_CONFIG="$T/agent.json" AGENT_PIDFILE="$T/agent.pid" AGENT_LOG="$T/agent.out"
python3 - "$BUILD/updater/hisgate-updater" "$T" "$ROUNDS" "$PORT" <<'PY'
import json, resource, subprocess, sys, threading, time, urllib.request
updater, t, rounds, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

# An outside view of the downtime: /metrics polled every 10 ms during each install; the
# longest stretch between two answers is how long the agent was not there.
def watch(stop, out):
    last_ok, worst = None, 0.0
    while not stop.is_set():
        try:
            urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=0.5).read()
            now = time.monotonic()
            if last_ok is not None: worst = max(worst, now - last_ok)
            last_ok = now
        except Exception:
            pass
        time.sleep(0.01)
    out.append(worst)

rows = []
for i in range(0, rounds + 1):
    v = "1.0.%d" % i
    stop, gap = threading.Event(), []
    w = threading.Thread(target=watch, args=(stop, gap)); w.start()
    p = subprocess.run([updater, "install", "--config", t + "/updater.json", "--manifest", t + "/releases/" + v + "/manifest.json"],
                       capture_output=True, text=True)
    stop.set(); w.join()
    # The largest RSS of any child waited for so far: the updater (its own children, the
    # agent-ctl.sh shells, are far smaller; the agent itself is never our child).
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    out = json.loads(p.stdout.strip().splitlines()[-1])
    if not out["ok"]:
        print(p.stderr); sys.exit(1)
    outside = int(gap[0] * 1000) if i > 0 else -1
    rows.append((v, out["package"], out["downtime_ms"], outside, rss))
    print("%-6s package=%-5s updater_downtime_ms=%-5s outside_gap_ms=%-5s updater_peak_rss_kib=%d" % rows[-1], flush=True)
d = [r[2] for r in rows[1:]]; g = [r[3] for r in rows[1:]]
print("switches=%d updater downtime_ms min=%d median=%d max=%d; outside gap_ms min=%d median=%d max=%d; peak RSS %d KiB" % (
    len(d), min(d), sorted(d)[len(d)//2], max(d), min(g), sorted(g)[len(g)//2], max(g), max(r[4] for r in rows)))
PY
