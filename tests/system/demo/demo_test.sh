#!/usr/bin/env bash
# scripts/demo itself, run on the test build's programs (DEMO_BUILD_DIR) in a run directory
# of its own: Mosquitto, three his-sims, three agents and a control plane, real processes.
#   1. it comes up with all three hospitals online, H002's report in Chinese, and the
#      trace command it prints follows a request through every process; both read replicas
#      answer patient search (王芳 by 王 and by pinyin), and a slot put at a HIS with the
#      printed command is pushed to its agent and reaches both;
#   2. a his-sim killed with kill -9 is reported and restarted, and a report asked of its
#      hospital meanwhile is answered (at once, or as a task that completes);
#   3. an agent killed with kill -9 is restarted and its hospital answers again;
#   3b. a payment on cp1 whose answer H001's HIS loses (the printed fault command) goes
#      IN_DOUBT and settles POSTED, paid at pay-sim, never refunded; the printed
#      `hisgate reconcile` finds the day clean;
#   3c. H001's ward (monitor-sim) shows 8 beds online in the beds API, and the printed
#      reboot of one monitor shows its bed offline;
#   4. the hospital that goes away on its schedule (DEMO_AWAY) shows in the operator CLI:
#      `hisgate fleet` has it offline, a booking there is 503 hospital.offline at once and
#      lands in `hisgate triage` with its owner, `hisgate alerts` fires agent.offline and
#      resolves it when the hospital is back;
#   5. SIGTERM stops the demo with status 0 and leaves none of its processes behind;
#   6. a control plane that cannot start (its API port is taken) makes the demo exit 1,
#      naming the process and showing its error, with nothing left running.
#   demo_test.sh SOURCE_DIR BUILD_DIR
set -uo pipefail
src=$1
build=$2
work=$(mktemp -d)
demo_pid=""
blocker_pid=""
failures=0

# Processes of a run: their command lines hold the run's directory.
left_in() { pgrep -f -- "$1/" || true; }
cleanup() {
  [ -n "$demo_pid" ] && kill -TERM "$demo_pid" 2>/dev/null && wait "$demo_pid"
  [ -n "$blocker_pid" ] && kill "$blocker_pid" 2>/dev/null
  local pid
  for pid in $(left_in "$work"); do kill -9 "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

check() {  # check DESCRIPTION COMMAND...
  if "${@:2}"; then echo "ok: $1"; else echo "FAILED: $1"; failures=$((failures + 1)); fi
}
# Waits until `eval CONDITION` holds; the bound (90 s) is only reached when the demo is broken.
until_true() {
  local deadline=$((SECONDS + 90))
  until eval "$1" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# ---- 1. up -------------------------------------------------------------------------------
run="$work/run"
# H003 leaves 60 s after it started, for 40 s: after parts 1-3, which need it.
DEMO_AWAY=H003:60:40 DEMO_RUN_DIR="$run" DEMO_BUILD_DIR="$build" "$src/scripts/demo" >"$work/demo.out" 2>&1 &
demo_pid=$!
if ! until_true 'grep -q "hisgate demo is running" "$work/demo.out"'; then
  echo "FAILED: the demo did not come up:"
  cat "$work/demo.out"
  exit 1
fi
api=$(sed -n 's/^ *API: *//p' "$work/demo.out")
echo "demo up, API at $api"
# The tokens the demo wrote (docs/demo.md): the operator's, and one per demo patient.
auth=(-H "Authorization: Bearer $(cat "$run/secrets/operator.token")")
check "the API refuses a call without a token" \
  eval '[ "$(curl -s -o /dev/null -w "%{http_code}" "$api/api/v1/hospitals")" = 401 ]'
# (A report may first be 202, a task to poll, while the agent's 2 s drain timer runs.)
check "a patient's token reads their own report" \
  until_true '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $(cat "$run/secrets/patient-P-DEMO-1.token")" \
                 "$api/api/v1/hospitals/H002/reports/R-DEMO-1")" = 200 ]'
check "and not another patient's (404)" \
  until_true '[ "$(curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Bearer $(cat "$run/secrets/patient-P-H002-2.token")" \
                 "$api/api/v1/hospitals/H002/reports/R-DEMO-1")" = 404 ]' 
check "all three hospitals are online" \
  eval '[ "$(curl -s "${auth[@]}" "$api/api/v1/hospitals" | json "len(d[\"hospitals\"])")" = 3 ]'
# Reports drain on a 2 s timer: a first answer may be a task to poll.
report() {  # report HOSPITAL: the R-DEMO-1 report, by polling its task when it is deferred
  local body code task
  body=$(curl -s -w '\n%{http_code}' "${auth[@]}" "$api/api/v1/hospitals/$1/reports/R-DEMO-1")
  code=${body##*$'\n'}
  body=${body%$'\n'*}
  if [ "$code" = 202 ]; then
    task=$(json 'd["taskId"]' <<<"$body")
    echo "$1: 202, task $task" >&2
    until_true '[ "$(curl -s -o /dev/null -w "%{http_code}" "${auth[@]}" "$api/api/v1/tasks/$task")" = 200 ]' || return 1
    curl -s "${auth[@]}" "$api/api/v1/tasks/$task"
  elif [ "$code" = 200 ]; then
    echo "$body"
  else
    echo "$1: $code $body" >&2
    return 1
  fi
}
report H002 >"$work/h002.json"
check "H002's report crossed GB 18030 in Chinese" \
  eval 'grep -q "血常规" "$work/h002.json" && grep -q "血红蛋白" "$work/h002.json"'

# The trace commands the demo prints find the request: through the API, in the control
# plane's lines and the agent's (asked over MQTT); from the log files, in his-sim's too.
curl -s -D "$work/h003.headers" -o /dev/null "${auth[@]}" "$api/api/v1/hospitals/H003/reports/R-DEMO-1"
trace=$(sed -n 's/^traceparent: 00-\([0-9a-f]*\)-.*/\1/p' "$work/h003.headers")
printed() {  # printed PATTERN: the printed command on the line matching PATTERN, the trace id in, the comment out
  grep "$1" "$work/demo.out" | head -1 | sed 's/ *#.*$//; s/<trace id[^>]*>/'"$trace"'/; s/^ *//'
}
remote_cmd=$(printed 'hisgate trace <trace id from')
local_cmd=$(printed 'hisgate trace <trace id> --logs')
doctor_cmd=$(printed 'hisgate doctor H001')
fleet_cmd=$(printed 'hisgate fleet')
alerts_cmd=$(printed 'hisgate alerts')
triage_cmd=$(printed 'hisgate triage')
tasks_cmd=$(printed 'hisgate tasks' | sed 's/<Task-Id[^>]*>/$task/')
echo "trace commands: $remote_cmd | $local_cmd"
check "the printed trace command gathers the control plane's and the agent's lines through the API" \
  until_true '[ -n "$trace" ] && (cd "$src" && $remote_cmd) >"$work/trace.txt" &&
        grep -q "controlplane:cp1" "$work/trace.txt" && grep -q "agent:H003" "$work/trace.txt"'
check "the printed local trace command follows it through his-sim too" \
  until_true '(cd "$src" && $local_cmd) >"$work/trace-local.txt" &&
        grep -q "controlplane:cp1" "$work/trace-local.txt" && grep -q "agent:H003" "$work/trace-local.txt" &&
        grep -q "his-sim:H003" "$work/trace-local.txt"'
check "the printed doctor command shows the agent's own table" \
  eval '(cd "$src" && $doctor_cmd) >"$work/doctor.txt"; grep -q "H001: the agent.s doctor" "$work/doctor.txt" && grep -q "params_file" "$work/doctor.txt"'

# The release the demo published, rolled out with the printed commands: H001 is sent it and
# accepts it (its updater spool), nothing installs it, so wave 2 (H002) waits.
rollout_cmd=$(printed 'hisgate rollout start')
rollout_status_cmd=$(printed 'hisgate rollout status')
check "the printed rollout start is accepted for the demo's release" \
  eval '(cd "$src" && $rollout_cmd) >"$work/rollout.txt" 2>&1 && grep -q "running" "$work/rollout.txt"'
check "the printed rollout status shows H001 installing and wave 2 not started" \
  until_true '(cd "$src" && $rollout_status_cmd) >"$work/rollout-status.txt" &&
        grep -q "wave 1 (50%).*installing 1" "$work/rollout-status.txt" && grep -q "wave 2 (100%).*not started" "$work/rollout-status.txt"'
check "and H001's agent handed the request to its updater spool" eval 'ls -A "$run"/data/spool-H001/ | grep -q json'

# Two control-plane instances share one store: a task made through cp1 is read through cp2.
api2=$(sed -n 's/^ *API cp2: *\([^ ]*\).*/\1/p' "$work/demo.out")
task=$(sed -n 's/^Task-Id: \([0-9a-f]*\).*/\1/Ip' "$work/h003.headers")
check "a task made through cp1 is answered through cp2" \
  until_true '[ -n "$api2" ] && [ -n "$task" ] && [ "$(curl -s -o /dev/null -w "%{http_code}" "${auth[@]}" "$api2/api/v1/tasks/$task")" = 200 ]'
check "the printed tasks command shows it" \
  eval '(cd "$src" && eval "$tasks_cmd") >"$work/task.txt" && grep -q "hospital  H003" "$work/task.txt" && grep -q "type      report.get" "$work/task.txt"'

# Patient search on the two read replicas, and a change at a HIS arriving on both.
read -r replica1 replica2 < <(sed -n 's|^ *search: *\([^ ]*\)/api/v1/search and \([^ ]*\)/api/v1/search.*|\1 \2|p' "$work/demo.out")
items() { json 'len(d["items"])'; }
for replica in "$replica1" "$replica2"; do
  check "replica $replica lists the three hospitals, saying how fresh it is" \
    until_true '[ "$(curl -s "$replica/api/v1/search/hospitals" | items)" = 3 ] &&
                curl -s "$replica/api/v1/search/hospitals" | json "d[\"freshness\"][\"position\"]" | grep -q "^[1-9]"'
done
search_cmd() { grep -F "$1" "$work/demo.out" | head -1 | sed 's/ *#.*$//; s/^ *//'; }
check "the printed search finds H002's 王芳 by 王" \
  until_true 'eval "$(search_cmd "search/doctors?q=%E7%8E%8B")" | grep -q "王芳"'
check "and by pinyin" eval 'eval "$(search_cmd "search/doctors?q=wangfang")" | grep -q "王芳"'
put_cmd=$(search_cmd "/slots/S-DEMO-1 -d")
check "the printed change at H001's HIS is committed and pushed to its agent (AA)" \
  eval 'eval "$put_cmd" | json "d[\"push\"][\"ack\"]" | grep -qx AA'
slots_cmd=$(search_cmd "search/slots?hospital=H001&doctor=DR-101&from=")
check "and the printed slot search on r2 shows it" until_true 'eval "$slots_cmd" | grep -q S-DEMO-1'
check "as does r1" until_true 'eval "${slots_cmd/$replica2/$replica1}" | grep -q S-DEMO-1'

# ---- 2. a his-sim killed with kill -9 ----------------------------------------------------
sim=$(pgrep -f -- "$run/etc/his-sim-H001.json")
kill -9 "$sim"
report H001 >"$work/h001.json"
check "a report asked of H001 while its his-sim was dead is answered" grep -q "P-DEMO-1" "$work/h001.json"
check "the demo reports the kill" \
  until_true 'grep -q "his-sim-H001 (pid $sim) was killed by SIGKILL after [0-9]*s; restarting in 1s" "$work/demo.out"'
check "and the restart" until_true 'grep -q "his-sim-H001 restarted (pid [0-9]*, restart 1)" "$work/demo.out"'
restarted=$(sed -n 's/.*his-sim-H001 restarted (pid \([0-9]*\), restart 1).*/\1/p' "$work/demo.out")
check "the restarted his-sim is a new, live process" \
  eval '[ -n "$restarted" ] && [ "$restarted" != "$sim" ] && kill -0 "$restarted"'
check "the demo itself kept running" kill -0 "$demo_pid"

# ---- 3. an agent killed with kill -9 -----------------------------------------------------
agent=$(pgrep -f -- "$run/etc/agent-H001.json")
kill -9 "$agent"
check "the agent's restart is reported" \
  until_true 'grep -q "agent-H001 (pid $agent) was killed by SIGKILL" "$work/demo.out" &&
              grep -q "agent-H001 restarted (pid [0-9]*, restart 1)" "$work/demo.out"'
check "its hospital answers again" \
  until_true 'report H001 | grep -q P-DEMO-1'
check "no other process was restarted" \
  eval '[ "$(grep -c "restarted (pid" "$work/demo.out")" = 2 ]'
check "the demo printed its own lines about the kills, no shell notice" eval '! grep -q "Killed" "$work/demo.out"'

# ---- 3b. money: a payment whose answer H001's HIS loses settles by evidence ---------------
fault_cmd=$(search_cmd "/faults -d '{\"drop_after_commit\": 1}'")
check "the printed fault command arms H001's HIS to lose its next answer" eval 'eval "$fault_cmd" | grep -q drop_after_commit'
patient_auth=(-H "Authorization: Bearer $(cat "$run/secrets/patient-P-DEMO-1.token")")
curl -s -o "$work/pay.json" -X POST "${patient_auth[@]}" -H 'Idempotency-Key: demo-test-pay-1' "$api/api/v1/payments" \
  -d '{"hospitalId":"H001","patientId":"P-DEMO-1","amount":"25.00","currency":"CNY","purpose":"outpatient"}'
pay_id=$(json 'd["transactionId"]' <"$work/pay.json" 2>/dev/null)
prepay=$(json 'd["checkout"]["prepayId"]' <"$work/pay.json" 2>/dev/null)
pay_sim=$(sed -n 's|^ *payments: .*pay-sim at \(http://[^ ]*\).*|\1|p' "$work/demo.out")
check "a payment is created on cp1 and the patient pays at pay-sim's checkout" \
  eval '[ -n "$pay_id" ] && [ "$(curl -s -o /dev/null -w "%{http_code}" -X POST "$pay_sim/v3/checkout/$prepay" -d "{}")" = 200 ]'
transaction() { curl -s "${patient_auth[@]}" "$api/api/v1/transactions/$pay_id"; }
check "its lost answer made it IN_DOUBT, and evidence settled it POSTED, never refunded" \
  until_true 'transaction >"$work/transaction.json" && [ "$(json "d[\"state\"]" <"$work/transaction.json")" = POSTED ] &&
              json "[e[\"to\"] for e in d[\"history\"]]" <"$work/transaction.json" | grep -q IN_DOUBT &&
              ! grep -q REFUNDED "$work/transaction.json"'
reconcile_cmd=$(printed 'hisgate reconcile --date')
check "the printed reconcile command finds the day clean (exit 0)" \
  eval '(cd "$src" && $reconcile_cmd) >"$work/reconcile.txt"'
check "and names the payment matched" grep -q matched "$work/reconcile.txt"

# ---- 3c. H001's ward: monitor-sim's monitors through H001's agent to the beds API --------
operator=$(cat "$run/secrets/operator.token")
beds_cmd=$(search_cmd "/api/v1/vitals/beds?hospital=H001")
online_beds() { eval "$beds_cmd" | json 'sum(1 for b in d["beds"] if b["online"] and b["values"])'; }
check "the printed beds command shows H001's 8 ICU beds online with their latest values" \
  until_true '[ "$(online_beds)" = 8 ]'
reboot_cmd=$(search_cmd "MON-0003/faults")
bed3_online() { eval "$beds_cmd" | json '[b["online"] for b in d["beds"] if b["bed"] == "BED-003"][0]'; }
check "the printed reboot of MON-0003 shows BED-003 offline" \
  eval 'eval "$reboot_cmd" >/dev/null && until_true "[ \"\$(bed3_online)\" = False ]"'

# ---- 4. the hospital away on its schedule, as the operator CLI shows it -------------------
long_until() {  # until_true with room for H003's schedule (60 s up, 40 s away)
  local deadline=$((SECONDS + 150))
  until eval "$1" >/dev/null 2>&1; do [ "$SECONDS" -lt "$deadline" ] || return 1; sleep 0.5; done
}
check "the printed fleet command lists the three hospitals" \
  eval '(cd "$src" && $fleet_cmd) >"$work/fleet.txt" && grep -q H001 "$work/fleet.txt" && grep -q H002 "$work/fleet.txt" && grep -q H003 "$work/fleet.txt"'
check "H003 leaves on its schedule and the fleet shows it offline" \
  long_until '(cd "$src" && $fleet_cmd --state offline) | grep -q H003'
today=$(date -u +%F)
booking='{"orderId": "O-AWAY-1", "slotId": "S-DR-101-'$today'-08:00",
  "slot": {"doctorId": "DR-101", "departmentId": "D-INT", "date": "'$today'", "start": "08:00", "end": "08:15", "half": "AM", "feeCents": 2500},
  "patient": {"id": "P-DEMO-1", "birthDate": "1980-01-01", "sex": "female"}}'
curl -s -D "$work/away.headers" -o "$work/away.json" -X POST -H "Content-Type: application/json" "${auth[@]}" \
  --data "$booking" "$api/api/v1/hospitals/H003/appointments"
check "a booking at the away hospital is 503 hospital.offline with Retry-After, at once" \
  eval 'grep -q "^HTTP/1.1 503" "$work/away.headers" && grep -qi "^Retry-After:" "$work/away.headers" && grep -q hospital.offline "$work/away.json"'
check "the printed triage command lists it under its owner" \
  until_true '(cd "$src" && $triage_cmd) >"$work/triage.txt" && grep -q hospital.offline "$work/triage.txt" && grep -q hospital-it "$work/triage.txt"'
check "the printed alerts command shows agent.offline firing for H003" \
  long_until '(cd "$src" && $alerts_cmd --state firing --hospital H003) | grep -q agent.offline'
check "H003 comes back on its own and the alert resolves" \
  long_until '(cd "$src" && $fleet_cmd --state online) | grep -q H003 &&
              (cd "$src" && $alerts_cmd --state resolved --hospital H003) | grep -q agent.offline'

# ---- 5. SIGTERM stops it all --------------------------------------------------------------
kill -TERM "$demo_pid"
wait "$demo_pid"
status=$?
demo_pid=""
check "SIGTERM stops the demo with status 0" [ "$status" -eq 0 ]
check "saying so" grep -q "demo: stopped; logs are in $run/logs" "$work/demo.out"
check "and none of its processes is left" eval '[ -z "$(left_in "$run")" ]'

# ---- 6. a process that cannot start ------------------------------------------------------
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); time.sleep(600)' \
  >"$work/busy.port" &
blocker_pid=$!
until_true '[ -s "$work/busy.port" ]'
busy=$(cat "$work/busy.port")
broken="$work/broken"
DEMO_RUN_DIR="$broken" DEMO_BUILD_DIR="$build" DEMO_API_PORT="$busy" "$src/scripts/demo" >"$work/broken.out" 2>&1
status=$?
check "a control plane that cannot take its port makes the demo exit 1" [ "$status" -eq 1 ]
check "saying which process failed, while waiting for what" \
  grep -q "demo: start-up failed: controlplane exited with status [0-9]* while waiting for all 3 hospitals online" "$work/broken.out"
check "showing the end of its output" eval 'grep -A5 "start-up failed" "$work/broken.out" | grep -qi "address\|port\|bind"'
check "and leaving none of its processes" eval '[ -z "$(left_in "$broken")" ]'

echo "---- the demo's output"
cat "$work/demo.out"
echo "---- the failed demo's output"
cat "$work/broken.out"
[ "$failures" -eq 0 ]
