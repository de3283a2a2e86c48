package ctap

import "github.com/keyceremony/keyceremony/internal/ctapwire"

// The WebAuthn entities the client's options and replies carry; they are
// defined with the wire vocabulary (internal/ctapwire), which the simulated
// key shares.
type (
	// RelyingParty is a PublicKeyCredentialRpEntity.
	RelyingParty = ctapwire.RelyingParty
	// User is a PublicKeyCredentialUserEntity.
	User = ctapwire.User
	// CredentialDescriptor is a PublicKeyCredentialDescriptor.
	CredentialDescriptor = ctapwire.CredentialDescriptor
)
