{{- define "penguin.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "penguin.fullname" -}}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Label values allow [A-Za-z0-9._-] only. */}}
{{- define "penguin.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "penguin.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | replace "+" "_" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: penguin
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* (dict "ctx" $ "component" "web") */}}
{{- define "penguin.selectorLabels" -}}
app.kubernetes.io/name: {{ include "penguin.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "penguin.componentLabels" -}}
{{ include "penguin.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "penguin.image" -}}
{{- printf "%s:%s" .repository (toString .tag) }}
{{- end }}

{{- define "penguin.redis" -}}{{ include "penguin.fullname" . }}-redis{{- end }}
{{- define "penguin.postgres" -}}{{ include "penguin.fullname" . }}-postgres{{- end }}
{{- define "penguin.jaeger" -}}{{ include "penguin.fullname" . }}-jaeger{{- end }}
