package ctap

import (
	"context"
	"errors"
	"fmt"

	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

func (c *client) config(ctx context.Context, tok *PINToken, sub int, params *ctapwire.ConfigParams) error {
	info, err := c.cachedInfo(ctx)
	if err != nil {
		return err
	}
	if ok, _ := info.Option("authnrCfg"); !ok {
		return errors.New("key does not support authenticatorConfig")
	}
	if tok == nil || tok.Permissions&PermAuthenticatorConfig == 0 {
		return errors.New("authenticatorConfig needs a PIN token with the acfg permission")
	}
	if err := tok.usable(); err != nil {
		return err
	}
	var raw []byte
	if params != nil {
		if raw, err = ctapwire.Marshal(params); err != nil {
			return err
		}
	}
	req := ctapwire.ConfigRequest{
		SubCommand:        sub,
		Params:            params,
		PinUvAuthProtocol: tok.protocolNumber(),
		PinUvAuthParam:    tok.authenticate(ctapwire.ConfigAuthMessage(sub, raw)),
	}
	if err := c.call(ctx, ctapwire.CmdConfig, req, nil); err != nil {
		return err
	}
	c.info = nil // options changed
	return nil
}

// SetMinPINLength raises the key's minimum PIN length (it can never be
// lowered short of a reset) and optionally forces a PIN change.
func (c *client) SetMinPINLength(ctx context.Context, tok *PINToken, length int, forceChange bool) error {
	params := &ctapwire.ConfigParams{NewMinPINLength: length, ForceChangePIN: forceChange}
	if err := c.config(ctx, tok, ctapwire.ConfigSetMinPINLength, params); err != nil {
		return fmt.Errorf("set minimum PIN length: %w", err)
	}
	return nil
}

// ToggleAlwaysUV switches the alwaysUv option.
func (c *client) ToggleAlwaysUV(ctx context.Context, tok *PINToken) error {
	if err := c.config(ctx, tok, ctapwire.ConfigToggleAlwaysUV, nil); err != nil {
		return fmt.Errorf("toggle alwaysUv: %w", err)
	}
	return nil
}
