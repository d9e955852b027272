{{/* Names, labels, images and the environment shared by every sdq pod. */}}

{{- define "sdq.labels" -}}
app.kubernetes.io/name: sdq
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end }}

{{/* Selector labels of one component: sdq.selector (dict "root" $ "component" "api") */}}
{{- define "sdq.selector" -}}
app.kubernetes.io/name: sdq
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/*
A model id as a DNS-1123 label, exactly as scaler/kubernetes_names.py::model_slug derives it:
lower case, runs of other characters as one "-", trimmed; over 40 characters: the first 33
(trailing "-" dropped) plus "-" and 6 hex digits of the id's sha256.
*/}}
{{- define "sdq.modelSlug" -}}
{{- $slug := regexReplaceAll "[^a-z0-9]+" (lower .) "-" | trimAll "-" -}}
{{- if gt (len $slug) 40 -}}
{{- printf "%s-%s" (trimSuffix "-" (substr 0 33 $slug)) (substr 0 6 (sha256sum .)) -}}
{{- else -}}
{{- $slug -}}
{{- end -}}
{{- end }}

{{/* sdq.workerName (dict "root" $ "id" MODEL_ID): RELEASE-worker-SLUG */}}
{{- define "sdq.workerName" -}}
{{- printf "%s-worker-%s" .root.Release.Name (include "sdq.modelSlug" .id) -}}
{{- end }}

{{/* An image reference from {repository, tag, digest}: digest wins, tag defaults to appVersion. */}}
{{- define "sdq.image" -}}
{{- $tag := .image.tag | default .root.Chart.AppVersion -}}
{{- if eq (toString $tag) "latest" -}}
{{- fail (printf "image %s: pin a version instead of latest" .image.repository) -}}
{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" .image.repository .image.digest -}}
{{- else -}}
{{- printf "%s:%s" .image.repository (toString $tag) -}}
{{- end -}}
{{- end }}

{{- define "sdq.apiImage" -}}
{{- include "sdq.image" (dict "root" . "image" .Values.images.api) -}}
{{- end }}

{{- define "sdq.configName" -}}{{ .Release.Name }}-config{{- end }}
{{- define "sdq.secretName" -}}{{ .Release.Name }}-secrets{{- end }}
{{- define "sdq.redisName" -}}{{ .Release.Name }}-redis{{- end }}
{{- define "sdq.outputsClaim" -}}
{{- .Values.outputs.pvc.existingClaim | default (printf "%s-outputs" .Release.Name) -}}
{{- end }}

{{- define "sdq.redisPasswordSecret" -}}
{{- .Values.redis.bundled.existingSecret | default (include "sdq.secretName" .) -}}
{{- end }}

{{- define "sdq.webhookSecretName" -}}
{{- .Values.webhooks.existingSecret | default (include "sdq.secretName" .) -}}
{{- end }}

{{/* The Secret holding the admin key: auth.existingSecret, else the generated RELEASE-auth. */}}
{{- define "sdq.authSecretName" -}}
{{- .Values.auth.existingSecret | default (printf "%s-auth" .Release.Name) -}}
{{- end }}

{{/*
A generated secret's base64 value, kept across upgrades: the value under .key in .previous (the
`data` of the live Secret, as `lookup` returns it; empty on install or without a cluster), else
.fresh (a new random value, already base64). sdq.keptValue (dict "previous" P "key" K "fresh" F)
*/}}
{{- define "sdq.keptValue" -}}
{{- get (.previous | default dict) .key | default .fresh -}}
{{- end }}

{{/*
Every Host name the API answers to (SDQ_ALLOWED_HOSTS), comma-separated; empty: any Host.
api.allowedHosts, else the Ingress hosts when the Ingress is on. A non-empty list also gets the
Service's in-cluster names (KEDA and other in-cluster callers) and the loopback names (`kubectl
port-forward`): a web page cannot make a browser send those, so DNS rebinding stays shut.
*/}}
{{- define "sdq.allowedHosts" -}}
{{- $hosts := .Values.api.allowedHosts -}}
{{- if and (not $hosts) .Values.api.ingress.enabled -}}
{{- $hosts = .Values.api.ingress.hosts -}}
{{- end -}}
{{- if $hosts -}}
{{- $service := printf "%s-api" .Release.Name -}}
{{- $namespaced := printf "%s.%s" $service .Release.Namespace -}}
{{- $inCluster := list $service $namespaced (printf "%s.svc" $namespaced) (printf "%s.svc.cluster.local" $namespaced) -}}
{{- concat $hosts $inCluster (list "localhost" "127.0.0.1" "::1") | uniq | join "," -}}
{{- end -}}
{{- end }}

{{/* SDQ_MODELS: the served models as sdq's settings read them (chart-only keys left out). */}}
{{- define "sdq.modelsJson" -}}
{{- $models := list -}}
{{- range .Values.models -}}
{{- $model := dict "id" .id "kind" (.kind | default "diffusers") "min_size" (.minSize | default 64) "max_size" (.maxSize | default 2048) "scaling" (.scaling | default dict) -}}
{{- if .source }}{{ $_ := set $model "source" .source }}{{ end -}}
{{- if .runtime }}{{ $_ := set $model "runtime" .runtime }}{{ end -}}
{{- if .loraDir }}{{ $_ := set $model "lora_dir" .loraDir }}{{ end -}}
{{- if .hubLoras }}{{ $_ := set $model "hub_loras" .hubLoras }}{{ end -}}
{{- if .family }}{{ $_ := set $model "family" .family }}{{ end -}}
{{- if .defaults }}{{ $_ := set $model "defaults" .defaults }}{{ end -}}
{{- $models = append $models $model -}}
{{- end -}}
{{- toJson $models -}}
{{- end }}

{{/*
The scaling knobs the chart itself reads, for one model (sdq.policy (dict "root" $ "model" M)),
as JSON: the model's `scaling` over ScalingPolicy's defaults, where a value set to 0 stays 0.
Without idle_to_zero_s, KEDA's cooldown comes from scaler.keda.cooldownPeriod.
*/}}
{{- define "sdq.policy" -}}
{{- $policy := dict "min_replicas" 0 "max_replicas" 10 "jobs_per_replica" 1 "activation_queue_length" 0 "idle_to_zero_s" .root.Values.scaler.keda.cooldownPeriod -}}
{{- range $key, $value := (.model.scaling | default dict) }}{{ $_ := set $policy $key $value }}{{ end -}}
{{- toJson $policy -}}
{{- end }}

{{/* The Redis connection of every sdq container. */}}
{{- define "sdq.redisEnv" -}}
{{- if eq .Values.redis.mode "bundled" }}
- name: SDQ_REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "sdq.redisPasswordSecret" . }}
      key: {{ .Values.redis.bundled.existingSecretKey }}
- name: SDQ_REDIS_URL
  value: "redis://:$(SDQ_REDIS_PASSWORD)@{{ include "sdq.redisName" . }}:6379/0"
{{- else if .Values.redis.external.existingSecret }}
- name: SDQ_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.external.existingSecret }}
      key: {{ .Values.redis.external.existingSecretKey }}
{{- else }}
- name: SDQ_REDIS_URL
  value: {{ required "redis.external.url (or redis.external.existingSecret) is required when redis.mode is external" .Values.redis.external.url | quote }}
{{- end }}
{{- if and (eq .Values.redis.mode "external") .Values.redis.external.replicaAcks }}
- name: SDQ_REDIS_REPLICA_ACKS
  value: {{ .Values.redis.external.replicaAcks | quote }}
{{- end }}
{{- end }}

{{/* S3 credentials, for the pods that read or write outputs. */}}
{{- define "sdq.s3Env" -}}
{{- if and (eq .Values.outputs.type "s3") .Values.outputs.s3.existingSecret }}
- name: SDQ_S3_ACCESS_KEY_ID
  valueFrom:
    secretKeyRef:
      name: {{ .Values.outputs.s3.existingSecret }}
      key: {{ .Values.outputs.s3.accessKeyIdKey }}
- name: SDQ_S3_SECRET_ACCESS_KEY
  valueFrom:
    secretKeyRef:
      name: {{ .Values.outputs.s3.existingSecret }}
      key: {{ .Values.outputs.s3.secretAccessKeyKey }}
{{- end }}
{{- end }}

{{/* How the API is protected: the admin key from its Secret, or the explicit opt-out. */}}
{{- define "sdq.authEnv" -}}
{{- if .Values.auth.enabled }}
- name: SDQ_ADMIN_KEY
  valueFrom:
    secretKeyRef:
      name: {{ include "sdq.authSecretName" . }}
      key: {{ .Values.auth.existingSecretKey }}
{{- else }}
- {name: SDQ_AUTH, value: none}
{{- end }}
{{- end }}

{{/*
The metrics token (SDQ_METRICS_TOKEN) from the auth Secret, when auth is on. An operator's own
Secret (auth.existingSecret) may lack the key: then only the admin key reads /metrics.
*/}}
{{- define "sdq.metricsTokenEnv" -}}
{{- if .Values.auth.enabled }}
- name: SDQ_METRICS_TOKEN
  valueFrom:
    secretKeyRef:
      name: {{ include "sdq.authSecretName" . }}
      key: {{ .Values.auth.metricsTokenKey }}
      {{- if .Values.auth.existingSecret }}
      optional: true
      {{- end }}
{{- end }}
{{- end }}

{{/*
The own metrics port of a worker, scaler or webhook sender pod (metrics.pods), as settings:
SDQ_METRICS_PORT on every address of the pod, behind the metrics token when auth is on, open
(SDQ_AUTH=none, as the API) when auth is off. Workers also get PROMETHEUS_MULTIPROC_DIR, where
their prefork child's metrics reach the parent that serves them (sdq.podMetricsVolume).
sdq.podMetricsEnv (dict "root" $ "multiprocess" BOOL)
*/}}
{{- define "sdq.podMetricsEnv" -}}
{{- with .root.Values.metrics.pods }}
{{- if .enabled }}
- {name: SDQ_METRICS_PORT, value: {{ .port | quote }}}
- {name: SDQ_METRICS_HOST, value: 0.0.0.0}
{{- if $.multiprocess }}
- {name: PROMETHEUS_MULTIPROC_DIR, value: /prometheus-multiproc}
{{- end }}
{{- if $.root.Values.auth.enabled }}
{{ include "sdq.metricsTokenEnv" $.root }}
{{- else }}
- {name: SDQ_AUTH, value: none}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The `metrics` container port of a worker, scaler or webhook sender pod (metrics.pods). */}}
{{- define "sdq.podMetricsPort" -}}
{{- if .Values.metrics.pods.enabled }}
ports:
  - {name: metrics, containerPort: {{ .Values.metrics.pods.port }}, protocol: TCP}
{{- end }}
{{- end }}

{{/* prometheus.io annotations on a worker, scaler or webhook sender pod. */}}
{{- define "sdq.podMetricsAnnotations" -}}
{{- if and .Values.metrics.scrapeAnnotations .Values.metrics.pods.enabled }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .Values.metrics.pods.port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- end }}

{{- define "sdq.webhookSecretEnv" -}}
- name: SDQ_WEBHOOK_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ include "sdq.webhookSecretName" . }}
      key: {{ .Values.webhooks.existingSecretKey }}
{{- end }}

{{/* The data volume: the shared outputs claim, or a scratch folder when outputs go to S3. */}}
{{- define "sdq.dataVolume" -}}
- name: data
{{- if eq .Values.outputs.type "pvc" }}
  persistentVolumeClaim:
    claimName: {{ include "sdq.outputsClaim" . }}
{{- else }}
  emptyDir: {}
{{- end }}
{{- end }}

{{/* The LoRA adapters volume (loras.existingClaim), for the API and the workers. */}}
{{- define "sdq.lorasVolume" -}}
{{- if (.Values.loras | default dict).existingClaim }}
- name: loras
  persistentVolumeClaim:
    claimName: {{ (.Values.loras | default dict).existingClaim }}
    readOnly: true
{{- end }}
{{- end }}

{{- define "sdq.lorasMount" -}}
{{- if (.Values.loras | default dict).existingClaim }}
- {name: loras, mountPath: /loras, readOnly: true}
{{- end }}
{{- end }}

{{/* Pod-level settings every sdq pod shares. */}}
{{- define "sdq.podCommon" -}}
{{- with .Values.images.pullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  {{- toYaml .Values.podSecurityContext | nindent 2 }}
{{- end }}

{{/* Restarts pods when the settings they read change. */}}
{{- define "sdq.configChecksum" -}}
checksum/config: {{ include (print .Template.BasePath "/config.yaml") . | sha256sum }}
{{- end }}
