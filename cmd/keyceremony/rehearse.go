package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/report"
	"github.com/keyceremony/keyceremony/simkey"
)

// Entra ID registration facts (Yubico's provisioning scripts, Microsoft docs).
const (
	entraRPID   = "login.microsoft.com"
	entraOrigin = "https://login.microsoft.com"
)

// Rehearsal identities: nothing here names a real tenant or person.
const (
	rehearsalOfficerA = "Rehearsal Officer A"
	rehearsalOfficerB = "Rehearsal Officer B"
	rehearsalUPN      = "breakglass-rehearsal@contoso.onmicrosoft.com"
)

// stepLog records the ceremony steps for the report.
type stepLog struct {
	out   io.Writer
	steps []report.Step
}

// do runs one step, prints it and records its outcome and confirmations.
func (l *stepLog) do(name string, confirmedBy []string, f func() (string, error)) error {
	start := time.Now().UTC()
	detail, err := f()
	st := report.Step{Name: name, Started: start, Ended: time.Now().UTC(), ConfirmedBy: confirmedBy, Outcome: "done", Detail: detail}
	if err != nil {
		st.Outcome, st.Detail = "failed", err.Error()
	}
	l.steps = append(l.steps, st)
	if err != nil {
		fmt.Fprintf(l.out, "  FAILED %s: %v\n", name, err)
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(l.out, "  %s: %s\n", name, detail)
	return nil
}

// cmdRehearse runs the ceremony on two virtual keys served over real
// CTAPHID — identify, reset, split-knowledge PIN, resident credential for
// Entra's RP ID, attestation judged by the attest policy (simkey TEST root
// trusted), test assertion — and writes a report signed with a throw-away
// rehearsal key. Graph enrollment and the TUI join as they land.
func cmdRehearse(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rehearse", flag.ContinueOnError)
	outDir := fs.String("out", "", "write the signed rehearsal report here (default: a new temporary directory)")
	fs.Bool("yes", true, "run headless with scripted answers (the only mode until the TUI lands)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	fmt.Fprintln(out, "REHEARSAL — virtual keys (simkey), test attestation root, throw-away signing key;")
	fmt.Fprintln(out, "nothing here touches a real key or tenant.")
	verifier, err := loadVerifier("", "", true)
	if err != nil {
		return err
	}
	started := time.Now().UTC()
	log := &stepLog{out: out}
	var keys []report.Key
	for slot := 1; slot <= 2; slot++ {
		k, err := rehearseKey(ctx, log, slot, verifier)
		if err != nil {
			return fmt.Errorf("key %d: %w", slot, err)
		}
		keys = append(keys, k)
	}
	host, _ := os.Hostname()
	r := &report.Report{
		Type: report.TypeCeremony, Rehearsal: true,
		CeremonyID: "rehearsal-" + started.Format("20060102-150405"), Started: started, Ended: time.Now().UTC(),
		Tenant:      report.Tenant{ID: "rehearsal", Domain: "contoso.onmicrosoft.com"},
		Account:     report.Account{UPN: rehearsalUPN, ObjectID: "rehearsal"},
		Officers:    []report.Person{{Role: "officer-a", Name: rehearsalOfficerA}, {Role: "officer-b", Name: rehearsalOfficerB}},
		Workstation: report.Workstation{Hostname: host},
		Tool:        report.ToolInfo(version),
		Policy:      &report.PolicyRef{Name: verifier.Policy.Name, SHA256: verifier.Policy.SHA256()},
		Keys:        keys, Steps: log.steps,
		Deviations: []string{"Graph enrollment is not rehearsed yet (enroll package pending)"},
	}
	signer, err := report.NewRehearsalSigner()
	if err != nil {
		return err
	}
	dir := *outDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "keyceremony-rehearsal-"); err != nil {
			return err
		}
	}
	w, err := report.Write(dir, r, signer)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Rehearsal complete. Signed rehearsal report in %s\n", dir)
	fmt.Fprintf(out, "Signing key fingerprint (copy onto the envelope in a real ceremony): %s\n", w.Fingerprint)
	fmt.Fprintf(out, "Check it: keyceremony report verify --rehearsal %s/%s\n", dir, report.FileReport)
	return nil
}

func rehearseKey(ctx context.Context, log *stepLog, slot int, verifier *attest.Verifier) (report.Key, error) {
	both := []string{rehearsalOfficerA, rehearsalOfficerB}
	key, err := simkey.New(simkey.Config{TouchDelay: 20 * time.Millisecond})
	if err != nil {
		return report.Key{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client, dev, err := key.Open(ctx, hid.Options{}, ctap.Options{})
	if err != nil {
		return report.Key{}, err
	}
	defer dev.Close()
	rk := report.Key{Slot: slot}

	var info *ctap.Info
	if err := log.do(fmt.Sprintf("key %d inserted", slot), nil, func() (string, error) {
		info, err = client.Info(ctx)
		if err != nil {
			return "", err
		}
		rk.AAGUID, rk.Firmware = info.AAGUID.String(), firmwareString(info.FirmwareVersion)
		return fmt.Sprintf("AAGUID %s, firmware %s, versions %v", info.AAGUID, rk.Firmware, info.Versions), nil
	}); err != nil {
		return rk, err
	}
	if err := log.do(fmt.Sprintf("reset key %d", slot), both, func() (string, error) {
		return "erased within the power-up window, touch confirmed", client.Reset(ctx)
	}); err != nil {
		return rk, err
	}
	pin, err := splitKnowledgePIN()
	if err != nil {
		return rk, err
	}
	defer ctap.Zero(pin)
	if err := log.do(fmt.Sprintf("set PIN key %d", slot), both, func() (string, error) {
		return "from officer A's and officer B's halves, never shown together", client.SetPIN(ctx, pin)
	}); err != nil {
		return rk, err
	}
	rk.PINSet, rk.PINSplit = true, true

	tok, err := client.GetPINToken(ctx, pin, ctap.TokenRequest{Permissions: ctap.PermMakeCredential | ctap.PermGetAssertion, RPID: entraRPID})
	if err != nil {
		return rk, err
	}
	defer tok.Zero()
	var res *ctap.MakeCredentialResult
	var ad *ctap.AuthData
	challenge := make([]byte, 32)
	if _, err := rand.Read(challenge); err != nil {
		return rk, err
	}
	clientData, _ := json.Marshal(map[string]any{
		"type": "webauthn.create", "challenge": base64.RawURLEncoding.EncodeToString(challenge), "origin": entraOrigin, "crossOrigin": false,
	})
	if err := log.do(fmt.Sprintf("create credential key %d", slot), nil, func() (string, error) {
		cdh := sha256.Sum256(clientData)
		userID := make([]byte, 16)
		rand.Read(userID)
		res, err = client.MakeCredential(ctx, ctap.MakeCredentialOptions{
			ClientDataHash: cdh[:], RP: ctap.RelyingParty{ID: entraRPID, Name: "Microsoft"},
			User:        ctap.User{ID: userID, Name: rehearsalUPN, DisplayName: "Break Glass (rehearsal)"},
			ResidentKey: true, CredProtect: ctap.CredProtectUVOptional, HMACSecret: true, Token: tok,
		})
		if err != nil {
			return "", err
		}
		if ad, err = ctap.ParseAuthData(res.AuthData); err != nil {
			return "", err
		}
		return fmt.Sprintf("resident credential for %s, %s attestation", entraRPID, res.Format), nil
	}); err != nil {
		return rk, err
	}
	rk.CredentialID = base64.RawURLEncoding.EncodeToString(ad.CredentialID)
	rk.PublicKeyCOSE = base64.RawURLEncoding.EncodeToString(ad.CredentialKey)
	if err := log.do(fmt.Sprintf("check attestation key %d", slot), nil, func() (string, error) {
		in, err := attest.InputFromMakeCredential(res, clientData, info.FirmwareVersion)
		if err != nil {
			return "", err
		}
		v, err := verifier.Verify(in, attest.Expect{RPID: entraRPID, Origin: entraOrigin, Challenge: challenge})
		if err != nil {
			return "", err
		}
		rk.Attestation, rk.Model = v, v.Model
		if !v.Allowed {
			return "", fmt.Errorf("attestation refused: %+v", v.Reasons)
		}
		return fmt.Sprintf("allowed (%s), chains to %s", v.Model, v.Root.Subject), nil
	}); err != nil {
		return rk, err
	}
	if err := log.do(fmt.Sprintf("test assertion key %d", slot), nil, func() (string, error) {
		data := sha256.Sum256([]byte("keyceremony rehearsal test assertion"))
		as, err := client.GetAssertion(ctx, ctap.GetAssertionOptions{
			RPID: entraRPID, ClientDataHash: data[:], Token: tok,
			AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}},
		})
		if err != nil {
			return "", err
		}
		if err := ctap.VerifySignature(ad.CredentialKey, as[0].AuthData, data[:], as[0].Signature); err != nil {
			return "", err
		}
		aad, _ := ctap.ParseAuthData(as[0].AuthData)
		rk.AssertionCount = aad.SignCount
		return fmt.Sprintf("signature verified with the new public key (counter %d)", aad.SignCount), nil
	}); err != nil {
		return rk, err
	}
	ck, err := ctap.ParseCOSEKey(ad.CredentialKey)
	if err != nil {
		return rk, err
	}
	pub, err := ck.PublicKey()
	if err != nil {
		return rk, err
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return rk, err
	}
	rk.PublicKeyPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	if rk.PINRetries, _, err = client.PINRetries(ctx); err != nil {
		return rk, err
	}
	if info, err = client.Info(ctx); err != nil {
		return rk, err
	}
	rk.MinPINLength, rk.ForcePINChange = info.MinPINLength, info.ForcePINChange
	return rk, nil
}

// splitKnowledgePIN stands in for the two officers in the rehearsal: each
// "types" a random half; the key receives the concatenation. The halves are
// zeroed here, the joined PIN by the caller.
func splitKnowledgePIN() ([]byte, error) {
	halves := [2][]byte{make([]byte, 4), make([]byte, 4)}
	for _, h := range halves {
		if _, err := rand.Read(h); err != nil {
			return nil, err
		}
		for i := range h {
			h[i] = '0' + h[i]%10
		}
	}
	pin := append(append([]byte(nil), halves[0]...), halves[1]...)
	ctap.Zero(halves[0])
	ctap.Zero(halves[1])
	return pin, nil
}
