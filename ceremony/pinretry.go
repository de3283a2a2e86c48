package ceremony

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// pinWrongStep is the journal step that records each wrong PIN given for
// key slot (who typed the halves and the retries left; never the PIN).
func (r *slotRun) pinWrongStep() string { return r.step("pin-wrong") }

// askPIN asks both officers for the halves of the PIN key slot already has
// and tries them on the key at once (a getPinToken, the CTAP 2.0 form every
// key answers), so that a slipped half is asked again here, as a key lets a
// person retry, instead of ending the run at the credential's creation. The
// key client refuses to send a PIN at or below its retry floor
// (ctap.LowRetriesError), so the last retries are never spent without an
// officer's explicit confirmation; a key that wants a re-plug after three
// wrong PINs (CTAP2_ERR_PIN_AUTH_BLOCKED) is said so. The caller zeroes the
// PIN. For a key demanding a new PIN (forcePINChange) it checks the PIN
// the key has, before the change.
func (r *slotRun) askPIN(ctx context.Context) ([]byte, error) {
	e := r.e
	for {
		// At the floor the halves are not even asked: the client would not
		// send them (CTAP 2.2 §6.5.5.2 getPINRetries says how many are left).
		n, _, err := r.auth.PINRetries(ctx)
		if err != nil {
			return nil, fmt.Errorf("key %d: PIN retries: %w", r.slot, err)
		}
		if n <= ctap.DefaultRetryFloor {
			return nil, fmt.Errorf("key %d: %w; the halves were not asked and nothing was sent: the ceremony "+
				"does not spend a key's last PIN retries (a ceremony that resets the key, or another key)",
				r.slot, &ctap.LowRetriesError{Left: n, Floor: ctap.DefaultRetryFloor})
		}
		pin, err := e.pin(ctx, r.slot, false)
		if err != nil {
			return nil, err
		}
		tok, err := r.auth.GetPINToken(ctx, pin, ctap.TokenRequest{})
		if err == nil {
			tok.Zero()
			return pin, nil
		}
		// A key demanding a new PIN refuses a token for the right PIN with
		// PIN_POLICY_VIOLATION, after matching it (CTAP 2.2 §6.5.5.7: the
		// retries are reset first); a wrong PIN is PIN_INVALID as ever.
		if r.info.ForcePINChange && errors.Is(err, ctapwire.StatusPINPolicyViolation) {
			return pin, nil
		}
		clear(pin)
		var perr *ctap.PINError
		if !errors.As(err, &perr) {
			return nil, fmt.Errorf("key %d: check the PIN from your halves: %w", r.slot, err)
		}
		left := fmt.Sprint(perr.RetriesLeft)
		if perr.RetriesLeft < 0 {
			left = "unknown"
		}
		if jerr := e.journal.Append(r.pinWrongStep(), "note", map[string]string{
			"halves_by": e.cfg.OfficerA + ", " + e.cfg.OfficerB, "retries_left": left, "error": perr.Status.Error(),
		}); jerr != nil {
			return nil, jerr
		}
		switch {
		case errors.Is(err, ctapwire.StatusPINAuthBlocked):
			return nil, fmt.Errorf(
				"key %d: the PIN from your halves was wrong again and the key now refuses PINs until "+
					"it is unplugged: unplug key %d, plug it back in and resume (%d retries left)",
				r.slot,
				r.slot,
				perr.RetriesLeft,
			)
		case !errors.Is(err, ctapwire.StatusPINInvalid):
			return nil, fmt.Errorf("key %d: %w", r.slot, err)
		}
		e.prompt.Progress(r.step("pin"), fmt.Sprintf("the PIN joined from your halves is wrong (key %d has %d retries "+
			"left): %s and %s, type your halves of key %d's PIN again", r.slot, perr.RetriesLeft,
			e.cfg.OfficerA, e.cfg.OfficerB, r.slot))
	}
}

// yanked says whether err means the key was pulled out or stopped
// answering: hid.ErrDeviceGone, or the key's CTAP2_ERR_KEEPALIVE_CANCEL
// (0x2d) while ctx is alive. The host sends CTAPHID_CANCEL only when the
// caller's context ends (hid.Device.transact), so a cancel nobody asked for
// is the key going away mid-touch (issue 30: pulled out during the touch
// that creates the credential), the yank the PIN step already waits for.
func yanked(ctx context.Context, err error) bool {
	return errors.Is(err, hid.ErrDeviceGone) || (errors.Is(err, ctapwire.StatusKeepaliveCancel) && ctx.Err() == nil)
}

// plural is one when n is 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// article is "an" before a PIN length said with a vowel sound (8, 11, 18,
// 80-89), else "a": "an 8-digit PIN", "a 10-digit PIN". (PINs are at most
// 63 bytes, CTAP 2.1 §6.5.1.)
func article(n int) string {
	if n == 8 || n == 11 || n == 18 || (n >= 80 && n <= 89) {
		return "an"
	}
	return "a"
}
