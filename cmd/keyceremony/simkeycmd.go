package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

func cmdSimkeyServe(ctx context.Context, fs *flags, args []string, s stdio) error {
	out, errOut := s.out, s.err
	sock := fs.String("socket", "", "UNIX SOCK_SEQPACKET socket path to listen on")
	statePath := fs.String("state", "", "keep the key's state (PIN, credentials, counter) in this file across restarts")
	touch := fs.Duration("touch-delay", 300*time.Millisecond, "how long the simulated person takes to touch the key")
	aaguid := fs.String("aaguid", "", "AAGUID to present (default: simkey's own)")
	resetWindow := fs.Duration("reset-window", 10*time.Second, "how long after power-up (start or SIGHUP) the key accepts a reset")
	if err := fs.noArgs(args, s); err != nil {
		return err
	}
	if *sock == "" {
		return fs.usageError("--socket is required")
	}
	cfg := simkey.Config{StatePath: *statePath, TouchDelay: *touch, ResetWindow: *resetWindow}
	if *aaguid != "" {
		a, err := ctap.ParseAAGUID(*aaguid)
		if err != nil {
			return err
		}
		cfg.AAGUID = a
	}
	key, err := simkey.New(cfg)
	if err != nil {
		return err
	}
	// SIGHUP simulates unplugging and re-plugging the key: a new power-up.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			if err := key.Replug(); err != nil {
				fmt.Fprintf(errOut, "simkey: replug: %v\n", err)
			} else {
				fmt.Fprintln(errOut, "simkey: re-plugged (new power-up)")
			}
		}
	}()
	os.Remove(*sock) // a stale socket from an earlier run
	fmt.Fprintf(out, "simkey %s serving on %s (SIGHUP re-plugs; Ctrl-C stops)\n", key.AAGUID(), *sock)
	err = key.Listen(ctx, *sock)
	os.Remove(*sock)
	return err
}
