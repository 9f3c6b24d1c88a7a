{{/* The four services that own data, and the web in front of them. */}}
{{- define "meetmalmo.dataServices" -}}intake resources matching notifications{{- end -}}

{{- define "meetmalmo.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "meetmalmo.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Labels: dict "root" $ "service" name */}}
{{- define "meetmalmo.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .service }}
{{- end -}}

{{- define "meetmalmo.labels" -}}
{{ include "meetmalmo.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{/* An environment variable from a key of the platform's Secret. */}}
{{- define "meetmalmo.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      name: {{ .root.Values.existingSecret }}
      key: {{ .key }}
{{- end -}}

{{/* What every service and the web share (MEETMALMO_*). */}}
{{- define "meetmalmo.platformEnv" -}}
{{- if not (has .Values.environment (list "production" "local")) }}
{{- fail "environment is production or local" }}
{{- end }}
- name: MEETMALMO_ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: MEETMALMO_KAFKA_BOOTSTRAP
  value: {{ .Values.kafka.bootstrap | quote }}
{{- with .Values.kafka.topicNamespace }}
- name: MEETMALMO_TOPIC_NAMESPACE
  value: {{ . | quote }}
{{- end }}
{{- with .Values.kafka.topics }}
{{- if gt (int .minInsyncReplicas) (int .replicationFactor) }}
{{- fail "kafka.topics.minInsyncReplicas cannot exceed kafka.topics.replicationFactor" }}
{{- end }}
{{- if le (mulf .processedEventsRetentionDays 24) (float64 .retentionHours) }}
{{- fail "kafka.topics.processedEventsRetentionDays must be longer than kafka.topics.retentionHours: a replayed record must still be recognised" }}
{{- end }}
- name: MEETMALMO_TOPIC_PARTITIONS
  value: {{ .partitions | quote }}
- name: MEETMALMO_TOPIC_REPLICATION_FACTOR
  value: {{ .replicationFactor | quote }}
- name: MEETMALMO_TOPIC_MIN_INSYNC_REPLICAS
  value: {{ .minInsyncReplicas | quote }}
- name: MEETMALMO_TOPIC_RETENTION_HOURS
  value: {{ .retentionHours | quote }}
- name: MEETMALMO_TOPIC_CLEANUP_POLICY
  value: {{ .cleanupPolicy | quote }}
- name: MEETMALMO_DEAD_LETTER_RETENTION_HOURS
  value: {{ .deadLetterRetentionHours | quote }}
- name: MEETMALMO_PROCESSED_EVENTS_RETENTION_DAYS
  value: {{ .processedEventsRetentionDays | quote }}
{{- end }}
- name: MEETMALMO_LOG_FORMAT
  value: {{ .Values.platform.logFormat | quote }}
- name: MEETMALMO_LOG_LEVEL
  value: {{ .Values.platform.logLevel | quote }}
- name: MEETMALMO_WEB_PUBLIC_URL
  value: {{ .Values.publicUrl | quote }}
- name: MEETMALMO_TRUSTED_PROXIES
  value: {{ .Values.platform.trustedProxies | toJson | quote }}
{{- if .Values.auth.jwksUrl }}
{{- if not (and .Values.auth.issuer .Values.auth.audience) }}
{{- fail "auth.jwksUrl needs auth.issuer and auth.audience: a token from another issuer or for another audience must not pass" }}
{{- end }}
- name: MEETMALMO_AUTH_JWKS_URL
  value: {{ .Values.auth.jwksUrl | quote }}
- name: MEETMALMO_AUTH_ISSUER
  value: {{ .Values.auth.issuer | quote }}
- name: MEETMALMO_AUTH_AUDIENCE
  value: {{ .Values.auth.audience | quote }}
{{- else if eq .Values.environment "production" }}
{{- fail "production needs auth.jwksUrl, auth.issuer and auth.audience: staff tokens come from the city's identity provider" }}
{{- else }}
{{ include "meetmalmo.secretEnv" (dict "root" . "name" "MEETMALMO_AUTH_JWT_SECRET" "key" "auth-jwt-secret") }}
{{- end }}
{{- with .Values.platform.otlpEndpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ . | quote }}
{{- end }}
{{- range $key, $value := .Values.platform.env }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/* Each data service's database URL, for the service itself and for the migrations Job. */}}
{{- define "meetmalmo.databaseEnv" -}}
{{ include "meetmalmo.secretEnv" (dict "root" .root "name" (printf "%s_DATABASE_URL" (upper .service)) "key" (printf "%s-database-url" .service)) }}
{{- end -}}

{{/* In-cluster address of a service. */}}
{{- define "meetmalmo.serviceUrl" -}}
{{- printf "http://%s-%s:%v" (include "meetmalmo.fullname" .root) .service (index .root.Values.services .service "port") -}}
{{- end -}}
