package config

import (
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
)

// A cloud's name resolves to azidentity's own authority host (azcore/cloud)
// and the Graph root of "Microsoft Graph national cloud deployments"
// (https://learn.microsoft.com/graph/deployments); enroll recognises the
// same hosts as Microsoft's (enroll's TestMicrosoftClouds).
func TestCloudByName(t *testing.T) {
	for _, c := range []struct{ name, authority, graph string }{
		{"", cloud.AzurePublic.ActiveDirectoryAuthorityHost, "https://graph.microsoft.com"},
		{"global", cloud.AzurePublic.ActiveDirectoryAuthorityHost, "https://graph.microsoft.com"},
		{"usgov", cloud.AzureGovernment.ActiveDirectoryAuthorityHost, "https://graph.microsoft.us"},
		{"usgovdod", cloud.AzureGovernment.ActiveDirectoryAuthorityHost, "https://dod-graph.microsoft.us"},
		{"china", cloud.AzureChina.ActiveDirectoryAuthorityHost, "https://microsoftgraph.chinacloudapi.cn"},
	} {
		authority, graph, err := cloudByName(c.name)
		if err != nil || authority != c.authority || graph != c.graph {
			t.Errorf("cloud %q: %s %s %v", c.name, authority, graph, err)
		}
	}
	if _, _, err := cloudByName("azurestack"); err == nil || !strings.Contains(err.Error(), "global, usgov, usgovdod or china") {
		t.Errorf("an unknown cloud: %v", err)
	}
}
