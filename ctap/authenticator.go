package ctap

import "context"

// Authenticator is what the ceremony needs from a FIDO2 key. The native
// Client implements it; an alternative backend (go-libfido2) can too.
type Authenticator interface {
	Info(ctx context.Context) (*Info, error)
	PINRetries(ctx context.Context) (retries int, powerCycle bool, err error)
	SetPIN(ctx context.Context, pin []byte) error
	ChangePIN(ctx context.Context, current, newPIN []byte, confirmRetries int) error
	GetPINToken(ctx context.Context, pin []byte, tr TokenRequest) (*PINToken, error)
	Reset(ctx context.Context) error
	MakeCredential(ctx context.Context, o MakeCredentialOptions) (*MakeCredentialResult, error)
	GetAssertion(ctx context.Context, o GetAssertionOptions) ([]*Assertion, error)
	CredentialsMetadata(ctx context.Context, tok *PINToken) (CredentialsMetadata, error)
	RelyingParties(ctx context.Context, tok *PINToken) ([]RPInfo, error)
	Credentials(ctx context.Context, tok *PINToken, rpIDHash []byte) ([]CredentialInfo, error)
	DeleteCredential(ctx context.Context, tok *PINToken, credentialID []byte) error
	SetMinPINLength(ctx context.Context, tok *PINToken, length int, forceChange bool) error
	ToggleAlwaysUV(ctx context.Context, tok *PINToken) error
	Selection(ctx context.Context) error
}

var _ Authenticator = (*client)(nil)
