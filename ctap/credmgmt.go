package ctap

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// CredentialsMetadata is the count of discoverable credentials on a key.
type CredentialsMetadata struct {
	Existing  int `json:"existing"`
	Remaining int `json:"remaining"`
}

// RPInfo is one relying party with discoverable credentials on the key.
type RPInfo struct {
	RP       RelyingParty `json:"rp"`
	RPIDHash []byte       `json:"rpIdHash"`
}

// CredentialInfo is one discoverable credential on the key.
type CredentialInfo struct {
	User         User                 `json:"user"`
	CredentialID CredentialDescriptor `json:"credentialId"`
	PublicKey    ctapwire.RawMessage  `json:"publicKey"`
	CredProtect  int                  `json:"credProtect,omitempty"`
}

// credMgmtCommand picks credentialManagement, or the CTAP 2.1 preview command
// 0x41 that YubiKey 5.2–5.4 firmware offers instead.
func (c *client) credMgmtCommand(ctx context.Context) (ctapwire.Command, error) {
	info, err := c.cachedInfo(ctx)
	if err != nil {
		return 0, err
	}
	if ok, _ := info.Option("credMgmt"); ok {
		return ctapwire.CmdCredentialManagement, nil
	}
	if ok, _ := info.Option("credentialMgmtPreview"); ok {
		return 0x41, nil
	}
	return 0, errors.New("key does not support credential management")
}

// credMgmt sends one credentialManagement subcommand; tok authenticates the
// subcommands that need it (nil for the "next" subcommands).
func (c *client) credMgmt(
	ctx context.Context,
	tok *PINToken,
	sub int,
	params *ctapwire.CredMgmtParams,
	out *ctapwire.CredMgmtResponse,
) error {
	cmd, err := c.credMgmtCommand(ctx)
	if err != nil {
		return err
	}
	req := ctapwire.CredMgmtRequest{SubCommand: sub, Params: params}
	if tok != nil {
		if tok.Permissions&PermCredentialManagement == 0 {
			return errors.New("credential management needs a PIN token with the cm permission")
		}
		if err := tok.usable(); err != nil {
			return err
		}
		msg := []byte{byte(sub)}
		if params != nil {
			b, err := ctapwire.Marshal(params)
			if err != nil {
				return err
			}
			msg = append(msg, b...)
		}
		req.PinUvAuthProtocol, req.PinUvAuthParam = tok.protocolNumber(), tok.authenticate(msg)
	}
	if out == nil {
		return c.call(ctx, cmd, req, nil)
	}
	return c.call(ctx, cmd, req, out)
}

// CredentialsMetadata counts the discoverable credentials on the key.
func (c *client) CredentialsMetadata(ctx context.Context, tok *PINToken) (CredentialsMetadata, error) {
	var r ctapwire.CredMgmtResponse
	if err := c.credMgmt(ctx, tok, ctapwire.CredMgmtGetMetadata, nil, &r); err != nil {
		return CredentialsMetadata{}, fmt.Errorf("credentials metadata: %w", err)
	}
	if r.ExistingResidentCredentialsCount == nil || r.MaxRemainingResidentCredentials == nil {
		return CredentialsMetadata{}, fmt.Errorf("credentials metadata: %w: counts missing", ErrMalformedReply)
	}
	return CredentialsMetadata{
		Existing:  *r.ExistingResidentCredentialsCount,
		Remaining: *r.MaxRemainingResidentCredentials,
	}, nil
}

// RelyingParties lists the relying parties with discoverable credentials.
func (c *client) RelyingParties(ctx context.Context, tok *PINToken) ([]RPInfo, error) {
	var r ctapwire.CredMgmtResponse
	err := c.credMgmt(ctx, tok, ctapwire.CredMgmtEnumerateRPsBegin, nil, &r)
	if errors.Is(err, ctapwire.StatusNoCredentials) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("enumerate relying parties: %w", err)
	}
	total := r.TotalRPs
	if total < 1 || total > 4096 {
		return nil, fmt.Errorf("enumerate relying parties: %w: %d announced", ErrMalformedReply, total)
	}
	var out []RPInfo
	for i := 0; ; i++ {
		if r.RP == nil || len(r.RPIDHash) != 32 {
			return nil, fmt.Errorf("enumerate relying parties: %w: entry %d incomplete", ErrMalformedReply, i)
		}
		out = append(out, RPInfo{RP: *r.RP, RPIDHash: r.RPIDHash})
		if i+1 == total {
			return out, nil
		}
		r = ctapwire.CredMgmtResponse{}
		if err := c.credMgmt(ctx, nil, ctapwire.CredMgmtEnumerateRPsNext, nil, &r); err != nil {
			return nil, fmt.Errorf("enumerate relying parties: %w", err)
		}
	}
}

// Credentials lists the discoverable credentials of one relying party.
func (c *client) Credentials(ctx context.Context, tok *PINToken, rpIDHash []byte) ([]CredentialInfo, error) {
	var r ctapwire.CredMgmtResponse
	err := c.credMgmt(ctx, tok, ctapwire.CredMgmtEnumerateCredsBegin, &ctapwire.CredMgmtParams{RPIDHash: rpIDHash}, &r)
	if errors.Is(err, ctapwire.StatusNoCredentials) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("enumerate credentials: %w", err)
	}
	total := r.TotalCredentials
	if total < 1 || total > 4096 {
		return nil, fmt.Errorf("enumerate credentials: %w: %d announced", ErrMalformedReply, total)
	}
	var out []CredentialInfo
	for i := 0; ; i++ {
		if r.User == nil || r.CredentialID == nil || len(r.PublicKey) == 0 {
			return nil, fmt.Errorf("enumerate credentials: %w: entry %d incomplete", ErrMalformedReply, i)
		}
		out = append(
			out,
			CredentialInfo{
				User:         *r.User,
				CredentialID: *r.CredentialID,
				PublicKey:    r.PublicKey,
				CredProtect:  r.CredProtect,
			},
		)
		if i+1 == total {
			return out, nil
		}
		r = ctapwire.CredMgmtResponse{}
		if err := c.credMgmt(ctx, nil, ctapwire.CredMgmtEnumerateCredsNext, nil, &r); err != nil {
			return nil, fmt.Errorf("enumerate credentials: %w", err)
		}
	}
}

// DeleteCredential removes one discoverable credential.
func (c *client) DeleteCredential(ctx context.Context, tok *PINToken, credentialID []byte) error {
	p := &ctapwire.CredMgmtParams{CredentialID: &CredentialDescriptor{Type: "public-key", ID: credentialID}}
	if err := c.credMgmt(ctx, tok, ctapwire.CredMgmtDeleteCredential, p, nil); err != nil {
		return fmt.Errorf("delete credential: %w", err)
	}
	return nil
}
