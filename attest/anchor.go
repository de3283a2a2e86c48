package attest

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
)

// parseTrustAnchor parses a root certificate the way its vendor published
// it. Some FIDO vendor roots (seen in FIDO MDS metadata statements) encode
// basicConstraints cA TRUE as the BER byte 0x01 instead of DER's 0xFF, and
// crypto/x509 refuses them ("invalid basic constraints"). A trust anchor is
// its name and key (RFC 5280 §6.1.1 (d)); its own signature is never
// checked, so its encoding proves nothing either way. Only for a root, and
// only for that one byte, the value is read as TRUE. Leaves and
// intermediates (x5c) stay strictly parsed by crypto/x509: their bytes are
// what the root's signature covers.
func parseTrustAnchor(der []byte) (*x509.Certificate, error) {
	c, err := x509.ParseCertificate(der)
	if err == nil || !strings.Contains(err.Error(), "basic constraints") {
		return c, err
	}
	fixed, ok := derBasicConstraintsTrue(der)
	if !ok {
		return nil, err
	}
	c, err2 := x509.ParseCertificate(fixed)
	if err2 != nil {
		return nil, fmt.Errorf("%w (and read as DER: %v)", err, err2)
	}
	if !c.IsCA || !c.BasicConstraintsValid {
		return nil, errors.New("basicConstraints read as BER still do not make a CA")
	}
	return c, nil
}

// derBasicConstraintsTrue rewrites the one BER-encoded cA boolean of the
// basicConstraints extension (OID 2.5.29.19) to DER. It changes nothing
// else and succeeds only on the exact shape
// OID [critical BOOLEAN] OCTET STRING { SEQUENCE { BOOLEAN 0x01 ... } }.
func derBasicConstraintsTrue(der []byte) ([]byte, bool) {
	oid := []byte{0x06, 0x03, 0x55, 0x1d, 0x13}
	i := bytes.Index(der, oid)
	if i < 0 || bytes.Index(der[i+1:], oid) >= 0 {
		return nil, false
	}
	j := i + len(oid)
	if j+3 <= len(der) && der[j] == 0x01 && der[j+1] == 0x01 { // critical flag
		j += 3
	}
	// OCTET STRING len, SEQUENCE len, BOOLEAN 1 value
	if j+7 > len(der) || der[j] != 0x04 || der[j+2] != 0x30 || der[j+4] != 0x01 || der[j+5] != 0x01 ||
		der[j+6] == 0x00 ||
		der[j+6] == 0xff {
		return nil, false
	}
	out := append([]byte(nil), der...)
	out[j+6] = 0xff
	return out, true
}
