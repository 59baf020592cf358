#!/usr/bin/env bash
# make systemd-e2e: raqamd under a real systemd. Boots a debootstrap-made Debian 12 in
# systemd-nspawn (systemd as PID 1), installs the unit, the catalog and the rules as
# `make install` does, starts raqamd, registers the entities and feeds an event through the
# control socket, and reads the alert back with `journalctl -u raqamd`. Then reload and stop.
# Needs root. The rootfs is kept in $RAQAM_E2E_ROOTFS (default /var/tmp/raqam-e2e-rootfs) for
# the next run. Exit 0 when every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
rootfs=${RAQAM_E2E_ROOTFS:-/var/tmp/raqam-e2e-rootfs}
machine=raqam-e2e
started=$(date +%s)
step() { echo "systemd-e2e [$(( $(date +%s) - started ))s]: $*"; }
fail() { echo "systemd-e2e: FAILED: $*" >&2; exit 1; }
# Output is captured before it is searched: `cmd | grep -q` under pipefail fails whenever grep
# stops reading before cmd has written everything (cmd dies of SIGPIPE).
contains() { grep -q -- "$2" <<<"$1"; }

for tool in debootstrap systemd-nspawn; do
    command -v $tool >/dev/null || { step "installing $tool"; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap systemd-container >/dev/null; }
done
if [ ! -x "$rootfs/lib/systemd/systemd" ]; then
    step "debootstrap of Debian 12 into $rootfs (once; about a minute and a half)"
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libstdc++6 bookworm "$rootfs" > /tmp/raqam-e2e-debootstrap.log 2>&1 \
        || { tail -20 /tmp/raqam-e2e-debootstrap.log; fail "debootstrap"; }
fi

step "building raqamd and raqamctl with the Swift runtime linked in"
swift build -c release --static-swift-stdlib --scratch-path .build-static --product raqamd > /tmp/raqam-e2e-build.log 2>&1 || { tail -20 /tmp/raqam-e2e-build.log; fail "build"; }
swift build -c release --static-swift-stdlib --scratch-path .build-static --product raqamctl >> /tmp/raqam-e2e-build.log 2>&1 || { tail -20 /tmp/raqam-e2e-build.log; fail "build"; }

step "installing into the container's root"
install -d "$rootfs/usr/local/bin" "$rootfs/etc/raqam/rules" "$rootfs/usr/lib/systemd/catalog"
install -m 0755 .build-static/release/raqamd .build-static/release/raqamctl "$rootfs/usr/local/bin/"
install -m 0644 rules/*.yaml "$rootfs/etc/raqam/rules/"
install -m 0644 systemd/raqamd.yaml "$rootfs/etc/raqam/raqamd.yaml"
install -m 0644 systemd/raqamd.service "$rootfs/etc/systemd/system/raqamd.service"
install -m 0644 systemd/raqamd.catalog "$rootfs/usr/lib/systemd/catalog/raqamd.catalog"
rm -rf "$rootfs/var/lib/raqam" "$rootfs/var/lib/private/raqam"

step "booting it (systemd-nspawn -b)"
systemd-nspawn -q -b --register=no --keep-unit -D "$rootfs" -M "$machine" > /tmp/raqam-e2e-boot.log 2>&1 &
nspawn=$!
cleanup() { kill "$nspawn" 2>/dev/null; wait "$nspawn" 2>/dev/null || true; }
trap cleanup EXIT
pid=""
for _ in $(seq 1 100); do
    pid=$(pgrep -P "$nspawn" -x systemd || true)
    [ -n "$pid" ] && break
    sleep 0.2
done
[ -n "$pid" ] || fail "no systemd in the container"
inside() { nsenter -t "$pid" -a "$@"; }
for _ in $(seq 1 100); do
    state=$(inside systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 0.3
done
step "systemd in the container is $state"

inside journalctl --update-catalog
inside systemd-analyze verify /etc/systemd/system/raqamd.service || fail "systemd-analyze verify in the container"
inside systemctl daemon-reload
step "systemctl start raqamd (Type=notify: returns after READY=1)"
inside systemctl start raqamd || { inside journalctl -u raqamd --no-pager | tail -20; fail "raqamd did not start"; }
status_text=$(inside systemctl show raqamd -p StatusText)
contains "$status_text" "events;" || fail "no STATUS= from raqamd: $status_text"
out=$(inside raqamctl init --state-dir /var/lib/raqam 2>&1) || true
contains "$out" "registered 316 new entities" || fail "init through the socket: $out"
now=$(date +%Y-%m-%dT%H:%M:%S%:z)
out=$(echo '{"type":"assessment.recorded","subject":"district:1703202","occurred_at":"'"$now"'","data":{"organized":false,"score":31}}' \
    | inside raqamctl append --state-dir /var/lib/raqam - 2>&1) || true
contains "$out" "appended 1 event" || fail "append through the socket: $out"
step "an HTTP report with a token (raqamd's own listener, 127.0.0.1:8470, under the hardened unit)"
token=$(inside raqamctl tokens issue district:1703202 --role report --state-dir /var/lib/raqam 2>/dev/null) || fail "tokens issue"
answer=$(curl -s -w ' %{http_code}' -H "Authorization: Bearer $token" -H 'Content-Type: application/x-ndjson' \
    --data-binary '{"type":"training.reported","subject":"district:1703202","occurred_at":"'"$now"'","data":{"staff":10,"trained":4}}' \
    http://127.0.0.1:8470/v1/events) || true
contains "$answer" '"status":"ok"' || { inside journalctl -u raqamd --no-pager | tail -20; fail "POST /v1/events under systemd: $answer"; }
contains "$answer" " 200" || fail "POST /v1/events did not answer 200: $answer"
step "reading the alert with journalctl -u raqamd"
found=""
for _ in $(seq 1 50); do
    found=$(inside journalctl -u raqamd -o json --no-pager RAQAM_RULE=DistrictDigitalizationNotOrganized RAQAM_ENTITY=district:1703202 || true)
    [ -n "$found" ] && break
    sleep 0.2
done
[ -n "$found" ] || { inside journalctl -u raqamd --no-pager | tail -20; fail "no alert entry in the container's journal"; }
contains "$found" '"RAQAM_STATE":"firing"' || fail "the entry is not a firing one: $found"
contains "$found" '"MESSAGE":"Altinkul District: digitalization not organized at the proper level (score 31)"' || fail "unexpected MESSAGE: $found"
explained=$(inside journalctl -u raqamd -x --no-pager RAQAM_RULE=DistrictDigitalizationNotOrganized 2>&1) || true
contains "$explained" "raqam alert firing" || fail "the catalog text is not shown by journalctl -x: $explained"
step "systemctl reload raqamd, then stop"
inside systemctl reload raqamd || fail "reload"
inside systemctl stop raqamd
status=$(inside systemctl show raqamd -p ExecMainStatus --value)
[ "$status" = 0 ] || fail "raqamd exited $status on stop"
restarts=$(inside systemctl show raqamd -p NRestarts --value)
[ "$restarts" = 0 ] || fail "raqamd was restarted $restarts times"
step "passed: started under systemd, an HTTP report stored, alert read with journalctl -u raqamd, reloaded, stopped with status 0"
