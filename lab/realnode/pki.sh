# The real node's PKI and kubeconfigs, as a kubeadm cluster has them: one CA; the API server's
# serving certificate; a client certificate per component, named so the API server's default
# RBAC (and the Node authorizer) grants each what it needs; the service-account key pair.
# Sourced by lab/realnode/up.sh after lib.sh.
# shellcheck shell=bash

# issue <file-stem> <subject> <kind: client|server|both> [subjectAltName]
issue() {
  local stem=$1 subject=$2 kind=$3 san=${4:-} pki="$RN_DIR/pki"
  local ext="$pki/$stem.ext" usage
  case $kind in
    client) usage=clientAuth ;;
    server) usage=serverAuth ;;
    both) usage=serverAuth,clientAuth ;;
  esac
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [[ -z $san ]] || echo "subjectAltName=$san"
  } > "$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$pki/$stem.key" -subj "$subject" -out "$pki/$stem.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$stem.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 30 -extfile "$ext" -out "$pki/$stem.crt" 2>/dev/null
  rm -f "$pki/$stem.csr" "$ext"
  chmod 0600 "$pki/$stem.key"
}

# kubeconfig <file> <user-cert-stem> <server>: credentials inline, so the file can be copied.
kubeconfig() {
  local file=$1 stem=$2 server=$3 pki="$RN_DIR/pki"
  mkdir -p "$(dirname "$file")"
  cat > "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: weir-realnode
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 "$pki/ca.crt")
users:
- name: $stem
  user:
    client-certificate-data: $(base64 -w0 "$pki/$stem.crt")
    client-key-data: $(base64 -w0 "$pki/$stem.key")
contexts:
- name: weir-realnode
  context: {cluster: weir-realnode, user: $stem}
current-context: weir-realnode
EOF
  chmod 0600 "$file"
}

make_pki() {
  local ip=$1 pki="$RN_DIR/pki" server="https://$1:$API_PORT"
  mkdir -p "$pki"; chmod 0700 "$pki"
  openssl req -x509 -new -newkey rsa:2048 -nodes -days 30 -subj "/CN=weir-realnode-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$pki/ca.key" -out "$pki/ca.crt" 2>/dev/null
  issue apiserver "/CN=kube-apiserver" server \
    "IP:$ip,IP:127.0.0.1,IP:$SERVICE_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  # The API server's client identity towards the kubelet (exec, logs, port-forward).
  issue apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" client
  issue kubelet-serving "/CN=$NODE_NAME" server "IP:$ip,DNS:$NODE_NAME"
  issue admin "/O=system:masters/CN=weir-admin" client
  # Node authorizer + NodeRestriction: the kubelet may touch only its own node and pods.
  issue kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" client
  issue controller-manager "/CN=system:kube-controller-manager" client
  issue scheduler "/CN=system:kube-scheduler" client
  issue kube-proxy "/CN=system:kube-proxy" client
  # Multus reads pods and NetworkAttachmentDefinitions (ClusterRole in lab/realnode/multus-rbac.yaml).
  issue multus "/CN=multus" client
  openssl genrsa -out "$pki/sa.key" 2048 2>/dev/null
  openssl rsa -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
  local c
  for c in admin kubelet controller-manager scheduler kube-proxy multus; do
    kubeconfig "$RN_DIR/kubeconfigs/$c.kubeconfig" "$c" "$server"
  done
}
