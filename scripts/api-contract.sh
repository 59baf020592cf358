#!/usr/bin/env bash
# The HTTP API against its contract: a bounded schemathesis run (PyPI, pinned) against a real
# raqamd on loopback with docs/api.yaml. Fails on any 5xx, any answer that does not match the
# schema (status, content type, headers, body), a method a path does not list answered other
# than 405, or raqamd not stopping cleanly afterwards (exit 0).
#   scripts/api-contract.sh BIN_DIR [MAX_EXAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cd "$1" && pwd)
examples=${2:-50}
venv=.build/venv
if ! "$venv/bin/schemathesis" --version >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q schemathesis==4.32.5
fi
dir=$(mktemp -d /tmp/raqam-contract.XXXXXX)
trap 'kill -TERM "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/raqamctl" init --state-dir "$dir/state" >/dev/null
token=$("$bin/raqamctl" tokens issue nation --role admin --note "schemathesis" --state-dir "$dir/state" 2>/dev/null)
SWIFT_BACKTRACE=enable=no "$bin/raqamd" --state-dir "$dir/state" --socket "$dir/raqamd.sock" --rules rules \
    --http-listen "127.0.0.1:$port" 2>"$dir/raqamd.log" &
pid=$!
for _ in $(seq 1 200); do
    curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
    kill -0 "$pid" 2>/dev/null || { cat "$dir/raqamd.log"; echo "api-contract: raqamd did not start"; exit 1; }
    sleep 0.1
done
# positive_data_acceptance and negative_data_rejection are left out: the schema describes the
# shape of an event, not the domain's rules (a registered subject, a date in range), which the
# server checks and answers 422 or 400 for, as docs/api.md says.
"$venv/bin/schemathesis" run docs/api.yaml --url "http://127.0.0.1:$port" -H "Authorization: Bearer $token" \
    --checks all --exclude-checks positive_data_acceptance,negative_data_rejection \
    --max-examples "$examples" --seed 2021 --workers 2 --generation-allow-x00 false
kill -0 "$pid" || { cat "$dir/raqamd.log"; echo "api-contract: raqamd died during the run"; exit 1; }
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
[ "$status" = 0 ] || { tail -20 "$dir/raqamd.log"; echo "api-contract: raqamd exited $status after the run"; exit 1; }
echo "api-contract: schemathesis found no failure; raqamd stopped cleanly"
