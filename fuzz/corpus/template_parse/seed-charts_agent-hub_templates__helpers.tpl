{{- define "agent-hub.labels" -}}
app.kubernetes.io/name: agent-hub
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "agent-hub.host" -}}
{{- required "ingress.host is required: the site's host name for agent-hub (the document's agent-hub.yourdomain.com)" .Values.ingress.host -}}
{{- end -}}
