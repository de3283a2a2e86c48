package monitor

import (
	"errors"
	"fmt"
	"strings"
)

// Settings is the config file's "monitoring" block: where the alerting on
// the break-glass accounts lives, and for `monitor setup` whom it notifies.
type Settings struct {
	Subscription      string     `json:"subscription"`
	ResourceGroup     string     `json:"resource_group"`
	Workspace         string     `json:"workspace"`                    // the Log Analytics workspace's name
	Location          string     `json:"location,omitempty"`           // the workspace's region (setup)
	Receivers         []Receiver `json:"receivers,omitempty"`          // e-mailed on every sign-in (setup)
	ActionGroup       string     `json:"action_group,omitempty"`       // default breakglass-signin-alerts
	Rule              string     `json:"rule,omitempty"`               // default breakglass-signin
	DiagnosticSetting string     `json:"diagnostic_setting,omitempty"` // default keyceremony-breakglass
}

// Validate names the first key that is missing or malformed.
func (s *Settings) Validate() error {
	switch {
	case !isGUID(s.Subscription):
		return fmt.Errorf("monitoring.subscription %q is not a subscription ID (a GUID)", s.Subscription)
	case s.ResourceGroup == "" || strings.ContainsAny(s.ResourceGroup, "/?#"):
		return errors.New("monitoring.resource_group is required (the resource group of the workspace and the alert rule)")
	case s.Workspace == "" || strings.ContainsAny(s.Workspace, "/?#"):
		return errors.New("monitoring.workspace is required (the Log Analytics workspace's name)")
	}
	for _, n := range []string{s.ActionGroup, s.Rule, s.DiagnosticSetting} {
		if strings.ContainsAny(n, "/?#") {
			return fmt.Errorf("monitoring: %q is not a resource name", n)
		}
	}
	for _, r := range s.Receivers {
		if r.Name == "" || !strings.Contains(r.Email, "@") {
			return fmt.Errorf("monitoring.receivers: %q <%s> needs a name and an e-mail address", r.Name, r.Email)
		}
	}
	return nil
}

// SetupConfig is the set-up of these settings for the accounts.
func (s *Settings) SetupConfig(accounts []Account) SetupConfig {
	return SetupConfig{Config: Config{ResourceGroup: s.ResourceGroup, Workspace: s.Workspace, Accounts: accounts},
		Location: s.Location, Receivers: s.Receivers, ActionGroup: s.ActionGroup, Rule: s.Rule,
		DiagnosticSetting: s.DiagnosticSetting}
}
