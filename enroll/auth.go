package enroll

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// graphScope is the scope a Graph token of the global cloud is requested
// for; the Graph emulator stands in for that cloud and takes it too.
const graphScope = "https://graph.microsoft.com/.default"

// clouds are Microsoft's clouds: where each signs in and serves Graph, to
// recognise them (the config resolves a cloud's name to the same hosts).
// The authority hosts are azidentity's (github.com/Azure/azure-sdk-for-go,
// sdk/azcore/cloud/cloud.go: AzurePublic, AzureGovernment, AzureChina);
// the Graph roots are Microsoft's "Microsoft Graph national cloud
// deployments" (https://learn.microsoft.com/graph/deployments): global,
// US Government L4, US Government L5 (DOD), China operated by 21Vianet.
var clouds = []struct{ authority, graph string }{
	{"https://login.microsoftonline.com/", "https://graph.microsoft.com"},
	{"https://login.microsoftonline.us/", "https://graph.microsoft.us"},
	{"https://login.microsoftonline.us/", "https://dod-graph.microsoft.us"},
	{"https://login.chinacloudapi.cn/", "https://microsoftgraph.chinacloudapi.cn"},
}

// scopeFor is the scope a token for the Graph at root is requested for.
// A national cloud's Graph takes only its own domain ("Access national
// cloud deployments with the Microsoft Graph SDKs", Permission scopes:
// https://learn.microsoft.com/graph/sdks/national-clouds); any other root
// (the emulator) is taken as the global cloud's stand-in.
func scopeFor(root string) string {
	for _, c := range clouds {
		if strings.TrimSuffix(root, "/") == c.graph {
			return c.graph + "/.default"
		}
	}
	return graphScope
}

// isMicrosoftAuthority says whether host is the authority of one of
// Microsoft's clouds (instance discovery stays on for it).
func isMicrosoftAuthority(host string) bool {
	for _, c := range clouds {
		if host == c.authority || host+"/" == c.authority {
			return true
		}
	}
	return false
}

// Sign-in modes.
const (
	SignInDeviceCode  = "device-code" // the officer completes sign-in on another device (default)
	SignInBrowser     = "browser"     // interactive browser on this machine
	SignInCertificate = "certificate" // app-only, with an app registration's certificate
	SignInSecret      = "secret"      // app-only, with a client secret (weaker than a certificate)
)

// SecretEnv is the environment variable a client secret may come from.
const SecretEnv = "KEYCEREMONY_CLIENT_SECRET"

// SecretDeviation is what a report records when the sign-in used a secret.
const SecretDeviation = "signed in to Microsoft Graph with a client secret: " +
	"a certificate (auth \"certificate\") is the stronger choice, as a secret can be copied without trace"

// AuthConfig says how to sign in to Entra ID.
type AuthConfig struct {
	TenantID string
	ClientID string
	Mode     string // SignInDeviceCode (default), SignInBrowser or SignInCertificate
	// CertificatePath is a PEM (or PKCS#12) file with the app's certificate
	// and private key, for SignInCertificate.
	CertificatePath     string
	CertificatePassword []byte
	// SecretFile holds the client secret for SignInSecret; without it the
	// secret comes from the SecretEnv variable. Never a command-line value.
	SecretFile string
	// AuthorityHost overrides https://login.microsoftonline.com/: a
	// national cloud's (Cloud), or another (the emulator), for which
	// instance discovery is then off.
	AuthorityHost string
	// HTTPClient carries the sign-in requests (the emulator's trusted CA).
	HTTPClient *http.Client
	// DeviceCodePrompt shows the device-code message to the officer.
	DeviceCodePrompt func(message string)
}

// NewCredential returns a token credential for cfg. No token is written to
// disk: azidentity keeps it in memory for this process only.
func NewCredential(cfg AuthConfig) (azcore.TokenCredential, error) {
	if cfg.TenantID == "" || cfg.ClientID == "" {
		return nil, errors.New("sign-in needs a tenant ID and a client ID")
	}
	opts := azcore.ClientOptions{}
	disableDiscovery := false
	if cfg.AuthorityHost != "" {
		opts.Cloud = cloud.Configuration{ActiveDirectoryAuthorityHost: cfg.AuthorityHost}
		disableDiscovery = !isMicrosoftAuthority(cfg.AuthorityHost)
	}
	if cfg.HTTPClient != nil {
		opts.Transport = cfg.HTTPClient
	}
	switch cfg.Mode {
	case "", SignInDeviceCode:
		prompt := cfg.DeviceCodePrompt
		if prompt == nil {
			prompt = func(m string) { fmt.Fprintln(os.Stderr, m) }
		}
		return azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
			ClientOptions: opts, TenantID: cfg.TenantID, ClientID: cfg.ClientID,
			DisableInstanceDiscovery: disableDiscovery,
			UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
				prompt(m.Message)
				return nil
			},
		})
	case SignInBrowser:
		return azidentity.NewInteractiveBrowserCredential(&azidentity.InteractiveBrowserCredentialOptions{
			ClientOptions: opts, TenantID: cfg.TenantID, ClientID: cfg.ClientID,
			DisableInstanceDiscovery: disableDiscovery,
		})
	case SignInCertificate:
		data, err := os.ReadFile(cfg.CertificatePath)
		if err != nil {
			return nil, fmt.Errorf("app certificate: %w", err)
		}
		certs, key, err := azidentity.ParseCertificates(data, cfg.CertificatePassword)
		if err != nil {
			return nil, fmt.Errorf("app certificate %s: %w", cfg.CertificatePath, err)
		}
		return azidentity.NewClientCertificateCredential(
			cfg.TenantID,
			cfg.ClientID,
			certs,
			key,
			&azidentity.ClientCertificateCredentialOptions{
				ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery,
			},
		)
	case SignInSecret:
		secret, err := readSecret(cfg.SecretFile)
		if err != nil {
			return nil, err
		}
		return azidentity.NewClientSecretCredential(
			cfg.TenantID,
			cfg.ClientID,
			secret,
			&azidentity.ClientSecretCredentialOptions{
				ClientOptions: opts, DisableInstanceDiscovery: disableDiscovery,
			},
		)
	}
	return nil, fmt.Errorf(
		"sign-in mode %q: want %s, %s, %s or %s",
		cfg.Mode,
		SignInDeviceCode,
		SignInBrowser,
		SignInCertificate,
		SignInSecret,
	)
}

// Graph permissions and Entra roles that can manage FIDO2 methods.
var (
	writePermissions = []string{"UserAuthenticationMethod.ReadWrite.All", "UserAuthMethod-Passkey.ReadWrite.All"}
	// A break-glass account holds Global Administrator: only the privileged
	// role may manage its methods in delegated use.
	roleNames = map[string]string{
		"7be44c8a-adaf-4e2a-84d6-ab2649e08a13": "Privileged Authentication Administrator",
		"c4e39bd9-1100-46d3-8c65-fb160da0071f": "Authentication Administrator",
	}
	privilegedAuthAdmin = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
)

// access is what the signed-in principal may do, read from its token.
type access struct {
	AppOnly     bool     `json:"app_only"`
	Principal   string   `json:"principal"` // UPN, or app ID
	Permissions []string `json:"permissions"`
	Roles       []string `json:"roles,omitempty"` // directory role template IDs (delegated)
}

// ErrInsufficientAccess is wrapped when the principal cannot do the job.
var ErrInsufficientAccess = errors.New("the signed-in principal cannot manage the account's FIDO2 methods")

// checkAccess gets a Graph token and checks, before anything else, that it
// carries UserAuthenticationMethod.ReadWrite.All or
// UserAuthMethod-Passkey.ReadWrite.All, and in delegated use the Privileged
// Authentication Administrator role. The error says exactly what is missing.
func checkAccess(ctx context.Context, cred azcore.TokenCredential, scope string) (*access, error) {
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		return nil, signInError(err)
	}
	claims, err := tokenClaims(tok.Token)
	if err != nil {
		return nil, err
	}
	a := &access{AppOnly: claims.Scp == ""}
	if a.AppOnly {
		a.Principal, a.Permissions = claims.AppID, claims.Roles
	} else {
		a.Principal, a.Permissions, a.Roles = claims.UPN, strings.Fields(claims.Scp), claims.Wids
	}
	var missing []string
	if !slices.ContainsFunc(writePermissions, func(p string) bool { return slices.Contains(a.Permissions, p) }) {
		kind := "application"
		if !a.AppOnly {
			kind = "delegated"
		}
		missing = append(
			missing,
			fmt.Sprintf(
				"the %s Graph permission %s or %s (admin-consented)",
				kind,
				writePermissions[0],
				writePermissions[1],
			),
		)
	}
	if !a.AppOnly && !slices.Contains(a.Roles, privilegedAuthAdmin) {
		missing = append(
			missing,
			fmt.Sprintf(
				"the Entra role %s, active for %s (the break-glass account holds an admin role, so %s is not enough)",
				roleNames[privilegedAuthAdmin],
				a.Principal,
				roleNames["c4e39bd9-1100-46d3-8c65-fb160da0071f"],
			),
		)
	}
	if len(missing) > 0 {
		return a, fmt.Errorf("%w: missing %s", ErrInsufficientAccess, strings.Join(missing, "; and "))
	}
	return a, nil
}

// accessClaims are the access-token claims checkAccess reads.
type accessClaims struct {
	AppID string   `json:"appid"`
	Roles []string `json:"roles"`
	Scp   string   `json:"scp"`
	Wids  []string `json:"wids"`
	UPN   string   `json:"upn"`
}

// tokenClaims reads the payload of our own access token. The signature is
// Entra's business and Graph's to check; we only read what we were granted.
func tokenClaims(token string) (*accessClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("the access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("access token payload: %w", err)
	}
	var c accessClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("access token payload: %w", err)
	}
	return &c, nil
}

// errNoNetwork is wrapped when sign-in could not reach Entra ID at all.
var errNoNetwork = errors.New("cannot reach Microsoft Entra ID")

// signInError says, for a sign-in that failed on the network (no route, no
// DNS, refused, timed out), that it was the network and what to check.
func signInError(err error) error {
	var netErr net.Error
	var dnsErr *net.DNSError
	var opErr *net.OpError
	// azidentity keeps the cause only as text: read that too.
	text := err.Error()
	networky := strings.Contains(text, "dial tcp") || strings.Contains(text, "no such host") ||
		strings.Contains(text, "connection refused") ||
		strings.Contains(text, "network is unreachable") ||
		strings.Contains(text, "i/o timeout")
	if networky || errors.As(err, &dnsErr) || errors.As(err, &opErr) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return fmt.Errorf(
			"sign in: %w (%v): check the workstation's network, proxy and DNS for login.microsoftonline.com "+
				"and graph.microsoft.com, or use the offline split (keyceremony offline -h)",
			errNoNetwork,
			err,
		)
	}
	if m := aadsts.FindStringSubmatch(text); m != nil {
		return &refusedSignIn{code: m[1], text: strings.TrimSpace(m[2]), err: err}
	}
	return fmt.Errorf("sign in: %w", err)
}

// aadsts finds Entra's error code and its first sentence in azidentity's
// dump of the token endpoint's answer (its error_description, before
// "Trace ID"). Codes: https://learn.microsoft.com/en-us/entra/identity-platform/reference-error-codes
var aadsts = regexp.MustCompile(`AADSTS(\d+): ((?:[^"\\\r\n.]|\.[^ "\\\r\n])*\.?)`)

// refusedSignIn is a sign-in Entra ID refused, said as a sentence and what
// to check instead of the token endpoint's dump (which stays in Unwrap).
type refusedSignIn struct {
	code, text string
	err        error
}

// Error implements error.
func (e *refusedSignIn) Error() string {
	check := "check tenant_id, client_id and the app's certificate or secret in the config, " +
		"and the app registration in Entra"
	switch e.code {
	case "700016", "90002", "900023", "90023":
		check = "check tenant_id and client_id in the config: " +
			"the app registration's Directory (tenant) ID and Application (client) ID"
	case "7000215", "7000222", "7000218":
		check = "the client secret is wrong or expired: check client_secret_file (or the app registration's secrets)"
	case "700027", "700024", "7000274":
		check = "the certificate is not one registered for the app: " +
			"check certificate in the config and the app registration's certificates"
	case "65001":
		check = "the app has no admin consent in this tenant: grant it in the app registration's API permissions"
	}
	return fmt.Sprintf("sign in: Entra ID refused the sign-in (AADSTS%s: %s); %s", e.code, e.text, check)
}

// Unwrap returns azidentity's error.
func (e *refusedSignIn) Unwrap() error { return e.err }

// readSecret reads a client secret from a file (its first line), or else
// from the SecretEnv variable.
func readSecret(path string) (string, error) {
	if path != "" {
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("client secret: %w", err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if s := strings.TrimSpace(line); s != "" {
			return s, nil
		}
		return "", fmt.Errorf("client secret file %s is empty", path)
	}
	if s := strings.TrimSpace(os.Getenv(SecretEnv)); s != "" {
		return s, nil
	}
	return "", fmt.Errorf(
		"auth secret needs the client secret in a file (client_secret_file in the config, --client-secret-file) "+
			"or in %s; never on the command line",
		SecretEnv,
	)
}

// Connect signs in as a says and returns the Graph client of root (default
// DefaultRoot); notice hears first when sign-in or Graph is no Microsoft
// cloud's (the emulator). With caFile, sign-in and Graph trust that CA alone (the
// emulator's). With write, it first checks that the principal may write
// authentication methods (checkAccess) and tells notice who signed in;
// notice also shows the device code when a has no prompt of its own.
func Connect(ctx context.Context, a AuthConfig, root, caFile string, write bool, notice io.Writer) (*Client, error) {
	if caFile != "" {
		pemData, err := os.ReadFile(caFile)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return nil, fmt.Errorf("%s holds no certificate", caFile)
		}
		a.HTTPClient = &http.Client{
			Timeout:   60 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		}
	}
	if a.DeviceCodePrompt == nil {
		a.DeviceCodePrompt = func(m string) { fmt.Fprintln(notice, m) }
	}
	if redirected(a.AuthorityHost, root) {
		fmt.Fprintf(notice, "DEVIATION: sign-in (%s) and Graph (%s) are NOT a Microsoft cloud's: "+
			"an emulator, for rehearsals and tests\n", a.AuthorityHost, orDefaultRoot(root))
	}
	cred, err := NewCredential(a)
	if err != nil {
		return nil, err
	}
	if write {
		acc, err := checkAccess(ctx, cred, scopeFor(orDefaultRoot(root)))
		if err != nil {
			return nil, err
		}
		kind := "delegated"
		if acc.AppOnly {
			kind = "app-only"
		}
		fmt.Fprintf(notice, "Signed in as %s (%s)\n", acc.Principal, kind)
	}
	return New(cred, Options{Root: root, HTTPClient: a.HTTPClient})
}

// redirected says whether the authority host or the Graph root ("" for
// the global cloud's) is no Microsoft cloud's.
func redirected(authority, root string) bool {
	root = orDefaultRoot(root)
	return (scopeFor(root) == graphScope && strings.TrimSuffix(root, "/") != DefaultRoot) ||
		(authority != "" && !isMicrosoftAuthority(authority))
}

// orDefaultRoot is root, or DefaultRoot when it is empty.
func orDefaultRoot(root string) string {
	if root == "" {
		return DefaultRoot
	}
	return root
}
