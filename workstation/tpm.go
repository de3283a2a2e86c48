package workstation

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/asn1"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
)

// defaultKeyHandle is the persistent handle (owner range) of the
// workstation's report signing key: 0x81004B43 ("KC").
const defaultKeyHandle uint32 = 0x81004B43

// DefaultTPMPath is the Linux TPM resource manager.
const DefaultTPMPath = "/dev/tpmrm0"

// openTPM opens a TPM: a device path (/dev/tpmrm0), or "swtpm:/path/to/sock"
// for a software TPM (swtpm socket --server type=unixio,path=…).
func openTPM(addr string) (transport.TPMCloser, error) {
	if path, ok := strings.CutPrefix(addr, "swtpm:"); ok {
		c, err := net.DialTimeout("unix", path, 5*time.Second)
		if err != nil {
			return nil, fmt.Errorf("connect to swtpm at %s: %w", path, err)
		}
		return &streamTPM{conn: c}, nil
	}
	t, err := linuxtpm.Open(addr)
	if err != nil {
		return nil, fmt.Errorf("open TPM %s: %w", addr, err)
	}
	return t, nil
}

// streamTPM carries raw TPM commands over a stream socket (swtpm). It reads
// each response by its header's size field: go-tpm's generic wrapper reads
// once and assumes the whole response arrives in one read, which a stream
// does not promise. Written by hand because go-tpm has no such transport.
type streamTPM struct {
	mu   sync.Mutex
	conn net.Conn
}

// tpmRCRetry is TPM_RC_RETRY: the TPM asks for the command again.
const tpmRCRetry = 0x922

func (s *streamTPM) Send(cmd []byte) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		rsp, err := s.sendOnce(cmd)
		if err != nil || len(rsp) < 10 || binary.BigEndian.Uint32(rsp[6:10]) != tpmRCRetry || attempt == 10 {
			return rsp, err
		}
		time.Sleep(time.Duration(1<<attempt) * time.Millisecond)
	}
}

func (s *streamTPM) sendOnce(cmd []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_ = s.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := s.conn.Write(cmd); err != nil {
		return nil, fmt.Errorf("TPM write: %w", err)
	}
	hdr := make([]byte, 10)
	if _, err := io.ReadFull(s.conn, hdr); err != nil {
		return nil, fmt.Errorf("TPM read: %w", err)
	}
	size := binary.BigEndian.Uint32(hdr[2:6])
	if size < 10 || size > 1<<16 {
		return nil, fmt.Errorf("TPM response size %d", size)
	}
	rsp := make([]byte, size)
	copy(rsp, hdr)
	if _, err := io.ReadFull(s.conn, rsp[10:]); err != nil {
		return nil, fmt.Errorf("TPM read: %w", err)
	}
	return rsp, nil
}

func (s *streamTPM) Close() error { return s.conn.Close() }

// signingTemplate is the report key: ECDSA P-256 with SHA-256, created in
// and bound to this TPM (fixedTPM, fixedParent, sensitiveDataOrigin),
// usable without a password by whoever runs keyceremony on the workstation.
// The unique field carries a label so the primary differs from any other
// P-256 primary the owner hierarchy yields.
func signingTemplate() tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgECC,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			SignEncrypt: true, FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true, UserWithAuth: true,
		},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
			Scheme: tpm2.TPMTECCScheme{
				Scheme:  tpm2.TPMAlgECDSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256}),
			},
			CurveID: tpm2.TPMECCNistP256,
			KDF:     tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
		}),
		Unique: tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
			X: tpm2.TPM2BECCParameter{Buffer: []byte("keyceremony report signing key")},
		}),
	}
}

// tpmSigningKey is the workstation's report signing key, held by the TPM. It
// implements crypto.Signer (SHA-256 digests only).
type tpmSigningKey struct {
	tpm    transport.TPM
	handle tpm2.NamedHandle
	pub    *ecdsa.PublicKey
}

// loadOrCreateTPMKey finds the signing key at handle, or creates it under
// the owner hierarchy and makes it persistent there. created says which.
func loadOrCreateTPMKey(t transport.TPM, handle uint32) (key *tpmSigningKey, created bool, err error) {
	h := tpm2.TPMHandle(handle)
	rp, err := tpm2.ReadPublic{ObjectHandle: h}.Execute(t)
	if err == nil {
		k, err := tpmKeyFromPublic(t, h, rp.Name, rp.OutPublic)
		return k, false, err
	}
	if !errors.Is(err, tpm2.TPMRCHandle) {
		return nil, false, fmt.Errorf("read TPM key at 0x%08x: %w", handle, err)
	}
	cp, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(signingTemplate())}.Execute(t)
	if err != nil {
		return nil, false, fmt.Errorf("create TPM signing key: %w", err)
	}
	defer tpm2.FlushContext{FlushHandle: cp.ObjectHandle}.Execute(t)
	if _, err := (tpm2.EvictControl{
		Auth:             tpm2.TPMRHOwner,
		ObjectHandle:     &tpm2.NamedHandle{Handle: cp.ObjectHandle, Name: cp.Name},
		PersistentHandle: h,
	}).Execute(t); err != nil {
		return nil, false, fmt.Errorf("persist TPM signing key at 0x%08x: %w", handle, err)
	}
	rp, err = tpm2.ReadPublic{ObjectHandle: h}.Execute(t)
	if err != nil {
		return nil, false, fmt.Errorf("read back TPM key: %w", err)
	}
	k, err := tpmKeyFromPublic(t, h, rp.Name, rp.OutPublic)
	return k, true, err
}

// tpmKeyFromPublic checks that the persistent object is our kind of key.
func tpmKeyFromPublic(
	t transport.TPM,
	h tpm2.TPMHandle,
	name tpm2.TPM2BName,
	out tpm2.TPM2BPublic,
) (*tpmSigningKey, error) {
	pub, err := out.Contents()
	if err != nil {
		return nil, fmt.Errorf("TPM key public area: %w", err)
	}
	a := pub.ObjectAttributes
	if pub.Type != tpm2.TPMAlgECC || !a.SignEncrypt || !a.FixedTPM || !a.FixedParent || !a.SensitiveDataOrigin ||
		a.Restricted ||
		a.Decrypt {
		return nil, fmt.Errorf(
			"the object at 0x%08x is not a keyceremony signing key (type %v): pick another handle",
			uint32(h),
			pub.Type,
		)
	}
	parms, err := pub.Parameters.ECCDetail()
	if err != nil {
		return nil, err
	}
	point, err := pub.Unique.ECC()
	if err != nil {
		return nil, err
	}
	if parms.CurveID != tpm2.TPMECCNistP256 {
		return nil, errors.New("TPM key is not on P-256")
	}
	ec, err := tpm2.ECDSAPub(parms, point)
	if err != nil {
		return nil, err
	}
	return &tpmSigningKey{tpm: t, handle: tpm2.NamedHandle{Handle: h, Name: name}, pub: ec}, nil
}

// Public implements crypto.Signer.
func (k *tpmSigningKey) Public() crypto.PublicKey { return k.pub }

// Sign implements crypto.Signer: TPM2_Sign with ECDSA over a SHA-256 digest,
// returned ASN.1 DER encoded.
func (k *tpmSigningKey) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != crypto.SHA256 || len(digest) != 32 {
		return nil, errors.New("the TPM report key signs SHA-256 digests only")
	}
	rsp, err := tpm2.Sign{
		KeyHandle: k.handle,
		Digest:    tpm2.TPM2BDigest{Buffer: digest},
		InScheme: tpm2.TPMTSigScheme{
			Scheme:  tpm2.TPMAlgECDSA,
			Details: tpm2.NewTPMUSigScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSchemeHash{HashAlg: tpm2.TPMAlgSHA256}),
		},
		Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck, Hierarchy: tpm2.TPMRHNull},
	}.Execute(k.tpm)
	if err != nil {
		return nil, fmt.Errorf("TPM sign: %w", err)
	}
	sig, err := rsp.Signature.Signature.ECDSA()
	if err != nil {
		return nil, fmt.Errorf("TPM sign: %w", err)
	}
	r := new(big.Int).SetBytes(sig.SignatureR.Buffer)
	s := new(big.Int).SetBytes(sig.SignatureS.Buffer)
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}
