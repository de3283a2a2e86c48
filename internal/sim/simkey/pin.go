package simkey

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"unicode/utf8"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// clientPIN implements authenticatorClientPIN (CTAP 2.1 §6.5).
func (k *Key) clientPIN(params []byte) (any, error) {
	var req ctapwire.ClientPINRequest
	if err := decode(params, &req); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	var proto ctapwire.PINProtocol
	if req.SubCommand != ctapwire.PINGetRetries || req.Protocol != 0 {
		p, err := k.protocolLocked(req.Protocol)
		if err != nil {
			return nil, err
		}
		proto = p
	}
	switch req.SubCommand {
	case ctapwire.PINGetRetries:
		n := k.st.PINRetries
		pc := k.vol.pinFails >= 3
		return &ctapwire.ClientPINResponse{PINRetries: &n, PowerCycleState: &pc}, nil
	case ctapwire.PINGetKeyAgreement:
		key := ctapwire.COSEKeyFromECDH(k.vol.keyAgreement.PublicKey())
		return &ctapwire.ClientPINResponse{KeyAgreement: &key}, nil
	case ctapwire.PINSetPIN:
		return nil, k.setPINLocked(proto, &req)
	case ctapwire.PINChangePIN:
		return nil, k.changePINLocked(proto, &req)
	case ctapwire.PINGetToken, ctapwire.PINGetTokenWithPermissions:
		return k.getTokenLocked(proto, &req)
	}
	return nil, ctapwire.StatusInvalidSubcommand
}

func (k *Key) protocolLocked(v int) (ctapwire.PINProtocol, error) {
	if v == 0 {
		return nil, ctapwire.StatusMissingParameter
	}
	for _, have := range k.cfg.PINProtocols {
		if have == v {
			return ctapwire.ProtocolByVersion(v)
		}
	}
	return nil, ctapwire.StatusInvalidParameter
}

// sharedSecretLocked completes ECDH with the platform key of the request.
func (k *Key) sharedSecretLocked(p ctapwire.PINProtocol, platform *ctapwire.COSEKey) ([]byte, error) {
	if platform == nil {
		return nil, ctapwire.StatusMissingParameter
	}
	pub, err := platform.ECDH()
	if err != nil {
		return nil, ctapwire.StatusInvalidParameter
	}
	z, err := k.vol.keyAgreement.ECDH(pub)
	if err != nil {
		return nil, ctapwire.StatusInvalidParameter
	}
	defer clear(z)
	s, err := p.KDF(z)
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	return s, nil
}

// decryptNewPIN extracts and checks a new PIN (64 padded bytes).
func (k *Key) decryptNewPINLocked(p ctapwire.PINProtocol, secret, newPINEnc []byte) ([]byte, error) {
	padded, err := p.Decrypt(secret, newPINEnc)
	if err != nil || len(padded) != 64 {
		return nil, ctapwire.StatusPINPolicyViolation
	}
	defer clear(padded)
	pin := padded
	if i := bytes.IndexByte(padded, 0); i >= 0 {
		pin = padded[:i]
	}
	if len(pin) > 63 || !utf8.Valid(pin) || utf8.RuneCount(pin) < k.st.MinPINLength || k.refusedByProfile(pin) {
		return nil, ctapwire.StatusPINPolicyViolation
	}
	return append([]byte(nil), pin...), nil
}

func (k *Key) storePINLocked(pin []byte) error {
	h := sha256.Sum256(pin)
	k.st.PINVerifier = append([]byte(nil), h[:16]...)
	clear(h[:])
	k.st.PINCodePoints = utf8.RuneCount(pin)
	k.st.PINRetries = maxPINRetries
	k.st.ForcePINChange = false
	k.vol.tokenValid = false
	clear(pin)
	if err := k.persistLocked(); err != nil {
		return ctapwire.StatusOther
	}
	return nil
}

func (k *Key) setPINLocked(p ctapwire.PINProtocol, req *ctapwire.ClientPINRequest) error {
	if req.NewPINEnc == nil || req.PinUvAuth == nil {
		return ctapwire.StatusMissingParameter
	}
	if k.st.PINVerifier != nil {
		return ctapwire.StatusNotAllowed
	}
	secret, err := k.sharedSecretLocked(p, req.KeyAgreement)
	if err != nil {
		return err
	}
	defer clear(secret)
	if !ctapwire.VerifyAuth(p, secret, req.NewPINEnc, req.PinUvAuth) {
		return ctapwire.StatusPINAuthInvalid
	}
	pin, err := k.decryptNewPINLocked(p, secret, req.NewPINEnc)
	if err != nil {
		return err
	}
	return k.storePINLocked(pin)
}

// checkPINHashLocked verifies pinHashEnc the way CTAP prescribes: the retry
// counter drops before the comparison, three wrong PINs in a row since
// power-up block further attempts until a power cycle, zero retries blocks
// the PIN for good.
func (k *Key) checkPINHashLocked(p ctapwire.PINProtocol, secret, pinHashEnc []byte) error {
	if k.st.PINRetries == 0 {
		return ctapwire.StatusPINBlocked
	}
	if k.vol.pinFails >= 3 {
		return ctapwire.StatusPINAuthBlocked
	}
	hash, err := p.Decrypt(secret, pinHashEnc)
	if err != nil || len(hash) != 16 {
		return ctapwire.StatusPINAuthInvalid
	}
	defer clear(hash)
	k.st.PINRetries--
	if err := k.persistLocked(); err != nil {
		return ctapwire.StatusOther
	}
	if subtle.ConstantTimeCompare(hash, k.st.PINVerifier) != 1 {
		// A wrong PIN also renews the key agreement key.
		if ka, err := ecdh.P256().GenerateKey(rand.Reader); err == nil {
			k.vol.keyAgreement = ka
		}
		k.vol.pinFails++
		switch {
		case k.st.PINRetries == 0:
			return ctapwire.StatusPINBlocked
		case k.vol.pinFails >= 3:
			return ctapwire.StatusPINAuthBlocked
		}
		return ctapwire.StatusPINInvalid
	}
	k.st.PINRetries = maxPINRetries
	k.vol.pinFails = 0
	if err := k.persistLocked(); err != nil {
		return ctapwire.StatusOther
	}
	return nil
}

func (k *Key) changePINLocked(p ctapwire.PINProtocol, req *ctapwire.ClientPINRequest) error {
	if req.NewPINEnc == nil || req.PINHashEnc == nil || req.PinUvAuth == nil {
		return ctapwire.StatusMissingParameter
	}
	if k.st.PINVerifier == nil {
		return ctapwire.StatusPINNotSet
	}
	if k.st.PINRetries == 0 {
		return ctapwire.StatusPINBlocked
	}
	if k.vol.pinFails >= 3 {
		return ctapwire.StatusPINAuthBlocked
	}
	secret, err := k.sharedSecretLocked(p, req.KeyAgreement)
	if err != nil {
		return err
	}
	defer clear(secret)
	msg := append(append([]byte(nil), req.NewPINEnc...), req.PINHashEnc...)
	if !ctapwire.VerifyAuth(p, secret, msg, req.PinUvAuth) {
		return ctapwire.StatusPINAuthInvalid
	}
	if err := k.checkPINHashLocked(p, secret, req.PINHashEnc); err != nil {
		return err
	}
	pin, err := k.decryptNewPINLocked(p, secret, req.NewPINEnc)
	if err != nil {
		return err
	}
	return k.storePINLocked(pin)
}

func (k *Key) getTokenLocked(p ctapwire.PINProtocol, req *ctapwire.ClientPINRequest) (any, error) {
	if req.PINHashEnc == nil {
		return nil, ctapwire.StatusMissingParameter
	}
	var perms ctap.Permission
	if req.SubCommand == ctapwire.PINGetToken {
		if req.Permissions != nil || req.PermissionsRP != "" {
			return nil, ctapwire.StatusInvalidParameter
		}
		perms = ctap.PermMakeCredential | ctap.PermGetAssertion
	} else {
		if req.Permissions == nil {
			return nil, ctapwire.StatusMissingParameter
		}
		if perms = ctap.Permission(*req.Permissions); perms == 0 {
			return nil, ctapwire.StatusInvalidParameter
		}
		if perms&^(ctap.PermMakeCredential|ctap.PermGetAssertion|ctap.PermCredentialManagement|ctap.PermAuthenticatorConfig) != 0 {
			return nil, ctapwire.StatusUnauthorizedPermission // no bio enrollment, no large blobs
		}
	}
	if k.st.PINVerifier == nil {
		return nil, ctapwire.StatusPINNotSet
	}
	secret, err := k.sharedSecretLocked(p, req.KeyAgreement)
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	if err := k.checkPINHashLocked(p, secret, req.PINHashEnc); err != nil {
		return nil, err
	}
	if k.st.ForcePINChange {
		return nil, ctapwire.StatusPINPolicyViolation
	}
	// A new token on every grant: older tokens stop working.
	if _, err := rand.Read(k.vol.token); err != nil {
		return nil, ctapwire.StatusOther
	}
	k.vol.tokenValid, k.vol.tokenPerms, k.vol.tokenRPID = true, perms, req.PermissionsRP
	enc, err := p.Encrypt(secret, k.vol.token)
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	return &ctapwire.ClientPINResponse{PinUvAuthToken: enc}, nil
}

// checkTokenLocked verifies a pinUvAuthParam made with the current token and
// that the token holds perm (and, for rpID != "", is bound to it or unbound,
// in which case it becomes bound).
func (k *Key) checkTokenLocked(protocol int, msg, param []byte, perm ctap.Permission, rpID string) error {
	p, err := k.protocolLocked(protocol)
	if err != nil {
		return err
	}
	if !k.vol.tokenValid || !ctapwire.VerifyAuth(p, k.vol.token, msg, param) {
		return ctapwire.StatusPINAuthInvalid
	}
	if k.vol.tokenPerms&perm == 0 {
		return ctapwire.StatusPINAuthInvalid
	}
	if rpID != "" {
		if k.vol.tokenRPID != "" && k.vol.tokenRPID != rpID {
			return ctapwire.StatusPINAuthInvalid
		}
		k.vol.tokenRPID = rpID
	}
	return nil
}
