package ceremony_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/pem"
	"strings"
	"testing"
)

// Issue 30: before signing, both officers confirm a one-screen summary of
// what they sign: the account, each key with its fingerprint, the retired
// methods and the deviations.
func TestSignConfirmationSummarisesTheReport(t *testing.T) {
	w := newCrashWorld(t, false, "")
	res, err := w.run(t, -1)
	if err != nil {
		t.Fatalf("ceremony: %v\n%s", err, w.out.String())
	}
	r := readReport(t, res)
	var asked []string
	for _, a := range w.p.Asked {
		if strings.Contains(a, "sign the report of this ceremony") {
			asked = append(asked, a)
		}
	}
	if len(asked) != 2 || !strings.Contains(asked[0], w.cfg.OfficerA) || !strings.Contains(asked[1], w.cfg.OfficerB) {
		t.Fatalf("the signing confirmations: %q", asked)
	}
	want := []string{"account " + r.Account.UPN + " (" + r.Account.ObjectID + ")"}
	for _, k := range r.Keys {
		block, _ := pem.Decode([]byte(k.PublicKeyPEM))
		sum := sha256.Sum256(block.Bytes)
		want = append(want, k.DisplayName, "SHA256:"+base64.RawStdEncoding.EncodeToString(sum[:]))
	}
	for _, m := range r.Retired {
		want = append(want, "retired \""+m.DisplayName+"\" ("+m.GraphMethodID+")")
	}
	if len(r.Retired) == 0 {
		want = append(want, "retired: none")
	}
	for _, d := range r.Deviations {
		want = append(want, d)
	}
	for _, s := range want {
		if !strings.Contains(asked[1], s) {
			t.Errorf("the summary lacks %q:\n%s", s, asked[1])
		}
	}
	if len(r.Keys) != 2 {
		t.Fatalf("%d keys in the report", len(r.Keys))
	}
}
