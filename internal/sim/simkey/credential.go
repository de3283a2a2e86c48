package simkey

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// Credential IDs wrap the private key under the key's master key, so a
// non-discoverable credential needs no storage (as on real keys):
// version(1) || nonce(12) || AES-256-GCM(master, P-256 scalar || credProtect),
// with the RP ID hash as additional data: 62 bytes, like a YubiKey's.
const (
	credIDVersion = 0x01
	// credIDResident marks a discoverable credential: its ID works only
	// while the key still stores it (deleting it really removes it).
	credIDResident = 0x02
)

func (k *Key) wrapCredentialLocked(priv []byte, credProtect int, rpIDHash []byte, resident bool) ([]byte, error) {
	gcm, err := k.gcmLocked()
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	pt := append(append([]byte(nil), priv...), byte(credProtect))
	defer clear(pt)
	version := byte(credIDVersion)
	if resident {
		version = credIDResident
	}
	id := append([]byte{version}, nonce...)
	return gcm.Seal(id, nonce, pt, append([]byte{version}, rpIDHash...)), nil
}

// unwrapCredentialLocked returns the private key and credProtect level of a
// credential ID made by this key for rpIDHash, or ok=false.
func (k *Key) unwrapCredentialLocked(id, rpIDHash []byte) (priv []byte, credProtect int, ok bool) {
	gcm, err := k.gcmLocked()
	if err != nil || len(id) < 1+gcm.NonceSize()+gcm.Overhead()+1 ||
		(id[0] != credIDVersion && id[0] != credIDResident) {
		return nil, 0, false
	}
	if id[0] == credIDResident && k.findByIDLocked(id) < 0 {
		return nil, 0, false // deleted from the key
	}
	nonce := id[1 : 1+gcm.NonceSize()]
	pt, err := gcm.Open(nil, nonce, id[1+gcm.NonceSize():], append([]byte{id[0]}, rpIDHash...))
	if err != nil || len(pt) < 2 {
		return nil, 0, false
	}
	return pt[:len(pt)-1], int(pt[len(pt)-1]), true
}

func (k *Key) gcmLocked() (cipher.AEAD, error) {
	b, err := aes.NewCipher(k.st.MasterKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// authData builds authenticator data.
func authData(rpIDHash []byte, flags byte, count uint32, attested, ext []byte) []byte {
	out := make([]byte, 0, 37+len(attested)+len(ext))
	out = append(out, rpIDHash...)
	out = append(out, flags)
	out = binary.BigEndian.AppendUint32(out, count)
	out = append(out, attested...)
	return append(out, ext...)
}

// probe handles a zero-length pinUvAuthParam: platforms use it to make the
// user pick a key by touch (CTAP 2.1 §6.1.2 step 1).
func (k *Key) probe(ctx context.Context, keepalive func(byte)) error {
	if err := k.waitForTouch(ctx, keepalive); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.st.PINVerifier == nil {
		return ctapwire.StatusPINNotSet
	}
	return ctapwire.StatusPINInvalid
}

func (k *Key) makeCredential(ctx context.Context, params []byte, keepalive func(byte)) (any, error) {
	var req ctapwire.MakeCredentialRequest
	if err := decode(params, &req); err != nil {
		return nil, err
	}
	if req.PinUvAuthParam != nil && len(req.PinUvAuthParam) == 0 {
		return nil, k.probe(ctx, keepalive)
	}
	if len(req.ClientDataHash) != 32 || req.RP.ID == "" || len(req.User.ID) == 0 || len(req.User.ID) > 64 ||
		len(req.PubKeyCredParams) == 0 {
		return nil, ctapwire.StatusMissingParameter
	}
	es256 := false
	for _, p := range req.PubKeyCredParams {
		if p.Type == "public-key" && p.Alg == ctapwire.COSEAlgES256 {
			es256 = true
		}
	}
	if !es256 {
		return nil, ctapwire.StatusUnsupportedAlgorithm
	}
	rk := req.Options["rk"]
	if up, ok := req.Options["up"]; ok && !up {
		return nil, ctapwire.StatusInvalidOption
	}
	if req.Options["uv"] {
		return nil, ctapwire.StatusInvalidOption // no built-in user verification
	}
	if req.EnterpriseAttestation != 0 {
		return nil, ctapwire.StatusInvalidParameter // enterprise attestation not enabled
	}
	credProtect := 0
	hmacSecret := false
	for name, v := range req.Extensions {
		switch name {
		case "credProtect":
			n, ok := v.(uint64)
			if !ok || n < 1 || n > 3 {
				return nil, ctapwire.StatusInvalidParameter
			}
			credProtect = int(n)
		case "hmac-secret":
			b, ok := v.(bool)
			if !ok {
				return nil, ctapwire.StatusInvalidParameter
			}
			hmacSecret = b
		}
	}
	rpIDHash := sha256.Sum256([]byte(req.RP.ID))

	k.mu.Lock()
	uv := false
	if req.PinUvAuthParam != nil {
		if err := k.checkTokenLocked(req.PinUvAuthProtocol, req.ClientDataHash, req.PinUvAuthParam, ctap.PermMakeCredential, req.RP.ID); err != nil {
			k.mu.Unlock()
			return nil, err
		}
		uv = true
	} else if k.st.PINVerifier != nil && (rk || k.st.AlwaysUV) {
		k.mu.Unlock()
		return nil, ctapwire.StatusPUATRequired
	}
	excluded := false
	for _, d := range req.ExcludeList {
		if _, cp, ok := k.unwrapCredentialLocked(d.ID, rpIDHash[:]); ok && (cp < ctap.CredProtectUVRequired || uv) {
			excluded = true
		}
	}
	k.mu.Unlock()

	if excluded {
		if err := k.waitForTouch(ctx, keepalive); err != nil {
			return nil, err
		}
		return nil, ctapwire.StatusCredentialExcluded
	}
	if err := k.waitForTouch(ctx, keepalive); err != nil {
		return nil, err
	}

	k.mu.Lock()
	defer k.mu.Unlock()
	if rk && len(k.st.Credentials) >= k.cfg.MaxCredentials && k.findResidentLocked(req.RP.ID, req.User.ID) < 0 {
		return nil, ctapwire.StatusKeyStoreFull
	}
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	scalar, err := priv.Bytes()
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	defer clear(scalar)
	id, err := k.wrapCredentialLocked(scalar, credProtect, rpIDHash[:], rk)
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	cose, err := ctapwire.Marshal(ctapwire.COSEKeyFromECDSA(&priv.PublicKey))
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	var credRandom []byte
	if hmacSecret {
		credRandom = make([]byte, 32)
		if _, err := rand.Read(credRandom); err != nil {
			return nil, ctapwire.StatusOther
		}
	}
	if rk {
		c := credential{
			ID:          id,
			RPID:        req.RP.ID,
			RPName:      req.RP.Name,
			User:        req.User,
			PrivateKey:  append([]byte(nil), scalar...),
			CredProtect: credProtect,
			CredRandom:  credRandom,
			Created:     k.cfg.Now().UTC(),
		}
		if i := k.findResidentLocked(req.RP.ID, req.User.ID); i >= 0 {
			k.st.Credentials[i] = c // same account on the same RP: replaced, as the spec says
		} else {
			k.st.Credentials = append(k.st.Credentials, c)
		}
	}
	k.st.SignCount++
	if err := k.persistLocked(); err != nil {
		return nil, ctapwire.StatusOther
	}

	attested := make([]byte, 0, 18+len(id)+len(cose))
	attested = append(attested, k.st.AAGUID[:]...)
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(id)))
	attested = append(append(attested, id...), cose...)
	flags := byte(ctapwire.FlagUP | ctapwire.FlagAT)
	if uv {
		flags |= ctapwire.FlagUV
	}
	var ext []byte
	if credProtect != 0 || hmacSecret {
		outs := map[string]any{}
		if credProtect != 0 {
			outs["credProtect"] = credProtect
		}
		if hmacSecret {
			outs["hmac-secret"] = true
		}
		if ext, err = ctapwire.Marshal(outs); err != nil {
			return nil, ctapwire.StatusOther
		}
		flags |= ctapwire.FlagED
	}
	ad := authData(rpIDHash[:], flags, k.st.SignCount, attested, ext)
	attKey, err := k.st.attestationKey()
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	digest := sha256.Sum256(append(append([]byte(nil), ad...), req.ClientDataHash...))
	sig, err := ecdsa.SignASN1(rand.Reader, attKey, digest[:])
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	stmt, err := ctapwire.Marshal(struct {
		Alg int      `cbor:"alg"`
		Sig []byte   `cbor:"sig"`
		X5C [][]byte `cbor:"x5c"`
	}{ctapwire.COSEAlgES256, sig, [][]byte{k.st.AttCert}})
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	return &ctap.MakeCredentialResult{Format: "packed", AuthData: ad, AttStmt: stmt}, nil
}

func (k *Key) findResidentLocked(rpID string, userID []byte) int {
	for i, c := range k.st.Credentials {
		if c.RPID == rpID && bytes.Equal(c.User.ID, userID) {
			return i
		}
	}
	return -1
}

// assertionItem is one credential found for a getAssertion request.
type assertionItem struct {
	id         []byte
	priv       []byte
	user       *ctap.User
	resident   bool
	rpIDHash   []byte
	clientHash []byte
	flags      byte
}

func (k *Key) getAssertion(ctx context.Context, params []byte, keepalive func(byte)) (any, error) {
	var req ctapwire.GetAssertionRequest
	if err := decode(params, &req); err != nil {
		return nil, err
	}
	if req.PinUvAuthParam != nil && len(req.PinUvAuthParam) == 0 {
		return nil, k.probe(ctx, keepalive)
	}
	if req.RPID == "" || len(req.ClientDataHash) != 32 {
		return nil, ctapwire.StatusMissingParameter
	}
	up := true
	if v, ok := req.Options["up"]; ok {
		up = v
	}
	if req.Options["uv"] || req.Options["rk"] {
		return nil, ctapwire.StatusInvalidOption
	}
	rpIDHash := sha256.Sum256([]byte(req.RPID))

	k.mu.Lock()
	k.vol.assertions = nil
	uv := false
	if req.PinUvAuthParam != nil {
		if err := k.checkTokenLocked(req.PinUvAuthProtocol, req.ClientDataHash, req.PinUvAuthParam, ctap.PermGetAssertion, req.RPID); err != nil {
			k.mu.Unlock()
			return nil, err
		}
		uv = true
	} else if k.st.AlwaysUV {
		k.mu.Unlock()
		return nil, ctapwire.StatusPUATRequired
	}
	var found []assertionItem
	if len(req.AllowList) > 0 {
		for _, d := range req.AllowList {
			priv, cp, ok := k.unwrapCredentialLocked(d.ID, rpIDHash[:])
			if !ok || (cp == ctap.CredProtectUVRequired && !uv) {
				continue
			}
			it := assertionItem{id: d.ID, priv: priv}
			if i := k.findByIDLocked(d.ID); i >= 0 {
				it.resident, it.user = true, &ctap.User{ID: k.st.Credentials[i].User.ID}
			}
			found = append(found, it)
			break
		}
	} else {
		for i := len(k.st.Credentials) - 1; i >= 0; i-- { // newest first
			c := k.st.Credentials[i]
			if c.RPID != req.RPID || (c.CredProtect >= ctap.CredProtectUVOptionalWithCredentialIDList && !uv) {
				continue
			}
			u := ctap.User{ID: c.User.ID}
			if uv {
				u.Name, u.DisplayName = c.User.Name, c.User.DisplayName
			}
			found = append(found, assertionItem{id: c.ID, priv: c.PrivateKey, user: &u, resident: true})
		}
	}
	k.mu.Unlock()
	if len(found) == 0 {
		return nil, ctapwire.StatusNoCredentials
	}
	if up {
		if err := k.waitForTouch(ctx, keepalive); err != nil {
			return nil, err
		}
	}
	flags := byte(0)
	if up {
		flags |= ctapwire.FlagUP
	}
	if uv {
		flags |= ctapwire.FlagUV
	}
	for i := range found {
		found[i].rpIDHash, found[i].clientHash, found[i].flags = rpIDHash[:], req.ClientDataHash, flags
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	a, err := k.signAssertionLocked(found[0])
	if err != nil {
		return nil, err
	}
	if len(found) > 1 {
		a.NumberOfCredentials = len(found)
		k.vol.assertions = found[1:]
	}
	return a, nil
}

func (k *Key) getNextAssertion() (any, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.vol.assertions) == 0 {
		return nil, ctapwire.StatusNotAllowed
	}
	it := k.vol.assertions[0]
	k.vol.assertions = k.vol.assertions[1:]
	return k.signAssertionLocked(it)
}

func (k *Key) signAssertionLocked(it assertionItem) (*ctap.Assertion, error) {
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), it.priv)
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	k.st.SignCount++
	if err := k.persistLocked(); err != nil {
		return nil, ctapwire.StatusOther
	}
	ad := authData(it.rpIDHash, it.flags, k.st.SignCount, nil, nil)
	digest := sha256.Sum256(append(append([]byte(nil), ad...), it.clientHash...))
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	return &ctap.Assertion{
		Credential: ctap.CredentialDescriptor{Type: "public-key", ID: it.id},
		AuthData:   ad,
		Signature:  sig,
		User:       it.user,
	}, nil
}

func (k *Key) findByIDLocked(id []byte) int {
	for i, c := range k.st.Credentials {
		if bytes.Equal(c.ID, id) {
			return i
		}
	}
	return -1
}

// rpEntry is one relying party for credential management enumeration.
type rpEntry struct {
	rp   ctap.RelyingParty
	hash []byte
}

// credMgmtRequest keeps the raw subCommandParams: pinUvAuthParam covers
// them byte for byte.
type credMgmtRequest struct {
	SubCommand        int                 `cbor:"1,keyasint"`
	Params            ctapwire.RawMessage `cbor:"2,keyasint,omitempty"`
	PinUvAuthProtocol int                 `cbor:"3,keyasint,omitempty"`
	PinUvAuthParam    []byte              `cbor:"4,keyasint,omitempty"`
}

func (k *Key) credentialManagement(params []byte) (any, error) {
	var req credMgmtRequest
	if err := decode(params, &req); err != nil {
		return nil, err
	}
	var p ctapwire.CredMgmtParams
	if len(req.Params) > 0 {
		if err := ctapwire.Unmarshal(req.Params, &p); err != nil {
			return nil, ctapwire.StatusInvalidCBOR
		}
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	switch req.SubCommand {
	case ctapwire.CredMgmtGetMetadata,
		ctapwire.CredMgmtEnumerateRPsBegin,
		ctapwire.CredMgmtEnumerateCredsBegin,
		ctapwire.CredMgmtDeleteCredential:
		if req.PinUvAuthParam == nil {
			return nil, ctapwire.StatusPUATRequired
		}
		msg := append([]byte{byte(req.SubCommand)}, req.Params...)
		if err := k.checkTokenLocked(req.PinUvAuthProtocol, msg, req.PinUvAuthParam, ctap.PermCredentialManagement, ""); err != nil {
			return nil, err
		}
	}
	switch req.SubCommand {
	case ctapwire.CredMgmtGetMetadata:
		n, rem := len(k.st.Credentials), k.cfg.MaxCredentials-len(k.st.Credentials)
		return &ctapwire.CredMgmtResponse{
			ExistingResidentCredentialsCount: &n,
			MaxRemainingResidentCredentials:  &rem,
		}, nil
	case ctapwire.CredMgmtEnumerateRPsBegin:
		k.vol.rpIter = nil
		seen := map[string]bool{}
		for _, c := range k.st.Credentials {
			if !seen[c.RPID] {
				seen[c.RPID] = true
				h := sha256.Sum256([]byte(c.RPID))
				k.vol.rpIter = append(
					k.vol.rpIter,
					rpEntry{rp: ctap.RelyingParty{ID: c.RPID, Name: c.RPName}, hash: h[:]},
				)
			}
		}
		if len(k.vol.rpIter) == 0 {
			return nil, ctapwire.StatusNoCredentials
		}
		total := len(k.vol.rpIter)
		return k.nextRPLocked(total)
	case ctapwire.CredMgmtEnumerateRPsNext:
		return k.nextRPLocked(0)
	case ctapwire.CredMgmtEnumerateCredsBegin:
		if len(p.RPIDHash) != 32 {
			return nil, ctapwire.StatusMissingParameter
		}
		k.vol.credIter = nil
		for i := range k.st.Credentials {
			c := &k.st.Credentials[i]
			if h := sha256.Sum256([]byte(c.RPID)); bytes.Equal(h[:], p.RPIDHash) {
				k.vol.credIter = append(k.vol.credIter, c)
			}
		}
		if len(k.vol.credIter) == 0 {
			return nil, ctapwire.StatusNoCredentials
		}
		return k.nextCredLocked(len(k.vol.credIter))
	case ctapwire.CredMgmtEnumerateCredsNext:
		return k.nextCredLocked(0)
	case ctapwire.CredMgmtDeleteCredential:
		if p.CredentialID == nil {
			return nil, ctapwire.StatusMissingParameter
		}
		i := k.findByIDLocked(p.CredentialID.ID)
		if i < 0 {
			return nil, ctapwire.StatusNoCredentials
		}
		k.st.Credentials = append(k.st.Credentials[:i], k.st.Credentials[i+1:]...)
		k.vol.credIter, k.vol.rpIter = nil, nil
		if err := k.persistLocked(); err != nil {
			return nil, ctapwire.StatusOther
		}
		return nil, nil
	}
	return nil, ctapwire.StatusInvalidSubcommand
}

func (k *Key) nextRPLocked(total int) (any, error) {
	if len(k.vol.rpIter) == 0 {
		return nil, ctapwire.StatusNotAllowed
	}
	e := k.vol.rpIter[0]
	k.vol.rpIter = k.vol.rpIter[1:]
	return &ctapwire.CredMgmtResponse{RP: &e.rp, RPIDHash: e.hash, TotalRPs: total}, nil
}

func (k *Key) nextCredLocked(total int) (any, error) {
	if len(k.vol.credIter) == 0 {
		return nil, ctapwire.StatusNotAllowed
	}
	c := k.vol.credIter[0]
	k.vol.credIter = k.vol.credIter[1:]
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), c.PrivateKey)
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	cose, err := ctapwire.Marshal(ctapwire.COSEKeyFromECDSA(&priv.PublicKey))
	if err != nil {
		return nil, ctapwire.StatusOther
	}
	user := c.User
	return &ctapwire.CredMgmtResponse{
		User:             &user,
		CredentialID:     &ctap.CredentialDescriptor{Type: "public-key", ID: c.ID},
		PublicKey:        cose,
		TotalCredentials: total,
		CredProtect:      max(c.CredProtect, ctap.CredProtectUVOptional),
	}, nil
}

// configRequest keeps the raw subCommandParams for pinUvAuthParam.
type configRequest struct {
	SubCommand        int                 `cbor:"1,keyasint"`
	Params            ctapwire.RawMessage `cbor:"2,keyasint,omitempty"`
	PinUvAuthProtocol int                 `cbor:"3,keyasint,omitempty"`
	PinUvAuthParam    []byte              `cbor:"4,keyasint,omitempty"`
}

func (k *Key) config(params []byte) error {
	var req configRequest
	if err := decode(params, &req); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if req.PinUvAuthParam == nil {
		if k.st.PINVerifier != nil || k.st.AlwaysUV {
			return ctapwire.StatusPUATRequired
		}
	} else if err := k.checkTokenLocked(req.PinUvAuthProtocol, ctapwire.ConfigAuthMessage(req.SubCommand, req.Params), req.PinUvAuthParam, ctap.PermAuthenticatorConfig, ""); err != nil {
		return err
	}
	switch req.SubCommand {
	case ctapwire.ConfigToggleAlwaysUV:
		k.st.AlwaysUV = !k.st.AlwaysUV
	case ctapwire.ConfigSetMinPINLength:
		var p ctapwire.ConfigParams
		if len(req.Params) > 0 {
			if err := ctapwire.Unmarshal(req.Params, &p); err != nil {
				return ctapwire.StatusInvalidCBOR
			}
		}
		if p.NewMinPINLength != 0 {
			if p.NewMinPINLength < k.st.MinPINLength || p.NewMinPINLength > 63 {
				return ctapwire.StatusPINPolicyViolation
			}
			k.st.MinPINLength = p.NewMinPINLength
		}
		if len(p.MinPINLengthRPIDs) > 0 {
			return ctapwire.StatusInvalidParameter // maxRPIDsForSetMinPINLength is 0
		}
		if p.ForceChangePIN && k.st.PINVerifier == nil {
			return ctapwire.StatusPINNotSet
		}
		if p.ForceChangePIN || (k.st.PINVerifier != nil && k.st.PINCodePoints < k.st.MinPINLength) {
			k.st.ForcePINChange = true
			k.vol.tokenValid = false
		}
	default:
		return ctapwire.StatusInvalidSubcommand
	}
	if err := k.persistLocked(); err != nil {
		return ctapwire.StatusOther
	}
	return nil
}
