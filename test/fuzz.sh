#!/usr/bin/env bash
# `make fuzz`: every fuzz target of the module, one after the other, each
# for FUZZTIME (default 60s). Each target asserts invariants, not only "no
# panic"; a failing input is written under the package's testdata/fuzz/,
# where plain `go test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
fuzztime=${FUZZTIME:-60s}
status=0
for pkg in $($GO list ./...); do
	for target in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "fuzz $pkg $target ($fuzztime)"
		if ! $GO test -run '^$' -fuzz "^$target\$" -fuzztime "$fuzztime" "$pkg"; then
			status=1
		fi
	done
done
exit $status
