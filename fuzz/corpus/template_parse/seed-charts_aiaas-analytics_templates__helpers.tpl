{{/* Shared by the three AIaaS service charts (aiaas-api-router,
aiaas-user-org, aiaas-analytics): the same templates, each chart's
values.yaml says what its service needs. */}}
{{- define "aiaas.name" -}}{{ .Values.service.name }}{{- end -}}

{{- define "aiaas.labels" -}}
app.kubernetes.io/name: {{ include "aiaas.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: aiaas
app.kubernetes.io/version: {{ .Values.image.tag | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "aiaas.selector" -}}
app.kubernetes.io/name: {{ include "aiaas.name" . }}
app.kubernetes.io/part-of: aiaas
{{- end -}}
