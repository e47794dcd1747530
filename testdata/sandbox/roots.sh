#!/usr/bin/env bash
# Builds the Debian root directories the sandbox runs its non-host flavors
# from (see flavor.sh), unless they are already there. A root is built once
# per machine, outside the clone, with debootstrap from the machine's own
# apt mirror (one to two minutes and 500-700 MB each), and kept for later runs.
#
# Usage: roots.sh FLAVOR... | all
#   GODWIT_ROOTS_DIR  where the roots live (default /var/cache/godwit/roots)
#
# The host flavor (mariadb-10.11) needs no root (make deps installs its
# server): asking for it does nothing, so that callers need not tell.
set -euo pipefail
# debootstrap and chroot live there, and a non-login root shell may lack it.
PATH=$PATH:/usr/sbin:/sbin

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=flavor.sh
. "$here/flavor.sh"

say() { echo "roots: $*"; }
die() { echo "roots: error: $*" >&2; exit 1; }

# The mirror this machine's apt already uses: the only one it may reach,
# and no host name needs to be written down anywhere.
apt_mirror() {
	local m=''
	if [ -r /etc/apt/sources.list.d/debian.sources ]; then
		m=$(awk 'tolower($1) == "uris:" { print $2; exit }' /etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$m" ] && [ -r /etc/apt/sources.list ]; then
		# deb [options] URI suite components
		m=$(sed -n 's/^[[:space:]]*deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p' \
			/etc/apt/sources.list | head -n 1)
	fi
	[ -n "$m" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"
	echo "$m"
}

need_debootstrap() {
	if command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ]; then return 0; fi
	local out
	say "installing debootstrap"
	out=$(apt-get update 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap 2>&1) ||
		{ echo "$out" >&2; die "could not install debootstrap"; }
}

# The server's own version, as its binary reports it.
server_version() { # root
	local bin=/usr/sbin/mariadbd
	[ "$family" = mysql ] && bin=/usr/sbin/mysqld
	chroot "$1" "$bin" --version 2>/dev/null | sed -n 's/.* Ver \([^ ]*\).*/\1/p'
}

build() { # flavor
	set_flavor "$1" || exit 2
	[ -n "$root" ] || return 0
	[ -f "$root/$root_marker" ] && return 0

	mkdir -p "$roots_dir"
	# Concurrent runs (two make targets, two CI jobs) wait for one build
	# instead of racing to build the same root.
	exec 7>"$roots_dir/.$flavor.lock"
	flock -w 1800 7 || die "timed out waiting for another build of $root"
	if [ -f "$root/$root_marker" ]; then
		exec 7>&-
		return 0
	fi

	# Under the lock, any leftover is a build that died: it will never finish.
	local tmp=$roots_dir/$flavor.tmp.$$ mirror t0 version
	rm -rf "$roots_dir/$flavor".tmp.[0-9]*
	mirror=$(apt_mirror)
	say "building $root ($package from $suite; about a minute)"
	t0=$(date +%s)
	# shellcheck disable=SC2064 # $tmp is expanded now on purpose
	trap "rm -rf '$tmp'" EXIT
	if ! debootstrap --variant=minbase --include="$package" "$suite" "$tmp" "$mirror" >"$tmp.log" 2>&1; then
		tail -n 30 "$tmp.log" >&2
		rm -f "$tmp.log"
		die "debootstrap of $flavor failed"
	fi
	rm -f "$tmp.log"
	# mariadb-install-db refuses to run when localhost does not resolve.
	printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$tmp/etc/hosts"
	# Never used: the package's own datadir, made by its postinst, and
	# the downloaded packages.
	rm -rf "$tmp/var/lib/mysql" && mkdir "$tmp/var/lib/mysql"
	rm -f "$tmp"/var/cache/apt/archives/*.deb
	version=$(server_version "$tmp")
	case "$version" in
	"$version_prefix"*) ;;
	*) die "$suite now has $package ${version:-(no server found)}, not $version_prefix*: update flavor.sh" ;;
	esac
	echo "$flavor $version" >"$tmp/$root_marker"
	# Only a complete root ever gets the final name. One without the
	# marker there is an older, unfinished layout: replaced.
	rm -rf "$root"
	mv "$tmp" "$root"
	trap - EXIT
	exec 7>&-
	say "built $root ($version) in $(($(date +%s) - t0))s"
}

[ $# -gt 0 ] || { echo "usage: $0 FLAVOR... | all" >&2; exit 2; }
if [ "$1" = all ]; then
	set -- "${all_flavors[@]}"
fi
missing=0
for f in "$@"; do
	set_flavor "$f" || exit 2
	[ -z "$root" ] || [ -f "$root/$root_marker" ] || missing=1
done
[ "$missing" -eq 1 ] || exit 0
[ "$(id -u)" -eq 0 ] || die "building a root needs root (debootstrap, chroot)"
need_debootstrap
# Side by side: a build mostly waits on the mirror.
pids=()
for f in "$@"; do
	(build "$f") &
	pids+=("$!")
done
rc=0
for p in "${pids[@]}"; do
	wait "$p" || rc=1
done
exit "$rc"
