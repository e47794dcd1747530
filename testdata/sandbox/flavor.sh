# shellcheck shell=bash disable=SC2034 # the variables are for the sourcing script
# Sourced by sandbox.sh, with-sandbox.sh and roots.sh: the server flavors
# the sandbox can run. mariadb-10.11 is the host's own MariaDB (Debian 12);
# the others run from a Debian root directory of a newer suite (roots.sh),
# since Debian 12 packages neither. Each flavor has its own ports and state
# directory, so that sandboxes of different flavors can run side by side.
#
# set_flavor NAME sets: flavor, family (mariadb|mysql), suite and package
# (empty for the host flavor), version_prefix (what the server's version
# must start with), root (the root directory, empty for the host flavor),
# default_port, default_replica_port, default_state (relative to the repo
# root).

all_flavors=(mariadb-10.11 mariadb-11.8 mysql-9.7)
roots_dir=${GODWIT_ROOTS_DIR:-/var/cache/godwit/roots}
# The flavor asked for; else that of a sandbox env file sourced by hand
# (GODWIT_TEST_FLAVOR), so that a test starting a private sandbox next to
# the shared one gets the same server.
asked_flavor=${GODWIT_SANDBOX_FLAVOR:-${GODWIT_TEST_FLAVOR:-mariadb-10.11}}

set_flavor() {
	flavor=$1
	case "$flavor" in
	mariadb-10.11)
		family=mariadb suite='' package='' version_prefix=10.11.
		default_port=33061 default_replica_port=33062
		;;
	mariadb-11.8)
		family=mariadb suite=trixie package=mariadb-server version_prefix=11.8.
		default_port=33071 default_replica_port=33072
		;;
	mysql-9.7)
		family=mysql suite=sid package=mysql-server version_prefix=9.7.
		default_port=33081 default_replica_port=33082
		;;
	*)
		echo "unknown sandbox flavor '$flavor' (known: ${all_flavors[*]})" >&2
		return 1
		;;
	esac
	if [ -n "$suite" ]; then
		root=$roots_dir/$flavor
		default_state=.sandbox-$flavor
	else
		root=''
		default_state=.sandbox
	fi
}

# A finished root has this file; one without it is half-built or outdated.
root_marker=.godwit-root-ok
