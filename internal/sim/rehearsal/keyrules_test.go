package rehearsal_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ceremony"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/envelope"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// destructive counts the commands that change a key (CTAP 2.2 §6.6 reset
// 0x07; §6.5.5.5/6 clientPIN setPIN 0x03 and changePIN 0x04; §6.1
// makeCredential 0x01; §6.11 authenticatorConfig 0x0D) sent to it.
type destructive struct {
	mu sync.Mutex
	n  []string
}

func (d *destructive) observe(request, _ []byte) {
	if len(request) == 0 {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch request[0] {
	case 0x07:
		d.n = append(d.n, "reset")
	case 0x01:
		d.n = append(d.n, "makeCredential")
	case 0x0D:
		d.n = append(d.n, "authenticatorConfig")
	case 0x06:
		var req ctapwire.ClientPINRequest
		if ctapwire.Unmarshal(request[1:], &req) == nil &&
			(req.SubCommand == ctapwire.PINSetPIN || req.SubCommand == ctapwire.PINChangePIN) {
			d.n = append(d.n, "setPIN/changePIN")
		}
	}
}

func (d *destructive) sent() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.n)
}

func (d *destructive) forget() {
	d.mu.Lock()
	d.n = nil
	d.mu.Unlock()
}

// offeredKey is someone's key as it is offered for slot 1: its own PIN and
// a discoverable credential on it, getInfo edited by edit. It returns the
// key, its PIN, the credential's ID and the count of destructive commands
// sent to it since.
func offeredKey(t *testing.T, edit func(*ctap.Info)) (*simkey.Key, []byte, []byte, *destructive) {
	t.Helper()
	return offeredKeyOf(t, simkey.Config{}, edit)
}

// offeredKeyOf is offeredKey with a key of cfg.
func offeredKeyOf(t *testing.T, cfg simkey.Config, edit func(*ctap.Info)) (*simkey.Key, []byte, []byte, *destructive) {
	t.Helper()
	d := &destructive{}
	var says func(*ctap.Info) // the edit, once its PIN and credential are on it
	cfg.TouchDelay, cfg.Observe = time.Millisecond, d.observe
	cfg.EditInfo = func(i *ctap.Info) {
		if says != nil {
			says(i)
		}
	}
	k, err := simkey.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c := ctap.NewClient(k, ctap.Options{})
	own := []byte("271828")
	if err := c.SetPIN(ctx, own); err != nil {
		t.Fatal(err)
	}
	tok, err := c.GetPINToken(ctx, own, ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: "github.com"})
	if err != nil {
		t.Fatal(err)
	}
	mc, err := c.MakeCredential(ctx, ctap.MakeCredentialOptions{ClientDataHash: make([]byte, 32),
		RP: ctap.RelyingParty{ID: "github.com"}, User: ctap.User{ID: []byte("me"), Name: "me"}, ResidentKey: true,
		Token: tok})
	if err != nil {
		t.Fatal(err)
	}
	ad, _ := ctap.ParseAuthData(mc.AuthData)
	d.forget()
	says = edit
	return k, own, ad.CredentialID, d
}

// sentBack says whether an instruction asked was to put the key aside.
func sentBack(asked string) bool { return strings.Contains(asked, "unplug it and put it aside") }

// assertUntouched holds that k still opens with its own PIN with every
// retry left (none was spent), still holds its credential, and was sent
// no command that changes a key.
func assertUntouched(t *testing.T, k *simkey.Key, own, credID []byte, d *destructive) {
	t.Helper()
	if sent := d.sent(); len(sent) > 0 {
		t.Fatalf("the refused key was sent %v", sent)
	}
	ctx := context.Background()
	if err := k.Replug(); err != nil {
		t.Fatal(err)
	}
	c := ctap.NewClient(k, ctap.Options{})
	if n, _, err := c.PINRetries(ctx); err != nil || n != 8 {
		t.Fatalf("PIN retries %d %v, want 8", n, err)
	}
	if _, err := c.GetPINToken(ctx, own, ctap.TokenRequest{Permissions: ctap.PermGetAssertion,
		RPID: "github.com"}); err != nil {
		t.Fatalf("the refused key no longer opens with its own PIN: %v", err)
	}
	up := false
	if _, err := c.GetAssertion(ctx, ctap.GetAssertionOptions{RPID: "github.com", ClientDataHash: make([]byte, 32),
		AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: credID}}, UserPresence: &up}); err != nil {
		t.Fatalf("the refused key lost its credential: %v", err)
	}
}

// Issue 29 / 23 §2, red team: a key whose getInfo (CTAP 2.2 §6.4) says it
// cannot be given what the ceremony asks of it is named and sent back at
// insertion, before the reset, the PIN or the credential; the officers
// plug in another key and the ceremony goes on. The refused key keeps its
// PIN, every retry and its credential. Before the fix, each of these keys
// was reset (and given a PIN) before the ceremony met what it refuses.
func TestKeyGetInfoRefusalsBeforeAnythingIsDone(t *testing.T) {
	zero := 0
	for _, tc := range []struct {
		name   string
		edit   func(*ctap.Info)
		change func(*ceremony.Config)
		said   string
	}{{
		// maxPINLength 0x1D below the policy's min_pin_length.
		name: "TestMaxPINLengthBelowPolicyMinimum", said: "key 1 takes PINs of at most 6 characters " +
			"(getInfo maxPINLength), below the minimum of 8 the policy and the key ask for",
		edit:   func(i *ctap.Info) { i.MaxPINLength = 6 },
		change: func(c *ceremony.Config) { c.MinPINLength = 8 },
	}, {
		// minPINLength 0x0D above maxPINLength: no PIN fits.
		name: "TestKeyMinPINLengthAboveItsMax", said: "key 1 takes PINs of at most 8 characters " +
			"(getInfo maxPINLength), below the minimum of 10",
		edit: func(i *ctap.Info) { i.MaxPINLength, i.MinPINLength = 8, 10 },
	}, {
		// A generated PIN has two equal halves: 7 fits no even length >= 7.
		name: "TestGeneratedPINCannotFitMaxPINLength", said: "key 1 cannot take a generated PIN: " +
			"no even length lies between the minimum 7 and its maxPINLength 7",
		edit: func(i *ctap.Info) { i.MaxPINLength = 7 },
		change: func(c *ceremony.Config) {
			c.MinPINLength, c.GeneratedPIN = 7, true
			c.PrintHalf = func(context.Context, envelope.Half) error { return nil }
		},
	}, {
		// maxPINLength 5: within it, no generated PIN of two 3-digit halves.
		name: "TestGeneratedPINShorterThanTwoHalvesOfThree", said: "key 1 cannot take a generated PIN: " +
			"no even length lies between the minimum 6 and its maxPINLength 5",
		edit: func(i *ctap.Info) { i.MaxPINLength = 5 },
		change: func(c *ceremony.Config) {
			c.GeneratedPIN = true
			c.PrintHalf = func(context.Context, envelope.Half) error { return nil }
		},
	}, {
		// transportsForReset 0x1A nfc only: no reset over USB (§6.6).
		name: "TestResetsOnlyOverNFC", said: "key 1 resets only over nfc (getInfo transportsForReset)",
		edit: func(i *ctap.Info) { i.TransportsForReset = []string{"nfc"} },
	}, {
		// clientPin absent: a uv-only key, no PIN (CTAP 2.2 §6.4 options).
		name: "TestUVOnlyKeyWithoutClientPIN", said: "key 1 takes no PIN (its getInfo options have no clientPin)",
		edit: func(i *ctap.Info) { delete(i.Options, "clientPin"); i.Options["uv"] = true },
	}, {
		// attestationFormats 0x16 only none; the policy requires attestation.
		name: "TestAttestationFormatsNoneOnly", said: "key 1 attests only as none (getInfo attestationFormats)",
		edit: func(i *ctap.Info) { i.AttestationFormats = []string{"none"} },
	}, {
		// attestationFormats only tpm, which Entra does not register.
		name: "TestAttestationFormatsTPMOnly", said: "key 1 attests only as tpm (getInfo attestationFormats)",
		edit: func(i *ctap.Info) { i.AttestationFormats = []string{"tpm"} },
	}, {
		// remainingDiscoverableCredentials 0x14 0, and no reset.
		name: "TestFullKeyWithoutReset", said: "key 1 is full (getInfo remainingDiscoverableCredentials 0)",
		edit:   func(i *ctap.Info) { i.RemainingDiscoverableCredentials = &zero },
		change: func(c *ceremony.Config) { c.Reset = false },
	}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t)
			offered, own, credID, sent := offeredKey(t, tc.edit)
			allowed := b.devices.Key(1)
			b.devices.Swap(1, offered)
			p := rehearsal.NewPrompter(b.devices, nil)
			p.Removed = func(slot int) {
				if slot == 1 {
					b.devices.Swap(1, allowed)
				}
			}
			h := &halvesOfficers{Prompter: p, current: "0000", fresh: []string{"2468", "1357"}}
			res, err := b.engineWith(nil, false, tc.change, h).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Methods) != 2 {
				t.Fatalf("methods %v", res.Methods)
			}
			told := strings.Join(h.log, "\n")
			if !strings.Contains(told, tc.said) || !strings.Contains(told, "nothing was done to it") {
				t.Fatalf("the officers were not told %q:\n%s", tc.said, told)
			}
			first := slices.IndexFunc(p.Asked, func(s string) bool { return strings.Contains(s, "reset key 1") })
			named := slices.IndexFunc(p.Asked, sentBack)
			if named < 0 || (first >= 0 && first < named) {
				t.Fatalf("the key was not sent back before the reset was asked: %q", p.Asked)
			}
			entries, _ := ceremony.ReadJournal(b.journal)
			if !slices.ContainsFunc(entries, func(e ceremony.Entry) bool {
				return e.Step == "key1/refused" && strings.Contains(e.Data["reason"], tc.said)
			}) {
				t.Fatal("the journal does not record the key sent back")
			}
			assertUntouched(t, offered, own, credID, sent)
		})
	}
}

// CTAP 2.2 §6.5.5.5 (setPIN): a key may refuse a new PIN with
// CTAP2_ERR_PIN_POLICY_VIOLATION for rules its getInfo does not announce
// (here: a CTAP 2.2 key enforcing its complexity policy without saying
// pinComplexityPolicy). The tool cannot predict it; the key stays without
// a PIN and no retry is spent (setPIN has none to spend), so the officers
// are told the key refused it and type new halves, and the ceremony goes on.
func TestKeyRefusingAPINWithPolicyViolationAsksNewHalves(t *testing.T) {
	sent := &sentToKeys{}
	b := newBenchWith(t, simkey.Config{TouchDelay: time.Millisecond, CTAP22: true, Observe: sent.observe,
		EditInfo: func(i *ctap.Info) { i.PINComplexityPolicy, i.PINComplexityPolicyURL = nil, nil }}, "20251231")
	sent.mu.Lock()
	sent.setPIN = 0 // last year's PIN, set by the bench
	sent.mu.Unlock()
	h := &halvesOfficers{Prompter: b.prompter, fresh: []string{"1111", "1111", "2468", "1357"}}
	res, err := b.engineWith(nil, false, nil, h).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Methods) != 2 {
		t.Fatalf("methods %v", res.Methods)
	}
	told := strings.Join(h.log, "\n")
	if !strings.Contains(told, "key 1 refused the new PIN (its PIN policy") {
		t.Fatalf("the officers were not told the key refused the PIN:\n%s", told)
	}
	sent.mu.Lock()
	defer sent.mu.Unlock()
	if sent.setPIN != 3 { // key 1: the refused one and the good one; key 2: the good one
		t.Errorf("%d setPIN commands, want 3", sent.setPIN)
	}
}

// Firmware is judged in the vendor's form from the source that reported it
// (issue 29 §2; CTAP 2.2 §6.4 firmwareVersion 0x0E is vendor-defined, and
// a key without it is read from CTAPHID_INIT's device version, CTAP 2.2
// §11.2.9.1.3): a YubiKey 5.7 model (AAGUID 19083c3d-…, default policy
// min_firmware 5.7.0) at 5.4.2, from getInfo or from INIT only, and a
// pico-fido (0xMMmm: 0x0700 is 7.0) below a policy's min_firmware 8.0,
// from getInfo or INIT only (pico-fido's INIT says 7.0.0), are each
// refused at insertion with their firmware in the vendor's form, untouched.
func TestFirmwareBelowMinimumRefusedUntouched(t *testing.T) {
	const yubico57, picoFIDO = "19083c3d-8383-4b18-bc03-8f1c9ab2fd1b", "89fb94b7-06c9-3673-9b7e-30526d968145"
	for _, tc := range []struct {
		name   string
		aaguid string
		fw     uint64
		noInfo bool
		said   string
	}{
		{"TestYubicoBelowMinimumFromGetInfo", yubico57, 0x050402, false, "5.4.2"},
		{"TestYubicoBelowMinimumFromINITOnly", yubico57, 0x050402, true, "5.4.2"},
		{"TestPicoFIDOBelowMinimumFromGetInfo", picoFIDO, 0x0700, false, "7.0"},
		{"TestPicoFIDOBelowMinimumFromINITOnly", picoFIDO, 0x070000, true, "7.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t)
			aaguid, _ := ctap.ParseAAGUID(tc.aaguid)
			if tc.aaguid == picoFIDO { // 8.0 itself passes, from getInfo (0x0800) and from INIT (8.0.0)
				pol, _ := attest.LoadPolicy("")
				pol.Allowed = append(pol.Allowed, attest.AllowedModel{AAGUID: picoFIDO, Name: "pico-fido",
					MinFirmware: "8.0"})
				fw, init := uint64(0x0800), uint64(0x080000)
				if err := rehearsal.Verifier(pol).Precheck(aaguid, &fw, ""); err != nil {
					t.Errorf("pico-fido 8.0 from getInfo: %v", err)
				}
				if err := rehearsal.Verifier(pol).Precheck(aaguid, &init, "CTAPHID_INIT device version"); err != nil {
					t.Errorf("pico-fido 8.0.0 from INIT: %v", err)
				}
			}
			offered, own, credID, sent := offeredKeyOf(t, simkey.Config{AAGUID: aaguid, FirmwareVersion: tc.fw,
				NoGetInfoFirmware: tc.noInfo}, nil)
			allowed := b.devices.Key(1)
			b.devices.Swap(1, offered)
			p := rehearsal.NewPrompter(b.devices, nil)
			p.Removed = func(slot int) {
				if slot == 1 {
					b.devices.Swap(1, allowed)
				}
			}
			pol, err := attest.LoadPolicy("")
			if err != nil {
				t.Fatal(err)
			}
			pol.Allowed = append(pol.Allowed, attest.AllowedModel{AAGUID: picoFIDO, Name: "pico-fido",
				MinFirmware: "8.0"})
			res, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.Verifier = rehearsal.Verifier(pol) },
				p).Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Methods) != 2 {
				t.Fatalf("methods %v", res.Methods)
			}
			i := slices.IndexFunc(p.Asked, sentBack)
			if i < 0 || !strings.Contains(p.Asked[i], tc.aaguid) || !strings.Contains(p.Asked[i], tc.said) {
				t.Fatalf("the key was not sent back with its firmware %s: %q", tc.said, p.Asked)
			}
			assertUntouched(t, offered, own, credID, sent)
		})
	}
}

// A ceremony that does not reset meets a key whose PIN (last year's,
// 8 digits) is shorter than the policy's minimum now (10). Applying the
// minimum (CTAP 2.2 §6.11.4 setMinPINLength) would leave the key
// demanding a PIN change (forcePINChange) with the old PIN still on it,
// and the credential's token refused: the PIN must be changed first.
func TestKeptPINShorterThanPolicyMinimum(t *testing.T) {
	b := newBench(t)
	h := &halvesOfficers{Prompter: b.prompter, current: "0000", fresh: []string{"24680", "13579", "24680", "13579"}}
	res, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.Reset, c.MinPINLength = false, 10 }, h).
		Run(context.Background())
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(h.log, "\n"))
	}
	if len(res.Methods) != 2 {
		t.Fatalf("methods %v", res.Methods)
	}
	if !strings.Contains(strings.Join(h.log, "\n"), "key1/pin-change key 1 has a PIN of 8 characters, shorter than "+
		"the policy's minimum of 10: both of you, type new halves") {
		t.Fatalf("the officers were not told why the PIN is changed:\n%s", strings.Join(h.log, "\n"))
	}
	// The old PIN was asked once per key (two halves), checked, and not asked again.
	if got := strings.Join(h.asked, " "); got != "current current new new current current new new" {
		t.Fatalf("halves asked %s", got)
	}
	ctx := context.Background()
	for slot := 1; slot <= 2; slot++ {
		b.devices.Plug(slot)
		c := ctap.NewClient(b.devices.Key(slot), ctap.Options{})
		info, err := c.Info(ctx)
		if err != nil || info.ForcePINChange || info.MinPINLength != 10 {
			t.Fatalf("key %d: %+v %v", slot, info, err)
		}
		if _, err := c.GetPINToken(ctx, []byte("2468013579"), ctap.TokenRequest{}); err != nil {
			t.Fatalf("key %d does not open with the new PIN: %v", slot, err)
		}
	}
}

// swapAfterReset pulls key 1 out once its reset is done and puts another
// key of the same model in its slot: the officers mixed up the keys on the
// table while the PIN was coming.
type swapAfterReset struct {
	*halvesOfficers
	devices *rehearsal.Devices
	other   *simkey.Key
	right   *simkey.Key
	swapped bool
}

func (s *swapAfterReset) Progress(step, detail string) {
	s.halvesOfficers.Progress(step, detail)
	if step == "key1/reset" && detail == "erased" && !s.swapped {
		s.swapped = true
		s.devices.Swap(1, s.other)
	}
}

// The key yanked between reset and PIN (CTAP 2.2 §6.6: a reset removes
// the PIN) and another key of the same model, holding its owner's PIN and
// credential, plugged in its place: it has a PIN, so it is not the key
// that was reset. It is named and sent back before the officers are asked
// for a PIN they never had (each wrong guess a retry of someone else's
// key); the right key is plugged in and gets its PIN.
func TestOtherKeyPluggedInBetweenResetAndPIN(t *testing.T) {
	b := newBench(t)
	other, own, credID, sent := offeredKey(t, nil)
	h := &halvesOfficers{Prompter: b.prompter, current: "0000", fresh: []string{"2468", "1357"}}
	s := &swapAfterReset{halvesOfficers: h, devices: b.devices, other: other, right: b.devices.Key(1)}
	h.Prompter.Removed = func(slot int) {
		if slot == 1 {
			b.devices.Swap(1, s.right)
		}
	}
	res, err := b.engineWith(nil, false, nil, s).Run(context.Background())
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(h.log, "\n"))
	}
	if len(res.Methods) != 2 {
		t.Fatalf("methods %v", res.Methods)
	}
	if slices.Contains(h.asked, "current") {
		t.Fatalf("the officers were asked for the PIN of a key they never set: %v", h.asked)
	}
	if !strings.Contains(strings.Join(h.log, "\n"), "this key has a PIN, but key 1 was reset and has had no PIN "+
		"set since: it is not the key that was reset: nothing was done to it") {
		t.Fatalf("the other key was not named:\n%s", strings.Join(h.log, "\n"))
	}
	assertUntouched(t, other, own, credID, sent)
}

// A kept key whose PIN retries are down to the floor (3, ctap.DefaultRetryFloor;
// CTAP 2.2 §6.5.5.2 getPINRetries) is not sent the officers' halves: the
// last retries are never spent without an officer confirming that very
// number, and the ceremony (which does not ask for it) stops, saying so,
// before the officers type halves, with the retries as they were.
func TestLastPINRetriesNeverSpent(t *testing.T) {
	b := newBench(t)
	ctx := context.Background()
	b.devices.Plug(1)
	k := b.devices.Key(1)
	for i := range 5 { // 8 -> 3: three wrong, a power-up, two wrong
		if i == 3 {
			k.Replug()
		}
		c := ctap.NewClient(k, ctap.Options{RetryFloor: 1})
		if _, err := c.GetPINToken(ctx, []byte("99999999"), ctap.TokenRequest{}); err == nil {
			t.Fatal("a wrong PIN opened the key")
		}
	}
	h := &halvesOfficers{Prompter: b.prompter, current: "0000"}
	_, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.Reset = false }, h).Run(ctx)
	var low *ctap.LowRetriesError
	if !errors.As(err, &low) || low.Left != 3 {
		t.Fatalf("the ceremony went on or stopped for another reason: %v", err)
	}
	if len(h.asked) > 0 {
		t.Fatalf("the officers were asked for halves the key would not be sent: %v", h.asked)
	}
	b.devices.Plug(1)
	if n, _, err := ctap.NewClient(k, ctap.Options{}).PINRetries(ctx); err != nil || n != 3 {
		t.Fatalf("PIN retries %d %v, want 3", n, err)
	}
}

// The yank at each CTAP command of key 1 (before or after the key acts),
// with keys of the CTAP 2.2 profile (a reset held by a long touch, a PIN
// complexity policy, maxPINLength): the ceremony waits for the key, goes
// on from the journal and never repeats a reset or a registration; the PIN
// typed is one the key takes.
func TestYankedCTAP22KeyAtEachStepResumes(t *testing.T) {
	for _, after := range []bool{false, true} {
		for n := 1; n <= 16; n++ {
			b := newBenchWith(t, simkey.Config{TouchDelay: time.Millisecond, CTAP22: true, MaxPINLength: 12},
				"20251231")
			b.devices.Key(1).YankAt(n, after)
			// The officers remember their halves: a resume asks for them.
			h := &halvesOfficers{Prompter: b.prompter, current: "2468", fresh: []string{"2468"}}
			_, err := b.engineWith(nil, false, nil, h).Run(context.Background())
			if err != nil {
				t.Fatalf("yank at command %d (after=%v): %v", n, after, err)
			}
			entries, _ := ceremony.ReadJournal(b.journal)
			resets := 0
			for _, e := range entries {
				if e.Step == "key1/reset" && e.Phase == "done" {
					resets++
				}
			}
			if resets != 1 || len(b.methods()) != 2 {
				t.Fatalf("yank at %d (after=%v): %d resets done, methods %d", n, after, resets, len(b.methods()))
			}
		}
	}
}

// A key that is really full (a one-credential simkey holding its owner's
// credential: remainingDiscoverableCredentials 0, CTAP 2.2 §6.4 0x14) is
// not refused when the ceremony resets it (the reset frees it, §6.6), and
// a resume after its new credential filled it again is not refused either:
// yanked at each command of key 1, the ceremony finishes with one reset.
// Without a reset, a key with room for one credential more fills with the
// ceremony's: a resume after that (a yank after each command) is not
// refused as full either.
func TestFullKeyIsResetNotRefused(t *testing.T) {
	for i := 0; i <= 33; i++ {
		n, reset := i%17, i < 17
		room := map[bool]int{true: 1, false: 2}[reset]
		b := newBenchWith(t, simkey.Config{TouchDelay: time.Millisecond, MaxCredentials: room}, "24682468")
		ctx := context.Background()
		for slot := 1; slot <= 2; slot++ {
			b.devices.Plug(slot)
			c := ctap.NewClient(b.devices.Key(slot), ctap.Options{})
			tok, err := c.GetPINToken(ctx, []byte("24682468"), ctap.TokenRequest{Permissions: ctap.PermMakeCredential,
				RPID: "github.com"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.MakeCredential(ctx, ctap.MakeCredentialOptions{ClientDataHash: make([]byte, 32),
				RP: ctap.RelyingParty{ID: "github.com"}, User: ctap.User{ID: []byte("me"), Name: "me"},
				ResidentKey: true, Token: tok}); err != nil {
				t.Fatal(err)
			}
			info, _ := c.Info(ctx)
			if r := info.RemainingDiscoverableCredentials; r == nil || *r != room-1 {
				t.Fatalf("key %d has room for %v, want %d", slot, r, room-1)
			}
		}
		if n > 0 {
			b.devices.Key(1).YankAt(n, true)
		}
		// The officers remember their halves (the same for both keys), as a resume asks for them.
		h := &halvesOfficers{Prompter: b.prompter, current: "2468", fresh: []string{"2468"}}
		res, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.Reset = reset }, h).Run(ctx)
		if err != nil {
			t.Fatalf("reset %v, yank after command %d: %v", reset, n, err)
		}
		if len(res.Methods) != 2 {
			t.Fatalf("yank after command %d: methods %v", n, res.Methods)
		}
		if slices.ContainsFunc(b.prompter.Asked, sentBack) {
			t.Fatalf("yank after command %d: a full key to be reset was sent back: %q", n, b.prompter.Asked)
		}
	}
}

// Generated PINs for keys of the CTAP 2.2 profile that enforce a PIN
// complexity policy and a maxPINLength of 6 (CTAP 2.2 §6.4 0x1B, 0x1D):
// the draw is within 6 digits and one the key's policy takes, so exactly
// one setPIN reaches each key and both are registered, over several runs.
func TestGeneratedPINUnderComplexityAndMaxPINLength(t *testing.T) {
	for range 5 {
		sent := &sentToKeys{}
		b := newBenchWith(t, simkey.Config{TouchDelay: time.Millisecond, CTAP22: true, MaxPINLength: 6,
			Observe: sent.observe}, "202512")
		sent.mu.Lock()
		sent.setPIN = 0
		sent.mu.Unlock()
		var digits []int
		res, err := b.engineWith(nil, false, func(c *ceremony.Config) {
			c.GeneratedPIN = true
			c.PrintHalf = func(_ context.Context, h envelope.Half) error {
				digits = append(digits, len(h.Digits))
				return nil
			}
		}, b.prompter).Run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Methods) != 2 || !slices.Equal(digits, []int{3, 3, 3, 3}) {
			t.Fatalf("methods %v, halves of %v digits", res.Methods, digits)
		}
		sent.mu.Lock()
		if sent.setPIN != 2 {
			t.Fatalf("%d setPIN commands, want 2", sent.setPIN)
		}
		sent.mu.Unlock()
	}
}

// slipOnce types a wrong half the first time the halves of a PIN a key
// has are asked, then the right ones.
type slipOnce struct {
	*halvesOfficers
	slipped bool
}

func (s *slipOnce) PINHalf(ctx context.Context, slot int, name string, newPIN bool) ([]byte, error) {
	if !newPIN && !s.slipped {
		s.slipped = true
		s.asked = append(s.asked, "current")
		return []byte("9999"), nil
	}
	return s.halvesOfficers.PINHalf(ctx, slot, name, newPIN)
}

// A key demanding a new PIN (forcePINChange, CTAP 2.2 §6.4 0x0C) whose
// current halves are slipped: the current PIN is checked before the new
// halves are asked (a getPinToken answers PIN_POLICY_VIOLATION for the
// right PIN of such a key, §6.5.5.7, and PIN_INVALID for a wrong one), so
// the slip is asked again, as for any key, instead of a changePIN that
// spends the retry and ends the run after the new halves were typed.
func TestForcePINChangeSlippedCurrentHalvesAskedAgain(t *testing.T) {
	b := newBench(t)
	ctx := context.Background()
	for slot := 1; slot <= 2; slot++ {
		b.devices.Plug(slot)
		c := ctap.NewClient(b.devices.Key(slot), ctap.Options{})
		tok, err := c.GetPINToken(ctx, []byte("00000000"), ctap.TokenRequest{Permissions: ctap.PermAuthenticatorConfig})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetMinPINLength(ctx, tok, 8, true); err != nil {
			t.Fatal(err)
		}
	}
	h := &slipOnce{halvesOfficers: &halvesOfficers{Prompter: b.prompter, current: "0000", fresh: []string{"5678"}}}
	res, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.Reset = false }, h).Run(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(h.log, "\n"))
	}
	if len(res.Methods) != 2 {
		t.Fatalf("methods %v", res.Methods)
	}
	// key 1: the slipped pair, the right pair, the new pair; key 2: right, new.
	if got := strings.Join(h.asked, " "); got != "current current current current new new current current new new" {
		t.Fatalf("halves asked %s", got)
	}
	for slot := 1; slot <= 2; slot++ {
		b.devices.Plug(slot)
		c := ctap.NewClient(b.devices.Key(slot), ctap.Options{})
		if n, _, _ := c.PINRetries(ctx); n != 8 {
			t.Fatalf("key %d: %d retries left after the new PIN", slot, n)
		}
	}
}

// The same for a key demanding a new PIN (forcePINChange): its changePIN
// refuses the new PIN with PIN_POLICY_VIOLATION (CTAP 2.2 §6.5.5.6; a
// complexity policy it does not announce), keeps the PIN it has, spends no
// retry, and the officers type new halves; the current ones are not asked
// again.
func TestForcedPINChangeRefusedByPolicyAsksNewHalves(t *testing.T) {
	b := newBenchWith(t, simkey.Config{TouchDelay: time.Millisecond, CTAP22: true,
		EditInfo: func(i *ctap.Info) { i.PINComplexityPolicy, i.PINComplexityPolicyURL = nil, nil }}, "24682468")
	ctx := context.Background()
	for slot := 1; slot <= 2; slot++ {
		b.devices.Plug(slot)
		c := ctap.NewClient(b.devices.Key(slot), ctap.Options{})
		tok, err := c.GetPINToken(ctx, []byte("24682468"), ctap.TokenRequest{Permissions: ctap.PermAuthenticatorConfig})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.SetMinPINLength(ctx, tok, 8, true); err != nil {
			t.Fatal(err)
		}
	}
	h := &halvesOfficers{Prompter: b.prompter, current: "2468", fresh: []string{"1111", "1111", "2468", "1357"}}
	res, err := b.engineWith(nil, false, func(c *ceremony.Config) { c.Reset = false }, h).Run(ctx)
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(h.log, "\n"))
	}
	if len(res.Methods) != 2 {
		t.Fatalf("methods %v", res.Methods)
	}
	if !strings.Contains(strings.Join(h.log, "\n"), "key1/pin-change key 1 refused the new PIN (its PIN policy") {
		t.Fatalf("the refusal was not said:\n%s", strings.Join(h.log, "\n"))
	}
	if got := strings.Join(h.asked, " "); got != "current current new new new new current current new new" {
		t.Fatalf("halves asked %s", got)
	}
	b.devices.Plug(1)
	c := ctap.NewClient(b.devices.Key(1), ctap.Options{})
	if n, _, _ := c.PINRetries(ctx); n != 8 {
		t.Fatalf("key 1: %d retries left", n)
	}
	if _, err := c.GetPINToken(ctx, []byte("24681357"), ctap.TokenRequest{}); err != nil {
		t.Fatalf("key 1 does not open with the new PIN: %v", err)
	}
}
