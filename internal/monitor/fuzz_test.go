package monitor

import (
	"encoding/json"
	"testing"
)

// FuzzISODuration: an evaluation frequency from ARM is a positive duration
// or an error, never a panic; a rule whose frequency cannot be read is
// judged as "not every 15 minutes" (a finding), never passed.
func FuzzISODuration(f *testing.F) {
	for _, s := range []string{"PT5M", "PT1H", "PT15M", "PT1H30M", "P1D", "", "PT", "pt5m", "PT-5M", "PT99999999999H"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := isoDuration(s)
		if err != nil {
			d = 0 // how rules() keeps an unreadable frequency
		}
		r := rule{enabled: true, frequency: d, anyRow: true, groups: []string{"g"}}
		reason, _ := (&audit{}).judgeStatic(r)
		if (d <= 0 || d > maxFrequency) && reason == "" {
			t.Fatalf("%q: frequency %s (err %v) judged fine", s, d, err)
		}
	})
}

// FuzzSettings: a config's monitoring block is valid or named invalid,
// never a panic; a valid one never lets a "/" into a resource name (it
// would change the ARM path written to).
func FuzzSettings(f *testing.F) {
	f.Add(`{"subscription": "00000000-0000-0000-0000-00000000000a", "resource_group": "rg", "workspace": "w",
		"receivers": [{"name": "SOC", "email": "soc@contoso.com"}], "rule": "r"}`)
	f.Add(`{"subscription": "x", "resource_group": "../rg", "workspace": "w"}`)
	f.Add(`{"arm": "http://127.0.0.1"}`)
	f.Fuzz(func(t *testing.T, b string) {
		var s Settings
		if json.Unmarshal([]byte(b), &s) != nil || s.Validate() != nil {
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
