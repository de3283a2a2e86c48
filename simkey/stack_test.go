package simkey_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/simkey"
)

// fakeClock is a settable clock for the reset window.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type bench struct {
	t      testing.TB
	key    *simkey.Key
	clock  *fakeClock
	client *ctap.Client
	dev    *hid.Device
	events []ctap.Keepalive
	evMu   sync.Mutex
	opts   ctap.Options
	idle   time.Duration
}

func newBench(t testing.TB, cfg simkey.Config, opts ctap.Options) *bench {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	if cfg.TouchDelay == 0 {
		cfg.TouchDelay = time.Millisecond
	}
	key, err := simkey.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{t: t, key: key, clock: clock, opts: opts, idle: 2 * time.Second}
	b.connect()
	return b
}

// connect opens a fresh client over the full stack (after a replug, say).
func (b *bench) connect() {
	b.t.Helper()
	if b.dev != nil {
		b.dev.Close()
	}
	opts := b.opts
	opts.OnKeepalive = func(k ctap.Keepalive) { b.evMu.Lock(); b.events = append(b.events, k); b.evMu.Unlock() }
	c, dev, err := b.key.Open(context.Background(), hid.Options{IdleTimeout: b.idle}, opts)
	if err != nil {
		b.t.Fatal(err)
	}
	b.client, b.dev = c, dev
	b.t.Cleanup(func() { dev.Close() })
}

func (b *bench) replug() {
	b.t.Helper()
	if err := b.key.Replug(); err != nil {
		b.t.Fatal(err)
	}
	b.connect()
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return c
}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func TestGetInfoOverFullStack(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	info, err := b.client.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.AAGUID != simkey.DefaultAAGUID() {
		t.Errorf("AAGUID %v", info.AAGUID)
	}
	if !info.HasVersion("FIDO_2_1") || !info.SupportsPINProtocol(1) || !info.SupportsPINProtocol(2) {
		t.Errorf("versions %v protocols %v", info.Versions, info.PinUvAuthProtocols)
	}
	if set, ok := info.Option("clientPin"); !ok || set {
		t.Errorf("fresh key clientPin = %v,%v; want present and false", set, ok)
	}
	if info.FirmwareVersion == nil || *info.FirmwareVersion != 0x050704 {
		t.Errorf("firmware %v", info.FirmwareVersion)
	}
	if info.MaxMsgSize != 1200 || info.MinPINLength != 4 || info.RemainingDiscoverableCredentials == nil || *info.RemainingDiscoverableCredentials != 25 {
		t.Errorf("info %+v", info)
	}
	if !b.dev.Info().HasCBOR() {
		t.Error("INIT did not announce CBOR")
	}
}

func TestPingAndWink(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	big := bytes.Repeat([]byte("keyceremony "), 400) // 4800 bytes: many continuation packets
	if err := b.dev.Ping(ctx(t), big); err != nil {
		t.Fatal(err)
	}
	if err := b.dev.Wink(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

func TestPINLifecycleBothProtocols(t *testing.T) {
	for _, proto := range []int{1, 2} {
		t.Run(map[int]string{1: "protocol1", 2: "protocol2"}[proto], func(t *testing.T) {
			b := newBench(t, simkey.Config{}, ctap.Options{PINProtocol: proto})
			c := ctx(t)
			if err := b.client.SetPIN(c, []byte("12")); err == nil {
				t.Fatal("a 2-digit PIN was accepted")
			}
			if err := b.client.SetPIN(c, []byte("1234")); err != nil {
				t.Fatal(err)
			}
			if err := b.client.SetPIN(c, []byte("5678")); err == nil {
				t.Fatal("SetPIN on a key with a PIN succeeded")
			}
			tok, err := b.client.GetPINToken(c, []byte("1234"), ctap.TokenRequest{})
			if err != nil {
				t.Fatal(err)
			}
			if tok.Protocol() != proto {
				t.Errorf("token protocol %d", tok.Protocol())
			}
			if err := b.client.ChangePIN(c, []byte("1234"), []byte("246810"), 0); err != nil {
				t.Fatal(err)
			}
			if _, err := b.client.GetPINToken(c, []byte("1234"), ctap.TokenRequest{}); !errors.Is(err, ctap.StatusPINInvalid) {
				t.Fatalf("old PIN after change: %v", err)
			}
			if _, err := b.client.GetPINToken(c, []byte("246810"), ctap.TokenRequest{Permissions: ctap.PermCredentialManagement}); err != nil {
				t.Fatal(err)
			}
			if n, _, err := b.client.PINRetries(c); err != nil || n != 8 {
				t.Fatalf("retries after a good PIN: %d %v", n, err)
			}
		})
	}
}

func TestWrongPINBlocksUntilReplugThenForGood(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{RetryFloor: 1})
	c := ctx(t)
	if err := b.client.SetPIN(c, []byte("correct-horse")); err != nil {
		t.Fatal(err)
	}
	wrong := []byte("wrong-pin")
	want := []int{7, 6}
	for i, left := range want {
		_, err := b.client.GetPINToken(c, wrong, ctap.TokenRequest{})
		var pe *ctap.PINError
		if !errors.As(err, &pe) || pe.Status != ctap.StatusPINInvalid || pe.RetriesLeft != left {
			t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
	}
	_, err := b.client.GetPINToken(c, wrong, ctap.TokenRequest{})
	if !errors.Is(err, ctap.StatusPINAuthBlocked) {
		t.Fatalf("third wrong PIN: %v", err)
	}
	// Even the right PIN is refused until a power cycle, and costs nothing.
	if _, err := b.client.GetPINToken(c, []byte("correct-horse"), ctap.TokenRequest{}); !errors.Is(err, ctap.StatusPINAuthBlocked) {
		t.Fatalf("right PIN while blocked: %v", err)
	}
	if n, pc, _ := b.client.PINRetries(c); n != 5 || !pc {
		t.Fatalf("retries %d powerCycle %v; want 5, true", n, pc)
	}
	b.replug()
	if _, err := b.client.GetPINToken(c, []byte("correct-horse"), ctap.TokenRequest{}); err != nil {
		t.Fatalf("right PIN after replug: %v", err)
	}
	// Burn every retry: 8 wrong PINs with replugs every 3 ends in PIN_BLOCKED.
	var last error
	for i := 0; i < 8; i++ {
		if i > 0 && i%3 == 0 {
			b.replug()
		}
		_, last = b.client.GetPINToken(c, wrong, ctap.TokenRequest{ConfirmRetries: 8 - i})
	}
	if !errors.Is(last, ctap.StatusPINBlocked) {
		t.Fatalf("after 8 wrong PINs: %v", last)
	}
	b.replug()
	if _, err := b.client.GetPINToken(c, []byte("correct-horse"), ctap.TokenRequest{ConfirmRetries: 0}); !errors.Is(err, ctap.StatusPINBlocked) {
		t.Fatalf("right PIN on a blocked key: %v", err)
	}
}

func TestRetryFloorNeedsConfirmation(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{RetryFloor: 6})
	c := ctx(t)
	if err := b.client.SetPIN(c, []byte("123456")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if _, err := b.client.GetPINToken(c, []byte("000000"), ctap.TokenRequest{}); !errors.Is(err, ctap.StatusPINInvalid) {
			t.Fatal(err)
		}
	}
	// 6 left = floor: refused before anything is sent.
	_, err := b.client.GetPINToken(c, []byte("123456"), ctap.TokenRequest{})
	var low *ctap.LowRetriesError
	if !errors.As(err, &low) || low.Left != 6 {
		t.Fatalf("at the floor: %v", err)
	}
	if n, _, _ := b.client.PINRetries(c); n != 6 {
		t.Fatalf("the refused attempt spent a retry: %d left", n)
	}
	if err := b.client.ChangePIN(c, []byte("123456"), []byte("654321"), 0); !errors.As(err, &low) {
		t.Fatalf("change PIN at the floor: %v", err)
	}
	if _, err := b.client.GetPINToken(c, []byte("123456"), ctap.TokenRequest{ConfirmRetries: 6}); err != nil {
		t.Fatalf("confirmed attempt: %v", err)
	}
}

func TestResetWindowAndTouch(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	c := ctx(t)
	if err := b.client.SetPIN(c, []byte("1234")); err != nil {
		t.Fatal(err)
	}
	b.clock.Add(11 * time.Second)
	if err := b.client.Reset(c); !errors.Is(err, ctap.StatusNotAllowed) {
		t.Fatalf("reset 11 s after power-up: %v", err)
	}
	b.replug()
	b.key.SetPresence(simkey.PresenceDeny)
	if err := b.client.Reset(c); !errors.Is(err, ctap.StatusOperationDenied) {
		t.Fatalf("declined touch: %v", err)
	}
	b.key.SetPresence(simkey.PresenceAuto)
	b.evMu.Lock()
	b.events = nil
	b.evMu.Unlock()
	if err := b.client.Reset(c); err != nil {
		t.Fatal(err)
	}
	b.evMu.Lock()
	sawUP := len(b.events) > 0 && b.events[0] == ctap.KeepaliveUserPresence
	b.evMu.Unlock()
	if !sawUP {
		t.Error("no UPNEEDED keepalive while waiting for the touch")
	}
	info, err := b.client.Info(c)
	if err != nil {
		t.Fatal(err)
	}
	if set, _ := info.Option("clientPin"); set {
		t.Error("PIN survived the reset")
	}
}

func TestTouchTimeoutAndCancel(t *testing.T) {
	b := newBench(t, simkey.Config{TouchTimeout: 300 * time.Millisecond}, ctap.Options{})
	b.key.SetPresence(simkey.PresenceIgnore)
	if err := b.client.Selection(ctx(t)); !errors.Is(err, ctap.StatusUserActionTimeout) {
		t.Fatalf("untouched selection: %v", err)
	}
	b.key.SetPresence(simkey.PresenceManual)
	cctx, cancel := context.WithCancel(ctx(t))
	go func() {
		for {
			b.evMu.Lock()
			n := len(b.events)
			b.evMu.Unlock()
			if n > 0 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	b.evMu.Lock()
	b.events = nil
	b.evMu.Unlock()
	err := b.client.Selection(cctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled selection: %v", err)
	}
	// The channel is clean afterwards.
	if _, err := b.client.Info(ctx(t)); err != nil {
		t.Fatalf("getInfo after cancel: %v", err)
	}
	// Manual touch completes a selection.
	go func() { time.Sleep(50 * time.Millisecond); b.key.Touch() }()
	if err := b.client.Selection(ctx(t)); err != nil {
		t.Fatal(err)
	}
}

// registration is one makeCredential through the full stack with a PIN.
func register(t *testing.T, b *bench, pin []byte, rpID string, userID []byte, rk bool) *ctap.MakeCredentialResult {
	t.Helper()
	c := ctx(t)
	tok, err := b.client.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: rpID})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Zero()
	res, err := b.client.MakeCredential(c, ctap.MakeCredentialOptions{
		ClientDataHash: hash("client data " + rpID),
		RP:             ctap.RelyingParty{ID: rpID, Name: rpID},
		User:           ctap.User{ID: userID, Name: "breakglass1@contoso.onmicrosoft.com", DisplayName: "Break Glass 1"},
		ResidentKey:    rk, CredProtect: ctap.CredProtectUVOptional, HMACSecret: true, Token: tok,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestMakeCredentialPackedAttestationAndAssertion(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	c := ctx(t)
	pin := []byte("4711-0815")
	if err := b.client.SetPIN(c, pin); err != nil {
		t.Fatal(err)
	}
	res := register(t, b, pin, "login.microsoft.com", []byte("user-1"), true)
	if res.Format != "packed" {
		t.Fatalf("fmt %q", res.Format)
	}
	ad, err := ctap.ParseAuthData(res.AuthData)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ad.RPIDHash[:], hash("login.microsoft.com")) || ad.Flags&(ctap.FlagUP|ctap.FlagUV|ctap.FlagAT|ctap.FlagED) != ctap.FlagUP|ctap.FlagUV|ctap.FlagAT|ctap.FlagED {
		t.Fatalf("authData flags %02x", ad.Flags)
	}
	if ad.AAGUID != simkey.DefaultAAGUID() {
		t.Fatalf("AAGUID %v", ad.AAGUID)
	}
	var ext map[string]any
	if err := ctap.Unmarshal(ad.Extensions, &ext); err != nil || ext["credProtect"] != uint64(1) || ext["hmac-secret"] != true {
		t.Fatalf("extensions %v %v", ext, err)
	}
	// Packed attestation: sig over authData || clientDataHash by x5c[0], which chains to the test root.
	var stmt struct {
		Alg int      `cbor:"alg"`
		Sig []byte   `cbor:"sig"`
		X5C [][]byte `cbor:"x5c"`
	}
	if err := ctap.Unmarshal(res.AttStmt, &stmt); err != nil || stmt.Alg != -7 || len(stmt.X5C) != 1 {
		t.Fatalf("attStmt %+v %v", stmt, err)
	}
	leaf, err := x509.ParseCertificate(stmt.X5C[0])
	if err != nil {
		t.Fatal(err)
	}
	root, _ := simkey.TestRoot()
	pool := x509.NewCertPool()
	pool.AddCert(root)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Fatalf("chain: %v", err)
	}
	signed := append(append([]byte(nil), res.AuthData...), hash("client data login.microsoft.com")...)
	if err := leaf.CheckSignature(x509.ECDSAWithSHA256, signed, stmt.Sig); err != nil {
		t.Fatalf("attestation signature: %v", err)
	}
	// The attestationObject keeps attStmt byte-exact.
	obj, err := res.AttestationObject()
	if err != nil || !bytes.Contains(obj, res.AttStmt) {
		t.Fatalf("attestationObject: %v", err)
	}

	// getAssertion with the credential in the allow list, verified with the public key.
	tok, err := b.client.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: "login.microsoft.com"})
	if err != nil {
		t.Fatal(err)
	}
	as, err := b.client.GetAssertion(c, ctap.GetAssertionOptions{
		RPID: "login.microsoft.com", ClientDataHash: hash("assert"), Token: tok,
		AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := ctap.VerifySignature(ad.CredentialKey, as[0].AuthData, hash("assert"), as[0].Signature); err != nil {
		t.Fatal(err)
	}
	aad, _ := ctap.ParseAuthData(as[0].AuthData)
	if aad.SignCount <= ad.SignCount || aad.Flags&ctap.FlagUV == 0 {
		t.Fatalf("assertion counter %d after %d, flags %02x", aad.SignCount, ad.SignCount, aad.Flags)
	}
	// A tampered signature does not verify.
	bad := append([]byte(nil), as[0].Signature...)
	bad[len(bad)-1] ^= 1
	if ctap.VerifySignature(ad.CredentialKey, as[0].AuthData, hash("assert"), bad) == nil {
		t.Fatal("tampered signature verified")
	}
	// excludeList: the key refuses to register the same credential twice.
	tok2, _ := b.client.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: "login.microsoft.com"})
	_, err = b.client.MakeCredential(c, ctap.MakeCredentialOptions{
		ClientDataHash: hash("x"), RP: ctap.RelyingParty{ID: "login.microsoft.com"}, User: ctap.User{ID: []byte("user-2")},
		ExcludeList: []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}}, Token: tok2,
	})
	if !errors.Is(err, ctap.StatusCredentialExcluded) {
		t.Fatalf("excludeList: %v", err)
	}
}

func TestResidentKeyNeedsPIN(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	c := ctx(t)
	if err := b.client.SetPIN(c, []byte("1234")); err != nil {
		t.Fatal(err)
	}
	_, err := b.client.MakeCredential(c, ctap.MakeCredentialOptions{
		ClientDataHash: hash("x"), RP: ctap.RelyingParty{ID: "login.microsoft.com"}, User: ctap.User{ID: []byte("u")}, ResidentKey: true,
	})
	if !errors.Is(err, ctap.StatusPUATRequired) {
		t.Fatalf("rk without PIN token: %v", err)
	}
	tok, _ := b.client.GetPINToken(c, []byte("1234"), ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: "example.com"})
	_, err = b.client.MakeCredential(c, ctap.MakeCredentialOptions{
		ClientDataHash: hash("x"), RP: ctap.RelyingParty{ID: "login.microsoft.com"}, User: ctap.User{ID: []byte("u")}, ResidentKey: true, Token: tok,
	})
	if !errors.Is(err, ctap.StatusPINAuthInvalid) {
		t.Fatalf("token bound to another RP: %v", err)
	}
}

func TestCredentialManagement(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	c := ctx(t)
	pin := []byte("1234")
	if err := b.client.SetPIN(c, pin); err != nil {
		t.Fatal(err)
	}
	r1 := register(t, b, pin, "login.microsoft.com", []byte("user-1"), true)
	register(t, b, pin, "login.microsoft.com", []byte("user-2"), true)
	register(t, b, pin, "example.com", []byte("user-3"), true)
	register(t, b, pin, "example.com", []byte("user-4"), false) // not discoverable: not listed
	tok, err := b.client.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermCredentialManagement})
	if err != nil {
		t.Fatal(err)
	}
	md, err := b.client.CredentialsMetadata(c, tok)
	if err != nil || md.Existing != 3 || md.Remaining != 22 {
		t.Fatalf("metadata %+v %v", md, err)
	}
	rps, err := b.client.RelyingParties(c, tok)
	if err != nil || len(rps) != 2 || rps[0].RP.ID != "login.microsoft.com" || rps[1].RP.ID != "example.com" {
		t.Fatalf("RPs %+v %v", rps, err)
	}
	creds, err := b.client.Credentials(c, tok, hash("login.microsoft.com"))
	if err != nil || len(creds) != 2 || string(creds[0].User.ID) != "user-1" || creds[0].CredProtect != 1 {
		t.Fatalf("credentials %+v %v", creds, err)
	}
	ad, _ := ctap.ParseAuthData(r1.AuthData)
	if !bytes.Equal(creds[0].CredentialID.ID, ad.CredentialID) || !bytes.Equal(creds[0].PublicKey, ad.CredentialKey) {
		t.Fatal("enumerated credential differs from the registered one")
	}
	if err := b.client.DeleteCredential(c, tok, ad.CredentialID); err != nil {
		t.Fatal(err)
	}
	if err := b.client.DeleteCredential(c, tok, ad.CredentialID); !errors.Is(err, ctap.StatusNoCredentials) {
		t.Fatalf("second delete: %v", err)
	}
	creds, _ = b.client.Credentials(c, tok, hash("login.microsoft.com"))
	if len(creds) != 1 || string(creds[0].User.ID) != "user-2" {
		t.Fatalf("after delete: %+v", creds)
	}
	// A deleted discoverable credential is gone, even named in an allow list.
	gone, _ := b.client.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: "login.microsoft.com"})
	if _, err := b.client.GetAssertion(c, ctap.GetAssertionOptions{RPID: "login.microsoft.com", ClientDataHash: hash("g"), Token: gone,
		AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}}}); !errors.Is(err, ctap.StatusNoCredentials) {
		t.Fatalf("assertion with a deleted credential: %v", err)
	}
	// Discoverable assertion without allow list finds the remaining credential.
	gaTok, _ := b.client.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: "example.com"})
	as, err := b.client.GetAssertion(c, ctap.GetAssertionOptions{RPID: "example.com", ClientDataHash: hash("a"), Token: gaTok})
	if err != nil || len(as) != 1 || as[0].User == nil || string(as[0].User.ID) != "user-3" {
		t.Fatalf("discoverable assertion %+v %v", as, err)
	}
	// Without the cm permission, credential management is refused.
	gaTok2, _ := b.client.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion})
	if _, err := b.client.CredentialsMetadata(c, gaTok2); err == nil {
		t.Fatal("metadata with a ga-only token succeeded")
	}
}

func TestMultipleDiscoverableAssertions(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	c := ctx(t)
	pin := []byte("1234")
	b.client.SetPIN(c, pin)
	register(t, b, pin, "example.com", []byte("a"), true)
	register(t, b, pin, "example.com", []byte("b"), true)
	tok, _ := b.client.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: "example.com"})
	as, err := b.client.GetAssertion(c, ctap.GetAssertionOptions{RPID: "example.com", ClientDataHash: hash("a"), Token: tok})
	if err != nil || len(as) != 2 || as[0].NumberOfCredentials != 2 {
		t.Fatalf("%+v %v", as, err)
	}
}

func TestAuthenticatorConfig(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	c := ctx(t)
	pin := []byte("1234")
	b.client.SetPIN(c, pin)
	tok, err := b.client.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermAuthenticatorConfig})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.client.SetMinPINLength(c, tok, 6, false); err != nil {
		t.Fatal(err)
	}
	info, _ := b.client.Info(c)
	if info.MinPINLength != 6 || !info.ForcePINChange {
		t.Fatalf("min %d force %v: a 4-digit PIN under a 6 minimum must force a change", info.MinPINLength, info.ForcePINChange)
	}
	if _, err := b.client.GetPINToken(c, pin, ctap.TokenRequest{}); !errors.Is(err, ctap.StatusPINPolicyViolation) {
		t.Fatalf("token while a change is forced: %v", err)
	}
	if err := b.client.ChangePIN(c, pin, []byte("12345"), 0); err == nil {
		t.Fatal("5-character PIN accepted under a minimum of 6")
	}
	if err := b.client.ChangePIN(c, pin, []byte("123456"), 0); err != nil {
		t.Fatal(err)
	}
	tok, err = b.client.GetPINToken(c, []byte("123456"), ctap.TokenRequest{Permissions: ctap.PermAuthenticatorConfig})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.client.SetMinPINLength(c, tok, 4, false); !errors.Is(err, ctap.StatusPINPolicyViolation) {
		t.Fatalf("lowering the minimum: %v", err)
	}
	if err := b.client.ToggleAlwaysUV(c, tok); err != nil {
		t.Fatal(err)
	}
	info, _ = b.client.Info(c)
	if v, _ := info.Option("alwaysUv"); !v {
		t.Fatal("alwaysUv not set")
	}
	_, err = b.client.GetAssertion(c, ctap.GetAssertionOptions{RPID: "example.com", ClientDataHash: hash("a")})
	if !errors.Is(err, ctap.StatusPUATRequired) {
		t.Fatalf("assertion without PIN under alwaysUv: %v", err)
	}
}

func TestStateFileSurvivesRestart(t *testing.T) {
	path := t.TempDir() + "/simkey.json"
	b := newBench(t, simkey.Config{StatePath: path}, ctap.Options{})
	c := ctx(t)
	pin := []byte("1234")
	b.client.SetPIN(c, pin)
	res := register(t, b, pin, "login.microsoft.com", []byte("u"), true)
	b.dev.Close()
	b2 := newBench(t, simkey.Config{StatePath: path}, ctap.Options{})
	tok, err := b2.client.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermCredentialManagement})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := b2.client.Credentials(c, tok, hash("login.microsoft.com"))
	ad, _ := ctap.ParseAuthData(res.AuthData)
	if err != nil || len(creds) != 1 || !bytes.Equal(creds[0].CredentialID.ID, ad.CredentialID) {
		t.Fatalf("%+v %v", creds, err)
	}
}
