package config

import (
	"strings"
	"testing"
)

// The monitoring block: its keys are read, each missing or malformed one
// is named, an unknown one is refused.
func TestConfigMonitoring(t *testing.T) {
	base := `"tenant_id": "t", "client_id": "c", "officer_a": "A", "officer_b": "B", "out_dir": "/tmp/x", "account": "a@x"`
	good := `"subscription": "00000000-0000-0000-0000-00000000000a", "resource_group": "rg", "workspace": "logs"`
	c, err := Load(writeFile(t, `{`+base+`, "monitoring": {`+good+`, "location": "westeurope",
		"receivers": [{"name": "SOC", "email": "soc@contoso.com"}], "rule": "bg"}}`))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Monitoring
	if m == nil || m.Workspace != "logs" || m.Rule != "bg" || len(m.Receivers) != 1 || m.Receivers[0].Email != "soc@contoso.com" {
		t.Fatalf("monitoring %+v", m)
	}
	for _, tc := range []struct{ block, want string }{
		{`"subscription": "x", "resource_group": "rg", "workspace": "w"`, "monitoring.subscription"},
		{`"subscription": "00000000-0000-0000-0000-00000000000a", "workspace": "w"`, "monitoring.resource_group"},
		{`"subscription": "00000000-0000-0000-0000-00000000000a", "resource_group": "rg"`, "monitoring.workspace"},
		{good + `, "receivers": [{"name": "SOC", "email": "nobody"}]`, "monitoring.receivers"},
		{good + `, "rule": "../x"`, "not a resource name"},
		{good + `, "retention": 90`, "unknown field"},
	} {
		if _, err := Load(writeFile(t, `{`+base+`, "monitoring": {`+tc.block+`}}`)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.block, err, tc.want)
		}
	}
}
