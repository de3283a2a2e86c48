package ctapwire

import "bytes"

// cmdConfig is authenticatorConfig's command byte (CTAP 2.1 §6.11).
const cmdConfig = 0x0d

// clientPIN subcommands (CTAP 2.1 §6.5.5).
const (
	PINGetRetries              = 0x01
	PINGetKeyAgreement         = 0x02
	PINSetPIN                  = 0x03
	PINChangePIN               = 0x04
	PINGetToken                = 0x05
	PINGetTokenWithPermissions = 0x09
)

// ClientPINRequest is the clientPIN command's parameter map.
type ClientPINRequest struct {
	Protocol      int      `cbor:"1,keyasint,omitempty"`
	SubCommand    int      `cbor:"2,keyasint"`
	KeyAgreement  *COSEKey `cbor:"3,keyasint,omitempty"`
	PinUvAuth     []byte   `cbor:"4,keyasint,omitempty"`
	NewPINEnc     []byte   `cbor:"5,keyasint,omitempty"`
	PINHashEnc    []byte   `cbor:"6,keyasint,omitempty"`
	Permissions   *uint8   `cbor:"9,keyasint,omitempty"` // absent and zero differ
	PermissionsRP string   `cbor:"10,keyasint,omitempty"`
}

// ClientPINResponse is the clientPIN command's reply map.
type ClientPINResponse struct {
	KeyAgreement    *COSEKey `cbor:"1,keyasint,omitempty"`
	PinUvAuthToken  []byte   `cbor:"2,keyasint,omitempty"`
	PINRetries      *int     `cbor:"3,keyasint,omitempty"`
	PowerCycleState *bool    `cbor:"4,keyasint,omitempty"`
	UVRetries       *int     `cbor:"5,keyasint,omitempty"`
}

// RelyingParty is a PublicKeyCredentialRpEntity.
type RelyingParty struct {
	ID   string `cbor:"id"             json:"id"`
	Name string `cbor:"name,omitempty" json:"name,omitempty"`
}

// User is a PublicKeyCredentialUserEntity.
type User struct {
	ID          []byte `cbor:"id"                    json:"id"`
	Name        string `cbor:"name,omitempty"        json:"name,omitempty"`
	DisplayName string `cbor:"displayName,omitempty" json:"displayName,omitempty"`
}

// CredentialParam is a PublicKeyCredentialParameters entry.
type CredentialParam struct {
	Type string `cbor:"type" json:"type"`
	Alg  int    `cbor:"alg"  json:"alg"`
}

// CredentialDescriptor is a PublicKeyCredentialDescriptor.
type CredentialDescriptor struct {
	Type       string   `cbor:"type"                 json:"type"`
	ID         []byte   `cbor:"id"                   json:"id"`
	Transports []string `cbor:"transports,omitempty" json:"transports,omitempty"`
}

// MakeCredentialRequest is the makeCredential parameter map. Clients fill
// it through Client.MakeCredential; simkey decodes it.
type MakeCredentialRequest struct {
	ClientDataHash        []byte                 `cbor:"1,keyasint"`
	RP                    RelyingParty           `cbor:"2,keyasint"`
	User                  User                   `cbor:"3,keyasint"`
	PubKeyCredParams      []CredentialParam      `cbor:"4,keyasint"`
	ExcludeList           []CredentialDescriptor `cbor:"5,keyasint,omitempty"`
	Extensions            map[string]any         `cbor:"6,keyasint,omitempty"`
	Options               map[string]bool        `cbor:"7,keyasint,omitempty"`
	PinUvAuthParam        []byte                 `cbor:"8,keyasint,omitempty"`
	PinUvAuthProtocol     int                    `cbor:"9,keyasint,omitempty"`
	EnterpriseAttestation int                    `cbor:"10,keyasint,omitempty"`
	// AttestationFormatsPreference (CTAP 2.2 §6.1, 0x0B): formats the
	// platform prefers, most preferred first.
	AttestationFormatsPreference []string `cbor:"11,keyasint,omitempty"`
}

// GetAssertionRequest is the getAssertion parameter map.
type GetAssertionRequest struct {
	RPID              string                 `cbor:"1,keyasint"`
	ClientDataHash    []byte                 `cbor:"2,keyasint"`
	AllowList         []CredentialDescriptor `cbor:"3,keyasint,omitempty"`
	Extensions        map[string]any         `cbor:"4,keyasint,omitempty"`
	Options           map[string]bool        `cbor:"5,keyasint,omitempty"`
	PinUvAuthParam    []byte                 `cbor:"6,keyasint,omitempty"`
	PinUvAuthProtocol int                    `cbor:"7,keyasint,omitempty"`
}

// credentialManagement subcommands (CTAP 2.1 §6.8).
const (
	CredMgmtGetMetadata         = 0x01
	CredMgmtEnumerateRPsBegin   = 0x02
	CredMgmtEnumerateRPsNext    = 0x03
	CredMgmtEnumerateCredsBegin = 0x04
	CredMgmtEnumerateCredsNext  = 0x05
	CredMgmtDeleteCredential    = 0x06
)

// CredMgmtParams are credentialManagement subCommandParams.
type CredMgmtParams struct {
	RPIDHash     []byte                `cbor:"1,keyasint,omitempty"`
	CredentialID *CredentialDescriptor `cbor:"2,keyasint,omitempty"`
	User         *User                 `cbor:"3,keyasint,omitempty"`
}

// CredMgmtRequest is the credentialManagement parameter map.
type CredMgmtRequest struct {
	SubCommand        int             `cbor:"1,keyasint"`
	Params            *CredMgmtParams `cbor:"2,keyasint,omitempty"`
	PinUvAuthProtocol int             `cbor:"3,keyasint,omitempty"`
	PinUvAuthParam    []byte          `cbor:"4,keyasint,omitempty"`
}

// CredMgmtResponse is the credentialManagement reply map.
type CredMgmtResponse struct {
	ExistingResidentCredentialsCount *int                  `cbor:"1,keyasint,omitempty"`
	MaxRemainingResidentCredentials  *int                  `cbor:"2,keyasint,omitempty"`
	RP                               *RelyingParty         `cbor:"3,keyasint,omitempty"`
	RPIDHash                         []byte                `cbor:"4,keyasint,omitempty"`
	TotalRPs                         int                   `cbor:"5,keyasint,omitempty"`
	User                             *User                 `cbor:"6,keyasint,omitempty"`
	CredentialID                     *CredentialDescriptor `cbor:"7,keyasint,omitempty"`
	PublicKey                        RawMessage            `cbor:"8,keyasint,omitempty"`
	TotalCredentials                 int                   `cbor:"9,keyasint,omitempty"`
	CredProtect                      int                   `cbor:"10,keyasint,omitempty"`
	LargeBlobKey                     []byte                `cbor:"11,keyasint,omitempty"`
}

// authenticatorConfig subcommands (CTAP 2.1 §6.11).
const (
	ConfigEnableEnterpriseAttestation = 0x01
	ConfigToggleAlwaysUV              = 0x02
	ConfigSetMinPINLength             = 0x03
)

// ConfigParams are setMinPINLength's subCommandParams.
type ConfigParams struct {
	NewMinPINLength   int      `cbor:"1,keyasint,omitempty"`
	MinPINLengthRPIDs []string `cbor:"2,keyasint,omitempty"`
	ForceChangePIN    bool     `cbor:"3,keyasint,omitempty"`
}

// ConfigRequest is the authenticatorConfig parameter map.
type ConfigRequest struct {
	SubCommand        int           `cbor:"1,keyasint"`
	Params            *ConfigParams `cbor:"2,keyasint,omitempty"`
	PinUvAuthProtocol int           `cbor:"3,keyasint,omitempty"`
	PinUvAuthParam    []byte        `cbor:"4,keyasint,omitempty"`
}

// ConfigAuthMessage is what authenticatorConfig's pinUvAuthParam covers:
// 32 bytes of 0xff, the command byte 0x0d, the subcommand and its parameters.
func ConfigAuthMessage(sub int, params []byte) []byte {
	msg := append(bytes.Repeat([]byte{0xff}, 32), cmdConfig, byte(sub))
	return append(msg, params...)
}
