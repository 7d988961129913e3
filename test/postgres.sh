# Sourced by test/gotest.sh and test/mutate.sh: makes POSTSEAL_TEST_PG_DSN
# name a PostgreSQL that answers — the one it already names, else the local
# one at 127.0.0.1:5432 (database test), else a private cluster started here
# on a free loopback port (Debian's postgresql package; as the postgres user
# when run as root), stopped and removed when the sourcing script exits.
default_dsn="postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

pg_answers() {
	psql "$1" -XAtqc 'select 1' >/dev/null 2>&1
}

pgdir=""
pg_cleanup() {
	if [ -n "$pgdir" ]; then
		as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -m immediate stop >/dev/null 2>&1
		rm -rf "$pgdir"
	fi
}

as_pg() {
	if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_private_pg() {
	pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
	if [ -z "$pgbin" ] || [ ! -x "$pgbin/initdb" ]; then
		echo "postgres.sh: PostgreSQL is not installed (make test-deps installs it)" >&2
		exit 1
	fi
	pgdir=$(mktemp -d /tmp/postseal-pg-XXXXXX)
	[ "$(id -u)" = 0 ] && chown postgres: "$pgdir"
	as_pg "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >"$pgdir/initdb.log" 2>&1 || {
		cat "$pgdir/initdb.log" >&2
		exit 1
	}
	local port
	for _ in $(seq 50); do
		port=$((20000 + RANDOM % 10000))
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
		if as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/server.log" -w -t 60 \
			-o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null; then
			as_pg "$pgbin/createdb" -h 127.0.0.1 -p "$port" -U postgres test || exit 1
			export POSTSEAL_TEST_PG_DSN="postgres://postgres@127.0.0.1:$port/test?sslmode=disable"
			echo "postgres.sh: private PostgreSQL cluster on 127.0.0.1:$port"
			return
		fi
	done
	cat "$pgdir/server.log" >&2
	echo "postgres.sh: could not start a private PostgreSQL cluster" >&2
	exit 1
}

if [ -n "${POSTSEAL_TEST_PG_DSN:-}" ]; then
	pg_answers "$POSTSEAL_TEST_PG_DSN" || { echo "postgres.sh: POSTSEAL_TEST_PG_DSN does not answer" >&2; exit 1; }
elif pg_answers "$default_dsn"; then
	export POSTSEAL_TEST_PG_DSN="$default_dsn"
else
	start_private_pg
fi

