package graphemu

import (
	"compress/gzip"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// Permission sets, as Graph documents them for each call.
var (
	permMethodsRead = []string{
		"UserAuthenticationMethod.Read.All",
		"UserAuthenticationMethod.ReadWrite.All",
		"UserAuthMethod-Passkey.Read.All",
		"UserAuthMethod-Passkey.ReadWrite.All",
	}
	permMethodsWrite = []string{"UserAuthenticationMethod.ReadWrite.All", "UserAuthMethod-Passkey.ReadWrite.All"}
	permAllMethods   = []string{"UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All"}
	permUserRead     = []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All"}
	permRoleRead     = []string{"RoleManagement.Read.Directory", "RoleManagement.Read.All", "Directory.Read.All"}
	permPolicyRead   = []string{"Policy.Read.All"}
	permSignInRead   = []string{"AuditLog.Read.All"}
)

// Entra's relying party for security keys.
const (
	entraRPID   = "login.microsoft.com"
	entraOrigin = "https://login.microsoft.com"
)

var (
	reCreationOptions = regexp.MustCompile(`^creationOptions(?:\(challengeTimeoutInMinutes=(\d+)\))?$`)
	reFilterID        = regexp.MustCompile(`(?:principalId|userId) eq '([^']+)'`)
	reFilterRole      = regexp.MustCompile(`roleDefinitionId eq '([^']+)'`)
	reFilterSince     = regexp.MustCompile(`createdDateTime ge ([0-9TZ:.\-+]+)`)
	reFilterActivity  = regexp.MustCompile(`activityDateTime ge ([0-9TZ:.\-+]+)`)
	reFilterTarget    = regexp.MustCompile(`targetResources/any\(\w+:\w+/id eq '([^']+)'\)`)
)

func (e *Emulator) route(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) >= 4 && parts[1] == "v2.0" && parts[2] == ".well-known" && parts[3] == "openid-configuration" {
		e.openIDConfiguration(w, parts[0])
		return
	}
	if len(parts) == 4 && parts[1] == "oauth2" && parts[2] == "v2.0" && parts[3] == "token" &&
		r.Method == http.MethodPost {
		e.token(w, r)
		return
	}
	if len(parts) < 2 || (parts[0] != "v1.0" && parts[0] != "beta") {
		graphError(w, http.StatusNotFound, "BadRequest", "Resource not found for the segment '"+r.URL.Path+"'.")
		return
	}
	c, ok := e.authenticate(w, r)
	if !ok {
		return
	}
	beta, p := parts[0] == "beta", parts[1:]
	// /me is the signed-in user: the v1.0 reference lists /me beside
	// /users/{id} for the fido2Methods calls (creationOptions, create:
	// microsoftgraph/microsoft-graph-docs-contrib,
	// api-reference/v1.0/api/fido2authenticationmethod-creationoptions.md
	// commit f2f89dc855fdb160396d2a48178285e663006a52 and
	// authentication-post-fido2methods.md commit bca347277ecd526a1d3b2f3741d1a2a30d9d5e28:
	// "Application permissions aren't supported when using the /me endpoint").
	if p[0] == "me" {
		if !c.delegated() {
			graphError(
				w,
				http.StatusBadRequest,
				"BadRequest",
				"/me request is only valid with delegated authentication flow.",
			)
			return
		}
		p = append([]string{"users", c.claims.OID}, p[1:]...)
	}
	w = &odataWriter{ResponseWriter: w, context: odataContext(beta, p)}
	switch {
	case p[0] == "users" && len(p) == 2 && r.Method == http.MethodGet:
		if require(w, c, permUserRead...) {
			e.getUser(w, r, p[1])
		}
	case p[0] == "users" && len(p) >= 4 && p[2] == "authentication" && p[3] == "fido2Methods":
		e.fido2(w, r, c, p[1], p[4:], beta)
	case p[0] == "users" && len(p) == 3 && p[2] == "transitiveMemberOf" && r.Method == http.MethodGet:
		if require(w, c, "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All") {
			e.transitiveMemberOf(w, r, p[1], "directoryObjects", false)
		}
	case p[0] == "users" && len(p) == 4 && p[2] == "transitiveMemberOf" &&
		(p[3] == "microsoft.graph.group" || p[3] == "graph.group") && r.Method == http.MethodGet:
		// The OData cast to groups (user-list-transitivememberof: "GET
		// /users/{id}/transitiveMemberOf/microsoft.graph.group"; "graph" is
		// the alias Graph's $metadata gives the namespace, which
		// msgraph-sdk-go's URL template sends); the emulator's transitive
		// memberships are groups only.
		if require(w, c, "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All") {
			e.transitiveMemberOf(w, r, p[1], "groups", false)
		}
	case p[0] == "users" && len(p) == 4 && p[2] == "memberOf" &&
		(p[3] == "microsoft.graph.group" || p[3] == "graph.group") && r.Method == http.MethodGet:
		// The user's direct memberships cast to groups (user-list-memberof:
		// "Get groups, directory roles, and administrative units that the
		// user is a direct member of. This operation isn't transitive.";
		// microsoft-graph-docs-contrib api-reference/v1.0/api/user-list-memberof.md).
		if require(w, c, "GroupMember.Read.All", "Group.Read.All", "Directory.Read.All") {
			e.transitiveMemberOf(w, r, p[1], "groups", true)
		}
	case p[0] == "users" && len(p) == 4 && p[2] == "authentication" && p[3] == "methods" && r.Method == http.MethodGet:
		if require(w, c, permAllMethods...) {
			e.listAllMethods(w, r, p[1])
		}
	case len(p) == 3 && p[0] == "roleManagement" && p[1] == "directory" && r.Method == http.MethodGet:
		if require(w, c, permRoleRead...) {
			e.roles(w, r, p[2])
		}
	case len(p) == 3 && p[0] == "identity" && p[1] == "conditionalAccess" && p[2] == "evaluate" && beta &&
		r.Method == http.MethodPost:
		if require(w, c, permPolicyRead...) {
			e.whatIf(w, r)
		}
	case len(p) == 3 && p[0] == "identity" && p[1] == "conditionalAccess" && p[2] == "policies" &&
		r.Method == http.MethodGet:
		if require(w, c, permPolicyRead...) {
			e.caPolicies(w, r)
		}
	case len(p) == 4 && p[0] == "policies" && p[1] == "authenticationMethodsPolicy" &&
		p[2] == "authenticationMethodConfigurations" && p[3] == "fido2" && r.Method == http.MethodGet:
		if require(w, c, permPolicyRead...) {
			e.fido2Policy(w)
		}
	case len(p) == 2 && p[0] == "auditLogs" && p[1] == "directoryAudits" && r.Method == http.MethodGet:
		if require(w, c, permSignInRead...) {
			e.directoryAudits(w, r)
		}
	case len(p) == 2 && p[0] == "auditLogs" && p[1] == "signIns" && r.Method == http.MethodGet:
		if require(w, c, permSignInRead...) {
			e.signIns(w, r)
		}
	default:
		if !e.directoryRoute(w, r, c, p) {
			graphError(
				w,
				http.StatusBadRequest,
				"BadRequest",
				fmt.Sprintf("Unsupported request %s %s", r.Method, r.URL.Path),
			)
		}
	}
}

// userLocked finds a user by object ID or UPN.
func (e *Emulator) userLocked(key string) *User {
	for _, u := range e.st.Users {
		if u.ID == key || strings.EqualFold(u.UserPrincipalName, key) {
			return u
		}
	}
	return nil
}

// userNotFound is Graph's 404 for a user path segment that names no user.
func userNotFound(w http.ResponseWriter, key string) {
	graphError(w, http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+key+"' does not exist.")
}

func (e *Emulator) getUser(w http.ResponseWriter, r *http.Request, key string) {
	e.mu.Lock()
	u := e.userLocked(key)
	var full map[string]any
	if u != nil {
		full = userJSON(u)
	}
	e.mu.Unlock()
	if u == nil {
		graphError(
			w,
			http.StatusNotFound,
			"Request_ResourceNotFound",
			fmt.Sprintf(
				"Resource '%s' does not exist or one of its queried reference-property objects are not present.",
				key,
			),
		)
		return
	}
	sel := selected(r.URL.Query())
	out := userView(full, sel)
	out["@odata.context"] = selectContext(r, "users/$entity", sel)
	writeJSON(w, http.StatusOK, out)
}

// userJSON is every property the emulator holds of a user, in Graph's names.
func userJSON(u *User) map[string]any {
	out := map[string]any{}
	for k, v := range u.Extra {
		out[k] = v
	}
	b, _ := json.Marshal(u)
	var typed map[string]any
	_ = json.Unmarshal(b, &typed)
	delete(typed, "extra")
	for k, v := range typed {
		out[k] = v
	}
	return out
}

// methodJSON renders a stored method as Graph's fido2AuthenticationMethod.
func methodJSON(m *Method) map[string]any {
	return map[string]any{
		"@odata.type": "#microsoft.graph.fido2AuthenticationMethod", "id": m.ID, "displayName": m.DisplayName,
		"createdDateTime": m.CreatedDateTime.UTC().Format(time.RFC3339), "aaGuid": m.AAGUID, "model": m.Model,
		"attestationCertificates": m.AttestationCertificates, "attestationLevel": m.AttestationLevel,
		// Security keys registered through Graph are device-bound passkeys.
		"passkeyType": "deviceBound",
	}
}

func (e *Emulator) fido2(w http.ResponseWriter, r *http.Request, c caller, userKey string, rest []string, beta bool) {
	write := r.Method != http.MethodGet || (len(rest) == 1 && strings.HasPrefix(rest[0], "creationOptions"))
	if write && !require(w, c, permMethodsWrite...) || !write && !require(w, c, permMethodsRead...) {
		return
	}
	e.mu.Lock()
	u := e.userLocked(userKey)
	privileged := false
	if u != nil {
		for _, ra := range e.st.RoleAssignments {
			privileged = privileged || ra.PrincipalID == u.ID
		}
	}
	e.mu.Unlock()
	if u == nil {
		userNotFound(w, userKey)
		return
	}
	// "Self-service operations aren't supported" (beta reference,
	// fido2AuthenticationMethod: creationOptions): a delegated user writing
	// their own methods is refused on beta. The current v1.0 reference
	// dropped the sentence and lists the /me routes (see route): on v1.0 a
	// user registers their own keys.
	if write && beta && c.delegated() && c.claims.OID == u.ID {
		graphError(
			w,
			http.StatusForbidden,
			"accessDenied",
			"Self-service operations are not supported: an administrator registers passkeys on behalf of users "+
				"through this API.",
		)
		return
	}
	// Delegated writes for another user need an authentication admin role;
	// for a user holding admin roles only the privileged one will do.
	if write && c.delegated() && c.claims.OID != u.ID {
		roles := []string{RoleAuthenticationAdministrator, RolePrivilegedAuthenticationAdministrator}
		if privileged {
			roles = roles[1:]
		}
		if !c.hasRole(roles...) {
			graphError(
				w,
				http.StatusForbidden,
				"Authorization_RequestDenied",
				"Insufficient privileges: the signed-in user needs the Privileged Authentication Administrator role "+
					"to manage the methods of an administrator.",
			)
			return
		}
	}
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet:
		e.mu.Lock()
		list := []map[string]any{}
		for _, m := range e.st.Methods[u.ID] {
			list = append(list, methodJSON(m))
		}
		e.mu.Unlock()
		page(w, r, "users('"+u.ID+"')/authentication/fido2Methods", list, pageOther)
	case len(rest) == 0 && r.Method == http.MethodPost:
		e.register(w, r, u, beta)
	case len(rest) == 1 && reCreationOptions.MatchString(rest[0]) && r.Method == http.MethodGet:
		timeout, ok := e.challengeTimeout(w, r, rest[0], beta)
		if ok {
			e.creationOptions(w, u, timeout, beta)
		}
	case len(rest) == 1 && r.Method == http.MethodGet:
		e.mu.Lock()
		var found *Method
		for _, m := range e.st.Methods[u.ID] {
			if m.ID == rest[0] {
				found = m
			}
		}
		e.mu.Unlock()
		if found == nil {
			graphError(w, http.StatusNotFound, "itemNotFound", "The requested FIDO2 method was not found.")
			return
		}
		writeJSON(w, http.StatusOK, methodJSON(found))
	case len(rest) == 1 && r.Method == http.MethodDelete:
		e.mu.Lock()
		list := e.st.Methods[u.ID]
		idx := slices.IndexFunc(list, func(m *Method) bool { return m.ID == rest[0] })
		if idx >= 0 {
			e.st.Methods[u.ID] = slices.Delete(list, idx, idx+1)
		}
		e.mu.Unlock()
		if idx < 0 {
			graphError(w, http.StatusNotFound, "itemNotFound", "The requested FIDO2 method was not found.")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported fido2Methods request.")
	}
}

// graphRoot is the service root of the API version called.
func graphRoot(beta bool) string {
	if beta {
		return "https://graph.microsoft.com/beta"
	}
	return "https://graph.microsoft.com/v1.0"
}

// challengeTimeout reads the challenge lifetime a creationOptions call asks
// for: on beta as the function parameter, creationOptions(challengeTimeoutInMinutes=N),
// or as the query option ?challengeTimeoutInMinutes=N that Yubico's bulk
// registration script and DSInternals.Passkeys send; 5 to 43200 minutes
// (Graph beta reference). v1.0 has a fixed 5-minute challenge and takes
// neither. No form is silently ignored: anything else is a 400.
func (e *Emulator) challengeTimeout(
	w http.ResponseWriter,
	r *http.Request,
	segment string,
	beta bool,
) (time.Duration, bool) {
	fn := reCreationOptions.FindStringSubmatch(segment)[1]
	query := ""
	for k, vs := range r.URL.Query() {
		if k != "challengeTimeoutInMinutes" || len(vs) != 1 {
			graphError(
				w,
				http.StatusBadRequest,
				"BadRequest",
				fmt.Sprintf("Query option '%s' is not supported by creationOptions.", k),
			)
			return 0, false
		}
		query = vs[0]
	}
	asked := fn
	switch {
	case fn != "" && query != "":
		graphError(w, http.StatusBadRequest, "BadRequest", "challengeTimeoutInMinutes is given twice.")
		return 0, false
	case query != "":
		asked = query
	}
	if asked == "" {
		return e.cfg.ChallengeTimeout, true
	}
	if !beta {
		graphError(
			w,
			http.StatusBadRequest,
			"BadRequest",
			"challengeTimeoutInMinutes is supported by the beta endpoint only: v1.0 applies a system-defined "+
				"challenge timeout of 5 minutes.",
		)
		return 0, false
	}
	n, err := strconv.Atoi(asked)
	if err != nil || n < 5 || n > 43200 {
		graphError(w, http.StatusBadRequest, "invalidRequest", "challengeTimeoutInMinutes must be between 5 and 43200.")
		return 0, false
	}
	return time.Duration(n) * time.Minute, true
}

// creationOptions issues a challenge for the user.
func (e *Emulator) creationOptions(w http.ResponseWriter, u *User, timeout time.Duration, beta bool) {
	chal := make([]byte, 32)
	if _, err := rand.Read(chal); err != nil {
		graphError(w, http.StatusInternalServerError, "generalException", err.Error())
		return
	}
	b64 := base64.RawURLEncoding.EncodeToString(chal)
	now := e.cfg.Now()
	e.mu.Lock()
	e.st.Challenges[b64] = &challenge{UserID: u.ID, Expires: now.Add(timeout)}
	exclude := []any{} // [], never null (both references' examples)
	for i, m := range e.st.Methods[u.ID] {
		exclude = append(
			exclude,
			map[string]any{"type": "public-key", "id": excludeID(m.CredentialID, i, beta), "transports": []string{}},
		)
	}
	e.mu.Unlock()
	uh := sha256.Sum256([]byte(u.ID))
	writeJSON(w, http.StatusOK, map[string]any{
		"@odata.context":           graphRoot(beta) + "/$metadata#microsoft.graph.webauthnCredentialCreationOptions",
		"challengeTimeoutDateTime": now.Add(timeout).UTC().Format(time.RFC3339),
		"publicKey": map[string]any{
			"challenge":   b64,
			"timeout":     webauthnTimeout(beta),
			"attestation": "direct",
			"rp":          map[string]any{"id": entraRPID, "name": "Microsoft"},
			"user": map[string]any{
				"id":          base64.RawURLEncoding.EncodeToString(uh[:16]),
				"name":        u.UserPrincipalName,
				"displayName": u.DisplayName,
			},
			"pubKeyCredParams": []any{
				map[string]any{"type": "public-key", "alg": -7}, map[string]any{"type": "public-key", "alg": -257},
			},
			"excludeCredentials": exclude,
			"authenticatorSelection": map[string]any{
				"authenticatorAttachment": "cross-platform", "requireResidentKey": true, "userVerification": "required",
			},
			"extensions": map[string]any{
				"hmacCreateSecret": true, "enforceCredentialProtectionPolicy": true,
				"credentialProtectionPolicy": "userVerificationOptional",
			},
		},
	})
}

// registration is the POST fido2Methods body.
type registration struct {
	DisplayName         string `json:"displayName"`
	PublicKeyCredential *struct {
		ID       string `json:"id"`
		Response struct {
			ClientDataJSON    string `json:"clientDataJSON"`
			AttestationObject string `json:"attestationObject"`
		} `json:"response"`
		ClientExtensionResults map[string]any `json:"clientExtensionResults"`
	} `json:"publicKeyCredential"`
}

// register validates a new credential as Entra does and stores it.
func (e *Emulator) register(w http.ResponseWriter, r *http.Request, u *User, beta bool) {
	var body registration
	var bodyReader io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" { // the SDK compresses request bodies
		gz, err := gzip.NewReader(r.Body)
		if err != nil {
			graphError(w, http.StatusBadRequest, "invalidRequest", "Bad gzip body.")
			return
		}
		defer gz.Close()
		bodyReader = gz
	}
	dec := json.NewDecoder(io.LimitReader(bodyReader, 1<<20))
	if err := dec.Decode(&body); err != nil || body.PublicKeyCredential == nil {
		graphError(
			w,
			http.StatusBadRequest,
			"invalidRequest",
			"The request body must carry displayName and publicKeyCredential.",
		)
		return
	}
	// displayName is optional (v1.0 reference: "If not specified, a default
	// name is assigned"); when given, at most 30 characters, counted as .NET
	// counts them (UTF-16 units). No Microsoft page states the limit; the
	// clients that register keys for users hold names to it:
	// DSInternals.Passkeys New-Passkey [ValidateLength(1, 30)]
	// (MichaelGrafnetter/webauthn-interop, Src/DSInternals.Passkeys/DSInternals.Passkeys.psm1,
	// commit 88aa4958b4dae70c951a87e80b1d18b486d83e50) and powershellYK
	// [ValidateLength(3,30)] (virot/powershellYK,
	// Docs/Cookbook/Enroll-FIDO2-On-Behalf-Of-Entra-ID.ps1, commit
	// 1de7b3211b0fb5922d72426fd42c9b7dd8983f99), whose issue #135 reports
	// longer names failing against Entra.
	if n := len(utf16.Encode([]rune(body.DisplayName))); n > 30 {
		graphError(w, http.StatusBadRequest, "invalidRequest",
			fmt.Sprintf("displayName is %d characters: at most 30 are allowed.", n))
		return
	}
	e.mu.Lock()
	pol := e.st.FIDO2
	e.mu.Unlock()
	if pol.State != "enabled" || !pol.IsSelfServiceRegistrationAllowed {
		graphError(
			w,
			http.StatusBadRequest,
			"invalidRequest",
			"The FIDO2 authentication method policy must be enabled and allow self-service set-up for this API "+
				"(known service limitation).",
		)
		return
	}
	cdRaw, err1 := base64.RawURLEncoding.DecodeString(
		strings.TrimRight(body.PublicKeyCredential.Response.ClientDataJSON, "="),
	)
	aoRaw, err2 := base64.RawURLEncoding.DecodeString(
		strings.TrimRight(body.PublicKeyCredential.Response.AttestationObject, "="),
	)
	if err1 != nil || err2 != nil {
		graphError(
			w,
			http.StatusBadRequest,
			"invalidRequest",
			"clientDataJSON and attestationObject must be base64url.",
		)
		return
	}
	var cd struct {
		Type, Challenge, Origin string
	}
	if err := json.Unmarshal(cdRaw, &cd); err != nil {
		graphError(w, http.StatusBadRequest, "invalidRequest", "clientDataJSON is not JSON.")
		return
	}
	if cd.Type != "webauthn.create" || cd.Origin != entraOrigin {
		graphError(
			w,
			http.StatusBadRequest,
			"invalidRequest",
			fmt.Sprintf(
				"clientDataJSON type %q / origin %q: want webauthn.create from %s.",
				cd.Type,
				cd.Origin,
				entraOrigin,
			),
		)
		return
	}
	now := e.cfg.Now()
	e.mu.Lock()
	ch := e.st.Challenges[cd.Challenge]
	var chErr string
	switch {
	case ch == nil || ch.UserID != u.ID:
		chErr = "The challenge was not issued for this user."
	case ch.Used:
		chErr = "The challenge was already used."
	case now.After(ch.Expires):
		chErr = "The challenge has expired: request new creation options."
	default:
		ch.Used = true // accepted once, whatever the outcome below
	}
	e.mu.Unlock()
	if chErr != "" {
		graphError(w, http.StatusBadRequest, "invalidChallenge", chErr)
		return
	}
	challengeBytes, _ := base64.RawURLEncoding.DecodeString(cd.Challenge)
	// Entra registers only packed and none attestation (Graph beta reference,
	// fido2AuthenticationMethod create: attestationObject formats).
	if f := attestationFormat(aoRaw); f != "packed" && f != "none" {
		graphError(
			w,
			http.StatusBadRequest,
			"invalidAttestation",
			fmt.Sprintf("Attestation format '%s' is not supported: only packed and none are accepted.", f),
		)
		return
	}
	in := attest.Input{AttestationObject: aoRaw, ClientDataJSON: cdRaw}
	v, err := e.cfg.Verifier.Verify(in, attest.Expect{RPID: entraRPID, Origin: entraOrigin, Challenge: challengeBytes})
	if err != nil {
		graphError(
			w,
			http.StatusBadRequest,
			"invalidAttestation",
			"The attestation object could not be read: "+err.Error(),
		)
		return
	}
	ad, err := parseAuthData(aoRaw)
	if err != nil {
		graphError(w, http.StatusBadRequest, "invalidAttestation", err.Error())
		return
	}
	credID := base64.RawURLEncoding.EncodeToString(ad.CredentialID)
	// The verdict's reason codes are attest's recorded vocabulary (README,
	// "Attestation policy"): "rp-id", "signature", "aaguid-mismatch".
	switch {
	case v.HasReason("rp-id"):
		graphError(w, http.StatusBadRequest, "invalidRequest", "The credential was not created for "+entraRPID+".")
		return
	case ad.Flags&ctapwire.FlagUV == 0 || ad.Flags&ctapwire.FlagUP == 0:
		graphError(w, http.StatusBadRequest, "invalidRequest", "User verification and presence are required.")
		return
	case strings.TrimRight(body.PublicKeyCredential.ID, "=") != credID:
		graphError(
			w,
			http.StatusBadRequest,
			"invalidRequest",
			"publicKeyCredential.id does not match the credential in the attestation.",
		)
		return
	case len(pol.PasskeyProfiles) == 0 && pol.IsAttestationEnforced &&
		(!v.Trusted || v.HasReason("signature") || v.HasReason("aaguid-mismatch")):
		graphError(
			w,
			http.StatusBadRequest,
			"attestationValidationFailed",
			fmt.Sprintf("The security key's attestation could not be verified: %v", v.Reasons),
		)
		return
	}
	if len(pol.PasskeyProfiles) > 0 {
		e.mu.Lock()
		profiles := e.profilesForLocked(pol, u.ID)
		e.mu.Unlock()
		admitted := false
		var names []string
		for _, pp := range profiles {
			admitted = admitted || profileAdmits(pp, ad.AAGUID.String(), v.Trusted)
			names = append(names, pp.Name)
		}
		if !admitted {
			graphError(
				w,
				http.StatusBadRequest,
				"aaguidNotAllowed",
				fmt.Sprintf(
					"The security key model (AAGUID %s) is not allowed by the passkey profiles that apply to "+
						"this user (%s).",
					ad.AAGUID,
					strings.Join(names, ", "),
				),
			)
			return
		}
	} else if pol.KeyRestrictionsEnforced {
		listed := slices.Contains(pol.AAGUIDs, ad.AAGUID.String())
		if (pol.EnforcementType == "allow") != listed {
			graphError(w, http.StatusBadRequest, "aaguidNotAllowed", "The security key model (AAGUID "+
				ad.AAGUID.String()+") is not allowed by the FIDO2 key restriction policy.")
			return
		}
	}
	// Graph lists attestation certificate thumbprints (SHA-1, hex).
	var thumbs []string
	if der := attestationCertDER(aoRaw); der != nil {
		s := sha1.Sum(der)
		thumbs = []string{hex.EncodeToString(s[:])}
	}
	level := "notAttested"
	if v.Trusted {
		level = "attested"
	}
	name := strings.TrimSpace(body.DisplayName)
	if name == "" {
		name = v.Model
		if name == "" {
			name = "Passkey"
		}
	}
	m := &Method{ID: newMethodID(ad.CredentialID), DisplayName: name, CreatedDateTime: now.UTC().Truncate(time.Second),
		AAGUID: ad.AAGUID.String(), Model: v.Model, AttestationCertificates: thumbs, AttestationLevel: level,
		CredentialID: credID}
	e.mu.Lock()
	for _, existing := range e.st.Methods[u.ID] {
		if existing.CredentialID == credID {
			e.mu.Unlock()
			graphError(w, http.StatusConflict, "conflict", "This security key credential is already registered.")
			return
		}
	}
	e.st.Methods[u.ID] = append(e.st.Methods[u.ID], m)
	e.mu.Unlock()
	created := methodJSON(m)
	created["@odata.context"] = graphRoot(beta) + "/$metadata#users('" + u.ID + "')/authentication/fido2Methods/$entity"
	writeJSON(w, http.StatusCreated, created)
}

// attestationFormat reads fmt from an attestationObject ("" if unreadable).
func attestationFormat(obj []byte) string {
	var o struct {
		Fmt string `cbor:"fmt"`
	}
	if ctapwire.Unmarshal(obj, &o) != nil {
		return ""
	}
	return o.Fmt
}

// newMethodID derives a method ID from the credential ID (stable, opaque).
func newMethodID(credID []byte) string {
	s := sha256.Sum256(credID)
	return base64.RawURLEncoding.EncodeToString(s[:16])
}

func parseAuthData(attestationObject []byte) (*ctap.AuthData, error) {
	var o struct {
		AuthData []byte `cbor:"authData"`
	}
	if err := ctapwire.Unmarshal(attestationObject, &o); err != nil {
		return nil, fmt.Errorf("attestationObject: %w", err)
	}
	return ctap.ParseAuthData(o.AuthData)
}

// attestationCertDER returns x5c[0] of the statement, if any.
func attestationCertDER(attestationObject []byte) []byte {
	var o struct {
		AttStmt struct {
			X5C [][]byte `cbor:"x5c"`
		} `cbor:"attStmt"`
	}
	if ctapwire.Unmarshal(attestationObject, &o) != nil || len(o.AttStmt.X5C) == 0 {
		return nil
	}
	return o.AttStmt.X5C[0]
}

func (e *Emulator) listAllMethods(w http.ResponseWriter, r *http.Request, key string) {
	e.mu.Lock()
	u := e.userLocked(key)
	list := []map[string]any{}
	if u != nil {
		for _, m := range e.st.OtherMethods[u.ID] {
			item := map[string]any{}
			for k, v := range m.Extra {
				item[k] = v
			}
			item["@odata.type"], item["id"] = m.ODataType, m.ID
			list = append(list, item)
		}
		for _, m := range e.st.Methods[u.ID] {
			list = append(list, methodJSON(m))
		}
	}
	e.mu.Unlock()
	if u == nil {
		userNotFound(w, key)
		return
	}
	page(w, r, "users('"+u.ID+"')/authentication/methods", list, pageOther)
}

// filterID extracts "principalId eq '…'" or "userId eq '…'" from $filter.
func filterID(r *http.Request) string {
	if m := reFilterID.FindStringSubmatch(r.URL.Query().Get("$filter")); m != nil {
		return m[1]
	}
	return ""
}

func (e *Emulator) roles(w http.ResponseWriter, r *http.Request, what string) {
	id := filterID(r)
	e.mu.Lock()
	list := []map[string]any{}
	switch what {
	case "roleAssignments":
		// $filter=roleDefinitionId eq '…' lists a role's holders
		// (api-reference/v1.0/api/rbacapplication-list-roleassignments.md).
		role := ""
		if m := reFilterRole.FindStringSubmatch(r.URL.Query().Get("$filter")); m != nil {
			role = m[1]
		}
		for _, a := range e.st.RoleAssignments {
			if (id == "" || a.PrincipalID == id) && (role == "" || a.RoleDefinitionID == role) {
				list = append(
					list,
					map[string]any{
						"id":               a.ID,
						"principalId":      a.PrincipalID,
						"roleDefinitionId": a.RoleDefinitionID,
						"directoryScopeId": a.DirectoryScopeID,
					},
				)
			}
		}
	case "roleEligibilitySchedules", "roleAssignmentSchedules":
		if e.st.NoEntraP2 {
			// PIM needs Entra ID P2; without it Graph answers 400
			// AadPremiumLicenseRequired (the answer issue 27 reports).
			e.mu.Unlock()
			graphError(w, http.StatusBadRequest, "AadPremiumLicenseRequired",
				"The tenant needs to have Microsoft Entra ID P2 or Microsoft Entra ID Governance license.")
			return
		}
		src := e.st.RoleEligibilities
		if what == "roleAssignmentSchedules" {
			src = e.st.AssignmentSched
		}
		for _, s := range src {
			if id != "" && s.PrincipalID != id {
				continue
			}
			exp := map[string]any{"type": "noExpiration"}
			if s.EndDateTime != nil {
				exp = map[string]any{"type": "afterDateTime", "endDateTime": s.EndDateTime.UTC().Format(time.RFC3339)}
			}
			info := map[string]any{"expiration": exp}
			if s.ScheduleInfo != nil {
				info = s.ScheduleInfo
			}
			list = append(
				list,
				map[string]any{"id": s.ID, "principalId": s.PrincipalID, "roleDefinitionId": s.RoleDefinitionID,
					"directoryScopeId": s.DirectoryScopeID, "status": s.Status, "scheduleInfo": info},
			)
		}
	default:
		e.mu.Unlock()
		graphError(w, http.StatusBadRequest, "BadRequest", "Unsupported roleManagement request.")
		return
	}
	e.mu.Unlock()
	page(w, r, "roleManagement/directory/"+what, list, pageOther)
}

// caPolicyJSON renders a policy as Graph does: the whole policy as loaded
// from a tenant (every condition, grant and session control), with the user
// conditions the emulator's own fields hold written over it.
func caPolicyJSON(p CAPolicy) map[string]any {
	out := map[string]any{}
	for k, v := range p.Raw {
		out[k] = v
	}
	cond, _ := out["conditions"].(map[string]any)
	c := map[string]any{}
	for k, v := range cond {
		c[k] = v
	}
	users, _ := c["users"].(map[string]any)
	u := map[string]any{}
	for k, v := range users {
		u[k] = v
	}
	u["includeUsers"], u["excludeUsers"] = nz(p.IncludeUsers), nz(p.ExcludeUsers)
	u["includeGroups"], u["excludeGroups"] = nz(p.IncludeGroups), nz(p.ExcludeGroups)
	u["includeRoles"], u["excludeRoles"] = nz(p.IncludeRoles), nz(p.ExcludeRoles)
	c["users"] = u
	out["conditions"] = c
	out["id"], out["displayName"], out["state"] = p.ID, p.DisplayName, p.State
	return out
}

func (e *Emulator) caPolicies(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	list := []map[string]any{}
	for _, p := range e.st.CAPolicies {
		list = append(list, caPolicyJSON(p))
	}
	e.mu.Unlock()
	page(w, r, "identity/conditionalAccess/policies", list, pageOther)
}

// transitiveMemberOf lists the groups that hold the user, directly or
// through nested groups (Graph: user transitiveMemberOf); direct, only
// those that hold it directly (Graph: user memberOf).
func (e *Emulator) transitiveMemberOf(w http.ResponseWriter, r *http.Request, key, contextPath string, direct bool) {
	e.mu.Lock()
	u := e.userLocked(key)
	list := []map[string]any{}
	if u != nil {
		in := e.memberOfLocked(u.ID)
		for _, g := range e.st.Groups {
			if (direct && slices.Contains(g.Members, u.ID)) || (!direct && in[g.ID]) {
				list = append(list, groupJSON(g))
			}
		}
	}
	e.mu.Unlock()
	if u == nil {
		userNotFound(w, key)
		return
	}
	page(w, r, contextPath, list, pageDirectory)
}

// groupJSON renders a group as Graph does (without its members).
func groupJSON(g Group) map[string]any {
	out := map[string]any{}
	for k, v := range g.Extra {
		out[k] = v
	}
	out["@odata.type"], out["id"], out["displayName"] = "#microsoft.graph.group", g.ID, g.DisplayName
	return out
}

// memberOfLocked is the set of the principal and every group that holds it,
// directly or through nested groups.
func (e *Emulator) memberOfLocked(id string) map[string]bool {
	in := map[string]bool{id: true}
	for changed := true; changed; {
		changed = false
		for _, g := range e.st.Groups {
			if in[g.ID] {
				continue
			}
			for _, m := range g.Members {
				if in[m] {
					in[g.ID], changed = true, true
					break
				}
			}
		}
	}
	return in
}

func nz(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (e *Emulator) fido2Policy(w http.ResponseWriter) {
	e.mu.Lock()
	p := e.st.FIDO2
	e.mu.Unlock()
	writeJSON(w, http.StatusOK, fido2PolicyJSON(p))
}

// fido2PolicyJSON renders the FIDO2 configuration as Graph does
// (fido2AuthenticationMethodConfiguration).
func fido2PolicyJSON(p FIDO2Policy) map[string]any {
	targets := []any{}
	for _, t := range p.IncludeTargetIDs {
		target := map[string]any{"targetType": "group", "id": t, "isRegistrationRequired": false}
		if len(p.PasskeyProfiles) > 0 {
			target["allowedPasskeyProfiles"] = nz(p.TargetProfiles[t])
		}
		targets = append(targets, target)
	}
	out := map[string]any{
		"@odata.type": "#microsoft.graph.fido2AuthenticationMethodConfiguration", "id": "Fido2", "state": p.State,
		"isSelfServiceRegistrationAllowed": p.IsSelfServiceRegistrationAllowed,
		"isAttestationEnforced":            p.IsAttestationEnforced,
		"keyRestrictions": map[string]any{
			"isEnforced":      p.KeyRestrictionsEnforced,
			"enforcementType": p.EnforcementType,
			"aaGuids":         nz(p.AAGUIDs),
		},
		"includeTargets": targets, "excludeTargets": excludeTargets(p),
	}
	// Passkey profiles, in the shape of the Graph reference (passkeyProfile,
	// fido2AuthenticationMethodConfiguration update example).
	if len(p.PasskeyProfiles) > 0 {
		var profiles []any
		for _, pp := range p.PasskeyProfiles {
			profiles = append(profiles, map[string]any{"id": pp.ID, "name": pp.Name, "passkeyTypes": pp.PasskeyTypes,
				"attestationEnforcement": pp.AttestationEnforcement,
				"keyRestrictions": map[string]any{
					"isEnforced":      pp.KeyRestrictionsEnforced,
					"enforcementType": pp.EnforcementType,
					"aaGuids":         nz(pp.AAGUIDs),
				}})
		}
		out["passkeyProfiles"], out["defaultPasskeyProfile"] = profiles, p.DefaultProfile
	}
	return out
}

// profilesFor returns the passkey profiles that apply to a user: those
// allowed by every include target that reaches the user (all_users, or a
// group holding them), the default profile for a target naming none.
func (e *Emulator) profilesForLocked(p FIDO2Policy, userID string) []PasskeyProfile {
	groups := e.memberOfLocked(userID)
	ids := map[string]bool{}
	for _, t := range p.IncludeTargetIDs {
		if t != "all_users" && !groups[t] {
			continue
		}
		allowed := p.TargetProfiles[t]
		if len(allowed) == 0 {
			allowed = []string{p.DefaultProfile}
		}
		for _, id := range allowed {
			ids[id] = true
		}
	}
	var out []PasskeyProfile
	for _, pp := range p.PasskeyProfiles {
		if ids[pp.ID] {
			out = append(out, pp)
		}
	}
	return out
}

// profileAdmits applies one passkey profile to a device-bound key.
func profileAdmits(pp PasskeyProfile, aaguid string, attested bool) bool {
	if !strings.Contains(pp.PasskeyTypes, "deviceBound") {
		return false
	}
	if pp.AttestationEnforcement == "registrationOnly" && !attested {
		return false
	}
	if pp.KeyRestrictionsEnforced {
		listed := slices.Contains(pp.AAGUIDs, aaguid)
		if (pp.EnforcementType == "allow") != listed {
			return false
		}
	}
	return true
}

// directoryAudits answers GET /auditLogs/directoryAudits with the filter
// the audit sends: activityDateTime ge T and targetResources/any(t:t/id eq 'ID').
func (e *Emulator) directoryAudits(w http.ResponseWriter, r *http.Request) {
	f := r.URL.Query().Get("$filter")
	var since time.Time
	if m := reFilterActivity.FindStringSubmatch(f); m != nil {
		since, _ = time.Parse(time.RFC3339, m[1])
	}
	target := ""
	if m := reFilterTarget.FindStringSubmatch(f); m != nil {
		target = m[1]
	}
	e.mu.Lock()
	list := []map[string]any{}
	kept := e.logsKeptLocked()
	for _, a := range e.st.DirectoryAudits {
		if a.ActivityDateTime.Before(since) || a.ActivityDateTime.Before(kept) ||
			(target != "" && !slices.Contains(a.TargetIDs, target)) {
			continue
		}
		list = append(list, auditJSON(a))
	}
	e.mu.Unlock()
	page(w, r, "auditLogs/directoryAudits", list, pageAudits)
}

// auditJSON renders an audit event as Graph does.
func auditJSON(a DirectoryAudit) map[string]any {
	out := map[string]any{}
	for k, v := range a.Extra {
		out[k] = v
	}
	targets := []any{}
	for _, id := range a.TargetIDs {
		targets = append(targets, map[string]any{"id": id, "type": "User"})
	}
	initiator := map[string]any{}
	if a.InitiatedByUPN != "" {
		initiator["user"] = map[string]any{"userPrincipalName": a.InitiatedByUPN}
	}
	if a.InitiatedByApp != "" {
		initiator["app"] = map[string]any{"displayName": a.InitiatedByApp}
	}
	out["id"], out["activityDateTime"] = a.ID, a.ActivityDateTime.UTC().Format(time.RFC3339)
	out["activityDisplayName"], out["category"], out["result"] = a.ActivityDisplayName, a.Category, a.Result
	out["initiatedBy"], out["targetResources"] = initiator, targets
	return out
}

// logsKeptLocked is where the tenant's sign-in and audit logs begin for
// Graph: 30 days back with Entra ID P1 or P2, 7 without (Microsoft Learn,
// "Microsoft Entra data retention", MicrosoftDocs/entra-docs
// docs/identity/monitoring-health/reference-reports-data-retention.md:
// "Audit logs: Free 7 days, P1/P2 30 days; Sign-in logs: Free 7 days,
// P1/P2 30 days"). Older events are gone, as they are from Graph.
func (e *Emulator) logsKeptLocked() time.Time {
	if e.st.NoEntraPremium {
		return e.cfg.Now().Add(-7 * 24 * time.Hour)
	}
	return e.cfg.Now().Add(-30 * 24 * time.Hour)
}

// signIns answers GET /auditLogs/signIns, most recent first ("by default,
// the most recent sign-ins are returned first",
// https://learn.microsoft.com/graph/api/signin-list).
func (e *Emulator) signIns(w http.ResponseWriter, r *http.Request) {
	id := filterID(r)
	var since time.Time
	if m := reFilterSince.FindStringSubmatch(r.URL.Query().Get("$filter")); m != nil {
		since, _ = time.Parse(time.RFC3339, m[1])
	}
	e.mu.Lock()
	var picked []SignIn
	kept := e.logsKeptLocked()
	for _, s := range e.st.SignIns {
		if (id == "" || s.UserID == id) && !s.CreatedDateTime.Before(since) && !s.CreatedDateTime.Before(kept) {
			picked = append(picked, s)
		}
	}
	e.mu.Unlock()
	slices.SortStableFunc(picked, func(a, b SignIn) int { return b.CreatedDateTime.Compare(a.CreatedDateTime) })
	list := []map[string]any{}
	for _, s := range picked {
		list = append(list, signInJSON(s))
	}
	page(w, r, "auditLogs/signIns", list, pageSignIns)
}

// signInJSON renders a sign-in as Graph does.
func signInJSON(s SignIn) map[string]any {
	out := map[string]any{}
	for k, v := range s.Extra {
		out[k] = v
	}
	out["id"], out["createdDateTime"], out["userId"] = s.ID, s.CreatedDateTime.UTC().Format(time.RFC3339), s.UserID
	out["userPrincipalName"], out["appDisplayName"] = s.UserPrincipalName, s.AppDisplayName
	out["ipAddress"] = s.IPAddress
	out["status"] = map[string]any{"errorCode": s.ErrorCode, "failureReason": s.FailureReason}
	return out
}

// excludeID writes a credential id (stored as base64url) in the form the
// API version documents for excludeCredentials
// (microsoftgraph/microsoft-graph-docs-contrib):
//   - v1.0: "credential IDs in excludeCredentials are Base64URL-encoded
//     without padding" (api-reference/v1.0/api/fido2authenticationmethod-creationoptions.md,
//     commit f2f89dc855fdb160396d2a48178285e663006a52);
//   - beta: "formatted in Base64URL with a padding number suffix ... convert
//     the trailing integer value of 0, 1, or 2 to the same number of base64
//     padding characters", while the same page's example ids are in the
//     standard alphabet with '/' and '+'
//     (api-reference/beta/api/fido2authenticationmethod-creationoptions.md,
//     commit fe9ec3745151f442d248d35ad0b2f663ecae6e64). The emulator sends
//     both beta forms, alternating, so that a client reading one only fails.
func excludeID(stored string, i int, beta bool) string {
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(stored, "="))
	if err != nil || !beta {
		return stored
	}
	if i%2 == 0 {
		return base64.StdEncoding.EncodeToString(raw) // the example's form: '+', '/', '=' padding
	}
	padded := base64.URLEncoding.EncodeToString(raw)
	body := strings.TrimRight(padded, "=")
	return body + strconv.Itoa(len(padded)-len(body)) // the note's form: padding as a count
}

// webauthnTimeout is publicKey.timeout, an Edm.Int32 of milliseconds: the
// time the browser gives the authenticator, not the challenge's lifetime
// (that is challengeTimeoutDateTime; at 43,200 minutes the lifetime in
// milliseconds, 2,592,000,000, does not fit an Int32). The values are the
// references' examples: beta 0 (api-reference/beta/api/fido2authenticationmethod-creationoptions.md,
// commit fe9ec3745151f442d248d35ad0b2f663ecae6e64), v1.0 60000
// (api-reference/v1.0/api/fido2authenticationmethod-creationoptions.md,
// commit f2f89dc855fdb160396d2a48178285e663006a52).
func webauthnTimeout(beta bool) int32 {
	if beta {
		return 0
	}
	return 60000
}

// odataWriter carries the @odata.context of the request's answer to
// writeJSON, which adds it to a successful answer that has none: Graph
// sends it on every answer.
type odataWriter struct {
	http.ResponseWriter
	context string
}

// odataContext is the @odata.context Graph sends for a path (p after the
// version; /me already resolved to users/{id}).
func odataContext(beta bool, p []string) string {
	root := graphRoot(beta) + "/$metadata#"
	switch {
	case len(p) == 2 && p[0] == "users":
		return root + "users/$entity"
	case len(p) == 3 && p[0] == "users" && p[2] == "transitiveMemberOf":
		return root + "directoryObjects"
	case len(p) == 5 && p[0] == "users" && p[3] == "fido2Methods" && !strings.HasPrefix(p[4], "creationOptions"):
		return root + "users('" + p[1] + "')/authentication/fido2Methods/$entity"
	case len(p) > 2 && p[0] == "users":
		return root + "users('" + p[1] + "')/" + strings.Join(p[2:], "/")
	case len(p) == 4 && p[0] == "policies" && p[2] == "authenticationMethodConfigurations":
		// The reference's own answer (api-reference/beta/api/fido2authenticationmethodconfiguration-get.md,
		// commit a0c0a49327ae9edeb9dce1ea7a056a70a23fc569).
		return root + "authenticationMethodConfigurations/$entity"
	}
	return root + strings.Join(p, "/")
}
