package simkey

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
)

// maxPINRetries is the retry counter a fresh PIN gets (as on YubiKey 5).
const maxPINRetries = 8

// stateVersion is the version of the state file format.
const stateVersion = 1

// credential is a discoverable credential stored on the key.
type credential struct {
	ID          []byte    `json:"id"`
	RPID        string    `json:"rp_id"`
	RPName      string    `json:"rp_name,omitempty"`
	User        ctap.User `json:"user"`
	PrivateKey  []byte    `json:"private_key"` // P-256 scalar
	CredProtect int       `json:"cred_protect,omitempty"`
	CredRandom  []byte    `json:"cred_random,omitempty"` // hmac-secret
	Created     time.Time `json:"created"`
}

// state is what a real key keeps in flash. It survives power cycles and,
// with a state file, restarts of the simkey process. It holds the key's
// secrets (as a real key's flash does): a state file is for rehearsal only.
type state struct {
	Version        int          `json:"version"`
	AAGUID         ctap.AAGUID  `json:"-"`
	AAGUIDBytes    []byte       `json:"aaguid"`
	MasterKey      []byte       `json:"master_key"`             // wraps non-discoverable credential IDs
	PINVerifier    []byte       `json:"pin_verifier,omitempty"` // LEFT(SHA-256(PIN),16), as CTAP stores it
	PINCodePoints  int          `json:"pin_code_points,omitempty"`
	PINRetries     int          `json:"pin_retries"`
	MinPINLength   int          `json:"min_pin_length"`
	ForcePINChange bool         `json:"force_pin_change,omitempty"`
	AlwaysUV       bool         `json:"always_uv,omitempty"`
	SignCount      uint32       `json:"sign_count"`
	Credentials    []credential `json:"credentials,omitempty"`
	AttKey         []byte       `json:"attestation_key"`  // PKCS#8
	AttCert        []byte       `json:"attestation_cert"` // DER
}

func newState(aaguid ctap.AAGUID) (*state, error) {
	attKey, attCert, err := newAttestation(aaguid)
	if err != nil {
		return nil, err
	}
	pk, err := x509.MarshalPKCS8PrivateKey(attKey)
	if err != nil {
		return nil, err
	}
	st := &state{Version: stateVersion, AAGUID: aaguid, AttKey: pk, AttCert: attCert}
	if err := st.wipe(); err != nil {
		return nil, err
	}
	return st, nil
}

// wipe is what authenticatorReset does: new master key, no PIN, no
// credentials. The attestation key and certificate stay.
func (s *state) wipe() error {
	s.MasterKey = make([]byte, 32)
	if _, err := rand.Read(s.MasterKey); err != nil {
		return err
	}
	s.PINVerifier, s.PINCodePoints, s.PINRetries = nil, 0, maxPINRetries
	s.MinPINLength, s.ForcePINChange, s.AlwaysUV = 4, false, false
	s.Credentials = nil
	return nil
}

func (s *state) attestationKey() (*ecdsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(s.AttKey)
	if err != nil {
		return nil, fmt.Errorf("attestation key: %w", err)
	}
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, errors.New("attestation key is not ECDSA")
	}
	return ek, nil
}

// loadState reads a state file; a missing file gives (nil, nil).
func loadState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read simkey state: %w", err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("simkey state %s: %w", path, err)
	}
	if st.Version != stateVersion || len(st.AAGUIDBytes) != 16 || len(st.MasterKey) != 32 {
		return nil, fmt.Errorf("simkey state %s: unsupported or damaged (version %d)", path, st.Version)
	}
	copy(st.AAGUID[:], st.AAGUIDBytes)
	return &st, nil
}

// save writes the state atomically (temp file, fsync, rename), mode 0600.
func (s *state) save(path string) error {
	s.AAGUIDBytes = s.AAGUID[:]
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".simkey-state-*")
	if err != nil {
		return fmt.Errorf("save simkey state: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err == nil { // the rename itself outlives a power cut only once its folder is synced
		var d *os.File
		if d, err = os.Open(filepath.Dir(path)); err == nil {
			err = d.Sync()
			d.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("save simkey state: %w", err)
	}
	return nil
}
