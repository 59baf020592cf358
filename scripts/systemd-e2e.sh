#!/usr/bin/env bash
# make systemd-e2e: the Debian package under a real systemd. Builds raqam_VERSION_amd64.deb
# (scripts/make-deb.sh), boots a debootstrap-made Debian 12 with no Swift in systemd-nspawn
# (systemd as PID 1), installs the package with dpkg and checks, as an admin would:
#   the service enabled and started by the package (Type=notify), unit verified with its man
#   pages, man pages and bash completion, the entities registered and an event appended
#   through the control socket, an HTTP report with a token, the alert read back with
#   `journalctl -u raqamd` and its catalog text with -x; who may do what: a user in group
#   raqam appends through the socket, one in raqam-read queries but cannot append, one in
#   neither is refused both; reload; an upgrade to a newer build keeps the log and restarts
#   raqamd; `apt-get remove` stops it and keeps the data; `purge` deletes the data.
# Needs root. The pristine rootfs is kept in $RAQAM_E2E_ROOTFS (default
# /var/tmp/raqam-e2e-rootfs) for the next run; each run boots a fresh copy of it.
# RAQAM_E2E_DEB=PATH checks a package built before instead of building one. Exit 0 when
# every check passed.
set -euo pipefail
cd "$(dirname "$0")/.."
pristine=${RAQAM_E2E_ROOTFS:-/var/tmp/raqam-e2e-rootfs}
rootfs=$pristine.run
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
# The container has what a minimal Debian 12 server has, plus man-db (to read the pages) and
# init-system-helpers (deb-systemd-helper, which the package depends on). No Swift.
if [ ! -x "$pristine/lib/systemd/systemd" ] || [ ! -x "$pristine/usr/bin/deb-systemd-helper" ] || [ ! -x "$pristine/usr/bin/man" ]; then
    step "debootstrap of Debian 12 into $pristine (once; about a minute and a half)"
    rm -rf "$pristine"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,libstdc++6,init-system-helpers,man-db,passwd bookworm "$pristine" > /tmp/raqam-e2e-debootstrap.log 2>&1 \
        || { tail -20 /tmp/raqam-e2e-debootstrap.log; fail "debootstrap"; }
fi

if [ -n "${RAQAM_E2E_DEB:-}" ]; then
    deb=$RAQAM_E2E_DEB   # a package built before (the checks only, for a quicker rerun)
else
    step "make deb"
    deb=$(scripts/make-deb.sh .build-deb) || fail "make deb"
fi
version=$(dpkg-deb -f "$deb" Version)
# The newer build an upgrade installs: the same files under a higher version.
newer_version="$version+e2e1"
rm -rf .build-deb/newer && dpkg-deb -R "$deb" .build-deb/newer
sed -i "s/^Version: .*/Version: $newer_version/" .build-deb/newer/DEBIAN/control
newer=.build-deb/raqam_${newer_version}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build .build-deb/newer "$newer" >/dev/null

step "a fresh copy of the container's root"
rm -rf "$rootfs"
cp -a "$pristine" "$rootfs"
cp "$deb" "$rootfs/root/raqam.deb"
cp "$newer" "$rootfs/root/raqam-newer.deb"

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
# A command as one of the container's users, with a login environment.
as() { local user=$1; shift; inside runuser -u "$user" -- env HOME="/home/$user" "$@"; }
for _ in $(seq 1 100); do
    state=$(inside systemctl is-system-running 2>/dev/null || true)
    case "$state" in running|degraded) break ;; esac
    sleep 0.3
done
step "systemd in the container is $state"
inside sh -c 'command -v swift' >/dev/null 2>&1 && fail "the container has a swift"

step "dpkg -i raqam $version (the package creates the user, enables and starts raqamd)"
out=$(inside dpkg -i /root/raqam.deb 2>&1) || fail "dpkg -i: $out"
inside systemctl is-enabled raqamd >/dev/null || fail "the package did not enable raqamd"
inside systemctl is-active raqamd >/dev/null || { inside journalctl -u raqamd --no-pager | tail -20; fail "the package did not start raqamd"; }
missing=$(inside ldd /usr/sbin/raqamd /usr/bin/raqamctl | grep "not found" || true)
[ -z "$missing" ] || fail "libraries missing: $missing"
out=$(inside stat -c '%U:%G %a' /var/lib/raqam)
[ "$out" = "raqam:raqam-read 2750" ] || fail "/var/lib/raqam is $out, not raqam:raqam-read 2750"
out=$(inside stat -c '%U:%G %a' /run/raqam/raqamd.sock)
[ "$out" = "raqam:raqam 660" ] || fail "the socket is $out, not raqam:raqam 660"
out=$(inside systemd-analyze verify /usr/lib/systemd/system/raqamd.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify (its man: links checked too) said: $out"
status_text=$(inside systemctl show raqamd -p StatusText)
contains "$status_text" "events;" || fail "no STATUS= from raqamd: $status_text"

step "man pages and completions"
for page in raqamctl raqamd raqamd.yaml; do
    out=$(inside env MANWIDTH=80 man "$page" 2>&1 >/dev/null) || fail "man $page"
    [ -z "$out" ] || fail "man $page warned: $out"
done
text=$(inside env MANWIDTH=80 man raqamctl 2>/dev/null)
for sub in init append events show summary lagging explain alerts status reload verify stats rules tokens; do
    contains "$text" "^ *$sub\( \|$\)" || fail "raqamctl(1) lacks the subcommand $sub"
done
inside bash -n /usr/share/bash-completion/completions/raqamctl || fail "bash -n on the completion script"
out=$(inside bash -c 'source /usr/share/bash-completion/completions/raqamctl && complete -p raqamctl') || fail "complete -p raqamctl"
contains "$out" "raqamctl" || fail "complete -p raqamctl: $out"

step "entities and an event through the control socket (root)"
out=$(inside raqamctl init 2>&1) || true
contains "$out" "registered 316 new entities" || fail "init through the socket: $out"
now=$(date +%Y-%m-%dT%H:%M:%S%:z)
out=$(echo '{"type":"assessment.recorded","subject":"district:1703202","occurred_at":"'"$now"'","data":{"organized":false,"score":31}}' \
    | inside raqamctl append - 2>&1) || true
contains "$out" "appended 1 event" || fail "append through the socket: $out"

step "an HTTP report with a token (raqamd's own listener, 127.0.0.1:8470, under the hardened unit)"
token=$(as raqam raqamctl tokens issue district:1703202 --role report 2>/dev/null) || fail "tokens issue as the raqam user"
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

step "who may do what: alice in raqam, bob in raqam-read, carol in neither"
inside useradd -m -G raqam alice
inside useradd -m -G raqam-read bob
inside useradd -m carol
count() { inside raqamctl stats -o json | sed -n 's/.*"events" *: *\([0-9]*\).*/\1/p' | head -1; }
before=$(count)
[ -n "$before" ] || fail "raqamctl stats -o json has no event count: $(inside raqamctl stats -o json)"
event='{"type":"training.reported","subject":"district:1703202","occurred_at":"'"$now"'","data":{"staff":12,"trained":6}}'
out=$(echo "$event" | as alice raqamctl append - 2>&1) || fail "alice (group raqam) could not append: $out"
contains "$out" "appended 1 event" || fail "alice's append: $out"
out=$(as alice raqamctl status 2>&1) || fail "alice (group raqam) could not ask status: $out"
[ "$(count)" = $((before + 1)) ] || fail "alice's event is not in the log"
out=$(as bob raqamctl events --subject district:1703202 -o ndjson 2>&1) || fail "bob (group raqam-read) could not query: $out"
contains "$out" '"trained":6' || fail "bob's query lacks alice's event: $out"
out=$(as bob raqamctl show district:1703202 2>&1) || fail "bob could not show a district: $out"
out=$(as bob raqamctl alerts 2>&1) || fail "bob could not read the alerts: $out"
if out=$(echo "$event" | as bob raqamctl append - 2>&1); then fail "bob (raqam-read) appended: $out"; fi
contains "$out" "ermission" || fail "bob's refused append does not say why: $out"
for cmd in "events" "append -"; do
    if out=$(echo "$event" | as carol raqamctl $cmd 2>&1); then fail "carol (no group) could run raqamctl $cmd: $out"; fi
    contains "$out" "ermission" || fail "carol's refused raqamctl $cmd does not say why: $out"
done
[ "$(count)" = $((before + 1)) ] || fail "a refused append stored something"

step "systemctl reload raqamd"
inside systemctl reload raqamd || fail "reload"

step "upgrade to $newer_version: the log kept, raqamd restarted"
events_before=$(count)
pid_before=$(inside systemctl show raqamd -p MainPID --value)
out=$(inside dpkg -i /root/raqam-newer.deb 2>&1) || fail "dpkg -i of the newer build: $out"
[ "$(inside dpkg-query -W -f '${Version}' raqam)" = "$newer_version" ] || fail "the newer build is not installed"
inside systemctl is-active raqamd >/dev/null || { inside journalctl -u raqamd --no-pager | tail -20; fail "raqamd is not running after the upgrade"; }
pid_after=$(inside systemctl show raqamd -p MainPID --value)
[ "$pid_after" != "$pid_before" ] || fail "the upgrade did not restart raqamd (pid $pid_before)"
[ "$(count)" = "$events_before" ] || fail "the upgrade lost events: $events_before before, $(count) after"
restarts=$(inside systemctl show raqamd -p NRestarts --value)
[ "$restarts" = 0 ] || fail "raqamd was restarted $restarts times by systemd (it failed)"

step "apt-get remove: raqamd stopped, the data and configuration kept"
out=$(inside env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q raqam 2>&1) || fail "apt-get remove: $out"
inside systemctl is-active raqamd >/dev/null && fail "raqamd still runs after apt-get remove"
status=$(inside systemctl show raqamd -p ExecMainStatus --value)
[ "$status" = 0 ] || fail "raqamd exited $status on stop"
inside test -d /var/lib/raqam/events || fail "apt-get remove deleted the log"
inside test -f /etc/raqam/raqamd.yaml || fail "apt-get remove deleted the configuration"
step "apt-get purge: the data deleted"
out=$(inside env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q raqam 2>&1) || fail "apt-get purge: $out"
inside test -e /var/lib/raqam && fail "purge left /var/lib/raqam"
inside test -e /etc/raqam/raqamd.yaml && fail "purge left /etc/raqam/raqamd.yaml"
step "passed: installed from the .deb with no Swift, started, an HTTP report stored, alert read with journalctl -u raqamd, group access as designed, reloaded, upgraded with the log kept, removed keeping the data, purged"
