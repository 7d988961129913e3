#!/bin/sh
# install-sendmail.sh — put a private Sendmail binary next to Postfix for the
# e2e tests, without touching the system's MTA.
#
# The Debian package sendmail-bin conflicts with postfix (both provide
# mail-transport-agent), so we install only what it needs (m4, the cf macros
# from sendmail-cf, its shared libraries), download sendmail-bin's .deb and
# unpack it into a private root. Idempotent: a second run does nothing.
#
# Usage: install-sendmail.sh [ROOT]   (default /opt/postseal-test/sendmail,
#        or $POSTSEAL_SENDMAIL_ROOT). Prints the sendmail binary's path as its
#        last line of output.
set -eu

ROOT=${1:-${POSTSEAL_SENDMAIL_ROOT:-/opt/postseal-test/sendmail}}
BIN=$ROOT/usr/libexec/sendmail/sendmail
CFM4=/usr/share/sendmail/cf/m4/cf.m4

ready() {
	[ -x "$BIN" ] && [ -f "$CFM4" ] && command -v m4 >/dev/null 2>&1 &&
		! ldd "$BIN" 2>/dev/null | grep -q 'not found'
}

if ready; then
	echo "$BIN"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-sendmail.sh: must run as root" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# The libraries sendmail-bin links against: every lib* package in its Depends.
libs=$(apt-cache show sendmail-bin 2>/dev/null | sed -n 's/^Depends: //p' | head -n1 |
	tr ',' '\n' | sed 's/^ *//; s/ .*//; s/|.*//' | grep '^lib' || true)
if [ -z "$libs" ]; then
	apt-get update -qq
	libs=$(apt-cache show sendmail-bin | sed -n 's/^Depends: //p' | head -n1 |
		tr ',' '\n' | sed 's/^ *//; s/ .*//; s/|.*//' | grep '^lib')
fi

# shellcheck disable=SC2086 # $libs is a word list on purpose
if ! apt-get install -y -qq --no-install-recommends m4 sendmail-cf $libs >/dev/null; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends m4 sendmail-cf $libs >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 0755 "$tmp" # apt-get download drops privileges to _apt where it can
(cd "$tmp" && apt-get download -qq sendmail-bin 2>/dev/null) ||
	(apt-get update -qq && cd "$tmp" && apt-get download -qq sendmail-bin)
deb=$(ls "$tmp"/sendmail-bin_*.deb)

mkdir -p "$ROOT"
dpkg-deb -x "$deb" "$ROOT"

if ! ready; then
	echo "install-sendmail.sh: $BIN is not usable after unpacking $deb:" >&2
	ldd "$BIN" >&2 || true
	exit 1
fi
echo "installed $(basename "$deb") into $ROOT" >&2
echo "$BIN"
