package ctap

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// CredProtect levels (CTAP 2.1 §12.1).
const (
	CredProtectUVOptional                     = 1
	CredProtectUVOptionalWithCredentialIDList = 2
	CredProtectUVRequired                     = 3
)

// MakeCredentialOptions describe a new credential.
type MakeCredentialOptions struct {
	ClientDataHash []byte // SHA-256 of clientDataJSON
	RP             RelyingParty
	User           User
	Algorithms     []int                  // COSE algorithms in preference order; default ES256
	ExcludeList    []CredentialDescriptor // credentials the key must not already hold
	ResidentKey    bool                   // discoverable credential (rk)
	CredProtect    int                    // 0 (absent), or 1 to 3
	HMACSecret     bool                   // request the hmac-secret extension
	Token          *PINToken              // user verification via PIN; nil for none
	// EnterpriseAttestation is 0, 1 or 2 (CTAP 2.1 §7.1); 0 asks for none.
	EnterpriseAttestation int
}

// MakeCredential creates a credential. The key waits for a touch.
func (c *client) MakeCredential(ctx context.Context, o MakeCredentialOptions) (*MakeCredentialResult, error) {
	if len(o.ClientDataHash) != 32 {
		return nil, errors.New("makeCredential: clientDataHash must be 32 bytes")
	}
	algs := o.Algorithms
	if len(algs) == 0 {
		algs = []int{ctapwire.COSEAlgES256}
	}
	req := ctapwire.MakeCredentialRequest{
		ClientDataHash: o.ClientDataHash, RP: o.RP, User: o.User,
		ExcludeList: o.ExcludeList, EnterpriseAttestation: o.EnterpriseAttestation,
	}
	for _, a := range algs {
		req.PubKeyCredParams = append(req.PubKeyCredParams, ctapwire.CredentialParam{Type: "public-key", Alg: a})
	}
	if o.ResidentKey {
		req.Options = map[string]bool{"rk": true}
	}
	// A key listing several attestation formats (CTAP 2.2 getInfo 0x16) is
	// asked for packed (makeCredential 0x0B attestationFormatsPreference,
	// CTAP 2.2 §6.1): Entra ID registers packed or none only.
	if c.info != nil && len(c.info.AttestationFormats) > 1 && slices.Contains(c.info.AttestationFormats, "packed") {
		req.AttestationFormatsPreference = []string{"packed"}
	}
	ext := map[string]any{}
	if o.CredProtect != 0 {
		ext["credProtect"] = o.CredProtect
	}
	if o.HMACSecret {
		ext["hmac-secret"] = true
	}
	if len(ext) > 0 {
		req.Extensions = ext
	}
	if o.Token != nil {
		if err := o.Token.usable(); err != nil {
			return nil, err
		}
		req.PinUvAuthProtocol = o.Token.protocolNumber()
		req.PinUvAuthParam = o.Token.authenticate(o.ClientDataHash)
	}
	var res MakeCredentialResult
	if err := c.call(ctx, ctapwire.CmdMakeCredential, req, &res); err != nil {
		return nil, err
	}
	if res.Format == "" || len(res.AttStmt) == 0 {
		return nil, fmt.Errorf("makeCredential: %w: no attestation format or statement", ErrMalformedReply)
	}
	ad, err := ParseAuthData(res.AuthData)
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	if ad.Flags&ctapwire.FlagAT == 0 {
		return nil, fmt.Errorf("makeCredential: %w: authenticator data has no attested credential", ErrMalformedReply)
	}
	return &res, nil
}

// GetAssertionOptions describe an authentication request.
type GetAssertionOptions struct {
	RPID           string
	ClientDataHash []byte
	AllowList      []CredentialDescriptor
	UserPresence   *bool     // nil leaves the key's default (true)
	Token          *PINToken // user verification via PIN; nil for none
}

// GetAssertion signs clientDataHash with a credential of RPID. When the key
// finds several discoverable credentials it returns all of them.
func (c *client) GetAssertion(ctx context.Context, o GetAssertionOptions) ([]*Assertion, error) {
	if len(o.ClientDataHash) != 32 {
		return nil, errors.New("getAssertion: clientDataHash must be 32 bytes")
	}
	req := ctapwire.GetAssertionRequest{RPID: o.RPID, ClientDataHash: o.ClientDataHash, AllowList: o.AllowList}
	if o.UserPresence != nil {
		req.Options = map[string]bool{"up": *o.UserPresence}
	}
	if o.Token != nil {
		if err := o.Token.usable(); err != nil {
			return nil, err
		}
		req.PinUvAuthProtocol = o.Token.protocolNumber()
		req.PinUvAuthParam = o.Token.authenticate(o.ClientDataHash)
	}
	var first Assertion
	if err := c.call(ctx, ctapwire.CmdGetAssertion, req, &first); err != nil {
		return nil, err
	}
	out := []*Assertion{&first}
	n := first.NumberOfCredentials
	if n > 64 {
		return nil, fmt.Errorf("getAssertion: %w: %d credentials announced", ErrMalformedReply, n)
	}
	for i := 1; i < n; i++ {
		var next Assertion
		if err := c.call(ctx, ctapwire.CmdGetNextAssertion, nil, &next); err != nil {
			return nil, err
		}
		out = append(out, &next)
	}
	for _, a := range out {
		if len(a.Signature) == 0 || len(a.Credential.ID) == 0 {
			return nil, fmt.Errorf("getAssertion: %w: missing signature or credential", ErrMalformedReply)
		}
		if _, err := ParseAuthData(a.AuthData); err != nil {
			return nil, fmt.Errorf("getAssertion: %w", err)
		}
	}
	return out, nil
}
