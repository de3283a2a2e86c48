package simkey

import (
	"context"
	"crypto/rand"
	"time"
	"unicode/utf8"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// The CTAP 2.2 profile (Config.CTAP22): the getInfo members a 2026 key
// sends (CTAP 2.2 §6.4; the values those of libfido2's recorded CTAP 2.3
// reply, fuzz/wiredata_fido2.h at 8ee8e5a2, where they are not simkey's
// own), and the behaviour they announce.

// simkeyPolicyURL is where simkey says its PIN complexity policy is
// described (pinComplexityPolicyURL is informative only: nothing fetches it).
const simkeyPolicyURL = "https://keyceremony.invalid/simkey/pin-complexity"

// ctap22InfoLocked adds the CTAP 2.2/2.3 members to a getInfo reply.
func (k *Key) ctap22InfoLocked(info *ctap.Info) {
	complexity, uvCount := true, uint64(0)
	info.Versions = append(info.Versions, "FIDO_2_2")
	info.AttestationFormats = []string{"packed", "none"}
	info.UVCountSinceLastPINEntry = &uvCount // no built-in UV: always 0
	info.LongTouchForReset = true
	info.TransportsForReset = []string{"usb"}
	info.PINComplexityPolicy = &complexity
	info.PINComplexityPolicyURL = []byte(simkeyPolicyURL)
	info.MaxPINLength = k.cfg.MaxPINLength
	info.AuthenticatorConfigCommands = []uint64{0x01, 0x02, 0x03}
	// Encrypted to a persistent PIN/UV auth token simkey never issues: fresh
	// random bytes each time, as CTAP 2.2 has encIdentifier change (a new IV).
	info.EncIdentifier, info.EncCredStoreState = randomBytes(32), randomBytes(32)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// holdLongTouch keeps a reset waiting while the long touch is held (the
// touch itself was waitForTouch's), sending keepalives as a key does.
func (k *Key) holdLongTouch(ctx context.Context, keepalive func(byte)) error {
	if !k.cfg.CTAP22 || k.cfg.LongTouch <= 0 {
		return nil
	}
	done := time.After(k.cfg.LongTouch)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctapwire.StatusKeepaliveCancel
		case <-done:
			return nil
		case <-tick.C:
			if keepalive != nil {
				keepalive(byte(ctap.KeepaliveUserPresence))
			}
		}
	}
}

// refusedByProfile reports whether the CTAP 2.2 profile's PIN rules refuse
// a new PIN: longer than MaxPINLength, one character repeated, or a run.
func (k *Key) refusedByProfile(pin []byte) bool {
	if !k.cfg.CTAP22 {
		return false
	}
	if utf8.RuneCount(pin) > k.cfg.MaxPINLength {
		return true
	}
	same, up, down := true, true, true
	for i := 1; i < len(pin); i++ {
		same = same && pin[i] == pin[0]
		up = up && pin[i] == pin[i-1]+1
		down = down && pin[i] == pin[i-1]-1
	}
	return same || up || down
}
