{{- define "lib.cm" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ .name }}-{{ .root.Release.Name }}
data:
  owner: {{ .root.Chart.Name }}
{{- end -}}
