#!/usr/bin/env bash
# The local database sandbox for godwit's integration tests: a primary and
# a GTID replica with a ROW binlog, on private ports, under a temporary
# directory. The connection settings go to .sandbox/env at the repo root
# (.sandbox-FLAVOR/env for the flavors other than the default), and the
# primary's, as an option file for godwit --defaults-file and the mysql
# client, to my.cnf next to it.
#
# Usage: sandbox.sh start | stop [--force] | status | restart-primary [DOWN_SECONDS]
#   GODWIT_SANDBOX_FLAVOR        the server (flavor.sh): mariadb-10.11 (default,
#                                the host's MariaDB), mariadb-11.8 or mysql-9.7
#                                (each run with chroot from a Debian root that
#                                roots.sh builds on first use; needs root);
#                                unset, that of a sourced env file
#   GODWIT_SANDBOX_PORT          primary port (default 33061; 33071 for
#                                mariadb-11.8, 33081 for mysql-9.7)
#   GODWIT_SANDBOX_REPLICA_PORT  replica port (default 33062; 33072, 33082)
#   GODWIT_SANDBOX_STATE         where the env file and the locks live (default
#                                .sandbox or .sandbox-FLAVOR at the repo root);
#                                another directory and other ports make a
#                                private sandbox, which a test that restarts the
#                                server needs, since the shared one serves
#                                other tests meanwhile
#   GODWIT_SANDBOX_BINLOG_SECONDS  binlog files expire after this (default 60)
#   GODWIT_SANDBOX_LCTN          lower_case_table_names of both servers: 0
#                                (default) or 1, which folds every name to
#                                lower case (MySQL takes it only when the
#                                datadir is initialized); for a private
#                                sandbox, as the shared one's tests expect 0
#   GODWIT_SANDBOX_MIN_FREE_MIB    start refuses below this free space (4096)
#   GODWIT_ROOTS_DIR             where roots.sh keeps the roots; a chroot
#                                flavor's sandbox lives in its root's /tmp
#
# restart-primary shuts the primary down cleanly, leaves it down DOWN_SECONDS
# (default 0), starts it again with the same datadir, port and options, and
# waits until the replica has reconnected by itself.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=flavor.sh
. "$here/flavor.sh"
set_flavor "$asked_flavor" || exit 2
state_dir=${GODWIT_SANDBOX_STATE:-$repo_root/$default_state}
env_file=$state_dir/env
cnf_file=$state_dir/my.cnf

primary_port=${GODWIT_SANDBOX_PORT:-$default_port}
replica_port=${GODWIT_SANDBOX_REPLICA_PORT:-$default_replica_port}
test_user=godwit
test_password=godwit-sandbox
repl_password=repl-sandbox
wait_seconds=60
# The test suite writes gigabytes of row events, and each one lands three
# times (primary binlog, replica relay log, replica binlog): small files that
# expire after a minute kept the sandbox at 1.5 GiB at a run's peak, where
# it grew to 5.7 GiB before. A resumed migration reads the binlog again only seconds
# after its interruption; one that finds its file gone says so.
binlog_keep_seconds=${GODWIT_SANDBOX_BINLOG_SECONDS:-60}
# What a whole test run needs in the sandbox's directory at its peak, with
# room to spare: below it, start refuses rather than fail tests midway.
min_free_mib=${GODWIT_SANDBOX_MIN_FREE_MIB:-4096}

# lctn_opts: the lower_case_table_names option, when not the default.
lctn_opts() {
	case "${GODWIT_SANDBOX_LCTN:-0}" in
	0) ;;
	1) echo --lower-case-table-names=1 ;;
	*) die "GODWIT_SANDBOX_LCTN must be 0 or 1, not '${GODWIT_SANDBOX_LCTN}'" ;;
	esac
}

say() { echo "sandbox: $*"; }
die() { echo "sandbox: error: $*" >&2; exit 1; }

# What differs between MariaDB and MySQL, for the flavor in force.
family_settings() {
	if [ "$family" = mysql ]; then
		server_comm=mysqld
		replica_status_sql='SHOW REPLICA STATUS'
		io_field=Replica_IO_Running sql_field=Replica_SQL_Running lag_field=Seconds_Behind_Source
	else
		server_comm=mariadbd
		replica_status_sql='SHOW SLAVE STATUS'
		io_field=Slave_IO_Running sql_field=Slave_SQL_Running lag_field=Seconds_Behind_Master
	fi
}
family_settings

# A non-root PATH often lacks the sbin directories where mariadbd lives.
find_bin() {
	local p d
	if p=$(command -v "$1" 2>/dev/null); then echo "$p"; return 0; fi
	for d in /usr/sbin /usr/local/sbin; do
		if [ -x "$d/$1" ]; then echo "$d/$1"; return 0; fi
	done
	return 1
}

# Sets server and install_db: the commands that run the flavor's server
# and initialize a datadir (MySQL's server does that itself).
need_server_bins() {
	local bin
	if [ -z "$root" ]; then
		bin=$(find_bin mariadbd) ||
			die "mariadbd not found: run 'make deps' (installs mariadb-server and mariadb-client)"
		server=("$bin")
		bin=$(find_bin mariadb-install-db) || die "mariadb-install-db not found: run 'make deps'"
		install_db=("$bin")
	else
		[ "$(id -u)" -eq 0 ] || die "the $flavor sandbox runs its servers with chroot, which needs root"
		if [ ! -f "$root/$root_marker" ]; then
			"$here/roots.sh" "$flavor" || die "could not build the $flavor root"
		fi
		# instance_pids compares it with /proc/PID/root, which has no symlinks.
		root=$(cd -P "$root" && pwd)
		# Without /proc in the root, MariaDB's information_schema.DISKS has
		# no mount table to read (error 1105): give it the one filesystem
		# its datadir lives on, seen from inside as /.
		# (Debian's is a link to /proc/self/mounts: replace it.)
		rm -f "$root/etc/mtab"
		df -PT "$root" | awk 'NR == 2 { print $1, "/", $2, "rw 0 0" }' >"$root/etc/mtab"
		bin=$(find_bin chroot) || die "chroot not found"
		if [ "$family" = mysql ]; then
			server=("$bin" "$root" /usr/sbin/mysqld)
			install_db=()
		else
			server=("$bin" "$root" /usr/sbin/mariadbd)
			install_db=("$bin" "$root" /usr/bin/mariadb-install-db)
		fi
	fi
	need_client_bins
}

# The host's MariaDB client serves every flavor: it speaks MySQL 9's
# caching_sha2_password, and the sockets of the chroot servers are files
# under the root, reachable from the host.
need_client_bins() {
	client=$(find_bin mariadb) || die "mariadb client not found: run 'make deps'"
	admin=$(find_bin mariadb-admin) || die "mariadb-admin not found: run 'make deps'"
}

# Per-instance paths; $1 is the sandbox dir, $2 primary|replica. These are
# host paths; the servers of a chroot flavor see them through in_root. The
# names are MariaDB's for every flavor: internal/bench reads mariadbd.pid.
datadir() { echo "$1/$2/data"; }
socket() { echo "$1/$2/mariadbd.sock"; }
errlog() { echo "$1/$2/error.log"; }
in_root() { echo "${1#"$root"}"; }

sql() { # socket, then mariadb client args
	local sock=$1
	shift
	"$client" --no-defaults --protocol=socket --socket="$sock" -uroot \
		--batch --skip-column-names --connect-timeout=5 "$@"
}

# Vertical output: with --skip-column-names it would lose the field names.
replica_status() { # socket
	"$client" --no-defaults --protocol=socket --socket="$1" -uroot \
		--connect-timeout=5 -e "$replica_status_sql\\G"
}

ping_ok() {
	"$admin" --no-defaults --protocol=socket --socket="$1" -uroot \
		--connect-timeout=2 ping >/dev/null 2>&1
}

port_in_use() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Alive and not a zombie: kill -0 succeeds on a zombie no one has reaped.
alive() {
	local st
	st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# Pids of our server for one instance, matched on its datadir and its root
# directory, which together are unique, so that nothing else (such as a
# machine service, or a sandbox of another flavor) is ever touched.
instance_pids() {
	local want f pid comm
	want="--datadir=$(in_root "$(datadir "$1" "$2")")"
	while read -r f; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
		if [ "$comm" = "$server_comm" ] && [ "$(readlink "/proc/$pid/root")" = "${root:-/}" ] &&
			alive "$pid"; then
			echo "$pid"
		fi
	done < <(grep -lszxF -- "$want" /proc/[0-9]*/cmdline)
	return 0
}

status_field() { # SHOW REPLICA STATUS\G output on stdin, field name
	awk -v f="$1" '{ sub(/^ +/, "") } index($0, f ":") == 1 { v = substr($0, length(f) + 2); sub(/^ /, "", v); print v }'
}

now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $((t / 1000)); }

show_log_tail() {
	local log
	log=$(errlog "$1" "$2")
	if [ -f "$log" ]; then
		echo "---- last lines of $2 error log ($log) ----" >&2
		tail -n 30 "$log" >&2
		echo "----" >&2
	fi
}

load_env() {
	# shellcheck disable=SC1090
	. "$env_file"
	: "${GODWIT_SANDBOX_DIR:?}" "${GODWIT_TEST_SOCKET:?}" "${GODWIT_TEST_REPLICA_SOCKET:?}"
	# The recorded sandbox is the one to act on, even if another flavor
	# shares its state directory (GODWIT_SANDBOX_STATE); env files older
	# than the flavors are the host's MariaDB.
	set_flavor "${GODWIT_TEST_FLAVOR:-mariadb-10.11}" || exit 1
	root=${GODWIT_SANDBOX_ROOT:-}
	family_settings
}

# Both instances of the sandbox recorded in .sandbox/env answer.
recorded_running() {
	[ -f "$env_file" ] || return 1
	(load_env && ping_ok "$GODWIT_TEST_SOCKET" && ping_ok "$GODWIT_TEST_REPLICA_SOCKET")
}

lock_state() {
	mkdir -p "$state_dir"
	exec 9>"$state_dir/lock"
	flock -w 300 9 || die "another sandbox start/stop holds $state_dir/lock"
}

init_instance() { # dir, name
	local d=$1/$2 user_opt=()
	[ "$(id -u)" -ne 0 ] || user_opt=(--user=root)
	mkdir -p "$d/tmp"
	# A private tmpdir, also here: a starting server deletes every #sql*
	# file in its tmpdir, which breaks any other server sharing it.
	if [ "$family" = mysql ]; then
		# It makes only root@localhost, password-less: the socket, in a
		# 0700 directory, is its one way in.
		# shellcheck disable=SC2046 # lctn_opts is one word or none
		"${server[@]}" --no-defaults --initialize-insecure "${user_opt[@]}" $(lctn_opts) \
			--datadir="$(in_root "$(datadir "$1" "$2")")" \
			--tmpdir="$(in_root "$d/tmp")" >"$d/install.log" 2>&1
		return
	fi
	# TCP root logins would be password-less; root only needs the socket,
	# which lives in a 0700 directory.
	cat >"$d/init.sql" <<-'SQL'
		DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';
		DELETE FROM mysql.proxies_priv WHERE User = 'root' AND Host <> 'localhost';
	SQL
	"${install_db[@]}" --no-defaults --datadir="$(in_root "$(datadir "$1" "$2")")" "${user_opt[@]}" \
		--auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
		--tmpdir="$(in_root "$d/tmp")" --extra-file="$(in_root "$d/init.sql")" >"$d/install.log" 2>&1
}

# A CA and a server certificate for 127.0.0.1 and localhost, for every
# flavor: MariaDB 10.11 serves TLS only when given one, and the TLS tests
# sign client certificates with the CA's key (GODWIT_TEST_SSL_CA_KEY).
make_certs() { # dir
	local d=$1/tls
	mkdir -p "$d"
	command -v openssl >/dev/null 2>&1 || die "openssl not found: install it (apt-get install openssl)"
	(
		cd "$d" &&
			openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=godwit sandbox CA" \
				-keyout ca-key.pem -out ca.pem &&
			openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
				-keyout server-key.pem -out server.csr &&
			printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >server.ext &&
			openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -set_serial 1 -days 3650 \
				-extfile server.ext -out server-cert.pem
	) >"$d/openssl.log" 2>&1 || { cat "$d/openssl.log" >&2; die "could not make the sandbox's TLS certificates"; }
}

launch_instance() { # dir, name, port, server id, extra server options...
	local dir=$1 name=$2 port=$3 id=$4 user_opt=() family_opts tls_opts=()
	shift 4
	if [ -f "$dir/tls/server-cert.pem" ]; then
		tls_opts=(--ssl-ca="$(in_root "$dir/tls/ca.pem")" --ssl-cert="$(in_root "$dir/tls/server-cert.pem")"
			--ssl-key="$(in_root "$dir/tls/server-key.pem")")
	fi
	[ "$(id -u)" -ne 0 ] || user_opt=(--user=root)
	if [ "$family" = mysql ]; then
		# mysqlx would take port 33060 for both instances; fixtures make
		# rows with recursive CTEs. As on MariaDB: no FILE directory, and
		# no event scheduler, which also holds every shutdown up by 6s.
		family_opts=(--log-bin=mysql-bin --gtid-mode=ON --enforce-gtid-consistency=ON
			--mysqlx=OFF --cte-max-recursion-depth=100000000 --secure-file-priv=
			--event-scheduler=OFF)
	else
		family_opts=(--log-bin=mariadb-bin --log-slave-updates --gtid-strict-mode=ON)
	fi
	# setsid: a Ctrl-C aimed at make or go test must not reach the servers;
	# the closed fds keep CI pipes and our lock files free of them.
	# shellcheck disable=SC2046 # lctn_opts is one word or none
	setsid "${server[@]}" --no-defaults "${user_opt[@]}" $(lctn_opts) \
		--datadir="$(in_root "$(datadir "$dir" "$name")")" \
		--socket="$(in_root "$(socket "$dir" "$name")")" \
		--pid-file="$(in_root "$dir/$name/mariadbd.pid")" \
		--log-error="$(in_root "$(errlog "$dir" "$name")")" \
		--tmpdir="$(in_root "$dir/$name/tmp")" \
		--port="$port" --bind-address=127.0.0.1 --skip-name-resolve \
		--server-id="$id" \
		--relay-log=relay-bin \
		--binlog-format=ROW --binlog-row-image=FULL \
		--max-binlog-size=64M --binlog-expire-logs-seconds="$binlog_keep_seconds" \
		--innodb-buffer-pool-size=256M \
		--innodb-flush-log-at-trx-commit=2 --sync-binlog=0 \
		--max-connections=500 \
		--character-set-server=utf8mb4 --collation-server=utf8mb4_general_ci \
		"${family_opts[@]}" "${tls_opts[@]}" "$@" </dev/null >"$dir/$name/stdout.log" 2>&1 8>&- 9>&- &
}

# The sandbox's ports lie in Linux's ephemeral range, so an outgoing
# connection's local end (tests open thousands) can hold one for a moment:
# the server's bind then fails, and a launch a second later succeeds.
up_or_relaunch() { # deadline, then launch_instance's arguments
	local deadline=$1 tries=1
	shift
	until (wait_up "$1" "$2" "$deadline"); do
		grep -q 'Address already in use' "$(errlog "$1" "$2")" && [ "$tries" -lt 5 ] ||
			die "$2 did not start"
		tries=$((tries + 1))
		say "$2: port $3 was busy; launching it again"
		sleep 1
		: >"$(errlog "$1" "$2")"
		launch_instance "$@"
	done
}

wait_up() { # dir, name, deadline (epoch seconds)
	local sock seen='' began
	sock=$(socket "$1" "$2")
	began=$(date +%s)
	while ! ping_ok "$sock"; do
		# Until the launching background shell has exec'd the server, which
		# under load takes a while, no process matches: only one seen and
		# gone, or never seen within 10s, has exited.
		if [ -n "$(instance_pids "$1" "$2")" ]; then
			seen=1
		elif [ ! -S "$sock" ] && { [ -n "$seen" ] || [ $(($(date +%s) - began)) -ge 10 ]; }; then
			show_log_tail "$1" "$2"
			die "$2 $server_comm exited during startup"
		fi
		if [ "$(date +%s)" -ge "$3" ]; then
			show_log_tail "$1" "$2"
			die "$2 did not accept connections within ${wait_seconds}s"
		fi
		sleep 0.2
	done
}

# wait_threads waits until the replica's IO and SQL threads both run.
wait_threads() { # dir, deadline
	local status io sqlt rsock
	rsock=$(socket "$1" replica)
	while :; do
		status=$(replica_status "$rsock")
		io=$(status_field "$io_field" <<<"$status")
		sqlt=$(status_field "$sql_field" <<<"$status")
		[ "$io" = Yes ] && [ "$sqlt" = Yes ] && break
		if [ "$(date +%s)" -ge "$2" ]; then
			echo "$status" | grep -E 'Running|Last_.*Error' >&2 || true
			show_log_tail "$1" replica
			die "replication did not start within ${wait_seconds}s (IO=$io SQL=$sqlt)"
		fi
		sleep 0.2
	done
}

# wait_replication waits for the threads, then until the replica has
# applied all the primary has logged.
wait_replication() { # dir, deadline
	local pos rsock wait_sql
	rsock=$(socket "$1" replica)
	wait_threads "$1" "$2"
	# The users made on the primary must exist on the replica before use.
	local left=$(($2 - $(date +%s)))
	[ "$left" -gt 0 ] || left=1
	if [ "$family" = mysql ]; then
		# A GTID set of several server UUIDs comes with newlines.
		pos=$(sql "$(socket "$1" primary)" -e "SELECT REPLACE(@@GLOBAL.gtid_executed, '\n', '')")
		wait_sql="SELECT WAIT_FOR_EXECUTED_GTID_SET('$pos', $left)"
	else
		pos=$(sql "$(socket "$1" primary)" -e 'SELECT @@gtid_binlog_pos')
		wait_sql="SELECT MASTER_GTID_WAIT('$pos', $left)"
	fi
	[ "$(sql "$rsock" -e "$wait_sql")" = 0 ] ||
		die "replica did not apply the primary's position $pos within ${wait_seconds}s"
}

# Stop one instance: a clean shutdown first, then signals, all bounded.
stop_instance() { # dir, name
	local pids pid i grace=10
	pids=$(instance_pids "$1" "$2")
	[ -n "$pids" ] || return 0
	# The SHUTDOWN statement, as MySQL 9 has no COM_SHUTDOWN for
	# mariadb-admin; it returns at once, so the wait below gives a busy
	# server the minute that mariadb-admin used to wait.
	if [ -n "${client:-}" ] && [ -S "$(socket "$1" "$2")" ] &&
		timeout 20 "$client" --no-defaults --protocol=socket --socket="$(socket "$1" "$2")" \
			-uroot --connect-timeout=5 -e SHUTDOWN >/dev/null 2>&1; then
		grace=60
	fi
	for sig in TERM KILL; do
		for ((i = 0; i < grace * 10; i++)); do
			pids=$(instance_pids "$1" "$2")
			[ -n "$pids" ] || return 0
			sleep 0.1
		done
		say "$2 still running after ${grace}s; sending SIG$sig"
		for pid in $pids; do kill -s "$sig" "$pid" 2>/dev/null || true; done
		grace=10
	done
	for ((i = 0; i < 50; i++)); do
		[ -n "$(instance_pids "$1" "$2")" ] || return 0
		sleep 0.1
	done
	echo "sandbox: error: $2 $server_comm (pid $pids) survives SIGKILL" >&2
	return 1
}

# Stop both instances and remove the directory, which must be ours.
destroy() { # dir
	local dir=$1 rc=0
	case "$(basename "$dir")" in
	godwit-sandbox.*) ;;
	*) die "refusing to remove $dir: not a sandbox directory" ;;
	esac
	stop_instance "$dir" replica & # in parallel: saves a second per stop
	local rpid=$!
	stop_instance "$dir" primary || rc=1
	wait "$rpid" || rc=1
	[ "$rc" -eq 0 ] || return 1
	if [ -d "$dir" ]; then
		[ -f "$dir/.godwit-sandbox" ] || die "refusing to remove $dir: no .godwit-sandbox marker"
		rm -rf "$dir"
	fi
}

write_env() { # dir
	local tmp=$env_file.tmp
	{
		echo "# Written by testdata/sandbox/sandbox.sh start; removed by stop."
		printf 'export GODWIT_TEST_HOST=%q\n' 127.0.0.1
		printf 'export GODWIT_TEST_PORT=%q\n' "$primary_port"
		printf 'export GODWIT_TEST_USER=%q\n' "$test_user"
		printf 'export GODWIT_TEST_PASSWORD=%q\n' "$test_password"
		printf 'export GODWIT_TEST_REPLICA_PORT=%q\n' "$replica_port"
		printf 'export GODWIT_TEST_SOCKET=%q\n' "$(socket "$1" primary)"
		printf 'export GODWIT_TEST_REPLICA_SOCKET=%q\n' "$(socket "$1" replica)"
		printf 'export GODWIT_SANDBOX_DIR=%q\n' "$1"
		printf 'export GODWIT_SANDBOX_ROOT=%q\n' "$root"
		printf 'export GODWIT_TEST_SSL_CA=%q\n' "$1/tls/ca.pem"
		printf 'export GODWIT_TEST_SSL_CA_KEY=%q\n' "$1/tls/ca-key.pem"
		printf 'export GODWIT_TEST_FLAVOR=%q\n' "$flavor"
		# restart-primary launches the primary again with the same names.
		printf 'export GODWIT_SANDBOX_LCTN=%q\n' "${GODWIT_SANDBOX_LCTN:-0}"
		printf 'export GODWIT_SANDBOX_DEFAULTS_FILE=%q\n' "$cnf_file"
	} >"$tmp"
	mv "$tmp" "$env_file"
}

# write_cnf: the primary's connection as an option file, for
# godwit --defaults-file and the mariadb/mysql clients alike: a newcomer
# points godwit at the sandbox without guessing its port or password, and
# never at the host's own server on 3306 by mistake. TCP to 127.0.0.1, as
# the tests connect (the socket of a chroot flavor lives under its root);
# no ssl-mode, which MariaDB's client does not know.
write_cnf() {
	local tmp=$cnf_file.tmp
	(
		umask 077 # it holds a password
		cat >"$tmp" <<-EOF
			# Written by testdata/sandbox/sandbox.sh start; removed by stop.
			# The $flavor sandbox's primary; its replica is 127.0.0.1:$replica_port
			# (godwit --replica 127.0.0.1:$replica_port). For example:
			#   godwit plan --defaults-file ${cnf_file#"$repo_root"/} --database D --table T --alter "ADD COLUMN c INT"
			#   mariadb --defaults-file=${cnf_file#"$repo_root"/}
			[client]
			host = 127.0.0.1
			port = $primary_port
			user = $test_user
			password = $test_password
		EOF
	)
	mv "$tmp" "$cnf_file"
}

cmd_start() {
	local t0 dir deadline p1 p2 sock asked=$flavor
	lctn_opts >/dev/null # refuses a bad value before anything starts
	need_server_bins
	lock_state
	if recorded_running; then
		load_env
		[ "$flavor" = "$asked" ] ||
			die "a $flavor sandbox already runs with ${state_dir#"$repo_root"/}; stop it first"
		say "already running (primary 127.0.0.1:$GODWIT_TEST_PORT, replica 127.0.0.1:$GODWIT_TEST_REPLICA_PORT, dir $GODWIT_SANDBOX_DIR)"
		# A sandbox started before the option file existed gets one too.
		if [ ! -f "$cnf_file" ]; then
			primary_port=$GODWIT_TEST_PORT replica_port=$GODWIT_TEST_REPLICA_PORT
			write_cnf
		fi
		say "godwit --defaults-file ${cnf_file#"$repo_root"/} connects to its primary"
		return 0
	fi
	if [ -f "$env_file" ]; then
		say "found a stale sandbox in $env_file; cleaning it up"
		# A subshell: load_env switches to the stale sandbox's flavor.
		(load_env && destroy "$GODWIT_SANDBOX_DIR") || die "could not clean up the stale sandbox"
		rm -f "$env_file" "$cnf_file"
	fi
	[ "$primary_port" != "$replica_port" ] || die "primary and replica ports must differ"
	for p in "$primary_port" "$replica_port"; do
		# mariadbd silently wraps ports above 65535.
		if ! [[ "$p" =~ ^[0-9]+$ ]] || [ "$p" -lt 1 ] || [ "$p" -gt 65535 ]; then die "bad port: $p"; fi
		port_in_use "$p" && die "port 127.0.0.1:$p is in use (another sandbox? see 'pgrep -a $server_comm');" \
			"choose others with GODWIT_SANDBOX_PORT and GODWIT_SANDBOX_REPLICA_PORT"
	done

	# A chroot flavor's servers see only their root: the sandbox lives in
	# it, on the filesystem of GODWIT_ROOTS_DIR, whatever TMPDIR says.
	local parent=${TMPDIR:-/tmp} free
	[ -z "$root" ] || parent=$root/tmp
	free=$(df -Pm "$parent" | awk 'NR == 2 { print $4 }')
	[ "${free:-0}" -ge "$min_free_mib" ] ||
		die "only ${free:-0} MiB free in $parent; the sandbox needs ${min_free_mib} MiB:" \
			"free some space, or point TMPDIR (GODWIT_ROOTS_DIR for $flavor) at a larger filesystem"

	t0=$(now_ms)
	dir=$(mktemp -d "$parent/godwit-sandbox.XXXXXX")
	touch "$dir/.godwit-sandbox"
	sock=$(socket "$dir" replica)
	[ "${#sock}" -lt 100 ] || { rm -rf "$dir"; die "socket path $sock is too long; set a shorter TMPDIR (or GODWIT_ROOTS_DIR)"; }
	# From here on, a failure must not leave servers or files behind.
	# shellcheck disable=SC2064 # $dir is expanded now on purpose
	trap "rc=\$?; if [ \$rc -ne 0 ]; then say 'start failed; cleaning up'; destroy '$dir' || true; fi" EXIT

	make_certs "$dir"
	say "initializing $flavor in $dir"
	init_instance "$dir" primary &
	p1=$!
	init_instance "$dir" replica &
	p2=$!
	wait "$p1" || { cat "$dir/primary/install.log" >&2; die "initializing the primary's datadir failed"; }
	wait "$p2" || { cat "$dir/replica/install.log" >&2; die "initializing the replica's datadir failed"; }

	launch_instance "$dir" primary "$primary_port" 1
	launch_instance "$dir" replica "$replica_port" 2 --read-only=ON
	deadline=$(($(date +%s) + wait_seconds))
	up_or_relaunch "$deadline" "$dir" primary "$primary_port" 1
	up_or_relaunch "$deadline" "$dir" replica "$replica_port" 2 --read-only=ON

	# Made on the primary after the binlog is on, so that they replicate.
	sql "$(socket "$dir" primary)" <<-SQL
		CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY '$repl_password';
		GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';
		CREATE USER '$test_user'@'127.0.0.1' IDENTIFIED BY '$test_password';
		GRANT ALL PRIVILEGES ON *.* TO '$test_user'@'127.0.0.1' WITH GRANT OPTION;
		CREATE USER '$test_user'@'localhost' IDENTIFIED BY '$test_password';
		GRANT ALL PRIVILEGES ON *.* TO '$test_user'@'localhost' WITH GRANT OPTION;
	SQL
	# A retry a second (for a day; MariaDB's default count is larger still):
	# restart-primary relies on the replica reconnecting by itself. MySQL 9
	# users authenticate with caching_sha2_password, which without TLS needs
	# the source's RSA key.
	if [ "$family" = mysql ]; then
		sql "$(socket "$dir" replica)" <<-SQL
			CHANGE REPLICATION SOURCE TO SOURCE_HOST='127.0.0.1', SOURCE_PORT=$primary_port,
			  SOURCE_USER='repl', SOURCE_PASSWORD='$repl_password',
			  SOURCE_AUTO_POSITION=1, SOURCE_CONNECT_RETRY=1, SOURCE_RETRY_COUNT=86400,
			  GET_SOURCE_PUBLIC_KEY=1;
			START REPLICA;
		SQL
	else
		sql "$(socket "$dir" replica)" <<-SQL
			CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$primary_port,
			  MASTER_USER='repl', MASTER_PASSWORD='$repl_password',
			  MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1;
			START SLAVE;
		SQL
	fi
	wait_replication "$dir" "$deadline"

	write_cnf
	write_env "$dir"
	trap - EXIT
	t0=$(($(now_ms) - t0))
	say "$flavor started in $((t0 / 1000)).$(printf %03d $((t0 % 1000)))s:" \
		"primary 127.0.0.1:$primary_port, replica 127.0.0.1:$replica_port (env in ${env_file#"$repo_root"/})"
	say "point godwit at it with --defaults-file ${cnf_file#"$repo_root"/} (host, port, user and password)," \
		"e.g. godwit plan --defaults-file ${cnf_file#"$repo_root"/} --database D --table T --alter \"ADD COLUMN c INT\""
}

cmd_stop() {
	lock_state
	if [ ! -f "$env_file" ]; then
		say "not running (no ${env_file#"$repo_root"/})"
		return 0
	fi
	# with-sandbox.sh holds users.lock while its command runs (and stops
	# the sandbox itself, with --force, when the last one ends).
	if [ "${1:-}" != --force ] && ! flock -n -x "$state_dir/users.lock" true; then
		die "in use by a running with-sandbox.sh (make test?), which stops it when done;" \
			"to stop it anyway: $0 stop --force"
	fi
	client=$(find_bin mariadb) || client= # without it, stop by signal
	load_env
	destroy "$GODWIT_SANDBOX_DIR" || die "could not stop the sandbox in $GODWIT_SANDBOX_DIR"
	rm -f "$env_file" "$cnf_file"
	say "stopped"
}

# A clean shutdown, as a DBA or a package upgrade would do it: clients see
# their connections end (ER_SERVER_SHUTDOWN, then EOF) and, while it is
# down, connections refused. The replica is not touched: its IO thread must
# reconnect on its own (a retry a second), which this waits for.
cmd_restart_primary() {
	local down=${1:-0} t0 deadline
	[[ "$down" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "restart-primary: DOWN_SECONDS must be a number, not '$down'"
	need_client_bins
	lock_state
	recorded_running || die "not running (no ${env_file#"$repo_root"/}, or an instance is down): nothing to restart"
	load_env
	need_server_bins
	t0=$(now_ms)
	stop_instance "$GODWIT_SANDBOX_DIR" primary || die "could not stop the primary"
	say "primary stopped; starting it again in ${down}s"
	sleep "$down"
	# The port comes from the env file, not GODWIT_SANDBOX_PORT: it is the
	# one clients and the replica know.
	launch_instance "$GODWIT_SANDBOX_DIR" primary "$GODWIT_TEST_PORT" 1
	deadline=$(($(date +%s) + wait_seconds))
	up_or_relaunch "$deadline" "$GODWIT_SANDBOX_DIR" primary "$GODWIT_TEST_PORT" 1
	# Reconnected is enough: a replica far behind (a large copy on shared
	# cores) may need minutes to apply what the primary logged.
	wait_threads "$GODWIT_SANDBOX_DIR" "$deadline"
	t0=$(($(now_ms) - t0))
	say "primary restarted in $((t0 / 1000)).$(printf %03d $((t0 % 1000)))s (127.0.0.1:$GODWIT_TEST_PORT); the replica reconnected"
}

cmd_status() {
	local ok=0 status io sqlt err
	if [ ! -f "$env_file" ]; then
		say "not running (no ${env_file#"$repo_root"/})"
		return 1
	fi
	need_client_bins
	load_env
	echo "flavor:  $flavor"
	echo "dir:     $GODWIT_SANDBOX_DIR"
	[ ! -f "$cnf_file" ] || echo "godwit:  --defaults-file ${cnf_file#"$repo_root"/}"
	if ping_ok "$GODWIT_TEST_SOCKET"; then
		echo "primary: up   127.0.0.1:$GODWIT_TEST_PORT"
	else
		echo "primary: DOWN 127.0.0.1:$GODWIT_TEST_PORT"
		ok=1
	fi
	if ! ping_ok "$GODWIT_TEST_REPLICA_SOCKET"; then
		echo "replica: DOWN 127.0.0.1:$GODWIT_TEST_REPLICA_PORT"
		return 1
	fi
	echo "replica: up   127.0.0.1:$GODWIT_TEST_REPLICA_PORT"
	status=$(replica_status "$GODWIT_TEST_REPLICA_SOCKET")
	io=$(status_field "$io_field" <<<"$status")
	sqlt=$(status_field "$sql_field" <<<"$status")
	echo "replica: $io_field=${io:-?} $sql_field=${sqlt:-?}" \
		"$lag_field=$(status_field "$lag_field" <<<"$status")"
	for f in Last_IO_Error Last_SQL_Error; do
		err=$(status_field "$f" <<<"$status")
		[ -z "$err" ] || echo "replica: $f: $err"
	done
	[ "$io" = Yes ] && [ "$sqlt" = Yes ] || ok=1
	return "$ok"
}

case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop "${2:-}" ;;
status) cmd_status ;;
restart-primary) cmd_restart_primary "${2:-}" ;;
*)
	echo "usage: $0 start | stop [--force] | status | restart-primary [DOWN_SECONDS]" >&2
	exit 2
	;;
esac
