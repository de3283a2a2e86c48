package enroll

import (
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
		{"global", cloud.AzurePublic.ActiveDirectoryAuthorityHost, "https://graph.microsoft.com", "https://graph.microsoft.com/.default"},
		{"usgov", cloud.AzureGovernment.ActiveDirectoryAuthorityHost, "https://graph.microsoft.us", "https://graph.microsoft.us/.default"},
		{"usgovdod", cloud.AzureGovernment.ActiveDirectoryAuthorityHost, "https://dod-graph.microsoft.us", "https://dod-graph.microsoft.us/.default"},
		{"china", cloud.AzureChina.ActiveDirectoryAuthorityHost, "https://microsoftgraph.chinacloudapi.cn",
			"https://microsoftgraph.chinacloudapi.cn/.default"},
	} {
		if scopeFor(c.graph) != c.scope || !isMicrosoftAuthority(c.authority) || redirected(c.authority, c.graph) {
			t.Errorf("cloud %q (%s, %s) is not recognised as Microsoft's: scope %s", c.name, c.authority, c.graph, scopeFor(c.graph))
		}
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
