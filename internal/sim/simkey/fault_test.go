package simkey_test

import (
	"errors"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/ctaphid"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

func TestBusyIsRetried(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	b.key.InjectFault(simkey.FaultBusy)
	b.key.InjectFault(simkey.FaultBusy)
	if _, err := b.client.Info(ctx(t)); err != nil {
		t.Fatalf("getInfo through two BUSY answers: %v", err)
	}
}

func TestDroppedFrameTimesOutCleanly(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	b.idle = 400 * time.Millisecond
	b.connect()
	b.key.InjectFault(simkey.FaultDropFrame)
	_, err := b.client.Info(ctx(t))
	if !errors.Is(err, hid.ErrDeviceGone) {
		t.Fatalf("dropped reply: %v", err)
	}
	if _, err := b.client.Info(ctx(t)); err != nil {
		t.Fatalf("next request after a dropped reply: %v", err)
	}
}

func TestDroppedContinuationTimesOut(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	b.idle = 400 * time.Millisecond
	b.connect()
	// A 200-byte echo is 4 frames; drop the first and the rest are strays.
	b.key.InjectFault(simkey.FaultDropFrame)
	if err := b.dev.Ping(ctx(t), make([]byte, 200)); !errors.Is(err, hid.ErrDeviceGone) {
		t.Fatalf("ping with a dropped first frame: %v", err)
	}
	if err := b.dev.Ping(ctx(t), make([]byte, 200)); err != nil {
		t.Fatalf("next ping: %v", err)
	}
}

func TestCorruptFrameIsAnError(t *testing.T) {
	b := newBench(t, simkey.Config{}, ctap.Options{})
	b.key.InjectFault(simkey.FaultCorruptFrame)
	_, err := b.client.Info(ctx(t))
	if err == nil {
		t.Fatal("corrupted getInfo reply accepted")
	}
	if !errors.Is(err, ctap.ErrMalformedReply) && !errors.Is(err, ctaphid.ErrMalformedPacket) && !errors.Is(err, hid.ErrDeviceGone) {
		var st ctapwire.Status
		if !errors.As(err, &st) {
			t.Fatalf("corrupted reply gave an untyped error: %v", err)
		}
	}
	if _, err := b.client.Info(ctx(t)); err != nil {
		t.Fatalf("next request after a corrupt reply: %v", err)
	}
}

func credentialCount(t *testing.T, b *bench, pin []byte) int {
	t.Helper()
	tok, err := b.client.GetPINToken(ctx(t), pin, ctap.TokenRequest{Permissions: ctap.PermCredentialManagement})
	if err != nil {
		t.Fatal(err)
	}
	md, err := b.client.CredentialsMetadata(ctx(t), tok)
	if err != nil {
		t.Fatal(err)
	}
	return md.Existing
}

func TestYankedKey(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault simkey.Fault
		want  int // credentials on the key afterwards
	}{
		{"before acting", simkey.FaultUnplugBefore, 0},
		{"after acting, before answering", simkey.FaultUnplugAfter, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBench(t, simkey.Config{}, ctap.Options{})
			pin := []byte("1234")
			if err := b.client.SetPIN(ctx(t), pin); err != nil {
				t.Fatal(err)
			}
			tok, _ := b.client.GetPINToken(ctx(t), pin, ctap.TokenRequest{Permissions: ctap.PermMakeCredential})
			b.key.InjectFault(tc.fault)
			_, err := b.client.MakeCredential(ctx(t), ctap.MakeCredentialOptions{
				ClientDataHash: hash("x"), RP: ctap.RelyingParty{ID: "login.microsoft.com"}, User: ctap.User{ID: []byte("u")}, ResidentKey: true, Token: tok,
			})
			if !errors.Is(err, hid.ErrDeviceGone) {
				t.Fatalf("yanked key: %v", err)
			}
			if _, err := b.client.Info(ctx(t)); !errors.Is(err, hid.ErrDeviceGone) {
				t.Fatalf("using a yanked key: %v", err)
			}
			if _, err := b.key.Connect(); !errors.Is(err, hid.ErrDeviceGone) {
				t.Fatalf("connecting to an unplugged key: %v", err)
			}
			if err := b.key.Plug(); err != nil {
				t.Fatal(err)
			}
			b.connect()
			if n := credentialCount(t, b, pin); n != tc.want {
				t.Fatalf("%d credentials after the yank, want %d", n, tc.want)
			}
		})
	}
}
