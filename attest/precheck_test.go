package attest

import (
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/sim/testca"
)

// What getInfo alone says refuses a key before anything is done to it,
// naming its model (the MDS blob's description: the real blob no. 9 of
// webauthn4j's test data, see realMDS, names AAGUID 77010bd7-… "Feitian
// BioPass FIDO2 Authenticator"); what it cannot refuse it never allows —
// nil is only "nothing against it yet".
func TestPrecheckRefusesBeforeTheKeyIsTouched(t *testing.T) {
	blob, root := realMDS(t)
	when := time.Date(2021, 11, 15, 12, 0, 0, 0, time.UTC)
	m, err := parseMDS(blob, root, when)
	if err != nil {
		t.Fatal(err)
	}
	pol, err := LoadPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	vf := &Verifier{Policy: pol, MDS: m, Now: func() time.Time { return when }}
	withMDS, err := LoadPolicy("")
	if err != nil {
		t.Fatal(err)
	}
	withMDS.MDS = &mdsPolicy{Blob: "blob.jwt", MaxAgeDays: 30}
	fw := func(s string) *uint64 { // major.minor.patch as 0xMMmmpp
		v, _ := ctap.ParseFirmware(ctap.AAGUID(testca.AAGUID()), s)
		return &v
	}
	id := func(s string) ctap.AAGUID {
		a, err := ctap.ParseAAGUID(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	simkey := ctap.AAGUID{}
	copy(simkey[:], "keyceremony-simk")
	for _, c := range []struct {
		name     string
		vf       *Verifier
		aaguid   ctap.AAGUID
		firmware *uint64
		want     string // "" for no early refusal
	}{
		{"Feitian BioPass", vf, id("77010bd7-212a-4fc9-b236-d2ca5e9d4084"), fw("1.0.0"),
			"a Feitian BioPass FIDO2 Authenticator (AAGUID 77010bd7-212a-4fc9-b236-d2ca5e9d4084): not on the policy's allowlist"},
		{"YubiKey 5 NFC", vf, id("2fc0579f-8113-47ea-b116-bb5a8db9202a"), fw("5.4.3"), ""},
		{"YubiKey 5.7 with old firmware", vf, id("a25342c0-3cdc-4414-8e46-f4807fca511c"), fw("5.4.3"),
			"firmware 5.4.3 is older than the policy's minimum 5.7.0"},
		{"YubiKey 5.7 firmware unknown", vf, id("a25342c0-3cdc-4414-8e46-f4807fca511c"), nil, "the key's firmware is unknown"},
		{"YubiKey 5.7", vf, id("a25342c0-3cdc-4414-8e46-f4807fca511c"), fw("5.7.1"), ""},
		{"no AAGUID", vf, ctap.AAGUID{}, fw("1.0.0"), "a key without a model AAGUID"},
		{"simkey in a real ceremony", vf, simkey, fw("1.0.0"), "a keyceremony simkey (a virtual key, allowed in a rehearsal only)"},
		{"simkey in a rehearsal", &Verifier{Policy: pol, Rehearsal: true, RehearsalModel: &AllowedModel{AAGUID: simkey.String(), Name: "simkey"}},
			simkey, fw("1.0.0"), ""},
		{"unknown model", &Verifier{Policy: pol}, id("77010bd7-212a-4fc9-b236-d2ca5e9d4084"), nil,
			"a key of a model the policy and the MDS blob do not name"},
		// A policy whose MDS blob was not loaded refuses every key alike:
		// not this key's fault, so not said of it (the attestation says it).
		{"no MDS blob loaded", &Verifier{Policy: withMDS}, id("2fc0579f-8113-47ea-b116-bb5a8db9202a"), fw("5.4.3"), ""},
	} {
		err := c.vf.Precheck(c.aaguid, c.firmware, "")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: refused early: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}
