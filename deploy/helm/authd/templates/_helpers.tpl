{{/* vim: set filetype=mustache: */}}

{{/* Chart name, truncated to 63 characters (DNS label). */}}
{{- define "authd.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Full name: <release>-<chart>, or the release name if it already contains the chart name. */}}
{{- define "authd.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "authd.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels common to every resource. */}}
{{- define "authd.labels" -}}
helm.sh/chart: {{ include "authd.chart" . }}
{{ include "authd.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image.tag | default .Chart.AppVersion) | toString | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: authd
{{- end -}}

{{- define "authd.selectorLabels" -}}
app.kubernetes.io/name: {{ include "authd.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/*
Labels selecting the server pods. The component label keeps the migration
Job's pod (component: migrate) out of the Service, PDB and HPA.
*/}}
{{- define "authd.serverSelectorLabels" -}}
{{ include "authd.selectorLabels" . }}
app.kubernetes.io/component: server
{{- end -}}

{{- define "authd.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "authd.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "authd.migrationServiceAccountName" -}}
{{- if .Values.migration.serviceAccountName -}}
{{- .Values.migration.serviceAccountName -}}
{{- else if .Values.serviceAccount.create -}}
default
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "authd.image" -}}
{{- $tag := .Values.image.tag | default .Chart.AppVersion | toString -}}
{{- if .Values.image.digest -}}
{{- printf "%s:%s@%s" .Values.image.repository $tag .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{/* True ("true") when more than one server replica can run. */}}
{{- define "authd.multiReplica" -}}
{{- if .Values.autoscaling.enabled -}}
{{- if or (gt (int .Values.autoscaling.maxReplicas) 1) (gt (int .Values.autoscaling.minReplicas) 1) }}true{{ end -}}
{{- else if gt (int .Values.replicaCount) 1 -}}
true
{{- end -}}
{{- end -}}

{{/* Name of the Secret the pods read. */}}
{{- define "authd.secretName" -}}
{{- default (include "authd.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/*
Checks run by every template that uses the configuration, so a bad value
fails `helm install/template` with a message instead of a crash-looping pod.
*/}}
{{- define "authd.validate" -}}
{{- $cfg := .Values.config | default dict -}}
{{- if not .Values.issuer -}}
{{- fail "issuer is required: the public URL of authd, e.g. --set issuer=https://auth.example.com" -}}
{{- end -}}
{{- if not (regexMatch "^https?://[^/?#]+(/[^?#]*[^/?#])?$" .Values.issuer) -}}
{{- fail (printf "issuer (%q) must be an absolute http(s) URL without query, fragment or trailing slash" .Values.issuer) -}}
{{- end -}}
{{- if hasKey $cfg "issuer" -}}
{{- fail "set the issuer with the top-level `issuer` value, not config.issuer" -}}
{{- end -}}
{{- if hasKey $cfg "secrets" -}}
{{- fail "config.secrets must not be set: the ConfigMap is not for secrets; use secrets.system or secrets.existingSecret" -}}
{{- end -}}
{{- if and (hasKey $cfg "database") (hasKey (get $cfg "database" | default dict) "dsn") -}}
{{- fail "config.database.dsn must not be set (it carries credentials): use secrets.databaseDSN or secrets.existingSecret" -}}
{{- end -}}
{{- if and (hasKey $cfg "redis") (hasKey (get $cfg "redis" | default dict) "url") -}}
{{- fail "config.redis.url must not be set (it may carry credentials): use secrets.redisURL or secrets.existingSecret" -}}
{{- end -}}
{{- if and (hasKey $cfg "facebook") (hasKey (get $cfg "facebook" | default dict) "app_secret") -}}
{{- fail "config.facebook.app_secret must not be set: use secrets.facebookAppSecret or secrets.existingSecret" -}}
{{- end -}}
{{- $otp := get $cfg "otp" | default dict -}}
{{- if hasKey $otp "webhook_secret" -}}
{{- fail "config.otp.webhook_secret must not be set: use secrets.webhookSecret or secrets.existingSecret" -}}
{{- end -}}
{{- if hasKey (get $otp "smtp" | default dict) "password" -}}
{{- fail "config.otp.smtp.password must not be set: use secrets.smtpPassword or secrets.existingSecret" -}}
{{- end -}}
{{- if hasKey (get $otp "twilio" | default dict) "auth_token" -}}
{{- fail "config.otp.twilio.auth_token must not be set: use secrets.twilioAuthToken or secrets.existingSecret" -}}
{{- end -}}
{{- if not .Values.secrets.existingSecret -}}
{{- if not .Values.secrets.system -}}
{{- fail "secrets.system (AUTHD_SECRETS_SYSTEM, >= 32 characters) is required, or name a Secret in secrets.existingSecret" -}}
{{- end -}}
{{- if lt (len .Values.secrets.system) 32 -}}
{{- fail "secrets.system (AUTHD_SECRETS_SYSTEM) must be at least 32 characters" -}}
{{- end -}}
{{- if not .Values.secrets.databaseDSN -}}
{{- fail "secrets.databaseDSN (AUTHD_DATABASE_DSN, postgres://…) is required, or name a Secret in secrets.existingSecret" -}}
{{- end -}}
{{- if and (include "authd.multiReplica" .) (hasPrefix "sqlite:" .Values.secrets.databaseDSN) -}}
{{- fail "secrets.databaseDSN is SQLite but more than one replica can run: use PostgreSQL, or replicaCount=1 without autoscaling" -}}
{{- end -}}
{{- if and (include "authd.multiReplica" .) (not .Values.secrets.redisURL) -}}
{{- fail "secrets.redisURL (AUTHD_REDIS_URL) is required when more than one replica can run: rate limits, OTP attempts and API-key revocation are shared through Redis" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* authd.yaml: config values plus the issuer. */}}
{{- define "authd.configYAML" -}}
{{- $cfg := deepCopy (.Values.config | default dict) -}}
{{- $_ := set $cfg "issuer" .Values.issuer -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/*
Environment shared by the server and the migration Job.
Call with (dict "ctx" $ "secretName" NAME).
*/}}
{{- define "authd.env" -}}
{{- $secret := .secretName -}}
{{- with .ctx -}}
{{- $k := .Values.secrets.keys -}}
- name: AUTHD_SECRETS_SYSTEM
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $k.system }}
- name: AUTHD_DATABASE_DSN
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $k.databaseDSN }}
{{- if or .Values.secrets.existingSecret .Values.secrets.redisURL }}
- name: AUTHD_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ $k.redisURL }}
      {{- /* Required whenever several replicas must share state. */}}
      optional: {{ not (include "authd.multiReplica" .) }}
{{- end }}
{{- $s := .Values.secrets }}
{{- range $name, $env := dict "facebookAppSecret" "AUTHD_FACEBOOK_APP_SECRET" "webhookSecret" "AUTHD_OTP_WEBHOOK_SECRET" "smtpPassword" "AUTHD_OTP_SMTP_PASSWORD" "twilioAuthToken" "AUTHD_OTP_TWILIO_AUTH_TOKEN" }}
{{- if or $s.existingSecret (index $s $name) }}
- name: {{ $env }}
  valueFrom:
    secretKeyRef:
      name: {{ $secret }}
      key: {{ index $k $name }}
      optional: true
{{- end }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* The pod's topology spread constraints. */}}
{{- define "authd.topologySpread" -}}
{{- $sel := fromYaml (include "authd.serverSelectorLabels" .) -}}
{{- if .Values.topologySpreadConstraints -}}
{{- range .Values.topologySpreadConstraints }}
{{- $c := deepCopy . }}
{{- if not (hasKey $c "labelSelector") }}
{{- $_ := set $c "labelSelector" (dict "matchLabels" $sel) }}
{{- end }}
- {{ toYaml $c | nindent 2 | trim }}
{{- end }}
{{- else if .Values.defaultTopologySpread -}}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- toYaml $sel | nindent 6 }}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- toYaml $sel | nindent 6 }}
{{- end -}}
{{- end -}}
