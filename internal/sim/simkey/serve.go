package simkey

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// ServeSocket runs a key made from cfg on the socket at path until ctx
// ends, for clients outside this process: SIGHUP re-plugs it (a new
// power-up), a stale socket from an earlier run is replaced, out hears
// where it serves and notice each re-plug.
func ServeSocket(ctx context.Context, cfg Config, path string, out, notice io.Writer) error {
	key, err := New(cfg)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := key.Replug(); err != nil {
				fmt.Fprintf(notice, "simkey: replug: %v\n", err)
			} else {
				fmt.Fprintln(notice, "simkey: re-plugged (new power-up)")
			}
		}
	}()
	os.Remove(path) // a stale socket from an earlier run
	fmt.Fprintf(out, "simkey %s serving on %s (SIGHUP re-plugs; Ctrl-C stops)\n", key.AAGUID(), path)
	err = key.Listen(ctx, path)
	os.Remove(path)
	return err
}
