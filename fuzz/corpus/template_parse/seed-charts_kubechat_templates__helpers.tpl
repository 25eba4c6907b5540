{{- define "kubechat.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubechat.fullname" -}}
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

{{/* Label values allow [A-Za-z0-9._-] only: `+` of a build becomes `_`. */}}
{{- define "kubechat.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubechat.labels" -}}
helm.sh/chart: {{ include "kubechat.chart" . }}
app.kubernetes.io/name: {{ include "kubechat.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | replace "+" "_" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubechat
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Selector labels of one component: pass (dict "ctx" $ "component" "api-gateway"). */}}
{{- define "kubechat.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubechat.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "kubechat.componentLabels" -}}
{{ include "kubechat.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{- define "kubechat.gateway.fullname" -}}
{{- printf "%s-api-gateway" (include "kubechat.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubechat.operator.fullname" -}}
{{- printf "%s-operator" (include "kubechat.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubechat.image" -}}
{{- printf "%s:%s" .repository (toString .tag) }}
{{- end }}

{{- define "kubechat.databaseSecret" -}}
{{- default (printf "%s-database" (include "kubechat.fullname" .)) .Values.database.existingSecret }}
{{- end }}

{{- define "kubechat.llmSecret" -}}
{{- default (printf "%s-llm" (include "kubechat.fullname" .)) .Values.llm.existingSecret }}
{{- end }}

{{/* Refuse an optional object whose API the cluster does not serve. */}}
{{- define "kubechat.requireApi" -}}
{{- if not (.ctx.Capabilities.APIVersions.Has .api) }}
{{- fail (printf "%s is on, but this cluster does not serve %s (%s); install %s first or leave %s false" .value .api .kind .what .value) }}
{{- end }}
{{- end }}

{{- define "kubechat.netpol.common-egress" -}}
# DNS, UDP and TCP, to wherever the pod's resolver is (kube-dns, a
# node-local cache).
- ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
# The Kubernetes API server (outside the pod network: by CIDR and port).
- to:
    {{- range .Values.networkPolicy.apiServer.cidrs }}
    - ipBlock:
        cidr: {{ . }}
    {{- end }}
  ports:
    {{- range .Values.networkPolicy.apiServer.ports }}
    - {protocol: TCP, port: {{ . }}}
    {{- end }}
{{- end }}
