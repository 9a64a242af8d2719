#!/usr/bin/env bash
# Soak test: two authd replicas (the release build) on one fresh PostgreSQL
# database and one Redis, driven by bench/loadgen at a fraction of the
# capacity it measures first, with sign-in, refresh, forward-auth with a JWT
# and forward-auth with an API key spread over both replicas. Prints errors,
# latency and each replica's RSS and goroutines over time; stops everything
# it started and drops the database at exit. Exits non-zero when any request
# failed or a replica died.
#
# Run from anywhere: bench/soak.sh
#
# Knobs (environment):
#   SOAK_DURATION     how long the paced run lasts                  (10m)
#   SOAK_MEASURE      closed-loop capacity measurement before it    (10s)
#   SOAK_FRACTION     fraction of the measured capacity to run at   (0.5)
#   SOAK_RATE         fixed rate in req/s: skips the measurement    (unset)
#   SOAK_CONCURRENCY  loadgen workers (virtual clients)             (32)
#   SOAK_MIX          operation weights                (signin=1,refresh=4,fa-jwt=10,fa-key=10)
#   SOAK_REPORT       interval of progress lines                    (30s)
#   SOAK_DIR          where binaries, logs and bootstrap.json go    (a new temporary folder)
#   SOAK_KEEP=1       keep the database, the Redis keys and SOAK_DIR
#   AUTHD_SOAK_DSN    PostgreSQL DSN of a role that may create databases; a
#                     new database authd_soak_<time>_<pid> is made beside it
#                     (postgres://authd:authd@127.0.0.1:5432/authd_test?sslmode=disable)
#   AUTHD_SOAK_REDIS  Redis URL; keys go under a unique prefix     (redis://127.0.0.1:6379/0)
# Any AUTHD_* variable set in the environment reaches the replicas; the
# script's own defaults (below) only fill the unset ones. Needs go, psql,
# curl; redis-cli to remove the keys afterwards.
set -euo pipefail

cd "$(dirname "$0")/.."

duration=${SOAK_DURATION:-10m}
measure=${SOAK_MEASURE:-10s}
fraction=${SOAK_FRACTION:-0.5}
concurrency=${SOAK_CONCURRENCY:-32}
mix=${SOAK_MIX:-signin=1,refresh=4,fa-jwt=10,fa-key=10}
report=${SOAK_REPORT:-30s}
admin_dsn=${AUTHD_SOAK_DSN:-postgres://authd:authd@127.0.0.1:5432/authd_test?sslmode=disable}
redis_url=${AUTHD_SOAK_REDIS:-redis://127.0.0.1:6379/0}
stamp="$(date +%Y%m%d%H%M%S)_$$"
db="authd_soak_${stamp}"
prefix="authd-soak-${stamp}:"
dir=${SOAK_DIR:-$(mktemp -d /tmp/authd-soak.XXXXXX)}
mkdir -p "$dir"

# The same DSN with the new database's name as its path.
dsn=$(printf '%s' "$admin_dsn" | sed -E "s#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/${db}#")

pids=()
db_created=0
cleanup() {
	local rc=$?
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ ${SOAK_KEEP:-0} != 1 ]]; then
		if [[ $db_created == 1 ]]; then
			psql -q "$admin_dsn" -c "DROP DATABASE IF EXISTS ${db} WITH (FORCE)" >/dev/null 2>&1 ||
				echo "soak: could not drop database ${db}" >&2
		fi
		if command -v redis-cli >/dev/null; then
			redis-cli -u "$redis_url" --scan --pattern "${prefix}*" 2>/dev/null |
				xargs -r -n 500 redis-cli -u "$redis_url" del >/dev/null 2>&1 || true
		fi
		[[ -n ${SOAK_DIR:-} ]] || rm -rf "$dir"
	else
		echo "soak: kept database ${db}, Redis prefix ${prefix}, folder ${dir}"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
source bench/lib.sh

echo "== machine"
echo "nproc $(nproc); $(go version)"
free -h | sed -n 1,2p
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== build (release binary and loadgen) into $dir"
CGO_ENABLED=0 go build -trimpath -tags nomsgpack -o "$dir/authd" ./cmd/authd
go build -o "$dir/loadgen" ./bench/loadgen

echo "== database ${db}, Redis ${redis_url} prefix ${prefix}"
psql -q -v ON_ERROR_STOP=1 "$admin_dsn" -c "CREATE DATABASE ${db}" >/dev/null
db_created=1

export AUTHD_DATABASE_DSN="$dsn"
export AUTHD_REDIS_URL="$redis_url"
export AUTHD_REDIS_KEY_PREFIX="$prefix"
export AUTHD_SECRETS_SYSTEM=${AUTHD_SECRETS_SYSTEM:-soak-secret-not-for-production-use-0123456789}
export AUTHD_ISSUER=${AUTHD_ISSUER:-http://authd-soak.test}
export AUTHD_RATE_LIMITS_PASSWORD_PER_ACCOUNT_PER_HOUR=${AUTHD_RATE_LIMITS_PASSWORD_PER_ACCOUNT_PER_HOUR:-100000000}
export AUTHD_RATE_LIMITS_PASSWORD_PER_IP_PER_MINUTE=${AUTHD_RATE_LIMITS_PASSWORD_PER_IP_PER_MINUTE:-100000000}
export AUTHD_PASSWORDS_MEMORY_KIB=${AUTHD_PASSWORDS_MEMORY_KIB:-8192}
export AUTHD_PASSWORDS_ITERATIONS=${AUTHD_PASSWORDS_ITERATIONS:-1}
export AUTHD_LOG_REQUESTS=${AUTHD_LOG_REQUESTS:-off}
echo "argon2id: ${AUTHD_PASSWORDS_MEMORY_KIB} KiB, ${AUTHD_PASSWORDS_ITERATIONS} iteration(s)"

"$dir/authd" migrate >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log"; exit 1; }
"$dir/authd" bootstrap --json >"$dir/bootstrap.json" 2>"$dir/bootstrap.log" || { cat "$dir/bootstrap.log"; exit 1; }

urls=() admins=()
for name in a b; do
	http_port=$(free_port) admin_port=$(free_port)
	AUTHD_HTTP_ADDR="127.0.0.1:${http_port}" AUTHD_ADMIN_ADDR="127.0.0.1:${admin_port}" \
		"$dir/authd" serve >"$dir/authd-${name}.log" 2>&1 &
	pids+=("$!")
	urls+=("http://127.0.0.1:${http_port}")
	admins+=("http://127.0.0.1:${admin_port}")
done
for i in "${!admins[@]}"; do
	for _ in $(seq 200); do
		curl -fsS -o /dev/null "${admins[$i]}/readyz" 2>/dev/null && break
		kill -0 "${pids[$i]}" 2>/dev/null || { cat "$dir/authd-$([[ $i == 0 ]] && echo a || echo b).log"; exit 1; }
		sleep 0.1
	done
	curl -fsS -o /dev/null "${admins[$i]}/readyz" || { echo "soak: replica ${urls[$i]} not ready" >&2; exit 1; }
	echo "replica ${urls[$i]} (admin ${admins[$i]}, pid ${pids[$i]}) ready"
done
url_list=$(IFS=,; echo "${urls[*]}")
admin_list=$(IFS=,; echo "${admins[*]}")
lg=("$dir/loadgen" -bootstrap "$dir/bootstrap.json" -url "$url_list" -admin "$admin_list" -concurrency "$concurrency" -mix "$mix")

status=0
if [[ -n ${SOAK_RATE:-} ]]; then
	rate=$SOAK_RATE
else
	echo "== capacity: closed loop for ${measure}, ${concurrency} workers"
	"${lg[@]}" -measure "$measure" -report 0 | tee "$dir/measure.log" || status=1
	capacity=$(awk '/^capacity:/ {print $2}' "$dir/measure.log")
	[[ -n $capacity && $capacity != 0 ]] || { echo "soak: no capacity measured" >&2; exit 1; }
	rate=$(awk -v c="$capacity" -v f="$fraction" 'BEGIN {r = c * f; if (r < 1) r = 1; printf "%d", r}')
fi

echo "== soak: ${rate} req/s for ${duration} across ${url_list}"
"${lg[@]}" -rate "$rate" -duration "$duration" -report "$report" | tee "$dir/soak.log" || status=1

echo "== after the run"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!pids[@]}"; do
	name=$([[ $i == 0 ]] && echo a || echo b)
	if ! kill -0 "${pids[$i]}" 2>/dev/null; then
		echo "replica ${name} (${urls[$i]}) DIED; last log lines:"
		tail -n 20 "$dir/authd-${name}.log"
		status=1
		continue
	fi
	errs=$(grep -c '"level":"ERROR"' "$dir/authd-${name}.log" || true)
	warns=$(grep -c '"level":"WARN"' "$dir/authd-${name}.log" || true)
	echo "replica ${name} (${urls[$i]}): ${errs} ERROR and ${warns} WARN log lines (${dir}/authd-${name}.log)"
	# The messages by count (the first 60 characters of each).
	grep -E '"level":"(ERROR|WARN)"' "$dir/authd-${name}.log" |
		sed -E 's/.*"level":"([A-Z]+)","msg":"([^"]{0,60}).*/\1 \2/' | sort | uniq -c | sort -rn | head -8 || true
done
if [[ $status != 0 ]]; then
	echo "soak: FAILED (errors above)"
else
	echo "soak: OK, no errors"
fi
exit "$status"
