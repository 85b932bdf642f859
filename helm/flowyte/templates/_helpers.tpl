{{/* Chart name, overridable with nameOverride. */}}
{{- define "flowyte.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Fully qualified app name: <release>-<chart> unless the release name already contains the chart name. */}}
{{- define "flowyte.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "flowyte.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "flowyte.labels" -}}
helm.sh/chart: {{ include "flowyte.chart" . }}
{{ include "flowyte.selectorLabels" . }}
app.kubernetes.io/version: {{ (.Values.image.tag | default .Chart.AppVersion) | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "flowyte.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowyte.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "flowyte.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The Secret holding adminKey, masterKey and, for externalDatabase.url, the database URL. */}}
{{- define "flowyte.secretName" -}}
{{- .Values.existingSecret | default (include "flowyte.fullname" .) }}
{{- end }}

{{- define "flowyte.configMapName" -}}
{{- include "flowyte.fullname" . }}
{{- end }}

{{- define "flowyte.claimName" -}}
{{- .Values.persistence.existingClaim | default (printf "%s-data" (include "flowyte.fullname" .)) }}
{{- end }}

{{/* "true" when no Postgres is configured and the server uses the embedded PGlite store in DATA_DIR. */}}
{{- define "flowyte.embeddedStorage" -}}
{{- if and (not .Values.postgresql.enabled) (not .Values.externalDatabase.url) (not .Values.externalDatabase.existingSecret) -}}
true
{{- end -}}
{{- end }}

{{- define "flowyte.publicBaseUrl" -}}
{{- if .Values.config.publicBaseUrl }}
{{- .Values.config.publicBaseUrl }}
{{- else if .Values.ingress.enabled }}
{{- $host := (index .Values.ingress.hosts 0).host }}
{{- printf "%s://%s" (ternary "https" "http" (gt (len .Values.ingress.tls) 0)) $host }}
{{- end }}
{{- end }}

{{/* Asterisk (asterisk.enabled): names and labels. */}}
{{- define "flowyte.asterisk.fullname" -}}
{{- printf "%s-asterisk" (include "flowyte.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "flowyte.asterisk.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowyte.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: asterisk
{{- end }}

{{- define "flowyte.asterisk.labels" -}}
helm.sh/chart: {{ include "flowyte.chart" . }}
{{ include "flowyte.asterisk.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.asterisk.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The ARI user: config.ariUsername, else "flowyte" (what ari-user.sh defaults to). */}}
{{- define "flowyte.ariUsername" -}}
{{- .Values.config.ariUsername | default "flowyte" }}
{{- end }}

{{/* Bundled Postgres: names and labels. */}}
{{- define "flowyte.postgresql.fullname" -}}
{{- printf "%s-postgresql" (include "flowyte.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "flowyte.postgresql.secretName" -}}
{{- .Values.postgresql.auth.existingSecret | default (include "flowyte.postgresql.fullname" .) }}
{{- end }}

{{- define "flowyte.postgresql.secretKey" -}}
{{- if .Values.postgresql.auth.existingSecret }}
{{- .Values.postgresql.auth.existingSecretKey }}
{{- else -}}
password
{{- end }}
{{- end }}

{{- define "flowyte.postgresql.selectorLabels" -}}
app.kubernetes.io/name: {{ include "flowyte.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: postgresql
{{- end }}

{{- define "flowyte.postgresql.labels" -}}
helm.sh/chart: {{ include "flowyte.chart" . }}
{{ include "flowyte.postgresql.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.postgresql.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/*
The DATABASE_URL environment entries for the server container. With the bundled Postgres the password comes
from its Secret and Kubernetes expands $(FLOWYTE_POSTGRES_PASSWORD) inside the URL, so it is never copied.
*/}}
{{- define "flowyte.databaseEnv" -}}
{{- if .Values.postgresql.enabled }}
- name: FLOWYTE_POSTGRES_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "flowyte.postgresql.secretName" . | quote }}
      key: {{ include "flowyte.postgresql.secretKey" . | quote }}
- name: DATABASE_URL
  value: {{ printf "postgres://%s:$(FLOWYTE_POSTGRES_PASSWORD)@%s:5432/%s" .Values.postgresql.auth.username (include "flowyte.postgresql.fullname" .) .Values.postgresql.auth.database | quote }}
{{- else if .Values.externalDatabase.existingSecret }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.externalDatabase.existingSecret | quote }}
      key: {{ .Values.externalDatabase.existingSecretKey | quote }}
{{- else if .Values.externalDatabase.url }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "flowyte.secretName" . | quote }}
      key: {{ .Values.secretKeys.databaseUrl | quote }}
{{- end }}
{{- end }}

{{/* How many proxies append to X-Forwarded-For: config.trustProxy, else 1 behind the chart's ingress, else 0. */}}
{{- define "flowyte.trustProxy" -}}
{{- if ne (toString .Values.config.trustProxy) "" }}
{{- .Values.config.trustProxy | int }}
{{- else }}
{{- ternary 1 0 .Values.ingress.enabled }}
{{- end }}
{{- end }}

{{/* Stop on combinations that cannot work, with a message saying what to change. */}}
{{/* "true" when more than one replica may run: replicaCount > 1, or an autoscaler allowed to add replicas. */}}
{{- define "flowyte.multiReplica" -}}
{{- if or (gt (int .Values.replicaCount) 1) (and .Values.autoscaling.enabled (gt (int .Values.autoscaling.maxReplicas) 1)) }}true{{ end }}
{{- end }}

{{/* "true" when the PodDisruptionBudget is rendered: as podDisruptionBudget.enabled says, or with several replicas. */}}
{{- define "flowyte.pdbEnabled" -}}
{{- $enabled := .Values.podDisruptionBudget.enabled }}
{{- if kindIs "bool" $enabled }}{{ if $enabled }}true{{ end }}
{{- else if include "flowyte.multiReplica" . }}true
{{- end }}
{{- end }}

{{- define "flowyte.validate" -}}
{{- $multi := include "flowyte.multiReplica" . }}
{{- if and (include "flowyte.embeddedStorage" .) $multi }}
{{- fail "replicaCount > 1 needs Postgres (so does autoscaling.enabled): set postgresql.enabled=true or externalDatabase.url (the embedded store is single-process)" }}
{{- end }}
{{- if and $multi (not .Values.config.meiliUrl) }}
{{- fail "replicaCount > 1 needs Meilisearch (so does autoscaling.enabled): set config.meiliUrl (the in-process knowledge index lives in each replica's memory, so replicas would answer from different passages)" }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas must not exceed autoscaling.maxReplicas" }}
{{- end }}
{{- if ge (int .Values.config.shutdownDelaySeconds) (int .Values.terminationGracePeriodSeconds) }}
{{- fail "config.shutdownDelaySeconds must be shorter than terminationGracePeriodSeconds (the server needs time to stop after draining)" }}
{{- end }}
{{- if and .Values.persistence.enabled $multi (has "ReadWriteOnce" .Values.persistence.accessModes) }}
{{- fail "replicaCount > 1 cannot share a ReadWriteOnce data volume: set persistence.enabled=false (with Postgres nothing in DATA_DIR must persist when MASTER_KEY is set) or use ReadWriteMany" }}
{{- end }}
{{- if and .Values.existingSecret .Values.externalDatabase.url (not .Values.postgresql.enabled) }}
{{- fail "with existingSecret the chart stores no secrets: put the database URL in a Secret and set externalDatabase.existingSecret instead of externalDatabase.url" }}
{{- end }}
{{- if and .Values.postgresql.enabled (or .Values.externalDatabase.url .Values.externalDatabase.existingSecret) }}
{{- fail "choose one database: postgresql.enabled=true or externalDatabase, not both" }}
{{- end }}
{{- if and .Values.config.widgetBotCheckUrl (not .Values.secrets.widgetBotCheckSecret) (not .Values.existingSecret) }}
{{- fail "config.widgetBotCheckUrl needs secrets.widgetBotCheckSecret (or existingSecret holding WIDGET_BOT_CHECK_SECRET)" }}
{{- end }}
{{- if and .Values.asterisk.enabled .Values.asterisk.trunk.config .Values.asterisk.trunk.existingSecret }}
{{- fail "choose one trunk source: asterisk.trunk.config or asterisk.trunk.existingSecret, not both" }}
{{- end }}
{{- if and .Values.secrets.adminKey (not (regexMatch "^flowyte_sk_(live_|test_)?[A-Za-z0-9_-]{32,}$" .Values.secrets.adminKey)) }}
{{- fail "secrets.adminKey must look like flowyte_sk_live_ followed by at least 32 letters, digits, '-' or '_'" }}
{{- end }}
{{- end }}
