{{- define "corners.name" -}}
{{ .Chart.Name }}-{{ .Release.Name | trunc 20 | trimSuffix "-" }}
{{- end -}}

{{- define "corners.labels" -}}
app: {{ include "corners.name" . }}
{{ include "corners.inner" . }}
{{- end -}}

{{- define "corners.inner" -}}
chart: {{ printf "%s-%s" .Chart.Name (.Chart.Version | replace "+" "_") }}
{{- end -}}
