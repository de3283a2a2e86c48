package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/keyceremony/keyceremony/attest"
	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
	"github.com/keyceremony/keyceremony/simkey"
)

// Entra ID registration facts (Yubico's provisioning scripts, Microsoft docs).
const (
	entraRPID   = "login.microsoft.com"
	entraOrigin = "https://login.microsoft.com"
)

// rehearsedKey is what the rehearsal records of one key (no secrets).
type rehearsedKey struct {
	Slot             int             `json:"slot"`
	AAGUID           string          `json:"aaguid"`
	Firmware         string          `json:"firmware"`
	CredentialID     string          `json:"credential_id"`
	PublicKeySHA256  string          `json:"public_key_sha256"`
	Attestation      *attest.Verdict `json:"attestation"`
	AssertionCounter uint32          `json:"assertion_counter"`
	PINRetries       int             `json:"pin_retries"`
}

// cmdRehearse runs the device half of the ceremony on two virtual keys
// served over real CTAPHID: identify, reset, split-knowledge PIN, resident
// credential for Entra's RP ID with packed attestation, test assertion.
// Graph enrollment, the attestation policy and the signed report join it as
// those packages land.
func cmdRehearse(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rehearse", flag.ContinueOnError)
	outDir := fs.String("out", "", "write rehearsal.json (no secrets) into this directory")
	fs.Bool("yes", true, "run headless with scripted answers (the only mode until the TUI lands)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	fmt.Fprintln(out, "REHEARSAL — virtual keys (simkey), test attestation root; nothing here touches a real key or tenant.")
	// The embedded policy, with the simkey TEST root trusted: rehearsal only.
	verifier, err := loadVerifier("", "", true)
	if err != nil {
		return err
	}
	var results []rehearsedKey
	for slot := 1; slot <= 2; slot++ {
		r, err := rehearseKey(ctx, out, slot, verifier)
		if err != nil {
			return fmt.Errorf("key %d: %w", slot, err)
		}
		results = append(results, r)
	}
	if *outDir != "" {
		if err := os.MkdirAll(*outDir, 0o700); err != nil {
			return err
		}
		b, err := json.MarshalIndent(struct {
			Kind string         `json:"kind"`
			Keys []rehearsedKey `json:"keys"`
		}{"keyceremony rehearsal (device steps)", results}, "", "  ")
		if err != nil {
			return err
		}
		p := filepath.Join(*outDir, "rehearsal.json")
		if err := os.WriteFile(p, append(b, '\n'), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(out, "Wrote %s\n", p)
	}
	fmt.Fprintln(out, "Rehearsal complete: both keys reset, PIN set from two halves, credential created, attested and tested.")
	return nil
}

func rehearseKey(ctx context.Context, out io.Writer, slot int, verifier *attest.Verifier) (rehearsedKey, error) {
	step := func(format string, a ...any) { fmt.Fprintf(out, "  [key %d] %s\n", slot, fmt.Sprintf(format, a...)) }
	key, err := simkey.New(simkey.Config{TouchDelay: 20 * time.Millisecond})
	if err != nil {
		return rehearsedKey{}, err
	}
	touchPrompt := func(k ctap.Keepalive) {}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	client, dev, err := key.Open(ctx, hid.Options{}, ctap.Options{OnKeepalive: touchPrompt})
	if err != nil {
		return rehearsedKey{}, err
	}
	defer dev.Close()

	info, err := client.Info(ctx)
	if err != nil {
		return rehearsedKey{}, err
	}
	step("inserted: AAGUID %s, firmware %s, versions %v", info.AAGUID, firmwareString(info.FirmwareVersion), info.Versions)

	if err := client.Reset(ctx); err != nil {
		return rehearsedKey{}, fmt.Errorf("reset: %w", err)
	}
	step("reset within the power-up window (touch confirmed)")

	pin, err := splitKnowledgePIN()
	if err != nil {
		return rehearsedKey{}, err
	}
	defer ctap.Zero(pin)
	if err := client.SetPIN(ctx, pin); err != nil {
		return rehearsedKey{}, err
	}
	step("PIN set from officer A's and officer B's halves (never shown together)")

	tok, err := client.GetPINToken(ctx, pin, ctap.TokenRequest{Permissions: ctap.PermMakeCredential | ctap.PermGetAssertion, RPID: entraRPID})
	if err != nil {
		return rehearsedKey{}, err
	}
	defer tok.Zero()
	challenge := make([]byte, 32)
	if _, err := rand.Read(challenge); err != nil {
		return rehearsedKey{}, err
	}
	clientData, _ := json.Marshal(map[string]any{
		"type": "webauthn.create", "challenge": base64.RawURLEncoding.EncodeToString(challenge), "origin": entraOrigin, "crossOrigin": false,
	})
	cdh := sha256.Sum256(clientData)
	userID := make([]byte, 16)
	rand.Read(userID)
	res, err := client.MakeCredential(ctx, ctap.MakeCredentialOptions{
		ClientDataHash: cdh[:], RP: ctap.RelyingParty{ID: entraRPID, Name: "Microsoft"},
		User:        ctap.User{ID: userID, Name: "breakglass@contoso.onmicrosoft.com", DisplayName: "Break Glass"},
		ResidentKey: true, CredProtect: ctap.CredProtectUVOptional, HMACSecret: true, Token: tok,
	})
	if err != nil {
		return rehearsedKey{}, fmt.Errorf("create credential: %w", err)
	}
	ad, err := ctap.ParseAuthData(res.AuthData)
	if err != nil {
		return rehearsedKey{}, err
	}
	in, err := attest.InputFromMakeCredential(res, clientData, info.FirmwareVersion)
	if err != nil {
		return rehearsedKey{}, err
	}
	verdict, err := verifier.Verify(in, attest.Expect{RPID: entraRPID, Origin: entraOrigin, Challenge: challenge})
	if err != nil {
		return rehearsedKey{}, fmt.Errorf("attestation: %w", err)
	}
	if !verdict.Allowed {
		return rehearsedKey{}, fmt.Errorf("attestation refused: %+v", verdict.Reasons)
	}
	step("credential created for %s: %s attestation allowed (%s), chains to %q", entraRPID, res.Format, verdict.Model, verdict.Root.Subject)

	assertData := sha256.Sum256([]byte("keyceremony rehearsal test assertion"))
	as, err := client.GetAssertion(ctx, ctap.GetAssertionOptions{
		RPID: entraRPID, ClientDataHash: assertData[:], Token: tok,
		AllowList: []ctap.CredentialDescriptor{{Type: "public-key", ID: ad.CredentialID}},
	})
	if err != nil {
		return rehearsedKey{}, fmt.Errorf("test assertion: %w", err)
	}
	if err := ctap.VerifySignature(ad.CredentialKey, as[0].AuthData, assertData[:], as[0].Signature); err != nil {
		return rehearsedKey{}, fmt.Errorf("test assertion: %w", err)
	}
	aad, _ := ctap.ParseAuthData(as[0].AuthData)
	retries, _, err := client.PINRetries(ctx)
	if err != nil {
		return rehearsedKey{}, err
	}
	step("test assertion verified against the new public key (counter %d); PIN retries %d", aad.SignCount, retries)
	pkSum := sha256.Sum256(ad.CredentialKey)
	return rehearsedKey{
		Slot: slot, AAGUID: info.AAGUID.String(), Firmware: firmwareString(info.FirmwareVersion),
		CredentialID: base64.RawURLEncoding.EncodeToString(ad.CredentialID), PublicKeySHA256: hex.EncodeToString(pkSum[:]),
		Attestation: verdict, AssertionCounter: aad.SignCount, PINRetries: retries,
	}, nil
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
