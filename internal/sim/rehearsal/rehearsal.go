package rehearsal

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/officer"
)

// Devices is a drawer of simkeys; a slot is "plugged in" or not.
type Devices struct {
	// OpenWith, when set, opens a plugged-in simkey instead of the native
	// client over CTAPHID (a test drives another backend with it).
	OpenWith func(ctx context.Context, key *simkey.Key, onKeepalive func(ctap.Keepalive)) (ctap.Authenticator, io.Closer, error)

	mu      sync.Mutex
	keys    []*simkey.Key
	plugged map[int]bool
}

// NewDevices makes n simkeys, none plugged in.
func NewDevices(n int, cfg simkey.Config) (*Devices, error) {
	d := &Devices{plugged: map[int]bool{}}
	for i := 0; i < n; i++ {
		k, err := simkey.New(cfg)
		if err != nil {
			return nil, err
		}
		k.Unplug()
		d.keys = append(d.keys, k)
	}
	return d, nil
}

// Swap puts another simkey in slot's place (a swapped key, for tests).
func (d *Devices) Swap(slot int, k *simkey.Key) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys[slot-1].Unplug()
	delete(d.plugged, slot)
	k.Unplug()
	d.keys[slot-1] = k
}

// Key returns the simkey of slot (1-based).
func (d *Devices) Key(slot int) *simkey.Key { return d.keys[slot-1] }

// Plug plugs in slot only (the others are pulled out), as an officer would.
func (d *Devices) Plug(slot int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for s := range d.plugged {
		if s != slot {
			d.keys[s-1].Unplug()
			delete(d.plugged, s)
		}
	}
	d.plugged[slot] = true
	if d.keys[slot-1].Plugged() {
		return nil
	}
	return d.keys[slot-1].Plug()
}

// PlugAlso plugs slot in without pulling the others (a mistake to test).
func (d *Devices) PlugAlso(slot int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.plugged[slot] = true
	return d.keys[slot-1].Plug()
}

// Replug pulls slot out and plugs it back in: a new power-up.
func (d *Devices) Replug(slot int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.plugged[slot] = true
	return d.keys[slot-1].Replug()
}

// Present implements fidokey.Devices: every virtual key plugged in, for
// any slot.
func (d *Devices) Present(context.Context, int) ([]string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for s := 1; s <= len(d.keys); s++ {
		if d.plugged[s] && d.keys[s-1].Plugged() {
			out = append(out, "simkey:slot"+strconv.Itoa(s))
		}
	}
	return out, nil
}

// Open implements fidokey.Devices over the real CTAPHID stack.
func (d *Devices) Open(
	ctx context.Context,
	addr string,
	onKeepalive func(ctap.Keepalive),
) (ctap.Authenticator, io.Closer, error) {
	slot, err := strconv.Atoi(strings.TrimPrefix(addr, "simkey:slot"))
	if err != nil || slot < 1 || slot > len(d.keys) {
		return nil, nil, fmt.Errorf("no simkey at %s", addr)
	}
	if d.OpenWith != nil {
		return d.OpenWith(ctx, d.keys[slot-1], onKeepalive)
	}
	c, dev, err := d.keys[slot-1].Open(ctx, hid.Options{}, ctap.Options{OnKeepalive: onKeepalive})
	if err != nil {
		return nil, nil, err
	}
	return c, dev, nil
}

// Prompter answers the engine like two diligent officers: it plugs and
// re-plugs keys as instructed, confirms every action, and types PIN halves
// it made up (8 digits in all per key). It records what was asked.
type Prompter struct {
	Devices *Devices
	Out     io.Writer
	// Decline, when set, makes the named action be declined (tests).
	Decline func(officer, action string) bool
	// Removed, when set, is called once an instruction to remove key slot
	// was carried out (tests: an officer putting the right key in place).
	Removed func(slot int)

	mu      sync.Mutex
	halves  map[string][]byte
	Asked   []string
	Touches int
}

// NewPrompter returns a scripted prompter for the devices, printing to out.
func NewPrompter(d *Devices, out io.Writer) *Prompter {
	return &Prompter{Devices: d, Out: out, halves: map[string][]byte{}}
}

// Instruct implements officer.Prompter.
func (p *Prompter) Instruct(_ context.Context, in officer.Instruction) error {
	p.log("instruct: " + in.Text)
	switch in.Kind {
	case officer.Insert:
		return p.Devices.Plug(in.Slot)
	case officer.Replug:
		return p.Devices.Replug(in.Slot)
	case officer.RemoveOthers:
		return p.Devices.Plug(in.Slot) // plugs in.Slot only
	case officer.Remove:
		p.Devices.Key(in.Slot).Unplug()
		if p.Removed != nil {
			p.Removed(in.Slot)
		}
	}
	return nil
}

// Confirm implements officer.Prompter.
func (p *Prompter) Confirm(_ context.Context, name, action string) error {
	p.log(fmt.Sprintf("confirm (%s): %s", name, action))
	if p.Decline != nil && p.Decline(name, action) {
		return officer.ErrAbandoned
	}
	return nil
}

// PINHalf implements officer.Prompter. The same officer gets the same half
// for the same key, across a resume of the same Prompter.
func (p *Prompter) PINHalf(_ context.Context, slot int, name string, _ bool) ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := fmt.Sprintf("%d/%s", slot, name)
	h, ok := p.halves[k]
	if !ok {
		h = make([]byte, 4)
		if _, err := rand.Read(h); err != nil {
			return nil, err
		}
		for i := range h {
			h[i] = '0' + h[i]%10
		}
		p.halves[k] = h
	}
	p.Asked = append(p.Asked, "PIN half of key "+strconv.Itoa(slot)+" from "+name)
	return append([]byte(nil), h...), nil
}

// PIN returns the whole PIN of a slot as the officers made it up (tests).
func (p *Prompter) PIN(slot int, officerA, officerB string) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(
		append([]byte(nil), p.halves[fmt.Sprintf("%d/%s", slot, officerA)]...),
		p.halves[fmt.Sprintf("%d/%s", slot, officerB)]...)
}

// Touch implements officer.Prompter.
func (p *Prompter) Touch(slot int) {
	p.mu.Lock()
	p.Touches++
	p.mu.Unlock()
}

// Progress implements officer.Prompter.
func (p *Prompter) Progress(step, detail string) {
	if p.Out != nil {
		fmt.Fprintf(p.Out, "  %-14s %s\n", step, detail)
	}
}

func (p *Prompter) log(s string) {
	p.mu.Lock()
	p.Asked = append(p.Asked, s)
	p.mu.Unlock()
}

// DefaultSimkeyConfig is how rehearsal keys behave: a quick touch.
func DefaultSimkeyConfig() simkey.Config {
	return simkey.Config{TouchDelay: 20 * time.Millisecond}
}
