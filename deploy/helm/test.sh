#!/usr/bin/env bash
# Lint, render and schema-check the authd Helm chart (run by CI).
#
# Needs on PATH: helm (v3), kubeconform; optional: go (checks that authd
# itself accepts the rendered authd.yaml), python3 with PyYAML (offline
# schemas). Exits non-zero on any failure.
#
#   go install helm.sh/helm/v3/cmd/helm@latest
#   go install github.com/yannh/kubeconform/cmd/kubeconform@latest
#   deploy/helm/test.sh
#
# Schemas: kubeconform's default location (downloaded) is used when it is
# reachable. Otherwise (no internet) the schemas are generated locally by
# k8s-schemas.py from k8s.io/client-go's built-in type schema: every field
# name, nesting and scalar type is checked; required fields and enums are
# not. Environment overrides:
#   KUBECONFORM_SCHEMA_LOCATION   use this -schema-location (skips detection)
#   K8S_SCHEMA_CLIENT_GO          client-go version for offline schemas (default: newest in the module cache, else latest)
#   AUTHD_BIN                     an authd binary for the config check (default: go build ./cmd/authd)
#   SKIP_AUTHD_CONFIG_CHECK=1     skip the config check
set -euo pipefail

cd "$(dirname "$0")/../.."
CHART=deploy/helm/authd
CI_VALUES=$CHART/ci
SKIP_KINDS=ServiceMonitor # CRDs: no built-in schema

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }

for tool in helm kubeconform; do
	command -v "$tool" >/dev/null || fail "$tool is not on PATH"
done
echo "helm $(helm version --short), kubeconform $(kubeconform -v)"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ---------------------------------------------------------------- lint
step "helm lint --strict (minimal values, all values)"
helm lint --strict "$CHART" -f "$CI_VALUES/minimal-values.yaml"
helm lint --strict "$CHART" -f "$CI_VALUES/all-values.yaml"

step "chart defaults alone must refuse to render (issuer and secrets are required)"
if helm template authd "$CHART" >"$WORK/defaults.yaml" 2>"$WORK/defaults.err"; then
	fail "helm template with bare defaults succeeded; it must require issuer and secrets"
fi
grep -q "issuer is required" "$WORK/defaults.err" || { cat "$WORK/defaults.err" >&2; fail "unexpected error for bare defaults"; }
echo "ok: $(grep -o 'issuer is required[^:]*' "$WORK/defaults.err" | head -1)"

step "misconfigurations are refused"
expect_refusal() { # name, expected message part, helm args...
	local name=$1 want=$2
	shift 2
	if helm template authd "$CHART" "$@" >/dev/null 2>"$WORK/err"; then
		fail "$name: rendered, but should have been refused"
	fi
	grep -q -- "$want" "$WORK/err" || { cat "$WORK/err" >&2; fail "$name: wrong error"; }
	echo "ok: $name"
}
expect_refusal "secret in config" "config.database.dsn must not be set" \
	-f "$CI_VALUES/minimal-values.yaml" --set config.database.dsn=postgres://x
expect_refusal "twilio token in config" "config.otp.twilio.auth_token must not be set" \
	-f "$CI_VALUES/minimal-values.yaml" --set config.otp.twilio.auth_token=SUPERSECRET
expect_refusal "smtp password in config" "config.otp.smtp.password must not be set" \
	-f "$CI_VALUES/minimal-values.yaml" --set config.otp.smtp.password=SMTPPASS
expect_refusal "webhook secret in config" "config.otp.webhook_secret must not be set" \
	-f "$CI_VALUES/minimal-values.yaml" --set config.otp.webhook_secret=WHSECRET
expect_refusal "short system secret" "at least 32 characters" \
	-f "$CI_VALUES/minimal-values.yaml" --set secrets.system=short
expect_refusal "no redis with 2 replicas" "secrets.redisURL" \
	-f "$CI_VALUES/minimal-values.yaml" --set secrets.redisURL=
expect_refusal "sqlite with 2 replicas" "SQLite but more than one replica" \
	-f "$CI_VALUES/minimal-values.yaml" --set secrets.databaseDSN=sqlite:///var/lib/authd/data/authd.db
expect_refusal "issuer with trailing slash" "must be an absolute http(s) URL" \
	-f "$CI_VALUES/minimal-values.yaml" --set issuer=https://auth.example.com/

# ---------------------------------------------------------------- render
step "helm template"
render() { # name, helm args...
	local name=$1
	shift
	helm template authd "$CHART" --namespace authd "$@" >"$WORK/$name.yaml"
	echo "rendered $name: $(grep -c '^kind:' "$WORK/$name.yaml") objects ($(grep '^kind:' "$WORK/$name.yaml" | awk '{print $2}' | sort | uniq -c | awk '{printf "%s%s×%s", sep, $2, $1; sep=", "}'))"
}
render defaults -f "$CI_VALUES/minimal-values.yaml"
render defaults-k8s-1.31 -f "$CI_VALUES/minimal-values.yaml" --kube-version 1.31.0
render all -f "$CI_VALUES/all-values.yaml" --kube-version 1.31.0
render single -f "$CI_VALUES/minimal-values.yaml" --set replicaCount=1 --set secrets.redisURL= \
	--set secrets.databaseDSN=sqlite:///var/lib/authd/data/authd.db --set migration.enabled=false

step "rendered content"
has() { grep -q -- "$2" "$WORK/$1.yaml" || fail "$1: expected to find: $2"; }
hasnt() { ! grep -q -- "$2" "$WORK/$1.yaml" || fail "$1: did not expect: $2"; }
has defaults 'kind: PodDisruptionBudget'
has defaults 'kind: Job'
has defaults 'helm.sh/hook: pre-install,pre-upgrade'
has defaults '- --config'
has defaults 'readOnlyRootFilesystem: true'
has defaults 'automountServiceAccountToken: false'
hasnt defaults 'kind: Ingress'
hasnt defaults 'kind: HorizontalPodAutoscaler'
hasnt defaults 'kind: ServiceMonitor'
hasnt defaults 'postgres://' # DSN only base64-encoded in the Secret, never in a ConfigMap
has defaults-k8s-1.31 'sleep:'
for kind in Ingress HorizontalPodAutoscaler ServiceMonitor PodDisruptionBudget Job; do
	has all "kind: $kind"
done
hasnt all 'kind: Secret' # existingSecret: the chart creates none
has all 'name: authd-secrets'
hasnt single 'kind: PodDisruptionBudget'
hasnt single 'kind: Job'
echo "ok"

# ---------------------------------------------------------------- authd accepts the config
if [[ "${SKIP_AUTHD_CONFIG_CHECK:-}" != 1 ]]; then
	step "authd accepts the rendered authd.yaml (authd migrate on a scratch SQLite database)"
	bin=${AUTHD_BIN:-}
	if [[ -z "$bin" ]] && command -v go >/dev/null; then
		bin=$WORK/authd
		go build -o "$bin" ./cmd/authd || fail "go build ./cmd/authd failed (set SKIP_AUTHD_CONFIG_CHECK=1 to skip this check)"
	fi
	if [[ -n "$bin" ]]; then
		for name in minimal all; do
			# The ConfigMap's authd.yaml, exactly as mounted; the secrets as
			# the pod gets them from the Secret (dummies, SQLite instead of
			# PostgreSQL: migrate must load and validate the file).
			helm template authd "$CHART" -f "$CI_VALUES/$name-values.yaml" \
				--show-only templates/configmap.yaml >"$WORK/cm-$name.yaml"
			python3 -c 'import sys, yaml; print(yaml.safe_load(open(sys.argv[1]))["data"]["authd.yaml"], end="")' \
				"$WORK/cm-$name.yaml" >"$WORK/authd-$name.yaml"
			fb=
			if helm template authd "$CHART" -f "$CI_VALUES/$name-values.yaml" --show-only templates/deployment.yaml |
				grep -q 'name: AUTHD_FACEBOOK_APP_SECRET'; then
				fb=1
			fi
			(
				cd "$WORK"
				env -i PATH="$PATH" HOME="$WORK" \
					AUTHD_SECRETS_SYSTEM=config-check-system-secret-0123456789abcdef \
					AUTHD_DATABASE_DSN="sqlite://$WORK/check-$name.db" \
					${fb:+AUTHD_FACEBOOK_APP_SECRET=config-check-facebook-secret} \
					"$bin" migrate --config "$WORK/authd-$name.yaml"
			) >"$WORK/migrate-$name.log" 2>&1 || { cat "$WORK/migrate-$name.log" >&2; fail "authd refused the $name config"; }
			echo "ok: $name config accepted"
		done
	else
		echo "skipped: no AUTHD_BIN and no go on PATH"
	fi
fi

# ---------------------------------------------------------------- schemas
step "kubeconform schema source"
kc_flags=(-strict -summary -skip "$SKIP_KINDS")
probe='{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"probe"}}'
if [[ -n "${KUBECONFORM_SCHEMA_LOCATION:-}" ]]; then
	kc_flags+=(-schema-location "$KUBECONFORM_SCHEMA_LOCATION")
	echo "using KUBECONFORM_SCHEMA_LOCATION=$KUBECONFORM_SCHEMA_LOCATION"
elif echo "$probe" | timeout 60 kubeconform -strict -summary - >"$WORK/probe.log" 2>&1 &&
	grep -q 'Valid: 1' "$WORK/probe.log"; then
	echo "online: kubeconform's default schema location is reachable"
else
	echo "offline: kubeconform cannot fetch its schemas ($(grep -m1 -o 'failed.*\|error.*' "$WORK/probe.log" | cut -c1-120))"
	command -v python3 >/dev/null || fail "offline schema generation needs python3"
	python3 -c 'import yaml' 2>/dev/null || fail "offline schema generation needs PyYAML (apt-get install python3-yaml)"
	command -v go >/dev/null || fail "offline schema generation needs go (to locate k8s.io/client-go)"
	ver=${K8S_SCHEMA_CLIENT_GO:-}
	if [[ -z "$ver" ]]; then
		# Newest client-go already in the module cache (helm's go install brings one).
		ver=$(find "$(go env GOMODCACHE)/k8s.io" -maxdepth 1 -name 'client-go@v*' 2>/dev/null | sed 's/.*@//' | sort -V | tail -1)
	fi
	dir=$(cd "$WORK" && go mod download -json "k8s.io/client-go@${ver:-latest}" |
		python3 -c 'import json, sys; print(json.load(sys.stdin).get("Dir", ""))')
	[[ -n "$dir" && -d "$dir" ]] || fail "cannot locate k8s.io/client-go@${ver:-latest}"
	python3 deploy/helm/k8s-schemas.py "$dir" "$WORK/schemas"
	echo "offline schemas from k8s.io/client-go@${dir##*@} (field names, nesting, scalar types; no required/enum checks)"
	kc_flags+=(-schema-location "$WORK/schemas/{{ .ResourceKind }}{{ .KindSuffix }}.json")
	# The generated schemas must really validate: a typo and a wrong type are refused.
	bad='{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"x"},"spec":{"replicas":"two","selector":{},"template":{"spec":{"containers":[{"name":"a","imagee":"x"}]}}}}'
	if echo "$bad" | kubeconform "${kc_flags[@]}" - >"$WORK/bad.log" 2>&1; then
		cat "$WORK/bad.log" >&2
		fail "offline schemas accepted an invalid Deployment"
	fi
	grep -q 'imagee' "$WORK/bad.log" || { cat "$WORK/bad.log" >&2; fail "offline schemas did not report the unknown field"; }
	echo "self-check ok: an unknown field and a wrong type are refused"
fi

step "kubeconform ${kc_flags[*]}"
for name in defaults defaults-k8s-1.31 all single; do
	echo "-- $name"
	# Without -ignore-missing-schemas: a kind with no schema fails, so a
	# broken schema source cannot pass silently; CRDs are listed in SKIP_KINDS.
	kubeconform "${kc_flags[@]}" "$WORK/$name.yaml"
done

step "PASS"
