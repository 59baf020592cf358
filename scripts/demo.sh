#!/usr/bin/env bash
# make demo: raqamd in the foreground on a fresh state directory with the bundled rules; the
# H1-2021 scenario (raqamctl demo) streamed into it month by month through its control socket,
# with the alerts each month brought (from the journal when journald runs, else from raqamd's
# standard error); then who lags on 30 June 2021, grouped by region, and the nation against its
# targets. raqamd is stopped with SIGTERM and must exit 0.
#   scripts/demo.sh STATE_PARENT_DIR BIN_DIR [SEED]
set -euo pipefail
# The demo prints its listings straight to the terminal: no pager waiting for a key.
export RAQAM_PAGER=cat
cd "$(dirname "$0")/.."
dir=$1
bin=$(cd "$2" && pwd)
seed=${3:-2021}
state=$dir/state
sock=$dir/raqamd.sock
ctl() { local command=$1; shift; "$bin/raqamctl" "$command" --state-dir "$state" --socket "$sock" "$@"; }
# status and reload talk to raqamd alone: no state directory.
ask() { local command=$1; shift; "$bin/raqamctl" "$command" --socket "$sock" "$@"; }
say() { printf '%s\n' "$*"; }
started=$(date +%s)

say "raqam demo: the Digital Uzbekistan 2030 programme from the decree of 5 October 2020 to 30 June 2021"
say "  state directory: $state"
mkdir -p "$dir"
"$bin/raqamctl" demo --seed "$seed" --output "$dir/h1-2021.ndjson"
# The events clock: the rules measure time by when events occurred, as a replay of history must.
ctl init --clock events --effective 2020-10-05 >/dev/null

# Tokens for the HTTP API (raqamctl tokens): the programme office reads, Andijan's regional
# hokimiyat reports about its region and districts. Printed once; raqam keeps their SHA-256.
"$bin/raqamctl" tokens issue nation --state-dir "$state" --role read --note "demo: programme office" > "$dir/office.token" 2>/dev/null
"$bin/raqamctl" tokens issue region:1703 --state-dir "$state" --role report --note "demo: Andijan regional hokimiyat" > "$dir/andijan.token" 2>/dev/null
# The HTTP API on a free loopback port (8470, raqamd's default, when it is free).
port=8470
if ! python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
fi
api="http://127.0.0.1:$port"

# An Alertmanager on loopback when one is installed (make deps installs Debian's): raqamd hands
# it every alert, as Prometheus would (docs/alerting.md).
am_url=""
config=()
if command -v prometheus-alertmanager >/dev/null; then
    am_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    printf 'route:\n  receiver: programme-office\n  group_by: [alertname, region]\nreceivers:\n  - name: programme-office\n' > "$dir/alertmanager.yml"
    prometheus-alertmanager --config.file="$dir/alertmanager.yml" --storage.path="$dir/alertmanager" \
        --web.listen-address="127.0.0.1:$am_port" --cluster.listen-address= 2>"$dir/alertmanager.log" &
    am=$!
    am_url="http://127.0.0.1:$am_port"
    for _ in $(seq 1 100); do curl -sf "$am_url/-/ready" >/dev/null 2>&1 && break; sleep 0.1; done
    printf 'alertmanager:\n  urls: [%s]\n  resend_delay: 10s\n' "$am_url" > "$dir/raqamd.yaml"
    config=(--config "$dir/raqamd.yaml")
fi

# raqamd in the foreground of this script; its standard error kept for the fallback and for
# whoever wants to read it.
"$bin/raqamd" --state-dir "$state" --rules rules --socket "$sock" --clock events --http-listen "127.0.0.1:$port" "${config[@]}" 2>"$dir/raqamd.log" &
raqamd=$!
stop() {
    if kill -0 "$raqamd" 2>/dev/null; then kill -TERM "$raqamd"; wait "$raqamd" || true; fi
    if [ -n "${am:-}" ] && kill -0 "$am" 2>/dev/null; then kill -TERM "$am"; wait "$am" 2>/dev/null || true; fi
}
trap stop EXIT
for _ in $(seq 1 100); do
    [ -S "$sock" ] && ask status >/dev/null 2>&1 && break
    kill -0 "$raqamd" 2>/dev/null || { cat "$dir/raqamd.log"; say "raqam demo: raqamd did not start"; exit 1; }
    sleep 0.1
done
say "  raqamd running (pid $raqamd), control socket $sock, HTTP API $api"
say "  a read token for the programme office is in $dir/office.token (curl -H \"Authorization: Bearer \$(cat $dir/office.token)\" $api/v1/status)"

# Where alerts show: the journal when journald listens (raqamd checks the same socket).
firing_id=1dce8befec544ea59fd2724f1e0048ba
resolved_id=9a7393d29fde4da49bba7da39df0c30c
if echo | systemd-cat -t raqam-demo 2>/dev/null; then
    source="journal"
    alerts() { journalctl _PID="$raqamd" MESSAGE_ID=$firing_id MESSAGE_ID=$resolved_id -o cat --no-pager 2>/dev/null || true; }
    say "  alerts read back with: journalctl _PID=$raqamd MESSAGE_ID=$firing_id MESSAGE_ID=$resolved_id"
else
    source="stderr"
    alerts() { sed -n 's/^raqamd\[[a-z]*\]: \(.*\) (.*RAQAM_RULE=.*$/\1/p' "$dir/raqamd.log"; }
    say "  no journald listens: alerts read from raqamd's standard error ($dir/raqamd.log)"
fi

say ""
say "Streaming the scenario into raqamd, a month at a time:"
seen=0
for month in 2020-10 2020-11 2020-12 2021-01 2021-02 2021-03 2021-04 2021-05 2021-06; do
    grep -F "\"occurred_at\":\"$month-" "$dir/h1-2021.ndjson" > "$dir/month.ndjson" || true
    appended=$(ctl append "$dir/month.ndjson")
    count=$(wc -l < "$dir/month.ndjson")
    # Acknowledgements wait for the disk only: wait until raqamd has evaluated and delivered.
    ask status --wait > /dev/null
    # journald files entries asynchronously: read until the count settles.
    previous=-1
    for _ in $(seq 1 20); do
        alerts > "$dir/alerts.txt"
        total=$(wc -l < "$dir/alerts.txt")
        [ "$total" = "$previous" ] && break
        previous=$total
        sleep 0.1
    done
    tail -n +$((seen + 1)) "$dir/alerts.txt" > "$dir/new.txt"
    seen=$total
    resolved=$(grep -c '^Resolved: ' "$dir/new.txt" || true)
    fired=$(( $(wc -l < "$dir/new.txt") - resolved ))
    firing=$(ask status | awk '$1 == "firing" { print $2 }')
    printf '  %s  %5d events  %4d alerts fired, %4d resolved, %4s firing  (%s)\n' "$month" "$count" "$fired" "$resolved" "${firing:-?}" "${appended% (*}"
    grep -v '^Resolved: ' "$dir/new.txt" | tail -n 2 | sed 's/^/      firing: /' || true
done
rm -f "$dir/month.ndjson" "$dir/new.txt"

say ""
say "A report over the HTTP API (POST /v1/events): Andijan's hokimiyat reports Asaka District's training of 1 July, with its token (after the day the report below looks at):"
cat > "$dir/asaka-training.ndjson" <<'JSON'
{"type":"training.reported","subject":"district:1703224","occurred_at":"2021-07-01T10:00:00+05:00","source":"whatever the body claims","data":{"staff":120,"trained":96}}
JSON
curl -s -H "Authorization: Bearer $(cat "$dir/andijan.token")" -H 'Content-Type: application/x-ndjson' \
     --data-binary @"$dir/asaka-training.ndjson" "$api/v1/events" > "$dir/asaka-training.summary.json"
python3 - "$dir/asaka-training.summary.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
r = s["receipt"] or {}
print(f"  {s['status']}: {s['counts']['stored']} stored at seq {s['seqs'][0]}; receipt: seq {r.get('first_seq')}…{r.get('last_seq')}, chain {r.get('chain', '')[:16]}…")
PY
ctl events --subject district:1703224 --type training.reported -o ndjson | tail -1 | python3 -c 'import json,sys; e=json.load(sys.stdin); print("  stored with source \"" + e["source"] + "\" (the token'"'"'s, not the body'"'"'s)")'
"$bin/raqamctl" verify --state-dir "$state" --receipt "$dir/asaka-training.summary.json" | tail -1 | sed 's/^/  raqamctl verify --receipt: /'
other=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$dir/andijan.token")" -H 'Content-Type: application/x-ndjson' \
     --data-binary '{"type":"training.reported","subject":"district:1706204","occurred_at":"2021-06-30T17:00:00+05:00","data":{"staff":10,"trained":1}}' "$api/v1/events")
say "  the same token reporting about a district of Bukhara region: HTTP $other, nothing stored"

if [ -n "$am_url" ]; then
    say ""
    say "The alerts in Alertmanager ($am_url), where routing to e-mail and webhooks, grouping and silences are configured:"
    count() { amtool --alertmanager.url="$am_url" alert query -o json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0; }
    n=0
    for _ in $(seq 1 100); do n=$(count); [ "$n" -gt 0 ] && break; sleep 0.1; done
    say "  $n alerts firing there (amtool --alertmanager.url=$am_url alert query); those of Andijan region's districts:"
    amtool --alertmanager.url="$am_url" alert query scope=district region=region:1703 > "$dir/alertmanager-andijan.txt" 2>/dev/null || true
    head -6 "$dir/alertmanager-andijan.txt" | sed 's/^/  /'
fi
say ""
say "The web view ($api/, sign in with the programme office's token in $dir/office.token): the nation page as of 30 June 2021 reads"
curl -s -H "Authorization: Bearer $(cat "$dir/office.token")" "$api/?at=2021-06-30" > "$dir/nation.html"
python3 - "$dir/nation.html" <<'PY' | sed 's/^/  /'
import html, re, sys
page = open(sys.argv[1], encoding="utf-8").read()
for row in re.findall(r'<tr id="figure-[^"]*"[^>]*>(.*?)</tr>', page, re.S):
    cells = [html.unescape(re.sub(r"<[^>]+>", " ", c)).split() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)]
    label, value, target, progress, pace = (" ".join(c) for c in cells)
    print(f"{label:32} {value:>20}" + (f"  of {target} ({progress}{', pace ' + pace if pace else ''})" if target else ""))
PY
say "  (also $api/lagging, $api/lagging.csv, $api/regions/region:1703 and $api/subjects/district:1703202, each with ?at=, ?known_at= and ?lang=uz or ru)"
say ""
say "Who lags on 30 June 2021 (raqamctl lagging --at 2021-06-30), by region:"
ctl lagging --at 2021-06-30
say ""
say "The nation against its targets (raqamctl show nation --at 2021-06-30, the programme's figures):"
ctl show nation --at 2021-06-30 | grep -E '^(METRIC|projects\.(sector|regional)\.|services\.|economy\.|export\.|targets\..*\.(value|current|progress|expected|pace) )'
say ""
stop
trap - EXIT
status=0; wait "$raqamd" 2>/dev/null || status=$?
say "raqamd stopped with SIGTERM (exit status $status); the demo took $(( $(date +%s) - started )) s."
say ""
say "Explore it (the state directory stays until you remove it):"
say "  export RAQAM_STATE_DIR=$state"
say "  $bin/raqamctl lagging --at 2021-06-30 --scope district -o json"
say "  $bin/raqamctl show district:1703202 --at 2021-06-30"
say "  $bin/raqamctl summary --scope region --at 2021-06-30"
say "  $bin/raqamctl events --subject org:ministry-digital-technologies"
say "  $bin/raqamctl alerts --history | tail"
say "  $bin/raqamctl tokens list                      # the HTTP API's tokens, never the tokens themselves"
say "  $bin/raqamd --state-dir $state --rules rules --clock events --http-listen 127.0.0.1:8080   # then open http://127.0.0.1:8080/?at=2021-06-30 and sign in with $dir/office.token"
if [ "$source" = journal ]; then
    say "  journalctl _PID=$raqamd -p warning            # the alerts raqamd sent"
    say "  journalctl RAQAM_RULE=DistrictDigitalizationNotOrganized RAQAM_STATE=firing -o verbose"
else
    say "  less $dir/raqamd.log                          # the alerts raqamd wrote"
fi
