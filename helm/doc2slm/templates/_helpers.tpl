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

{{/* A doc2slm image: <registry>/doc2slm-<name>@<digest> when image.digests names one, else :<tag>. */}}
{{- define "doc2slm.image" -}}
{{- include "doc2slm.pinned" (dict "root" .root "name" .name "image" (printf "%s/doc2slm-%s:%s" (trimSuffix "/" .root.Values.image.registry) .name .root.Values.image.tag)) -}}
{{- end -}}

{{/* Any image of the release ("repository:tag") by digest when image.digests[name] is set. */}}
{{- define "doc2slm.pinned" -}}
{{- $digest := get .root.Values.image.digests .name -}}
{{- if $digest -}}
{{- printf "%s@%s" (regexReplaceAll ":[^:/]+$" .image "") $digest -}}
{{- else -}}
{{- .image -}}
{{- end -}}
{{- end -}}

{{- define "doc2slm.minioImage" -}}
{{- include "doc2slm.pinned" (dict "root" . "name" "minio" "image" .Values.minio.image) -}}
{{- end -}}

{{- define "doc2slm.mcImage" -}}
{{- include "doc2slm.pinned" (dict "root" . "name" "mc" "image" .Values.minio.provisioning.image) -}}
{{- end -}}

{{/* Whether the chart renders the Job that creates the MinIO users ("true" or ""). */}}
{{- define "doc2slm.provisionsMinio" -}}
{{- if and .Values.minio.enabled .Values.minio.provisioning.enabled (not .Values.objectStore.existingSecret) -}}true{{- end -}}
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

{{/* The storage identities the release uses, in order: each has its own keys and policy. The embedding
service is none of them: it touches no storage and gets no keys. */}}
{{- define "doc2slm.storageIdentities" -}}
{{- $used := list -}}
{{- range $svc := list "extraction" "qagen" "scoring" }}
{{- if (get $.Values.services $svc).create }}{{- $used = append $used $svc -}}{{- end }}
{{- end }}
{{- if .Values.inferenceService.enabled }}{{- $used = append $used "serving" -}}{{- end }}
{{- $used = concat $used (list "pipeline" "training") -}}
{{- toJson $used -}}
{{- end -}}

{{/* The Secret (name and key names) holding one identity's object-store keys; empty for an identity
without storage (embedding). objectStore.existingSecret, when set, is every identity's Secret. */}}
{{- define "doc2slm.storeCredentials" -}}
{{- $store := .root.Values.objectStore -}}
{{- if $store.existingSecret -}}
{{- toJson (dict "name" $store.existingSecret "accessKeyKey" $store.accessKeyKey "secretKeyKey" $store.secretKeyKey) -}}
{{- else if eq .identity "serving" -}}
{{- /* KServe's storage initializer reads this Secret too, in its own format. */ -}}
{{- toJson (dict "name" .root.Values.inferenceService.storageSecret "accessKeyKey" "AWS_ACCESS_KEY_ID" "secretKeyKey" "AWS_SECRET_ACCESS_KEY") -}}
{{- else if eq .identity "pipeline" -}}
{{- /* The pipeline's steps read these two key names (pipelines/doc2slm_pipelines/platform_config.py). */ -}}
{{- toJson (dict "name" $store.identities.pipeline.secret "accessKeyKey" "MINIO_ACCESS_KEY" "secretKeyKey" "MINIO_SECRET_KEY") -}}
{{- else if hasKey $store.identities .identity -}}
{{- toJson (dict "name" (get $store.identities .identity).secret "accessKeyKey" $store.accessKeyKey "secretKeyKey" $store.secretKeyKey) -}}
{{- else -}}
{{- toJson dict -}}
{{- end -}}
{{- end -}}

{{/* MinIO's root credentials: minio.rootSecret, or the shared objectStore.existingSecret. */}}
{{- define "doc2slm.minioRootCredentials" -}}
{{- $store := .Values.objectStore -}}
{{- if $store.existingSecret -}}
{{- toJson (dict "name" $store.existingSecret "accessKeyKey" $store.accessKeyKey "secretKeyKey" $store.secretKeyKey) -}}
{{- else -}}
{{- toJson .Values.minio.rootSecret -}}
{{- end -}}
{{- end -}}

{{/* Object-store keys of one identity, only by reference to its Secret; nothing for an identity without
storage. The endpoint comes from the ConfigMap. */}}
{{- define "doc2slm.objectStoreEnv" -}}
{{- $credentials := include "doc2slm.storeCredentials" . | fromJson -}}
{{- with $credentials.name }}
- name: MINIO_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $credentials.accessKeyKey }}
- name: MINIO_SECRET_KEY
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $credentials.secretKeyKey }}
{{- end }}
{{- end -}}

{{/* The bucket policy of one identity (IAM JSON, read by MinIO and AWS alike): list and get under its
read prefixes, put under its write prefixes, nothing else. HeadBucket and GetBucketLocation on the
bucket because the storage client asks for both before it reads or writes. */}}
{{- define "doc2slm.storagePolicy" -}}
{{- $bucket := printf "arn:aws:s3:::%s" .root.Values.objectStore.bucket -}}
{{- $statements := list (dict "Sid" "Bucket" "Effect" "Allow" "Action" (list "s3:GetBucketLocation" "s3:HeadBucket") "Resource" (list $bucket)) -}}
{{- $access := get .root.Values.objectStore.identities .identity -}}
{{- with $access.read }}
{{- $listed := list -}}
{{- $objects := list -}}
{{- range . }}
{{- /* A listing asks for "runs/r1/adapter" as often as for "runs/r1/adapter/". */ -}}
{{- $listed = concat $listed (list (printf "%s*" .) (trimSuffix "/" .)) -}}
{{- $objects = append $objects (printf "%s/%s*" $bucket .) -}}
{{- end }}
{{- $statements = append $statements (dict "Sid" "List" "Effect" "Allow" "Action" (list "s3:ListBucket") "Resource" (list $bucket) "Condition" (dict "StringLike" (dict "s3:prefix" $listed))) -}}
{{- $statements = append $statements (dict "Sid" "Read" "Effect" "Allow" "Action" (list "s3:GetObject") "Resource" $objects) -}}
{{- end }}
{{- with $access.write }}
{{- $objects := list -}}
{{- range . }}{{- $objects = append $objects (printf "%s/%s*" $bucket .) -}}{{- end }}
{{- $statements = append $statements (dict "Sid" "Write" "Effect" "Allow" "Action" (list "s3:PutObject" "s3:AbortMultipartUpload") "Resource" $objects) -}}
{{- end }}
{{- dict "Version" "2012-10-17" "Statement" $statements | toPrettyJson -}}
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

{{- /* URI roots a service may read and write: its identity's prefixes in the release bucket (cut at the
first "*"), its scratch and cache dirs, services.extraUriPrefixes. The embedding service has no storage
identity; with the shared objectStore.existingSecret every service gets the whole bucket, as before. */}}
{{- define "doc2slm.allowedUriPrefixes" -}}
{{- $store := .root.Values.objectStore -}}
{{- $prefixes := list -}}
{{- if $store.existingSecret -}}
{{- $prefixes = list (printf "s3://%s/" $store.bucket) -}}
{{- else if hasKey $store.identities .service -}}
{{- $access := get $store.identities .service -}}
{{- range (concat $access.read $access.write) }}
{{- $prefixes = append $prefixes (printf "s3://%s/%s" $store.bucket (regexReplaceAll "[*].*$" . "")) -}}
{{- end }}
{{- end -}}
{{- join "," (concat (uniq $prefixes) (list "file:///tmp" "file:///cache") .root.Values.services.extraUriPrefixes) -}}
{{- end -}}

{{/* CEL (admission-policy.yaml): the image expression given is one the policy's variables allow. */}}
{{- define "doc2slm.celImageAllowed" -}}
({{ . }} in variables.allowedImages || variables.allowedPrefixes.exists(p, {{ . }}.startsWith(p)))
{{- end -}}

{{/* CEL: every container, init container and ephemeral container of the pod spec at the given path
names an allowed image (a container without one takes its runtime's, which the policy does not decide). */}}
{{- define "doc2slm.celPodSpecAllowed" -}}
{{- $path := . -}}
{{- $parts := list -}}
{{- range list "containers" "initContainers" "ephemeralContainers" }}
{{- $parts = append $parts (printf "(!has(%s.%s) || %s.%s.all(c, !has(c.image) || %s))" $path . $path . (include "doc2slm.celImageAllowed" "c.image")) -}}
{{- end }}
{{- printf "(%s)" (join " && " $parts) -}}
{{- end -}}
