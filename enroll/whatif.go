package enroll

// What Entra itself says of the account's Conditional Access (the What If
// evaluation) and the authentication strengths a policy names: the second
// opinion the posture audit holds its own evaluation against.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	khttp "github.com/microsoft/kiota-http-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// whatIfApp is the application the What If evaluation asks about: Azure
// management ("Windows Azure Service Management API"), which the Azure
// portal and the admin portals' Azure operations sign in to.
const whatIfApp = "797f4846-ba00-4fd7-ba43-dac1f8f63013"

// WhatIf asks Entra which Conditional Access policies apply to the account
// signing in to Azure management in a browser: beta POST
// /identity/conditionalAccess/evaluate (microsoft-graph-docs-contrib,
// api-reference/beta/api/conditionalaccessroot-evaluate.md, commit
// 10604e6c52b4e37aed019b402da377f07820bea9; Policy.Read.All), the What If
// evaluation Maester's MT.1034 uses. It returns every policy with Applies
// and AnalysisReasons as Entra judged them (Entra's evaluation, not the
// audit's: a second opinion).
func (c *Client) WhatIf(ctx context.Context, userID string) ([]CAPolicy, error) {
	u, err := url.Parse(c.root + "/beta/identity/conditionalAccess/evaluate")
	if err != nil {
		return nil, err
	}
	body, err := json.Marshal(map[string]any{
		"signInIdentity": map[string]any{"@odata.type": "#microsoft.graph.userSignIn", "userId": userID},
		"signInContext": map[string]any{
			"@odata.type":         "#microsoft.graph.applicationContext",
			"includeApplications": []string{whatIfApp},
		},
		"signInConditions":    map[string]any{"clientAppType": "browser"},
		"appliedPoliciesOnly": false,
	})
	if err != nil {
		return nil, err
	}
	var raw []byte
	err = c.retryRead(ctx, "Conditional Access What If", func() error {
		ri := abs.NewRequestInformation()
		ri.Method = abs.POST
		ri.SetUri(*u)
		ri.Headers.TryAdd("Accept", "application/json")
		ri.SetStreamContentAndContentType(body, "application/json")
		// retryRead retries with a fresh request. The SDK's retry handler
		// would rewind this request's body while net/http may still be
		// sending it (kiota-http-go v1.5.4 RetryHandler.retryRequest seeks
		// req.Body after an early 503 or 429: a data race the race detector
		// reports), so a request with a body opts out of it, as writes do.
		ri.AddRequestOptions([]abs.RequestOption{&khttp.RetryHandlerOptions{
			ShouldRetry: func(time.Duration, int, *http.Request, *http.Response) bool { return false },
		}})
		out, err := c.adapter.SendPrimitive(ctx, ri, "[]byte", errorMapping())
		if err != nil {
			return err
		}
		b, ok := out.([]byte)
		if !ok {
			return errors.New("Conditional Access What If: empty answer")
		}
		raw = b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return parseWhatIf(raw)
}

// parseWhatIf reads a whatIfAnalysisResult collection.
func parseWhatIf(raw []byte) ([]CAPolicy, error) {
	var j struct {
		Value []struct {
			ID              string `json:"id"`
			DisplayName     string `json:"displayName"`
			State           string `json:"state"`
			PolicyApplies   bool   `json:"policyApplies"`
			AnalysisReasons string `json:"analysisReasons"`
		} `json:"value"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("Conditional Access What If: %w", err)
	}
	var out []CAPolicy
	for _, v := range j.Value {
		out = append(
			out,
			CAPolicy{
				ID:              v.ID,
				Name:            v.DisplayName,
				State:           v.State,
				Applies:         v.PolicyApplies,
				AnalysisReasons: v.AnalysisReasons,
			},
		)
	}
	return out, nil
}

// enumNames renders Graph enum values (each with String()) as strings.
func enumNames[T fmt.Stringer](l []T) []string {
	var out []string
	for _, v := range l {
		out = append(out, v.String())
	}
	return out
}

// caConditions copies a policy's conditions and controls into cp.
func caConditions(p models.ConditionalAccessPolicyable, cp *CAPolicy) {
	if cond := p.GetConditions(); cond != nil {
		if a := cond.GetApplications(); a != nil {
			cp.IncludeApps, cp.ExcludeApps = a.GetIncludeApplications(), a.GetExcludeApplications()
			cp.UserActions = a.GetIncludeUserActions()
			cp.AuthContexts = a.GetIncludeAuthenticationContextClassReferences()
		}
		cp.ClientAppTypes = enumNames(cond.GetClientAppTypes())
		if pl := cond.GetPlatforms(); pl != nil {
			cp.IncludePlatforms, cp.ExcludePlatforms = enumNames(
				pl.GetIncludePlatforms(),
			), enumNames(
				pl.GetExcludePlatforms(),
			)
		}
		if l := cond.GetLocations(); l != nil {
			cp.IncludeLocations, cp.ExcludeLocations = l.GetIncludeLocations(), l.GetExcludeLocations()
		}
		cp.SignInRisk, cp.UserRisk = enumNames(cond.GetSignInRiskLevels()), enumNames(cond.GetUserRiskLevels())
		if f := cond.GetAuthenticationFlows(); f != nil && f.GetTransferMethods() != nil {
			cp.TransferMethods = strings.Split(f.GetTransferMethods().String(), ",")
		}
		if d := cond.GetDevices(); d != nil && d.GetDeviceFilter() != nil {
			f := d.GetDeviceFilter()
			mode := "include"
			if f.GetMode() != nil {
				mode = f.GetMode().String()
			}
			cp.DeviceFilter = mode + ": " + deref(f.GetRule())
		}
	}
	if g := p.GetGrantControls(); g != nil {
		cp.Grant, cp.GrantOperator, cp.TermsOfUse = enumNames(
			g.GetBuiltInControls(),
		), deref(
			g.GetOperator(),
		), g.GetTermsOfUse()
		cp.CustomControls = g.GetCustomAuthenticationFactors()
		if st := g.GetAuthenticationStrength(); st != nil {
			cp.StrengthID, cp.StrengthName = deref(st.GetId()), deref(st.GetDisplayName())
			cp.StrengthCombinations = enumNames(st.GetAllowedCombinations())
			cp.StrengthFIDO2AAGUIDs = fido2AAGUIDs(st.GetCombinationConfigurations())
		}
	}
	if sc := p.GetSessionControls(); sc != nil {
		if sc.GetSignInFrequency() != nil && deref(sc.GetSignInFrequency().GetIsEnabled()) {
			cp.Session = append(cp.Session, "sign-in frequency")
		}
		if sc.GetPersistentBrowser() != nil && deref(sc.GetPersistentBrowser().GetIsEnabled()) {
			cp.Session = append(cp.Session, "persistent browser")
		}
		if sc.GetCloudAppSecurity() != nil && deref(sc.GetCloudAppSecurity().GetIsEnabled()) {
			cp.Session = append(cp.Session, "Conditional Access App Control")
		}
		if sc.GetApplicationEnforcedRestrictions() != nil &&
			deref(sc.GetApplicationEnforcedRestrictions().GetIsEnabled()) {
			cp.Session = append(cp.Session, "app enforced restrictions")
		}
		if sc.GetSecureSignInSession() != nil && deref(sc.GetSecureSignInSession().GetIsEnabled()) {
			cp.Session = append(cp.Session, "token protection")
			cp.TokenProtection = true
		}
		if deref(sc.GetDisableResilienceDefaults()) {
			cp.Session = append(cp.Session, "resilience defaults disabled")
		}
	}
}

// fido2AAGUIDs gathers the AAGUIDs the FIDO2 combination configurations
// allow (lower case).
func fido2AAGUIDs(cfgs []models.AuthenticationCombinationConfigurationable) []string {
	var out []string
	for _, c := range cfgs {
		if f, ok := c.(models.Fido2CombinationConfigurationable); ok {
			for _, a := range f.GetAllowedAAGUIDs() {
				out = append(out, strings.ToLower(a))
			}
		}
	}
	return out
}

// strengthConfigs reads a custom authentication strength's combination
// configurations (Graph: GET /policies/authenticationStrengthPolicies/{id}/
// combinationConfigurations; Policy.Read.All) and returns the FIDO2
// AAGUIDs they allow. Built-in strengths have none.
func (c *Client) strengthConfigs(ctx context.Context, id string) ([]string, error) {
	u, err := url.Parse(
		c.root + "/v1.0/policies/authenticationStrengthPolicies/" + url.PathEscape(id) + "/combinationConfigurations",
	)
	if err != nil {
		return nil, err
	}
	raw, err := c.getJSON(ctx, "authentication strength "+id, u)
	if err != nil {
		return nil, err
	}
	return parseStrengthConfigs(raw)
}

// parseStrengthConfigs reads a combinationConfigurations collection.
func parseStrengthConfigs(raw []byte) ([]string, error) {
	var j struct {
		Value []struct {
			Type    string   `json:"@odata.type"`
			AAGUIDs []string `json:"allowedAAGUIDs"`
		} `json:"value"`
	}
	if err := json.Unmarshal(raw, &j); err != nil {
		return nil, fmt.Errorf("authentication strength combination configurations: %w", err)
	}
	var out []string
	for _, v := range j.Value {
		if v.Type == "#microsoft.graph.fido2CombinationConfiguration" {
			for _, a := range v.AAGUIDs {
				out = append(out, strings.ToLower(a))
			}
		}
	}
	return out, nil
}
