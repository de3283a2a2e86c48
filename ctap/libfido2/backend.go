//go:build libfido2 && cgo

package libfido2

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"unsafe"

	gofido2 "github.com/keys-pub/go-libfido2"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// unsupported says which operation this backend cannot perform, and what
// to do instead; it wraps ctap.ErrUnsupported.
type unsupported struct {
	op     string // e.g. "authenticatorConfig setMinPINLength"
	remedy string // e.g. "use the native backend"
}

func (e *unsupported) Error() string {
	return fmt.Sprintf("the libfido2 backend cannot perform %s: %s", e.op, e.remedy)
}

// Unwrap makes errors.Is(err, ctap.ErrUnsupported) hold.
func (e *unsupported) Unwrap() error { return ctap.ErrUnsupported }

// Options tunes the backend.
type Options struct {
	// RetryFloor: at or below this many PIN retries left, no PIN is sent
	// unless the caller confirms the exact number. Default 3, as native.
	RetryFloor int
}

// authenticator is one key driven through libfido2. Every call opens the
// device, runs one libfido2 operation and closes it, as go-libfido2 does.
type authenticator struct {
	dev  *gofido2.Device
	path string
	opts Options
	idle chan struct{} // holds a token while no libfido2 call runs
}

var _ ctap.Authenticator = (*authenticator)(nil)

// Open returns the authenticator at a hidraw path (e.g. /dev/hidraw3). It
// does not touch the device until the first call, and holds it only during
// a call, so there is nothing to close.
func Open(path string, opts Options) (ctap.Authenticator, error) {
	if opts.RetryFloor == 0 {
		opts.RetryFloor = ctap.DefaultRetryFloor
	}
	dev, err := gofido2.NewDevice(path)
	if err != nil {
		return nil, fmt.Errorf("libfido2 open %s: %w", path, err)
	}
	a := &authenticator{dev: dev, path: path, opts: opts, idle: make(chan struct{}, 1)}
	a.idle <- struct{}{}
	return a, nil
}

// unavailableInfo lists the getInfo members go-libfido2 does not return.
var unavailableInfo = []string{"firmwareVersion", "minPINLength", "forcePINChange", "maxMsgSize",
	"remainingDiscoverableCredentials", "certifications", "algorithms", "transports"}

// do runs one blocking libfido2 call, one at a time. When ctx ends first,
// do returns at once; the abandoned call goes on until the key answers or
// its own touch timeout passes, and the next call waits for it. (No
// CTAPHID_CANCEL: go-libfido2's Device.Cancel reads the device handle that
// its open writes without the lock, a data race.)
func (a *authenticator) do(ctx context.Context, op string, fn func() error) error {
	select {
	case <-a.idle:
	case <-ctx.Done():
		return fmt.Errorf("%s: waiting for an abandoned call to finish: %w", op, ctx.Err())
	}
	done := make(chan error, 1)
	go func() {
		err := fn()
		a.idle <- struct{}{}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%s: %w", op, mapError(err))
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w (the key may wait for its touch until its own timeout)", op, ctx.Err())
	}
}

// Info implements ctap.Authenticator with what go-libfido2 returns; the
// members it cannot read are named in Info.Unavailable.
func (a *authenticator) Info(ctx context.Context) (*ctap.Info, error) {
	var di *gofido2.DeviceInfo
	if err := a.do(ctx, "getInfo", func() (err error) { di, err = a.dev.Info(); return }); err != nil {
		return nil, err
	}
	info := &ctap.Info{Versions: di.Versions, Extensions: di.Extensions, Options: map[string]bool{},
		Unavailable: append([]string(nil), unavailableInfo...)}
	if len(di.AAGUID) != len(info.AAGUID) {
		return nil, fmt.Errorf("getInfo: %w: AAGUID of %d bytes", ctap.ErrMalformedReply, len(di.AAGUID))
	}
	copy(info.AAGUID[:], di.AAGUID)
	for _, o := range di.Options {
		info.Options[o.Name] = o.Value == gofido2.True
	}
	for _, p := range di.Protocols {
		info.PinUvAuthProtocols = append(info.PinUvAuthProtocols, int(p))
	}
	return info, nil
}

// PINRetries implements ctap.Authenticator. libfido2 does not return the
// powerCycleState flag, so powerCycle is always false.
func (a *authenticator) PINRetries(ctx context.Context) (int, bool, error) {
	var n int
	err := a.do(ctx, "PIN retries", func() (err error) { n, err = a.dev.RetryCount(); return })
	return n, false, err
}

// pinString lends pin to go-libfido2 as a string without a Go copy, so
// zeroing pin afterwards also wipes what Go holds. (go-libfido2 still copies
// it to C memory it does not wipe: a documented limit of this backend.)
func pinString(pin []byte) string {
	if len(pin) == 0 {
		return ""
	}
	return unsafe.String(&pin[0], len(pin))
}

// SetPIN implements ctap.Authenticator.
func (a *authenticator) SetPIN(ctx context.Context, pin []byte) error {
	if err := ctap.ValidatePIN(pin, nil, 4); err != nil {
		return fmt.Errorf("set PIN: %w", err)
	}
	return a.do(ctx, "set PIN", func() error { return a.dev.SetPIN(pinString(pin), "") })
}

// guardRetries refuses to send a PIN at or below the retry floor unless the
// caller confirmed the exact number left, as the native client does.
func (a *authenticator) guardRetries(ctx context.Context, confirm int) error {
	left, _, err := a.PINRetries(ctx)
	if err != nil {
		return err
	}
	if left == 0 {
		return &ctap.PINError{Status: ctapwire.StatusPINBlocked, RetriesLeft: 0}
	}
	if left <= a.opts.RetryFloor && confirm != left {
		return &ctap.LowRetriesError{Left: left, Floor: a.opts.RetryFloor}
	}
	return nil
}

// pinFailure adds the retries left to a wrong-PIN error.
func (a *authenticator) pinFailure(ctx context.Context, err error) error {
	var st ctapwire.Status
	if !errors.As(err, &st) ||
		(st != ctapwire.StatusPINInvalid && st != ctapwire.StatusPINAuthBlocked && st != ctapwire.StatusPINBlocked) {
		return err
	}
	left := -1
	if st == ctapwire.StatusPINBlocked {
		left = 0
	} else if n, _, rerr := a.PINRetries(ctx); rerr == nil {
		left = n
	}
	return &ctap.PINError{Status: st, RetriesLeft: left}
}

// ChangePIN implements ctap.Authenticator.
func (a *authenticator) ChangePIN(ctx context.Context, current, newPIN []byte, confirmRetries int) error {
	if err := ctap.ValidatePIN(newPIN, nil, 4); err != nil {
		return fmt.Errorf("change PIN: %w", err)
	}
	if err := a.guardRetries(ctx, confirmRetries); err != nil {
		return fmt.Errorf("change PIN: %w", err)
	}
	err := a.do(ctx, "change PIN", func() error { return a.dev.SetPIN(pinString(newPIN), pinString(current)) })
	if err != nil {
		return fmt.Errorf("change PIN: %w", a.pinFailure(ctx, err))
	}
	return nil
}

// GetPINToken implements ctap.Authenticator. libfido2 exchanges the PIN for
// a pinUvAuthToken inside every call, so the token returned is a deferred
// one that carries the PIN. The PIN is checked now, as the native backend
// does (a wrong one fails here, with the retries left), through the
// credential-management metadata call on keys that have it.
func (a *authenticator) GetPINToken(ctx context.Context, pin []byte, tr ctap.TokenRequest) (*ctap.PINToken, error) {
	if err := a.guardRetries(ctx, tr.ConfirmRetries); err != nil {
		return nil, fmt.Errorf("PIN token: %w", err)
	}
	info, err := a.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("PIN token: %w", err)
	}
	if set, _ := info.Option("clientPin"); !set {
		return nil, fmt.Errorf("PIN token: %w", ctapwire.StatusPINNotSet)
	}
	cm, _ := info.Option("credMgmt")
	cmPre, _ := info.Option("credentialMgmtPreview")
	if cm || cmPre {
		err := a.do(ctx, "PIN token", func() error { _, err := a.dev.CredentialsInfo(pinString(pin)); return err })
		if err != nil {
			return nil, fmt.Errorf("PIN token: %w", a.pinFailure(ctx, unwrapOp(err)))
		}
	}
	return ctap.NewDeferredPINToken(pin, tr), nil
}

// unwrapOp drops the operation prefix do added, keeping the typed error.
func unwrapOp(err error) error {
	var pe *ctap.PINError
	var st ctapwire.Status
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.As(err, &st):
		return st
	}
	return err
}

// tokenPIN returns the PIN a token carries, or an error for a token the
// native backend made.
func tokenPIN(tok *ctap.PINToken) (string, error) {
	if tok == nil {
		return "", nil
	}
	pin := tok.DeferredPIN()
	if pin == nil {
		return "", errors.New("this PIN token was made by another backend")
	}
	return pinString(pin), nil
}

// Reset implements ctap.Authenticator.
func (a *authenticator) Reset(ctx context.Context) error {
	return a.do(ctx, "reset", a.dev.Reset)
}

// MakeCredential implements ctap.Authenticator and rebuilds the attestation
// statement from what libfido2 returns (fmt, authData, sig, x5c), byte for
// byte as the key sent it in CTAP2 canonical CBOR.
func (a *authenticator) MakeCredential(
	ctx context.Context,
	o ctap.MakeCredentialOptions,
) (*ctap.MakeCredentialResult, error) {
	if len(o.ClientDataHash) != 32 {
		return nil, errors.New("makeCredential: clientDataHash must be 32 bytes")
	}
	if o.EnterpriseAttestation != 0 {
		return nil, &unsupported{op: "enterprise attestation", remedy: "use the native backend"}
	}
	alg := ctapwire.COSEAlgES256
	if len(o.Algorithms) > 0 {
		alg = o.Algorithms[0]
	}
	pin, err := tokenPIN(o.Token)
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	if err := a.probeExcluded(ctx, o.RP.ID, o.ExcludeList, pin); err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	opts := &gofido2.MakeCredentialOpts{}
	if o.ResidentKey {
		opts.RK = gofido2.True
	}
	switch o.CredProtect {
	case 0:
	case ctap.CredProtectUVOptional:
		opts.CredProtect = gofido2.CredProtectUVOptional
	case ctap.CredProtectUVOptionalWithCredentialIDList:
		opts.CredProtect = gofido2.CredProtectUVOptionalWithID
	case 3:
		opts.CredProtect = gofido2.CredProtectUVRequired
	default:
		return nil, fmt.Errorf("makeCredential: credProtect %d", o.CredProtect)
	}
	if o.HMACSecret {
		opts.Extensions = append(opts.Extensions, gofido2.HMACSecretExtension)
	}
	var at *gofido2.Attestation
	err = a.do(ctx, "makeCredential", func() (err error) {
		at, err = a.dev.MakeCredential(o.ClientDataHash,
			gofido2.RelyingParty{ID: o.RP.ID, Name: o.RP.Name},
			gofido2.User{ID: o.User.ID, Name: o.User.Name, DisplayName: o.User.DisplayName},
			gofido2.CredentialType(alg), pin, opts)
		return err
	})
	if err != nil {
		return nil, err
	}
	return rebuildAttestation(at)
}

// attStmt fields, in CTAP2 canonical order (the order keys send).
type packedStmt struct {
	Alg int      `cbor:"alg"`
	Sig []byte   `cbor:"sig"`
	X5C [][]byte `cbor:"x5c,omitempty"`
}

type u2fStmt struct {
	Sig []byte   `cbor:"sig"`
	X5C [][]byte `cbor:"x5c"`
}

// rebuildAttestation turns libfido2's parsed attestation back into the
// authenticator's reply. libfido2 1.12 keeps one x5c certificate, as every
// key in the policy sends.
func rebuildAttestation(at *gofido2.Attestation) (*ctap.MakeCredentialResult, error) {
	// fido_cred_authdata_ptr is the CBOR byte string the key sent; unwrap it.
	var authData []byte
	if err := ctapwire.Unmarshal(at.AuthData, &authData); err != nil {
		return nil, fmt.Errorf("makeCredential: %w: authData from libfido2: %v", ctap.ErrMalformedReply, err)
	}
	var stmt any
	switch at.Format {
	case "packed":
		if len(at.Cert) == 0 { // self attestation: signed with the credential key
			stmt = packedStmt{Alg: int(at.CredentialType), Sig: at.Sig}
			break
		}
		alg, err := certAlgorithm(at.Cert)
		if err != nil {
			return nil, fmt.Errorf("makeCredential: %w", err)
		}
		stmt = packedStmt{Alg: alg, Sig: at.Sig, X5C: [][]byte{at.Cert}}
	case "fido-u2f":
		stmt = u2fStmt{Sig: at.Sig, X5C: [][]byte{at.Cert}}
	case "none":
		stmt = map[string]any{}
	default:
		return nil, &unsupported{
			op:     fmt.Sprintf("rebuilding %q attestation", at.Format),
			remedy: "use the native backend",
		}
	}
	raw, err := ctapwire.Marshal(stmt)
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	return &ctap.MakeCredentialResult{Format: at.Format, AuthData: authData, AttStmt: raw}, nil
}

// certAlgorithm is the COSE algorithm an attestation certificate's key signs with.
func certAlgorithm(der []byte) (int, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return 0, fmt.Errorf("%w: attestation certificate: %v", ctap.ErrMalformedReply, err)
	}
	switch k := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		switch k.Curve.Params().BitSize {
		case 256:
			return ctapwire.COSEAlgES256, nil
		case 384:
			return -35, nil
		case 521:
			return -36, nil
		}
	case ed25519.PublicKey:
		return -8, nil
	case *rsa.PublicKey:
		return -257, nil
	}
	return 0, fmt.Errorf("%w: attestation key %T", ctap.ErrMalformedReply, cert.PublicKey)
}

// probeExcluded emulates makeCredential's excludeList, which go-libfido2
// cannot pass: a silent assertion (up=false) per listed credential, as
// browsers do for long lists. Found means the key already holds it.
func (a *authenticator) probeExcluded(
	ctx context.Context,
	rpID string,
	list []ctap.CredentialDescriptor,
	pin string,
) error {
	for _, d := range list {
		h := make([]byte, 32)
		if _, err := rand.Read(h); err != nil {
			return err
		}
		err := a.do(ctx, "excludeList probe", func() error {
			_, err := a.dev.Assertion(rpID, h, [][]byte{d.ID}, pin, &gofido2.AssertionOpts{UP: gofido2.False})
			return err
		})
		switch {
		case err == nil:
			return ctapwire.StatusCredentialExcluded
		case errors.Is(err, ctapwire.StatusNoCredentials):
		default:
			return err
		}
	}
	return nil
}

// GetAssertion implements ctap.Authenticator. go-libfido2 returns the first
// assertion only; NumberOfCredentials is left 0 (unknown).
func (a *authenticator) GetAssertion(ctx context.Context, o ctap.GetAssertionOptions) ([]*ctap.Assertion, error) {
	if len(o.ClientDataHash) != 32 {
		return nil, errors.New("getAssertion: clientDataHash must be 32 bytes")
	}
	pin, err := tokenPIN(o.Token)
	if err != nil {
		return nil, fmt.Errorf("getAssertion: %w", err)
	}
	var ids [][]byte
	for _, d := range o.AllowList {
		ids = append(ids, d.ID)
	}
	opts := &gofido2.AssertionOpts{}
	if o.UserPresence != nil {
		opts.UP = gofido2.False
		if *o.UserPresence {
			opts.UP = gofido2.True
		}
	}
	var as *gofido2.Assertion
	if err := a.do(ctx, "getAssertion", func() (err error) {
		as, err = a.dev.Assertion(o.RPID, o.ClientDataHash, ids, pin, opts)
		return err
	}); err != nil {
		return nil, err
	}
	var authData []byte
	if err := ctapwire.Unmarshal(as.AuthDataCBOR, &authData); err != nil {
		return nil, fmt.Errorf("getAssertion: %w: authData from libfido2: %v", ctap.ErrMalformedReply, err)
	}
	out := &ctap.Assertion{
		Credential: ctap.CredentialDescriptor{Type: "public-key", ID: as.CredentialID},
		AuthData:   authData,
		Signature:  as.Sig,
	}
	if len(as.User.ID) > 0 {
		out.User = &ctap.User{ID: as.User.ID}
	}
	return []*ctap.Assertion{out}, nil
}

// CredentialsMetadata implements ctap.Authenticator.
func (a *authenticator) CredentialsMetadata(ctx context.Context, tok *ctap.PINToken) (ctap.CredentialsMetadata, error) {
	pin, err := cmPIN(tok)
	if err != nil {
		return ctap.CredentialsMetadata{}, err
	}
	var ci *gofido2.CredentialsInfo
	metadata := func() (err error) { ci, err = a.dev.CredentialsInfo(pin); return }
	if err := a.do(ctx, "credential metadata", metadata); err != nil {
		return ctap.CredentialsMetadata{}, err
	}
	return ctap.CredentialsMetadata{Existing: int(ci.RKExisting), Remaining: int(ci.RKRemaining)}, nil
}

// cmPIN checks a token may manage credentials and returns its PIN.
func cmPIN(tok *ctap.PINToken) (string, error) {
	if tok == nil || tok.Permissions&ctap.PermCredentialManagement == 0 {
		return "", errors.New("credential management needs a PIN token with the cm permission")
	}
	pin, err := tokenPIN(tok)
	if err == nil && pin == "" {
		err = errors.New("credential management needs a PIN")
	}
	return pin, err
}

// RelyingParties implements ctap.Authenticator; the RP ID hash is computed,
// libfido2 does not return it.
func (a *authenticator) RelyingParties(ctx context.Context, tok *ctap.PINToken) ([]ctap.RPInfo, error) {
	pin, err := cmPIN(tok)
	if err != nil {
		return nil, err
	}
	var rps []*gofido2.RelyingParty
	err = a.do(ctx, "enumerate RPs", func() (err error) { rps, err = a.dev.RelyingParties(pin); return })
	if errors.Is(err, ctapwire.StatusNoCredentials) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]ctap.RPInfo, 0, len(rps))
	for _, rp := range rps {
		h := sha256.Sum256([]byte(rp.ID))
		out = append(out, ctap.RPInfo{RP: ctap.RelyingParty{ID: rp.ID, Name: rp.Name}, RPIDHash: h[:]})
	}
	return out, nil
}

// Credentials implements ctap.Authenticator. libfido2 wants the RP ID, so the
// hash is looked up among the key's RPs. PublicKey and CredProtect stay
// empty: go-libfido2 does not return them.
func (a *authenticator) Credentials(
	ctx context.Context,
	tok *ctap.PINToken,
	rpIDHash []byte,
) ([]ctap.CredentialInfo, error) {
	rps, err := a.RelyingParties(ctx, tok)
	if err != nil {
		return nil, err
	}
	pin, _ := cmPIN(tok)
	for _, rp := range rps {
		if string(rp.RPIDHash) != string(rpIDHash) {
			continue
		}
		var creds []*gofido2.Credential
		enumerate := func() (err error) { creds, err = a.dev.Credentials(rp.RP.ID, pin); return }
		if err := a.do(ctx, "enumerate credentials", enumerate); err != nil {
			return nil, err
		}
		out := make([]ctap.CredentialInfo, 0, len(creds))
		for _, c := range creds {
			out = append(out, ctap.CredentialInfo{
				User:         ctap.User{ID: c.User.ID, Name: c.User.Name, DisplayName: c.User.DisplayName},
				CredentialID: ctap.CredentialDescriptor{Type: "public-key", ID: c.ID},
			})
		}
		return out, nil
	}
	return nil, fmt.Errorf("enumerate credentials: %w", ctapwire.StatusNoCredentials)
}

// DeleteCredential implements ctap.Authenticator.
func (a *authenticator) DeleteCredential(ctx context.Context, tok *ctap.PINToken, credentialID []byte) error {
	pin, err := cmPIN(tok)
	if err != nil {
		return err
	}
	return a.do(ctx, "delete credential", func() error { return a.dev.DeleteCredential(credentialID, pin) })
}

// SetMinPINLength implements ctap.Authenticator: go-libfido2 has no
// authenticatorConfig, so it is refused.
func (a *authenticator) SetMinPINLength(ctx context.Context, tok *ctap.PINToken, length int, forceChange bool) error {
	return &unsupported{
		op:     "authenticatorConfig setMinPINLength",
		remedy: "use the native backend to apply a minimum PIN length",
	}
}

// ToggleAlwaysUV implements ctap.Authenticator: refused, as SetMinPINLength.
func (a *authenticator) ToggleAlwaysUV(ctx context.Context, tok *ctap.PINToken) error {
	return &unsupported{op: "authenticatorConfig toggleAlwaysUv", remedy: "use the native backend"}
}

// Selection implements ctap.Authenticator: go-libfido2 has no
// authenticatorSelection, so it is refused.
func (a *authenticator) Selection(ctx context.Context) error {
	return &unsupported{op: "authenticatorSelection", remedy: "use the native backend"}
}

// mapError turns go-libfido2's errors into the native backend's typed errors.
func mapError(err error) error {
	for sentinel, st := range statusOf {
		if errors.Is(err, sentinel) {
			return st
		}
	}
	var code gofido2.Error
	if errors.As(err, &code) {
		if code.Code > 0 && code.Code < 0x100 {
			return ctapwire.Status(code.Code) // libfido2's FIDO_ERR_* values are the CTAP2 status bytes
		}
		return fmt.Errorf("libfido2 error %d: %w", code.Code, err)
	}
	switch {
	case errors.Is(err, gofido2.ErrTX), errors.Is(err, gofido2.ErrRX):
		return fmt.Errorf("%w (libfido2: %v)", hid.ErrDeviceGone, err)
	case errors.Is(err, gofido2.ErrRXNotCBOR), errors.Is(err, gofido2.ErrRXInvalidCBOR):
		return fmt.Errorf("%w (libfido2: %v)", ctap.ErrMalformedReply, err)
	}
	return err
}

// statusOf maps go-libfido2's sentinel errors for CTAP2 statuses.
var statusOf = map[error]ctapwire.Status{
	gofido2.ErrInvalidCommand:     ctapwire.StatusInvalidCommand,
	gofido2.ErrInvalidLength:      ctapwire.StatusInvalidLength,
	gofido2.ErrMissingParameter:   ctapwire.StatusMissingParameter,
	gofido2.ErrNotAllowed:         ctapwire.StatusNotAllowed,
	gofido2.ErrActionTimeout:      ctapwire.StatusActionTimeout,
	gofido2.ErrPinNotSet:          ctapwire.StatusPINNotSet,
	gofido2.ErrInvalidCredential:  ctapwire.StatusInvalidCredential,
	gofido2.ErrUnsupportedOption:  ctapwire.StatusUnsupportedOption,
	gofido2.ErrPinInvalid:         ctapwire.StatusPINInvalid,
	gofido2.ErrPinPolicyViolation: ctapwire.StatusPINPolicyViolation,
	gofido2.ErrNoCredentials:      ctapwire.StatusNoCredentials,
	gofido2.ErrPinAuthBlocked:     ctapwire.StatusPINAuthBlocked,
	gofido2.ErrPinRequired:        ctapwire.StatusPUATRequired,
	gofido2.ErrUPRequired:         ctapwire.StatusUPRequired,
	gofido2.ErrOperationDenied:    ctapwire.StatusOperationDenied,
	gofido2.ErrKeepaliveCancel:    ctapwire.StatusKeepaliveCancel,
	gofido2.ErrInvalidOption:      ctapwire.StatusInvalidOption,
	gofido2.ErrOther:              ctapwire.StatusOther,
}
