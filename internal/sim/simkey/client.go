package simkey

import (
	"context"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
)

// Open connects a CTAP client to the key through the whole stack a real key
// uses (ctap → CTAPHID → SOCK_SEQPACKET socket → simkey), as rehearsal and
// tests do. Close the returned Device when done.
func (k *Key) Open(
	ctx context.Context,
	hidOpts hid.Options,
	ctapOpts ctap.Options,
) (ctap.Authenticator, *hid.Device, error) {
	c, err := k.Connect()
	if err != nil {
		return nil, nil, err
	}
	dev, err := hid.OpenConn(ctx, c, "simkey:in-process", hidOpts)
	if err != nil {
		return nil, nil, err
	}
	return ctap.NewClient(dev, ctapOpts), dev, nil
}
