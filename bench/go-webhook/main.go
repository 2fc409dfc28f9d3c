// The Go baseline for bench/webhook.ts: the webhook the field would write instead of Weir's, on
// controller-runtime's admission package, with the same decision shape as Weir's pod mutation: read
// the namespace and each referenced NetworkAttachmentDefinition from an informer cache (client-go's
// indexer, the store informers fill), check the opt-in label, the networks annotation, each NAD's
// chain and the bandwidth Quantities, and answer with one JSON patch that writes an intent
// annotation. TLS from the same kind of certificate files Weir serves.
//
// Usage: go-webhook --cert-dir DIR   (prints "PORT <n>" once listening; exits on SIGTERM)
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"gomodules.xyz/jsonpatch/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

const benchNamespace = "bench"

type mutator struct {
	decoder    admission.Decoder
	namespaces cache.Indexer
	nads       cache.Indexer
}

type attachment struct {
	Network   string `json:"network"`
	Interface string `json:"interface"`
}

type intent struct {
	Version     int          `json:"v"`
	Attachments []attachment `json:"attachments"`
	Ingress     int64        `json:"ingressBps,omitempty"`
	Egress      int64        `json:"egressBps,omitempty"`
}

func (m *mutator) Handle(_ context.Context, req admission.Request) admission.Response {
	pod := &corev1.Pod{}
	if err := m.decoder.Decode(req, pod); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	nsObj, found, err := m.namespaces.GetByKey(req.Namespace)
	if err != nil || !found {
		return admission.Denied(fmt.Sprintf("namespace %q is not in the cache", req.Namespace))
	}
	ns, ok := nsObj.(*corev1.Namespace)
	if !ok || ns.Labels["weir.dev/inject"] != "enabled" {
		return admission.Allowed("namespace not opted in")
	}
	a := pod.Annotations
	var in intent
	in.Version = 1
	names := []string{}
	if d := a["v1.multus-cni.io/default-network"]; d != "" {
		names = append(names, d+"@eth0")
	}
	for i, n := range strings.Split(a["k8s.v1.cni.cncf.io/networks"], ",") {
		if n = strings.TrimSpace(n); n == "" {
			continue
		}
		if !strings.Contains(n, "@") {
			n = fmt.Sprintf("%s@net%d", n, i+1)
		}
		names = append(names, n)
	}
	for _, n := range names {
		ref, ifName, _ := strings.Cut(n, "@")
		nsName, name, hasNs := strings.Cut(ref, "/")
		if !hasNs {
			nsName, name = req.Namespace, ref
		}
		if reason := m.checkNad(nsName, name); reason != "" {
			return admission.Denied(reason)
		}
		in.Attachments = append(in.Attachments, attachment{Network: nsName + "/" + name, Interface: ifName})
	}
	for key, target := range map[string]*int64{"kubernetes.io/ingress-bandwidth": &in.Ingress, "kubernetes.io/egress-bandwidth": &in.Egress} {
		if v, set := a[key]; set {
			q, err := resource.ParseQuantity(v)
			if err != nil {
				return admission.Denied(fmt.Sprintf("metadata.annotations[%s]: %v", key, err))
			}
			*target = q.Value()
		}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.Patched("", jsonpatch.JsonPatchOperation{Operation: "add", Path: "/metadata/annotations/weir.dev~1intent", Value: string(body)})
}

// checkNad returns why the NAD cannot carry the pod, or "" when it can.
func (m *mutator) checkNad(namespace, name string) string {
	obj, found, err := m.nads.GetByKey(namespace + "/" + name)
	if err != nil || !found {
		return fmt.Sprintf("NetworkAttachmentDefinition %s/%s not found", namespace, name)
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok {
		return "unexpected object in the NAD cache"
	}
	config, _, _ := unstructured.NestedString(u.Object, "spec", "config")
	var conf struct {
		Plugins []map[string]any `json:"plugins"`
	}
	if err := json.Unmarshal([]byte(config), &conf); err != nil {
		return fmt.Sprintf("NAD %s/%s: spec.config: %v", namespace, name, err)
	}
	weir, ipam := false, false
	for _, p := range conf.Plugins {
		switch p["type"] {
		case "weir":
			weir = true
		case "macvlan", "ipvlan":
			_, ipam = p["ipam"].(map[string]any)
		}
	}
	if !weir || !ipam {
		return fmt.Sprintf("NAD %s/%s: the chain needs an interface plugin with ipam and weir", namespace, name)
	}
	return ""
}

func nad(name string, extra ...map[string]any) *unstructured.Unstructured {
	plugins := []map[string]any{
		{"type": "macvlan", "master": "eth0", "mode": "bridge", "ipam": map[string]any{"type": "spiderpool"}},
		{"type": "weir"},
	}
	plugins = append(plugins, extra...)
	config, _ := json.Marshal(map[string]any{"cniVersion": "1.0.0", "name": name, "plugins": plugins})
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("k8s.cni.cncf.io/v1")
	u.SetKind("NetworkAttachmentDefinition")
	u.SetNamespace(benchNamespace)
	u.SetName(name)
	_ = unstructured.SetNestedField(u.Object, string(config), "spec", "config")
	return u
}

func main() {
	certDir := flag.String("cert-dir", "", "directory with tls.crt and tls.key")
	flag.Parse()
	cert, err := tls.LoadX509KeyPair(filepath.Join(*certDir, "tls.crt"), filepath.Join(*certDir, "tls.key"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	namespaces := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	nads := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	_ = namespaces.Add(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: benchNamespace, Labels: map[string]string{"weir.dev/inject": "enabled"}}})
	for _, n := range []*unstructured.Unstructured{nad("underlay-a", map[string]any{"type": "coordinator"}), nad("underlay-b"), nad("underlay-c")} {
		_ = nads.Add(n)
	}
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	hook := &admission.Webhook{Handler: &mutator{decoder: admission.NewDecoder(scheme), namespaces: namespaces, nads: nads}}
	mux := http.NewServeMux()
	mux.Handle("/mutate-pods", hook)
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	server := &http.Server{Handler: mux, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	fmt.Printf("PORT %d\n", listener.Addr().(*net.TCPAddr).Port)
	go func() {
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
		<-stop
		_ = server.Close()
	}()
	if err := server.ServeTLS(listener, "", ""); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
