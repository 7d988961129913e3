#!/usr/bin/env bash
# `make mutate`: mutation testing with gremlins over the packages that decide
# and guard, one package at a time, one line per package:
#   mutation PACKAGE KILLED/TOTAL PERCENT%
# followed by the surviving mutants, those explained in
# test/mutation-equivalent.txt marked with their reason.
#
# MUTATE_PKGS picks packages; MUTATE_WORKERS (default 1) runs mutants at once
# (each PostgreSQL test has its own schema, so runs never collide; on 2 cores
# one worker leaves room for the package's own parallel tests).
# Reports are kept in MUTATE_OUT (default ./mutation/).
#
# gremlins lists the mutants (--dry-run: which operator, where); test/mutcover
# runs them. Compiling one test binary per mutant costs 1 to 4 s here, hours
# for a package with thousands of mutants, so mutcover writes them all into
# one binary behind a switch (mutant schemata) and runs each mutant with
# only the tests that execute its line (per-test coverage of the unmutated
# package); a mutant on a line Go's coverage has no block for (a switch's
# case expression, a package variable's initialiser) runs every test. The
# few sites the schemata cannot express are compiled one by one, as before
# (MUTATE_SCHEMATA=false does that for all). A mutant whose tests exceed
# their budget (3x their time alone + 15 s, at most MUTATE_COVER_TIMEOUT)
# counts as killed, as in gremlins.
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
# Documents the scanner's tests have LibreOffice, Chromium and qpdf make
# are made once for the whole run, not once per mutant.
POSTSEAL_PRODUCER_CACHE=$(mktemp -d /tmp/postseal-producers-XXXXXX)
export POSTSEAL_PRODUCER_CACHE
trap 'pg_cleanup; rm -rf "$POSTSEAL_PRODUCER_CACHE"' EXIT
status=0
for p in $pkgs; do
	[ -d "$p" ] || continue
	if ! "$GREMLINS" unleash --dry-run --silent -o "$out/$p.json" "./$p" >"$out/$p.log" 2>&1; then
		echo "mutation $p: gremlins failed (log: $out/$p.log)"
		status=1
		continue
	fi
	if ! $GO run ./test/mutcover -go "$GO" -status "RUNNABLE,NOT COVERED" -workers "${MUTATE_WORKERS:-1}" \
		-schemata="${MUTATE_SCHEMATA:-true}" -timeout "${MUTATE_COVER_TIMEOUT:-5m}" "$p" "$out/$p.json" 2>>"$out/$p.log"; then
		echo "mutation $p: mutcover failed (log: $out/$p.log)"
		status=1
		continue
	fi
	$GO run ./test/mutscore -equivalent test/mutation-equivalent.txt "$p" "$out/$p.json"
done
exit $status
