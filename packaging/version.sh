#!/bin/sh
# version.sh — the package version from `git describe`, made valid for both
# deb and rpm (no "-", which means the revision/release there):
#   tag v1.2.3                 → 1.2.3
#   4 commits past v1.2.3      → 1.2.3+git4.gabc1234
#   tag v2.0.0-rc1             → 2.0.0~rc1
#   no tag                     → 0.0~git20261123153959.abc1234 (commit time, so
#                                 later builds sort higher)
#   uncommitted changes        → the above + ".dirty"
set -eu
cd "$(dirname "$0")/.."
d=$(git describe --tags --always --dirty 2>/dev/null || echo unknown)
dirty=
case $d in *-dirty) dirty=.dirty d=${d%-dirty} ;; esac
case $d in
v[0-9]* | [0-9]*.*)
	d=${d#v}
	# 1.2.3-4-gabc1234 → 1.2.3+git4.gabc1234
	# 2.0.0-rc1 → 2.0.0~rc1 (sorts before 2.0.0 in dpkg and rpm)
	v=$(echo "$d" | sed -E 's/-([0-9]+)-(g[0-9a-f]+)$/+git\1.\2/; s/-(rc|beta|alpha|pre)/~\1/; s/-/./g')
	;;
*)
	when=$(git log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || echo 0)
	v="0.0~git$when.$(echo "$d" | tr -c '0-9a-zA-Z.\n' '.')"
	;;
esac
echo "$v$dirty"
