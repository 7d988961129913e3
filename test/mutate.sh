#!/usr/bin/env bash
# `make mutate`: mutation testing with gremlins over the packages that decide
# and guard, one package at a time, one line per package:
#   mutation PACKAGE KILLED/TOTAL PERCENT%
# followed by the surviving mutants, those explained in
# test/mutation-equivalent.txt marked with their reason.
#
# MUTATE_PKGS picks packages; MUTATE_WORKERS (default 1) and
# MUTATE_TIMEOUT (gremlins' timeout coefficient over the package's covered
# test time, default 30: generous, since each mutant also compiles) suit a
# small or busy machine. Reports are kept in MUTATE_OUT (default
# ./mutation/).
#
# gremlins only tries a mutant inside a block of Go's coverage profile,
# which has none for a switch's case expressions or a package variable's
# initialiser: those would all read NOT COVERED. test/mutcover then runs
# every NOT COVERED mutant itself (MUTATE_COVER_TIMEOUT per run, default
# 5m), so the score counts what the tests really do. It also retries the
# TIMED OUT ones under that budget: gremlins' own is MUTATE_TIMEOUT times
# the package's (cached) test time, which a mutant's compile and link can
# exceed on a loaded machine, and a time-out would count as killed.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
# shellcheck source=test/postgres.sh
. test/postgres.sh
trap pg_cleanup EXIT
GREMLINS=${GREMLINS:-$($GO env GOPATH)/bin/gremlins}
pkgs=${MUTATE_PKGS:-policy milter config store keyserver envelope scanner}
out=${MUTATE_OUT:-mutation}
mkdir -p "$out"
status=0
for p in $pkgs; do
	[ -d "$p" ] || continue
	if ! "$GREMLINS" unleash --silent --workers "${MUTATE_WORKERS:-1}" \
		--timeout-coefficient "${MUTATE_TIMEOUT:-30}" -o "$out/$p.json" "./$p" >"$out/$p.log" 2>&1; then
		echo "mutation $p: gremlins failed (log: $out/$p.log)"
		status=1
		continue
	fi
	if ! $GO run ./test/mutcover -go "$GO" -timeout "${MUTATE_COVER_TIMEOUT:-5m}" "$p" "$out/$p.json"; then
		echo "mutation $p: mutcover failed"
		status=1
		continue
	fi
	$GO run ./test/mutscore -equivalent test/mutation-equivalent.txt "$p" "$out/$p.json"
done
exit $status
