package simkey_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// The Direct benchmarks call simkey without CTAPHID; the FullStack ones go
// ctap → CTAPHID → SOCK_SEQPACKET → simkey. Their difference is the client's
// own overhead per round-trip, which must stay far below a real key's
// (a YubiKey 5 answers getInfo in about 5 ms and makeCredential in tens of ms
// plus the touch).

func benchKey(b *testing.B) *simkey.Key {
	k, err := simkey.New(simkey.Config{TouchDelay: time.Nanosecond})
	if err != nil {
		b.Fatal(err)
	}
	return k
}

func BenchmarkGetInfoDirect(b *testing.B) {
	c := ctap.NewClient(benchKey(b), ctap.Options{})
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Info(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGetInfoFullStack(b *testing.B) {
	bn := newBench(b, simkey.Config{TouchDelay: time.Nanosecond}, ctap.Options{})
	ctx := context.Background()
	for b.Loop() {
		if _, err := bn.client.Info(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func makeCredentialOptions() ctap.MakeCredentialOptions {
	return ctap.MakeCredentialOptions{
		ClientDataHash: hash("bench"), RP: ctap.RelyingParty{ID: "login.microsoft.com"},
		User: ctap.User{ID: []byte("bench-user"), Name: "bench"}, CredProtect: 1,
	}
}

func BenchmarkMakeCredentialDirect(b *testing.B) {
	c := ctap.NewClient(benchKey(b), ctap.Options{})
	ctx := context.Background()
	o := makeCredentialOptions()
	for b.Loop() {
		if _, err := c.MakeCredential(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMakeCredentialFullStack(b *testing.B) {
	bn := newBench(b, simkey.Config{TouchDelay: time.Nanosecond}, ctap.Options{})
	ctx := context.Background()
	o := makeCredentialOptions()
	for b.Loop() {
		if _, err := bn.client.MakeCredential(ctx, o); err != nil {
			b.Fatal(err)
		}
	}
}
