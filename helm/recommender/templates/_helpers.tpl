{{/* Chart name, overridable. */}}
{{- define "recommender.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Resource name prefix: the release name, plus the chart name unless the release already holds it. */}}
{{- define "recommender.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := include "recommender.name" . -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "recommender.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "recommender.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "recommender.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Selector labels of one component (server, batch-score, batch-merge): dict "ctx" $ "component" "server". */}}
{{- define "recommender.selectorLabels" -}}
app.kubernetes.io/name: {{ include "recommender.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "recommender.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "recommender.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: curriculum-recommender
{{- end -}}

{{/*
Whole cores in a Kubernetes CPU quantity, at least 1: "2" -> 2, 2.5 -> 2, "1500m" -> 1, "500m" -> 1.
onnxruntime gets one intra-op thread per core it may use; more threads than the CPU limit only adds
CFS throttling and context switches.
*/}}
{{- define "recommender.threadsForCpu" -}}
{{- $cpu := toString . | trim -}}
{{- $millicores := 0 -}}
{{- if hasSuffix "m" $cpu -}}
{{- $millicores = trimSuffix "m" $cpu | atoi -}}
{{- else -}}
{{- $millicores = mulf (float64 $cpu) 1000 | floor | int -}}
{{- end -}}
{{- max 1 (div $millicores 1000) -}}
{{- end -}}

{{/* ORT_INTRA_OP_THREADS for a resources block: the explicit setting, else limits.cpu, else requests.cpu, else 1. dict "ctx" $ "resources" ... */}}
{{- define "recommender.intraOpThreads" -}}
{{- $explicit := .ctx.Values.config.ortIntraOpThreads -}}
{{- $limit := dig "limits" "cpu" "" (.resources | default dict) -}}
{{- $request := dig "requests" "cpu" "" (.resources | default dict) -}}
{{- if not (kindIs "invalid" $explicit) -}}
{{- $explicit | int64 -}}
{{- else if ne (toString $limit) "" -}}
{{- include "recommender.threadsForCpu" $limit -}}
{{- else if ne (toString $request) "" -}}
{{- include "recommender.threadsForCpu" $request -}}
{{- else -}}
1
{{- end -}}
{{- end -}}

{{/* A number as the service parses it: whole numbers without exponent (Helm reads YAML numbers as floats). */}}
{{- define "recommender.number" -}}
{{- if eq (float64 .) (floor .) -}}{{ . | int64 }}{{- else -}}{{ . }}{{- end -}}
{{- end -}}

{{- define "recommender.bundlePath" -}}
{{- printf "%s/%s" (trimSuffix "/" .Values.models.mountPath) .Values.models.bundleDir -}}
{{- end -}}
{{- define "recommender.indexPath" -}}
{{- printf "%s/%s" (trimSuffix "/" .Values.models.mountPath) .Values.models.indexDir -}}
{{- end -}}

{{/* The service's environment: dict "ctx" $ "resources" <the container's resources>. */}}
{{- define "recommender.env" -}}
{{- $ctx := .ctx -}}
{{- $c := $ctx.Values.config -}}
- name: BUNDLE_PATH
  value: {{ include "recommender.bundlePath" $ctx | quote }}
- name: INDEX_PATH
  value: {{ include "recommender.indexPath" $ctx | quote }}
- name: HTTP_PORT
  value: {{ $ctx.Values.containerPorts.http | int64 | quote }}
- name: GRPC_PORT
  value: {{ $ctx.Values.containerPorts.grpc | int64 | quote }}
- name: ORT_INTRA_OP_THREADS
  value: {{ include "recommender.intraOpThreads" . | quote }}
{{- $optional := list
    (list "ORT_INTER_OP_THREADS" $c.ortInterOpThreads)
    (list "ORT_SPINNING" $c.ortSpinning)
    (list "ENCODER_VARIANT" $c.encoderVariant)
    (list "EXECUTION_PROVIDER" $c.executionProvider)
    (list "LOG_LEVEL" $c.logLevel)
    (list "MAX_TOPICS_PER_REQUEST" $c.maxTopicsPerRequest)
    (list "MAX_BODY_BYTES" $c.maxBodyBytes)
    (list "MAX_BATCH_TOKENS" $c.maxBatchTokens)
    (list "MAX_BATCH_WAIT_MS" $c.maxBatchWaitMs)
    (list "SELECTION_MARGIN" $c.selectionMargin) }}
{{- range $optional }}
{{- $value := index . 1 }}
{{- if and (not (kindIs "invalid" $value)) (ne (toString $value) "") }}
- name: {{ index . 0 }}
  value: {{ if or (kindIs "float64" $value) (kindIs "int64" $value) (kindIs "int" $value) }}{{ include "recommender.number" $value | quote }}{{ else }}{{ $value | toString | quote }}{{ end }}
{{- end }}
{{- end }}
{{- with $c.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Volumes holding the bundle and the index (none when they are baked into the image). */}}
{{- define "recommender.modelVolumes" -}}
{{- $m := .Values.models -}}
{{- if eq $m.source "pvc" }}
- name: models
  persistentVolumeClaim:
    claimName: {{ $m.pvc.claimName }}
    readOnly: true
{{- else if or (eq $m.source "image") (eq $m.source "url") }}
- name: models
  emptyDir:
    sizeLimit: {{ $m.emptyDirSizeLimit }}
{{- end }}
{{- end -}}

{{- define "recommender.modelVolumeMounts" -}}
{{- $m := .Values.models -}}
{{- if ne $m.source "baked" }}
- name: models
  mountPath: {{ $m.mountPath }}
  readOnly: true
  {{- if and (eq $m.source "pvc") $m.pvc.subPath }}
  subPath: {{ $m.pvc.subPath }}
  {{- end }}
{{- end }}
{{- end -}}

{{/* Init container filling the models emptyDir from an image or from URLs. */}}
{{- define "recommender.modelInitContainers" -}}
{{- $m := .Values.models -}}
{{- $target := "/target" -}}
{{- if eq $m.source "image" }}
- name: copy-models
  image: {{ printf "%s:%s" $m.image.repository $m.image.tag | quote }}
  imagePullPolicy: {{ $m.image.pullPolicy }}
  command: ["/bin/sh", "-ec"]
  args:
    - |
      mkdir -p "{{ $target }}/{{ $m.bundleDir }}" "{{ $target }}/{{ $m.indexDir }}"
      cp -R "{{ $m.image.bundlePath }}/." "{{ $target }}/{{ $m.bundleDir }}/"
      cp -R "{{ $m.image.indexPath }}/." "{{ $target }}/{{ $m.indexDir }}/"
      echo "copied bundle and index from {{ $m.image.repository }}:{{ $m.image.tag }}"
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml $m.initResources | nindent 4 }}
  volumeMounts:
    - name: models
      mountPath: {{ $target }}
{{- else if eq $m.source "url" }}
- name: fetch-models
  image: {{ include "recommender.image" . | quote }}
  imagePullPolicy: {{ .Values.image.pullPolicy }}
  # The service image's own fetcher (deploy/docker/fetch-archive.mjs): download, check, unpack.
  args:
    - /bin/sh
    - -ec
    - |
      node /app/deploy/docker/fetch-archive.mjs "$BUNDLE_URL" "{{ $target }}/{{ $m.bundleDir }}" "$BUNDLE_SHA256"
      node /app/deploy/docker/fetch-archive.mjs "$INDEX_URL" "{{ $target }}/{{ $m.indexDir }}" "$INDEX_SHA256"
  env:
    - name: BUNDLE_URL
      value: {{ $m.url.bundle | quote }}
    - name: BUNDLE_SHA256
      value: {{ $m.url.bundleSha256 | quote }}
    - name: INDEX_URL
      value: {{ $m.url.index | quote }}
    - name: INDEX_SHA256
      value: {{ $m.url.indexSha256 | quote }}
  securityContext:
    {{- toYaml .Values.securityContext | nindent 4 }}
  resources:
    {{- toYaml $m.initResources | nindent 4 }}
  volumeMounts:
    - name: models
      mountPath: {{ $target }}
    - name: tmp
      mountPath: /tmp
{{- end }}
{{- end -}}

{{/* Batch Job name: dict "ctx" $ "step" "score". Jobs are immutable, so each run gets its own name. */}}
{{- define "recommender.batchJobName" -}}
{{- $run := default (printf "r%d" (int .ctx.Release.Revision)) .ctx.Values.batch.runId -}}
{{- printf "%s-%s-%s" (include "recommender.fullname" .ctx | trunc 40 | trimSuffix "-") .step $run | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Shard output file i of N: dict "ctx" $ "index" "3" (or a shell expression). */}}
{{- define "recommender.shardFile" -}}
{{- $b := .ctx.Values.batch -}}
{{- printf "%s/%s/shard-%s-of-%d.csv" (trimSuffix "/" $b.data.mountPath) $b.outputDir (toString .index) (int $b.shards) -}}
{{- end -}}

{{/* Where the compiled CLI lives in the image (Dockerfile: WORKDIR /app, dist/ at the depth of src/). */}}
{{- define "recommender.cli" -}}
services/recommender/dist/cli/main.js
{{- end -}}
