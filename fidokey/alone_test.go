package fidokey_test

import (
	"context"
	"strings"
	"testing"
	"time"

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
			if present, _ := devs.Present(ctx); len(present) != 1 {
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
