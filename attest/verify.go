package attest

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/internal/ctapwire"
)

// Reason codes of a refusal. Each Verdict reason carries one, so reports
// and callers (Verdict.HasReason) tell refusals apart by these strings;
// they are recorded in signed reports and so never change.
const (
	reasonMalformed        = "malformed"          // the input cannot be parsed
	reasonClientData       = "client-data"        // clientDataJSON type, origin or challenge wrong
	reasonRPID             = "rp-id"              // authData is for another relying party
	reasonFormatNone       = "format-none"        // no attestation, and the policy requires one
	reasonSignature        = "signature"          // attestation statement does not verify
	reasonSelfAttestation  = "self-attestation"   // self attestation proves no make or model
	reasonChain            = "chain"              // certificate does not chain to a trusted root
	reasonSimkeyRoot       = "simkey-root"        // chains to the simkey TEST root outside a rehearsal
	reasonAAGUIDMismatch   = "aaguid-mismatch"    // certificate AAGUID differs from authData's
	reasonAAGUIDNotAllowed = "aaguid-not-allowed" // model not on the allowlist
	reasonMDSStatus        = "mds-status"         // MDS says revoked or compromised
	reasonMDSStale         = "mds-stale"          // the MDS blob is older than the policy allows
	reasonMDSMissing       = "mds-missing"        // no MDS entry, and the policy requires one
	reasonCertification    = "certification"      // below the policy's certification level
	reasonFirmware         = "firmware"           // firmware below the policy's minimum
	reasonFirmwareUnknown  = "firmware-unknown"   // the policy has a minimum but the firmware is unknown
	reasonExpired          = "expired"            // a certificate of the chain is outside its validity period
	reasonU2FAAGUID        = "u2f-aaguid"         // fido-u2f with a non-zero AAGUID its signature does not cover
	reasonEntraFormat      = "entra-format"       // Entra registers only packed and none attestation
	reasonTPMCert          = "tpm-aik-cert"       // the tpm AIK certificate breaks WebAuthn §8.3.1
)

// entraRPID is the relying party of Microsoft Entra ID passkeys (FIDO2).
const entraRPID = "login.microsoft.com"

// Reason is one cause of refusal.
type Reason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// CertInfo identifies one certificate.
type CertInfo struct {
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"`
}

// mdsInfo is what the MDS said of the model.
type mdsInfo struct {
	Serial        int      `json:"serial"`
	BlobSHA256    string   `json:"blob_sha256"`
	Description   string   `json:"description,omitempty"`
	Statuses      []string `json:"statuses,omitempty"`
	Certification string   `json:"certification,omitempty"`
}

// Verdict is the structured result the report records as is.
type Verdict struct {
	// Trusted: the attestation signature verifies and its certificate
	// chains to a trusted root.
	Trusted bool `json:"trusted"`
	// Allowed: Trusted and every policy check passed.
	Allowed         bool       `json:"allowed"`
	Format          string     `json:"format"`
	AttestationType string     `json:"attestation_type,omitempty"`
	AAGUID          string     `json:"aaguid"`
	CertAAGUID      string     `json:"cert_aaguid,omitempty"`
	Model           string     `json:"model,omitempty"`
	Root            *CertInfo  `json:"root,omitempty"`
	Chain           []CertInfo `json:"chain,omitempty"` // attestation certificate first
	MDS             *mdsInfo   `json:"mds,omitempty"`
	// Firmware is the key's firmware in its vendor's form where known
	// (ctap.FormatFirmware), "" when not reported; FirmwareSource says
	// where it came from (getInfo, or the CTAPHID_INIT device version).
	Firmware       string   `json:"firmware,omitempty"`
	FirmwareSource string   `json:"firmware_source,omitempty"`
	MinFirmware    string   `json:"min_firmware,omitempty"`
	PolicyName     string   `json:"policy"`
	PolicySHA256   string   `json:"policy_sha256"`
	Rehearsal      bool     `json:"rehearsal,omitempty"`
	Reasons        []Reason `json:"reasons,omitempty"`
}

func (v *Verdict) refuse(code, format string, args ...any) {
	v.Reasons = append(v.Reasons, Reason{Code: code, Message: fmt.Sprintf(format, args...)})
}

// HasReason reports whether the verdict was refused for code.
func (v *Verdict) HasReason(code string) bool {
	for _, r := range v.Reasons {
		if r.Code == code {
			return true
		}
	}
	return false
}

// Verifier applies a Policy (and optionally an MDS blob) to attestations.
type Verifier struct {
	Policy *Policy
	MDS    *MDS // nil when the policy uses none
	// Rehearsal trusts RehearsalRoots and allows RehearsalModel.
	Rehearsal bool
	// RehearsalRoots are the simulation's TEST attestation roots: trusted
	// only in a rehearsal, and named as such when met outside one.
	RehearsalRoots []*x509.Certificate
	// RehearsalModel is the simulated key's model, allowed only in a rehearsal.
	RehearsalModel *AllowedModel
	// Now is the verification time (default time.Now).
	Now func() time.Time
}

// Expect is what the relying party expects of a registration.
type Expect struct {
	RPID   string // e.g. login.microsoft.com
	Origin string // e.g. https://login.microsoft.com; checked when clientDataJSON is given
	// Challenge, when set, must equal clientDataJSON's challenge.
	Challenge []byte
}

// Verify judges one registration. It never returns an error for a bad
// attestation: that is a refused Verdict with reasons. It returns an error
// only when the input cannot be parsed at all.
func (vf *Verifier) Verify(in Input, exp Expect) (*Verdict, error) {
	now := time.Now()
	if vf.Now != nil {
		now = vf.Now()
	}
	v := &Verdict{PolicyName: vf.Policy.Name, PolicySHA256: vf.Policy.SHA256(), Rehearsal: vf.Rehearsal}
	clientDataHash := in.ClientDataHash
	if in.ClientDataJSON != nil {
		h := sha256.Sum256(in.ClientDataJSON)
		clientDataHash = h[:]
		checkClientData(v, in.ClientDataJSON, exp)
	}
	if len(clientDataHash) != 32 {
		return nil, errors.New("no clientDataHash and no clientDataJSON")
	}

	var att protocol.AttestationObject
	if err := webauthncbor.Unmarshal(in.AttestationObject, &att); err != nil {
		return nil, fmt.Errorf("attestationObject: %w", err)
	}
	if err := att.AuthData.Unmarshal(att.RawAuthData); err != nil {
		return nil, fmt.Errorf("authenticator data: %w", err)
	}
	ad, err := ctap.ParseAuthData(att.RawAuthData)
	if err != nil {
		return nil, err
	}
	if ad.Flags&ctapwire.FlagAT == 0 {
		return nil, errors.New("authenticator data carries no attested credential")
	}
	v.Format, v.AAGUID = att.Format, ad.AAGUID.String()
	if in.Firmware != nil {
		v.Firmware, _ = ctap.FormatFirmware(ad.AAGUID, *in.Firmware, in.FirmwareSource)
		v.FirmwareSource = in.FirmwareSource
		if v.FirmwareSource == "" {
			v.FirmwareSource = "getInfo firmwareVersion"
		}
	}
	if want := sha256.Sum256([]byte(exp.RPID)); ad.RPIDHash != want {
		v.refuse(reasonRPID, "the credential was made for another relying party than %q", exp.RPID)
	}

	// Entra ID registers only packed and none attestation: "Microsoft Entra
	// ID ... supports packed and none attestation formats" (Microsoft Learn,
	// "Passkey (FIDO2) authentication method", attestation enforcement;
	// Graph beta fido2AuthenticationMethod: create, attestationObject).
	if exp.RPID == entraRPID && att.Format != "packed" && att.Format != "none" {
		v.refuse(
			reasonEntraFormat,
			"the key gives %s attestation; Microsoft Entra ID registers only packed and none attestation, "+
				"so it would refuse this key",
			att.Format,
		)
	}

	// Cryptographic verification of the statement: the library's, with the
	// checks statement.go explains beside it.
	if att.Format == "none" {
		if vf.Policy.requiresAttestation() {
			v.refuse(
				reasonFormatNone,
				"the key gave no attestation (format none), and the policy requires one: ask for direct attestation",
			)
		}
	} else {
		chain, certErr := x5cChain(att.AttStatement)
		if certErr != nil {
			v.refuse(reasonMalformed, "attestation certificates: %v", certErr)
		}
		sigErr := att.VerifyAttestation(clientDataHash, nil, protocol.AttestationPolicy{}, protocol.SignaturePolicy{})
		v.AttestationType = att.Type
		expired, aikOK := false, true
		if len(chain) > 0 {
			expired = checkValidity(v, chain, now)
			// §8.6: the client writes a zero AAGUID; the certificate's extension is not compared
			if att.Format != "fido-u2f" {
				checkCertAAGUID(v, chain[0], ad.AAGUID)
			}
			if att.Format == "tpm" {
				aikOK = checkAIKCert(v, att.AttStatement, chain[0])
			}
		}
		signatureOK := sigErr == nil
		if sigErr != nil {
			switch kind := classifyLibraryError(sigErr); {
			case kind == failureAAGUID && v.HasReason(reasonAAGUIDMismatch),
				kind == failureAIKCert && !aikOK:
				// The library checks these after the signature: the
				// signature verified, and the cause has its own reason.
				signatureOK = true
			case kind == failureValidity && expired && len(chain) > 0:
				// The library stopped at the expired certificate, for
				// packed and fido-u2f before the signature: check it here.
				err := checkStatementSignature(att.Format, att.AttStatement, att.RawAuthData, clientDataHash, chain[0])
				if err != nil {
					v.refuse(reasonSignature,
						"the attestation signature does not verify with the attestation certificate's key: %v", err)
				} else {
					signatureOK = true
				}
			case kind == failureValidity:
				// Valid at the verifier's clock, not at this machine's,
				// which the library uses: nothing was verified.
				v.refuse(reasonExpired, "a certificate is outside its validity period by this machine's clock (%s), "+
					"which the verification library uses; the statement was not verified",
					time.Now().UTC().Format(time.DateOnly))
			default:
				v.refuse(reasonSignature, "the attestation statement does not verify: %s", libraryError(sigErr))
			}
		}
		switch {
		case certErr != nil:
		case len(chain) == 0:
			if !vf.Policy.AllowSelfAttestation {
				v.refuse(reasonSelfAttestation,
					"self attestation (no certificate) proves nothing about the key's make and model")
			}
		case signatureOK && aikOK:
			leaf := chain[0]
			if att.Format == "tpm" {
				leaf = withTPMSANHandled(leaf)
			}
			full := append([]*x509.Certificate{leaf}, chain[1:]...)
			chained := vf.checkChain(v, full, ad.AAGUID.String(), now, expired)
			v.Trusted = chained && !expired
		}
	}

	vf.checkModel(v, att.Format, ad.AAGUID, firmwareToCompare(ad.AAGUID, in.Firmware, in.FirmwareSource), now)
	v.Allowed = v.Trusted && len(v.Reasons) == 0
	return v, nil
}

// libraryError shortens go-webauthn's error text to its details.
func libraryError(err error) string {
	var e *protocol.Error
	if errors.As(err, &e) {
		parts := []string{e.Details}
		if e.DevInfo != "" {
			parts = append(parts, e.DevInfo)
		}
		return strings.Join(parts, ": ")
	}
	return err.Error()
}

func checkClientData(v *Verdict, raw []byte, exp Expect) {
	var cd struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
		Origin    string `json:"origin"`
	}
	if err := json.Unmarshal(raw, &cd); err != nil {
		v.refuse(reasonClientData, "clientDataJSON is not JSON: %v", err)
		return
	}
	if cd.Type != "webauthn.create" {
		v.refuse(reasonClientData, "clientDataJSON type %q, want webauthn.create", cd.Type)
	}
	if exp.Origin != "" && cd.Origin != exp.Origin {
		v.refuse(reasonClientData, "clientDataJSON origin %q, want %q", cd.Origin, exp.Origin)
	}
	if exp.Challenge != nil {
		got, err := decodeB64URL(cd.Challenge)
		if err != nil || !bytes.Equal(got, exp.Challenge) {
			v.refuse(reasonClientData, "clientDataJSON challenge is not the one issued")
		}
	}
}

// x5cChain reads attStmt.x5c (packed, fido-u2f, tpm).
func x5cChain(stmt map[string]any) ([]*x509.Certificate, error) {
	raw, ok := stmt["x5c"]
	if !ok {
		return nil, nil
	}
	list, ok := raw.([]any)
	if !ok || len(list) == 0 {
		return nil, errors.New("x5c is not a non-empty array")
	}
	var out []*x509.Certificate
	for i, item := range list {
		der, ok := item.([]byte)
		if !ok {
			return nil, fmt.Errorf("x5c[%d] is not a byte string", i)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("x5c[%d]: %w", i, err)
		}
		out = append(out, c)
	}
	return out, nil
}

// checkCertAAGUID compares the id-fido-gen-ce-aaguid extension with authData.
func checkCertAAGUID(v *Verdict, leaf *x509.Certificate, aaguid ctap.AAGUID) {
	oid := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}
	for _, e := range leaf.Extensions {
		if !e.Id.Equal(oid) {
			continue
		}
		var inner []byte
		if rest, err := asn1.Unmarshal(e.Value, &inner); err != nil || len(rest) != 0 || len(inner) != 16 {
			v.refuse(reasonAAGUIDMismatch, "the certificate's AAGUID extension is malformed")
			return
		}
		var certID ctap.AAGUID
		copy(certID[:], inner)
		v.CertAAGUID = certID.String()
		if certID != aaguid {
			v.refuse(
				reasonAAGUIDMismatch,
				"authenticator data names AAGUID %s but the attestation certificate names %s",
				aaguid,
				certID,
			)
		}
	}
}

func certInfo(c *x509.Certificate) CertInfo {
	s := sha256.Sum256(c.Raw)
	return CertInfo{Subject: c.Subject.String(), SHA256: hex.EncodeToString(s[:])}
}

// checkChain verifies x5c against the policy roots, the MDS roots of the
// AAGUID and (in rehearsal only) the simkey TEST root. When a certificate is
// expired (already refused with its dates), the links are still checked, at
// the latest start of validity in x5c, so an expired chain that also leads
// nowhere says both.
func (vf *Verifier) checkChain(v *Verdict, chain []*x509.Certificate, aaguid string, now time.Time, expired bool) bool {
	for _, c := range chain {
		v.Chain = append(v.Chain, certInfo(c))
	}
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	for _, r := range vf.Policy.roots {
		roots.AddCert(r)
	}
	if vf.MDS != nil {
		if e, ok := vf.MDS.entry(aaguid); ok {
			for _, r := range e.MetadataStatement.AttestationRootCertificates {
				roots.AddCert(r)
			}
		}
	}
	if vf.Rehearsal {
		for _, r := range vf.RehearsalRoots {
			roots.AddCert(r)
		}
	}
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	// An expired chain is linked at each instant some certificate of it
	// starts or ends being valid, so that the links are judged apart from
	// the dates (already refused with their own reason).
	times := []time.Time{now}
	if expired {
		times = nil
		for _, c := range chain {
			times = append(times, c.NotBefore.Add(time.Second), c.NotAfter.Add(-time.Second))
		}
	}
	var (
		paths [][]*x509.Certificate
		err   error
	)
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	for _, at := range times {
		opts.CurrentTime = at
		if paths, err = chain[0].Verify(opts); err == nil {
			break
		}
	}
	if err != nil {
		if !vf.Rehearsal {
			sim := x509.NewCertPool()
			for _, r := range vf.testRoots() {
				sim.AddCert(r)
			}
			opts.Roots = sim
			if _, err2 := chain[0].Verify(opts); err2 == nil {
				v.refuse(
					reasonSimkeyRoot,
					"the key is a keyceremony simkey (TEST attestation root): trusted only in a rehearsal "+
						"(--rehearsal), never in a real ceremony",
				)
				return false
			}
		}
		v.refuse(
			reasonChain,
			"the attestation certificate %q does not chain to a trusted root: %v",
			commonName(chain[0]),
			err,
		)
		return false
	}
	root := paths[0][len(paths[0])-1]
	if !vf.Rehearsal && vf.isRehearsalRoot(root) {
		v.refuse(
			reasonSimkeyRoot,
			"the key is a keyceremony simkey (TEST attestation root): trusted only in a rehearsal",
		)
		return false
	}
	ri := vf.Policy.anchorInfo(root)
	v.Root = &ri
	if len(paths[0]) > len(chain) { // the root was not in x5c: record it in the chain too
		v.Chain = append(v.Chain, ri)
	}
	return true
}

// testRoots are the roots a real ceremony must name as simulations: the
// embedded simkey TEST root (its certificate only) and RehearsalRoots.
func (vf *Verifier) testRoots() []*x509.Certificate {
	out := append([]*x509.Certificate(nil), vf.RehearsalRoots...)
	if b, err := embedded.ReadFile("roots/simkey-test-root.pem"); err == nil {
		if blk, _ := pem.Decode(b); blk != nil {
			if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
				out = append(out, c)
			}
		}
	}
	return out
}

func (vf *Verifier) isRehearsalRoot(c *x509.Certificate) bool {
	for _, r := range vf.testRoots() {
		if r.Equal(c) {
			return true
		}
	}
	return false
}

// checkModel applies the allowlist, MDS status and certification, and firmware.
func (vf *Verifier) checkModel(v *Verdict, format string, aaguid ctap.AAGUID, firmware *uint64, now time.Time) {
	id := aaguid.String()
	if format == "fido-u2f" {
		// WebAuthn §8.6 (FIDO U2F attestation) step 2: the AAGUID of a
		// fido-u2f credential is zero, and the attestation signature does
		// not cover it. Whatever authData claims attests no model.
		if !aaguid.IsZero() {
			v.refuse(
				reasonU2FAAGUID,
				"the key gives fido-u2f attestation, whose signature does not cover the AAGUID, yet its "+
					"authenticator data claims AAGUID %s (WebAuthn §8.6 requires zero): "+
					"the claim is unproven and refused",
				id,
			)
		}
		v.refuse(
			reasonAAGUIDNotAllowed,
			"a fido-u2f attestation names no model (WebAuthn §8.6): it cannot satisfy the allowlist",
		)
		return
	}
	model, ok := vf.Policy.model(id)
	if !ok && vf.Rehearsal && vf.RehearsalModel != nil && vf.RehearsalModel.AAGUID == id {
		model, ok = *vf.RehearsalModel, true
	}
	switch {
	case ok:
		v.Model = model.Name
	case aaguid.IsZero():
		v.refuse(
			reasonAAGUIDNotAllowed,
			"the key has no AAGUID (a U2F-only or anonymised key): it cannot be matched to an approved model",
		)
	default:
		v.refuse(reasonAAGUIDNotAllowed, "model AAGUID %s is not on the policy's allowlist", id)
	}
	if ok && model.MinFirmware != "" {
		min, _ := ctap.ParseFirmware(aaguid, model.MinFirmware)
		v.MinFirmware, _ = ctap.FormatFirmware(aaguid, min, "")
		switch {
		case firmware == nil:
			v.refuse(
				reasonFirmwareUnknown,
				"the policy requires firmware %s or newer for %s, and the key's firmware is unknown (a backend "+
					"that cannot read getInfo firmwareVersion, such as libfido2, cannot satisfy it: "+
					"use the native backend)",
				v.MinFirmware,
				model.Name,
			)
		case *firmware < min:
			fw, _ := ctap.FormatFirmware(aaguid, *firmware, "")
			v.refuse(
				reasonFirmware,
				"firmware %s is older than the policy's minimum %s for %s",
				fw,
				v.MinFirmware,
				model.Name,
			)
		}
	}
	vf.checkMDS(v, id, now)
}

func (vf *Verifier) checkMDS(v *Verdict, aaguid string, now time.Time) {
	p := vf.Policy
	if vf.MDS == nil {
		if p.MDS != nil {
			v.refuse(reasonMDSMissing, "the policy names an MDS blob but none was loaded")
		}
		return
	}
	v.MDS = &mdsInfo{Serial: vf.MDS.Serial, BlobSHA256: vf.MDS.SHA256}
	if p.MDS != nil && vf.MDS.age(now) > time.Duration(p.MDS.MaxAgeDays)*24*time.Hour {
		v.refuse(
			reasonMDSStale,
			"the MDS blob (no. %d, newest entry %s) is older than the policy's %d days: fetch a current blob",
			vf.MDS.Serial,
			vf.MDS.Newest.Format(time.DateOnly),
			p.MDS.MaxAgeDays,
		)
	}
	e, ok := vf.MDS.entry(aaguid)
	if why, bad := vf.MDS.unreadable[aaguid]; !ok && bad {
		v.refuse(
			reasonMDSMissing,
			"the MDS blob's entry for AAGUID %s cannot be read (%s): its status cannot be checked",
			aaguid,
			why,
		)
		return
	}
	if !ok {
		if (p.MDS != nil && p.MDS.Required) || p.MinCertification != "" {
			v.refuse(reasonMDSMissing, "the MDS blob has no entry for AAGUID %s", aaguid)
		}
		return
	}
	v.MDS.Description = e.MetadataStatement.Description
	best := -1
	for _, r := range e.StatusReports {
		status := string(r.Status)
		v.MDS.Statuses = append(v.MDS.Statuses, status)
		if why, bad := refusedStatuses[r.Status]; bad {
			v.refuse(reasonMDSStatus, "MDS status %s: %s", status, why)
		}
		if rank, ok := certificationRank(status); ok && rank > best {
			best = rank
		}
	}
	if best >= 0 {
		v.MDS.Certification = string(certificationLevels[best])
	}
	if p.MinCertification != "" {
		want, _ := certificationRank(p.MinCertification)
		if best < want {
			got := "none"
			if best >= 0 {
				got = v.MDS.Certification
			}
			v.refuse(reasonCertification, "certification %s is below the policy's %s", got, p.MinCertification)
		}
	}
}
