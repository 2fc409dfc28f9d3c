// The network-policy-api v0.3.0 conformance suite (sigs.k8s.io/network-policy-api/conformance) as a
// standalone test binary. scripts/build-go-tools.sh copies this file into a wrapper module and runs
// `go test -c`; lab/realnode/cnp-conformance.sh runs the binary against the real node.
//
// TestConformanceProfiles does what upstream's conformance/conformance_profile_test.go does (same
// flags, the suite's own tests, its own ConformanceReport), because that file is in a _test package
// that cannot be imported. Two flags of this file adapt the suite's base manifests to the machine,
// and both are off unless given:
//
//	--no-sctp      the kernel has no SCTP (socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP) fails with
//	               EPROTONOSUPPORT), so `agnhost porter` exits on SERVE_SCTP_PORT_* and its pods
//	               never become Ready: drop those server containers. No test is skipped: every
//	               SCTP probe then fails (`agnhost connect` says "protocol not supported"), and the
//	               report counts each test with one as failed.
//	--single-node  the forbidden-forrest StatefulSet runs two hostNetwork replicas on the suite's
//	               host ports, which only fits on two nodes. On one node its containers drop their
//	               `ports` (the scheduler's host-port check) and every replica except <name>-1, the
//	               one the node-peer tests probe, serves on the ports shifted past the suite's range.
//
// The adapted manifests are served to the suite from memory over TLS, the one way besides its
// embedded files that it reads manifests (conformance/utils/kubernetes/apply.go).
package cnpconformance

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"text/template"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	_ "k8s.io/client-go/plugin/pkg/client/auth"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"
	"sigs.k8s.io/yaml"

	api "sigs.k8s.io/network-policy-api/apis/v1beta1"
	"sigs.k8s.io/network-policy-api/conformance"
	confv1a1 "sigs.k8s.io/network-policy-api/conformance/apis/v1alpha1"
	"sigs.k8s.io/network-policy-api/conformance/tests"
	"sigs.k8s.io/network-policy-api/conformance/utils/flags"
	"sigs.k8s.io/network-policy-api/conformance/utils/suite"
)

var (
	noSCTP     = flag.Bool("no-sctp", false, "drop the base manifests' SCTP servers and skip the SCTP tests (kernel without SCTP)")
	singleNode = flag.Bool("single-node", false, "fit the base manifests' two hostNetwork replicas on one node")
	// The suite's HostNetworkPortRangeStart option, which upstream's test file leaves at its default
	// (34345, inside Linux's ephemeral range, where a machine running other tests may hold a port).
	hostPortStart = flag.Int("host-network-port-start", 34345, "first of the host-network pods' ports")
)

const (
	hostPortCount = 8 // how many host ports the suite uses (conformance/utils/suite/suite.go)
	baseManifests = "base/manifests.yaml"
)

func TestConformanceProfiles(t *testing.T) {
	cfg, err := config.GetConfig()
	if err != nil {
		t.Fatalf("loading the Kubernetes config: %v", err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatalf("creating the Kubernetes client: %v", err)
	}
	clientSet, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("creating the Kubernetes clientset: %v", err)
	}
	if err := api.Install(c.Scheme()); err != nil {
		t.Fatalf("installing the API scheme: %v", err)
	}
	if err := apiextensionsv1.AddToScheme(c.Scheme()); err != nil {
		t.Fatalf("installing the apiextensions scheme: %v", err)
	}
	profiles := suite.ParseConformanceProfiles(*flags.ConformanceProfiles)
	if profiles.Len() == 0 {
		t.Fatalf("--conformance-profiles is required (ClusterNetworkPolicy): this binary writes a ConformanceReport")
	}
	implementation, err := suite.ParseImplementation(*flags.ImplementationOrganization, *flags.ImplementationProject,
		*flags.ImplementationURL, *flags.ImplementationVersion, *flags.ImplementationContact, *flags.ImplementationAdditionalInformation)
	if err != nil {
		t.Fatalf("implementation details: %v", err)
	}

	ports := make([]int, 0, hostPortCount)
	for p := *hostPortStart; p < *hostPortStart+hostPortCount; p++ {
		ports = append(ports, p)
	}
	options := suite.Options{
		Client:                     c,
		ClientSet:                  clientSet,
		KubeConfig:                 *cfg,
		Debug:                      *flags.ShowDebug,
		CleanupBaseResources:       *flags.CleanupBaseResources,
		SupportedFeatures:          suite.ParseSupportedFeatures(*flags.SupportedFeatures),
		ExemptFeatures:             suite.ParseSupportedFeatures(*flags.ExemptFeatures),
		EnableAllSupportedFeatures: *flags.EnableAllSupportedFeatures,
		HostNetworkPortRangeStart:  *hostPortStart,
		HostNetworkPortRangeEnd:    *hostPortStart + hostPortCount - 1,
	}
	if *noSCTP || *singleNode {
		adapted, err := adaptBaseManifests(ports, *noSCTP, *singleNode)
		if err != nil {
			t.Fatalf("adapting %s: %v", baseManifests, err)
		}
		options.BaseManifests = serveManifest(t, adapted)
	}
	t.Logf("supported features: [%s], exempt: [%s], profiles: [%s], no-sctp: %t, single-node: %t, host ports: %v",
		*flags.SupportedFeatures, *flags.ExemptFeatures, *flags.ConformanceProfiles, *noSCTP, *singleNode, ports)

	cSuite, err := suite.NewConformanceProfileTestSuite(suite.ConformanceProfileOptions{
		Options: options, Implementation: *implementation, ConformanceProfiles: profiles,
	})
	if err != nil {
		t.Fatalf("creating the conformance suite: %v", err)
	}
	cSuite.Setup(t)
	if err := cSuite.Run(t, tests.ConformanceTests); err != nil {
		t.Fatalf("running the suite: %v", err)
	}
	report, err := cSuite.Report()
	if err != nil {
		t.Fatalf("building the conformance report: %v", err)
	}
	if err := writeReport(t, *report, *flags.ReportOutput); err != nil {
		t.Fatalf("writing the conformance report: %v", err)
	}
}

func writeReport(t *testing.T, report confv1a1.ConformanceReport, output string) error {
	raw, err := yaml.Marshal(report)
	if err != nil {
		return err
	}
	if output != "" {
		if err := os.WriteFile(output, raw, 0o644); err != nil {
			return err
		}
	}
	t.Logf("Conformance report:\n%s", raw)
	return nil
}

// serveManifest serves one manifest over in-process TLS and makes the suite's HTTP client trust it.
func serveManifest(t *testing.T, manifest []byte) string {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(manifest)
	}))
	t.Cleanup(srv.Close)
	http.DefaultClient = srv.Client()
	return srv.URL + "/" + baseManifests
}

// adaptBaseManifests renders the suite's base manifests with its host ports and adapts them as the
// file comment says; everything else is left as upstream wrote it.
func adaptBaseManifests(ports []int, dropSCTP, oneNode bool) ([]byte, error) {
	raw, err := conformance.Manifests.ReadFile(baseManifests)
	if err != nil {
		return nil, err
	}
	tmpl, err := template.New(baseManifests).Parse(string(raw))
	if err != nil {
		return nil, err
	}
	var rendered bytes.Buffer
	if err := tmpl.Execute(&rendered, struct{ HostNetworkPorts []int }{ports}); err != nil {
		return nil, err
	}
	decoder := k8syaml.NewYAMLOrJSONDecoder(&rendered, 4096)
	var out bytes.Buffer
	for {
		obj := unstructured.Unstructured{}
		if err := decoder.Decode(&obj.Object); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, err
		}
		if len(obj.Object) == 0 {
			continue
		}
		if obj.GetKind() == "StatefulSet" {
			if err := adaptStatefulSet(&obj, ports, dropSCTP, oneNode); err != nil {
				return nil, fmt.Errorf("StatefulSet %s/%s: %w", obj.GetNamespace(), obj.GetName(), err)
			}
		}
		doc, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, err
		}
		out.WriteString("---\n")
		out.Write(doc)
	}
	return out.Bytes(), nil
}

func adaptStatefulSet(obj *unstructured.Unstructured, ports []int, dropSCTP, oneNode bool) error {
	containers, _, err := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
	if err != nil {
		return err
	}
	hostNetwork, _, err := unstructured.NestedBool(obj.Object, "spec", "template", "spec", "hostNetwork")
	if err != nil {
		return err
	}
	kept := make([]any, 0, len(containers))
	for _, item := range containers {
		container, ok := item.(map[string]any)
		if !ok {
			return fmt.Errorf("a container is not an object")
		}
		if dropSCTP && servesSCTP(container) {
			continue
		}
		if oneNode && hostNetwork {
			if err := shiftHostPorts(container, obj.GetName()+"-1", ports); err != nil {
				return err
			}
		}
		kept = append(kept, container)
	}
	return unstructured.SetNestedSlice(obj.Object, kept, "spec", "template", "spec", "containers")
}

func servesSCTP(container map[string]any) bool {
	env, _, _ := unstructured.NestedSlice(container, "env")
	for _, item := range env {
		if v, ok := item.(map[string]any); ok {
			if name, _ := v["name"].(string); strings.HasPrefix(name, "SERVE_SCTP_PORT_") {
				return true
			}
		}
	}
	return false
}

// shiftHostPorts drops the container's ports (hostNetwork turns each into a host port, and the
// scheduler puts no two pods with the same host port on one node) and makes its `/bin/bash -c`
// command serve the suite's ports only in the replica named keep, the others' ports shifted by
// len(ports) past the range.
func shiftHostPorts(container map[string]any, keep string, ports []int) error {
	delete(container, "ports")
	command, _, err := unstructured.NestedStringSlice(container, "command")
	if err != nil {
		return err
	}
	if len(command) != 3 || command[0] != "/bin/bash" || command[1] != "-c" {
		return nil // the client container: it listens on nothing
	}
	shifted := command[2]
	for i := len(ports) - 1; i >= 0; i-- {
		shifted = strings.ReplaceAll(shifted, strconv.Itoa(ports[i]), strconv.Itoa(ports[i]+len(ports)))
	}
	if shifted == command[2] {
		return nil
	}
	command[2] = fmt.Sprintf(`if [ "$POD_NAME" = %q ]; then exec %s; else exec %s; fi`, keep, command[2], shifted)
	env, _, err := unstructured.NestedSlice(container, "env")
	if err != nil {
		return err
	}
	env = append(env, map[string]any{
		"name": "POD_NAME", "valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.name"}},
	})
	if err := unstructured.SetNestedSlice(container, env, "env"); err != nil {
		return err
	}
	return unstructured.SetNestedStringSlice(container, command, "command")
}
