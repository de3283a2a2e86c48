package hid

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keyceremony/keyceremony/internal/ctaphid"
)

// transport carries 64-byte HID reports (without a report-ID byte) to and from
// one authenticator. A hidraw node and a simkey socket both implement it.
type transport interface {
	// WriteReport sends one report of exactly reportSize bytes.
	WriteReport(ctx context.Context, report []byte) error
	// ReadReport receives one report into buf (at least reportSize bytes) and
	// returns its length. It returns when ctx is done.
	ReadReport(ctx context.Context, buf []byte) (int, error)
	// Close releases the device.
	Close() error
	// String names the device for messages and logs.
	String() string
}

// ErrDeviceGone is wrapped by errors caused by the authenticator disappearing
// (unplugged, or its socket closed) in the middle of a conversation.
var ErrDeviceGone = errors.New("the key was removed or stopped answering")

// deadlineConn is what both hidraw files and UNIX sockets offer.
type deadlineConn interface {
	Read([]byte) (int, error)
	Write([]byte) (int, error)
	Close() error
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// readWithContext reads one report from c, returning when ctx is done.
func readWithContext(ctx context.Context, c deadlineConn, buf []byte) (int, error) {
	n, err := ioWithContext(ctx, c.SetReadDeadline, func() (int, error) { return c.Read(buf) })
	if err != nil && ctx.Err() != nil {
		return 0, ctx.Err()
	}
	return readResult(n, err)
}

// writeWithContext writes one report to c, returning when ctx is done: a
// key (or simulator) that stops taking reports must not hang the ceremony.
func writeWithContext(ctx context.Context, c deadlineConn, report []byte) error {
	_, err := ioWithContext(ctx, c.SetWriteDeadline, func() (int, error) { return c.Write(report) })
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		return context.DeadlineExceeded // the poller's timer beat ctx's
	}
	return fmt.Errorf("%w: write: %v", ErrDeviceGone, err)
}

// ioWithContext runs one read or write under ctx: ctx's deadline becomes
// the descriptor's, and cancelling ctx pushes that deadline into the past.
func ioWithContext(ctx context.Context, setDeadline func(time.Time) error, op func() (int, error)) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Time{}
	}
	if err := setDeadline(dl); err != nil {
		return 0, fmt.Errorf("set deadline: %w", err)
	}
	fired := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		_ = setDeadline(time.Unix(1, 0))
		close(fired)
	})
	n, err := op()
	if !stop() {
		// The callback started: wait for it, or it could push the deadline
		// into the past for the next call, which would then fail at once.
		<-fired
	}
	return n, err
}

// readResult names the outcome of one read: a passed deadline is
// context.DeadlineExceeded, any other failure or an empty read means the key
// is gone.
func readResult(n int, err error) (int, error) {
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, context.DeadlineExceeded
	case err != nil:
		return 0, fmt.Errorf("%w: %v", ErrDeviceGone, err)
	case n == 0:
		return 0, fmt.Errorf("%w: end of stream", ErrDeviceGone)
	}
	return n, nil
}

// interruptibleReader is a deadline-read connection that another goroutine
// can interrupt. Both built-in transports embed one, so that Device.receive
// registers one cancel callback per message and sets one plain deadline per
// 64-byte read, instead of a fresh context, timer, callback and channel per
// read (readWithContext), which were most of a round trip's allocations.
type interruptibleReader struct {
	conn        deadlineConn
	interrupted atomic.Bool
}

// errInterrupted: the read was stopped by interrupt (the caller's context
// ended); receive reports the context's own error instead.
var errInterrupted = errors.New("read interrupted")

// readBy reads once, waiting until deadline at most.
func (r *interruptibleReader) readBy(deadline time.Time, buf []byte) (int, error) {
	if err := r.conn.SetReadDeadline(deadline); err != nil {
		return 0, fmt.Errorf("set read deadline: %w", err)
	}
	// interrupt stores the flag before it moves the deadline into the past:
	// either this load sees the flag, or that move comes after ours above.
	if r.interrupted.Load() {
		return 0, errInterrupted
	}
	n, err := r.conn.Read(buf)
	if err != nil && r.interrupted.Load() {
		return 0, errInterrupted
	}
	return readResult(n, err)
}

// interrupt stops the read in progress and every later one until reset.
func (r *interruptibleReader) interrupt() {
	r.interrupted.Store(true)
	_ = r.conn.SetReadDeadline(time.Unix(1, 0))
}

// reset readies the reader for the next message.
func (r *interruptibleReader) reset() { r.interrupted.Store(false) }

// fastReader is implemented by the built-in transports (see interruptibleReader).
type fastReader interface{ reader() *interruptibleReader }

// socketTransport is a transport over a UNIX SOCK_SEQPACKET socket carrying one
// 64-byte report per message, as `keyceremony simkey serve` provides.
type socketTransport struct {
	conn *net.UnixConn
	name string
	r    interruptibleReader
}

// dialSocket connects to a simkey socket.
func dialSocket(ctx context.Context, path string) (transport, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unixpacket", path)
	if err != nil {
		return nil, fmt.Errorf("connect to simkey socket %s: %w", path, err)
	}
	return newSocketTransport(c.(*net.UnixConn), "simkey:"+path), nil
}

// newSocketTransport wraps an already connected SOCK_SEQPACKET UNIX socket.
func newSocketTransport(c *net.UnixConn, name string) transport {
	s := &socketTransport{conn: c, name: name}
	s.r.conn = c
	return s
}

// WriteReport implements transport.
func (s *socketTransport) WriteReport(ctx context.Context, report []byte) error {
	if len(report) != reportSize {
		return fmt.Errorf("write report: %d bytes, want %d", len(report), reportSize)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeWithContext(ctx, s.conn, report)
}

// ReadReport implements transport.
func (s *socketTransport) ReadReport(ctx context.Context, buf []byte) (int, error) {
	return readWithContext(ctx, s.conn, buf)
}

func (s *socketTransport) reader() *interruptibleReader { return &s.r }

// Close implements transport.
func (s *socketTransport) Close() error { return s.conn.Close() }

// String implements transport.
func (s *socketTransport) String() string { return s.name }

// openPath opens a device address as the CLI accepts it:
// "hidraw:/dev/hidraw3", "simkey:/path/to.sock", or a bare /dev/hidrawN path.
func openPath(ctx context.Context, addr string) (transport, error) {
	switch {
	case strings.HasPrefix(addr, "simkey:"):
		return dialSocket(ctx, strings.TrimPrefix(addr, "simkey:"))
	case strings.HasPrefix(addr, "hidraw:"):
		return openHidraw(strings.TrimPrefix(addr, "hidraw:"))
	case strings.HasPrefix(addr, "/dev/"):
		return openHidraw(addr)
	}
	return nil, fmt.Errorf("device address %q: want hidraw:/dev/hidrawN or simkey:/path/to.sock", addr)
}

// reportSize is the size of every CTAPHID report a transport carries.
const reportSize = ctaphid.ReportSize
