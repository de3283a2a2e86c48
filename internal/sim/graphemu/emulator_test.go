package graphemu

import (
	"encoding/json"
	"io"
	"net/http"
	"testing"
)

func TestEmulatorBasics(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start("0.0.0.0:0"); err == nil {
		t.Fatal("the emulator listened beyond loopback")
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := e.HTTPClient()
	resp, err := c.Get(e.URL() + "/v1.0/users/" + DefaultState().Users[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Error struct {
			Code       string         `json:"code"`
			Message    string         `json:"message"`
			InnerError map[string]any `json:"innerError"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || json.Unmarshal(b, &body) != nil || body.Error.Code != "InvalidAuthenticationToken" || body.Error.InnerError["request-id"] == nil {
		t.Fatalf("unauthenticated request: %d %s", resp.StatusCode, b)
	}
	tok, _ := e.IssueToken(TokenClaims{Roles: []string{"User.Read.All"}})
	req, _ := http.NewRequest("GET", e.URL()+"/v1.0/users/nobody@contoso.onmicrosoft.com", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown user: %d", resp.StatusCode)
	}
	// Other clients do not trust the emulator's CA.
	if _, err := http.Get(e.URL() + "/v1.0/users/x"); err == nil {
		t.Fatal("the default client trusted the emulator's CA")
	}
}

// A delegated user writing their own methods through /users/{id} is
// refused: "Self-service operations aren't supported" (Graph reference,
// fido2AuthenticationMethod: creationOptions). Reading is not a write.
func TestSelfServiceWritesAreRefused(t *testing.T) {
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	u := DefaultState().Users[0]
	tok, _ := e.IssueToken(TokenClaims{Scp: "UserAuthenticationMethod.ReadWrite.All", OID: u.ID, UPN: u.UserPrincipalName,
		Wids: []string{RolePrivilegedAuthenticationAdministrator}})
	do := func(url string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", tok) // also without "Bearer "
		resp, err := e.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error.Code
	}
	if code, errCode := do(e.URL() + "/beta/users/" + u.ID + "/authentication/fido2Methods/creationOptions"); code != http.StatusForbidden || errCode != "accessDenied" {
		t.Fatalf("self-service creationOptions: %d %s", code, errCode)
	}
	if code, _ := do(e.URL() + "/v1.0/users/" + u.ID + "/authentication/fido2Methods"); code != http.StatusOK {
		t.Fatalf("reading one's own methods: %d", code)
	}
}
