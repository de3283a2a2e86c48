package graphemu

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Entra role template IDs the emulator checks for delegated writes.
const (
	RoleAuthenticationAdministrator           = "c4e39bd9-1100-46d3-8c65-fb160da0071f"
	RolePrivilegedAuthenticationAdministrator = "7be44c8a-adaf-4e2a-84d6-ab2649e08a13"
)

// TokenClaims are the access-token claims the emulator issues and checks.
type TokenClaims struct {
	jwt.RegisteredClaims
	TenantID string   `json:"tid"`
	AppID    string   `json:"appid,omitempty"`
	Roles    []string `json:"roles,omitempty"` // application permissions
	Scp      string   `json:"scp,omitempty"`   // delegated permissions, space-separated
	Wids     []string `json:"wids,omitempty"`  // the signed-in user's directory roles
	OID      string   `json:"oid,omitempty"`
	UPN      string   `json:"upn,omitempty"`
}

// IssueToken signs an access token for Graph with the emulator's key.
// Tests use it for delegated sign-ins; the token endpoint for app-only ones.
func (e *Emulator) IssueToken(c TokenClaims) (string, error) {
	now := e.cfg.Now()
	c.Audience = jwt.ClaimStrings{"https://graph.microsoft.com"}
	c.Issuer = "https://sts.windows.net/" + e.st.TenantID + "/"
	c.IssuedAt, c.NotBefore, c.ExpiresAt = jwt.NewNumericDate(now), jwt.NewNumericDate(now.Add(-time.Minute)), jwt.NewNumericDate(now.Add(time.Hour))
	if c.TenantID == "" {
		c.TenantID = e.st.TenantID
	}
	return jwt.NewWithClaims(jwt.SigningMethodES256, c).SignedString(e.tokenKey)
}

// RegisterApp lets an app sign in with a client certificate and grants it
// application permissions. Registering a client ID again (an emulator
// restarted on its state file) replaces its certificate and permissions
// and keeps its secret: the first registration used to shadow the new one,
// and a restarted emulator refused the certificate it had just written.
func (e *Emulator) RegisterApp(clientID string, cert *x509.Certificate, roles []string) {
	e.Update(func(st *State) {
		for i := range st.Apps {
			if st.Apps[i].ClientID == clientID {
				st.Apps[i].CertDER, st.Apps[i].Roles = cert.Raw, roles
				return
			}
		}
		st.Apps = append(st.Apps, App{ClientID: clientID, CertDER: cert.Raw, Roles: roles})
	})
}

// SetAppSecret gives a registered app a client secret (Entra app
// registrations may have both certificates and secrets).
func (e *Emulator) SetAppSecret(clientID, secret string) {
	e.Update(func(st *State) {
		for i := range st.Apps {
			if st.Apps[i].ClientID == clientID {
				st.Apps[i].Secret = secret
			}
		}
	})
}

// openIDConfiguration answers MSAL's authority discovery.
func (e *Emulator) openIDConfiguration(w http.ResponseWriter, tenant string) {
	base := e.url + "/" + tenant
	writeJSON(w, http.StatusOK, map[string]any{
		"token_endpoint":                        base + "/oauth2/v2.0/token",
		"authorization_endpoint":                base + "/oauth2/v2.0/authorize",
		"device_authorization_endpoint":         base + "/oauth2/v2.0/devicecode",
		"issuer":                                e.url + "/" + e.st.TenantID + "/v2.0",
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
		"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
		"tenant_region_scope":                   "EU",
	})
}

// token is the client-credentials grant (Microsoft identity platform,
// "OAuth 2.0 client credentials flow"): with a certificate assertion, as
// azidentity's ClientCertificateCredential sends it, or with a client
// secret, as most public scripts do (Yubico's bulk registration scripts
// post grant_type, client_id, client_secret and scope).
func (e *Emulator) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, "invalid_request", err.Error())
		return
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		oauthError(w, "unsupported_grant_type", "AADSTS70003: the emulator supports the client credentials grant")
		return
	}
	clientID := r.PostForm.Get("client_id")
	if secret := r.PostForm.Get("client_secret"); secret != "" {
		e.tokenForSecret(w, clientID, secret)
		return
	}
	if r.PostForm.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		oauthError(w, "invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return
	}
	app := e.app(clientID)
	if app == nil {
		oauthError(w, "unauthorized_client", "AADSTS700016: application "+clientID+" was not found in the directory")
		return
	}
	cert, err := x509.ParseCertificate(app.CertDER)
	if err != nil {
		oauthError(w, "invalid_client", "bad registered certificate")
		return
	}
	var claims jwt.RegisteredClaims
	_, err = jwt.ParseWithClaims(r.PostForm.Get("client_assertion"), &claims, func(t *jwt.Token) (any, error) {
		if !thumbprintMatches(t, cert) {
			return nil, fmt.Errorf("AADSTS700027: the assertion's certificate thumbprint is not registered for the app")
		}
		return cert.PublicKey, nil
	}, jwt.WithValidMethods([]string{"RS256", "PS256", "ES256"}), jwt.WithTimeFunc(e.cfg.Now), jwt.WithLeeway(5*time.Minute))
	if err != nil {
		oauthError(w, "invalid_client", "AADSTS700027: client assertion failed validation: "+err.Error())
		return
	}
	if claims.Issuer != clientID || claims.Subject != clientID || len(claims.Audience) == 0 || !strings.HasSuffix(claims.Audience[0], "/oauth2/v2.0/token") {
		oauthError(w, "invalid_client", "AADSTS700023: client assertion issuer, subject or audience is wrong")
		return
	}
	e.appToken(w, app)
}

// appToken answers a successful client-credentials grant with an app-only
// token carrying the app's permissions.
func (e *Emulator) appToken(w http.ResponseWriter, app *App) {
	tok, err := e.IssueToken(TokenClaims{AppID: app.ClientID, Roles: app.Roles})
	if err != nil {
		oauthError(w, "server_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": tok})
}

// app returns a copy of the registered app, or nil.
func (e *Emulator) app(clientID string) *App {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, a := range e.st.Apps {
		if a.ClientID == clientID {
			return &a
		}
	}
	return nil
}

// tokenForSecret answers the client-secret grant.
func (e *Emulator) tokenForSecret(w http.ResponseWriter, clientID, secret string) {
	app := e.app(clientID)
	switch {
	case app == nil:
		oauthError(w, "unauthorized_client", "AADSTS700016: application "+clientID+" was not found in the directory")
		return
	case app.Secret == "" || subtle.ConstantTimeCompare([]byte(app.Secret), []byte(secret)) != 1:
		oauthError(w, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
		return
	}
	e.appToken(w, app)
}

// thumbprintMatches compares the assertion's x5t (SHA-1) or x5t#S256 with cert.
func thumbprintMatches(t *jwt.Token, cert *x509.Certificate) bool {
	if v, ok := t.Header["x5t#S256"].(string); ok {
		s := sha256.Sum256(cert.Raw)
		return v == base64.RawURLEncoding.EncodeToString(s[:]) || v == base64.URLEncoding.EncodeToString(s[:]) || v == base64.StdEncoding.EncodeToString(s[:])
	}
	if v, ok := t.Header["x5t"].(string); ok {
		s := sha1.Sum(cert.Raw)
		return v == base64.RawURLEncoding.EncodeToString(s[:]) || v == base64.URLEncoding.EncodeToString(s[:]) || v == base64.StdEncoding.EncodeToString(s[:])
	}
	return false
}

func oauthError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": code, "error_description": desc})
}

// caller is the authenticated principal of a Graph request.
type caller struct {
	claims TokenClaims
}

func (c caller) delegated() bool { return c.claims.Scp != "" }

// has reports whether the caller holds any of the permissions.
func (c caller) has(perms ...string) bool {
	held := c.claims.Roles
	if c.delegated() {
		held = strings.Fields(c.claims.Scp)
	}
	for _, p := range perms {
		if slices.Contains(held, p) {
			return true
		}
	}
	return false
}

func (c caller) hasRole(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(c.claims.Wids, r) {
			return true
		}
	}
	return false
}

// authenticate checks the bearer token; on failure it answers 401.
func (e *Emulator) authenticate(w http.ResponseWriter, r *http.Request) (caller, bool) {
	// Graph accepts the token with or without its "Bearer " scheme: Yubico's
	// bulk registration scripts send "Authorization: <token>" and succeed.
	raw := strings.TrimSpace(r.Header.Get("Authorization"))
	if t, ok := strings.CutPrefix(raw, "Bearer "); ok {
		raw = strings.TrimSpace(t)
	}
	if raw == "" {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
		return caller{}, false
	}
	var c TokenClaims
	_, err := jwt.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) { return &e.tokenKey.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithAudience("https://graph.microsoft.com"), jwt.WithTimeFunc(e.cfg.Now), jwt.WithLeeway(5*time.Minute))
	if err != nil {
		graphError(w, http.StatusUnauthorized, "InvalidAuthenticationToken", fmt.Sprintf("Access token validation failure: %v", err))
		return caller{}, false
	}
	return caller{claims: c}, true
}

// require answers 403 in Graph's words unless the caller holds one of perms.
func require(w http.ResponseWriter, c caller, perms ...string) bool {
	if c.has(perms...) {
		return true
	}
	graphError(w, http.StatusForbidden, "Authorization_RequestDenied",
		"Insufficient privileges to complete the operation. Requires one of: "+strings.Join(perms, ", "))
	return false
}
