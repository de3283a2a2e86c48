package graphemu_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/keyceremony/keyceremony/internal/sim/emulated"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
	"github.com/keyceremony/keyceremony/internal/testenv"
)

// A client that is not ours — the request shapes of Yubico's public
// bulk-registration scripts, in Python with python-fido2 driving a simkey —
// gets Entra's answers from the emulator: the client-secret grant, a raw
// token without "Bearer", the beta query form of creationOptions (range
// checked, refused on v1.0, a misspelt option refused), registration with
// the authenticator's own extension names (201, deviceBound, the version's
// @odata.context), a single-use challenge, list, 204 then 404 on delete,
// and 401 without a token.
func TestPublicRegistrationScriptAgainstTheEmulator(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import fido2, cryptography").Run(); err != nil {
		testenv.Missing(t, "python-fido2 (Debian python3-fido2) is not installed: "+err.Error())
	}
	dir := t.TempDir()
	ten, err := emulated.Start(emulated.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer ten.Close()
	ca := filepath.Join(dir, "ca.pem")
	secret := filepath.Join(dir, "secret")
	os.WriteFile(ca, ten.Emu.CAPEM(), 0o600)
	os.WriteFile(secret, []byte(ten.Secret), 0o600)
	key, err := simkey.New(simkey.Config{TouchDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sockDir, _ := os.MkdirTemp("", "kc") // socket paths have 108 bytes
	defer os.RemoveAll(sockDir)
	sock := filepath.Join(sockDir, "s")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go key.Listen(ctx, sock)
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
	}
	upn := ten.Emu.Snapshot().Users[0].UserPrincipalName
	out, err := exec.Command(py, "testdata/public_registration_client.py", ten.Emu.URL(), ca, ten.TenantID, emulated.AppID, secret, upn, sock).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("the public client failed: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var r struct {
		TokenStatus            int            `json:"token_status"`
		WrongSecretStatus      int            `json:"wrong_secret_status"`
		WrongSecretError       string         `json:"wrong_secret_error"`
		OptionsStatus          int            `json:"options_status"`
		OptionsContext         string         `json:"options_context"`
		ChallengeTimeout       string         `json:"challenge_timeout"`
		PublicKeyTimeout       int64          `json:"public_key_timeout"`
		OptionsTooShortStatus  int            `json:"options_too_short_status"`
		V1QueryStatus          int            `json:"v1_query_status"`
		MisspeltOptionStatus   int            `json:"misspelt_option_status"`
		ClientExtensionResults map[string]any `json:"client_extension_results"`
		RegisterStatus         int            `json:"register_status"`
		RegisterContext        string         `json:"register_context"`
		PasskeyType            string         `json:"passkey_type"`
		SecondRegisterStatus   int            `json:"second_register_status"`
		SecondRegisterCode     string         `json:"second_register_code"`
		ListStatus             int            `json:"list_status"`
		ListedIDs              []string       `json:"listed_ids"`
		MethodID               string         `json:"method_id"`
		DeleteStatus           int            `json:"delete_status"`
		SecondDeleteStatus     int            `json:"second_delete_status"`
		NoTokenStatus          int            `json:"no_token_status"`
		NoDisplayNameStatus    int            `json:"no_display_name_status"`
		NoDisplayNameContext   string         `json:"no_display_name_context"`
		DefaultDisplayName     string         `json:"default_display_name"`
	}
	if err := json.Unmarshal(out, &r); err != nil || r.RegisterStatus != 201 {
		t.Fatalf("%v: %s", err, out)
	}
	deadline, err := time.Parse(time.RFC3339, r.ChallengeTimeout)
	if err != nil {
		t.Fatalf("challengeTimeoutDateTime %q", r.ChallengeTimeout)
	}
	if d := time.Until(deadline); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("the query form's 60 minutes gave a challenge valid for %v", d)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"client-secret grant", r.TokenStatus, 200},
		{"wrong secret", r.WrongSecretStatus, 400},
		{"wrong secret error", r.WrongSecretError, "invalid_client"},
		{"beta creationOptions with ?challengeTimeoutInMinutes and a raw token", r.OptionsStatus, 200},
		{"creationOptions @odata.context names beta", r.OptionsContext, "https://graph.microsoft.com/beta/$metadata#microsoft.graph.webauthnCredentialCreationOptions"},
		// An Edm.Int32, the beta example's 0, not the challenge lifetime
		// (microsoftgraph/microsoft-graph-docs-contrib, api-reference/beta/api/
		// fido2authenticationmethod-creationoptions.md, commit fe9ec3745151f442d248d35ad0b2f663ecae6e64).
		{"publicKey.timeout is the beta reference's", r.PublicKeyTimeout, int64(0)},
		{"4 minutes is below the documented range", r.OptionsTooShortStatus, 400},
		{"v1.0 takes no custom timeout", r.V1QueryStatus, 400},
		{"a misspelt query option is not ignored", r.MisspeltOptionStatus, 400},
		{"POST with the authenticator's extension names", r.RegisterStatus, 201},
		{"created method's @odata.context", r.RegisterContext, "https://graph.microsoft.com/beta/$metadata#users('" + ten.Emu.Snapshot().Users[0].ID + "')/authentication/fido2Methods/$entity"},
		{"passkeyType", r.PasskeyType, "deviceBound"},
		{"the challenge is single-use", r.SecondRegisterStatus, 400},
		{"single-use error code", r.SecondRegisterCode, "invalidChallenge"},
		{"list", r.ListStatus, 200},
		{"delete", r.DeleteStatus, 204},
		{"second delete", r.SecondDeleteStatus, 404},
		{"no token", r.NoTokenStatus, 401},
		{"v1.0 POST without displayName", r.NoDisplayNameStatus, 201},
		{"v1.0 created method's @odata.context", r.NoDisplayNameContext, "https://graph.microsoft.com/v1.0/$metadata#users('" + ten.Emu.Snapshot().Users[0].ID + "')/authentication/fido2Methods/$entity"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	if r.DefaultDisplayName == "" {
		t.Error("a method registered without displayName got no name")
	}
	if !slices.Contains(r.ListedIDs, r.MethodID) {
		t.Errorf("the new method %s is not listed: %v", r.MethodID, r.ListedIDs)
	}
	if _, ok := r.ClientExtensionResults["hmac-secret"]; !ok {
		t.Errorf("the client sent %v, not the authenticator's own extension names", r.ClientExtensionResults)
	}
}
