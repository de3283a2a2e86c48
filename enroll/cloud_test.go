package enroll

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// Microsoft's clouds as the config names them: the authority hosts are
// azidentity's own (azcore/cloud), the Graph roots those of "Microsoft
// Graph national cloud deployments" (https://learn.microsoft.com/graph/deployments),
// and a token for a national cloud's Graph is asked for that cloud's
// domain (https://learn.microsoft.com/graph/sdks/national-clouds,
// Permission scopes); the emulator takes the global cloud's scope.
func TestMicrosoftClouds(t *testing.T) {
	for _, c := range []struct{ name, authority, graph, scope string }{
		{"", cloud.AzurePublic.ActiveDirectoryAuthorityHost, "https://graph.microsoft.com", "https://graph.microsoft.com/.default"},
		{"global", cloud.AzurePublic.ActiveDirectoryAuthorityHost, "https://graph.microsoft.com", "https://graph.microsoft.com/.default"},
		{"usgov", cloud.AzureGovernment.ActiveDirectoryAuthorityHost, "https://graph.microsoft.us", "https://graph.microsoft.us/.default"},
		{"usgovdod", cloud.AzureGovernment.ActiveDirectoryAuthorityHost, "https://dod-graph.microsoft.us", "https://dod-graph.microsoft.us/.default"},
		{"china", cloud.AzureChina.ActiveDirectoryAuthorityHost, "https://microsoftgraph.chinacloudapi.cn",
			"https://microsoftgraph.chinacloudapi.cn/.default"},
	} {
		authority, graph, err := Cloud(c.name)
		if err != nil || authority != c.authority || graph != c.graph || scopeFor(graph) != c.scope || !isMicrosoftAuthority(authority) {
			t.Errorf("cloud %q: %s %s %v, scope %s", c.name, authority, graph, err, scopeFor(graph))
		}
	}
	if _, _, err := Cloud("azurestack"); err == nil || !strings.Contains(err.Error(), "global, usgov, usgovdod or china") {
		t.Errorf("an unknown cloud: %v", err)
	}
	if scopeFor("https://127.0.0.1:8443") != graphScope || isMicrosoftAuthority("https://127.0.0.1:8443/") {
		t.Error("the emulator is taken for a Microsoft cloud")
	}
	for _, c := range []struct {
		authority, root string
		want            bool
	}{
		{"", "", false}, {"https://login.microsoftonline.us/", "https://dod-graph.microsoft.us", false},
		{"", "https://graph.microsoft.com/", false}, {"https://login.chinacloudapi.cn/", "https://127.0.0.1:8443", true},
		{"https://127.0.0.1:8443/", "", true}, {"https://127.0.0.1:8443/", "https://127.0.0.1:8443", true},
	} {
		if got := redirected(c.authority, c.root); got != c.want {
			t.Errorf("redirected(%q, %q) = %v", c.authority, c.root, got)
		}
	}
}
