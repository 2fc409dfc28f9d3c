// The upstream Kubernetes NetworkPolicy e2e suite (k8s.io/kubernetes/test/e2e/network/netpol) as a
// standalone test binary: the full e2e.test links every e2e package; this one links only netpol and
// the framework. scripts/build-go-tools.sh copies this file into a wrapper module and runs
// `go test -c`; lab/realnode/netpol-e2e.sh runs the binary against the real node.
package netpole2e

import (
	"flag"
	"os"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/gomega"

	"k8s.io/kubernetes/test/e2e/framework"
	"k8s.io/kubernetes/test/e2e/framework/config"

	// The specs under test, and the framework's usual reconfiguration (node and debug helpers).
	_ "k8s.io/kubernetes/test/e2e/framework/debug/init"
	_ "k8s.io/kubernetes/test/e2e/framework/node/init"
	_ "k8s.io/kubernetes/test/e2e/network/netpol"
)

func TestMain(m *testing.M) {
	config.CopyFlags(config.Flags, flag.CommandLine)
	framework.RegisterCommonFlags(flag.CommandLine)
	framework.RegisterClusterFlags(flag.CommandLine)
	flag.Parse()
	framework.AfterReadingAllFlags(&framework.TestContext)
	os.Exit(m.Run())
}

func TestNetpol(t *testing.T) {
	gomega.RegisterFailHandler(framework.Fail)
	suiteConfig, reporterConfig := framework.CreateGinkgoConfig()
	ginkgo.RunSpecs(t, "Kubernetes NetworkPolicy e2e suite (netpol)", suiteConfig, reporterConfig)
}
