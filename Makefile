# godwit — build, check and test.
#
#   make deps           install MariaDB (Debian/apt) if missing, download Go modules
#   make test           go vet, then go test ./... against a fresh sandbox (stopped afterwards)
#   make vet            go vet and the gofmt check
#   make sandbox-start  start the local MariaDB primary + replica; settings in .sandbox/env
#   make sandbox-stop   stop it and remove its files
#
# To run one package's tests by hand:
#   make sandbox-start && . .sandbox/env && go test ./copier/
#
# CI is passed through to the tests from the environment: with CI=true an
# integration test fails instead of skipping when the sandbox is missing.

GO           ?= go
SANDBOX      := testdata/sandbox/sandbox.sh
WITH_SANDBOX := testdata/sandbox/with-sandbox.sh

.PHONY: all deps build vet test demo bench sandbox-start sandbox-stop sandbox-status

all: build

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
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y mariadb-server mariadb-client; \
	fi
	$(GO) mod download

build:
	$(GO) build -o bin/godwit ./cmd/godwit

vet:
	$(GO) vet ./...
	@unformatted="$$(gofmt -l .)"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed on:"; echo "$$unformatted"; exit 1; fi

# vet first: it needs no server, so it fails fast.
test: deps
	$(GO) vet ./...
	$(WITH_SANDBOX) $(GO) test -count=1 -timeout 45m ./...

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
