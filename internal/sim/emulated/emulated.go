package emulated

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/sim/graphemu"
)

// AppID is the client ID of the emulated app registration.
const AppID = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0"

// DefaultRoles are the application permissions a ceremony needs, read and write.
func DefaultRoles() []string {
	return []string{"UserAuthenticationMethod.ReadWrite.All", "User.Read.All", "RoleManagement.Read.Directory",
		"Policy.Read.All", "AuditLog.Read.All", "GroupMember.Read.All", "Domain.Read.All", "Organization.Read.All",
		"PrivilegedEligibilitySchedule.Read.AzureADGroup", "PrivilegedAssignmentSchedule.Read.AzureADGroup"}
}

// Options configure the emulated tenant.
type Options struct {
	Roles      []string         // app permissions (default DefaultRoles())
	Now        func() time.Time // emulator clock
	Dir        string           // where the app certificate is written (required)
	RetryDelay time.Duration    // client back-off (default 10 ms: rehearsals are local)
	Emulator   graphemu.Config  // further emulator settings
	Listen     string           // loopback address (default 127.0.0.1:0)
}

// Tenant is a running emulator and a client signed in to it.
type Tenant struct {
	Emu      *graphemu.Emulator
	Client   *enroll.Client
	Cred     azcore.TokenCredential
	TenantID string
	CertPath string
	// Secret is the emulated app's client secret (for the client-secret
	// grant most public scripts use). TEST tenant only.
	Secret string
}

// Start runs the emulator on loopback and signs in.
func Start(o Options) (*Tenant, error) {
	if o.Roles == nil {
		o.Roles = DefaultRoles()
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = 10 * time.Millisecond
	}
	cfg := o.Emulator
	if o.Now != nil {
		cfg.Now = o.Now
	}
	emu, err := graphemu.New(cfg)
	if err != nil {
		return nil, err
	}
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if err := emu.Start(o.Listen); err != nil {
		return nil, err
	}
	certPath, err := appCertificate(emu, o.Dir, o.Roles)
	if err != nil {
		emu.Close()
		return nil, err
	}
	snap := emu.Snapshot()
	secretText := "" // a restarted emulator keeps the secret it gave out
	for _, a := range snap.Apps {
		if a.ClientID == AppID {
			secretText = a.Secret
		}
	}
	if secretText == "" {
		secret := make([]byte, 24)
		if _, err := rand.Read(secret); err != nil {
			emu.Close()
			return nil, err
		}
		secretText = "kc-test~" + base64.RawURLEncoding.EncodeToString(secret)
		emu.SetAppSecret(AppID, secretText)
	}
	tenantID := snap.TenantID
	cred, err := enroll.NewCredential(
		enroll.AuthConfig{TenantID: tenantID, ClientID: AppID, Mode: enroll.SignInCertificate,
			CertificatePath: certPath, AuthorityHost: emu.URL() + "/", HTTPClient: emu.HTTPClient()},
	)
	if err != nil {
		emu.Close()
		return nil, err
	}
	client, err := enroll.New(
		cred,
		enroll.Options{Root: emu.URL(), HTTPClient: emu.HTTPClient(), RetryDelay: o.RetryDelay, Now: cfg.Now},
	)
	if err != nil {
		emu.Close()
		return nil, err
	}
	return &Tenant{
		Emu:      emu,
		Client:   client,
		Cred:     cred,
		TenantID: tenantID,
		CertPath: certPath,
		Secret:   secretText,
	}, nil
}

// Close stops the emulator.
func (t *Tenant) Close() error { return t.Emu.Close() }

// appKey is the emulated app's RSA-2048 key (Entra takes RSA client
// certificates), made once per process: making it took most of a
// rehearsal's CPU time, and a TEST tenant's app key protects nothing.
var appKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

// appCertificate registers an app with an RSA certificate and writes the
// certificate and key (PEM, 0600) for azidentity. A certificate already in
// dir (an emulator restarted with the same --dir) is registered again as
// it is, so clients holding that file still sign in.
func appCertificate(emu *graphemu.Emulator, dir string, roles []string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("emulated: a directory for the app certificate is required")
	}
	path := filepath.Join(dir, "emulated-app.pem")
	if cert := existingAppCertificate(path); cert != nil {
		emu.RegisterApp(AppID, cert, roles)
		return path, nil
	}
	k, err := appKey()
	if err != nil {
		return "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "keyceremony emulated app"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(7 * 24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return "", err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return "", err
	}
	kd, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return "", err
	}
	data := append(
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
	// Written whole (temporary file, rename) before it is registered: a
	// crash never leaves a registered certificate without its file.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return "", fmt.Errorf("write the emulated app's certificate: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", fmt.Errorf("write the emulated app's certificate: %w", err)
	}
	emu.RegisterApp(AppID, cert, roles)
	return path, nil
}

// existingAppCertificate returns the certificate of a whole, unexpired
// certificate-and-key file at path, or nil.
func existingAppCertificate(path string) *x509.Certificate {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var cert *x509.Certificate
	var key any
	for blk, rest := pem.Decode(b); blk != nil; blk, rest = pem.Decode(rest) {
		switch blk.Type {
		case "CERTIFICATE":
			cert, _ = x509.ParseCertificate(blk.Bytes)
		case "PRIVATE KEY":
			key, _ = x509.ParsePKCS8PrivateKey(blk.Bytes)
		}
	}
	k, ok := key.(*rsa.PrivateKey)
	if cert == nil || !ok || !k.PublicKey.Equal(cert.PublicKey) || time.Now().After(cert.NotAfter.Add(-time.Hour)) {
		return nil
	}
	return cert
}

// AddAccount adds the n-th break-glass account (n ≥ 2) to the emulated
// tenant, set up as well as the first, and returns its UPN.
func (t *Tenant) AddAccount(n int) string {
	first := t.Emu.Snapshot().Users[0]
	u := *first
	u.ID = fmt.Sprintf("4e0f5b56-1f7a-4d2c-9b7e-6b3c1a2d9e%02d", n)
	u.UserPrincipalName = fmt.Sprintf("breakglass%d@contoso.onmicrosoft.com", n)
	u.DisplayName = fmt.Sprintf("Break Glass %d", n)
	t.Emu.Update(func(s *graphemu.State) {
		s.Users = append(s.Users, &u)
		s.OtherMethods[u.ID] = s.OtherMethods[first.ID]
		s.RoleAssignments = append(s.RoleAssignments, graphemu.RoleAssignment{ID: "ra-" + u.ID, PrincipalID: u.ID,
			RoleDefinitionID: graphemu.RoleGlobalAdministrator, DirectoryScopeID: "/"})
		s.AssignmentSched = append(s.AssignmentSched, graphemu.RoleSchedule{ID: "ras-" + u.ID, PrincipalID: u.ID,
			RoleDefinitionID: graphemu.RoleGlobalAdministrator, DirectoryScopeID: "/", Status: "Provisioned"})
		for i := range s.CAPolicies {
			p := &s.CAPolicies[i]
			if slices.Contains(p.IncludeUsers, first.ID) { // the policy that protects the first account
				p.IncludeUsers = append(p.IncludeUsers, u.ID)
			} else {
				p.ExcludeUsers = append(p.ExcludeUsers, u.ID)
			}
		}
	})
	return u.UserPrincipalName
}
