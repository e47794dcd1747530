#!/usr/bin/env bash
# Runs a command against the sandbox: starts it (or joins the one already
# running), runs CMD with the variables of its env file (.sandbox/env, or
# .sandbox-FLAVOR/env) exported, then stops the sandbox, also on failure or
# Ctrl-C. Exits with CMD's status.
#
# Several runs may share one sandbox: each holds a shared lock while CMD
# runs, and only the last one to finish stops it.
#
# Usage: with-sandbox.sh CMD [ARGS...]
#   GODWIT_SANDBOX_FLAVOR and the other settings of sandbox.sh apply.
set -euo pipefail

if [ $# -eq 0 ]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
sandbox=$here/sandbox.sh
# shellcheck source-path=SCRIPTDIR source=flavor.sh
. "$here/flavor.sh"
set_flavor "$asked_flavor" || exit 2
state_dir=${GODWIT_SANDBOX_STATE:-$repo_root/$default_state}

mkdir -p "$state_dir"
exec 8>"$state_dir/users.lock"
flock -s -w 300 8 || {
	echo "with-sandbox: timed out waiting for a sandbox stop in progress" >&2
	exit 1
}

finish() {
	local rc=$?
	trap - EXIT INT TERM
	# Converting to an exclusive lock succeeds only if no other run uses it.
	if flock -x -n 8; then
		"$sandbox" stop --force 8>&- || {
			echo "with-sandbox: stopping the sandbox failed" >&2
			[ "$rc" -ne 0 ] || rc=1
		}
	else
		echo "with-sandbox: another run still uses the sandbox; leaving it up for it to stop"
	fi
	exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$sandbox" start 8>&-
# shellcheck disable=SC1091
(. "$state_dir/env" && exec "$@") 8>&-
