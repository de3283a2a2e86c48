package keystep

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
	"github.com/keyceremony/keyceremony/report"
)

// Created is a credential made for Entra, with its attestation verdict.
type Created struct {
	ClientDataJSON    []byte
	AttestationObject []byte
	AuthData          *ctap.AuthData
	PublicKeyPEM      string
	HMACSecret        bool // the hmac-secret extension was asked for
	Verdict           *attest.Verdict
}

// CreateForEntra makes the credential that opts (Graph's creation options)
// ask for, with tok, and judges its attestation with vf for Entra's relying
// party and the challenge Graph issued (info: the key's getInfo, for its
// firmware and where that came from). It returns the verdict whatever it
// says; the caller refuses a key that is not allowed.
func CreateForEntra(
	ctx context.Context,
	auth ctap.Authenticator,
	opts *enroll.CreationOptions,
	tok *ctap.PINToken,
	info *ctap.Info,
	vf *attest.Verifier,
) (*Created, error) {
	if _, err := entraChallenge(opts); err != nil {
		return nil, fmt.Errorf("%w: refusing to create a credential for it", err)
	}
	cd := opts.ClientDataJSON()
	mc, err := opts.MakeCredential(cd, tok)
	if err != nil {
		return nil, err
	}
	res, err := auth.MakeCredential(ctx, mc)
	if err != nil {
		return nil, err
	}
	in, err := attest.InputFromMakeCredential(res, cd, info.FirmwareVersion)
	if err != nil {
		return nil, err
	}
	in.FirmwareSource = info.FirmwareSource
	v, err := JudgeForEntra(vf, opts, in)
	if err != nil {
		return nil, err
	}
	ad, err := ctap.ParseAuthData(res.AuthData)
	if err != nil {
		return nil, err
	}
	pemKey, err := publicKeyPEM(ad.CredentialKey)
	if err != nil {
		return nil, err
	}
	return &Created{
		ClientDataJSON:    cd,
		AttestationObject: in.AttestationObject,
		AuthData:          ad,
		PublicKeyPEM:      pemKey,
		HMACSecret:        mc.HMACSecret,
		Verdict:           v,
	}, nil
}

// JudgeForEntra is the Entra judgement of a new credential: Graph's
// challenge in opts decoded, and in's attestation verified with vf for
// Entra's relying party, origin and that challenge. The ceremony (through
// CreateForEntra) and the offline split both judge with it.
func JudgeForEntra(vf *attest.Verifier, opts *enroll.CreationOptions, in attest.Input) (*attest.Verdict, error) {
	challenge, err := entraChallenge(opts)
	if err != nil {
		return nil, err
	}
	return vf.Verify(in, attest.Expect{RPID: enroll.RPID, Origin: enroll.Origin, Challenge: challenge})
}

// entraChallenge decodes the challenge Graph issued in opts (base64url).
func entraChallenge(opts *enroll.CreationOptions) ([]byte, error) {
	challenge, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(opts.PublicKey.Challenge, "="))
	if err != nil || len(challenge) == 0 {
		return nil, fmt.Errorf(
			"the creation options carry a challenge that is not base64url (%q)",
			opts.PublicKey.Challenge,
		)
	}
	return challenge, nil
}

// Refusal is the error for a verdict that does not allow the key.
func Refusal(v *attest.Verdict) error {
	var reasons []string
	for _, r := range v.Reasons {
		reasons = append(reasons, r.Message)
	}
	return fmt.Errorf("attestation refused: %s", strings.Join(reasons, "; "))
}

func publicKeyPEM(cose []byte) (string, error) {
	ck, err := ctapwire.ParseCOSEKey(cose)
	if err != nil {
		return "", err
	}
	pub, err := ck.PublicKey()
	if err != nil {
		return "", err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// ErrAssertionMismatch is wrapped when a test assertion's signature does not
// verify with the recorded public key.
var ErrAssertionMismatch = errors.New("the assertion does not verify with the recorded public key")

// TestAssertion has credential credID sign a fresh challenge (made from
// label and now) for Entra's relying party with tok, and verifies the
// signature with the recorded COSE public key. It returns the signature
// counter; an error from the key (ctap.ErrNoCredentials: the credential
// is gone) is returned as it is.
func TestAssertion(
	ctx context.Context,
	auth ctap.Authenticator,
	tok *ctap.PINToken,
	credID, cose []byte,
	label string,
	now time.Time,
) (uint32, error) {
	sum := sha256.Sum256([]byte(label + " " + now.UTC().Format(time.RFC3339Nano)))
	as, err := auth.GetAssertion(ctx, ctap.GetAssertionOptions{RPID: enroll.RPID, ClientDataHash: sum[:], Token: tok,
		AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: credID}}})
	if err != nil {
		return 0, err
	}
	if err := ctapwire.VerifySignature(cose, as[0].AuthData, sum[:], as[0].Signature); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrAssertionMismatch, err)
	}
	ad, err := ctap.ParseAuthData(as[0].AuthData)
	if err != nil {
		return 0, err
	}
	return ad.SignCount, nil
}

// reattestRPID names the throw-away credential of a re-attestation; it is
// not a real relying party, so nothing of login.microsoft.com is touched.
const reattestRPID = "health-check.keyceremony.invalid"

// Reattest has the key attest a fresh non-discoverable credential for
// reattestRPID (nothing is stored on the key; its signature counter moves
// by one, and it needs a touch) and judges that attestation with vf, the
// same verifier as the ceremony's (info: the key's getInfo, for its
// firmware). The verdict's first chain entry is the attestation
// certificate to compare with the one recorded.
func Reattest(
	ctx context.Context,
	auth ctap.Authenticator,
	vf *attest.Verifier,
	info *ctap.Info,
	now time.Time,
) (*attest.Verdict, error) {
	h := sha256.Sum256([]byte("keyceremony re-attestation " + now.UTC().Format(time.RFC3339Nano)))
	res, err := auth.MakeCredential(ctx, ctap.MakeCredentialOptions{ClientDataHash: h[:],
		RP:   ctap.RelyingParty{ID: reattestRPID, Name: "keyceremony health check"},
		User: ctap.User{ID: []byte("health-check"), Name: "health-check"}})
	if err != nil {
		return nil, err
	}
	obj, err := res.AttestationObject()
	if err != nil {
		return nil, err
	}
	return vf.Verify(
		attest.Input{AttestationObject: obj, ClientDataHash: h[:], Firmware: info.FirmwareVersion,
			FirmwareSource: info.FirmwareSource},
		attest.Expect{RPID: reattestRPID},
	)
}

// Record is the verdict as the signed report records it.
func Record(v *attest.Verdict) *report.Attestation {
	if v == nil {
		return nil
	}
	r := &report.Attestation{
		Trusted:         v.Trusted,
		Allowed:         v.Allowed,
		Format:          v.Format,
		AttestationType: v.AttestationType,
		AAGUID:          v.AAGUID,
		CertAAGUID:      v.CertAAGUID,
		Model:           v.Model,
		Firmware:        v.Firmware,
		MinFirmware:     v.MinFirmware,
		PolicyName:      v.PolicyName,
		PolicySHA256:    v.PolicySHA256,
		Rehearsal:       v.Rehearsal,
	}
	if v.Root != nil {
		r.Root = &report.Certificate{Subject: v.Root.Subject, SHA256: v.Root.SHA256}
	}
	for _, c := range v.Chain {
		r.Chain = append(r.Chain, report.Certificate{Subject: c.Subject, SHA256: c.SHA256})
	}
	if m := v.MDS; m != nil {
		r.MDS = &report.MDSEntry{
			Serial:        m.Serial,
			BlobSHA256:    m.BlobSHA256,
			Description:   m.Description,
			Statuses:      m.Statuses,
			Certification: m.Certification,
		}
	}
	for _, x := range v.Reasons {
		r.Reasons = append(r.Reasons, report.AttestationReason{Code: x.Code, Message: x.Message})
	}
	return r
}
