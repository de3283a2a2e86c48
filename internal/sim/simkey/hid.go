package simkey

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/internal/ctaphid"
)

// Fault is a misbehaviour injected into the key's next answer, for tests.
type Fault int

// Faults, each consumed by the next request it applies to.
const (
	// FaultDropFrame drops the next reply frame (not keepalives).
	FaultDropFrame Fault = iota + 1
	// FaultCorruptFrame flips the bytes of the next reply frame's payload.
	FaultCorruptFrame
	// FaultBusy answers the next CTAPHID_CBOR request with ERROR CHANNEL_BUSY.
	FaultBusy
	// FaultUnplugBefore pulls the key out when the next CBOR request
	// arrives, before acting on it.
	FaultUnplugBefore
	// FaultUnplugAfter pulls the key out after acting on the next CBOR
	// request but before answering: the host cannot know it happened.
	FaultUnplugAfter
	// FaultYankDuringTouch pulls the key out while it waits for the next
	// touch, its last answer CTAP2_ERR_KEEPALIVE_CANCEL (0x2d) though the
	// host cancelled nothing, as a key stack may answer when the key goes
	// (issue 30 met it during the touch that creates a credential).
	FaultYankDuringTouch
)

// YankAt pulls the key out at the nth CTAP2 request from now (n >= 1),
// before acting on it or, with afterActing, after acting but before
// answering: for testing that every step survives a yanked key.
func (k *Key) YankAt(n int, afterActing bool) {
	k.mu.Lock()
	k.yankIn, k.yankAfter = n, afterActing
	k.mu.Unlock()
}

// yankNow counts a CTAP2 request and says whether to yank, and when.
func (k *Key) yankNow() (before, after bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.yankIn == 0 {
		return false, false
	}
	k.yankIn--
	if k.yankIn > 0 {
		return false, false
	}
	return !k.yankAfter, k.yankAfter
}

// InjectFault queues a fault for the key's next applicable request.
func (k *Key) InjectFault(f Fault) {
	k.mu.Lock()
	k.faults = append(k.faults, f)
	k.mu.Unlock()
}

// takeFault removes and reports the first queued fault among want.
func (k *Key) takeFault(want ...Fault) (Fault, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for i, f := range k.faults {
		for _, w := range want {
			if f == w {
				k.faults = append(k.faults[:i], k.faults[i+1:]...)
				return f, true
			}
		}
	}
	return 0, false
}

// takeYankedInTouch says, once, that the touch wait answered for a
// FaultYankDuringTouch: the key goes once that answer is out.
func (k *Key) takeYankedInTouch() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	y := k.yankedInTouch
	k.yankedInTouch = false
	return y
}

// msgTimeout is how long the key waits for the rest of a fragmented message.
const msgTimeout = 500 * time.Millisecond

// hidConn is one open of the virtual device node.
type hidConn struct {
	k    *Key
	conn *net.UnixConn
	raw  syscall.RawConn // conn's descriptor, for deliver's non-blocking writes

	wmu       sync.Mutex
	closeOnce sync.Once

	amu       sync.Mutex
	activeCID uint32
	cancel    context.CancelFunc // non-nil while a CBOR request runs
}

func (c *hidConn) close() { c.closeOnce.Do(func() { c.conn.Close() }) }

// ServeConn speaks CTAPHID on one connection (one open of the device) until
// the peer closes it, the key is unplugged, or ctx ends. It takes ownership
// of conn.
func (k *Key) ServeConn(ctx context.Context, conn *net.UnixConn) error {
	c, err := k.attach(conn)
	if err != nil {
		return err
	}
	c.serve(ctx)
	return nil
}

// attach registers a connection so that Unplug can break it.
func (k *Key) attach(conn *net.UnixConn) (*hidConn, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.plugged {
		conn.Close()
		return nil, fmt.Errorf("%w: simkey is unplugged", hid.ErrDeviceGone)
	}
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("simkey connection: %w", err)
	}
	c := &hidConn{k: k, conn: conn, raw: raw}
	k.conns[c] = struct{}{}
	return c, nil
}

func (c *hidConn) serve(ctx context.Context) {
	k, conn := c.k, c.conn
	defer func() {
		k.mu.Lock()
		delete(k.conns, c)
		k.mu.Unlock()
		c.amu.Lock()
		if c.cancel != nil {
			c.cancel()
		}
		c.amu.Unlock()
		c.close()
	}()
	stop := context.AfterFunc(ctx, c.close)
	defer stop()

	rasm := ctaphid.NewReassembler(ctaphid.MaxMessageSize)
	buf := make([]byte, ctaphid.ReportSize+1)
	// A fragmented message must be complete within msgTimeout of its first
	// packet, however many other packets arrive meanwhile.
	var msgDeadline time.Time
	for {
		switch {
		case !rasm.Active():
			msgDeadline = time.Time{}
		case msgDeadline.IsZero():
			msgDeadline = time.Now().Add(msgTimeout)
		}
		_ = conn.SetReadDeadline(msgDeadline)
		n, err := conn.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			c.sendError(rasm.ActiveCID(), ctaphid.ErrMsgTimeout)
			rasm.Reset()
			continue
		}
		if err != nil || n == 0 {
			return // closed: the host let go, or the key was pulled
		}
		if n != ctaphid.ReportSize {
			continue // not a report; a real HID stack would never deliver it
		}
		c.packet(ctx, rasm, buf[:n])
	}
}

// packet handles one incoming report.
func (c *hidConn) packet(ctx context.Context, rasm *ctaphid.Reassembler, pkt []byte) {
	p := ctaphid.Packet(pkt)
	cid := p.CID()
	if p.IsInit() {
		cmd := p.Command()
		if cmd == ctaphid.CmdInit {
			if rasm.Active() && rasm.ActiveCID() == cid {
				rasm.Reset() // INIT on the channel resynchronises it
			}
			c.init(cid, pkt)
			return
		}
		c.amu.Lock()
		busy := c.cancel != nil
		activeCID := c.activeCID
		c.amu.Unlock()
		if busy {
			if cid == activeCID && cmd == ctaphid.CmdCancel {
				c.amu.Lock()
				if c.cancel != nil {
					c.cancel()
				}
				c.amu.Unlock()
				return // CANCEL itself is never answered
			}
			c.sendError(cid, ctaphid.ErrChannelBusy)
			return
		}
		if !c.k.knownCID(cid) {
			c.sendError(cid, ctaphid.ErrInvalidChannel)
			return
		}
		if rasm.Active() && rasm.ActiveCID() != cid {
			c.sendError(cid, ctaphid.ErrChannelBusy)
			return
		}
	} else if !rasm.Active() || rasm.ActiveCID() != cid {
		return // stray continuation: ignored, as the spec says
	}
	done, _, cmd, data, err := rasm.Add(pkt)
	if err != nil {
		c.sendError(cid, ctaphid.ErrInvalidSeq)
		return
	}
	if done {
		c.dispatch(ctx, cid, cmd, data)
	}
}

// init answers CTAPHID_INIT: a new channel on the broadcast channel, or a
// resynchronisation of an existing one.
func (c *hidConn) init(cid uint32, pkt []byte) {
	p := ctaphid.Packet(pkt)
	if p.Length() != 8 {
		c.sendError(cid, ctaphid.ErrInvalidLen)
		return
	}
	nonce := pkt[7:15]
	newCID := cid
	if cid == ctaphid.BroadcastCID {
		newCID = c.k.allocateCID()
	} else if !c.k.knownCID(cid) {
		c.sendError(cid, ctaphid.ErrInvalidChannel)
		return
	}
	resp := make([]byte, 17)
	copy(resp, nonce)
	binary.BigEndian.PutUint32(resp[8:12], newCID)
	fw := c.k.cfg.FirmwareVersion
	resp[12], resp[13], resp[14], resp[15] = 2, byte(fw>>16), byte(fw>>8), byte(fw)
	resp[16] = ctaphid.CapWink | ctaphid.CapCBOR | ctaphid.CapNMSG
	c.send(cid, ctaphid.CmdInit, resp)
}

// allocateCID hands out a fresh channel ID. Real keys do not count from 1
// (a recorded YubiKey 5 answered 0x00220002), and a client must not assume
// they do, so simkey draws them at random: never 0, never the broadcast
// channel, never one already handed out.
func (k *Key) allocateCID() uint32 {
	k.mu.Lock()
	defer k.mu.Unlock()
	var b [4]byte
	for {
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
		cid := binary.BigEndian.Uint32(b[:])
		if cid != 0 && cid != ctaphid.BroadcastCID && !k.cids[cid] {
			k.cids[cid] = true
			return cid
		}
	}
}

func (k *Key) knownCID(cid uint32) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.cids[cid]
}

// dispatch runs a complete message.
func (c *hidConn) dispatch(ctx context.Context, cid uint32, cmd ctaphid.Command, data []byte) {
	switch cmd {
	case ctaphid.CmdPing:
		c.send(cid, ctaphid.CmdPing, data)
	case ctaphid.CmdWink, ctaphid.CmdLock:
		c.send(cid, cmd, nil)
	case ctaphid.CmdCancel:
		// nothing running on this connection: nothing to cancel
	case ctaphid.CmdCBOR:
		c.startCBOR(ctx, cid, data)
	default:
		c.sendError(cid, ctaphid.ErrInvalidCmd)
	}
}

// startCBOR runs a CTAP2 request in its own goroutine so that CANCEL and
// other channels' packets are still read while the key waits for a touch.
func (c *hidConn) startCBOR(ctx context.Context, cid uint32, data []byte) {
	k := c.k
	if _, ok := k.takeFault(FaultBusy); ok {
		c.sendError(cid, ctaphid.ErrChannelBusy)
		return
	}
	yankBefore, yankAfter := k.yankNow()
	if _, ok := k.takeFault(FaultUnplugBefore); ok || yankBefore {
		go k.Unplug()
		return
	}
	if !k.cmdMu.TryLock() { // another open of the device is using the key
		c.sendError(cid, ctaphid.ErrChannelBusy)
		return
	}
	rctx, cancel := context.WithCancel(ctx)
	c.amu.Lock()
	c.activeCID, c.cancel = cid, cancel
	c.amu.Unlock()
	go func() {
		keepalive := func(status byte) { c.send(cid, ctaphid.CmdKeepalive, []byte{status}) }
		resp := k.process(rctx, data, keepalive)
		// The key is free again before the reply leaves: a host that sends
		// its next request the moment it reads this one must not see BUSY.
		c.amu.Lock()
		c.cancel = nil
		c.amu.Unlock()
		cancel()
		k.cmdMu.Unlock()
		if _, ok := k.takeFault(FaultUnplugAfter); ok || yankAfter {
			k.Unplug()
			return
		}
		c.send(cid, ctaphid.CmdCBOR, resp)
		if k.takeYankedInTouch() {
			k.Unplug()
		}
	}()
}

func (c *hidConn) sendError(cid uint32, code ctaphid.ErrorCode) {
	c.send(cid, ctaphid.CmdError, []byte{byte(code)})
}

// send fragments and writes one message, applying frame faults to replies.
func (c *hidConn) send(cid uint32, cmd ctaphid.Command, data []byte) {
	pkts, err := ctaphid.Fragment(cid, cmd, data, ctaphid.MaxMessageSize)
	if err != nil {
		pkts, _ = ctaphid.Fragment(cid, ctaphid.CmdError, []byte{byte(ctaphid.ErrOther)}, ctaphid.MaxMessageSize)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	for _, p := range pkts {
		if cmd != ctaphid.CmdKeepalive {
			if f, ok := c.k.takeFault(FaultDropFrame, FaultCorruptFrame); ok {
				if f == FaultDropFrame {
					continue
				}
				for i := 7; i < len(p); i++ {
					p[i] ^= 0xff
				}
			}
		}
		if !c.deliver(p) {
			return // the host's queue is full or gone: the rest is lost too
		}
	}
}

// deliver hands one input report to the host without ever waiting for it.
// Linux queues a device's input reports per open of /dev/hidraw and drops a
// new one when that queue is full (drivers/hid/hidraw.c,
// hidraw_report_event: "if (new_head == list->tail) continue"); a key never
// stalls because its host stopped reading. simkey does the same: one
// non-blocking write, and a full socket buffer drops the report. Without it
// a host that writes a flood of bad packets and reads nothing would block
// the key's answers, the key would stop reading, and both would wait.
func (c *hidConn) deliver(report []byte) bool {
	var werr error
	if err := c.raw.Write(func(fd uintptr) bool {
		_, werr = syscall.Write(int(fd), report)
		return true // one attempt: EAGAIN means the queue is full
	}); err != nil {
		return false
	}
	return werr == nil
}

// Listen serves the key on a UNIX SOCK_SEQPACKET socket at path, one 64-byte
// HID report per message, until ctx ends.
func (k *Key) Listen(ctx context.Context, path string) error {
	ln, err := net.ListenUnix("unixpacket", &net.UnixAddr{Name: path, Net: "unixpacket"})
	if err != nil {
		return fmt.Errorf("simkey: listen on %s: %w", path, err)
	}
	return k.Serve(ctx, ln)
}

// Serve accepts connections on ln until ctx ends; each is one open of the key.
func (k *Key) Serve(ctx context.Context, ln *net.UnixListener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("simkey: accept: %w", err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = k.ServeConn(ctx, conn)
		}()
	}
}

// Connect returns the host side of a SOCK_SEQPACKET socket pair wired to
// the key in-process: the same bytes a served socket carries (hid.OpenConn
// opens it). The connection lives until it is closed or the key is
// unplugged.
func (k *Key) Connect() (*net.UnixConn, error) {
	a, b, err := ctaphid.SocketPair()
	if err != nil {
		return nil, err
	}
	c, err := k.attach(b)
	if err != nil {
		a.Close()
		return nil, err
	}
	go c.serve(context.Background())
	return a, nil
}
