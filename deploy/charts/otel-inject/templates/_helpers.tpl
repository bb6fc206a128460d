{{/* Labels on every object: the objectSelector leaves out pods with part-of=otel-inject. */}}
{{- define "otel-inject.labels" -}}
app.kubernetes.io/part-of: otel-inject
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{/* metadata.annotations with the Argo CD sync wave; call with (list . "wave" "extra: annotations"). */}}
{{- define "otel-inject.annotations" -}}
{{- $ctx := index . 0 -}}
{{- $wave := index . 1 -}}
{{- $extra := "" -}}
{{- if gt (len .) 2 }}{{ $extra = index . 2 }}{{ end -}}
{{- if or $ctx.Values.argocd.syncWaves $extra }}
annotations:
  {{- if $ctx.Values.argocd.syncWaves }}
  argocd.argoproj.io/sync-wave: {{ $wave | quote }}
  {{- end }}
  {{- with $extra }}
  {{- . | nindent 2 }}
  {{- end }}
{{- end }}
{{- end }}

{{/* cert-manager's CRDs may come from another Argo CD Application: skip the dry run. */}}
{{- define "otel-inject.skipDryRun" -}}
argocd.argoproj.io/sync-options: SkipDryRunOnMissingResource=true
{{- end }}

{{- define "otel-inject.replicas" -}}
{{- if .Values.ha.enabled }}{{ .Values.ha.replicas }}{{ else }}{{ .Values.replicas }}{{ end -}}
{{- end }}
