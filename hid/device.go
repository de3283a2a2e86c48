package hid

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/keyceremony/keyceremony/internal/ctaphid"
)

// InitInfo is what an authenticator says about itself in CTAPHID_INIT.
type InitInfo struct {
	ProtocolVersion byte `json:"protocol_version"`
	Major           byte `json:"major"`
	Minor           byte `json:"minor"`
	Build           byte `json:"build"`
	Capabilities    byte `json:"capabilities"`
}

// hasCBOR reports whether the authenticator speaks CTAP2 over CTAPHID_CBOR.
func (i InitInfo) hasCBOR() bool { return i.Capabilities&ctaphid.CapCBOR != 0 }

// Options tune a Device. The zero value gives the defaults.
type Options struct {
	// IdleTimeout bounds the silence after a request: an authenticator that
	// sends neither a reply nor a keepalive for this long is treated as gone.
	// Default 5 s (keys send keepalives every 100 ms while they work).
	IdleTimeout time.Duration
	// BusyRetries is how often a CHANNEL_BUSY answer is retried. Default 20.
	BusyRetries int
	// BusyBackoff is the wait before retrying after CHANNEL_BUSY. Default 100 ms.
	BusyBackoff time.Duration
}

func (o Options) withDefaults() Options {
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = 5 * time.Second
	}
	if o.BusyRetries <= 0 {
		o.BusyRetries = 20
	}
	if o.BusyBackoff <= 0 {
		o.BusyBackoff = 100 * time.Millisecond
	}
	return o
}

// Device is a CTAPHID channel to one authenticator. It is safe for use by
// several goroutines; requests are serialised.
type Device struct {
	t    transport
	opts Options

	mu   sync.Mutex
	cid  uint32
	info InitInfo
	rbuf [reportSize]byte
	rasm *ctaphid.Reassembler
}

// Open opens the authenticator at a device address as the CLI accepts it
// ("hidraw:/dev/hidraw3", "simkey:/path/to.sock", or a bare /dev/hidrawN
// path) and allocates a CTAPHID channel on it.
func Open(ctx context.Context, addr string, opts Options) (*Device, error) {
	t, err := openPath(ctx, addr)
	if err != nil {
		return nil, err
	}
	d, err := openOn(ctx, t, opts)
	if err != nil {
		t.Close()
		return nil, err
	}
	return d, nil
}

// OpenConn allocates a CTAPHID channel on an already connected
// SOCK_SEQPACKET UNIX socket that carries one report a message, as a
// simkey in the same process offers; name names it in messages. The
// Device owns c from then on, and c is closed if the channel cannot be
// had.
func OpenConn(ctx context.Context, c *net.UnixConn, name string, opts Options) (*Device, error) {
	t := newSocketTransport(c, name)
	d, err := openOn(ctx, t, opts)
	if err != nil {
		t.Close()
		return nil, err
	}
	return d, nil
}

// openOn allocates a CTAPHID channel on t. The Device owns t from then on.
func openOn(ctx context.Context, t transport, opts Options) (*Device, error) {
	d := &Device{t: t, opts: opts.withDefaults(), rasm: ctaphid.NewReassembler(ctaphid.MaxMessageSize)}
	if err := d.initChannel(ctx); err != nil {
		return nil, fmt.Errorf("open %s: %w", t, err)
	}
	return d, nil
}

// Info returns what the authenticator said in CTAPHID_INIT.
func (d *Device) Info() InitInfo { return d.info }

// DeviceVersion is the device version of the CTAPHID_INIT answer (major,
// minor, build), which YubiKeys set to their firmware version.
func (d *Device) DeviceVersion() [3]byte { return [3]byte{d.info.Major, d.info.Minor, d.info.Build} }

// String names the device.
func (d *Device) String() string { return d.t.String() }

// Close releases the transport.
func (d *Device) Close() error { return d.t.Close() }

// initChannel runs CTAPHID_INIT on the broadcast channel, checking the nonce.
func (d *Device) initChannel(ctx context.Context) error {
	var nonce [8]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return fmt.Errorf("nonce: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, d.opts.IdleTimeout)
	defer cancel()
	if err := d.send(ctx, ctaphid.BroadcastCID, ctaphid.CmdInit, nonce[:]); err != nil {
		return fmt.Errorf("INIT: %w", err)
	}
	// An ERROR on the broadcast channel carries no nonce: it may answer
	// another program's request. Remember it and keep waiting for our reply.
	var lastErr error
	for {
		cmd, data, err := d.receive(ctx, ctaphid.BroadcastCID)
		if err != nil {
			if lastErr != nil {
				return fmt.Errorf("INIT: %w", lastErr)
			}
			return fmt.Errorf("INIT: %w", err)
		}
		if cmd == ctaphid.CmdError && len(data) > 0 {
			lastErr = ctaphid.ErrorCode(data[0])
			continue
		}
		// Replies to another program's INIT carry another nonce: skip them.
		if cmd != ctaphid.CmdInit || len(data) < 17 || !bytes.Equal(data[:8], nonce[:]) {
			continue
		}
		cid := binary.BigEndian.Uint32(data[8:12])
		if cid == 0 || cid == ctaphid.BroadcastCID {
			return fmt.Errorf("INIT: key assigned the invalid channel %08x", cid)
		}
		d.cid = cid
		d.info = InitInfo{
			ProtocolVersion: data[12],
			Major:           data[13],
			Minor:           data[14],
			Build:           data[15],
			Capabilities:    data[16],
		}
		return nil
	}
}

// send fragments and writes one message.
func (d *Device) send(ctx context.Context, cid uint32, cmd ctaphid.Command, data []byte) error {
	pkts, err := ctaphid.Fragment(cid, cmd, data, ctaphid.MaxMessageSize)
	if err != nil {
		return err
	}
	for _, p := range pkts {
		if err := d.t.WriteReport(ctx, p); err != nil {
			return err
		}
	}
	return nil
}

// receive reads packets until a whole message arrives on cid. Packets for
// other channels and stray continuations are skipped; a broken sequence on
// our own channel is an error. Each read waits at most IdleTimeout.
func (d *Device) receive(ctx context.Context, cid uint32) (ctaphid.Command, []byte, error) {
	d.rasm.Reset()
	read := d.readFunc(ctx)
	defer read.done()
	for {
		n, err := read.next(d.rbuf[:])
		if err != nil {
			if !expired(ctx) && errors.Is(err, context.DeadlineExceeded) {
				return 0, nil, fmt.Errorf("%w: no answer for %v", ErrDeviceGone, d.opts.IdleTimeout)
			}
			return 0, nil, err
		}
		if n < reportSize {
			return 0, nil, fmt.Errorf("%w: short report of %d bytes", ctaphid.ErrMalformedPacket, n)
		}
		p := ctaphid.Packet(d.rbuf[:])
		if p.CID() != cid {
			continue
		}
		if !p.IsInit() && !d.rasm.Active() {
			continue // tail of an earlier, abandoned reply
		}
		done, _, cmd, data, err := d.rasm.Add(d.rbuf[:])
		if err != nil {
			return 0, nil, fmt.Errorf("reply from key: %w", err)
		}
		if done {
			return cmd, data, nil
		}
	}
}

// messageReader reads the reports of one message, each waiting at most
// IdleTimeout and none past ctx.
type messageReader struct {
	next func(buf []byte) (int, error)
	done func()
}

// readFunc returns the reader for one message. On the built-in transports it
// registers one callback on ctx for the whole message and sets a plain
// deadline per read; other Transports get a context per read.
func (d *Device) readFunc(ctx context.Context) messageReader {
	fr, ok := d.t.(fastReader)
	if !ok {
		return messageReader{
			next: func(buf []byte) (int, error) {
				rctx, cancel := context.WithTimeout(ctx, d.opts.IdleTimeout)
				defer cancel()
				return d.t.ReadReport(rctx, buf)
			},
			done: func() {},
		}
	}
	r := fr.reader()
	r.reset()
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		r.interrupt()
		close(fired)
	})
	ctxDeadline, hasDeadline := ctx.Deadline()
	return messageReader{
		next: func(buf []byte) (int, error) {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			dl := time.Now().Add(d.opts.IdleTimeout)
			if hasDeadline && ctxDeadline.Before(dl) {
				dl = ctxDeadline
			}
			n, err := r.readBy(dl, buf)
			if errors.Is(err, errInterrupted) {
				return 0, callerErr(ctx)
			}
			return n, err
		},
		done: func() {
			if !stop() {
				// The callback started: wait for it, so that it cannot push
				// the deadline into the past during the next message.
				<-fired
			}
			r.reset()
		},
	}
}

// expired reports whether the caller's ctx is over. A socket read deadline
// taken from ctx can fire a moment before ctx itself reports it, so a
// passed deadline counts too.
func expired(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// callerErr is ctx's error, DeadlineExceeded when only its deadline passed.
func callerErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.DeadlineExceeded
}

// transact sends one request and returns the reply, handling keepalives,
// cancellation, busy retries and a forgotten channel.
func (d *Device) transact(
	ctx context.Context,
	cmd ctaphid.Command,
	data []byte,
	keepalive func(status byte),
) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	reinit := false
	for attempt := 0; ; attempt++ {
		reply, err := d.transactOnce(ctx, cmd, data, keepalive)
		var code ctaphid.ErrorCode
		switch {
		case errors.As(err, &code) && code == ctaphid.ErrChannelBusy && attempt < d.opts.BusyRetries:
			t := time.NewTimer(d.opts.BusyBackoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
			continue
		case errors.As(err, &code) && code == ctaphid.ErrInvalidChannel && !reinit:
			reinit = true
			if err := d.initChannel(ctx); err != nil {
				return nil, err
			}
			continue
		}
		return reply, err
	}
}

func (d *Device) transactOnce(
	ctx context.Context,
	cmd ctaphid.Command,
	data []byte,
	keepalive func(byte),
) ([]byte, error) {
	if err := d.send(ctx, d.cid, cmd, data); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	readCtx := ctx
	var cancelled bool
	for {
		rcmd, reply, err := d.receive(readCtx, d.cid)
		if err != nil && expired(ctx) && !cancelled {
			// The caller gave up: tell the key, then wait briefly for its
			// answer so the channel is clean for the next request.
			cancelled = true
			var stop context.CancelFunc
			readCtx, stop = context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer stop()
			if cmd == ctaphid.CmdCBOR {
				_ = d.send(readCtx, d.cid, ctaphid.CmdCancel, nil)
			}
			continue
		}
		if err != nil {
			if cancelled {
				return nil, fmt.Errorf("%s cancelled: %w", cmd, callerErr(ctx))
			}
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
		switch rcmd {
		case ctaphid.CmdKeepalive:
			if keepalive != nil && len(reply) > 0 && !cancelled {
				keepalive(reply[0])
			}
			continue
		case ctaphid.CmdError:
			if len(reply) == 0 {
				return nil, fmt.Errorf("%s: %w: empty ERROR", cmd, ctaphid.ErrMalformedPacket)
			}
			return nil, fmt.Errorf("%s: %w", cmd, ctaphid.ErrorCode(reply[0]))
		case cmd:
			if cancelled {
				return nil, fmt.Errorf("%s cancelled: %w", cmd, callerErr(ctx))
			}
			return reply, nil
		}
		return nil, fmt.Errorf("%s: %w: reply is %s", cmd, ctaphid.ErrMalformedPacket, rcmd)
	}
}

// CBOR sends a CTAP2 message (command byte and CBOR parameters) and returns
// the reply (status byte and CBOR). keepalive, when not nil, is called with
// each KEEPALIVE status (ctaphid.KeepaliveProcessing, ctaphid.KeepaliveUPNeeded). When ctx is
// cancelled the request is cancelled on the key with CTAPHID_CANCEL.
func (d *Device) CBOR(ctx context.Context, msg []byte, keepalive func(status byte)) ([]byte, error) {
	if !d.info.hasCBOR() {
		return nil, errors.New("key does not speak CTAP2 (no CBOR capability): a U2F-only key cannot be used")
	}
	return d.transact(ctx, ctaphid.CmdCBOR, msg, keepalive)
}

// Ping echoes data through the key and checks the echo.
func (d *Device) Ping(ctx context.Context, data []byte) error {
	reply, err := d.transact(ctx, ctaphid.CmdPing, data, nil)
	if err != nil {
		return err
	}
	if !bytes.Equal(reply, data) {
		return fmt.Errorf("PING: %w: echo differs", ctaphid.ErrMalformedPacket)
	}
	return nil
}

// Wink asks the key to blink so officers can tell which key is which.
func (d *Device) Wink(ctx context.Context) error {
	if d.info.Capabilities&ctaphid.CapWink == 0 {
		return errors.New("key cannot wink")
	}
	_, err := d.transact(ctx, ctaphid.CmdWink, nil, nil)
	return err
}
