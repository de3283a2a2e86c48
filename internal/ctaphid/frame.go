package ctaphid

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// ReportSize is the size of one FIDO HID report without the report-ID byte.
// Every FIDO authenticator in the field uses 64-byte input and output reports.
const ReportSize = 64

const (
	initHeaderSize = 7 // CID(4) CMD(1) BCNTH(1) BCNTL(1)
	contHeaderSize = 5 // CID(4) SEQ(1)
	initPayload    = ReportSize - initHeaderSize
	contPayload    = ReportSize - contHeaderSize
	maxSeq         = 0x80
)

// MaxMessageSize is the largest message CTAPHID can carry in 64-byte reports:
// one initialisation packet and 128 continuation packets.
const MaxMessageSize = initPayload + maxSeq*contPayload

// BroadcastCID is the channel used for CTAPHID_INIT before a channel exists.
const BroadcastCID uint32 = 0xffffffff

// Command is a CTAPHID command byte without the initialisation-packet bit.
type Command byte

// CTAPHID commands (CTAP 2.1 §11.2.9).
const (
	CmdPing      Command = 0x01
	CmdMsg       Command = 0x03
	CmdLock      Command = 0x04
	CmdInit      Command = 0x06
	CmdWink      Command = 0x08
	CmdCBOR      Command = 0x10
	CmdCancel    Command = 0x11
	CmdKeepalive Command = 0x3b
	CmdError     Command = 0x3f
)

// String names the command as the CTAPHID specification does.
func (c Command) String() string {
	switch c {
	case CmdPing:
		return "PING"
	case CmdMsg:
		return "MSG"
	case CmdLock:
		return "LOCK"
	case CmdInit:
		return "INIT"
	case CmdWink:
		return "WINK"
	case CmdCBOR:
		return "CBOR"
	case CmdCancel:
		return "CANCEL"
	case CmdKeepalive:
		return "KEEPALIVE"
	case CmdError:
		return "ERROR"
	}
	return fmt.Sprintf("command 0x%02x", byte(c))
}

// Capability flags reported in the CTAPHID_INIT response.
const (
	CapWink = 0x01
	CapCBOR = 0x04
	CapNMSG = 0x08
)

// Keepalive status codes carried by CTAPHID_KEEPALIVE.
const (
	KeepaliveProcessing = 0x01
	KeepaliveUPNeeded   = 0x02
)

// ErrorCode is a CTAPHID_ERROR code.
type ErrorCode byte

// CTAPHID error codes (CTAP 2.1 §11.2.9.1.6).
const (
	ErrInvalidCmd     ErrorCode = 0x01
	ErrInvalidPar     ErrorCode = 0x02
	ErrInvalidLen     ErrorCode = 0x03
	ErrInvalidSeq     ErrorCode = 0x04
	ErrMsgTimeout     ErrorCode = 0x05
	ErrChannelBusy    ErrorCode = 0x06
	ErrLockRequired   ErrorCode = 0x0a
	ErrInvalidChannel ErrorCode = 0x0b
	ErrOther          ErrorCode = 0x7f
)

// Error implements error with a sentence an officer can act on.
func (e ErrorCode) Error() string {
	switch e {
	case ErrInvalidCmd:
		return "key does not support this HID command"
	case ErrInvalidPar:
		return "key rejected a HID parameter"
	case ErrInvalidLen:
		return "key rejected the message length"
	case ErrInvalidSeq:
		return "key saw packets out of order (retry; if it persists, re-plug the key)"
	case ErrMsgTimeout:
		return "key timed out waiting for the rest of a message"
	case ErrChannelBusy:
		return "key is busy with another program (close browsers or other FIDO tools)"
	case ErrLockRequired:
		return "key is locked by another program"
	case ErrInvalidChannel:
		return "key forgot our channel (it was probably re-plugged)"
	}
	return fmt.Sprintf("key reported HID error 0x%02x", byte(e))
}

// ErrMalformedPacket is wrapped by every reassembly failure caused by bytes
// that do not follow the CTAPHID rules.
var ErrMalformedPacket = errors.New("malformed CTAPHID packet")

// Packet is a view of one 64-byte CTAPHID report.
type Packet []byte

// CID returns the channel identifier of the packet.
func (p Packet) CID() uint32 { return binary.BigEndian.Uint32(p[0:4]) }

// IsInit reports whether p is an initialisation packet.
func (p Packet) IsInit() bool { return p[4]&0x80 != 0 }

// Command returns the command of an initialisation packet.
func (p Packet) Command() Command { return Command(p[4] & 0x7f) }

// Length returns the total message length announced by an initialisation packet.
func (p Packet) Length() int { return int(binary.BigEndian.Uint16(p[5:7])) }

// Seq returns the sequence number of a continuation packet.
func (p Packet) Seq() int { return int(p[4]) }

// Fragment splits one message into 64-byte CTAPHID packets for channel cid.
// It returns an error when data exceeds maxLen (use MaxMessageSize when the
// peer announced nothing smaller).
func Fragment(cid uint32, cmd Command, data []byte, maxLen int) ([]Packet, error) {
	if maxLen <= 0 || maxLen > MaxMessageSize {
		maxLen = MaxMessageSize
	}
	if len(data) > maxLen {
		return nil, fmt.Errorf("message of %d bytes exceeds the %d-byte limit", len(data), maxLen)
	}
	n := 1
	if len(data) > initPayload {
		n += (len(data) - initPayload + contPayload - 1) / contPayload
	}
	buf := make([]byte, n*ReportSize)
	pkts := make([]Packet, 0, n)
	p := Packet(buf[:ReportSize])
	binary.BigEndian.PutUint32(p[0:4], cid)
	p[4] = byte(cmd) | 0x80
	binary.BigEndian.PutUint16(p[5:7], uint16(len(data)))
	rest := data[copy(p[initHeaderSize:], data):]
	pkts = append(pkts, p)
	for seq := 0; len(rest) > 0; seq++ {
		p = Packet(buf[(seq+1)*ReportSize : (seq+2)*ReportSize])
		binary.BigEndian.PutUint32(p[0:4], cid)
		p[4] = byte(seq)
		rest = rest[copy(p[contHeaderSize:], rest):]
		pkts = append(pkts, p)
	}
	return pkts, nil
}

// Reassembler collects the packets of one message on one channel.
// The zero value is not usable; use NewReassembler.
type Reassembler struct {
	maxLen  int
	active  bool
	cid     uint32
	cmd     Command
	want    int
	nextSeq int
	data    []byte
}

// NewReassembler returns a Reassembler accepting messages up to maxLen bytes.
func NewReassembler(maxLen int) *Reassembler {
	if maxLen <= 0 || maxLen > MaxMessageSize {
		maxLen = MaxMessageSize
	}
	return &Reassembler{maxLen: maxLen}
}

// Active reports whether a message is partly received.
func (r *Reassembler) Active() bool { return r.active }

// ActiveCID returns the channel of the message being received.
func (r *Reassembler) ActiveCID() uint32 { return r.cid }

// Reset drops any partly received message.
func (r *Reassembler) Reset() { r.active = false; r.data = nil }

// Add feeds one packet. When the packet completes a message, done is true and
// cmd and data hold it (data is owned by the caller). A malformed packet gives
// an error wrapping ErrMalformedPacket and resets the Reassembler.
func (r *Reassembler) Add(pkt []byte) (done bool, cid uint32, cmd Command, data []byte, err error) {
	if len(pkt) < ReportSize {
		r.Reset()
		return false, 0, 0, nil, fmt.Errorf("%w: short report of %d bytes", ErrMalformedPacket, len(pkt))
	}
	p := Packet(pkt[:ReportSize])
	if p.IsInit() {
		n := p.Length()
		if n > r.maxLen {
			r.Reset()
			return false, p.CID(), p.Command(), nil, fmt.Errorf(
				"%w: announced length %d exceeds %d",
				ErrMalformedPacket,
				n,
				r.maxLen,
			)
		}
		r.active, r.cid, r.cmd, r.want, r.nextSeq = true, p.CID(), p.Command(), n, 0
		r.data = make([]byte, 0, n)
		r.data = append(r.data, p[initHeaderSize:initHeaderSize+min(n, initPayload)]...)
	} else {
		if !r.active {
			return false, p.CID(), 0, nil, fmt.Errorf(
				"%w: continuation packet without an initialisation packet", ErrMalformedPacket)
		}
		if p.CID() != r.cid {
			return false, p.CID(), 0, nil, fmt.Errorf(
				"%w: continuation for channel %08x while receiving on %08x", ErrMalformedPacket, p.CID(), r.cid)
		}
		if p.Seq() != r.nextSeq {
			seq := r.nextSeq
			r.Reset()
			err := fmt.Errorf("%w: sequence %d, expected %d", ErrMalformedPacket, p.Seq(), seq)
			return false, p.CID(), r.cmd, nil, err
		}
		r.nextSeq++
		r.data = append(r.data, p[contHeaderSize:contHeaderSize+min(r.want-len(r.data), contPayload)]...)
	}
	if len(r.data) < r.want {
		return false, r.cid, r.cmd, nil, nil
	}
	data = r.data
	r.active, r.data = false, nil
	return true, r.cid, r.cmd, data, nil
}
