package simkey_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// blindChannel hides pinComplexityPolicy (0x1B) and maxPINLength (0x1D)
// from getInfo replies, as a client that predates CTAP 2.2 does not read
// them: what the key then does with such a PIN is its own behaviour.
type blindChannel struct{ k *simkey.Key }

func (b blindChannel) CBOR(ctx context.Context, msg []byte, ka func(byte)) ([]byte, error) {
	reply, err := b.k.CBOR(ctx, msg, ka)
	if err != nil || len(msg) == 0 || msg[0] != byte(ctapwire.CmdGetInfo) || len(reply) < 2 || reply[0] != 0 {
		return reply, err
	}
	var m map[int]ctapwire.RawMessage
	if err := ctapwire.Unmarshal(reply[1:], &m); err != nil {
		return nil, err
	}
	delete(m, 0x1b)
	delete(m, 0x1d)
	out, err := ctapwire.Marshal(m)
	return append([]byte{0}, out...), err
}

// simkey's CTAP 2.2 profile sends members 0x16-0x1F; without it none.
func TestCTAP22ProfileGetInfo(t *testing.T) {
	b := newBench(t, simkey.Config{CTAP22: true, MaxPINLength: 16}, ctap.Options{})
	info, err := b.client.Info(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(info.Versions, []string{"FIDO_2_0", "FIDO_2_1", "FIDO_2_2"}) ||
		!reflect.DeepEqual(info.AttestationFormats, []string{"packed", "none"}) ||
		info.UVCountSinceLastPINEntry == nil || *info.UVCountSinceLastPINEntry != 0 || !info.LongTouchForReset ||
		len(info.EncIdentifier) != 32 || !reflect.DeepEqual(info.TransportsForReset, []string{"usb"}) ||
		info.PINComplexityPolicy == nil || !*info.PINComplexityPolicy || len(info.PINComplexityPolicyURL) == 0 ||
		info.MaxPINLength != 16 || len(info.EncCredStoreState) != 32 ||
		!reflect.DeepEqual(info.AuthenticatorConfigCommands, []uint64{1, 2, 3}) {
		t.Fatalf("CTAP 2.2 profile getInfo %+v", info)
	}
	again, _ := b.client.Info(ctx(t))
	if reflect.DeepEqual(again.EncIdentifier, info.EncIdentifier) {
		t.Error("encIdentifier did not change between getInfo calls")
	}
	plain := newBench(t, simkey.Config{}, ctap.Options{})
	if info, _ := plain.client.Info(ctx(t)); info.LongTouchForReset || info.MaxPINLength != 0 ||
		len(info.AttestationFormats) != 0 {
		t.Fatalf("2.1 key sends 2.2 members: %+v", info)
	}
}

// The profile's key refuses itself, with PIN_POLICY_VIOLATION, a PIN
// beyond its maxPINLength or against its complexity policy (sent by a
// client blind to both members); it takes a good one. The client that
// reads them refuses the same PINs before sending anything.
func TestCTAP22ProfilePINRules(t *testing.T) {
	key, _ := newKey(t, simkey.Config{CTAP22: true, MaxPINLength: 10})
	blind := ctap.NewClient(blindChannel{key}, ctap.Options{})
	for _, pin := range []string{"13579135791", "777777", "345678", "876543"} {
		if err := blind.SetPIN(ctx(t), []byte(pin)); !errors.Is(err, ctapwire.StatusPINPolicyViolation) {
			t.Errorf("%q: %v, want PIN_POLICY_VIOLATION from the key", pin, err)
		}
		err := ctap.NewClient(key, ctap.Options{}).SetPIN(ctx(t), []byte(pin))
		if err == nil || errors.Is(err, ctapwire.StatusPINPolicyViolation) {
			t.Errorf("%q: %v, want a refusal before the PIN is sent", pin, err)
		}
	}
	if err := blind.SetPIN(ctx(t), []byte("3141592653")); err != nil {
		t.Fatal(err)
	}
}

// The profile's reset waits for a long touch: the touch, then LongTouch
// held; a key without the profile resets on the touch alone.
func TestCTAP22ProfileLongTouchForReset(t *testing.T) {
	for _, c := range []struct {
		cfg  simkey.Config
		long bool
	}{{simkey.Config{CTAP22: true, LongTouch: 300 * time.Millisecond}, true}, {simkey.Config{}, false}} {
		b := newBench(t, c.cfg, ctap.Options{})
		start := time.Now()
		if err := b.client.Reset(ctx(t)); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); (took >= 300*time.Millisecond) != c.long {
			t.Errorf("CTAP22 %v: reset took %v", c.cfg.CTAP22, took)
		}
	}
}

func newKey(t *testing.T, cfg simkey.Config) (*simkey.Key, error) {
	t.Helper()
	cfg.TouchDelay = time.Millisecond
	k, err := simkey.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Plug(); err != nil {
		t.Fatal(err)
	}
	return k, nil
}
