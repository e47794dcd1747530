# godwit — build, check and test.
#
#   make deps           install MariaDB (Debian/apt) if missing, download Go modules;
#                       for a FLAVOR other than the host's, build its root too
#   make test           go vet, then go test ./... against a fresh sandbox (stopped afterwards)
#   make test-all       the same on each flavor in turn, then test-race on
#                       RACE_FLAVOR; fails if any failed
#   make test-race      go test -race over the packages that run goroutines
#                       (RACE_PKGS), against a fresh sandbox
#   make vet            go vet and the gofmt check
#   make docs           rewrite docs/cli.md and docs/output.md from the code (a test fails when they drift)
#   make roots          build the Debian roots of the chroot flavors that are missing
#   make longrun        a ROWS-row table migrated under writes through two SIGTERMs
#                       and a server restart, on a sandbox of its own (docs/longrun.md)
#   make sandbox-start  start the local primary + replica; settings in .sandbox/env,
#                       and .sandbox/my.cnf for godwit --defaults-file
#   make sandbox-stop   stop it and remove its files
#
# FLAVOR picks the sandbox's server for test, demo, bench and sandbox-*:
#   mariadb-10.11  the host's MariaDB (the default)
#   mariadb-11.8   Debian trixie's, run with chroot (needs root)
#   mysql-9.7      Debian sid's MySQL, run with chroot (needs root)
# The chroot flavors' roots are built once per machine (about a minute each,
# under /var/cache/godwit/roots or GODWIT_ROOTS_DIR), and their settings go
# to .sandbox-FLAVOR/env. For example:
#   make test FLAVOR=mysql-9.7
#
# To run one package's tests by hand:
#   make sandbox-start && . .sandbox/env && go test ./copier/
#   make sandbox-start FLAVOR=mysql-9.7 && . .sandbox-mysql-9.7/env && go test ./copier/
#
# CI is passed through to the tests from the environment: with CI=true an
# integration test fails instead of skipping when the sandbox is missing.

GO           ?= go
SANDBOX      := testdata/sandbox/sandbox.sh
WITH_SANDBOX := testdata/sandbox/with-sandbox.sh
ROOTS        := testdata/sandbox/roots.sh
FLAVORS      := mariadb-10.11 mariadb-11.8 mysql-9.7
FLAVOR       ?= $(or $(GODWIT_SANDBOX_FLAVOR),mariadb-10.11)
# Every recipe's sandbox is FLAVOR's.
export GODWIT_SANDBOX_FLAVOR := $(FLAVOR)
TEST_CMD     := $(GO) test -count=1 -timeout 45m ./...
# Three flavors must stay well inside CI's 90 minutes: a suite that hangs
# is cut at 25 (one takes about 10 on two cores).
TEST_ALL_CMD := $(GO) test -count=1 -timeout 25m ./...
# The race detector over the packages whose goroutines share state: the
# copier and its binlog stream, the throttler, the migration (status
# writer, lock keepalive, verifier), the pipeline, the writers of the
# tests. Measured on two busy cores: about 11 minutes, migrate's tests
# the longest (the others 1m40s together), so CI runs it on one flavor
# only (test-all), next to the three flavors' 12 minutes.
RACE_PKGS    ?= ./copier/ ./throttle/ ./migrate/ ./migrate/pipeline/ ./internal/workload/
RACE_FLAVOR  ?= mariadb-10.11
TEST_RACE_CMD := $(GO) test -race -count=1 -timeout 25m $(RACE_PKGS)

.PHONY: all deps roots build vet docs test test-all test-race demo bench longrun sandbox-start sandbox-stop sandbox-status

all: build

docs:
	$(GO) test -count=1 -run '^Test(CLIDocs|OutputDoc)UpToDate$$' ./cmd/godwit/ -update-docs

deps:
	@if { command -v mariadbd || [ -x /usr/sbin/mariadbd ]; } >/dev/null 2>&1 && \
	    command -v mariadb-admin >/dev/null 2>&1; then \
		echo "deps: MariaDB is installed"; \
	else \
		sudo=; \
		if [ "$$(id -u)" -ne 0 ]; then \
			command -v sudo >/dev/null 2>&1 || { echo "deps: need root or sudo to install mariadb-server" >&2; exit 1; }; \
			sudo=sudo; \
		fi; \
		set -x; \
		$$sudo apt-get update && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y mariadb-server mariadb-client openssl; \
	fi
	$(ROOTS) $(FLAVOR)
	$(GO) mod download

roots:
	$(ROOTS) all

build:
	$(GO) build -o bin/godwit ./cmd/godwit

vet:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi

# vet first: it needs no server, so it fails fast.
test: deps
	$(GO) vet ./...
	$(WITH_SANDBOX) $(TEST_CMD)

# Each flavor in turn, on to the next after a failure; the summary at the
# end says how each went and how long it took.
test-all: deps roots
	$(GO) vet ./...
	@failed=0; summary=; \
	for f in $(FLAVORS); do \
		echo "==== test-all: $$f"; \
		t0=$$(date +%s); \
		if GODWIT_SANDBOX_FLAVOR=$$f $(WITH_SANDBOX) $(TEST_ALL_CMD); then r=PASS; else r=FAIL; failed=1; fi; \
		line="$$f: $$r in $$(($$(date +%s) - t0))s"; \
		echo "==== test-all: $$line"; \
		summary="$$summary$$line\n"; \
	done; \
	echo "==== test-all: race detector on $(RACE_FLAVOR)"; \
	t0=$$(date +%s); \
	if GODWIT_SANDBOX_FLAVOR=$(RACE_FLAVOR) $(WITH_SANDBOX) $(TEST_RACE_CMD); then r=PASS; else r=FAIL; failed=1; fi; \
	summary="$${summary}$(RACE_FLAVOR) -race: $$r in $$(($$(date +%s) - t0))s\n"; \
	printf "==== test-all summary:\n$$summary"; \
	exit $$failed

test-race: deps
	$(WITH_SANDBOX) $(TEST_RACE_CMD)

sandbox-start:
	$(SANDBOX) start

sandbox-stop:
	$(SANDBOX) stop

sandbox-status:
	$(SANDBOX) status


# demo: a million-row table under a live write load, migrated with the
# progress bar showing (DEMO_ROWS=... for another size).
DEMO_ROWS ?= 1000000
demo: deps build
	$(WITH_SANDBOX) $(GO) run ./internal/demo -rows $(DEMO_ROWS)

# bench: godwit against a native ALTER TABLE ... ALGORITHM=COPY of the same
# table on the same server, idle and under a write load, at BENCH_ROWS rows
# times each of BENCH_SCALES (internal/bench/README.md). Prints a table and
# writes bench-results/<timestamp>.json; fails only when a run fails or its
# result does not verify, never on timings. More flags: BENCH_ARGS="-rate 2000".
BENCH_ROWS   ?= 1000000
BENCH_SCALES ?= 1,4
BENCH_ARGS   ?=
bench: deps build
	$(WITH_SANDBOX) $(GO) run ./internal/bench -rows $(BENCH_ROWS) -scales $(BENCH_SCALES) $(BENCH_ARGS)

# longrun: TestLongRun on a sandbox of its own (it restarts the server, so
# it must not share one), stopped afterwards. ROWS is scaled down, with a
# log line, when the disk or memory cannot hold it. Ports:
# GODWIT_SANDBOX_PORT / GODWIT_SANDBOX_REPLICA_PORT as for sandbox-start.
ROWS ?= 20000000
LONGRUN_STATE := $(CURDIR)/.sandbox-longrun-$(FLAVOR)
longrun: deps
	GODWIT_SANDBOX_STATE=$(LONGRUN_STATE) GODWIT_LONG_ROWS=$(ROWS) \
		$(WITH_SANDBOX) $(GO) test -count=1 -timeout 12h -v -run '^TestLongRun$$' ./cmd/godwit/
