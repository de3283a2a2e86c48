package ctap

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// CTAP 2.2 §6.4 says only that a key with pinComplexityPolicy true "enforces
// an additional current PIN complexity policy beyond minPINLength"; the
// policy is the vendor's, described at pinComplexityPolicyURL. The rules
// below are the ones every such policy published holds: Yubico's (firmware
// 5.7 and later, https://docs.yubico.com/yesdk/users-manual/sdk-programming-guide/pin-complexity-policy.html:
// "the YubiKey will block the usage of non-trivial PINs, such as 11111111,
// password, or 12345678", after NIST SP 800-63B) refuses one repeated
// character, a run of consecutive digits or letters, and listed common PINs.
// A key may refuse more (its list is longer): then its own refusal
// (PIN_POLICY_VIOLATION) stops the step, nothing lost.

// commonPINs are PINs such policies block by name (beyond repeats and
// runs): the YubiKey 5.7 list as github.com/JMarkstrom/fido2-tools-collection
// yubikey-pin-gen.py (cd335d53) gives it (envelope.Generate avoids it too),
// and Yubico's own example "password".
var commonPINs = []string{"123123", "123321", "112233", "121212", "520520", "123654", "159753", "password"}

// complexityRefusal says why a key enforcing a PIN complexity policy would
// refuse pin, or "" when these rules take it.
func complexityRefusal(pin []byte) string {
	s := string(pin)
	r, _ := utf8.DecodeRuneInString(s)
	if strings.Count(s, string(r)) == utf8.RuneCountInString(s) {
		return "it is one character repeated"
	}
	if isRun(s, 1) || isRun(s, -1) {
		return "it is a run of consecutive characters"
	}
	lower := strings.ToLower(s)
	for _, c := range commonPINs {
		if lower == c {
			return fmt.Sprintf("%q is on the common-PIN lists such policies block", c)
		}
	}
	return ""
}

// isRun reports whether every character of s follows the one before it by
// step (1234…, 9876…, abcd…).
func isRun(s string, step rune) bool {
	var prev rune = -1
	for _, r := range s {
		if prev != -1 && r != prev+step {
			return false
		}
		prev = r
	}
	return true
}

// policyURLText is ", described at URL" when the key gives its policy's URL.
func (i *Info) policyURLText() string {
	if len(i.PINComplexityPolicyURL) == 0 {
		return ""
	}
	return ", described at " + strings.ToValidUTF8(string(i.PINComplexityPolicyURL), "?")
}
