package simkey_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/ctaphid"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// FuzzRequest sends arbitrary CTAP2 messages to simkey: it must answer each
// with a status, never panic, and stay usable.
func FuzzRequest(f *testing.F) {
	for _, seed := range [][]byte{
		{0x04},
		{0x06, 0xa2, 0x01, 0x02, 0x02, 0x02},
		{0x01, 0xa4, 0x01, 0x58, 0x20},
		{0x0a, 0xa1, 0x01, 0x01},
		{0x0d, 0xa2, 0x01, 0x03, 0x02, 0xa1, 0x01, 0x08},
	} {
		f.Add(seed)
	}
	key, err := simkey.New(simkey.Config{TouchDelay: time.Nanosecond, ResetWindow: time.Nanosecond})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		reply, err := key.CBOR(context.Background(), msg, nil)
		if err != nil || len(reply) == 0 {
			t.Fatalf("no status for %x: %v", msg, err)
		}
		if _, err := ctap.NewClient(key, ctap.Options{}).Info(context.Background()); err != nil {
			t.Fatalf("key unusable after %x: %v", msg, err)
		}
	})
}

// FuzzHIDPackets writes arbitrary reports to simkey's CTAPHID server from
// one open of the device, then a well-behaved client opens it afresh (as a
// second process opening /dev/hidraw would, with its own input queue) while
// the garbage's open is still held: the key must serve it at once.
func FuzzHIDPackets(f *testing.F) {
	pk, _ := ctaphid.Fragment(ctaphid.BroadcastCID, ctaphid.CmdInit, make([]byte, 8), ctaphid.MaxMessageSize)
	f.Add([]byte(pk[0]))
	f.Add(make([]byte, 64))
	// A flood the host never reads the answers to: 4,000 packets on a
	// channel the key never handed out, each answered ERR_INVALID_CHANNEL.
	// The answers overflow the host's queue; the key must drop them and keep
	// reading (before it did, its blocked answers stopped it reading and the
	// writer waited out its deadline).
	flood := make([]byte, 0, 4000*ctaphid.ReportSize)
	for range 4000 {
		pk, _ := ctaphid.Fragment(0x01020304, ctaphid.CmdPing, []byte{1}, ctaphid.MaxMessageSize)
		flood = append(flood, pk[0]...)
	}
	f.Add(flood)
	key, err := simkey.New(simkey.Config{TouchDelay: time.Nanosecond})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		garbage, err := key.Connect()
		if err != nil {
			t.Fatal(err)
		}
		defer garbage.Close()
		deadline, _ := ctx.Deadline()
		garbage.SetWriteDeadline(deadline)
		for len(stream) > 0 {
			r := make([]byte, ctaphid.ReportSize)
			stream = stream[copy(r, stream):]
			if _, err := garbage.Write(r); err != nil {
				t.Fatalf("key stopped reading: %v", err)
			}
		}
		c, err := key.Connect()
		if err != nil {
			t.Fatal(err)
		}
		dev, err := hid.OpenConn(ctx, c, "simkey:in-process", hid.Options{IdleTimeout: 2 * time.Second})
		if err != nil {
			t.Fatalf("INIT after garbage: %v", err)
		}
		defer dev.Close()
		if _, err := ctap.NewClient(dev, ctap.Options{}).Info(ctx); err != nil {
			t.Fatalf("getInfo after garbage: %v", err)
		}
	})
}
