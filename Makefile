# raqam: the two entry points are `make demo` and `make test`; both install what they need
# on a fresh Debian machine (as root, or with sudo).

SWIFT    ?= swift
PREFIX   ?= /usr/local
DEBS     := libsystemd-dev libsqlite3-dev pkg-config util-linux systemd zlib1g-dev curl openssl python3 python3-venv lintian prometheus-alertmanager chromium chromium-driver
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_DIR ?= $(shell mktemp -d /tmp/raqam-demo.XXXXXX)

.PHONY: browser-venv all deps journald build release test demo bench torture fuzz install deb systemd-e2e clean

all: build

# Debian packages the build and the tests need; apt runs only when one is missing.
deps:
	@missing=""; for p in $(DEBS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi
	@command -v $(SWIFT) >/dev/null || { echo "swift is not on the PATH: install Swift 6 (https://www.swift.org/install/linux/)"; exit 1; }

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# A one-minute run of each fuzz target, then every test, against real files, real fsync,
# real processes and a real tmpfs (needs root). The test runner's summary comes last.
# The journal tests read entries back from a real journald: start a standalone one when none
# listens (this machine's systemd is not PID 1; under systemd one always runs).
journald: deps
	@echo | systemd-cat -t raqam-make 2>/dev/null || { echo "starting a standalone systemd-journald"; \
		setsid /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 & sleep 1; }

# selenium (PyPI) for the web view's browser tests, in a venv of its own.
BROWSER_VENV := .build/venv-browser
browser-venv: deps
	@$(BROWSER_VENV)/bin/python -c "import selenium" 2>/dev/null || { python3 -m venv $(BROWSER_VENV) && $(BROWSER_VENV)/bin/pip install -q selenium==4.51.0; }

test: deps journald browser-venv
	$(SWIFT) build --build-tests
	.build/debug/raqamctl rules check rules/
	.build/debug/raqamctl rules test rules/tests/*.yaml
	scripts/fuzz.sh 30
	# The HTTP API against docs/api.yaml: a bounded schemathesis run (PyPI) on a real raqamd.
	scripts/api-contract.sh .build/debug 50
	# The reload test on a 2 M-event log uses both cores for minutes: it runs alone first, so
	# that the timing-sensitive tests (kill -9, EMFILE, watchdog) do not share the machine with it.
	$(SWIFT) test --skip-build --filter ReloadUnderLoadTests
	$(SWIFT) test --skip-build --skip ReloadUnderLoadTests

# The libFuzzer targets, longer (FUZZ_SECONDS each).
FUZZ_SECONDS ?= 300
fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

# The main job on its bundled default: raqamd in the foreground on a fresh state directory with
# the bundled rules, the H1-2021 scenario streamed into it through the control socket, who lags
# on 30 June 2021 and the nation against its targets; raqamd stopped with SIGTERM.
# DEMO_SEED=N draws another scenario with the same figures.
DEMO_SEED ?= 2021
demo: release
	@scripts/demo.sh "$(DEMO_DIR)" .build/release $(DEMO_SEED)

# The benchmarks: the log beside SQLite in the same run, then rule evaluation (docs/performance.md).
bench: release journald
	.build/release/raqam-bench log
	.build/release/raqam-bench rules
	.build/release/raqam-bench daemon
	.build/release/raqam-bench http

# raqam broken on purpose (docs/robustness.md): kill -9 of raqamd under concurrent reporters
# and of raqamctl append, damage at every offset of the last frame and random bit flips, a full
# disk, the bad-input table through both entry points, socket abuse. Minutes long; needs root
# (tmpfs). TORTURE_ARGS="--kills 200" for a shorter run.
TORTURE_ARGS ?=
torture: release journald
	.build/release/raqam-bench torture --bin-dir .build/release $(TORTURE_ARGS)

# raqamd under a real systemd (PID 1 in systemd-nspawn); see scripts/systemd-e2e.sh.
systemd-e2e: deps
	scripts/systemd-e2e.sh

# Binaries (raqamd in sbin), the bundled rules (and /etc/raqam/rules and raqamd.yaml when there
# are none yet), the unit, sysusers.d and tmpfiles.d (the raqam user and groups, the state
# directory), the journal catalog, man pages, completions and docs (scripts/install-tree.sh);
# then the user, the state directory and the catalog are made (skipped with DESTDIR, for
# packaging). UNITDIR: where the unit goes.
UNITDIR ?= /etc/systemd/system
install: release
	RAQAM_DOCDIR=$(PREFIX)/share/doc/raqam scripts/install-tree.sh .build/release "$(DESTDIR)" $(PREFIX) $(UNITDIR)
	[ -n "$(DESTDIR)" ] || { systemd-sysusers raqam.conf && systemd-tmpfiles --create raqam.conf && journalctl --update-catalog; }

# The Debian package, raqam_VERSION_amd64.deb in .build-deb (scripts/make-deb.sh): the Swift
# runtime linked in, checked by lintian. DEB_VERSION=… sets its version.
deb: deps
	scripts/make-deb.sh .build-deb

clean:
	rm -rf .build .build-static .build-deb .build-manual
