package ctaphid

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

// SocketPair returns two connected SOCK_SEQPACKET sockets, each message one
// report: an in-process wire between the host stack and a simkey with the
// same kernel semantics as a served socket.
func SocketPair() (a, b *net.UnixConn, err error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, fmt.Errorf("socketpair: %w", err)
	}
	conns := make([]*net.UnixConn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), fmt.Sprintf("simkey-pair-%d", i))
		c, err := net.FileConn(f)
		f.Close()
		if err != nil {
			for _, c := range conns[:i] {
				c.Close()
			}
			for _, fd := range fds[i+1:] { // not yet wrapped: f.Close closed fds[i]
				syscall.Close(fd)
			}
			return nil, nil, fmt.Errorf("socketpair: %w", err)
		}
		conns[i] = c.(*net.UnixConn)
	}
	return conns[0], conns[1], nil
}
