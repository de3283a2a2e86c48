package simkey

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// Presence says how the simulated person at the key answers a touch request.
type Presence int

// Presence behaviours.
const (
	PresenceAuto   Presence = iota // touched after Config.TouchDelay
	PresenceDeny                   // declined after Config.TouchDelay (OPERATION_DENIED)
	PresenceIgnore                 // never touched: USER_ACTION_TIMEOUT after Config.TouchTimeout
	PresenceManual                 // touched when Key.Touch is called
)

// Config describes a simkey. The zero value gives a fresh key with defaults.
type Config struct {
	AAGUID          ctap.AAGUID // default DefaultAAGUID()
	FirmwareVersion uint64      // default 0x050704 (reads as 5.7.4)
	// NoGetInfoFirmware leaves firmwareVersion out of getInfo, as keys
	// before CTAP 2.1 do: FirmwareVersion is then only CTAPHID_INIT's
	// device version (major.minor.build), which clients fall back to.
	NoGetInfoFirmware bool
	TouchDelay        time.Duration    // default 100 ms
	TouchTimeout      time.Duration    // default 30 s
	ResetWindow       time.Duration    // default 10 s after power-up
	MaxCredentials    int              // discoverable credential slots, default 25
	PINProtocols      []int            // default [2, 1]
	StatePath         string           // persist state here when set
	Now               func() time.Time // default time.Now
	// CTAP22 gives the key the profile of a CTAP 2.2 key as they ship in
	// 2026: getInfo says FIDO_2_2 and sends members 0x16-0x1F (CTAP 2.2
	// §6.4), a reset waits for a long touch (LongTouch), and a new PIN
	// longer than MaxPINLength or that its complexity policy refuses (one
	// character repeated, a run such as 123456) gets PIN_POLICY_VIOLATION.
	CTAP22       bool
	MaxPINLength int           // CTAP22: longest PIN in code points, default 32
	LongTouch    time.Duration // CTAP22: how long a reset's touch is held, default 3 x TouchDelay
	// EditInfo, when set, edits every getInfo reply last (CTAP 2.2 §6.4
	// members the key claims: a maxPINLength, no clientPin option, a full
	// credential store, attestationFormats), so a test can offer the
	// ceremony a key as its vendor ships it. What the key does is not
	// changed: only what it says.
	EditInfo func(info *ctap.Info)
	// Observe, when set, sees every CTAP2 exchange (request and reply,
	// status byte first), so a test can compare what a client rebuilt from
	// a reply with the bytes the key sent.
	Observe func(request, reply []byte)
}

func (c Config) withDefaults() Config {
	if c.AAGUID.IsZero() {
		c.AAGUID = DefaultAAGUID()
	}
	if c.FirmwareVersion == 0 {
		c.FirmwareVersion = 0x050704
	}
	if c.TouchDelay == 0 {
		c.TouchDelay = 100 * time.Millisecond
	}
	if c.TouchTimeout == 0 {
		c.TouchTimeout = 30 * time.Second
	}
	if c.ResetWindow == 0 {
		c.ResetWindow = 10 * time.Second
	}
	if c.MaxCredentials == 0 {
		c.MaxCredentials = 25
	}
	if len(c.PINProtocols) == 0 {
		c.PINProtocols = []int{2, 1}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.CTAP22 && c.MaxPINLength == 0 {
		c.MaxPINLength = 32
	}
	if c.CTAP22 && c.LongTouch == 0 {
		c.LongTouch = 3 * c.TouchDelay
	}
	return c
}

// cmdCredentialManagementPreview is the CTAP 2.1 pre-release command 0x41.
const cmdCredentialManagementPreview ctapwire.Command = 0x41

// maxMsgSize is the CTAP message size simkey announces (as YubiKey 5 does).
const maxMsgSize = 1200

// Key is one virtual authenticator. Its CTAP2 processing is serialised: one
// command at a time, as on a real key.
type Key struct {
	cfg Config

	cmdMu sync.Mutex // held while a CTAP2 command runs

	mu       sync.Mutex // guards everything below
	st       *state
	vol      volatile
	presence Presence
	touch    chan struct{}
	faults   []Fault
	plugged  bool
	conns    map[*hidConn]struct{}
	cids     map[uint32]bool
	// yankIn counts down CTAP2 requests to a simulated yank (0: none).
	yankIn    int
	yankAfter bool
	// yankedInTouch: a FaultYankDuringTouch answered; unplug after the reply.
	yankedInTouch bool
}

// volatile is what a real key loses when it loses power.
type volatile struct {
	powerUp      time.Time
	pinFails     int // consecutive wrong PINs since power-up
	keyAgreement *ecdh.PrivateKey
	token        []byte
	tokenPerms   ctap.Permission
	tokenRPID    string
	tokenValid   bool
	assertions   []assertionItem // pending getNextAssertion results
	rpIter       []rpEntry
	credIter     []*credential
}

// New makes a simkey. With cfg.StatePath set it reloads the key saved there
// or creates and saves a fresh one.
func New(cfg Config) (*Key, error) {
	cfg = cfg.withDefaults()
	var st *state
	var err error
	if cfg.StatePath != "" {
		if st, err = loadState(cfg.StatePath); err != nil {
			return nil, err
		}
	}
	if st == nil {
		if st, err = newState(cfg.AAGUID); err != nil {
			return nil, fmt.Errorf("simkey: %w", err)
		}
		if cfg.StatePath != "" {
			if err := st.save(cfg.StatePath); err != nil {
				return nil, err
			}
		}
	}
	k := &Key{cfg: cfg, st: st, touch: make(chan struct{}, 1), conns: map[*hidConn]struct{}{}, cids: map[uint32]bool{}}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.powerOnLocked(); err != nil {
		return nil, err
	}
	return k, nil
}

// AAGUID returns the key's AAGUID.
func (k *Key) AAGUID() ctap.AAGUID { return k.st.AAGUID }

// AttestationCertificate returns the key's batch attestation certificate (DER).
func (k *Key) AttestationCertificate() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]byte(nil), k.st.AttCert...)
}

// powerOnLocked starts a new power cycle: volatile state is new.
func (k *Key) powerOnLocked() error {
	ka, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		return err
	}
	tok := make([]byte, 32)
	if _, err := rand.Read(tok); err != nil {
		return err
	}
	k.vol = volatile{powerUp: k.cfg.Now(), keyAgreement: ka, token: tok}
	k.plugged = true
	return nil
}

// Unplug simulates pulling the key out: every open connection breaks and
// new ones are refused until Plug.
func (k *Key) Unplug() {
	k.mu.Lock()
	conns := k.conns
	k.conns = map[*hidConn]struct{}{}
	k.cids = map[uint32]bool{}
	k.plugged = false
	k.mu.Unlock()
	for c := range conns {
		c.close()
	}
}

// Plugged reports whether the key is plugged in.
func (k *Key) Plugged() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.plugged
}

// Plug simulates inserting the key: a new power-up (the reset window opens,
// the three-wrong-PINs block clears).
func (k *Key) Plug() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.powerOnLocked()
}

// Replug is Unplug followed by Plug.
func (k *Key) Replug() error {
	k.Unplug()
	return k.Plug()
}

// SetPresence sets how touch requests are answered from now on.
func (k *Key) SetPresence(p Presence) {
	k.mu.Lock()
	k.presence = p
	k.mu.Unlock()
}

// Touch answers a pending (or the next) touch request under PresenceManual.
func (k *Key) Touch() {
	select {
	case k.touch <- struct{}{}:
	default:
	}
}

// persistLocked saves the state when a state file is configured.
func (k *Key) persistLocked() error {
	if k.cfg.StatePath == "" {
		return nil
	}
	return k.st.save(k.cfg.StatePath)
}

// waitForTouch asks the simulated person for a touch, sending UPNEEDED
// keepalives every 100 ms, as keys do. It is called without k.mu held.
func (k *Key) waitForTouch(ctx context.Context, keepalive func(byte)) error {
	k.mu.Lock()
	mode := k.presence
	k.mu.Unlock()
	if keepalive != nil {
		keepalive(byte(ctap.KeepaliveUserPresence))
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var decide <-chan time.Time
	var outcome error
	switch mode {
	case PresenceAuto:
		decide = time.After(k.cfg.TouchDelay)
	case PresenceDeny:
		decide, outcome = time.After(k.cfg.TouchDelay), ctapwire.StatusOperationDenied
	case PresenceIgnore, PresenceManual:
		decide, outcome = time.After(k.cfg.TouchTimeout), ctapwire.StatusUserActionTimeout
	}
	for {
		select {
		case <-ctx.Done():
			return ctapwire.StatusKeepaliveCancel
		case <-tick.C:
			if _, ok := k.takeFault(FaultYankDuringTouch); ok {
				k.mu.Lock()
				k.yankedInTouch = true
				k.mu.Unlock()
				return ctapwire.StatusKeepaliveCancel
			}
			if keepalive != nil {
				keepalive(byte(ctap.KeepaliveUserPresence))
			}
		case <-decide:
			return outcome
		case <-k.touch:
			if mode == PresenceManual {
				return nil
			}
		}
	}
}

// CBOR processes one CTAP2 message directly, without CTAPHID framing: it
// makes *Key a ctap.Channel for fast unit tests. Real tests go through HID.
func (k *Key) CBOR(ctx context.Context, msg []byte, keepalive func(byte)) ([]byte, error) {
	if !k.cmdMu.TryLock() {
		return nil, errors.New("simkey: busy")
	}
	defer k.cmdMu.Unlock()
	return k.process(ctx, msg, keepalive), nil
}

// process runs one CTAP2 command and returns status byte plus CBOR.
func (k *Key) process(ctx context.Context, msg []byte, keepalive func(byte)) []byte {
	reply := k.execute(ctx, msg, keepalive)
	if k.cfg.Observe != nil {
		k.cfg.Observe(append([]byte(nil), msg...), append([]byte(nil), reply...))
	}
	return reply
}

// execute runs one CTAP2 command.
func (k *Key) execute(ctx context.Context, msg []byte, keepalive func(byte)) []byte {
	if len(msg) == 0 {
		return []byte{byte(ctapwire.StatusInvalidLength)}
	}
	if len(msg) > maxMsgSize {
		return []byte{byte(ctapwire.StatusRequestTooLarge)}
	}
	cmd, params := ctapwire.Command(msg[0]), msg[1:]
	var (
		resp any
		err  error
	)
	switch cmd {
	case ctapwire.CmdGetInfo:
		resp = k.getInfo()
	case ctapwire.CmdClientPIN:
		resp, err = k.clientPIN(params)
	case ctapwire.CmdMakeCredential:
		resp, err = k.makeCredential(ctx, params, keepalive)
	case ctapwire.CmdGetAssertion:
		resp, err = k.getAssertion(ctx, params, keepalive)
	case ctapwire.CmdGetNextAssertion:
		resp, err = k.getNextAssertion()
	case ctapwire.CmdReset:
		err = k.reset(ctx, keepalive)
	case ctapwire.CmdCredentialManagement, cmdCredentialManagementPreview:
		// YubiKeys with CTAP 2.1 keep answering the preview command, and
		// libfido2 1.12 (Debian 12) still sends it.
		resp, err = k.credentialManagement(params)
	case ctapwire.CmdConfig:
		err = k.config(params)
	case ctapwire.CmdSelection:
		err = k.waitForTouch(ctx, keepalive)
	default:
		err = ctapwire.StatusInvalidCommand
	}
	if err != nil {
		var st ctapwire.Status
		if errors.As(err, &st) {
			return []byte{byte(st)}
		}
		return []byte{byte(ctapwire.StatusOther)}
	}
	if resp == nil {
		return []byte{0}
	}
	b, err := ctapwire.Marshal(resp)
	if err != nil {
		return []byte{byte(ctapwire.StatusOther)}
	}
	return append([]byte{0}, b...)
}

// decode unmarshals CTAP2 parameters, mapping failures to CTAP statuses.
func decode(params []byte, v any) error {
	if len(params) == 0 {
		return ctapwire.StatusMissingParameter
	}
	if err := ctapwire.Unmarshal(params, v); err != nil {
		return ctapwire.StatusInvalidCBOR
	}
	return nil
}

func (k *Key) getInfo() *ctap.Info {
	k.mu.Lock()
	defer k.mu.Unlock()
	remaining := k.cfg.MaxCredentials - len(k.st.Credentials)
	fw := k.cfg.FirmwareVersion
	info := &ctap.Info{
		Versions:   []string{"FIDO_2_0", "FIDO_2_1"},
		Extensions: []string{"credProtect", "hmac-secret"},
		AAGUID:     k.st.AAGUID,
		Options: map[string]bool{
			"rk": true, "up": true, "plat": false,
			"clientPin":        k.st.PINVerifier != nil,
			"credMgmt":         true,
			"authnrCfg":        true,
			"alwaysUv":         k.st.AlwaysUV,
			"pinUvAuthToken":   true,
			"setMinPINLength":  true,
			"makeCredUvNotRqd": !k.st.AlwaysUV,
		},
		MaxMsgSize:                       maxMsgSize,
		PinUvAuthProtocols:               append([]int(nil), k.cfg.PINProtocols...),
		MaxCredentialCountInList:         8,
		MaxCredentialIDLength:            128,
		Transports:                       []string{"usb"},
		Algorithms:                       []ctapwire.CredentialParam{{Type: "public-key", Alg: ctapwire.COSEAlgES256}},
		ForcePINChange:                   k.st.ForcePINChange,
		MinPINLength:                     k.st.MinPINLength,
		FirmwareVersion:                  &fw,
		RemainingDiscoverableCredentials: &remaining,
	}
	if k.cfg.NoGetInfoFirmware {
		info.FirmwareVersion = nil
	}
	if k.cfg.CTAP22 {
		k.ctap22InfoLocked(info)
	}
	if k.cfg.EditInfo != nil {
		k.cfg.EditInfo(info)
	}
	return info
}

// reset wipes the key, only within the reset window after power-up and
// only after a touch.
func (k *Key) reset(ctx context.Context, keepalive func(byte)) error {
	k.mu.Lock()
	late := k.cfg.Now().Sub(k.vol.powerUp) > k.cfg.ResetWindow
	k.mu.Unlock()
	if late {
		return ctapwire.StatusNotAllowed
	}
	if err := k.waitForTouch(ctx, keepalive); err != nil {
		return err
	}
	if err := k.holdLongTouch(ctx, keepalive); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.st.wipe(); err != nil {
		return ctapwire.StatusOther
	}
	if err := k.persistLocked(); err != nil {
		return ctapwire.StatusOther
	}
	return k.powerOnKeepPlugTime()
}

// powerOnKeepPlugTime renews the key agreement key and token after a reset,
// keeping the power-up time (a reset is not a power cycle).
func (k *Key) powerOnKeepPlugTime() error {
	up := k.vol.powerUp
	if err := k.powerOnLocked(); err != nil {
		return ctapwire.StatusOther
	}
	k.vol.powerUp = up
	return nil
}
