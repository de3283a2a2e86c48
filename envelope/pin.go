package envelope

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"slices"
)

// banned are PINs no generated PIN may be or contain. They are the common
// PINs that YubiKey 5.7 firmware refuses when PIN complexity is on (Yubico,
// "YubiKey 5.7 firmware specifics: PIN complexity"), as the public
// provisioning script JMarkstrom/fido2-tools-collection yubikey-pin-gen.py
// (commit cd335d53eb1107edaecfa2043c777ad220502a25) lists them. A key with
// complexity on would refuse such a PIN with PIN_POLICY_VIOLATION.
var banned = []string{"123456", "123123", "654321", "123321", "112233", "121212", "520520", "123654", "159753"}

// minLength is the shortest PIN Generate makes: two halves of 3 digits.
const minLength = 6

// maxDraws bounds the retries for a non-trivial PIN; with at least 6 digits
// fewer than one draw in a hundred is refused, so reaching it means the
// random source is broken.
const maxDraws = 1000

// Generate draws a PIN of length decimal digits (length even, at least
// minLength) from rnd (crypto/rand.Reader when nil), uniformly, redrawing
// while trivial refuses it. The caller zeroes it.
func Generate(rnd io.Reader, length int) ([]byte, error) {
	if length < minLength || length%2 != 0 {
		return nil, fmt.Errorf(
			"a generated PIN is split into two equal halves of at least %d digits each: length %d will not do",
			minLength/2,
			length,
		)
	}
	if rnd == nil {
		rnd = rand.Reader
	}
	pin := make([]byte, length)
	var b [1]byte
	for range maxDraws {
		for i := range pin {
			for {
				if _, err := io.ReadFull(rnd, b[:]); err != nil {
					clear(pin)
					return nil, fmt.Errorf("random source: %w", err)
				}
				if b[0] < 250 { // 250 = 25*10: no digit favoured
					pin[i] = '0' + b[0]%10
					break
				}
			}
		}
		if trivial(pin) == "" {
			return pin, nil
		}
	}
	clear(pin)
	return nil, errors.New("the random source gave only trivial PINs: it is broken")
}

// trivial says why pin is too easy to guess, or "" when it is not: one digit
// repeated, a run up or down (123456, 987654), the two halves alike or
// either half trivial itself, or a banned PIN within it.
func trivial(pin []byte) string {
	if len(pin) == 0 {
		return "empty"
	}
	switch {
	case allSame(pin):
		return "one digit repeated"
	case sequential(pin):
		return "a run of consecutive digits"
	}
	for _, b := range banned {
		if len(pin) >= len(b) && containsString(pin, b) {
			return "contains the common PIN " + b
		}
	}
	half := len(pin) / 2
	if len(pin)%2 == 0 {
		if slices.Equal(pin[:half], pin[half:]) {
			return "the two halves are the same"
		}
		for _, h := range [][]byte{pin[:half], pin[half:]} {
			if allSame(h) || sequential(h) {
				return "a half is one digit repeated or a run"
			}
		}
	}
	return ""
}

func allSame(p []byte) bool {
	for _, c := range p {
		if c != p[0] {
			return false
		}
	}
	return true
}

func sequential(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	step := int(p[1]) - int(p[0])
	if step != 1 && step != -1 {
		return false
	}
	for i := 1; i < len(p); i++ {
		if int(p[i])-int(p[i-1]) != step {
			return false
		}
	}
	return true
}

func containsString(p []byte, s string) bool {
	for i := 0; i+len(s) <= len(p); i++ {
		if string(p[i:i+len(s)]) == s {
			return true
		}
	}
	return false
}
