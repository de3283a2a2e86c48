package conformance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// Feature is something a backend may lack.
type Feature string

// Features a backend may declare it lacks.
const (
	FullInfo            Feature = "getInfo beyond versions, extensions, AAGUID, options and PIN protocols"
	PowerCycleState     Feature = "the powerCycleState flag of getRetries"
	AuthenticatorConfig Feature = "authenticatorConfig"
	Selection           Feature = "authenticatorSelection"
	AllAssertions       Feature = "every assertion of a discoverable lookup"
	CredentialDetails   Feature = "public key and credProtect in credential enumeration"
	RPBoundTokens       Feature = "PIN tokens bound to the RP they were asked for"
)

// Backend opens clients for the suite.
type Backend struct {
	Name string
	// Connect returns a fresh client of key with the given PIN retry floor
	// (after a replug, say). It registers its own cleanup.
	Connect func(t testing.TB, key *simkey.Key, retryFloor int) ctap.Authenticator
	// Lacks lists what the backend cannot do.
	Lacks map[Feature]bool
}

// Clock is a settable clock for the reset window.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Add moves the clock on.
func (c *Clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// bench is one simkey and a client of it.
type bench struct {
	t     *testing.T
	b     Backend
	key   *simkey.Key
	clock *Clock
	floor int
	auth  ctap.Authenticator
}

func (s *bench) replug() {
	s.t.Helper()
	if err := s.key.Replug(); err != nil {
		s.t.Fatal(err)
	}
	s.auth = s.b.Connect(s.t, s.key, s.floor)
}

// NewKey makes the simkey of a test: cfg with, unless set, a settable clock
// (returned; it starts at 2026-11-24 07:00 UTC) and a 1 ms touch.
func NewKey(t testing.TB, cfg simkey.Config) (*simkey.Key, *Clock) {
	t.Helper()
	clock := &Clock{t: time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC)}
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
	return key, clock
}

func newBench(t *testing.T, b Backend, cfg simkey.Config, floor int) *bench {
	t.Helper()
	key, clock := NewKey(t, cfg)
	s := &bench{t: t, b: b, key: key, clock: clock, floor: floor}
	s.auth = b.Connect(t, key, floor)
	return s
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func hash(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

// Run runs the whole suite against the backend.
func Run(t *testing.T, b Backend) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T, Backend)
	}{
		{"Info", testInfo},
		{"PINLifecycle", testPINLifecycle},
		{"WrongPINBlocksUntilReplugThenForGood", testWrongPINBlocks},
		{"RetryFloorNeedsConfirmation", testRetryFloor},
		{"ResetWindowAndTouch", testResetWindow},
		{"TouchTimeoutAndCancel", testTouchTimeoutAndCancel},
		{"MakeCredentialAttestationAndAssertion", testMakeCredential},
		{"ResidentKeyNeedsPIN", testResidentKeyNeedsPIN},
		{"CredentialManagement", testCredentialManagement},
		{"MultipleDiscoverableAssertions", testMultipleDiscoverable},
		{"AuthenticatorConfig", testAuthenticatorConfig},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}

// unsupported checks a lacking backend refuses clearly.
func unsupported(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ctap.ErrUnsupported) {
		t.Fatalf("%s on a backend that lacks it: %v (want ctap.ErrUnsupported)", what, err)
	}
}

func testInfo(t *testing.T, b Backend) {
	s := newBench(t, b, simkey.Config{}, 3)
	info, err := s.auth.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if info.AAGUID != simkey.DefaultAAGUID() {
		t.Errorf("AAGUID %v", info.AAGUID)
	}
	if !slices.Contains(info.Versions, "FIDO_2_1") || !slices.Contains(info.PinUvAuthProtocols, 1) ||
		!slices.Contains(info.PinUvAuthProtocols, 2) {
		t.Errorf("versions %v protocols %v", info.Versions, info.PinUvAuthProtocols)
	}
	if set, ok := info.Option("clientPin"); !ok || set {
		t.Errorf("fresh key clientPin = %v,%v; want present and false", set, ok)
	}
	if b.Lacks[FullInfo] {
		if info.FirmwareVersion != nil || !contains(info.Unavailable, "firmwareVersion") ||
			!contains(info.Unavailable, "minPINLength") {
			t.Errorf(
				"a backend without full getInfo must say so: firmware %v, unavailable %v",
				info.FirmwareVersion,
				info.Unavailable,
			)
		}
		return
	}
	if len(info.Unavailable) != 0 {
		t.Errorf("unavailable %v", info.Unavailable)
	}
	if info.FirmwareVersion == nil || *info.FirmwareVersion != 0x050704 || info.MaxMsgSize != 1200 ||
		info.MinPINLength != 4 ||
		info.RemainingDiscoverableCredentials == nil ||
		*info.RemainingDiscoverableCredentials != 25 {
		t.Errorf("info %+v", info)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func testPINLifecycle(t *testing.T, b Backend) {
	s := newBench(t, b, simkey.Config{}, 3)
	c := ctx(t)
	if err := s.auth.SetPIN(c, []byte("123")); err == nil {
		t.Fatal("a 3-digit PIN was accepted")
	}
	if err := s.auth.SetPIN(c, []byte("1234")); err != nil {
		t.Fatal(err)
	}
	if err := s.auth.SetPIN(c, []byte("5678")); err == nil {
		t.Fatal("SetPIN on a key with a PIN succeeded")
	}
	tok, err := s.auth.GetPINToken(c, []byte("1234"), ctap.TokenRequest{Permissions: ctap.PermCredentialManagement})
	if err != nil {
		t.Fatal(err)
	}
	tok.Zero()
	if err := s.auth.ChangePIN(c, []byte("1234"), []byte("246810"), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.auth.GetPINToken(c, []byte("1234"), ctap.TokenRequest{Permissions: ctap.PermCredentialManagement}); !errors.Is(
		err,
		ctapwire.StatusPINInvalid,
	) {
		t.Fatalf("old PIN after change: %v", err)
	}
	if _, err := s.auth.GetPINToken(c, []byte("246810"), ctap.TokenRequest{Permissions: ctap.PermCredentialManagement}); err != nil {
		t.Fatal(err)
	}
	if n, _, err := s.auth.PINRetries(c); err != nil || n != 8 {
		t.Fatalf("retries after a good PIN: %d %v", n, err)
	}
}

func testWrongPINBlocks(t *testing.T, b Backend) {
	s := newBench(t, b, simkey.Config{}, 1)
	c := ctx(t)
	if err := s.auth.SetPIN(c, []byte("correct-horse")); err != nil {
		t.Fatal(err)
	}
	wrong := []byte("wrong-pin")
	tr := ctap.TokenRequest{Permissions: ctap.PermCredentialManagement}
	for i, left := range []int{7, 6} {
		_, err := s.auth.GetPINToken(c, wrong, tr)
		var pe *ctap.PINError
		if !errors.As(err, &pe) || pe.Status != ctapwire.StatusPINInvalid || pe.RetriesLeft != left {
			t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
	}
	if _, err := s.auth.GetPINToken(c, wrong, tr); !errors.Is(err, ctapwire.StatusPINAuthBlocked) {
		t.Fatalf("third wrong PIN: %v", err)
	}
	// Even the right PIN is refused until a power cycle, and costs nothing.
	if _, err := s.auth.GetPINToken(c, []byte("correct-horse"), tr); !errors.Is(err, ctapwire.StatusPINAuthBlocked) {
		t.Fatalf("right PIN while blocked: %v", err)
	}
	n, pc, _ := s.auth.PINRetries(c)
	if n != 5 || (!b.Lacks[PowerCycleState] && !pc) {
		t.Fatalf("retries %d powerCycle %v; want 5, true", n, pc)
	}
	s.replug()
	if _, err := s.auth.GetPINToken(c, []byte("correct-horse"), tr); err != nil {
		t.Fatalf("right PIN after replug: %v", err)
	}
	var last error
	for i := 0; i < 8; i++ {
		if i > 0 && i%3 == 0 {
			s.replug()
		}
		tr.ConfirmRetries = 8 - i
		_, last = s.auth.GetPINToken(c, wrong, tr)
	}
	if !errors.Is(last, ctapwire.StatusPINBlocked) {
		t.Fatalf("after 8 wrong PINs: %v", last)
	}
	s.replug()
	tr.ConfirmRetries = 0
	if _, err := s.auth.GetPINToken(c, []byte("correct-horse"), tr); !errors.Is(err, ctapwire.StatusPINBlocked) {
		t.Fatalf("right PIN on a blocked key: %v", err)
	}
}

func testRetryFloor(t *testing.T, b Backend) {
	s := newBench(t, b, simkey.Config{}, 6)
	c := ctx(t)
	if err := s.auth.SetPIN(c, []byte("123456")); err != nil {
		t.Fatal(err)
	}
	tr := ctap.TokenRequest{Permissions: ctap.PermCredentialManagement}
	for i := 0; i < 2; i++ {
		if _, err := s.auth.GetPINToken(c, []byte("000000"), tr); !errors.Is(err, ctapwire.StatusPINInvalid) {
			t.Fatal(err)
		}
	}
	_, err := s.auth.GetPINToken(c, []byte("123456"), tr)
	var low *ctap.LowRetriesError
	if !errors.As(err, &low) || low.Left != 6 {
		t.Fatalf("at the floor: %v", err)
	}
	if n, _, _ := s.auth.PINRetries(c); n != 6 {
		t.Fatalf("the refused attempt spent a retry: %d left", n)
	}
	if err := s.auth.ChangePIN(c, []byte("123456"), []byte("654321"), 0); !errors.As(err, &low) {
		t.Fatalf("change PIN at the floor: %v", err)
	}
	tr.ConfirmRetries = 6
	if _, err := s.auth.GetPINToken(c, []byte("123456"), tr); err != nil {
		t.Fatalf("confirmed attempt: %v", err)
	}
}

func testResetWindow(t *testing.T, b Backend) {
	s := newBench(t, b, simkey.Config{}, 3)
	c := ctx(t)
	if err := s.auth.SetPIN(c, []byte("1234")); err != nil {
		t.Fatal(err)
	}
	s.clock.Add(11 * time.Second)
	if err := s.auth.Reset(c); !errors.Is(err, ctapwire.StatusNotAllowed) {
		t.Fatalf("reset 11 s after power-up: %v", err)
	}
	s.replug()
	s.key.SetPresence(simkey.PresenceDeny)
	if err := s.auth.Reset(c); !errors.Is(err, ctapwire.StatusOperationDenied) {
		t.Fatalf("declined touch: %v", err)
	}
	s.key.SetPresence(simkey.PresenceAuto)
	if err := s.auth.Reset(c); err != nil {
		t.Fatal(err)
	}
	info, err := s.auth.Info(c)
	if err != nil {
		t.Fatal(err)
	}
	if set, _ := info.Option("clientPin"); set {
		t.Error("PIN survived the reset")
	}
}

func testTouchTimeoutAndCancel(t *testing.T, b Backend) {
	s := newBench(t, b, simkey.Config{TouchTimeout: 300 * time.Millisecond}, 3)
	c := ctx(t)
	res := register(t, s, nil, "example.com", []byte("u"), false)
	ad, _ := ctap.ParseAuthData(res.AuthData)
	assert := func(ctx context.Context) error {
		_, err := s.auth.GetAssertion(ctx, ctap.GetAssertionOptions{RPID: "example.com", ClientDataHash: hash("t"),
			AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}}})
		return err
	}
	s.key.SetPresence(simkey.PresenceIgnore)
	if err := assert(c); !errors.Is(err, ctapwire.StatusUserActionTimeout) {
		t.Fatalf("untouched assertion: %v", err)
	}
	s.key.SetPresence(simkey.PresenceManual)
	cctx, cancel := context.WithTimeout(c, 100*time.Millisecond)
	defer cancel()
	if err := assert(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled assertion: %v", err)
	}
	// The key answers afterwards.
	if _, err := s.auth.Info(c); err != nil {
		t.Fatalf("getInfo after cancel: %v", err)
	}
	go func() { time.Sleep(50 * time.Millisecond); s.key.Touch() }()
	if err := assert(c); err != nil {
		t.Fatal(err)
	}
	if b.Lacks[Selection] {
		unsupported(t, "selection", s.auth.Selection(c))
	}
}

// register is one makeCredential on the bench's client.
func register(t *testing.T, s *bench, pin []byte, rpID string, userID []byte, rk bool) *ctap.MakeCredentialResult {
	t.Helper()
	return Register(t, s.auth, pin, rpID, userID, rk)
}

// Register makes one credential for rpID and userID (discoverable when rk),
// with credProtect 1 and hmac-secret, under a PIN token when pin is set. The
// client data hash is SHA-256("client data " + rpID).
func Register(
	t testing.TB,
	auth ctap.Authenticator,
	pin []byte,
	rpID string,
	userID []byte,
	rk bool,
) *ctap.MakeCredentialResult {
	t.Helper()
	c := ctx(t)
	var tok *ctap.PINToken
	if pin != nil {
		var err error
		tok, err = auth.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: rpID})
		if err != nil {
			t.Fatal(err)
		}
		defer tok.Zero()
	}
	res, err := auth.MakeCredential(c, ctap.MakeCredentialOptions{
		ClientDataHash: hash("client data " + rpID),
		RP:             ctap.RelyingParty{ID: rpID, Name: rpID},
		User: ctap.User{
			ID:          userID,
			Name:        "breakglass1@contoso.onmicrosoft.com",
			DisplayName: "Break Glass 1",
		},
		ResidentKey: rk, CredProtect: ctap.CredProtectUVOptional, HMACSecret: true, Token: tok,
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func testMakeCredential(t *testing.T, b Backend) {
	s := newBench(t, b, simkey.Config{}, 3)
	c := ctx(t)
	pin := []byte("4711-0815")
	if err := s.auth.SetPIN(c, pin); err != nil {
		t.Fatal(err)
	}
	res := register(t, s, pin, "login.microsoft.com", []byte("user-1"), true)
	if res.Format != "packed" {
		t.Fatalf("fmt %q", res.Format)
	}
	ad, err := ctap.ParseAuthData(res.AuthData)
	if err != nil {
		t.Fatal(err)
	}
	want := byte(ctapwire.FlagUP | ctapwire.FlagUV | ctapwire.FlagAT | ctapwire.FlagED)
	if !bytes.Equal(ad.RPIDHash[:], hash("login.microsoft.com")) || ad.Flags&want != want ||
		ad.AAGUID != simkey.DefaultAAGUID() {
		t.Fatalf("authData flags %02x AAGUID %v", ad.Flags, ad.AAGUID)
	}
	var ext map[string]any
	if err := ctapwire.Unmarshal(ad.Extensions, &ext); err != nil || ext["credProtect"] != uint64(1) ||
		ext["hmac-secret"] != true {
		t.Fatalf("extensions %v %v", ext, err)
	}
	var stmt struct {
		Alg int      `cbor:"alg"`
		Sig []byte   `cbor:"sig"`
		X5C [][]byte `cbor:"x5c"`
	}
	if err := ctapwire.Unmarshal(res.AttStmt, &stmt); err != nil || stmt.Alg != -7 || len(stmt.X5C) != 1 {
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
	if obj, err := res.AttestationObject(); err != nil || !bytes.Contains(obj, res.AttStmt) {
		t.Fatalf("attestationObject: %v", err)
	}

	tok, err := s.auth.GetPINToken(
		c,
		pin,
		ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: "login.microsoft.com"},
	)
	if err != nil {
		t.Fatal(err)
	}
	as, err := s.auth.GetAssertion(c, ctap.GetAssertionOptions{
		RPID: "login.microsoft.com", ClientDataHash: hash("assert"), Token: tok,
		AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(as[0].Credential.ID, ad.CredentialID) {
		t.Fatal("assertion names another credential")
	}
	if err := ctapwire.VerifySignature(ad.CredentialKey, as[0].AuthData, hash("assert"), as[0].Signature); err != nil {
		t.Fatal(err)
	}
	aad, _ := ctap.ParseAuthData(as[0].AuthData)
	if aad.SignCount <= ad.SignCount || aad.Flags&ctapwire.FlagUV == 0 {
		t.Fatalf("assertion counter %d after %d, flags %02x", aad.SignCount, ad.SignCount, aad.Flags)
	}
	bad := append([]byte(nil), as[0].Signature...)
	bad[len(bad)-1] ^= 1
	if ctapwire.VerifySignature(ad.CredentialKey, as[0].AuthData, hash("assert"), bad) == nil {
		t.Fatal("tampered signature verified")
	}
	// excludeList: the key refuses to register the same credential twice.
	tok2, err := s.auth.GetPINToken(
		c,
		pin,
		ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: "login.microsoft.com"},
	)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.auth.MakeCredential(c, ctap.MakeCredentialOptions{
		ClientDataHash: hash(
			"x",
		), RP: ctap.RelyingParty{ID: "login.microsoft.com"}, User: ctap.User{ID: []byte("user-2"), Name: "u2"},
		ExcludeList: []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}}, Token: tok2,
	})
	if !errors.Is(err, ctapwire.StatusCredentialExcluded) {
		t.Fatalf("excludeList: %v", err)
	}
	// A credential of another key in the excludeList does not stop it.
	if _, err := s.auth.MakeCredential(c, ctap.MakeCredentialOptions{
		ClientDataHash: hash("y"), RP: ctap.RelyingParty{ID: "login.microsoft.com"}, User: ctap.User{ID: []byte("user-3"), Name: "u3"},
		ExcludeList: []ctap.CredentialDescriptor{{Type: "public-key", ID: bytes.Repeat([]byte{7}, 64)}}, Token: tok2,
	}); err != nil {
		t.Fatalf("foreign credential in the excludeList: %v", err)
	}
}

func testResidentKeyNeedsPIN(t *testing.T, b Backend) {
	s := newBench(t, b, simkey.Config{}, 3)
	c := ctx(t)
	if err := s.auth.SetPIN(c, []byte("1234")); err != nil {
		t.Fatal(err)
	}
	_, err := s.auth.MakeCredential(c, ctap.MakeCredentialOptions{
		ClientDataHash: hash(
			"x",
		), RP: ctap.RelyingParty{ID: "login.microsoft.com"}, User: ctap.User{ID: []byte("u"), Name: "u"}, ResidentKey: true,
	})
	if !errors.Is(err, ctapwire.StatusPUATRequired) {
		t.Fatalf("rk without PIN token: %v", err)
	}
	if b.Lacks[RPBoundTokens] {
		return
	}
	tok, _ := s.auth.GetPINToken(
		c,
		[]byte("1234"),
		ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: "example.com"},
	)
	_, err = s.auth.MakeCredential(c, ctap.MakeCredentialOptions{
		ClientDataHash: hash(
			"x",
		), RP: ctap.RelyingParty{ID: "login.microsoft.com"}, User: ctap.User{ID: []byte("u"), Name: "u"}, ResidentKey: true, Token: tok,
	})
	if !errors.Is(err, ctapwire.StatusPINAuthInvalid) {
		t.Fatalf("token bound to another RP: %v", err)
	}
}

func testCredentialManagement(t *testing.T, b Backend) {
	s := newBench(t, b, simkey.Config{}, 3)
	c := ctx(t)
	pin := []byte("1234")
	if err := s.auth.SetPIN(c, pin); err != nil {
		t.Fatal(err)
	}
	r1 := register(t, s, pin, "login.microsoft.com", []byte("user-1"), true)
	register(t, s, pin, "login.microsoft.com", []byte("user-2"), true)
	register(t, s, pin, "example.com", []byte("user-3"), true)
	register(t, s, pin, "example.com", []byte("user-4"), false) // not discoverable: not listed
	tok, err := s.auth.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermCredentialManagement})
	if err != nil {
		t.Fatal(err)
	}
	md, err := s.auth.CredentialsMetadata(c, tok)
	if err != nil || md.Existing != 3 || md.Remaining != 22 {
		t.Fatalf("metadata %+v %v", md, err)
	}
	rps, err := s.auth.RelyingParties(c, tok)
	if err != nil || len(rps) != 2 || rps[0].RP.ID != "login.microsoft.com" || rps[1].RP.ID != "example.com" ||
		!bytes.Equal(rps[0].RPIDHash, hash("login.microsoft.com")) {
		t.Fatalf("RPs %+v %v", rps, err)
	}
	creds, err := s.auth.Credentials(c, tok, hash("login.microsoft.com"))
	if err != nil || len(creds) != 2 || string(creds[0].User.ID) != "user-1" {
		t.Fatalf("credentials %+v %v", creds, err)
	}
	ad, _ := ctap.ParseAuthData(r1.AuthData)
	if !bytes.Equal(creds[0].CredentialID.ID, ad.CredentialID) {
		t.Fatal("enumerated credential differs from the registered one")
	}
	if b.Lacks[CredentialDetails] {
		if creds[0].PublicKey != nil || creds[0].CredProtect != 0 {
			t.Fatal("a backend without credential details invented them")
		}
	} else if !bytes.Equal(creds[0].PublicKey, ad.CredentialKey) || creds[0].CredProtect != 1 {
		t.Fatal("enumerated public key or credProtect differs from the registered one")
	}
	if err := s.auth.DeleteCredential(c, tok, ad.CredentialID); err != nil {
		t.Fatal(err)
	}
	if err := s.auth.DeleteCredential(c, tok, ad.CredentialID); !errors.Is(err, ctapwire.StatusNoCredentials) {
		t.Fatalf("second delete: %v", err)
	}
	creds, _ = s.auth.Credentials(c, tok, hash("login.microsoft.com"))
	if len(creds) != 1 || string(creds[0].User.ID) != "user-2" {
		t.Fatalf("after delete: %+v", creds)
	}
	gone, _ := s.auth.GetPINToken(
		c,
		pin,
		ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: "login.microsoft.com"},
	)
	if _, err := s.auth.GetAssertion(c, ctap.GetAssertionOptions{RPID: "login.microsoft.com", ClientDataHash: hash("g"), Token: gone,
		AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}}}); !errors.Is(
		err,
		ctapwire.StatusNoCredentials,
	) {
		t.Fatalf("assertion with a deleted credential: %v", err)
	}
	gaTok, _ := s.auth.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: "example.com"})
	as, err := s.auth.GetAssertion(
		c,
		ctap.GetAssertionOptions{RPID: "example.com", ClientDataHash: hash("a"), Token: gaTok},
	)
	if err != nil || len(as) != 1 || as[0].User == nil || string(as[0].User.ID) != "user-3" {
		t.Fatalf("discoverable assertion %+v %v", as, err)
	}
	gaTok2, _ := s.auth.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion})
	if _, err := s.auth.CredentialsMetadata(c, gaTok2); err == nil {
		t.Fatal("metadata with a ga-only token succeeded")
	}
}

func testMultipleDiscoverable(t *testing.T, b Backend) {
	s := newBench(t, b, simkey.Config{}, 3)
	c := ctx(t)
	pin := []byte("1234")
	if err := s.auth.SetPIN(c, pin); err != nil {
		t.Fatal(err)
	}
	register(t, s, pin, "example.com", []byte("a"), true)
	register(t, s, pin, "example.com", []byte("b"), true)
	tok, _ := s.auth.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermGetAssertion, RPID: "example.com"})
	as, err := s.auth.GetAssertion(
		c,
		ctap.GetAssertionOptions{RPID: "example.com", ClientDataHash: hash("a"), Token: tok},
	)
	if err != nil {
		t.Fatal(err)
	}
	if b.Lacks[AllAssertions] {
		if len(as) != 1 || as[0].NumberOfCredentials != 0 {
			t.Fatalf("a backend that returns the first assertion only: %+v", as)
		}
		return
	}
	if len(as) != 2 || as[0].NumberOfCredentials != 2 {
		t.Fatalf("%+v", as)
	}
}

func testAuthenticatorConfig(t *testing.T, b Backend) {
	s := newBench(t, b, simkey.Config{}, 3)
	c := ctx(t)
	pin := []byte("1234")
	if err := s.auth.SetPIN(c, pin); err != nil {
		t.Fatal(err)
	}
	tok, err := s.auth.GetPINToken(c, pin, ctap.TokenRequest{Permissions: ctap.PermAuthenticatorConfig})
	if err != nil {
		t.Fatal(err)
	}
	if b.Lacks[AuthenticatorConfig] {
		unsupported(t, "setMinPINLength", s.auth.SetMinPINLength(c, tok, 6, false))
		unsupported(t, "toggleAlwaysUv", s.auth.ToggleAlwaysUV(c, tok))
		return
	}
	if err := s.auth.SetMinPINLength(c, tok, 6, false); err != nil {
		t.Fatal(err)
	}
	info, _ := s.auth.Info(c)
	if info.MinPINLength != 6 || !info.ForcePINChange {
		t.Fatalf(
			"min %d force %v: a 4-digit PIN under a 6 minimum must force a change",
			info.MinPINLength,
			info.ForcePINChange,
		)
	}
	if _, err := s.auth.GetPINToken(c, pin, ctap.TokenRequest{}); !errors.Is(err, ctapwire.StatusPINPolicyViolation) {
		t.Fatalf("token while a change is forced: %v", err)
	}
	if err := s.auth.ChangePIN(c, pin, []byte("12345"), 0); err == nil {
		t.Fatal("5-character PIN accepted under a minimum of 6")
	}
	if err := s.auth.ChangePIN(c, pin, []byte("123456"), 0); err != nil {
		t.Fatal(err)
	}
	tok, err = s.auth.GetPINToken(c, []byte("123456"), ctap.TokenRequest{Permissions: ctap.PermAuthenticatorConfig})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.auth.SetMinPINLength(c, tok, 4, false); !errors.Is(err, ctapwire.StatusPINPolicyViolation) {
		t.Fatalf("lowering the minimum: %v", err)
	}
	if err := s.auth.ToggleAlwaysUV(c, tok); err != nil {
		t.Fatal(err)
	}
	info, _ = s.auth.Info(c)
	if v, _ := info.Option("alwaysUv"); !v {
		t.Fatal("alwaysUv not set")
	}
	if _, err := s.auth.GetAssertion(c, ctap.GetAssertionOptions{RPID: "example.com", ClientDataHash: hash("a")}); !errors.Is(
		err,
		ctapwire.StatusPUATRequired,
	) {
		t.Fatalf("assertion without PIN under alwaysUv: %v", err)
	}
}
