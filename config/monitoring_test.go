package config

import (
	"encoding/json"
	"testing"
)

// FuzzMonitoring: a config's monitoring block is valid or named invalid,
// never a panic; a valid one never lets a "/" into a resource name (it
// would change the ARM path written to).
func FuzzMonitoring(f *testing.F) {
	f.Add(`{"subscription": "00000000-0000-0000-0000-00000000000a", "resource_group": "rg", "workspace": "w",
		"receivers": [{"name": "SOC", "email": "soc@contoso.com"}], "rule": "r"}`)
	f.Add(`{"subscription": "x", "resource_group": "../rg", "workspace": "w"}`)
	f.Add(`{"arm": "http://127.0.0.1"}`)
	f.Fuzz(func(t *testing.T, b string) {
		var s Monitoring
		if json.Unmarshal([]byte(b), &s) != nil || s.validate() != nil {
			return
		}
		for _, n := range []string{s.ResourceGroup, s.Workspace, s.Rule, s.ActionGroup, s.DiagnosticSetting} {
			for _, c := range "/?#" {
				for _, x := range n {
					if x == c {
						t.Fatalf("valid settings with %q in a resource name %q", c, n)
					}
				}
			}
		}
	})
}
