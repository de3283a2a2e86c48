package fidokey

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/officer"
)

// Devices is how keys plugged in are found and opened.
type Devices interface {
	// Present lists the addresses of the FIDO keys plugged in now that
	// could be key slot (the officers are asked to plug in that one alone).
	Present(ctx context.Context, slot int) ([]string, error)
	// Open opens one key; onKeepalive hears "touch the key".
	Open(ctx context.Context, addr string, onKeepalive func(ctap.Keepalive)) (ctap.Authenticator, io.Closer, error)
}

// Backend names.
const (
	nativeBackend   = "native"
	libfido2Backend = "libfido2"
)

// libfido2Deviation is what a report records about keys driven through libfido2.
const libfido2Deviation = "keys driven through the libfido2 backend (go-libfido2): " +
	"getInfo without firmware version or minimum PIN length, " +
	"no authenticatorConfig, no touch prompts from the key, PIN copies left in C memory by go-libfido2"

// Backend opens device addresses as ctap.Authenticators: the native CTAPHID
// client, or libfido2 in a build with it.
type Backend struct{ name string }

// ParseBackend checks a backend name ("" is native) against this build.
func ParseBackend(name string) (Backend, error) {
	switch name {
	case "", nativeBackend:
		return Backend{name: nativeBackend}, nil
	case libfido2Backend:
		if !libfido2Built {
			return Backend{}, errors.New(
				"this keyceremony was built without the libfido2 backend: " +
					"build it with `go build -tags libfido2 ./cmd/keyceremony` (cgo and Debian's libfido2-dev)",
			)
		}
		return Backend{name: libfido2Backend}, nil
	}
	return Backend{}, fmt.Errorf("unknown backend %q: native or libfido2", name)
}

// backendName is the backend's name.
func (b Backend) backendName() string {
	if b.name == "" {
		return nativeBackend
	}
	return b.name
}

// open opens addr; onKeepalive hears the key's keepalives (native only).
func (b Backend) open(
	ctx context.Context,
	addr string,
	onKeepalive func(ctap.Keepalive),
) (ctap.Authenticator, io.Closer, error) {
	if b.name == libfido2Backend {
		path, ok := strings.CutPrefix(addr, "hidraw:")
		if !ok {
			return nil, nil, fmt.Errorf("the libfido2 backend opens hidraw devices only, not %s", addr)
		}
		return openLibfido2(path)
	}
	c, dev, err := openNative(ctx, addr, ctap.Options{OnKeepalive: onKeepalive})
	if err != nil {
		return nil, nil, err
	}
	return c, dev, nil
}

// Deviations are what a report must record about the backend.
func (b Backend) Deviations() []string {
	if b.name == libfido2Backend {
		return []string{libfido2Deviation}
	}
	return nil
}

// openNative opens a device address through CTAPHID with the native client.
func openNative(ctx context.Context, addr string, opts ctap.Options) (ctap.Authenticator, *hid.Device, error) {
	dev, err := hid.Open(ctx, addr, hid.Options{})
	if err != nil {
		return nil, nil, err
	}
	return ctap.NewClient(dev, opts), dev, nil
}

// HID finds real keys through hidraw (or at fixed addresses) and opens them
// with a backend.
type HID struct {
	// Fixed are key addresses to use instead of hidraw discovery (simkey
	// sockets, or hidraw nodes named in the config). With several, they
	// are in slot order: key N is the Nth, the only one Present looks at
	// for it, since an address cannot be unplugged.
	Fixed   []string
	Backend Backend
}

// Present implements Devices.
func (h HID) Present(ctx context.Context, slot int) ([]string, error) {
	if len(h.Fixed) > 0 {
		fixed := h.Fixed
		if len(fixed) > 1 {
			if slot < 1 || slot > len(fixed) {
				return nil, fmt.Errorf(
					"%d key addresses are fixed, one per key in slot order, and there is none for key %d",
					len(fixed),
					slot,
				)
			}
			fixed = fixed[slot-1 : slot]
		}
		var out []string
		for _, a := range fixed {
			if h.Backend.name == libfido2Backend {
				// libfido2 opens the node itself; a key that answers getInfo is present.
				if auth, c, err := h.Backend.open(ctx, a, nil); err == nil {
					_, err = auth.Info(ctx)
					c.Close()
					if err == nil {
						out = append(out, a)
					}
				}
				continue
			}
			if dev, err := hid.Open(ctx, a, hid.Options{}); err == nil { // a key that answers CTAPHID_INIT is present
				dev.Close()
				out = append(out, a)
			}
		}
		return out, nil
	}
	found, err := hid.Discover()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range found {
		if !d.Readable {
			return nil, errors.New(d.OpenError)
		}
		out = append(out, d.Address())
	}
	return out, nil
}

// Open implements Devices.
func (h HID) Open(
	ctx context.Context,
	addr string,
	onKeepalive func(ctap.Keepalive),
) (ctap.Authenticator, io.Closer, error) {
	return h.Backend.open(ctx, addr, onKeepalive)
}

// maxAsks bounds how often OpenAlone asks the officers to set the keys
// right before it gives up with an error naming what it found.
const maxAsks = 20

// OpenAlone gives the officers instruction in (insert or re-plug key
// in.Slot) and opens that key once it is the only one plugged in: while
// another key is in too, it asks them to unplug the others; while none is,
// it asks again for the key. Touch requests from the key reach p.Touch.
func OpenAlone(
	ctx context.Context,
	d Devices,
	p officer.Prompter,
	in officer.Instruction,
) (ctap.Authenticator, io.Closer, error) {
	ask := in
	for range maxAsks {
		if err := p.Instruct(ctx, ask); err != nil {
			return nil, nil, err
		}
		present, err := d.Present(ctx, in.Slot)
		if err != nil {
			return nil, nil, err
		}
		switch len(present) {
		case 1:
			return d.Open(ctx, present[0], func(k ctap.Keepalive) {
				if k == ctap.KeepaliveUserPresence {
					p.Touch(in.Slot)
				}
			})
		case 0:
			ask = officer.Instruction{Kind: officer.Insert, Slot: in.Slot,
				Text: fmt.Sprintf("No security key is plugged in. Plug in key %d (and no other key).", in.Slot)}
		default:
			ask = officer.Instruction{Kind: officer.RemoveOthers, Slot: in.Slot,
				Text: fmt.Sprintf(
					"%d security keys are plugged in. Unplug every key except key %d, then go on.",
					len(present),
					in.Slot,
				)}
		}
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
	}
	return nil, nil, fmt.Errorf(
		"exactly one security key must be plugged in, and after %d requests it was not",
		maxAsks,
	)
}
