#!/usr/bin/env bash
# Edge benchmark: what one authd costs the proxies in front of it. Builds the
# release binary, runs it on SQLite pinned to its own CPU (taskset), and
# drives each hot path closed-loop from the other CPU: /healthz (admin
# listener, the reference), /forward-auth with one repeated JWT, with an API
# key and with JWTs never seen before, the JWKS, introspection of a repeated
# JWT and the client_credentials grant. Prints req/s, p50/p99, the count of
# non-2xx answers and each path's ratio to /healthz of the same run, then
# the server's peak resident memory (VmHWM). Exits non-zero when a run had a
# non-2xx answer or a transport error.
#
# Run from anywhere: bench/edge.sh
#
# Load: wrk when installed (apt-get install wrk); otherwise bench/loadgen,
# which drives only /forward-auth with a JWT and with an API key (the other
# rows print n/a).
#
# Knobs (environment):
#   EDGE_DURATION     each run's length                                   (10s)
#   EDGE_CC_DURATION  the client_credentials run's, which issues the tokens
#                     the never-seen run uses (twice EDGE_DURATION)
#   EDGE_CONNECTIONS  keep-alive connections per run                      (16)
#   EDGE_SERVER_CPUS  CPU list authd is pinned to (taskset -c)            (1)
#   EDGE_CLIENT_CPUS  CPU list the load generator is pinned to            (0)
#   EDGE_ROUNDS       how many times the whole set of paths runs          (1)
#   EDGE_PATHS        which rows to run, space-separated                  (all:
#                     healthz cc fa-jwt fa-key fa-new jwks introspect)
#   EDGE_DIR          where the binary, database and logs go   (a new temporary folder)
#   EDGE_KEEP=1       keep EDGE_DIR
#   EDGE_BIN          use this authd binary instead of building one (e.g. an
#                     older commit's, for a before/after comparison)
# Any AUTHD_* variable set in the environment reaches authd. Needs go, curl
# and jq; taskset for pinning.
set -euo pipefail

cd "$(dirname "$0")/.."

duration=${EDGE_DURATION:-10s}
conns=${EDGE_CONNECTIONS:-16}
# The never-seen run must not run out of tokens: the run that issues them
# lasts longer (a never-seen verification is never faster than an issue).
if [[ $duration =~ ^([0-9]+)s$ ]]; then
	cc_duration=${EDGE_CC_DURATION:-$((BASH_REMATCH[1] * 2))s}
else
	cc_duration=${EDGE_CC_DURATION:-$duration}
fi
server_cpus=${EDGE_SERVER_CPUS:-1}
client_cpus=${EDGE_CLIENT_CPUS:-0}
rounds=${EDGE_ROUNDS:-1}
paths=${EDGE_PATHS:-healthz cc fa-jwt fa-key fa-new jwks introspect}
dir=${EDGE_DIR:-$(mktemp -d /tmp/authd-edge.XXXXXX)}
mkdir -p "$dir"

pid=""
cleanup() {
	local rc=$?
	if [[ -n $pid ]]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [[ ${EDGE_KEEP:-0} != 1 && -z ${EDGE_DIR:-} ]]; then
		rm -rf "$dir"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=bench/lib.sh
source bench/lib.sh

pin_server=() pin_client=()
if command -v taskset >/dev/null && (($(nproc) > 1)); then
	pin_server=(taskset -c "$server_cpus")
	pin_client=(taskset -c "$client_cpus")
else
	echo "edge: not pinned (no taskset or one CPU): authd and the load share the CPUs" >&2
fi

echo "== machine"
echo "nproc $(nproc); $(go version); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ -n ${EDGE_BIN:-} ]]; then
	bin=$EDGE_BIN
	echo "== using $bin"
else
	bin="$dir/authd"
	echo "== build: CGO_ENABLED=0 go build -trimpath -tags nomsgpack -> $bin"
	CGO_ENABLED=0 go build -trimpath -tags nomsgpack -o "$bin" ./cmd/authd
fi

tool=wrk
if ! command -v wrk >/dev/null; then
	tool=loadgen
	echo "edge: wrk is not installed; using bench/loadgen (forward-auth rows only)" >&2
	go build -o "$dir/loadgen" ./bench/loadgen
fi

http_port=$(free_port) admin_port=$(free_port)
base="http://127.0.0.1:${http_port}"
admin="http://127.0.0.1:${admin_port}"
export AUTHD_DATABASE_DSN=${AUTHD_DATABASE_DSN:-sqlite://$dir/authd.db}
export AUTHD_SECRETS_SYSTEM=${AUTHD_SECRETS_SYSTEM:-edge-bench-secret-not-for-production-0123456789}
export AUTHD_ISSUER=${AUTHD_ISSUER:-$base}
export AUTHD_HTTP_ADDR="127.0.0.1:${http_port}" AUTHD_ADMIN_ADDR="127.0.0.1:${admin_port}"
export AUTHD_LOG_REQUESTS=${AUTHD_LOG_REQUESTS:-sampled}
export AUTHD_REDIS_URL=${AUTHD_REDIS_URL:-}
# The one sign-in that makes the repeated JWT hashes a password; no edge
# path does. A smaller argon2id cost keeps its 19 MiB buffer out of the
# peak (soak.sh does the same).
export AUTHD_PASSWORDS_MEMORY_KIB=${AUTHD_PASSWORDS_MEMORY_KIB:-8192}
export AUTHD_PASSWORDS_ITERATIONS=${AUTHD_PASSWORDS_ITERATIONS:-1}

"$bin" migrate >"$dir/migrate.log" 2>&1 || { cat "$dir/migrate.log"; exit 1; }
"$bin" bootstrap --json >"$dir/bootstrap.json" 2>"$dir/bootstrap.log" || { cat "$dir/bootstrap.log"; exit 1; }
# Drop the binary's pages from the page cache first: how many of them a
# process maps (and so its file-backed RSS) depends on how much of the file
# is cached, up to ~10 MiB apart for the same binary. Started cold, runs
# compare.
dd if="$bin" iflag=nocache count=0 status=none 2>/dev/null || true
"${pin_server[@]}" "$bin" serve >"$dir/authd.log" 2>&1 &
pid=$!
for _ in $(seq 200); do
	curl -fsS -o /dev/null "$admin/readyz" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || { cat "$dir/authd.log"; exit 1; }
	sleep 0.05
done
curl -fsS -o /dev/null "$admin/readyz" || { echo "edge: authd is not ready" >&2; cat "$dir/authd.log"; exit 1; }
echo "authd pid $pid on CPUs ${server_cpus} (GOMAXPROCS follows the affinity), $base, admin $admin, $tool on CPUs ${client_cpus}"
echo "VmRSS after start: $(awk '/VmRSS/ {print $2, $3}' "/proc/$pid/status")"

email=$(jq -r .admin.email "$dir/bootstrap.json")
password=$(jq -r .admin.password "$dir/bootstrap.json")
key=$(jq -r .api_keys.live.secret "$dir/bootstrap.json")
client_id=$(jq -r .clients.introspection.client_id "$dir/bootstrap.json")
client_secret=$(jq -r .clients.introspection.client_secret "$dir/bootstrap.json")
basic=$(printf '%s:%s' "$client_id" "$client_secret" | base64 -w0)
jwt=$(curl -fsS -H 'Content-Type: application/json' \
	-d "$(jq -nc --arg u "$email" --arg p "$password" '{username: $u, password: $p}')" \
	"$base/backoffice/v1/users/authenticate" | jq -r .access_token)
[[ -n $jwt && $jwt != null ]] || { echo "edge: sign-in failed" >&2; exit 1; }
curl -fsS -o /dev/null -H "Authorization: Bearer $jwt" "$base/forward-auth" || { echo "edge: forward-auth refuses the admin's token" >&2; exit 1; }

# The peak resident memory is measured from here on: the set-up above (the
# sign-in's password hash) is not an edge path. Writing 5 to clear_refs
# resets VmHWM to the current VmRSS (Linux >= 4.0).
echo "VmRSS after set-up (one sign-in): $(awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$pid/status"), VmHWM $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$pid/status")"
if echo 5 >"/proc/$pid/clear_refs" 2>/dev/null; then
	echo "VmHWM reset to VmRSS: the peak below is the runs'"
else
	echo "edge: cannot reset VmHWM (not the process owner?): the peak below includes the set-up" >&2
fi

# --- wrk scripts ---------------------------------------------------------------
# done() prints one line: requests, microseconds, p50 and p99 (µs), answers
# with status >= 400 (wrk's count; nothing here redirects, so that is every
# non-2xx), transport errors, and how often a never-seen run ran out of
# tokens and reused them.
cat >"$dir/common.lua" <<'EOF'
threads = {}
setup = function(thread)
	thread:set("id", #threads)
	table.insert(threads, thread)
end
done = function(summary, latency, requests)
	local e = summary.errors
	local wraps = 0
	for _, t in ipairs(threads) do wraps = wraps + (t:get("wraps") or 0) end
	io.write(string.format("RESULT %d %d %d %d %d %d %d\n", summary.requests, summary.duration,
		latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout, wraps))
end
EOF
# client_credentials: every access token issued is kept, one file per wrk
# thread, for the never-seen run.
cat >"$dir/cc.lua" <<EOF
dofile("$dir/common.lua")
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
local out
response = function(status, headers, body)
	if status ~= 200 then return end
	if not out then out = io.open("$dir/tokens_" .. id .. ".txt", "a") end
	local tok = body:match('"access_token":"([^"]+)"')
	if tok then out:write(tok, "\n") end
end
EOF
# never-seen JWTs: the run walks the issued tokens once (wrk runs one
# thread); running out, it starts again and counts a wrap (then the row
# measures cache hits too and says so).
cat >"$dir/fa-new.lua" <<EOF
dofile("$dir/common.lua")
local toks, i = {}, 0
wraps = 0
init = function(args)
	for f in io.popen("ls $dir/tokens_*.txt 2>/dev/null"):lines() do
		for line in io.lines(f) do toks[#toks + 1] = line end
	end
end
request = function()
	i = i + 1
	if i > #toks then i, wraps = 1, wraps + 1 end
	return wrk.format("GET", "/forward-auth", {["Authorization"] = "Bearer " .. (toks[i] or "none")})
end
EOF
cat >"$dir/fa-jwt.lua" <<EOF
dofile("$dir/common.lua")
wrk.headers["Authorization"] = "Bearer $jwt"
EOF
cat >"$dir/fa-key.lua" <<EOF
dofile("$dir/common.lua")
wrk.headers["api_key"] = "$key"
EOF
cat >"$dir/introspect.lua" <<EOF
dofile("$dir/common.lua")
wrk.method = "POST"
wrk.body = "token=$jwt"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic $basic"
EOF
cp "$dir/common.lua" "$dir/plain.lua"

declare -A url script
url[healthz]="$admin/healthz";          script[healthz]=plain
url[cc]="$base/oauth2/token";           script[cc]=cc
url[fa-jwt]="$base/forward-auth";       script[fa-jwt]=fa-jwt
url[fa-key]="$base/forward-auth";       script[fa-key]=fa-key
url[fa-new]="$base/forward-auth";       script[fa-new]=fa-new
url[jwks]="$base/.well-known/jwks.json"; script[jwks]=plain
url[introspect]="$base/oauth2/introspect"; script[introspect]=introspect
declare -A label=(
	[healthz]="GET /healthz (admin)"
	[cc]="POST /oauth2/token client_credentials"
	[fa-jwt]="/forward-auth, repeated JWT"
	[fa-key]="/forward-auth, API key"
	[fa-new]="/forward-auth, never-seen JWTs"
	[jwks]="GET /.well-known/jwks.json"
	[introspect]="POST /oauth2/introspect, repeated JWT"
)
declare -A target=([fa-jwt]=0.60 [fa-key]=0.60 [fa-new]=0.08 [introspect]=0.50 [jwks]=0.80)

# run NAME: prints "rps p50_us p99_us non2xx transport wraps" or "n/a".
run() {
	local name=$1
	if [[ $tool == wrk ]]; then
		local d=$duration
		[[ $name != cc ]] || d=$cc_duration
		"${pin_client[@]}" wrk -t1 -c"$conns" -d"$d" -s "$dir/${script[$name]}.lua" "${url[$name]}" >"$dir/$name.out" 2>&1 || true
		awk '/^RESULT/ {printf "%.0f %d %d %d %d %d\n", $2 / ($3 / 1e6), $4, $5, $6, $7, $8}' "$dir/$name.out"
		return
	fi
	local mix
	case $name in
	fa-jwt) mix=fa-jwt ;;
	fa-key) mix=fa-key ;;
	*) echo "n/a"; return ;;
	esac
	"${pin_client[@]}" "$dir/loadgen" -bootstrap "$dir/bootstrap.json" -url "$base" -mix "$mix" \
		-concurrency "$conns" -measure "$duration" -report 0 >"$dir/$name.out" 2>&1 || true
	awk -v op="$mix" '
		/^capacity:/ {rps = $2}
		$1 == op {for (i = 1; i <= NF; i++) {if ($i ~ /^p50=/) p50 = $i; if ($i ~ /^p99=/) p99 = $i}}
		END {print rps, p50, p99, "?", "?", 0}' "$dir/$name.out"
}

status=0
for round in $(seq "$rounds"); do
	[[ $rounds == 1 ]] || echo "== round $round"
	rm -f "$dir"/tokens_*.txt
	declare -A res=() hwm=()
	for name in $paths; do
		res[$name]=$(run "$name")
		hwm[$name]=$(awk '/VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$pid/status")
		[[ -n ${res[$name]} ]] || { echo "edge: $name produced no result:"; cat "$dir/$name.out"; status=1; res[$name]="n/a"; }
	done
	read -r h_rps _ <<<"${res[healthz]:-0}"
	printf '\n%-40s %9s %9s %9s %8s %7s %8s %10s\n' "path ($tool, -c$conns, $duration; cc $cc_duration)" "req/s" "p50 ms" "p99 ms" "non-2xx" "ratio" "target" "VmHWM MiB"
	for name in $paths; do
		if [[ ${res[$name]} == n/a ]]; then
			printf '%-40s %9s\n' "${label[$name]}" "n/a"
			continue
		fi
		read -r rps p50 p99 bad terr wraps <<<"${res[$name]}"
		ratio="-"
		if [[ $name != healthz && ${h_rps:-0} != 0 ]]; then
			ratio=$(awk -v a="$rps" -v b="$h_rps" 'BEGIN {printf "%.2f", a / b}')
		fi
		note=""
		[[ $wraps == 0 || $wraps == "" ]] || note=" (tokens reused ${wraps}x: not all never-seen)"
		[[ $bad == 0 && $terr == 0 ]] || { [[ $bad == "?" ]] || { status=1; note+=" ($terr transport errors)"; }; }
		if [[ $tool == wrk ]]; then
			p50=$(awk -v u="$p50" 'BEGIN {printf "%.3f", u / 1000}')
			p99=$(awk -v u="$p99" 'BEGIN {printf "%.3f", u / 1000}')
		fi
		printf '%-40s %9s %9s %9s %8s %7s %8s %10s%s\n' "${label[$name]}" "$rps" "$p50" "$p99" "$bad" "$ratio" "${target[$name]:--}" "${hwm[$name]}" "$note"
	done
	if [[ " $paths " == *" fa-new "* && " $paths " != *" cc "* ]]; then
		echo "(fa-new uses the tokens the cc row issues: run both)"
	fi
done

echo
echo "authd VmHWM (peak RSS during the runs) $(awk '/VmHWM/ {printf "%.1f MiB", $2 / 1024}' "/proc/$pid/status"), VmRSS now $(awk '/VmRSS/ {printf "%.1f MiB", $2 / 1024}' "/proc/$pid/status") (anonymous $(awk '/RssAnon/ {printf "%.1f MiB", $2 / 1024}' "/proc/$pid/status"), file-backed $(awk '/RssFile/ {printf "%.1f MiB", $2 / 1024}' "/proc/$pid/status"))"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
errs=$(grep -c '"level":"ERROR"' "$dir/authd.log" || true)
echo "authd log: ${errs} ERROR lines (${dir}/authd.log)"
exit "$status"
