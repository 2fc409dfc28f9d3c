{{/* Object names. Cluster-scoped objects (webhook configurations, ClusterRoles) carry the full
name, so two releases in different namespaces do not collide. */}}
{{- define "weir.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "weir.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "weir.webhook.fullname" -}}{{ include "weir.fullname" . }}-webhook{{- end -}}
{{- define "weir.agent.fullname" -}}{{ include "weir.fullname" . }}-agent{{- end -}}
{{/* Secret holding the webhook's serving certificate (and, self-signed, its CA). */}}
{{- define "weir.webhook.tlsSecret" -}}{{ include "weir.webhook.fullname" . }}-tls{{- end -}}
{{/* Both webhook configurations share one name: the one the webhook patches (self-signed). */}}
{{- define "weir.webhookConfigName" -}}{{ include "weir.fullname" . }}{{- end -}}

{{- define "weir.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "weir.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "weir.webhook.selectorLabels" -}}
app.kubernetes.io/name: {{ include "weir.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "weir.agent.selectorLabels" -}}
app.kubernetes.io/name: {{ include "weir.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: agent
{{- end -}}

{{- define "weir.image" -}}
{{- printf "%s:%s" .image.repository (default .root.Chart.AppVersion .image.tag) -}}
{{- end -}}

{{/* Hardened container securityContext for the webhook (the agent is privileged by necessity). */}}
{{- define "weir.restrictedContainerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* Pods: only opted-in namespaces, and never kube-system or Weir's own namespace (the webhook's
own pods must be able to start while it is down, or the cluster deadlocks). */}}
{{- define "weir.podNamespaceSelector" -}}
namespaceSelector:
  matchExpressions:
    - key: weir.dev/inject
      operator: In
      values: [enabled]
    - key: kubernetes.io/metadata.name
      operator: NotIn
      values:
        {{- toYaml (concat (list "kube-system" .Release.Namespace) .Values.webhook.excludedNamespaces | uniq) | nindent 8 }}
{{- end -}}
{{/* pods/ephemeralcontainers: `kubectl debug` adds containers through this subresource (UPDATE);
they get the same capability checks as the pod's own containers (webhook/src/decide/pod-security.ts). */}}
{{- define "weir.podRules" -}}
rules:
  - apiGroups: [""]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [pods, pods/ephemeralcontainers]
    scope: Namespaced
{{- end -}}
{{- define "weir.nadRules" -}}
rules:
  - apiGroups: [k8s.cni.cncf.io]
    apiVersions: [v1]
    operations: [CREATE, UPDATE]
    resources: [network-attachment-definitions]
    scope: Namespaced
{{- end -}}
