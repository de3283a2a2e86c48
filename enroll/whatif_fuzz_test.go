package enroll

import (
	"strings"
	"testing"
)

// FuzzParseWhatIf feeds the What If answer parser; seeded with the beta
// reference's example (microsoft-graph-docs-contrib, api-reference/beta/api/
// conditionalaccessroot-evaluate.md, commit
// 10604e6c52b4e37aed019b402da377f07820bea9), shortened.
func FuzzParseWhatIf(f *testing.F) {
	f.Add([]byte(`{"@odata.context":"https://graph.microsoft.com/beta/$metadata#Collection(microsoft.graph.whatIfAnalysisResult)",` +
		`"value":[{"id":"37d51c45-8c60-4f82-98e0-6e1451cecf7c","displayName":"All Users except au1_All resources_user risk H_Password change",` +
		`"state":"enabledForReportingButNotEnforced","policyApplies":true,"analysisReasons":"notSet",` +
		`"grantControls":{"operator":"AND","builtInControls":["mfa","passwordChange"]}}]}`))
	f.Add([]byte(`{"value":[{"id":"x","policyApplies":false,"analysisReasons":"users"}]}`))
	f.Add([]byte(`{"value":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		pols, err := parseWhatIf(b)
		if err != nil && pols != nil {
			t.Fatalf("error with results: %v", err)
		}
	})
}

// FuzzParseStrengthConfigs feeds the authentication strength combination
// configuration parser (Graph: fido2CombinationConfiguration allowedAAGUIDs).
func FuzzParseStrengthConfigs(f *testing.F) {
	f.Add([]byte(`{"value":[{"@odata.type":"#microsoft.graph.fido2CombinationConfiguration","id":"1",` +
		`"appliesToCombinations":["fido2"],"allowedAAGUIDs":["CB69481E-8FF7-4039-93EC-0A2729A154A8"]}]}`))
	f.Add([]byte(`{"value":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseStrengthConfigs(b)
		if err != nil && got != nil {
			t.Fatalf("error with results: %v", err)
		}
		for _, a := range got {
			if a != strings.ToLower(a) {
				t.Fatalf("AAGUID %q not lower case", a)
			}
		}
	})
}
