// CTAP2 status codes, command bytes and authenticator-data flags.

package ctapwire

import "fmt"

// Status is a CTAP2 status code (CTAP 2.1 §8.2). A non-zero Status is an
// error whose text tells an officer what happened and what to do; compare
// with errors.Is(err, ctapwire.StatusPINBlocked).
type Status byte

// CTAP2 status codes.
const (
	StatusOK                     Status = 0x00
	StatusInvalidCommand         Status = 0x01
	StatusInvalidParameter       Status = 0x02
	StatusInvalidLength          Status = 0x03
	StatusInvalidSeq             Status = 0x04
	StatusTimeout                Status = 0x05
	StatusChannelBusy            Status = 0x06
	StatusLockRequired           Status = 0x0a
	StatusInvalidChannel         Status = 0x0b
	StatusCBORUnexpectedType     Status = 0x11
	StatusInvalidCBOR            Status = 0x12
	StatusMissingParameter       Status = 0x14
	StatusLimitExceeded          Status = 0x15
	StatusFPDatabaseFull         Status = 0x17
	StatusLargeBlobStorageFull   Status = 0x18
	StatusCredentialExcluded     Status = 0x19
	StatusProcessing             Status = 0x21
	StatusInvalidCredential      Status = 0x22
	StatusUserActionPending      Status = 0x23
	StatusOperationPending       Status = 0x24
	StatusNoOperations           Status = 0x25
	StatusUnsupportedAlgorithm   Status = 0x26
	StatusOperationDenied        Status = 0x27
	StatusKeyStoreFull           Status = 0x28
	StatusUnsupportedOption      Status = 0x2b
	StatusInvalidOption          Status = 0x2c
	StatusKeepaliveCancel        Status = 0x2d
	StatusNoCredentials          Status = 0x2e
	StatusUserActionTimeout      Status = 0x2f
	StatusNotAllowed             Status = 0x30
	StatusPINInvalid             Status = 0x31
	StatusPINBlocked             Status = 0x32
	StatusPINAuthInvalid         Status = 0x33
	StatusPINAuthBlocked         Status = 0x34
	StatusPINNotSet              Status = 0x35
	StatusPUATRequired           Status = 0x36
	StatusPINPolicyViolation     Status = 0x37
	StatusRequestTooLarge        Status = 0x39
	StatusActionTimeout          Status = 0x3a
	StatusUPRequired             Status = 0x3b
	StatusUVBlocked              Status = 0x3c
	StatusIntegrityFailure       Status = 0x3d
	StatusInvalidSubcommand      Status = 0x3e
	StatusUVInvalid              Status = 0x3f
	StatusUnauthorizedPermission Status = 0x40
	StatusOther                  Status = 0x7f
)

var statusText = map[Status]string{
	StatusInvalidCommand:       "the key does not support this command",
	StatusInvalidParameter:     "the key rejected a parameter of the request",
	StatusInvalidLength:        "the key rejected the request length",
	StatusInvalidSeq:           "the key saw packets out of order",
	StatusTimeout:              "the key timed out",
	StatusChannelBusy:          "the key is busy with another program",
	StatusCBORUnexpectedType:   "the key rejected the request encoding (unexpected type)",
	StatusInvalidCBOR:          "the key rejected the request encoding (invalid CBOR)",
	StatusMissingParameter:     "the key says a required parameter is missing",
	StatusLimitExceeded:        "the request exceeds a limit of the key",
	StatusCredentialExcluded:   "this key already holds a credential for this account (it is on the exclude list)",
	StatusInvalidCredential:    "the key does not recognise this credential",
	StatusUnsupportedAlgorithm: "the key supports none of the requested algorithms",
	StatusOperationDenied:      "the key refused: the touch was declined",
	StatusKeyStoreFull:         "the key has no room for another discoverable credential",
	StatusUnsupportedOption:    "the key does not support a requested option",
	StatusInvalidOption:        "the key rejected an option",
	StatusKeepaliveCancel:      "the operation was cancelled",
	StatusNoCredentials:        "the key holds no credential for this request",
	StatusUserActionTimeout:    "nobody touched the key in time",
	StatusNotAllowed: "the key does not allow this now (a reset works only within 10 seconds of plugging the key in: " +
		"unplug it, plug it back, and confirm at once)",
	StatusPINInvalid: "wrong PIN",
	StatusPINBlocked: "the PIN is blocked: no retries are left, " +
		"only a reset (which erases every credential) makes the key usable again",
	StatusPINAuthInvalid: "the key rejected the PIN authentication (stale PIN token: try again)",
	StatusPINAuthBlocked: "three wrong PINs in a row: " +
		"the key refuses PINs until it is unplugged and plugged back in",
	StatusPINNotSet:    "the key has no PIN yet",
	StatusPUATRequired: "the key requires its PIN for this operation",
	StatusPINPolicyViolation: "the PIN does not meet the key's policy " +
		"(too short, too long, or the key demands a PIN change first)",
	StatusRequestTooLarge:        "the request is too large for the key",
	StatusActionTimeout:          "the key timed out waiting for an action",
	StatusUPRequired:             "the key requires a touch for this operation",
	StatusUVBlocked:              "built-in user verification is blocked",
	StatusIntegrityFailure:       "the key reports an integrity failure",
	StatusInvalidSubcommand:      "the key does not support this subcommand",
	StatusUVInvalid:              "built-in user verification failed",
	StatusUnauthorizedPermission: "the PIN token lacks the permission for this operation",
	StatusOther:                  "the key reported an unspecified error",
}

// Error implements error.
func (s Status) Error() string {
	if t, ok := statusText[s]; ok {
		return fmt.Sprintf("%s (CTAP2 0x%02x)", t, byte(s))
	}
	return fmt.Sprintf("the key answered CTAP2 status 0x%02x", byte(s))
}

// Command is a CTAP2 authenticator command byte.
type Command byte

// CTAP 2.1 commands.
const (
	CmdMakeCredential       Command = 0x01
	CmdGetAssertion         Command = 0x02
	CmdGetInfo              Command = 0x04
	CmdClientPIN            Command = 0x06
	CmdReset                Command = 0x07
	CmdGetNextAssertion     Command = 0x08
	CmdCredentialManagement Command = 0x0a
	CmdSelection            Command = 0x0b
	CmdConfig               Command = 0x0d
)

// String names the command as CTAP 2.1 does.
func (c Command) String() string {
	switch c {
	case CmdMakeCredential:
		return "makeCredential"
	case CmdGetAssertion:
		return "getAssertion"
	case CmdGetInfo:
		return "getInfo"
	case CmdClientPIN:
		return "clientPIN"
	case CmdReset:
		return "reset"
	case CmdGetNextAssertion:
		return "getNextAssertion"
	case CmdCredentialManagement:
		return "credentialManagement"
	case CmdSelection:
		return "selection"
	case CmdConfig:
		return "authenticatorConfig"
	}
	return fmt.Sprintf("command 0x%02x", byte(c))
}

// Authenticator-data flags (WebAuthn §6.1).
const (
	FlagUP = 0x01
	FlagUV = 0x04
	FlagBE = 0x08
	FlagBS = 0x10
	FlagAT = 0x40
	FlagED = 0x80
)
