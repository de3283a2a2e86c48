package attest

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"testing"

	"github.com/keyceremony/keyceremony/ctap"
)

// FuzzPolicy: whatever bytes a policy file holds (the organisation writes
// it by hand), parsing never panics, and a policy that parses keeps the
// promises the verifier relies on: at least one allowed model, no zero
// and no repeated AAGUID (each in canonical form), something to trust (a
// root or an MDS blob), and the hash the reports record is the file's own.
func FuzzPolicy(f *testing.F) {
	def, err := embedded.ReadFile("default-policy.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(def)
	f.Add([]byte(`{"version":1,"allowed":[{"aaguid":"00000000-0000-0000-0000-000000000000","name":"x"}]}`))
	f.Add([]byte(`{"version":1,"allowed":[]}`))
	f.Add(def[:len(def)/2])
	readRoot := func(name string) ([]byte, error) { return embedded.ReadFile(filepath.ToSlash(name)) }
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := parsePolicy(data, readRoot)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, a := range p.Allowed {
			id, err := ctap.ParseAAGUID(a.AAGUID)
			if err != nil || id.IsZero() || seen[id.String()] || a.AAGUID != id.String() {
				t.Fatalf("a policy allows AAGUID %q (%v), seen before: %v", a.AAGUID, err, seen[id.String()])
			}
			seen[id.String()] = true
		}
		sum := sha256.Sum256(data)
		if len(p.Allowed) == 0 || (len(p.roots) == 0 && p.MDS == nil) || p.SHA256() != hex.EncodeToString(sum[:]) {
			t.Fatalf("parsed policy: %d models, %d roots, hash %s", len(p.Allowed), len(p.roots), p.SHA256())
		}
		if err := p.WriteText(io.Discard); err != nil {
			t.Fatal(err)
		}
	})
}
