package crashtest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/fidokey"
)

// `simkey serve --state` killed -9 right after it answered keeps what it
// answered: the PIN it set, a wrong PIN's spent retry, and started again
// on the same file it is the same key.
func TestSimkeyServeSurvivesKill9(t *testing.T) {
	w := &world{t: t, bin: keyceremonyBinary(t), dir: t.TempDir()}
	k := &key{name: "k", sock: filepath.Join(w.dir, "k.sock"), state: filepath.Join(w.dir, "k.json")}
	ctx := context.Background()
	backend, err := fidokey.ParseBackend("")
	if err != nil {
		t.Fatal(err)
	}
	open := func() (ctap.Authenticator, func()) {
		a, c, err := fidokey.HID{Fixed: []string{k.addr()}, Backend: backend}.Open(ctx, k.addr(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return a, func() { c.Close() }
	}
	crash := func() {
		if err := k.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = k.cmd.Wait()
		w.startKey(k)
	}
	w.startKey(k)
	a, done := open()
	if err := a.SetPIN(ctx, []byte("83920174")); err != nil {
		t.Fatal(err)
	}
	if _, err := a.GetPINToken(ctx, []byte("00000000"), ctap.TokenRequest{}); err == nil {
		t.Fatalf("a wrong PIN: %v", err)
	}
	done()
	crash()
	a, done = open()
	defer done()
	if n, _, err := a.PINRetries(ctx); err != nil || n != 7 {
		t.Fatalf("after kill -9: %d retries (%v), want 7: the spent retry was not kept", n, err)
	}
	if _, err := a.GetPINToken(ctx, []byte("83920174"), ctap.TokenRequest{}); err != nil {
		t.Fatalf("after kill -9 the PIN it set does not open it: %v", err)
	}
	if st := readKey(t, k); len(st.PINVerifier) != 16 || st.PINRetries != 8 {
		t.Fatalf("the state file after the right PIN: %d-byte verifier, %d retries", len(st.PINVerifier), st.PINRetries)
	}
}
