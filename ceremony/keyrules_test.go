package ceremony

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keyceremony/keyceremony/ctap"
)

// The reset instruction asks a key with longTouchForReset (CTAP 2.2 §6.4,
// 0x18) to be touched and held, and says the power-up window ends at the
// confirmation; a key without it gets the plain instruction.
func TestResetInstructionAsksForALongTouch(t *testing.T) {
	long := &ctap.Info{LongTouchForReset: true}
	for _, late := range []bool{false, true} {
		text := resetInstruction(long, 2, late)
		if !strings.Contains(text, "HOLD your finger on it") || !strings.Contains(text,
			"the 10 seconds end at your confirmation") ||
			!strings.Contains(text, "key 2") {
			t.Errorf("late %v: %q", late, text)
		}
		if plain := resetInstruction(&ctap.Info{}, 2, late); strings.Contains(plain, "HOLD") ||
			!strings.Contains(plain, "10 s") {
			t.Errorf("late %v, no long touch: %q", late, plain)
		}
	}
}

// A key whose transportsForReset (0x1A) leaves out USB is refused before
// anything, naming the transports; one that lists USB, or lists none, is not.
func TestResetTransportRefusesAKeyThatCannotResetOverUSB(t *testing.T) {
	err := resetTransport(&ctap.Info{TransportsForReset: []string{"nfc", "smart-card"}}, 1)
	if err == nil || !strings.Contains(err.Error(), "resets only over nfc, smart-card") ||
		!strings.Contains(err.Error(), "nothing was done") {
		t.Fatalf("%v", err)
	}
	for _, ts := range [][]string{nil, {"usb"}, {"smart-card", "usb"}} {
		if err := resetTransport(&ctap.Info{TransportsForReset: ts}, 1); err != nil {
			t.Errorf("%v: %v", ts, err)
		}
	}
	// A key that resets over USB among others is told so in the instruction.
	text := resetInstruction(&ctap.Info{TransportsForReset: []string{"usb", "smart-card"}}, 1, false)
	if !strings.Contains(text, "this key resets only over usb, smart-card") {
		t.Errorf("%q", text)
	}
}

// maxPINLength (0x1D) bounds the generated PIN and the minimum: within it
// the generated length is the default, the minimum if longer, even; a key
// whose maximum is below the minimum is refused before anything is drawn.
func TestGeneratedPINWithinMaxPINLength(t *testing.T) {
	for _, c := range []struct {
		max, min, want int
		refused        bool
	}{
		{0, 4, 8, false}, {63, 10, 10, false}, {63, 11, 12, false}, {8, 6, 8, false}, {7, 6, 6, false},
		{6, 8, 0, true}, {11, 11, 0, true}, {5, 4, 0, true}, // 5: below two halves of 3 (envelope)
	} {
		info := &ctap.Info{MaxPINLength: c.max}
		got, err := generatedLength(info, 1, c.min)
		if (err != nil) != c.refused || got != c.want {
			t.Errorf("max %d min %d: %d %v, want %d (refused %v)", c.max, c.min, got, err, c.want, c.refused)
		}
		if c.refused || c.max == 0 {
			continue
		}
		complexity := true
		info.PINComplexityPolicy = &complexity
		pin, err := drawPIN(info, got, c.min)
		if err != nil || utf8.RuneCount(pin) != got || utf8.RuneCount(pin) > c.max {
			t.Errorf("max %d: drew %d digits, %v", c.max, len(pin), err)
		}
		clear(pin)
	}
	if err := pinLengthFits(&ctap.Info{MaxPINLength: 6}, 2, 8); err == nil || !strings.Contains(err.Error(),
		"at most 6") {
		t.Errorf("a policy minimum above the key's maximum: %v", err)
	}
}

// What the officers are told before they type: the key's maximum and its
// complexity policy with its URL; nothing when the key says neither.
func TestPINRulesSaidBeforeTyping(t *testing.T) {
	on := true
	got := pinRulesText(&ctap.Info{MaxPINLength: 12, PINComplexityPolicy: &on,
		PINComplexityPolicyURL: []byte("https://example.com")})
	for _, want := range []string{"at most 12", "PIN complexity policy (https://example.com)", "no run such as 123456"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	off := false
	if got := pinRulesText(&ctap.Info{PINComplexityPolicy: &off}); got != "" {
		t.Errorf("a key without rules: %q", got)
	}
}
