package enroll_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/enroll"
	"github.com/keyceremony/keyceremony/internal/sim/simkey"
)

// The excludeCredentials ids of Graph's own examples
// (microsoftgraph/microsoft-graph-docs-contrib,
// api-reference/beta/api/fido2authenticationmethod-creationoptions.md,
// commit fe9ec3745151f442d248d35ad0b2f663ecae6e64; the first is also the
// v1.0 page's, api-reference/v1.0/api/fido2authenticationmethod-creationoptions.md
// in its earlier version): the standard alphabet, with '/' and '+'.
var docsExcludeIDs = []string{
	"0S64X8KwFmCeJjHzK1oE/39T+JYhfYbhFurwOxMMjtvRWc/sLYq8AMJVuva823XQ",
	"pgIfj2fnom8rJdb4/h1gKqDkq+gxHFksI+m2aR5T+PNNycBfENAM4ksEBvoXky6d",
	"u5wuw6SGH0VhAz7OXCLRkCuxhm4UrCB7hcLccyMU6calP1hWexfKe5PJNM69neAM",
	"6rc0zTSz2YRlaKlCjqxsNDjDe8qY8TSL95Z4WhxEaaP4XfvfSnAGMk49RSwm/uAO",
}

// forms writes raw in every form the references document: the beta
// example's standard alphabet (padded), plain Base64URL (v1.0: "Base64URL-
// encoded without padding"), padded Base64URL, and the beta note's
// "Base64URL with a padding number suffix" (the '=' count as 0, 1 or 2).
func forms(raw []byte) map[string]string {
	padded := base64.URLEncoding.EncodeToString(raw)
	body := strings.TrimRight(padded, "=")
	return map[string]string{
		"standard":   base64.StdEncoding.EncodeToString(raw),
		"base64url":  base64.RawURLEncoding.EncodeToString(raw),
		"padded url": padded,
		"suffixed":   body + string(rune('0'+len(padded)-len(body))),
	}
}

// Every documented form of each example id decodes to the example's bytes
// (the padding lengths 0, 1 and 2 from the example cut to 48, 47 and 46
// bytes); a form that reads two ways (plain and suffixed) gives both, the
// right one among them, so that the key holding it is still excluded.
func TestExcludeCredentialIDsInEveryDocumentedForm(t *testing.T) {
	for _, id := range docsExcludeIDs {
		full, err := base64.StdEncoding.DecodeString(id)
		if err != nil || len(full) != 48 {
			t.Fatalf("the reference's example %q: %v", id, err)
		}
		got, err := enroll.CredentialIDs(id)
		if err != nil || len(got) != 1 || !bytes.Equal(got[0], full) {
			t.Fatalf("the reference's example as it is: %x %v", got, err)
		}
		for _, raw := range [][]byte{full, full[:47], full[:46]} {
			for name, form := range forms(raw) {
				got, err := enroll.CredentialIDs(form)
				if err != nil {
					t.Fatalf("%s %q: %v", name, form, err)
				}
				found := false
				for _, g := range got {
					found = found || bytes.Equal(g, raw)
				}
				if !found {
					t.Errorf("%s %q (%d bytes) decoded to %x", name, form, len(raw), got)
				}
				// Only a 4k-character id ending in 1 or 2 reads two ways.
				last := form[len(form)-1]
				if len(got) > 1 && !(len(form)%4 == 0 && (last == '1' || last == '2')) {
					t.Errorf("%s %q read %d ways", name, form, len(got))
				}
			}
		}
	}
	for _, bad := range []string{"", "!!!!", "a", "Zm9v~"} {
		if _, err := enroll.CredentialIDs(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

// FuzzCredentialIDs: any id gives an error or byte strings, each of which
// encodes back to the id in one of the documented forms.
func FuzzCredentialIDs(f *testing.F) {
	for _, id := range docsExcludeIDs {
		for _, form := range forms([]byte(id)[:40]) {
			f.Add(form)
		}
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		got, err := enroll.CredentialIDs(id)
		if err != nil {
			return
		}
		for _, raw := range got {
			ok := false
			for _, form := range forms(raw) {
				ok = ok || form == id || strings.TrimRight(form, "=") == strings.TrimRight(id, "=")
			}
			if !ok {
				t.Fatalf("%q decoded to %x, which no documented form writes as %q", id, raw, id)
			}
		}
	})
}

// The rotation case: the account already has keys. Whatever form the API
// version sends them in (the emulator sends each version's documented
// forms), the key already registered is on the exclude list and refuses a
// second credential, and excludeCredentials is [] (never null) before.
func TestExcludeListHoldsTheAccountsKeysOnBothVersions(t *testing.T) {
	e := newEnv(t)
	c := ctx(t)
	first, err := e.client.CreationOptions(c, e.userID, 0)
	if err != nil {
		t.Fatal(err)
	}
	if first.PublicKey.ExcludeCredentials == nil {
		t.Fatal("excludeCredentials came as null, not []")
	}
	// Three keys registered, so that the beta answer carries both forms.
	var keys []ctap.Authenticator
	var ids [][]byte
	for i := 0; i < 3; i++ {
		opts, err := e.client.CreationOptions(c, e.userID, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, kc := newKey(t, simkey.Config{})
		cred := makeCredential(t, kc, opts)
		if _, err := e.client.Register(c, e.userID, "BG1 key "+string(rune('1'+i))+" 2026", cred); err != nil {
			t.Fatal(err)
		}
		keys, ids = append(keys, kc), append(ids, cred.ID)
	}
	for _, timeout := range []int{0, 600} {
		opts, err := e.client.CreationOptions(c, e.userID, timeout)
		if err != nil {
			t.Fatal(err)
		}
		mc, err := opts.MakeCredential(opts.ClientDataJSON(), nil)
		if err != nil {
			t.Fatalf("timeout %d: %v", timeout, err)
		}
		for i, id := range ids {
			listed := false
			for _, x := range mc.ExcludeList {
				listed = listed || bytes.Equal(x.ID, id)
			}
			if !listed {
				t.Errorf("timeout %d: key %d (%x) is not excluded; sent %+v", timeout, i+1, id, opts.PublicKey.ExcludeCredentials)
			}
		}
		// And the key itself says so.
		tok, err := keys[1].GetPINToken(context.Background(), []byte(testPIN), ctap.TokenRequest{Permissions: ctap.PermMakeCredential, RPID: enroll.RPID})
		if err != nil {
			t.Fatal(err)
		}
		mc, _ = opts.MakeCredential(opts.ClientDataJSON(), tok)
		if _, err := keys[1].MakeCredential(context.Background(), mc); err == nil {
			t.Errorf("timeout %d: a registered key made a second credential", timeout)
		}
		tok.Zero()
	}
	// The beta answer really carried the beta forms (else this test
	// proves nothing about them).
	raw := e.rawGet(t, "/beta/users/"+e.userID+"/authentication/fido2Methods/creationOptions(challengeTimeoutInMinutes=600)")
	var body struct {
		PublicKey struct {
			Timeout            json.Number
			ExcludeCredentials []struct{ ID string }
		}
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	plain := 0
	for _, x := range body.PublicKey.ExcludeCredentials {
		if !strings.ContainsAny(x.ID, "+/=") && !strings.ContainsAny(x.ID[len(x.ID)-1:], "012") {
			plain++
		}
	}
	if len(body.PublicKey.ExcludeCredentials) != 3 || plain == 3 {
		t.Fatalf("the beta answer's ids: %+v", body.PublicKey.ExcludeCredentials)
	}
	if n, err := body.PublicKey.Timeout.Int64(); err != nil || n < -1<<31 || n > 1<<31-1 {
		t.Fatalf("publicKey.timeout %s is not an Edm.Int32", body.PublicKey.Timeout)
	}
}

// publicKey.timeout is an Edm.Int32: a value past its range (what the
// emulator sent at 43,200 minutes, 2,592,000,000) is read as no timeout,
// not refused after the key was reset; a non-number is refused.
func TestTimeoutIsAnInt32(t *testing.T) {
	base := `{"challengeTimeoutDateTime":"2099-01-01T00:00:00Z","publicKey":{"challenge":"Y2hhbGxlbmdl","timeout":%s,` +
		`"rp":{"id":"login.microsoft.com"},"user":{"id":"dXNlcg","name":"u"}}}`
	for in, want := range map[string]int64{"60000": 60000, "0": 0, "2592000000": 0, "null": 0, "2147483647": 2147483647} {
		var o enroll.CreationOptions
		if err := json.Unmarshal([]byte(strings.Replace(base, "%s", in, 1)), &o); err != nil {
			t.Fatalf("timeout %s: %v", in, err)
		}
		if int64(o.PublicKey.Timeout) != want {
			t.Errorf("timeout %s read as %d", in, o.PublicKey.Timeout)
		}
	}
	var o enroll.CreationOptions
	if err := json.Unmarshal([]byte(strings.Replace(base, "%s", `"soon"`, 1)), &o); err == nil {
		t.Fatal("a string timeout was accepted")
	}
}

// rawGet reads a Graph path from the emulator as the client's app would,
// returning the body of a 200.
func (e *env) rawGet(t *testing.T, path string) []byte {
	t.Helper()
	tok, err := e.cred.GetToken(context.Background(), tokenRequest())
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", e.emu.URL()+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err := e.emu.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, buf.String())
	}
	return buf.Bytes()
}

// tokenRequest asks for a Graph token, as the client does.
func tokenRequest() policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{"https://graph.microsoft.com/.default"}}
}
