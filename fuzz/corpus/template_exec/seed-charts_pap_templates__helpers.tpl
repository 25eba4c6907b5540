{{- define "pap.labels" -}}
app.kubernetes.io/part-of: pap
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "pap.domain" -}}
{{- required "domain is required: the DNS zone the agents are published under (the document's a.plugged.in)" .Values.domain -}}
{{- end -}}

{{/* The agents to render: name -> merged settings. */}}
{{- define "pap.agents" -}}
{{- $out := dict -}}
{{- range $name, $a := .Values.agents -}}
{{- if $a.enabled -}}
{{- $_ := set $out $name (mergeOverwrite (deepCopy $.Values.agentDefaults) $a) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}
