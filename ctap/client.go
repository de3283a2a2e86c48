package ctap

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// Channel carries one CTAP2 message (command byte followed by CBOR) to an
// authenticator and returns its reply (status byte followed by CBOR).
// *hid.Device implements it. keepalive receives KEEPALIVE status bytes.
type Channel interface {
	CBOR(ctx context.Context, msg []byte, keepalive func(status byte)) ([]byte, error)
}

// deviceVersioner is a Channel that knows the device version the key gave
// in its CTAPHID_INIT answer (CTAP 2.1 §11.2.9.1.3: major, minor, build).
type deviceVersioner interface {
	DeviceVersion() [3]byte
}

// Keepalive is what the key says while it works on a request.
type Keepalive byte

// Keepalive states.
const (
	keepaliveProcessing   Keepalive = 0x01 // the key is working
	KeepaliveUserPresence Keepalive = 0x02 // the key waits for a touch
)

// Options tune a Client. The zero value gives the defaults.
type Options struct {
	// OnKeepalive, when set, is told each keepalive, so a UI can say
	// "touch the key" while the key waits for user presence.
	OnKeepalive func(Keepalive)
	// RetryFloor: at or below this many PIN retries left, no PIN is sent
	// unless the caller confirms the exact number. Default 3.
	RetryFloor int
	// PINProtocol forces PIN/UV auth protocol 1 or 2; 0 picks the best the
	// key offers.
	PINProtocol int
}

// client is a CTAP 2.1 client for one authenticator.
type client struct {
	ch   Channel
	opts Options
	info *Info // cached getInfo, refreshed by Info
}

// NewClient returns the native CTAP 2.1 client over ch.
func NewClient(ch Channel, opts Options) Authenticator {
	if opts.RetryFloor <= 0 {
		opts.RetryFloor = DefaultRetryFloor
	}
	return &client{ch: ch, opts: opts}
}

// call sends cmd with params and decodes the reply into out (when not nil).
func (c *client) call(ctx context.Context, cmd ctapwire.Command, params, out any) error {
	msg := []byte{byte(cmd)}
	if params != nil {
		b, err := ctapwire.Marshal(params)
		if err != nil {
			return fmt.Errorf("%s: encode request: %w", cmd, err)
		}
		msg = append(msg, b...)
	}
	var ka func(byte)
	if c.opts.OnKeepalive != nil {
		ka = func(s byte) { c.opts.OnKeepalive(Keepalive(s)) }
	}
	reply, err := c.ch.CBOR(ctx, msg, ka)
	if err != nil {
		return fmt.Errorf("%s: %w", cmd, err)
	}
	if len(reply) == 0 {
		return fmt.Errorf("%s: %w: empty reply", cmd, ErrMalformedReply)
	}
	if reply[0] != byte(ctapwire.StatusOK) {
		return fmt.Errorf("%s: %w", cmd, ctapwire.Status(reply[0]))
	}
	if out == nil {
		return nil
	}
	if len(reply) == 1 {
		return fmt.Errorf("%s: %w: reply has no body", cmd, ErrMalformedReply)
	}
	if err := ctapwire.Unmarshal(reply[1:], out); err != nil {
		return fmt.Errorf("%s: %w: %v", cmd, ErrMalformedReply, err)
	}
	return nil
}

// Info runs authenticatorGetInfo and caches the answer for protocol choices.
func (c *client) Info(ctx context.Context) (*Info, error) {
	var info Info
	if err := c.call(ctx, ctapwire.CmdGetInfo, nil, &info); err != nil {
		return nil, err
	}
	if len(info.Versions) == 0 {
		return nil, fmt.Errorf("getInfo: %w: no versions", ErrMalformedReply)
	}
	if info.FirmwareVersion != nil {
		info.FirmwareSource = firmwareFromGetInfo
	} else if dv, ok := c.ch.(deviceVersioner); ok {
		if v := dv.DeviceVersion(); v != [3]byte{} {
			fw := uint64(v[0])<<16 | uint64(v[1])<<8 | uint64(v[2])
			info.FirmwareVersion, info.FirmwareSource = &fw, FirmwareFromCTAPHID
		}
	}
	c.info = &info
	return &info, nil
}

func (c *client) cachedInfo(ctx context.Context) (*Info, error) {
	if c.info != nil {
		return c.info, nil
	}
	return c.Info(ctx)
}

// pinProtocol picks the PIN/UV auth protocol: the forced one, else 2 when
// offered, else 1.
func (c *client) pinProtocol(ctx context.Context) (ctapwire.PINProtocol, error) {
	info, err := c.cachedInfo(ctx)
	if err != nil {
		return nil, err
	}
	if c.opts.PINProtocol != 0 {
		if !info.supportsPINProtocol(c.opts.PINProtocol) {
			return nil, fmt.Errorf(
				"key does not offer PIN/UV auth protocol %d (offers %v)",
				c.opts.PINProtocol,
				info.PinUvAuthProtocols,
			)
		}
		return ctapwire.ProtocolByVersion(c.opts.PINProtocol)
	}
	for _, v := range []int{2, 1} {
		if info.supportsPINProtocol(v) {
			return ctapwire.ProtocolByVersion(v)
		}
	}
	return nil, errors.New("key offers no PIN/UV auth protocol this tool supports")
}

// PINRetries returns the PIN retries left and whether the key needs a power
// cycle before it accepts another PIN.
func (c *client) PINRetries(ctx context.Context) (retries int, powerCycle bool, err error) {
	p, err := c.pinProtocol(ctx)
	if err != nil {
		return 0, false, err
	}
	var resp ctapwire.ClientPINResponse
	req := ctapwire.ClientPINRequest{Protocol: p.Version(), SubCommand: ctapwire.PINGetRetries}
	if err := c.call(ctx, ctapwire.CmdClientPIN, req, &resp); err != nil {
		return 0, false, fmt.Errorf("get PIN retries: %w", err)
	}
	if resp.PINRetries == nil || *resp.PINRetries < 0 {
		return 0, false, fmt.Errorf("get PIN retries: %w: no retry count", ErrMalformedReply)
	}
	return *resp.PINRetries, resp.PowerCycleState != nil && *resp.PowerCycleState, nil
}

// sharedSecret runs getKeyAgreement and the platform half of ECDH.
func (c *client) sharedSecret(ctx context.Context, p ctapwire.PINProtocol) (ctapwire.COSEKey, []byte, error) {
	var resp ctapwire.ClientPINResponse
	req := ctapwire.ClientPINRequest{Protocol: p.Version(), SubCommand: ctapwire.PINGetKeyAgreement}
	if err := c.call(ctx, ctapwire.CmdClientPIN, req, &resp); err != nil {
		return ctapwire.COSEKey{}, nil, fmt.Errorf("key agreement: %w", err)
	}
	if resp.KeyAgreement == nil {
		return ctapwire.COSEKey{}, nil, fmt.Errorf("key agreement: %w: no key", ErrMalformedReply)
	}
	peer, err := resp.KeyAgreement.ECDH()
	if err != nil {
		return ctapwire.COSEKey{}, nil, fmt.Errorf("key agreement: %w", err)
	}
	return ctapwire.Encapsulate(p, peer)
}

// ValidatePIN checks a PIN against CTAP rules (4 or more Unicode code points,
// at most 63 bytes of UTF-8, no NUL), the minimum length minLen and, when
// info is not nil, what the key says of itself: its maxPINLength and, when
// it enforces a PIN complexity policy, the rules such policies hold (see
// complexityRefusal). A PIN the key would refuse is refused here first,
// with the reason, before it is sent.
func ValidatePIN(pin []byte, info *Info, minLen int) error {
	if minLen < 4 {
		minLen = 4
	}
	n := utf8.RuneCount(pin)
	switch {
	case !utf8.Valid(pin):
		return errors.New("PIN is not valid UTF-8")
	case n < minLen:
		return fmt.Errorf("PIN is shorter than %d characters", minLen)
	case len(pin) > 63:
		return errors.New("PIN is longer than 63 bytes")
	case info != nil && info.MaxPINLength > 0 && n > info.MaxPINLength:
		return fmt.Errorf("PIN is longer than the key's maxPINLength of %d characters", info.MaxPINLength)
	}
	for _, b := range pin {
		if b == 0 {
			return errors.New("PIN contains a NUL character")
		}
	}
	if info != nil && info.PINComplexityPolicy != nil && *info.PINComplexityPolicy {
		if why := complexityRefusal(pin); why != "" {
			return fmt.Errorf("the key enforces a PIN complexity policy%s and would refuse this PIN: %s",
				info.policyURLText(), why)
		}
	}
	return nil
}

// padPIN returns the PIN padded with zeros to 64 bytes (the caller zeroes it).
func padPIN(pin []byte) []byte {
	padded := make([]byte, 64)
	copy(padded, pin)
	return padded
}

// pinHash is LEFT(SHA-256(PIN), 16) (the caller zeroes it).
func pinHash(pin []byte) []byte {
	h := sha256.Sum256(pin)
	out := make([]byte, 16)
	copy(out, h[:16])
	clear(h[:])
	return out
}

// SetPIN sets the first PIN of a key that has none.
func (c *client) SetPIN(ctx context.Context, pin []byte) error {
	info, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("set PIN: %w", err)
	}
	if set, ok := info.Option("clientPin"); !ok {
		return errors.New("set PIN: key does not support a PIN")
	} else if set {
		return errors.New("set PIN: key already has a PIN (change it, or reset the key)")
	}
	if err := ValidatePIN(pin, info, info.MinPINLength); err != nil {
		return fmt.Errorf("set PIN: %w", err)
	}
	p, err := c.pinProtocol(ctx)
	if err != nil {
		return fmt.Errorf("set PIN: %w", err)
	}
	platformKey, secret, err := c.sharedSecret(ctx, p)
	if err != nil {
		return fmt.Errorf("set PIN: %w", err)
	}
	defer clear(secret)
	padded := padPIN(pin)
	defer clear(padded)
	newPINEnc, err := p.Encrypt(secret, padded)
	if err != nil {
		return fmt.Errorf("set PIN: %w", err)
	}
	req := ctapwire.ClientPINRequest{
		Protocol: p.Version(), SubCommand: ctapwire.PINSetPIN, KeyAgreement: &platformKey,
		NewPINEnc: newPINEnc, PinUvAuth: p.Authenticate(secret, newPINEnc),
	}
	if err := c.call(ctx, ctapwire.CmdClientPIN, req, nil); err != nil {
		return fmt.Errorf("set PIN: %w", err)
	}
	return nil
}

// guardRetries refuses to send a PIN when retries are at or below the floor,
// unless confirmRetries equals the number left (a person saw it and agreed).
func (c *client) guardRetries(ctx context.Context, confirmRetries int) error {
	left, _, err := c.PINRetries(ctx)
	if err != nil {
		return err
	}
	if left == 0 {
		return &PINError{Status: ctapwire.StatusPINBlocked, RetriesLeft: 0}
	}
	if left <= c.opts.RetryFloor && confirmRetries != left {
		return &LowRetriesError{Left: left, Floor: c.opts.RetryFloor}
	}
	return nil
}

// pinFailure turns a wrong-PIN status into a PINError with the retries left.
func (c *client) pinFailure(ctx context.Context, what string, err error) error {
	var st ctapwire.Status
	if errors.As(err, &st) &&
		(st == ctapwire.StatusPINInvalid || st == ctapwire.StatusPINAuthBlocked || st == ctapwire.StatusPINBlocked) {
		left := -1
		if st == ctapwire.StatusPINBlocked {
			left = 0
		} else if n, _, rerr := c.PINRetries(ctx); rerr == nil {
			left = n
		}
		return fmt.Errorf("%s: %w", what, &PINError{Status: st, RetriesLeft: left})
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ChangePIN replaces the PIN. confirmRetries: see TokenRequest.ConfirmRetries.
func (c *client) ChangePIN(ctx context.Context, current, newPIN []byte, confirmRetries int) error {
	info, err := c.Info(ctx)
	if err != nil {
		return fmt.Errorf("change PIN: %w", err)
	}
	if set, _ := info.Option("clientPin"); !set {
		return errors.New("change PIN: key has no PIN yet (set one instead)")
	}
	if err := ValidatePIN(newPIN, info, info.MinPINLength); err != nil {
		return fmt.Errorf("change PIN: new PIN: %w", err)
	}
	if err := c.guardRetries(ctx, confirmRetries); err != nil {
		return fmt.Errorf("change PIN: %w", err)
	}
	p, err := c.pinProtocol(ctx)
	if err != nil {
		return fmt.Errorf("change PIN: %w", err)
	}
	platformKey, secret, err := c.sharedSecret(ctx, p)
	if err != nil {
		return fmt.Errorf("change PIN: %w", err)
	}
	defer clear(secret)
	hash := pinHash(current)
	defer clear(hash)
	padded := padPIN(newPIN)
	defer clear(padded)
	pinHashEnc, err := p.Encrypt(secret, hash)
	if err != nil {
		return fmt.Errorf("change PIN: %w", err)
	}
	newPINEnc, err := p.Encrypt(secret, padded)
	if err != nil {
		return fmt.Errorf("change PIN: %w", err)
	}
	req := ctapwire.ClientPINRequest{
		Protocol: p.Version(), SubCommand: ctapwire.PINChangePIN, KeyAgreement: &platformKey,
		NewPINEnc: newPINEnc, PINHashEnc: pinHashEnc,
		PinUvAuth: p.Authenticate(secret, append(append([]byte{}, newPINEnc...), pinHashEnc...)),
	}
	if err := c.call(ctx, ctapwire.CmdClientPIN, req, nil); err != nil {
		return c.pinFailure(ctx, "change PIN", err)
	}
	return nil
}

// TokenRequest says what a pinUvAuthToken is for.
type TokenRequest struct {
	// Permissions requested. Zero asks with the CTAP 2.0 getPinToken, which
	// grants makeCredential and getAssertion.
	Permissions Permission
	// RPID binds the token to one relying party (needed for mc and ga on
	// some keys); empty leaves it unbound.
	RPID string
	// ConfirmRetries must equal the retries left when they are at or below
	// the client's floor: it is the officer's explicit "yes, try with N left".
	ConfirmRetries int
}

// PINToken is a pinUvAuthToken and the protocol it belongs to. Zero it
// when done.
type PINToken struct {
	protocol ctapwire.PINProtocol
	token    []byte
	// pin is set instead of protocol and token in a deferred token: a
	// backend whose library exchanges the PIN for a token on every call
	// (libfido2) keeps the PIN for the token's lifetime.
	pin         []byte
	Permissions Permission
	RPID        string
}

// NewDeferredPINToken returns a token that carries a copy of the PIN, for a
// backend whose library takes the PIN on every call instead of a
// pinUvAuthToken (libfido2 does). Zero wipes the copy; the native client
// refuses such a token.
func NewDeferredPINToken(pin []byte, tr TokenRequest) *PINToken {
	return &PINToken{pin: append([]byte(nil), pin...), Permissions: tr.Permissions, RPID: tr.RPID}
}

// DeferredPIN returns the PIN a deferred token carries (nil for a real
// pinUvAuthToken). The slice is the token's own: do not keep it.
func (t *PINToken) DeferredPIN() []byte { return t.pin }

// protocolNumber returns the PIN/UV auth protocol version of the token (0 for a
// deferred token).
func (t *PINToken) protocolNumber() int {
	if t.protocol == nil {
		return 0
	}
	return t.protocol.Version()
}

// authenticate computes a pinUvAuthParam over msg with the token (nil for a
// deferred token).
func (t *PINToken) authenticate(msg []byte) []byte {
	if t.protocol == nil {
		return nil
	}
	return t.protocol.Authenticate(t.token, msg)
}

// usable reports whether the native client can authenticate with the token.
func (t *PINToken) usable() error {
	if t.protocol == nil {
		return errors.New("this PIN token was made by another backend")
	}
	return nil
}

// Zero wipes the token (and the PIN of a deferred token).
func (t *PINToken) Zero() {
	clear(t.token)
	clear(t.pin)
}

// GetPINToken exchanges the PIN for a pinUvAuthToken. It refuses to send the
// PIN when the retries left are at or below the floor (see TokenRequest).
func (c *client) GetPINToken(ctx context.Context, pin []byte, tr TokenRequest) (*PINToken, error) {
	info, err := c.cachedInfo(ctx)
	if err != nil {
		return nil, fmt.Errorf("PIN token: %w", err)
	}
	if err := c.guardRetries(ctx, tr.ConfirmRetries); err != nil {
		return nil, fmt.Errorf("PIN token: %w", err)
	}
	p, err := c.pinProtocol(ctx)
	if err != nil {
		return nil, fmt.Errorf("PIN token: %w", err)
	}
	platformKey, secret, err := c.sharedSecret(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("PIN token: %w", err)
	}
	defer clear(secret)
	hash := pinHash(pin)
	defer clear(hash)
	pinHashEnc, err := p.Encrypt(secret, hash)
	if err != nil {
		return nil, fmt.Errorf("PIN token: %w", err)
	}
	req := ctapwire.ClientPINRequest{
		Protocol:     p.Version(),
		SubCommand:   ctapwire.PINGetToken,
		KeyAgreement: &platformKey,
		PINHashEnc:   pinHashEnc,
	}
	granted := PermMakeCredential | PermGetAssertion
	if tr.Permissions != 0 {
		if ok, _ := info.Option("pinUvAuthToken"); !ok {
			return nil, errors.New(
				"PIN token: key does not support tokens with permissions (CTAP 2.1); this operation needs them",
			)
		}
		perms := uint8(tr.Permissions)
		req.SubCommand, req.Permissions, req.PermissionsRP = ctapwire.PINGetTokenWithPermissions, &perms, tr.RPID
		granted = tr.Permissions
	}
	var resp ctapwire.ClientPINResponse
	if err := c.call(ctx, ctapwire.CmdClientPIN, req, &resp); err != nil {
		return nil, c.pinFailure(ctx, "PIN token", err)
	}
	token, err := p.Decrypt(secret, resp.PinUvAuthToken)
	if err != nil || (len(token) != 16 && len(token) != 32) {
		return nil, fmt.Errorf("PIN token: %w: undecryptable token", ErrMalformedReply)
	}
	return &PINToken{protocol: p, token: token, Permissions: granted, RPID: tr.RPID}, nil
}

// Reset erases every credential and the PIN. Keys accept it only within
// about 10 seconds of being plugged in, and only after a touch.
func (c *client) Reset(ctx context.Context) error {
	if err := c.call(ctx, ctapwire.CmdReset, nil, nil); err != nil {
		return err // call names the command ("reset: …")
	}
	c.info = nil
	return nil
}

// Selection asks the key to wait for a touch (to pick one of several keys).
func (c *client) Selection(ctx context.Context) error {
	return c.call(ctx, ctapwire.CmdSelection, nil, nil) // call names the command

}
