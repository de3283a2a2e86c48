package enroll_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

const (
	appID   = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"
	bgUPN   = "breakglass1@contoso.onmicrosoft.com"
	testPIN = "918273645"
)

// clock is a settable clock for challenge expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Now()} }
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// env is an emulator, an app registration with a certificate, and a client
// signed in through azidentity's real certificate flow.
type env struct {
	emu    *graphemu.Emulator
	clock  *clock
	cred   azcore.TokenCredential
	client *enroll.Client
	userID string
}

func newEnv(t *testing.T, roles ...string) *env {
	t.Helper()
	clk := newClock()
	if len(roles) == 0 {
		roles = []string{"UserAuthenticationMethod.ReadWrite.All", "User.Read.All"}
	}
	ten, err := emulated.Start(emulated.Options{Roles: roles, Now: clk.Now, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ten.Close() })
	return &env{emu: ten.Emu, clock: clk, cred: ten.Cred, client: ten.Client, userID: ten.Emu.Snapshot().Users[0].ID}
}

// newKey returns a simkey with testPIN set.
func newKey(t *testing.T, cfg simkey.Config) (*simkey.Key, ctap.Authenticator) {
	t.Helper()
	cfg.TouchDelay = time.Nanosecond
	k, err := simkey.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := ctap.NewClient(k, ctap.Options{})
	if err := c.SetPIN(context.Background(), []byte(testPIN)); err != nil {
		t.Fatal(err)
	}
	return k, c
}

// makeCredential runs the key side of a registration for the options.
func makeCredential(t *testing.T, c ctap.Authenticator, opts *enroll.CreationOptions) enroll.Credential {
	t.Helper()
	tok, err := c.GetPINToken(context.Background(), []byte(testPIN), ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: enroll.RPID})
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Zero()
	cd := opts.ClientDataJSON()
	mc, err := opts.MakeCredential(cd, tok)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.MakeCredential(context.Background(), mc)
	if err != nil {
		t.Fatal(err)
	}
	ao, _ := res.AttestationObject()
	ad, _ := ctap.ParseAuthData(res.AuthData)
	return enroll.Credential{ID: ad.CredentialID, ClientDataJSON: cd, AttestationObject: ao, AAGUID: ad.AAGUID.String(),
		ClientExtensionResults: map[string]any{"hmacCreateSecret": true}}
}

func TestCertificateCredentialGetsTokenFromEmulator(t *testing.T) {
	e := newEnv(t)
	a, err := enroll.CheckAccess(ctx(t), e.cred)
	if err != nil {
		t.Fatal(err)
	}
	if !a.AppOnly || a.Principal != emulated.AppID || len(a.Permissions) != 2 {
		t.Fatalf("%+v", a)
	}
	// The token came from the emulator's token endpoint, through MSAL.
	var sawToken bool
	for _, r := range e.emu.Requests() {
		sawToken = sawToken || (r.Method == "POST" && strings.HasSuffix(r.Path, "/oauth2/v2.0/token") && r.Status == 200)
	}
	if !sawToken {
		t.Fatal("azidentity did not use the emulator's token endpoint")
	}
}

func TestAccessCheckNamesWhatIsMissing(t *testing.T) {
	e := newEnv(t, "User.Read.All")
	_, err := enroll.CheckAccess(ctx(t), e.cred)
	if !errors.Is(err, enroll.ErrInsufficientAccess) || !strings.Contains(err.Error(), "UserAuthenticationMethod.ReadWrite.All") {
		t.Fatalf("app without the permission: %v", err)
	}
	// Delegated: permission but only Authentication Administrator.
	tok, _ := e.emu.IssueToken(graphemu.TokenClaims{Scp: "UserAuthenticationMethod.ReadWrite.All User.Read.All", UPN: "officer@contoso.onmicrosoft.com",
		Wids: []string{graphemu.RoleAuthenticationAdministrator}})
	_, err = enroll.CheckAccess(ctx(t), staticCred(tok))
	if !errors.Is(err, enroll.ErrInsufficientAccess) || !strings.Contains(err.Error(), "Privileged Authentication Administrator") {
		t.Fatalf("delegated without PAA: %v", err)
	}
	tok, _ = e.emu.IssueToken(graphemu.TokenClaims{Scp: "UserAuthMethod-Passkey.ReadWrite.All", UPN: "officer@contoso.onmicrosoft.com",
		Wids: []string{graphemu.RolePrivilegedAuthenticationAdministrator}})
	if a, err := enroll.CheckAccess(ctx(t), staticCred(tok)); err != nil || a.AppOnly {
		t.Fatalf("delegated with PAA: %v %+v", err, a)
	}
	// And the emulator enforces it too: an Authentication Administrator
	// cannot register a key for a Global Administrator.
	aaTok, _ := e.emu.IssueToken(graphemu.TokenClaims{Scp: "UserAuthenticationMethod.ReadWrite.All User.Read.All", UPN: "officer@contoso.onmicrosoft.com",
		Wids: []string{graphemu.RoleAuthenticationAdministrator}})
	c, _ := enroll.New(staticCred(aaTok), enroll.Options{Root: e.emu.URL(), HTTPClient: e.emu.HTTPClient(), RetryDelay: time.Millisecond})
	if _, err := c.CreationOptions(ctx(t), e.userID, 0); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("Authentication Administrator on a Global Administrator: %v", err)
	}
}

type staticCred string

func (s staticCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestRoundTripWithSimkeyAttestation(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	u, err := e.client.GetUser(c, bgUPN)
	if err != nil || u.ID != e.userID || u.OnPremisesSyncEnabled == nil || *u.OnPremisesSyncEnabled {
		t.Fatalf("%+v %v", u, err)
	}
	opts, err := e.client.CreationOptions(c, u.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if opts.PublicKey.RP.ID != enroll.RPID || !opts.PublicKey.AuthenticatorSelection.RequireResidentKey || opts.PublicKey.Attestation != "direct" {
		t.Fatalf("%+v", opts.PublicKey)
	}
	_, kc := newKey(t, simkey.Config{})
	cred := makeCredential(t, kc, opts)
	m, err := e.client.Register(c, u.ID, "Break glass key 1", cred)
	if err != nil {
		t.Fatal(err)
	}
	if m.AAGUID != simkey.DefaultAAGUID().String() || m.AttestationLevel != "attested" || m.DisplayName != "Break glass key 1" {
		t.Fatalf("%+v", m)
	}
	list, err := e.client.ListFIDO2(c, u.ID)
	if err != nil || len(list) != 1 || list[0].ID != m.ID {
		t.Fatalf("list %+v %v", list, err)
	}
	back, err := e.client.GetFIDO2(c, u.ID, m.ID)
	if err != nil || back.ID != m.ID {
		t.Fatalf("read back %+v %v", back, err)
	}
	// The same challenge is accepted once only.
	if _, err := e.client.Register(c, u.ID, "Break glass key 1b", cred); err == nil {
		t.Fatal("a used challenge was accepted again")
	}
	// A second key: the first one's credential is now on the exclude list.
	opts2, _ := e.client.CreationOptions(c, u.ID, 0)
	if len(opts2.PublicKey.ExcludeCredentials) != 1 {
		t.Fatalf("exclude list %+v", opts2.PublicKey.ExcludeCredentials)
	}
	if err := e.client.DeleteFIDO2(c, u.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.client.DeleteFIDO2(c, u.ID, m.ID); !errors.Is(err, enroll.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	if list, _ := e.client.ListFIDO2(c, u.ID); len(list) != 0 {
		t.Fatalf("after delete: %+v", list)
	}
}

func TestChallengeExpiresAndBetaTimeout(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	opts, err := e.client.CreationOptions(c, e.userID, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, kc := newKey(t, simkey.Config{})
	cred := makeCredential(t, kc, opts)
	e.clock.Add(6 * time.Minute)
	if _, err := e.client.Register(c, e.userID, "Break glass key 1", cred); !errors.Is(err, enroll.ErrChallengeExpired) {
		t.Fatalf("expired challenge: %v", err)
	}
	long, err := e.client.CreationOptions(c, e.userID, 600)
	if err != nil {
		t.Fatal(err)
	}
	if d := long.ChallengeTimeout.Sub(e.clock.Now()); d < 9*time.Hour {
		t.Fatalf("beta challenge lifetime %v", d)
	}
	cred = makeCredential(t, kc, long)
	e.clock.Add(10 * time.Minute) // past any v1.0 challenge, well inside this one
	if _, err := e.client.Register(c, e.userID, "Break glass key 1", cred); err != nil {
		t.Fatalf("long challenge after 10 minutes: %v", err)
	}
	if _, err := e.client.CreationOptions(c, e.userID, 2); err == nil {
		t.Fatal("a 2-minute beta timeout was accepted")
	}
}

func TestEntraPolicyRefusals(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	// A model the key restriction does not allow.
	other, _ := ctap.ParseAAGUID("00112233-4455-6677-8899-aabbccddeeff")
	_, kc := newKey(t, simkey.Config{AAGUID: other})
	opts, _ := e.client.CreationOptions(c, e.userID, 0)
	if _, err := e.client.Register(c, e.userID, "k", makeCredential(t, kc, opts)); err == nil || !strings.Contains(err.Error(), "not allowed") {
		t.Fatalf("AAGUID outside the key restriction: %v", err)
	}
	// Self-service set-up switched off: the known service limitation.
	e.emu.Update(func(st *graphemu.State) { st.FIDO2.IsSelfServiceRegistrationAllowed = false })
	_, kc = newKey(t, simkey.Config{})
	opts, _ = e.client.CreationOptions(c, e.userID, 0)
	if _, err := e.client.Register(c, e.userID, "k", makeCredential(t, kc, opts)); err == nil || !strings.Contains(err.Error(), "self-service") {
		t.Fatalf("self-service off: %v", err)
	}
	if list, _ := e.client.ListFIDO2(c, e.userID); len(list) != 0 {
		t.Fatalf("refused registrations left methods: %+v", list)
	}
}

// Every fault at every call: the operation retries correctly or stops
// clearly, and the account never ends with two methods for one key.
func TestFaultsAtEveryCallNeverDuplicate(t *testing.T) {
	faults := []graphemu.Fault{
		{Kind: graphemu.FaultThrottle, RetryAfter: 0},
		{Kind: graphemu.FaultUnavailable, RetryAfter: 0},
		{Kind: graphemu.FaultSlow, Delay: 200 * time.Millisecond},
		{Kind: graphemu.FaultDropAfterCommit},
	}
	calls := []struct {
		name, method, path string
	}{
		{"user lookup", "GET", "/users/" + bgUPN},
		{"creation options", "GET", "/creationOptions"},
		{"register", "POST", "/fido2Methods"},
		{"list", "GET", "/authentication/fido2Methods"},
		{"delete", "DELETE", "/fido2Methods/"},
	}
	names := map[graphemu.FaultKind]string{graphemu.FaultThrottle: "429", graphemu.FaultUnavailable: "503", graphemu.FaultSlow: "slow", graphemu.FaultDropAfterCommit: "drop-after-commit"}
	for _, call := range calls {
		for _, f := range faults {
			t.Run(call.name+"/"+names[f.Kind], func(t *testing.T) {
				e := newEnv(t)
				c := ctx(t)
				f := f
				f.Method, f.Path = call.method, call.path
				if call.name == "list" {
					f.Count = 1
				}
				_, kc := newKey(t, simkey.Config{})
				armed := false
				arm := func(name string) {
					if name == call.name && !armed {
						e.emu.Inject(f)
						armed = true
					}
				}
				arm("user lookup")
				u, err := e.client.GetUser(c, bgUPN)
				if err != nil {
					t.Fatalf("user lookup: %v", err)
				}
				arm("creation options")
				opts, err := e.client.CreationOptions(c, u.ID, 0)
				if err != nil {
					t.Fatalf("creation options: %v", err)
				}
				cred := makeCredential(t, kc, opts)
				arm("register")
				m, err := e.client.Register(c, u.ID, "Break glass key 1", cred)
				if err != nil {
					t.Fatalf("register: %v", err)
				}
				arm("list")
				list, err := e.client.ListFIDO2(c, u.ID)
				if err != nil {
					t.Fatalf("list: %v", err)
				}
				if len(list) != 1 || list[0].ID != m.ID {
					t.Fatalf("after registering one key the account has %d methods: %+v", len(list), list)
				}
				arm("delete")
				if err := e.client.DeleteFIDO2(c, u.ID, m.ID); err != nil {
					t.Fatalf("delete: %v", err)
				}
				if n := len(e.emu.Snapshot().Methods[u.ID]); n != 0 {
					t.Fatalf("%d methods after delete", n)
				}
				if n := e.emu.PendingFaults(); n != 0 {
					t.Fatalf("the injected fault never fired (%d pending): the test proved nothing", n)
				}
			})
		}
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	e := newEnv(t)
	e.emu.Inject(graphemu.Fault{Method: "GET", Path: "/fido2Methods", Kind: graphemu.FaultThrottle, RetryAfter: time.Second})
	start := time.Now()
	if _, err := e.client.ListFIDO2(ctx(t), e.userID); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("retried after %v, before the 1 s Retry-After", d)
	}
}

func TestPersistentOutageStopsClearly(t *testing.T) {
	e := newEnv(t)
	e.emu.Inject(graphemu.Fault{Method: "GET", Path: "/fido2Methods", Kind: graphemu.FaultUnavailable, Count: 100})
	_, err := e.client.ListFIDO2(ctx(t), e.userID)
	var ge *enroll.GraphError
	if !errors.As(err, &ge) || ge.Status != 503 {
		t.Fatalf("persistent 503: %v", err)
	}
}

func TestPostureReads(t *testing.T) {
	e := newEnv(t, "User.Read.All", "RoleManagement.Read.Directory", "Policy.Read.All", "AuditLog.Read.All", "UserAuthenticationMethod.Read.All")
	c := ctx(t)
	since := time.Now().Add(-24 * time.Hour)
	e.emu.Update(func(st *graphemu.State) {
		st.SignIns = append(st.SignIns,
			graphemu.SignIn{ID: "s1", CreatedDateTime: time.Now().Add(-time.Hour), UserID: e.userID, AppDisplayName: "Azure Portal", IPAddress: "203.0.113.7"},
			graphemu.SignIn{ID: "s0", CreatedDateTime: time.Now().Add(-72 * time.Hour), UserID: e.userID, AppDisplayName: "old"})
		end := time.Now().Add(30 * 24 * time.Hour)
		st.RoleEligibilities = append(st.RoleEligibilities, graphemu.RoleSchedule{ID: "e1", PrincipalID: e.userID, RoleDefinitionID: "fe930be7-5e62-47db-91af-98c3a49a38b1", Status: "Provisioned", EndDateTime: &end})
	})
	roles, err := e.client.RolesOf(c, e.userID)
	if err != nil {
		t.Fatal(err)
	}
	if len(roles.Active) != 1 || roles.Active[0].RoleDefinitionID != graphemu.RoleGlobalAdministrator || len(roles.ActiveSched) != 1 || roles.ActiveSched[0].Expires != nil {
		t.Fatalf("roles %+v", roles)
	}
	if len(roles.Eligible) != 1 || roles.Eligible[0].Expires == nil {
		t.Fatalf("eligible %+v", roles.Eligible)
	}
	ca, err := e.client.ConditionalAccessPolicies(c)
	if err != nil || len(ca) != 2 || ca[0].ExcludeUsers[0] != e.userID || ca[0].State != "enabled" {
		t.Fatalf("CA %+v %v", ca, err)
	}
	// The default tenant's emergency-access policy, conditions and grant
	// controls read: the built-in Phishing-resistant MFA strength.
	if p := ca[1]; p.IncludeUsers[0] != e.userID || !slices.Equal(p.IncludeApps, []string{"All"}) ||
		p.StrengthID != "00000000-0000-0000-0000-000000000004" || !slices.Contains(p.StrengthCombinations, "fido2") ||
		p.GrantOperator != "OR" {
		t.Fatalf("CA policy controls %+v", p)
	}
	pol, err := e.client.FIDO2MethodPolicy(c)
	if err != nil || pol.State != "enabled" || !pol.AttestationEnforced || pol.EnforcementType != "allow" || len(pol.AAGUIDs) < 2 {
		t.Fatalf("FIDO2 policy %+v %v", pol, err)
	}
	sis, err := e.client.SignInsSince(c, e.userID, since)
	if err != nil || len(sis) != 1 || sis[0].App != "Azure Portal" || sis[0].IPAddress != "203.0.113.7" {
		t.Fatalf("sign-ins %+v %v", sis, err)
	}
	ms, err := e.client.AuthenticationMethods(c, e.userID)
	if err != nil || len(ms) != 1 || ms[0].Type != "#microsoft.graph.passwordAuthenticationMethod" {
		t.Fatalf("methods %+v %v", ms, err)
	}
	// Without a permission: a 403 that names what is missing.
	e2 := newEnv(t, "User.Read.All")
	_, err = e2.client.SignInsSince(c, e2.userID, since)
	var ge *enroll.GraphError
	if !errors.As(err, &ge) || ge.Status != 403 || !strings.Contains(ge.Message, "AuditLog.Read.All") {
		t.Fatalf("sign-ins without AuditLog.Read.All: %v", err)
	}
}

// FuzzCreationOptions: Graph's creation options JSON, however hostile,
// gives an error or options that map to a makeCredential for Entra's RP.
func FuzzCreationOptions(f *testing.F) {
	f.Add([]byte(`{"challengeTimeoutDateTime":"2099-01-01T00:00:00Z","publicKey":{"challenge":"Y2hhbGxlbmdl","rp":{"id":"login.microsoft.com"},"user":{"id":"dXNlcg","name":"u"},"pubKeyCredParams":[{"type":"public-key","alg":-7}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var o enroll.CreationOptions
		if json.Unmarshal(data, &o) != nil || o.Validate(time.Now()) != nil {
			return
		}
		mc, err := o.MakeCredential(o.ClientDataJSON(), nil)
		if err == nil && mc.RP.ID != enroll.RPID {
			t.Fatalf("options for %q passed validation", mc.RP.ID)
		}
	})
}

// A sign-in that cannot reach Entra at all (here a loopback port nothing
// listens on) says it is the network and what to check.
func TestSignInWithoutNetworkSaysSo(t *testing.T) {
	ten, err := emulated.Start(emulated.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ten.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	cred, err := enroll.NewCredential(enroll.AuthConfig{TenantID: ten.TenantID, ClientID: emulated.AppID, Mode: enroll.SignInCertificate,
		CertificatePath: ten.CertPath, AuthorityHost: "https://" + dead + "/", HTTPClient: ten.Emu.HTTPClient()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = enroll.CheckAccess(ctx(t), cred)
	if !errors.Is(err, enroll.ErrNoNetwork) || !strings.Contains(err.Error(), "proxy and DNS") {
		t.Fatalf("sign-in without a network: %v", err)
	}
}

// --auth secret: the client-secret credential signs in (against the
// emulator's client-secret grant); the secret comes from a file or the
// environment, never a flag value, and a missing one says where to put it.
func TestClientSecretSignIn(t *testing.T) {
	ten, err := emulated.Start(emulated.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ten.Close()
	file := t.TempDir() + "/secret"
	os.WriteFile(file, []byte(ten.Secret+"\n"), 0o600)
	cfg := enroll.AuthConfig{TenantID: ten.TenantID, ClientID: emulated.AppID, Mode: enroll.SignInSecret, SecretFile: file,
		AuthorityHost: ten.Emu.URL() + "/", HTTPClient: ten.Emu.HTTPClient()}
	cred, err := enroll.NewCredential(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a, err := enroll.CheckAccess(ctx(t), cred); err != nil || !a.AppOnly {
		t.Fatalf("secret sign-in: %v %+v", err, a)
	}
	t.Setenv(enroll.SecretEnv, "")
	cfg.SecretFile = ""
	if _, err := enroll.NewCredential(cfg); err == nil || !strings.Contains(err.Error(), enroll.SecretEnv) {
		t.Fatalf("no secret: %v", err)
	}
	t.Setenv(enroll.SecretEnv, "wrong")
	cred, _ = enroll.NewCredential(cfg)
	// Issue 30: a sentence and what to check, not azidentity's dump of the
	// token endpoint's answer.
	if _, err := enroll.CheckAccess(ctx(t), cred); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") ||
		!strings.Contains(err.Error(), "check client_secret_file") || strings.Contains(err.Error(), "\n") ||
		strings.Contains(err.Error(), "RESPONSE") || strings.Contains(err.Error(), "{") {
		t.Fatalf("wrong secret: %v", err)
	}
}

// Passkey profiles: the emulator serves them in Graph's shape, the client
// reads them and predicts, and the emulator enforces the profile that
// applies to the account's group at registration — the prediction and
// Entra's answer agree. Where no profile applies the legacy restrictions
// (TestEntraPolicyRefusals) still hold.
func TestPasskeyProfilesPredictedAndEnforced(t *testing.T) {
	e := newEnv(t, emulated.DefaultRoles()...)
	c := ctx(t)
	sim := simkey.DefaultAAGUID().String()
	e.emu.Update(func(st *graphemu.State) {
		st.Groups = append(st.Groups, graphemu.Group{ID: "g-tier0", DisplayName: "Tier 0", Members: []string{e.userID}})
		st.FIDO2.IncludeTargetIDs = []string{"all_users", "g-tier0"}
		st.FIDO2.DefaultProfile = "default"
		st.FIDO2.PasskeyProfiles = []graphemu.PasskeyProfile{
			{ID: "default", Name: "Default passkey profile", PasskeyTypes: "deviceBound,synced", AttestationEnforcement: "disabled",
				KeyRestrictionsEnforced: true, EnforcementType: "block", AAGUIDs: []string{sim}},
			{ID: "tier0", Name: "Tier 0 keys", PasskeyTypes: "deviceBound", AttestationEnforcement: "registrationOnly",
				KeyRestrictionsEnforced: true, EnforcementType: "block", AAGUIDs: []string{sim}},
		}
		st.FIDO2.TargetProfiles = map[string][]string{"g-tier0": {"tier0"}}
	})
	pol, err := e.client.FIDO2MethodPolicy(c)
	if err != nil || len(pol.Profiles) != 2 || pol.DefaultProfile != "default" || len(pol.TargetProfiles["g-tier0"]) != 1 {
		t.Fatalf("policy read as %+v (%v)", pol, err)
	}
	groups, err := e.client.GroupsOf(c, e.userID)
	if err != nil || len(groups) != 1 {
		t.Fatalf("groups %v %v", groups, err)
	}
	ok, why := pol.Admits(sim, e.userID, groups)
	if ok || !strings.Contains(why, `"Tier 0 keys"`) || !strings.Contains(why, sim) {
		t.Fatalf("prediction: %v %q", ok, why)
	}
	_, kc := newKey(t, simkey.Config{})
	opts, _ := e.client.CreationOptions(c, e.userID, 0)
	if _, err := e.client.Register(c, e.userID, "k", makeCredential(t, kc, opts)); err == nil || !strings.Contains(err.Error(), "Tier 0 keys") {
		t.Fatalf("Entra's answer: %v", err)
	}
	// Allow the model in the Tier 0 profile: predicted and registered.
	e.emu.Update(func(st *graphemu.State) { st.FIDO2.PasskeyProfiles[1].EnforcementType = "allow" })
	pol, _ = e.client.FIDO2MethodPolicy(c)
	if ok, why := pol.Admits(sim, e.userID, groups); !ok {
		t.Fatalf("allowed model predicted refused: %s", why)
	}
	_, kc = newKey(t, simkey.Config{})
	opts, _ = e.client.CreationOptions(c, e.userID, 0)
	if _, err := e.client.Register(c, e.userID, "k", makeCredential(t, kc, opts)); err != nil {
		t.Fatalf("allowed by its profile, refused by the emulator: %v", err)
	}
}

// A method is adopted by its credential, never by its name alone (Graph
// lists the user's registered credential IDs in the creation options'
// excludeCredentials: learn.microsoft.com/en-us/graph/api/resources/
// webauthnpublickeycredentialcreationoptions): registering a credential
// that is already registered under our name adopts that method and posts
// nothing; another key's method with our name is a named conflict, and
// nothing is posted; asking with ID and AAGUID only finds or says
// ErrNotFound.
func TestRegisterAdoptsByCredentialNotName(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	_, k1 := newKey(t, simkey.Config{})
	_, k2 := newKey(t, simkey.Config{})
	opts1, err := e.client.CreationOptions(c, e.userID, 0)
	if err != nil {
		t.Fatal(err)
	}
	cred1 := makeCredential(t, k1, opts1)
	first, err := e.client.Register(c, e.userID, "Break glass key 1", cred1)
	if err != nil || first.Adopted {
		t.Fatalf("first registration: %+v %v", first, err)
	}
	// The same credential again (a rerun after a kill): adopted, not posted.
	again, err := e.client.Register(c, e.userID, "Break glass key 1", cred1)
	if err != nil || !again.Adopted || again.ID != first.ID {
		t.Fatalf("rerun: %+v %v", again, err)
	}
	asked, err := e.client.Register(c, e.userID, "Break glass key 1",
		enroll.Credential{ID: cred1.ID, AAGUID: cred1.AAGUID})
	if err != nil || asked.ID != first.ID {
		t.Fatalf("asking by credential: %+v %v", asked, err)
	}
	// Another key under the same name: a conflict named to the officers.
	opts2, _ := e.client.CreationOptions(c, e.userID, 0)
	cred2 := makeCredential(t, k2, opts2)
	if _, err := e.client.Register(c, e.userID, "Break glass key 1", cred2); err == nil ||
		!strings.Contains(err.Error(), "another key's") || !strings.Contains(err.Error(), first.ID) {
		t.Fatalf("another key under our name: %v", err)
	}
	query := enroll.Credential{ID: cred2.ID, AAGUID: cred2.AAGUID}
	if _, err := e.client.Register(c, e.userID, "Break glass key 2", query); !errors.Is(err, enroll.ErrNotFound) {
		t.Fatalf("asking for an unregistered credential: %v", err)
	}
	if n := len(e.emu.Snapshot().Methods[e.userID]); n != 1 {
		t.Fatalf("%d methods, want the one registration", n)
	}
	if _, err := e.client.Register(c, e.userID, "Break glass key 2", cred2); err != nil {
		t.Fatal(err)
	}
}
