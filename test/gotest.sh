#!/usr/bin/env bash
# Runs `go test -v ARGS...` the way `make test` wants it: every test runs,
# none is skipped.
#
# - PostgreSQL: the server POSTSEAL_TEST_PG_DSN names, else the local one at
#   127.0.0.1:5432 (database test) when it answers, else a private cluster
#   started here on a free loopback port (Debian's postgresql package; as the
#   postgres user when run as root) and removed afterwards.
# - CI=true: a missing real component fails its test instead of skipping it.
# - Any test that skipped all the same fails the run, named.
set -uo pipefail

GO=${GO:-go}
export CI=true
# shellcheck source=test/postgres.sh
. "$(dirname "$0")/postgres.sh"
log=""
trap 'pg_cleanup; rm -f "$log"' EXIT

log=$(mktemp /tmp/postseal-gotest-XXXXXX)
"$GO" test -v "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
skipped=$(grep -E -- '^\s*--- SKIP' "$log")
if [ -n "$skipped" ]; then
	echo "gotest.sh: tests skipped (make test runs every test; a skip hides a missing component):" >&2
	echo "$skipped" >&2
	[ "$status" = 0 ] && status=1
fi
exit "$status"
