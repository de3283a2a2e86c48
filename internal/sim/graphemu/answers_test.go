package graphemu

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// answersEmu is a started emulator and a way to call it with a token.
func answersEmu(t *testing.T) (*Emulator, func(method, path, tok string, body []byte) (int, map[string]any)) {
	t.Helper()
	e, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, func(method, path, tok string, body []byte) (int, map[string]any) {
		req, _ := http.NewRequest(method, e.URL()+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.HTTPClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var m map[string]any
		json.Unmarshal(b, &m)
		return resp.StatusCode, m
	}
}

// Every successful answer carries @odata.context, the FIDO2 method policy
// included (its reference answer: microsoftgraph/microsoft-graph-docs-contrib,
// api-reference/beta/api/fido2authenticationmethodconfiguration-get.md,
// commit a0c0a49327ae9edeb9dce1ea7a056a70a23fc569:
// "$metadata#authenticationMethodConfigurations/$entity").
func TestEveryAnswerSaysItsContext(t *testing.T) {
	e, do := answersEmu(t)
	uid := DefaultState().Users[0].ID
	tok, _ := e.IssueToken(TokenClaims{Roles: []string{"User.Read.All", "GroupMember.Read.All", "RoleManagement.Read.Directory",
		"Policy.Read.All", "AuditLog.Read.All", "UserAuthenticationMethod.ReadWrite.All"}})
	for path, want := range map[string]string{
		"/v1.0/users/" + uid:                                                                  "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
		"/v1.0/users/" + uid + "/transitiveMemberOf":                                          "https://graph.microsoft.com/v1.0/$metadata#directoryObjects",
		"/v1.0/users/" + uid + "/authentication/methods":                                      "https://graph.microsoft.com/v1.0/$metadata#users('" + uid + "')/authentication/methods",
		"/v1.0/roleManagement/directory/roleAssignments":                                      "https://graph.microsoft.com/v1.0/$metadata#roleManagement/directory/roleAssignments",
		"/v1.0/identity/conditionalAccess/policies":                                           "https://graph.microsoft.com/v1.0/$metadata#identity/conditionalAccess/policies",
		"/beta/policies/authenticationMethodsPolicy/authenticationMethodConfigurations/fido2": "https://graph.microsoft.com/beta/$metadata#authenticationMethodConfigurations/$entity",
		"/v1.0/auditLogs/signIns":                                                             "https://graph.microsoft.com/v1.0/$metadata#auditLogs/signIns",
		"/v1.0/auditLogs/directoryAudits":                                                     "https://graph.microsoft.com/v1.0/$metadata#auditLogs/directoryAudits",
	} {
		code, body := do("GET", path, tok, nil)
		if code != 200 || body["@odata.context"] != want {
			t.Errorf("GET %s: %d, @odata.context %v, want %s", path, code, body["@odata.context"], want)
		}
	}
	// An error carries none.
	if code, body := do("GET", "/v1.0/users/nobody", tok, nil); code != 404 || body["@odata.context"] != nil {
		t.Errorf("an error: %d %v", code, body)
	}
}

// Values as typed: publicKey.timeout an Edm.Int32 even at 43,200 minutes
// (it was 2,592,000,000), excludeCredentials [] and not null, sign-ins
// newest first, a display name over 30 characters refused (DSInternals.Passkeys
// ValidateLength(1, 30), MichaelGrafnetter/webauthn-interop
// Src/DSInternals.Passkeys/DSInternals.Passkeys.psm1 commit
// 88aa4958b4dae70c951a87e80b1d18b486d83e50; powershellYK ValidateLength(3,30),
// virot/powershellYK Docs/Cookbook/Enroll-FIDO2-On-Behalf-Of-Entra-ID.ps1
// commit 1de7b3211b0fb5922d72426fd42c9b7dd8983f99, and its issue #135).
func TestValuesAsTyped(t *testing.T) {
	e, do := answersEmu(t)
	uid := DefaultState().Users[0].ID
	tok, _ := e.IssueToken(TokenClaims{Roles: []string{"UserAuthenticationMethod.ReadWrite.All", "AuditLog.Read.All"}})
	for _, path := range []string{"/v1.0/users/" + uid + "/authentication/fido2Methods/creationOptions",
		"/beta/users/" + uid + "/authentication/fido2Methods/creationOptions(challengeTimeoutInMinutes=43200)"} {
		code, body := do("GET", path, tok, nil)
		pk, _ := body["publicKey"].(map[string]any)
		timeout, isNum := pk["timeout"].(float64)
		list, isList := pk["excludeCredentials"].([]any)
		if code != 200 || !isNum || timeout < -1<<31 || timeout > 1<<31-1 || !isList || len(list) != 0 {
			t.Errorf("GET %s: %d timeout %v excludeCredentials %#v", path, code, pk["timeout"], pk["excludeCredentials"])
		}
	}
	for name, want := range map[string]int{strings.Repeat("k", 31): 400, "BG1 key 1 2026 🔑🔑🔑🔑🔑🔑🔑🔑": 400, strings.Repeat("k", 30): 0} {
		body, _ := json.Marshal(map[string]any{"displayName": name, "publicKeyCredential": map[string]any{"id": "AA",
			"response": map[string]any{"clientDataJSON": "e30", "attestationObject": "oA"}}})
		code, resp := do("POST", "/v1.0/users/"+uid+"/authentication/fido2Methods", tok, body)
		msg, _ := resp["error"].(map[string]any)["message"].(string)
		tooLong := strings.Contains(msg, "at most 30")
		if (want == 400) != tooLong || code != 400 {
			t.Errorf("displayName %q (%d UTF-16 units): %d %q", name, len([]rune(name)), code, msg)
		}
	}
	now := time.Now()
	e.Update(func(st *State) {
		for i, d := range []int{5, 1, 9, 3} {
			st.SignIns = append(st.SignIns, SignIn{ID: string(rune('a' + i)), CreatedDateTime: now.Add(-time.Duration(d) * time.Hour), UserID: uid})
		}
	})
	_, body := do("GET", "/v1.0/auditLogs/signIns", tok, nil)
	var got []string
	for _, s := range body["value"].([]any) {
		got = append(got, s.(map[string]any)["id"].(string))
	}
	if strings.Join(got, "") != "bdac" {
		t.Fatalf("sign-ins in order %v, want newest first (b d a c)", got)
	}
}

// /me is the signed-in user, for delegated tokens only; on v1.0 a user
// asks creation options for themselves (the v1.0 reference lists
// GET /me/authentication/fido2Methods/creationOptions: api-reference/v1.0/api/
// fido2authenticationmethod-creationoptions.md, commit
// f2f89dc855fdb160396d2a48178285e663006a52); beta still refuses self-service.
func TestMeRoutes(t *testing.T) {
	e, do := answersEmu(t)
	u := DefaultState().Users[0]
	app, _ := e.IssueToken(TokenClaims{Roles: []string{"UserAuthenticationMethod.ReadWrite.All"}})
	if code, body := do("GET", "/v1.0/me/authentication/fido2Methods", app, nil); code != 400 ||
		!strings.Contains(body["error"].(map[string]any)["message"].(string), "delegated") {
		t.Fatalf("/me with an app token: %d %v", code, body)
	}
	me, _ := e.IssueToken(TokenClaims{Scp: "UserAuthenticationMethod.ReadWrite.All", OID: u.ID, UPN: u.UserPrincipalName})
	code, body := do("GET", "/v1.0/me/authentication/fido2Methods", me, nil)
	if code != 200 || body["@odata.context"] != "https://graph.microsoft.com/v1.0/$metadata#users('"+u.ID+"')/authentication/fido2Methods" {
		t.Fatalf("/me list: %d %v", code, body)
	}
	if code, body := do("GET", "/v1.0/me/authentication/fido2Methods/creationOptions", me, nil); code != 200 || body["publicKey"] == nil {
		t.Fatalf("v1.0 /me creationOptions: %d %v", code, body)
	}
	if code, _ := do("GET", "/beta/me/authentication/fido2Methods/creationOptions", me, nil); code != 403 {
		t.Fatalf("beta /me creationOptions: %d, want 403 (self-service is not supported on beta)", code)
	}
}
