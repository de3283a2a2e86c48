package ceremony

import (
	"fmt"
	"slices"
	"strings"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/envelope"
)

// What a key says of its reset and its PIN in getInfo (CTAP 2.2 §6.4:
// longTouchForReset 0x18, transportsForReset 0x1A, pinComplexityPolicy
// 0x1B and its URL 0x1C, maxPINLength 0x1D), put to the officers.

// resetInstruction is the re-plug instruction before a reset (late: the key
// refused the last one as outside its power-up window). The power-up window
// bounds the confirmation, which sends the reset; a long touch the key asks
// for afterwards runs outside it.
func resetInstruction(info *ctap.Info, slot int, late bool) string {
	text := fmt.Sprintf("Unplug key %d, plug it back in, then confirm at once: "+
		"the key accepts a reset only within 10 seconds", slot)
	if late {
		text = fmt.Sprintf("Too late: the key accepts a reset only within 10 seconds of being plugged in. "+
			"Unplug key %d, plug it back in, then press Enter within 10 s", slot)
	}
	if info != nil && len(info.TransportsForReset) > 0 {
		text += fmt.Sprintf(" (this key resets only over %s: keep it on USB, not on an NFC reader)",
			strings.Join(info.TransportsForReset, ", "))
	}
	if info != nil && info.LongTouchForReset {
		text += ". Then touch the key and HOLD your finger on it (this key asks for a long touch to reset: " +
			"keep holding until it stops blinking; the 10 seconds end at your confirmation, not with the touch)"
	}
	return text
}

// resetTransport refuses, before anything is done, a reset the key would
// refuse: one whose transportsForReset leaves out USB, the only transport
// this workstation reaches it by.
func resetTransport(info *ctap.Info, slot int) error {
	if info == nil || len(info.TransportsForReset) == 0 || slices.Contains(info.TransportsForReset, "usb") {
		return nil
	}
	return fmt.Errorf("key %d resets only over %s (getInfo transportsForReset), "+
		"and this workstation reaches it over USB: "+
		"reset it with its vendor's tool over %s, then run the ceremony again; nothing was done to the key",
		slot, strings.Join(info.TransportsForReset, ", "), info.TransportsForReset[0])
}

// pinLengthFits refuses a minimum PIN length the key cannot take (above its
// maxPINLength), before anyone types.
func pinLengthFits(info *ctap.Info, slot, minLen int) error {
	if info != nil && info.MaxPINLength > 0 && minLen > info.MaxPINLength {
		return fmt.Errorf(
			"key %d takes PINs of at most %d characters (getInfo maxPINLength), below the minimum of %d the "+
				"policy and the key ask for: this key cannot be given a PIN the policy accepts; nothing was done to it",
			slot,
			info.MaxPINLength,
			minLen,
		)
	}
	return nil
}

// pinRulesText is what the officers are told beyond the minimum length:
// the key's maximum and its complexity policy.
func pinRulesText(info *ctap.Info) string {
	var s string
	if info.MaxPINLength > 0 {
		s += fmt.Sprintf(", at most %d (the key's maximum)", info.MaxPINLength)
	}
	if info.PINComplexityPolicy != nil && *info.PINComplexityPolicy {
		s += "; the key enforces a PIN complexity policy"
		if len(info.PINComplexityPolicyURL) > 0 {
			s += " (" + strings.ToValidUTF8(string(info.PINComplexityPolicyURL), "?") + ")"
		}
		s += ": no character repeated throughout, no run such as 123456, no common PIN"
	}
	return s
}

// shortestGenerated is the shortest PIN envelope.Generate draws (two
// halves of three digits): a key whose maxPINLength is below it cannot take
// a generated PIN, which must be known before the reset, not at the draw.
const shortestGenerated = 6

// generatedLength is the length of a generated PIN: the generated default
// or the minimum, whichever is longer, even (two halves), and within the
// key's maxPINLength.
func generatedLength(info *ctap.Info, slot, minLen int) (int, error) {
	if err := pinLengthFits(info, slot, minLen); err != nil {
		return 0, err
	}
	length := max(minLen, generatedPINLength)
	length += length % 2
	if info != nil && info.MaxPINLength > 0 && length > info.MaxPINLength {
		length = info.MaxPINLength - info.MaxPINLength%2
	}
	if length < max(minLen, shortestGenerated) {
		return 0, fmt.Errorf("key %d: no even PIN length lies between the minimum %d and the key's maxPINLength %d "+
			"(a generated PIN has two equal halves); nothing was done to the key",
			slot, max(minLen, shortestGenerated), info.MaxPINLength)
	}
	return length, nil
}

// drawPIN draws a generated PIN of length digits that the key would take
// (envelope.Generate already refuses trivial PINs; ValidatePIN holds the
// key's own rules). The caller zeroes it.
func drawPIN(info *ctap.Info, length, minLen int) ([]byte, error) {
	pin, err := envelope.Generate(nil, length)
	if err != nil {
		return nil, err
	}
	if err := ctap.ValidatePIN(pin, info, minLen); err != nil {
		clear(pin)
		return nil, err
	}
	return pin, nil
}

// cannotServe says why the key just plugged in cannot be given what the
// ceremony will ask of it, from its getInfo (CTAP 2.2 §6.4) alone, so that
// it is sent back before anything is done to it ("" when nothing is
// against it): a reset, a PIN and a credential the key would refuse would
// otherwise be met only after the reset had erased it.
//   - options without clientPin: the key takes no PIN (§6.4 "clientPin …
//     If absent, indicates that the authenticator does not support a
//     PIN"; a uv-only key), and the credential is guarded by the split PIN;
//   - maxPINLength (0x1D) below the PIN the policy and the key ask for
//     (minPINLength 0x0D, CTAP's 4), or a generated PIN that cannot fit;
//   - attestationFormats (0x16) without packed: the key can give only
//     formats Entra refuses (tpm…) or none, which the policy refuses when
//     it requires attestation;
//   - transportsForReset (0x1A) without usb, when the ceremony resets it
//     (CTAP 2.2 §6.6: the key refuses a reset over another transport);
//   - remainingDiscoverableCredentials (0x14) 0 on a key that is not
//     reset (full), at its first insertion for the slot: Entra's
//     credential is discoverable (requireResidentKey), and its creation
//     would fail after the PIN.
func (r *slotRun) cannotServe() string {
	e, info := r.e, r.info
	if _, ok := info.Option("clientPin"); !ok {
		return fmt.Sprintf("key %d takes no PIN (its getInfo options have no clientPin), and the ceremony "+
			"guards the credential with the officers' split PIN", r.slot)
	}
	minLen := max(e.cfg.MinPINLength, info.MinPINLength, 4)
	if info.MaxPINLength > 0 && minLen > info.MaxPINLength {
		return fmt.Sprintf("key %d takes PINs of at most %d characters (getInfo maxPINLength), below the minimum "+
			"of %d the policy and the key ask for", r.slot, info.MaxPINLength, minLen)
	}
	if e.cfg.GeneratedPIN {
		if _, err := generatedLength(info, r.slot, minLen); err != nil {
			return fmt.Sprintf("key %d cannot take a generated PIN: no even length lies between the minimum %d "+
				"and its maxPINLength %d", r.slot, max(minLen, shortestGenerated), info.MaxPINLength)
		}
	}
	if _, reset := e.journal.done(r.step("reset")); e.cfg.Reset && !reset &&
		len(info.TransportsForReset) > 0 && !slices.Contains(info.TransportsForReset, "usb") {
		return fmt.Sprintf("key %d resets only over %s (getInfo transportsForReset), and this workstation reaches "+
			"it over USB: the ceremony could not reset it", r.slot, strings.Join(info.TransportsForReset, ", "))
	}
	if len(info.AttestationFormats) > 0 && !slices.Contains(info.AttestationFormats, "packed") {
		none := slices.Contains(info.AttestationFormats, "none")
		if req := e.cfg.Verifier.Policy.RequireAttestation; !none || req == nil || *req {
			return fmt.Sprintf("key %d attests only as %s (getInfo attestationFormats): Entra registers packed "+
				"and none, and the policy requires attestation", r.slot, strings.Join(info.AttestationFormats, ", "))
		}
	}
	// Once a key passed this check, it can be full only with this
	// ceremony's credential for the account (an interrupted creation),
	// which a new one for the same user overwrites (CTAP 2.2 §6.1.2).
	full := info.RemainingDiscoverableCredentials != nil && *info.RemainingDiscoverableCredentials == 0
	_, inserted := e.journal.last(r.step("insert"))
	if full && !e.cfg.Reset && !inserted {
		return fmt.Sprintf("key %d is full (getInfo remainingDiscoverableCredentials 0) and this ceremony "+
			"does not reset it: it has no room for the credential", r.slot)
	}
	return ""
}

// notTheResetKey says why the key plugged in for slot, after its reset was
// done and before any PIN was set, cannot be the key that was reset ("" when
// it may be): it has a PIN, which a reset removes (CTAP 2.2 §6.6) and only
// the ceremony's PIN step would have set. Asking the officers for "its"
// PIN would spend retries of someone else's key for a PIN they never had.
func (r *slotRun) notTheResetKey() string {
	e := r.e
	_, reset := e.journal.done(r.step("reset"))
	_, pinned := e.journal.last(r.step("pin"))
	if set, _ := r.info.Option("clientPin"); !reset || pinned || !set {
		return ""
	}
	return fmt.Sprintf("this key has a PIN, but key %d was reset and has had no PIN set since: "+
		"it is not the key that was reset", r.slot)
}
