package ctap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// ConfigAuthMessage is what authenticatorConfig's pinUvAuthParam covers:
// 32 bytes of 0xff, the command byte 0x0d, the subcommand and its parameters.
func ConfigAuthMessage(sub int, params []byte) []byte {
	msg := append(bytes.Repeat([]byte{0xff}, 32), byte(CmdConfig), byte(sub))
	return append(msg, params...)
}

func (c *Client) config(ctx context.Context, tok *PINToken, sub int, params *ConfigParams) error {
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
		if raw, err = Marshal(params); err != nil {
			return err
		}
	}
	req := ConfigRequest{SubCommand: sub, Params: params, PinUvAuthProtocol: tok.Protocol(), PinUvAuthParam: tok.Authenticate(ConfigAuthMessage(sub, raw))}
	if err := c.call(ctx, CmdConfig, req, nil); err != nil {
		return err
	}
	c.info = nil // options changed
	return nil
}

// SetMinPINLength raises the key's minimum PIN length (it can never be
// lowered short of a reset) and optionally forces a PIN change.
func (c *Client) SetMinPINLength(ctx context.Context, tok *PINToken, length int, forceChange bool) error {
	if err := c.config(ctx, tok, ConfigSetMinPINLength, &ConfigParams{NewMinPINLength: length, ForceChangePIN: forceChange}); err != nil {
		return fmt.Errorf("set minimum PIN length: %w", err)
	}
	return nil
}

// ToggleAlwaysUV switches the alwaysUv option.
func (c *Client) ToggleAlwaysUV(ctx context.Context, tok *PINToken) error {
	if err := c.config(ctx, tok, ConfigToggleAlwaysUV, nil); err != nil {
		return fmt.Errorf("toggle alwaysUv: %w", err)
	}
	return nil
}
