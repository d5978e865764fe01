{{/* The services the image can run, in a fixed order so renders are stable. */}}
{{- define "zhongtai.serviceNames" -}}
approval catalog certificate exchange gateway
{{- end -}}

{{- define "zhongtai.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped prefix of every object name. */}}
{{- define "zhongtai.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "zhongtai.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "zhongtai.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "zhongtai.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) -}}
{{- end -}}

{{/*
Labels of every object. Call with (dict "root" $ "component" "<service>");
component may be empty for objects shared by all services.
*/}}
{{- define "zhongtai.labels" -}}
{{ include "zhongtai.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: zhongtai
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ include "zhongtai.chart" .root }}
{{- end -}}

{{/* Selectors never carry the version, so upgrades keep matching pods. */}}
{{- define "zhongtai.selectorLabels" -}}
app.kubernetes.io/name: {{ include "zhongtai.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end -}}

{{/* Every pod of this release, whatever its service. */}}
{{- define "zhongtai.releasePodLabels" -}}
app.kubernetes.io/name: {{ include "zhongtai.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "zhongtai.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "zhongtai.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
A reference to a secret value: (dict "ref" <ref> "created" "<Secret the chart
makes when ref.value is set>" "createdKey" "<its key there>"). Renders the
secretKeyRef body.
*/}}
{{- define "zhongtai.secretKeyRef" -}}
{{- if .ref.value -}}
name: {{ .created }}
key: {{ .createdKey }}
{{- else -}}
name: {{ .ref.existingSecret }}
key: {{ .ref.key }}
{{- end -}}
{{- end -}}

{{/* Name of the Secret the chart creates for one service's dev-only values. */}}
{{- define "zhongtai.createdSecretName" -}}
{{- printf "%s-%s-dev-secrets" (include "zhongtai.fullname" .root) .service -}}
{{- end -}}

{{- define "zhongtai.tlsSecretName" -}}
{{- .svc.tlsSecret | default (printf "%s-%s-tls" (include "zhongtai.fullname" .root) .service) -}}
{{- end -}}

{{/* The source database names of the exchange as environment variable suffixes. */}}
{{- define "zhongtai.sourceEnvName" -}}
{{- printf "ZHONGTAI_EXCHANGE__SOURCES__%s" (. | upper | replace "-" "_") -}}
{{- end -}}

{{/*
Pod security shared by service pods and migration Jobs: the image runs as
uid/gid 65532 and writes only /tmp.
*/}}
{{- define "zhongtai.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "zhongtai.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* One `env` entry read from a secret reference: (dict "name" VAR "ref" <ref> "created" <Secret> "createdKey" <key>). */}}
{{- define "zhongtai.secretEnv" -}}
- name: {{ .name }}
  valueFrom:
    secretKeyRef:
      {{- include "zhongtai.secretKeyRef" . | nindent 6 }}
{{- end -}}

{{/* The secret environment of one service: (dict "root" $ "service" NAME "svc" BLOCK). */}}
{{- define "zhongtai.serviceSecretEnv" -}}
{{- $created := include "zhongtai.createdSecretName" . -}}
{{- $root := .root -}}
{{ include "zhongtai.secretEnv" (dict "name" "DATABASE_URL" "ref" .svc.database "created" $created "createdKey" "database-url") }}
{{ include "zhongtai.secretEnv" (dict "name" "AMQP_URL" "ref" .root.Values.rabbitmq.url "created" (printf "%s-amqp-dev-secret" (include "zhongtai.fullname" .root)) "createdKey" "url") }}
{{- with .svc.keyEncryptionKey }}
{{ include "zhongtai.secretEnv" (dict "name" "SIGNING_KEY_ENCRYPTION_KEY" "ref" . "created" $created "createdKey" "key-encryption-key") }}
{{- end }}
{{- with .svc.maskingKey }}
{{ include "zhongtai.secretEnv" (dict "name" "EXCHANGE_MASKING_KEY" "ref" . "created" $created "createdKey" "masking-key") }}
{{- end }}
{{- range $name, $ref := (.svc.sources | default dict) }}
{{ include "zhongtai.secretEnv" (dict "name" (include "zhongtai.sourceEnvName" $name) "ref" $ref "created" $created "createdKey" (printf "source-%s" $name)) }}
{{- end }}
{{- with .svc.secretEncryptionKey }}
{{ include "zhongtai.secretEnv" (dict "name" "GATEWAY_SECRET_ENCRYPTION_KEY" "ref" . "created" $created "createdKey" "secret-encryption-key") }}
{{- end }}
{{- with .svc.tokenSigningKey }}
{{ include "zhongtai.secretEnv" (dict "name" "GATEWAY_TOKEN_SIGNING_KEY" "ref" . "created" $created "createdKey" "token-signing-key") }}
{{- end }}
{{- end -}}
