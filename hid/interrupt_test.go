package hid

import (
	"context"
	"encoding/binary"
	"errors"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/internal/ctaphid"
)

// silentPeer answers CTAPHID_INIT on the device side of a socket pair and
// then answers a PING only when answer is true; other requests go unanswered.
func silentPeer(t *testing.T) (*Device, chan<- bool) {
	t.Helper()
	host, dev, err := ctaphid.SocketPair()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close(); dev.Close() })
	answer := make(chan bool, 8)
	go func() {
		buf := make([]byte, reportSize)
		for {
			n, err := dev.Read(buf)
			if err != nil || n != reportSize {
				return
			}
			p := ctaphid.Packet(buf)
			switch {
			case p.Command() == ctaphid.CmdInit:
				resp := make([]byte, 17)
				copy(resp, buf[7:15])
				binary.BigEndian.PutUint32(resp[8:], 0x00220002) // as a recorded YubiKey
				resp[12] = 2
				pk, _ := ctaphid.Fragment(ctaphid.BroadcastCID, ctaphid.CmdInit, resp, ctaphid.MaxMessageSize)
				dev.Write(pk[0])
			case p.Command() == ctaphid.CmdPing && <-answer:
				pk, _ := ctaphid.Fragment(p.CID(), ctaphid.CmdPing, buf[7:7+p.Length()], ctaphid.MaxMessageSize)
				dev.Write(pk[0])
			}
		}
	}()
	d, err := openOn(context.Background(), newSocketTransport(host, "pair"), Options{IdleTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return d, answer
}

// A read that waits for a key that does not answer ends when the caller's
// context does (cancel or deadline), with the context's own error, after at
// most the one second transact gives the key to answer a cancelled request
// (so the channel is clean) and before the 2 s IdleTimeout; the interruption does not leak into the next
// request, which waits for and gets its answer.
func TestReadInterruptedByContextThenNextRequestWorks(t *testing.T) {
	d, answer := silentPeer(t)

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	answer <- false
	start := time.Now()
	err := d.Ping(ctx, []byte("hi"))
	if !errors.Is(err, context.Canceled) || time.Since(start) > 1500*time.Millisecond {
		t.Fatalf("cancelled ping: %v after %v, want context.Canceled after the 1 s drain, before the 2 s idle timeout", err, time.Since(start))
	}

	ctx, cancel = context.WithTimeout(context.Background(), 80*time.Millisecond)
	defer cancel()
	answer <- false
	if err := d.Ping(ctx, []byte("hi")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("ping past its deadline: %v, want context.DeadlineExceeded", err)
	}

	answer <- true
	if err := d.Ping(context.Background(), []byte("again")); err != nil {
		t.Fatalf("ping after two interrupted ones: %v", err)
	}
}

// With no caller deadline, a silent key is reported gone after IdleTimeout.
func TestSilentKeyIsGoneAfterIdleTimeout(t *testing.T) {
	d, answer := silentPeer(t)
	d.opts.IdleTimeout = 100 * time.Millisecond
	answer <- false
	err := d.Ping(context.Background(), []byte("hi"))
	if !errors.Is(err, ErrDeviceGone) {
		t.Fatalf("silent key: %v, want ErrDeviceGone", err)
	}
}

// A key that stops taking reports (its queue full, its firmware stuck) must
// not hang the host: a write ends with the caller's deadline or cancel, and
// with the context's own error. Before, a SocketTransport write ignored ctx
// and the FuzzHIDPackets flood seed hung until the test binary's timeout.
func TestWriteEndsWithContextWhenKeyStopsReading(t *testing.T) {
	host, dev, err := ctaphid.SocketPair()
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close()
	defer dev.Close() // never read: the socket buffer fills
	tr := newSocketTransport(host, "pair")
	report := make([]byte, reportSize)
	for _, tc := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}, context.DeadlineExceeded},
		{"cancel", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(100*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := tc.ctx()
			defer cancel()
			start := time.Now()
			var err error
			for i := 0; i < 1_000_000 && err == nil; i++ {
				err = tr.WriteReport(ctx, report)
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("write to a peer that never reads: %v, want %v", err, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("write took %v to give up", d)
			}
		})
	}
}
