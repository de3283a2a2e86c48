package enroll

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"

	"github.com/keyceremony/keyceremony/ctap"
)

// Entra ID's relying party for security keys.
const (
	RPID   = "login.microsoft.com"
	Origin = "https://login.microsoft.com"
)

// CreationOptions is Graph's webauthnCredentialCreationOptions.
type CreationOptions struct {
	ChallengeTimeout time.Time `json:"challengeTimeoutDateTime"`
	PublicKey        struct {
		Challenge string `json:"challenge"`
		// Timeout is the WebAuthn ceremony timeout in milliseconds, an
		// Edm.Int32; the challenge's lifetime is ChallengeTimeout.
		Timeout     int32ms `json:"timeout"`
		Attestation string  `json:"attestation"`
		RP          struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"user"`
		PubKeyCredParams []struct {
			Type string `json:"type"`
			Alg  int    `json:"alg"`
		} `json:"pubKeyCredParams"`
		ExcludeCredentials []struct {
			Type       string   `json:"type"`
			ID         string   `json:"id"`
			Transports []string `json:"transports"`
		} `json:"excludeCredentials"`
		AuthenticatorSelection struct {
			AuthenticatorAttachment string `json:"authenticatorAttachment"`
			RequireResidentKey      bool   `json:"requireResidentKey"`
			UserVerification        string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Extensions struct {
			HMACCreateSecret                  bool   `json:"hmacCreateSecret"`
			EnforceCredentialProtectionPolicy bool   `json:"enforceCredentialProtectionPolicy"`
			CredentialProtectionPolicy        string `json:"credentialProtectionPolicy"`
		} `json:"extensions"`
	} `json:"publicKey"`
}

// b64 decodes Graph's base64url (padding tolerated).
func b64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

// credentialIDs decodes an excludeCredentials id in every form Graph
// documents (microsoftgraph/microsoft-graph-docs-contrib):
//   - plain Base64URL without padding (v1.0: api-reference/v1.0/api/fido2authenticationmethod-creationoptions.md,
//     commit f2f89dc855fdb160396d2a48178285e663006a52);
//   - "Base64URL with a padding number suffix": the padding's '=' count as a
//     trailing 0, 1 or 2 (beta: api-reference/beta/api/fido2authenticationmethod-creationoptions.md,
//     commit fe9ec3745151f442d248d35ad0b2f663ecae6e64);
//   - the standard alphabet with '+', '/' and '=' padding (that beta page's
//     own example ids).
//
// An id of 4k characters ending in 1 or 2 reads both as plain Base64URL and
// as suffixed; each reading that decodes canonically is returned. Excluding
// an id no key holds costs nothing, while missing the real one lets a key
// of the account be registered twice: so both are excluded.
func credentialIDs(s string) ([][]byte, error) {
	norm := strings.NewReplacer("+", "-", "/", "_").Replace(strings.TrimRight(s, "="))
	strict := base64.RawURLEncoding.Strict()
	var out [][]byte
	if b, err := strict.DecodeString(norm); err == nil && len(b) > 0 {
		out = append(out, b)
	}
	if n := len(norm); n > 1 && !strings.HasSuffix(s, "=") && norm[n-1] >= '0' && norm[n-1] <= '2' {
		if pad := int(norm[n-1] - '0'); (n-1+pad)%4 == 0 {
			if b, err := strict.DecodeString(norm[:n-1]); err == nil && len(b) > 0 &&
				!slices.ContainsFunc(out, func(o []byte) bool {
					return bytes.Equal(o, b)
				}) {
				out = append(out, b)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("credential id %q is not base64 in any form Graph documents", s)
	}
	return out, nil
}

// int32ms is an Edm.Int32 count of milliseconds. A value out of its range
// (as an emulator once sent: 2,592,000,000 for a 43,200-minute challenge)
// is not Graph's schema; it is read as 0, "no timeout asked": the value is
// advice to a browser, and the challenge's lifetime is
// challengeTimeoutDateTime, so nothing the ceremony does depends on it.
type int32ms int32

// UnmarshalJSON implements json.Unmarshaler.
func (t *int32ms) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = 0
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("publicKey.timeout %s is not an integer: %w", b, err)
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		n = 0
	}
	*t = int32ms(n)
	return nil
}

// Validate checks the options are Entra's and usable.
func (o *CreationOptions) Validate(now time.Time) error {
	switch {
	case o.PublicKey.RP.ID != RPID:
		return fmt.Errorf("creation options name relying party %q, not %s: refusing", o.PublicKey.RP.ID, RPID)
	case o.PublicKey.Challenge == "":
		return errors.New("creation options carry no challenge")
	case !o.ChallengeTimeout.IsZero() && now.After(o.ChallengeTimeout):
		return ErrChallengeExpired
	}
	if _, err := b64(o.PublicKey.Challenge); err != nil {
		return fmt.Errorf("challenge: %w", err)
	}
	if _, err := b64(o.PublicKey.User.ID); err != nil || o.PublicKey.User.ID == "" {
		return errors.New("creation options carry no usable user handle")
	}
	return nil
}

// ClientDataJSON builds the clientDataJSON a browser would, for Entra's origin.
func (o *CreationOptions) ClientDataJSON() []byte {
	b, _ := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{"webauthn.create", o.PublicKey.Challenge, Origin, false})
	return b
}

// MakeCredential maps the options to a CTAP makeCredential for the key:
// resident key, PIN token for user verification, the requested algorithms,
// exclude list, credProtect and hmac-secret as asked.
func (o *CreationOptions) MakeCredential(
	clientDataJSON []byte,
	token *ctap.PINToken,
) (ctap.MakeCredentialOptions, error) {
	userID, err := b64(o.PublicKey.User.ID)
	if err != nil {
		return ctap.MakeCredentialOptions{}, err
	}
	h := sha256.Sum256(clientDataJSON)
	mc := ctap.MakeCredentialOptions{
		ClientDataHash: h[:],
		RP:             ctap.RelyingParty{ID: o.PublicKey.RP.ID, Name: o.PublicKey.RP.Name},
		User:           ctap.User{ID: userID, Name: o.PublicKey.User.Name, DisplayName: o.PublicKey.User.DisplayName},
		ResidentKey:    o.PublicKey.AuthenticatorSelection.RequireResidentKey,
		HMACSecret:     o.PublicKey.Extensions.HMACCreateSecret,
		Token:          token,
	}
	for _, p := range o.PublicKey.PubKeyCredParams {
		if p.Type == "public-key" {
			mc.Algorithms = append(mc.Algorithms, p.Alg)
		}
	}
	for _, x := range o.PublicKey.ExcludeCredentials {
		ids, err := credentialIDs(x.ID)
		if err != nil {
			return mc, fmt.Errorf("excludeCredentials: %w", err)
		}
		for _, id := range ids {
			mc.ExcludeList = append(mc.ExcludeList, ctap.CredentialDescriptor{Type: "public-key", ID: id})
		}
	}
	// Level 1 keeps Windows sign-in working; higher levels break it.
	switch o.PublicKey.Extensions.CredentialProtectionPolicy {
	case "", "userVerificationOptional":
		mc.CredProtect = ctap.CredProtectUVOptional
	case "userVerificationOptionalWithCredentialIDList":
		mc.CredProtect = ctap.CredProtectUVOptionalWithCredentialIDList
	case "userVerificationRequired":
		mc.CredProtect = ctap.CredProtectUVRequired
	}
	return mc, nil
}

// ErrChallengeExpired is returned when Graph's challenge ran out: fetch new
// creation options and create the credential again.
var ErrChallengeExpired = errors.New(
	"the Graph challenge expired: fetch new creation options and create the credential again",
)

// CreationOptions fetches creation options for the user. timeoutMinutes 0
// uses v1.0 (fixed 5-minute challenge); 5 to 43200 uses the beta function
// with that challenge lifetime (for the offline split).
func (c *Client) CreationOptions(ctx context.Context, userID string, timeoutMinutes int) (*CreationOptions, error) {
	path := c.root + "/v1.0/users/" + url.PathEscape(userID) + "/authentication/fido2Methods/creationOptions"
	if timeoutMinutes != 0 {
		if timeoutMinutes < 5 || timeoutMinutes > 43200 {
			return nil, fmt.Errorf("challenge timeout %d minutes: Graph accepts 5 to 43200", timeoutMinutes)
		}
		path = fmt.Sprintf(
			"%s/beta/users/%s/authentication/fido2Methods/creationOptions(challengeTimeoutInMinutes=%d)",
			c.root,
			url.PathEscape(userID),
			timeoutMinutes,
		)
	}
	u, err := url.Parse(path)
	if err != nil {
		return nil, err
	}
	raw, err := c.getJSON(ctx, "creation options", u)
	if err != nil {
		return nil, explainServiceLimits(err)
	}
	var o CreationOptions
	if err := json.Unmarshal(raw, &o); err != nil {
		return nil, fmt.Errorf("creation options: %w", err)
	}
	if err := o.Validate(c.opts.Now()); err != nil {
		return nil, err
	}
	return &o, nil
}

// getJSON reads a Graph resource the SDK has no typed request for, as raw
// JSON, with the client's retries and error mapping.
func (c *Client) getJSON(ctx context.Context, what string, u *url.URL) ([]byte, error) {
	var raw []byte
	err := c.retryRead(ctx, what, func() error {
		ri := abs.NewRequestInformation()
		ri.Method = abs.GET
		ri.SetUri(*u)
		ri.Headers.TryAdd("Accept", "application/json")
		out, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping())
		if err != nil {
			return err
		}
		b, ok := out.([]byte)
		if !ok {
			return errors.New(what + ": empty answer")
		}
		raw = b
		return nil
	})
	return raw, err
}

// explainServiceLimits adds the known Entra limitations to an error.
func explainServiceLimits(err error) error {
	var ge *GraphError
	if errors.As(err, &ge) && ge.Status == http.StatusBadRequest &&
		strings.Contains(strings.ToLower(ge.Message), "self-service") {
		return fmt.Errorf(
			"%w (Entra requires 'Allow self-service set-up' in the FIDO2 authentication method policy for this API; "+
				"pre-registered keys are not supported)",
			err,
		)
	}
	return err
}

// Method is a registered FIDO2 method.
type Method struct {
	ID               string    `json:"id"`
	DisplayName      string    `json:"display_name"`
	AAGUID           string    `json:"aaguid"`
	Model            string    `json:"model"`
	Created          time.Time `json:"created"`
	AttestationLevel string    `json:"attestation_level"`
	AttestationCerts []string  `json:"attestation_certificates,omitempty"`
	// Adopted: Register found the credential already registered (an
	// earlier, interrupted run) and posted nothing.
	Adopted bool `json:"-"`
}

func methodFrom(m models.Fido2AuthenticationMethodable) Method {
	out := Method{
		ID:               deref(m.GetId()),
		DisplayName:      deref(m.GetDisplayName()),
		AAGUID:           strings.ToLower(deref(m.GetAaGuid())),
		Model:            deref(m.GetModel()),
		AttestationCerts: m.GetAttestationCertificates(),
	}
	if t := m.GetCreatedDateTime(); t != nil {
		out.Created = *t
	}
	if l := m.GetAttestationLevel(); l != nil {
		out.AttestationLevel = l.String()
	}
	return out
}

// ListFIDO2 lists the user's FIDO2 methods (all pages).
func (c *Client) ListFIDO2(ctx context.Context, userID string) ([]Method, error) {
	var out []Method
	err := c.retryRead(ctx, "list FIDO2 methods", func() error {
		out = nil
		resp, err := c.graph.Users().ByUserId(userID).Authentication().Fido2Methods().Get(ctx, nil)
		if err != nil {
			return err
		}
		return eachItem(
			ctx,
			c,
			"FIDO2 methods",
			resp,
			models.CreateFido2AuthenticationMethodCollectionResponseFromDiscriminatorValue,
			func(m models.Fido2AuthenticationMethodable) { out = append(out, methodFrom(m)) },
		)
	})
	return out, err
}

// GetFIDO2 reads one method back.
func (c *Client) GetFIDO2(ctx context.Context, userID, methodID string) (*Method, error) {
	var m models.Fido2AuthenticationMethodable
	err := c.retryRead(ctx, "read FIDO2 method", func() error {
		var err error
		m, err = c.graph.Users().
			ByUserId(userID).
			Authentication().
			Fido2Methods().
			ByFido2AuthenticationMethodId(methodID).
			Get(ctx, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := methodFrom(m)
	return &out, nil
}

// ErrNotFound is wrapped when a method does not exist (any more).
var ErrNotFound = errors.New("not found")

// DeleteFIDO2 removes a method. A method already gone is reported as
// ErrNotFound; after an ambiguous failure it reads back to learn the truth.
func (c *Client) DeleteFIDO2(ctx context.Context, userID, methodID string) error {
	for attempt := 1; ; attempt++ {
		err := c.graph.Users().
			ByUserId(userID).
			Authentication().
			Fido2Methods().
			ByFido2AuthenticationMethodId(methodID).
			Delete(ctx, nil)
		if err == nil {
			return nil
		}
		if ge, ok := asGraphError(err); ok && ge.Status == http.StatusNotFound {
			return fmt.Errorf("delete FIDO2 method %s: %w", methodID, ErrNotFound)
		}
		if !ambiguous(err) || attempt >= c.opts.MaxAttempts {
			return fmt.Errorf("delete FIDO2 method %s: %w", methodID, describe(err))
		}
		// Did the delete happen before the failure? Look before retrying.
		var ge *GraphError
		if _, gerr := c.GetFIDO2(ctx, userID, methodID); errors.As(gerr, &ge) && ge.Status == http.StatusNotFound {
			return nil
		}
		if werr := sleep(ctx, c.opts.RetryDelay*time.Duration(attempt)); werr != nil {
			return werr
		}
	}
}

// Credential is a new credential as the key produced it.
type Credential struct {
	ID                []byte
	ClientDataJSON    []byte
	AttestationObject []byte
	AAGUID            string
	// ClientExtensionResults are the WebAuthn client extension outputs
	// (e.g. {"hmacCreateSecret": true, "credProps": {"rk": true}}).
	ClientExtensionResults map[string]any
}

// registrationBody is the JSON body of POST fido2Methods.
func registrationBody(displayName string, cred Credential) ([]byte, error) {
	ext := cred.ClientExtensionResults
	if ext == nil {
		ext = map[string]any{}
	}
	enc := base64.RawURLEncoding.EncodeToString
	return json.Marshal(map[string]any{
		"displayName": displayName,
		"publicKeyCredential": map[string]any{
			"id": enc(cred.ID),
			"response": map[string]any{
				"clientDataJSON": enc(cred.ClientDataJSON), "attestationObject": enc(cred.AttestationObject),
			},
			"clientExtensionResults": ext,
		},
	})
}

// Register adds the credential to the user's FIDO2 methods and never does
// so twice. A method is judged by its credential, never by its name alone:
// Graph does not return a method's credential ID (publicKeyCredential is
// write-only, and the method id is an opaque identifier: the POST example's
// response id "73ecec75-…" is no encoding of the credential id it
// registered; microsoftgraph/microsoft-graph-docs-contrib,
// api-reference/beta/api/authentication-post-fido2methods.md), but the
// creation options list in excludeCredentials "the credentials that are
// already registered for this user"
// (https://learn.microsoft.com/en-us/graph/api/resources/webauthnpublickeycredentialcreationoptions).
// So before it posts, and after any failure that may hide a success, it
// asks whether this credential is registered: if it is, the method with
// this display name and AAGUID is adopted as done (Adopted set); a method
// with this display name while the credential is not registered is a
// conflict, named, and nothing is posted. A 429 is waited out and retried
// (the service did nothing). A credential with only ID and AAGUID (no
// attestation) only asks: its method, or ErrNotFound.
func (c *Client) Register(ctx context.Context, userID, displayName string, cred Credential) (*Method, error) {
	m, err := c.adopt(ctx, userID, displayName, cred, nil)
	switch {
	case err != nil:
		return nil, fmt.Errorf("register %q: %w", displayName, err)
	case m != nil:
		return m, nil
	case len(cred.ClientDataJSON) == 0 || len(cred.AttestationObject) == 0:
		return nil, fmt.Errorf("register %q: credential %s is not registered: %w",
			displayName, b64url(cred.ID), ErrNotFound)
	}
	body, err := registrationBody(displayName, cred)
	if err != nil {
		return nil, err
	}
	before, err := c.ListFIDO2(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("register %q: list before: %w", displayName, err)
	}
	known := map[string]bool{}
	for _, m := range before {
		known[m.ID] = true
	}
	u, err := url.Parse(c.root + "/v1.0/users/" + url.PathEscape(userID) + "/authentication/fido2Methods")
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		ri := abs.NewRequestInformation()
		ri.Method = abs.POST
		ri.SetUri(*u)
		ri.Headers.TryAdd("Accept", "application/json")
		ri.SetStreamContentAndContentType(body, "application/json")
		// No automatic retry of the write: we decide, knowing what it did.
		ri.AddRequestOptions([]abs.RequestOption{&khttp.RetryHandlerOptions{
			ShouldRetry: func(time.Duration, int, *http.Request, *http.Response) bool { return false },
		}})
		res, err := c.adapter.Send(
			ctx,
			ri,
			models.CreateFido2AuthenticationMethodFromDiscriminatorValue,
			errorMapping(),
		)
		if err == nil {
			m, ok := res.(models.Fido2AuthenticationMethodable)
			if !ok || m.GetId() == nil {
				return nil, errors.New("register: Graph answered without a method id")
			}
			out := methodFrom(m)
			return &out, nil
		}
		ge, isGraph := asGraphError(err)
		switch {
		case isGraph && ge.Status == http.StatusTooManyRequests && attempt < c.opts.MaxAttempts:
			wait := ge.RetryAfter
			if wait <= 0 {
				wait = c.opts.RetryDelay
			}
			if werr := sleep(ctx, wait); werr != nil {
				return nil, werr
			}
			continue
		case isGraph && ge.Status == http.StatusBadRequest &&
			strings.Contains(strings.ToLower(ge.Code+ge.Message), "challenge"):
			if strings.Contains(strings.ToLower(ge.Message), "expired") {
				return nil, fmt.Errorf("register %q: %w", displayName, ErrChallengeExpired)
			}
			// An already-used challenge after an earlier attempt of ours:
			// that attempt may have registered the key.
			if m, ferr := c.adopt(ctx, userID, displayName, cred, known); ferr == nil && m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("register %q: %w", displayName, explainServiceLimits(ge))
		case isGraph && ge.Status == http.StatusConflict:
			if m, ferr := c.adopt(ctx, userID, displayName, cred, known); ferr == nil && m != nil {
				return m, nil
			}
			return nil, fmt.Errorf("register %q: %w", displayName, ge)
		case !ambiguous(err):
			return nil, fmt.Errorf("register %q: %w", displayName, explainServiceLimits(describe(err)))
		}
		// Ambiguous: the method may exist now. Look before trying again.
		m, ferr := c.adopt(ctx, userID, displayName, cred, known)
		if ferr != nil {
			return nil, fmt.Errorf(
				"register %q: %v, and listing the methods to check failed too: %w",
				displayName,
				describe(err),
				ferr,
			)
		}
		if m != nil {
			return m, nil
		}
		if attempt >= c.opts.MaxAttempts {
			return nil, fmt.Errorf("register %q: gave up after %d attempts: %w", displayName, attempt, describe(err))
		}
		if werr := sleep(ctx, c.opts.RetryDelay*time.Duration(attempt)); werr != nil {
			return nil, werr
		}
	}
}

// b64url is the unpadded base64url Graph uses for credential IDs.
func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// registeredCredentials are the credential IDs Graph lists as already
// registered for the user (excludeCredentials of fresh creation options).
func (c *Client) registeredCredentials(ctx context.Context, userID string) (map[string]bool, error) {
	o, err := c.CreationOptions(ctx, userID, 0)
	if err != nil {
		return nil, fmt.Errorf("which credentials are registered: %w", err)
	}
	ids := map[string]bool{}
	for _, x := range o.PublicKey.ExcludeCredentials {
		if id, err := b64(x.ID); err == nil {
			ids[b64url(id)] = true
		}
	}
	return ids, nil
}

// adopt returns the method that holds cred when Graph lists cred as
// registered: the one method with our display name and cred's AAGUID (not
// among skip, the methods that were there before a POST of ours). A method
// of our name while cred is not registered is a conflict (an error naming
// it); cred registered under no method of ours is a conflict too. nil, nil:
// not registered, no conflict.
func (c *Client) adopt(ctx context.Context, userID, displayName string, cred Credential,
	skip map[string]bool) (*Method, error) {
	list, err := c.ListFIDO2(ctx, userID)
	if err != nil {
		return nil, err
	}
	registered, err := c.registeredCredentials(ctx, userID)
	if err != nil {
		return nil, err
	}
	var named []Method
	for _, m := range list {
		if m.DisplayName == displayName && !skip[m.ID] {
			named = append(named, m)
		}
	}
	if !registered[b64url(cred.ID)] {
		if len(named) > 0 {
			m := named[0]
			return nil, fmt.Errorf("a FIDO2 method named %q already exists (method %s, AAGUID %s, created %s) "+
				"but Graph does not list this key's credential %s as registered: it is another key's. "+
				"Nothing was registered; the officers must find out whose key that method is (Entra admin "+
				"center, the user's authentication methods) before it is deleted or this key is registered "+
				"under another name",
				displayName, m.ID, m.AAGUID, m.Created.Format(time.RFC3339), b64url(cred.ID))
		}
		return nil, nil
	}
	var ours []Method
	for _, m := range named {
		if cred.AAGUID == "" || strings.EqualFold(m.AAGUID, cred.AAGUID) {
			ours = append(ours, m)
		}
	}
	if len(ours) != 1 {
		held := ""
		for _, m := range named {
			held += fmt.Sprintf("; Entra already holds a method named so: method %s, AAGUID %s, created %s",
				m.ID, m.AAGUID, m.Created.UTC().Format(time.RFC3339))
		}
		return nil, fmt.Errorf("this key's credential %s is already registered, but %d FIDO2 methods are named %q "+
			"with AAGUID %s%s. The officers must check the user's methods in Entra; nothing was registered",
			b64url(cred.ID), len(ours), displayName, cred.AAGUID, held)
	}
	ours[0].Adopted = true
	return &ours[0], nil
}
