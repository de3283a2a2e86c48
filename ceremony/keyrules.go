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
	if length < minLen {
		return 0, fmt.Errorf("key %d: no even PIN length lies between the minimum %d and the key's maxPINLength %d "+
			"(a generated PIN has two equal halves); nothing was done to the key", slot, minLen, info.MaxPINLength)
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
