package hid

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/internal/ctaphid"
)

// scripted is a transport whose device side is a function of what the host
// wrote: it answers INIT correctly (echoing the nonce) and then plays back
// the queued reports.
type scripted struct {
	cid     uint32
	queue   [][]byte
	written [][]byte
	onWrite func(s *scripted, p ctaphid.Packet)
}

func (s *scripted) WriteReport(ctx context.Context, r []byte) error {
	p := ctaphid.Packet(append([]byte(nil), r...))
	s.written = append(s.written, p)
	if p.IsInit() && p.Command() == ctaphid.CmdInit {
		resp := make([]byte, 17)
		copy(resp, p[7:15])
		binary.BigEndian.PutUint32(resp[8:], s.cid)
		resp[12], resp[16] = 2, ctaphid.CapCBOR|ctaphid.CapWink|ctaphid.CapNMSG
		pk, _ := ctaphid.Fragment(ctaphid.BroadcastCID, ctaphid.CmdInit, resp, ctaphid.MaxMessageSize)
		for _, x := range pk {
			s.queue = append(s.queue, x)
		}
		return nil
	}
	if s.onWrite != nil {
		s.onWrite(s, p)
	}
	return nil
}

func (s *scripted) ReadReport(ctx context.Context, buf []byte) (int, error) {
	if len(s.queue) == 0 {
		return 0, fmt.Errorf("%w: script ended", ErrDeviceGone)
	}
	n := copy(buf, s.queue[0])
	s.queue = s.queue[1:]
	return n, nil
}
func (s *scripted) Close() error   { return nil }
func (s *scripted) String() string { return "scripted" }

func (s *scripted) reply(cid uint32, cmd ctaphid.Command, data []byte) {
	pk, _ := ctaphid.Fragment(cid, cmd, data, ctaphid.MaxMessageSize)
	for _, x := range pk {
		s.queue = append(s.queue, x)
	}
}

func TestInitSkipsOtherNoncesAndChannels(t *testing.T) {
	s := &scripted{cid: 0x11223344}
	// Another program's INIT reply and noise on another channel come first.
	other := make([]byte, 17)
	copy(other, "NOTOURS!")
	s.reply(ctaphid.BroadcastCID, ctaphid.CmdInit, other)
	s.reply(0x55555555, ctaphid.CmdCBOR, []byte{0})
	d, err := openOn(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.cid != 0x11223344 || !d.Info().hasCBOR() {
		t.Fatalf("cid %08x info %+v", d.cid, d.Info())
	}
}

func TestKeepaliveErrorAndBusy(t *testing.T) {
	calls := 0
	s := &scripted{cid: 7}
	s.onWrite = func(s *scripted, p ctaphid.Packet) {
		if !p.IsInit() {
			return
		}
		calls++
		switch calls {
		case 1:
			s.reply(7, ctaphid.CmdError, []byte{byte(ctaphid.ErrChannelBusy)})
		case 2:
			s.reply(7, ctaphid.CmdKeepalive, []byte{ctaphid.KeepaliveUPNeeded})
			s.reply(7, ctaphid.CmdKeepalive, []byte{ctaphid.KeepaliveUPNeeded})
			s.reply(7, ctaphid.CmdCBOR, []byte{0, 0xa0})
		case 3:
			s.reply(7, ctaphid.CmdError, []byte{byte(ctaphid.ErrInvalidCmd)})
		}
	}
	d, err := openOn(context.Background(), s, Options{BusyBackoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var seen []byte
	reply, err := d.CBOR(context.Background(), []byte{4}, func(st byte) { seen = append(seen, st) })
	if err != nil || len(reply) != 2 || len(seen) != 2 || seen[0] != ctaphid.KeepaliveUPNeeded {
		t.Fatalf("reply %x err %v keepalives %v", reply, err, seen)
	}
	_, err = d.CBOR(context.Background(), []byte{4}, nil)
	var code ctaphid.ErrorCode
	if !errors.As(err, &code) || code != ctaphid.ErrInvalidCmd {
		t.Fatalf("ERROR reply: %v", err)
	}
}

func TestUnexpectedReplyCommand(t *testing.T) {
	s := &scripted{cid: 7}
	s.onWrite = func(s *scripted, p ctaphid.Packet) { s.reply(7, ctaphid.CmdWink, nil) }
	d, _ := openOn(context.Background(), s, Options{})
	if _, err := d.CBOR(context.Background(), []byte{4}, nil); !errors.Is(err, ctaphid.ErrMalformedPacket) {
		t.Fatalf("WINK in reply to CBOR: %v", err)
	}
}

// FuzzDeviceReply plays arbitrary bytes back as the key's reply to a CBOR
// request: the client returns (an error or a message), never panics or hangs.
func FuzzDeviceReply(f *testing.F) {
	pk, _ := ctaphid.Fragment(7, ctaphid.CmdCBOR, make([]byte, 100), ctaphid.MaxMessageSize)
	var seed []byte
	for _, p := range pk {
		seed = append(seed, p...)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, stream []byte) {
		s := &scripted{cid: 7}
		s.onWrite = func(s *scripted, p ctaphid.Packet) {
			if !p.IsInit() {
				return
			}
			for len(stream) > 0 {
				n := min(len(stream), reportSize)
				r := make([]byte, reportSize)
				copy(r, stream[:n])
				stream = stream[n:]
				s.queue = append(s.queue, r)
			}
		}
		d, err := openOn(context.Background(), s, Options{BusyRetries: 2, BusyBackoff: time.Microsecond})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = d.CBOR(context.Background(), []byte{4}, nil)
	})
}

func TestForgottenChannelIsReinitialised(t *testing.T) {
	s := &scripted{cid: 7}
	requests := 0
	s.onWrite = func(s *scripted, p ctaphid.Packet) {
		if !p.IsInit() {
			return
		}
		requests++
		if requests == 1 {
			s.cid = 9 // the key will hand out a new channel on re-INIT
			s.reply(7, ctaphid.CmdError, []byte{byte(ctaphid.ErrInvalidChannel)})
			return
		}
		if p.CID() != 9 {
			s.reply(p.CID(), ctaphid.CmdError, []byte{byte(ctaphid.ErrInvalidChannel)})
			return
		}
		s.reply(9, ctaphid.CmdCBOR, []byte{0})
	}
	d, err := openOn(context.Background(), s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CBOR(context.Background(), []byte{4}, nil); err != nil {
		t.Fatalf("after INVALID_CHANNEL: %v", err)
	}
	if d.cid != 9 || requests != 2 {
		t.Fatalf("channel %08x after %d requests", d.cid, requests)
	}
}
