package rehearsal_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// sentToKeys counts, across both keys, the setPIN commands (clientPIN 0x03)
// and the makeCredential requests that asked for packed attestation
// (attestationFormatsPreference, 0x0B).
type sentToKeys struct {
	mu                sync.Mutex
	setPIN, askPacked int
	makeCredential    int
}

func (s *sentToKeys) observe(request, _ []byte) {
	if len(request) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch request[0] {
	case 0x06:
		var req ctapwire.ClientPINRequest
		if ctapwire.Unmarshal(request[1:], &req) == nil && req.SubCommand == ctapwire.PINSetPIN {
			s.setPIN++
		}
	case 0x01:
		var req ctapwire.MakeCredentialRequest
		if ctapwire.Unmarshal(request[1:], &req) == nil {
			s.makeCredential++
			if len(req.AttestationFormatsPreference) == 1 && req.AttestationFormatsPreference[0] == "packed" {
				s.askPacked++
			}
		}
	}
}

// The ceremony with keys of simkey's CTAP 2.2 profile (longTouchForReset,
// maxPINLength 12, a PIN complexity policy, attestationFormats packed and
// none): the reset instruction asks for a long touch; the PIN rules are
// said before the officers type; a joined PIN beyond maxPINLength and one
// the complexity policy refuses are refused with the reason and asked
// again before anything is sent (one setPIN reaches each key, the good
// one); makeCredential asks for packed; both keys are registered.
func TestCeremonyUnderCTAP22Profile(t *testing.T) {
	sent := &sentToKeys{}
	b := newBenchWith(t, simkey.Config{TouchDelay: time.Millisecond, CTAP22: true, MaxPINLength: 12,
		Observe: sent.observe}, "20251231")
	sent.mu.Lock()
	sent.setPIN = 0 // last year's PIN, set by the bench
	sent.mu.Unlock()
	h := &halvesOfficers{Prompter: b.prompter, fresh: []string{
		"1357913579", "2468024680", // 20 characters: beyond maxPINLength 12
		"1111", "1111", // one character repeated: the complexity policy
		"2468", "1357", // accepted, for both keys
	}}
	res, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.MinPINLength = 8 }, h).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Methods) != 2 {
		t.Fatalf("methods %v", res.Methods)
	}
	log := strings.Join(h.log, "\n")
	for _, want := range []string{
		"key1/pin the new PIN must have at least 8 characters (policy 8, key 4), at most 12 (the key's maximum); " +
			"the key enforces a PIN complexity policy (https://keyceremony.invalid/simkey/pin-complexity)",
		"the joined PIN is not accepted (PIN is longer than the key's maxPINLength of 12 characters)",
		"the joined PIN is not accepted (the key enforces a PIN complexity policy, described at " +
			"https://keyceremony.invalid/simkey/pin-complexity and would refuse this PIN: it is one character repeated)",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the officers were not told %q:\n%s", want, log)
		}
	}
	if strings.Index(log, "at most 12") > strings.Index(log, "maxPINLength of 12") {
		t.Error("the maximum was said only after a PIN was refused")
	}
	longTouch := 0
	for _, a := range b.prompter.Asked {
		if strings.HasPrefix(a, "instruct: Unplug key") && strings.Contains(a, "HOLD your finger on it") &&
			strings.Contains(a, "this key resets only over usb") {
			longTouch++
		}
	}
	if longTouch != 2 {
		t.Errorf("%d reset instructions asked for a long touch, want 2: %q", longTouch, b.prompter.Asked)
	}
	sent.mu.Lock()
	defer sent.mu.Unlock()
	if sent.setPIN != 2 {
		t.Errorf("%d setPIN commands reached the keys, want 2 (the refused PINs must not be sent)", sent.setPIN)
	}
	if sent.makeCredential == 0 || sent.askPacked != sent.makeCredential {
		t.Errorf("%d of %d makeCredential requests asked for packed", sent.askPacked, sent.makeCredential)
	}
}
