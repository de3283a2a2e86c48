package config

import "fmt"

// microsoftCloud is where one of Microsoft's clouds signs in and serves Graph.
type microsoftCloud struct{ authority, graph string }

// clouds are Microsoft's clouds by the name a config gives them. The
// authority hosts are azidentity's (github.com/Azure/azure-sdk-for-go,
// sdk/azcore/cloud/cloud.go: AzurePublic, AzureGovernment, AzureChina);
// the Graph roots are Microsoft's "Microsoft Graph national cloud
// deployments" (https://learn.microsoft.com/graph/deployments, "Microsoft
// Graph and Graph Explorer service root endpoints": global, US Government
// L4, US Government L5 (DOD), China operated by 21Vianet), whose "App
// registration and token service root endpoints" give the same authorities.
var clouds = map[string]microsoftCloud{
	"global":   {"https://login.microsoftonline.com/", "https://graph.microsoft.com"},
	"usgov":    {"https://login.microsoftonline.us/", "https://graph.microsoft.us"},
	"usgovdod": {"https://login.microsoftonline.us/", "https://dod-graph.microsoft.us"},
	"china":    {"https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn"},
}

// cloudByName returns the sign-in authority host and the Graph root of one
// of Microsoft's clouds by name: global (also ""), usgov (US Government L4:
// GCC High), usgovdod (US Government L5: DoD) or china (21Vianet).
func cloudByName(name string) (authority, graph string, err error) {
	if name == "" {
		name = "global"
	}
	c, ok := clouds[name]
	if !ok {
		return "", "", fmt.Errorf(
			"cloud %q is not one of Microsoft's clouds: say global, usgov, usgovdod or china",
			name,
		)
	}
	return c.authority, c.graph, nil
}
