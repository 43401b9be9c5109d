{{/* Names, labels and the pieces every doc2slm workload shares. */}}

{{- define "doc2slm.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "doc2slm.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Selector labels: stable across upgrades, so they never include the chart version. */}}
{{- define "doc2slm.selectorLabels" -}}
app.kubernetes.io/name: {{ include "doc2slm.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "doc2slm.labels" -}}
{{ include "doc2slm.selectorLabels" . }}
app.kubernetes.io/part-of: doc2slm
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
doc2slm.io/cloud: {{ .root.Values.cloud }}
{{- end -}}

{{/* Labels every pod of this release carries; the default-deny NetworkPolicy selects on them. */}}
{{- define "doc2slm.releasePodLabels" -}}
app.kubernetes.io/name: {{ include "doc2slm.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* The gRPC contract of each service (DESIGN.md): port and health name are not configurable. */}}
{{- define "doc2slm.grpcContracts" -}}
extraction: {port: 50051, health: doc2slm.v1.ExtractionService, teacher: false}
qagen: {port: 50052, health: doc2slm.v1.QAGenService, teacher: true}
embedding: {port: 50053, health: doc2slm.v1.EmbeddingService, teacher: false}
scoring: {port: 50054, health: doc2slm.v1.ScoringService, teacher: false}
{{- end -}}

{{- define "doc2slm.image" -}}
{{- printf "%s/doc2slm-%s:%s" .root.Values.image.registry .name .root.Values.image.tag -}}
{{- end -}}

{{- define "doc2slm.objectStoreEndpoint" -}}
{{- if .Values.minio.enabled -}}
{{- printf "%s-minio:9000" (include "doc2slm.fullname" .) -}}
{{- else -}}
{{- required "objectStore.endpoint is required when minio.enabled is false" .Values.objectStore.endpoint -}}
{{- end -}}
{{- end -}}

{{/* The restricted Pod Security Standard, pod level. */}}
{{- define "doc2slm.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.fsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* The restricted Pod Security Standard, container level, plus a read-only root filesystem. */}}
{{- define "doc2slm.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Object-store settings: endpoint from the ConfigMap, keys only by reference to a Secret. */}}
{{- define "doc2slm.objectStoreEnv" -}}
- name: MINIO_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.objectStore.existingSecret }}
      key: {{ .Values.objectStore.accessKeyKey }}
- name: MINIO_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.objectStore.existingSecret }}
      key: {{ .Values.objectStore.secretKeyKey }}
{{- end -}}

{{- define "doc2slm.gpuScheduling" -}}
{{- with .Values.gpu.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .Values.gpu.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* NetworkPolicy egress to the object store: the chart's MinIO pods, or the external endpoint. */}}
{{- define "doc2slm.objectStoreEgress" -}}
{{- if .Values.minio.enabled -}}
- to:
    - podSelector:
        matchLabels:
          {{- include "doc2slm.selectorLabels" (dict "root" . "component" "minio") | nindent 10 }}
  ports:
    - {port: 9000, protocol: TCP}
{{- else -}}
{{- toYaml .Values.objectStore.egress }}
{{- end -}}
{{- end -}}

{{/* Kubeflow Pipelines v2 step pods (labelled pipelines.kubeflow.org/v2_component) in this namespace
and in networkPolicy.pipelineNamespaces (standalone KFP runs its pods in "kubeflow"). */}}
{{- define "doc2slm.pipelinePeers" -}}
- podSelector:
    matchLabels: {pipelines.kubeflow.org/v2_component: "true"}
{{- range .Values.networkPolicy.pipelineNamespaces }}
- namespaceSelector:
    matchLabels: {kubernetes.io/metadata.name: {{ . }}}
  podSelector:
    matchLabels: {pipelines.kubeflow.org/v2_component: "true"}
{{- end }}
{{- end -}}

{{- /* URI roots the services may read and write: the release bucket, their scratch and cache dirs. */}}
{{- define "doc2slm.allowedUriPrefixes" -}}
{{- $prefixes := list (printf "s3://%s/" .Values.objectStore.bucket) "file:///tmp" "file:///cache" -}}
{{- join "," (concat $prefixes .Values.services.extraUriPrefixes) -}}
{{- end -}}
