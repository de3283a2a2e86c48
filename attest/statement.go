package attest

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// This file holds the few checks of an attestation statement that are made
// here beside go-webauthn's verification, and why each one is not the
// library's:
//
//   - Certificate validity is judged at the Verifier's clock. The library
//     judges it at the wall clock and, for packed and fido-u2f, before it
//     checks the signature, so an expired certificate would otherwise hide
//     whether the signature is good (one reason must not mask another).
//   - The tpm AIK certificate requirements (WebAuthn §8.3.1) are checked here
//     too, so that a missing TPM subjectAlternativeName or AIK usage gets its
//     own reason, and so that the critical SAN may be marked handled before
//     the chain is verified (crypto/x509 refuses any critical extension it
//     does not parse; the TCG EK/AIK profile makes the SAN critical).

// OIDs of the TCG EK/AIK certificate profile (TCG EK Credential Profile
// §3.2.9, TPMv2-EK-Profile) and WebAuthn §8.3.1.
var (
	oidSubjectAltName     = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidTPMManufacturer    = asn1.ObjectIdentifier{2, 23, 133, 2, 1}
	oidTPMModel           = asn1.ObjectIdentifier{2, 23, 133, 2, 2}
	oidTPMVersion         = asn1.ObjectIdentifier{2, 23, 133, 2, 3}
	oidTCGKpAIKCertificte = asn1.ObjectIdentifier{2, 23, 133, 8, 3}
)

// checkValidity refuses every certificate of x5c that is outside its
// validity period at now, naming the dates. It reports whether any was.
func checkValidity(v *Verdict, chain []*x509.Certificate, now time.Time) bool {
	out := false
	for i, c := range chain {
		what := "the attestation certificate"
		if i > 0 {
			what = fmt.Sprintf("intermediate certificate %d", i)
		}
		switch {
		case now.After(c.NotAfter):
			v.refuse(
				reasonExpired,
				"%s %q expired on %s (valid %s to %s; checked at %s)",
				what,
				commonName(c),
				c.NotAfter.UTC().
					Format(time.DateOnly),
				c.NotBefore.UTC().Format(time.DateOnly),
				c.NotAfter.UTC().Format(time.DateOnly),
				now.UTC().Format(time.DateOnly),
			)
			out = true
		case now.Before(c.NotBefore):
			v.refuse(
				reasonExpired,
				"%s %q is not valid before %s (valid %s to %s; checked at %s)",
				what,
				commonName(c),
				c.NotBefore.UTC().
					Format(time.DateOnly),
				c.NotBefore.UTC().Format(time.DateOnly),
				c.NotAfter.UTC().Format(time.DateOnly),
				now.UTC().Format(time.DateOnly),
			)
			out = true
		}
	}
	return out
}

func commonName(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return c.Subject.CommonName
	}
	if len(c.Subject.Names) == 0 {
		return "(empty subject, serial " + c.SerialNumber.Text(16) + ")"
	}
	return c.Subject.String()
}

// checkAIKCert applies WebAuthn §8.3.1 (TPM attestation statement
// certificate requirements) to the AIK certificate. It reports whether the
// certificate meets them.
func checkAIKCert(v *Verdict, stmt map[string]any, aik *x509.Certificate) bool {
	ok := true
	bad := func(format string, args ...any) {
		v.refuse(reasonTPMCert, format, args...)
		ok = false
	}
	if ver, _ := stmt["ver"].(string); ver != "2.0" {
		bad("the tpm statement is for TPM version %q; WebAuthn §8.3 accepts only 2.0", ver)
	}
	if aik.Version != 3 {
		bad("the AIK certificate is version %d, WebAuthn §8.3.1 requires 3", aik.Version)
	}
	if len(aik.Subject.Names) != 0 {
		bad("the AIK certificate's subject is %q; WebAuthn §8.3.1 requires it empty", aik.Subject.String())
	}
	manufacturer, model, version, err := tpmSAN(aik)
	switch {
	case err != nil:
		bad("the AIK certificate's subjectAlternativeName cannot be read: %v", err)
	case manufacturer == "":
		bad(
			"the AIK certificate carries no TPM manufacturer (2.23.133.2.1) in its subjectAlternativeName, " +
				"as the TCG EK/AIK profile and WebAuthn §8.3.1 require",
		)
	case model == "" || version == "":
		bad("the AIK certificate's subjectAlternativeName lacks the TPM model or version (TCG EK/AIK profile §3.2.9)")
	}
	hasAIKUsage := false
	for _, u := range aik.UnknownExtKeyUsage {
		hasAIKUsage = hasAIKUsage || u.Equal(oidTCGKpAIKCertificte)
	}
	if !hasAIKUsage {
		bad(
			"the AIK certificate's extended key usage lacks tcg-kp-AIKCertificate (2.23.133.8.3), " +
				"required by WebAuthn §8.3.1",
		)
	}
	if !aik.BasicConstraintsValid || aik.IsCA {
		bad("the AIK certificate must carry basicConstraints with CA false (WebAuthn §8.3.1)")
	}
	return ok
}

// tpmSAN reads the TPM manufacturer, model and version from the
// directoryName of the subjectAlternativeName (TCG EK profile §3.2.9).
func tpmSAN(c *x509.Certificate) (manufacturer, model, version string, err error) {
	for _, e := range c.Extensions {
		if !e.Id.Equal(oidSubjectAltName) {
			continue
		}
		var names []asn1.RawValue
		if rest, err := asn1.Unmarshal(e.Value, &names); err != nil || len(rest) != 0 {
			return "", "", "", errors.New("not a GeneralNames sequence")
		}
		for _, n := range names {
			if n.Class != asn1.ClassContextSpecific || n.Tag != 4 { // directoryName [4]
				continue
			}
			var rdns pkix.RDNSequence
			if rest, err := asn1.Unmarshal(n.Bytes, &rdns); err != nil || len(rest) != 0 {
				return "", "", "", errors.New("directoryName is not a Name")
			}
			for _, rdn := range rdns {
				for _, atv := range rdn {
					s, _ := atv.Value.(string)
					switch {
					case atv.Type.Equal(oidTPMManufacturer):
						manufacturer = s
					case atv.Type.Equal(oidTPMModel):
						model = s
					case atv.Type.Equal(oidTPMVersion):
						version = s
					}
				}
			}
		}
	}
	return manufacturer, model, version, nil
}

// withTPMSANHandled returns a copy of aik whose critical subjectAlternativeName
// counts as handled, for chain verification after checkAIKCert passed. Any
// other unhandled critical extension stays and fails the chain.
func withTPMSANHandled(aik *x509.Certificate) *x509.Certificate {
	out := *aik
	out.UnhandledCriticalExtensions = nil
	for _, id := range aik.UnhandledCriticalExtensions {
		if !id.Equal(oidSubjectAltName) {
			out.UnhandledCriticalExtensions = append(out.UnhandledCriticalExtensions, id)
		}
	}
	return &out
}

// libraryFailure classifies an error of go-webauthn's statement verification
// by the step that failed, so that a cause already reported with its own
// reason is not reported twice as a bad signature.
type libraryFailure int

const (
	failureOther    libraryFailure = iota
	failureValidity                // a certificate outside its validity period (wall clock)
	failureAAGUID                  // certificate AAGUID differs from authData's (checked after the signature)
	failureAIKCert                 // a §8.3.1 AIK certificate requirement (checked after the signature)
)

func classifyLibraryError(err error) libraryFailure {
	var e *protocol.Error
	details := err.Error()
	if errors.As(err, &e) {
		details = e.Details
	}
	switch {
	case strings.Contains(details, "no longer valid or not yet valid"):
		return failureValidity
	case strings.Contains(details, "Certificate AAGUID does not match"):
		return failureAAGUID
	case strings.HasPrefix(details, "AIK certificate"),
		strings.HasPrefix(details, "Invalid SAN data"),
		details == "Invalid TPM manufacturer":
		return failureAIKCert
	}
	return failureOther
}

// checkStatementSignature verifies only the signature of a packed,
// fido-u2f or tpm statement with the leaf certificate's key. It serves when
// the library stopped at a certificate's validity before reaching the
// signature, so that an expired certificate does not hide a forged one.
func checkStatementSignature(
	format string,
	stmt map[string]any,
	authData, clientDataHash []byte,
	leaf *x509.Certificate,
) error {
	sig, _ := stmt["sig"].([]byte)
	alg, _ := stmt["alg"].(int64)
	switch format {
	case "packed":
		return leaf.CheckSignature(
			webauthncose.SigAlgFromCOSEAlg(webauthncose.COSEAlgorithmIdentifier(alg)),
			append(append([]byte{}, authData...), clientDataHash...),
			sig,
		)
	case "tpm":
		certInfo, _ := stmt["certInfo"].([]byte)
		return leaf.CheckSignature(
			webauthncose.SigAlgFromCOSEAlg(webauthncose.COSEAlgorithmIdentifier(alg)),
			certInfo,
			sig,
		)
	case "fido-u2f":
		// FIDO U2F raw message formats §4.3, WebAuthn §8.6 step 5:
		// 0x00 || rpIdHash || clientDataHash || credentialId || 0x04 || x || y.
		ad, err := ctap.ParseAuthData(authData)
		if err != nil {
			return err
		}
		pub, err := ctapwire.ParseCOSEKey(ad.CredentialKey)
		if err != nil {
			return err
		}
		if len(pub.X) != 32 || len(pub.Y) != 32 {
			return errors.New("the credential key is not a P-256 point")
		}
		msg := bytes.Join([][]byte{{0x00}, ad.RPIDHash[:], clientDataHash, ad.CredentialID, {0x04}, pub.X, pub.Y}, nil)
		return leaf.CheckSignature(x509.ECDSAWithSHA256, msg, sig)
	}
	return fmt.Errorf("format %s", format)
}
