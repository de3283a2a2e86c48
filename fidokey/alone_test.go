package fidokey_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/internal/sim/rehearsal"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/officer"
)

// slipOfficers plug a second key in by mistake before doing what they are
// asked, or nothing at all at first; each instruction is recorded.
type slipOfficers struct {
	*rehearsal.Prompter
	devices *rehearsal.Devices
	slip    string // "second key" or "nothing"
	asked   []officer.Instruction
}

func (s *slipOfficers) Instruct(ctx context.Context, in officer.Instruction) error {
	s.asked = append(s.asked, in)
	if len(s.asked) == 1 {
		switch s.slip {
		case "second key":
			if err := s.devices.Plug(in.Slot); err != nil {
				return err
			}
			return s.devices.PlugAlso(2)
		case "nothing":
			return nil
		}
	}
	return s.Prompter.Instruct(ctx, in)
}

// A second key plugged in is not an error that ends the step: the officers
// are asked to unplug the others, and the key is opened once it is alone.
// Nothing plugged in asks for the key again.
func TestOpenAloneReasksOnSlips(t *testing.T) {
	for _, tc := range []struct{ slip, want string }{
		{"second key", officer.RemoveOthers},
		{"nothing", officer.Insert},
	} {
		t.Run(tc.slip, func(t *testing.T) {
			devs, err := rehearsal.NewDevices(2, simkey.Config{TouchDelay: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			p := &slipOfficers{Prompter: rehearsal.NewPrompter(devs, nil), devices: devs, slip: tc.slip}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			auth, closer, err := fidokey.OpenAlone(ctx, devs, p, officer.Instruction{Kind: officer.Insert, Slot: 1, Text: "insert key 1"})
			if err != nil {
				t.Fatal(err)
			}
			defer closer.Close()
			if _, err := auth.Info(ctx); err != nil {
				t.Fatal(err)
			}
			if len(p.asked) != 2 || p.asked[1].Kind != tc.want || p.asked[1].Slot != 1 || !strings.Contains(p.asked[1].Text, "key 1") {
				t.Fatalf("instructions %+v, want a second one of kind %s for key 1", p.asked, tc.want)
			}
			if present, _ := devs.Present(ctx, 1); len(present) != 1 {
				t.Fatalf("%d keys plugged in after the re-ask", len(present))
			}
		})
	}
}

// Officers who never set it right get an error, not an endless loop.
func TestOpenAloneGivesUp(t *testing.T) {
	devs, err := rehearsal.NewDevices(2, simkey.Config{TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	stubborn := &stubbornOfficers{Prompter: rehearsal.NewPrompter(devs, nil), devices: devs}
	_, _, err = fidokey.OpenAlone(context.Background(), devs, stubborn, officer.Instruction{Kind: officer.Insert, Slot: 1})
	if err == nil || !strings.Contains(err.Error(), "exactly one security key") {
		t.Fatalf("never alone: %v", err)
	}
}

type stubbornOfficers struct {
	*rehearsal.Prompter
	devices *rehearsal.Devices
}

func (s *stubbornOfficers) Instruct(context.Context, officer.Instruction) error {
	if err := s.devices.PlugAlso(1); err != nil {
		return err
	}
	return s.devices.PlugAlso(2)
}

// instructed records the instructions and does nothing: keys at fixed
// addresses are always "plugged in".
type instructed struct {
	officer.Prompter
	asked []officer.Instruction
}

func (s *instructed) Instruct(_ context.Context, in officer.Instruction) error {
	s.asked = append(s.asked, in)
	return nil
}
func (s *instructed) Touch(int) {}

// Keys at fixed addresses (a config's "devices", as offline's --device)
// are in slot order: key N is the Nth address, opened at once, although
// every address answers (an address cannot be unplugged). Before, two
// fixed keys counted as "two plugged in" and the officers were asked, in
// vain, to unplug one: the real ceremony could not open a key (found by
// running `keyceremony ceremony --config` under tmux). A key with no
// address of its own is a clear error.
func TestOpenAloneFixedAddressesInSlotOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	var fixed []string
	var aaguids []string
	for i := range 2 {
		aaguid := fmt.Sprintf("00000000-0000-4000-8000-00000000000%d", i+1)
		a, err := ctap.ParseAAGUID(aaguid)
		if err != nil {
			t.Fatal(err)
		}
		key, err := simkey.New(simkey.Config{AAGUID: a})
		if err != nil {
			t.Fatal(err)
		}
		sock := filepath.Join(dir, fmt.Sprintf("k%d.sock", i+1))
		go key.Listen(ctx, sock)
		for j := 0; j < 100; j++ {
			if _, err := os.Stat(sock); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		fixed, aaguids = append(fixed, "simkey:"+sock), append(aaguids, aaguid)
	}
	devs := fidokey.HID{Fixed: fixed}
	for slot := 1; slot <= 2; slot++ {
		p := &instructed{}
		auth, closer, err := fidokey.OpenAlone(ctx, devs, p, officer.Instruction{Kind: officer.Insert, Slot: slot, Text: "insert the key"})
		if err != nil {
			t.Fatalf("key %d: %v", slot, err)
		}
		info, err := auth.Info(ctx)
		closer.Close()
		if err != nil || info.AAGUID.String() != aaguids[slot-1] || len(p.asked) != 1 {
			t.Fatalf("key %d: opened %v (%v) after %d instructions, want %s after 1", slot, info, err, len(p.asked), aaguids[slot-1])
		}
	}
	if _, _, err := fidokey.OpenAlone(ctx, devs, &instructed{}, officer.Instruction{Kind: officer.Insert, Slot: 3}); err == nil || !strings.Contains(err.Error(), "none for key 3") {
		t.Fatalf("key 3 of 2 addresses: %v", err)
	}
}
