package graphemu

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// identity is what makes a restarted emulator the same server: its CA, its
// TLS certificate and the key that signs its access tokens. With a state
// file it is kept beside it (identityPath), so a client that trusted the CA
// written at the first start, or holds a token from before a restart, is
// still served after one.
type identity struct {
	caKey, leafKey, tokenKey *ecdsa.PrivateKey
	caDER, leafDER           []byte
}

// identityPath is where the identity of the emulator whose state is at
// statePath is kept (private keys: mode 0600).
func identityPath(statePath string) string { return statePath + ".identity.pem" }

// loadOrMakeIdentity reads the identity kept for statePath, or makes one
// (and keeps it when statePath is set).
func loadOrMakeIdentity(statePath string) (*identity, error) {
	if statePath == "" {
		return newIdentity()
	}
	path := identityPath(statePath)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		id, err := newIdentity()
		if err != nil {
			return nil, err
		}
		if err := writeFileAtomic(path, id.encode(), 0o600); err != nil {
			return nil, fmt.Errorf("keep the emulator's identity: %w", err)
		}
		return id, nil
	}
	if err != nil {
		return nil, fmt.Errorf("emulator identity: %w", err)
	}
	id, err := decodeIdentity(b)
	if err != nil {
		return nil, fmt.Errorf("emulator identity %s (delete it, and the clients' copy of the CA, to make a new one): %w", path, err)
	}
	return id, nil
}

// newIdentity makes a CA, a loopback server certificate under it, and a
// token-signing key.
func newIdentity() (*identity, error) {
	var id identity
	var err error
	for _, k := range []**ecdsa.PrivateKey{&id.caKey, &id.leafKey, &id.tokenKey} {
		if *k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return nil, fmt.Errorf("emulator key: %w", err)
		}
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "keyceremony Graph emulator CA (TEST)"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	if id.caDER, err = x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &id.caKey.PublicKey, id.caKey); err != nil {
		return nil, fmt.Errorf("emulator CA: %w", err)
	}
	ca, err := x509.ParseCertificate(id.caDER)
	if err != nil {
		return nil, fmt.Errorf("emulator CA: %w", err)
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if id.leafDER, err = x509.CreateCertificate(rand.Reader, leafTmpl, ca, &id.leafKey.PublicKey, id.caKey); err != nil {
		return nil, fmt.Errorf("emulator TLS certificate: %w", err)
	}
	return &id, nil
}

// PEM block types of the identity file, in the order written.
const (
	pemCA       = "CERTIFICATE"
	pemCAKey    = "EMULATOR CA KEY"
	pemLeaf     = "EMULATOR TLS CERTIFICATE"
	pemLeafKey  = "EMULATOR TLS KEY"
	pemTokenKey = "EMULATOR TOKEN KEY"
)

func (id *identity) encode() []byte {
	var out bytes.Buffer
	for _, blk := range []pem.Block{{Type: pemCA, Bytes: id.caDER}, {Type: pemCAKey, Bytes: mustECDER(id.caKey)},
		{Type: pemLeaf, Bytes: id.leafDER}, {Type: pemLeafKey, Bytes: mustECDER(id.leafKey)},
		{Type: pemTokenKey, Bytes: mustECDER(id.tokenKey)}} {
		_ = pem.Encode(&out, &blk)
	}
	return out.Bytes()
}

// decodeIdentity parses an identity file; every part must be there and the
// TLS certificate must be the CA's and match its key.
func decodeIdentity(b []byte) (*identity, error) {
	var id identity
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			break
		}
		var err error
		switch blk.Type {
		case pemCA:
			id.caDER = blk.Bytes
		case pemLeaf:
			id.leafDER = blk.Bytes
		case pemCAKey:
			id.caKey, err = x509.ParseECPrivateKey(blk.Bytes)
		case pemLeafKey:
			id.leafKey, err = x509.ParseECPrivateKey(blk.Bytes)
		case pemTokenKey:
			id.tokenKey, err = x509.ParseECPrivateKey(blk.Bytes)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", blk.Type, err)
		}
	}
	if id.caDER == nil || id.leafDER == nil || id.caKey == nil || id.leafKey == nil || id.tokenKey == nil {
		return nil, errors.New("incomplete: a CA, a TLS certificate and three keys are needed")
	}
	ca, err := x509.ParseCertificate(id.caDER)
	if err != nil {
		return nil, fmt.Errorf("CA: %w", err)
	}
	if _, err := tls.X509KeyPair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.leafDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: mustECDER(id.leafKey)})); err != nil {
		return nil, fmt.Errorf("TLS certificate and key: %w", err)
	}
	leaf, err := x509.ParseCertificate(id.leafDER)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate: %w", err)
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return nil, fmt.Errorf("the TLS certificate is not the CA's: %w", err)
	}
	return &id, nil
}

// mustECDER is the SEC 1 form of a P-256 key (which cannot fail to marshal).
func mustECDER(k *ecdsa.PrivateKey) []byte {
	b, _ := x509.MarshalECPrivateKey(k)
	return b
}

// useIdentity installs id as the emulator's CA, TLS certificate and token key.
func (e *Emulator) useIdentity(id *identity) error {
	ca, err := x509.ParseCertificate(id.caDER)
	if err != nil {
		return err
	}
	e.ca, e.tokenKey = ca, id.tokenKey
	e.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: id.caDER})
	e.tlsCert = tls.Certificate{Certificate: [][]byte{id.leafDER}, PrivateKey: id.leafKey}
	return nil
}

// persist writes the tenant to the state file when it changed since it was
// last written, before the request that changed it is answered: a write
// the emulator acknowledged survives a kill -9 of the emulator.
func (e *Emulator) persist() error {
	if e.cfg.StatePath == "" {
		return nil
	}
	e.saveMu.Lock()
	defer e.saveMu.Unlock()
	e.mu.Lock()
	b, err := json.MarshalIndent(e.st, "", "  ")
	e.mu.Unlock()
	if err != nil {
		return fmt.Errorf("emulator state: %w", err)
	}
	if bytes.Equal(b, e.saved) {
		return nil
	}
	if err := writeFileAtomic(e.cfg.StatePath, b, 0o600); err != nil {
		return fmt.Errorf("save emulator state: %w", err)
	}
	e.saved = b
	return nil
}

// writeFileAtomic replaces path with b so that a crash leaves the old file
// or the new one, never a part: a temporary file in the same folder,
// fsync'd, renamed over path, and the folder fsync'd.
func writeFileAtomic(path string, b []byte, perm fs.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Chmod(perm)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
