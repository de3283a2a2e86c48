package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// Monitoring is the config file's "monitoring" block: where the alerting on
// the break-glass accounts lives, and for `monitor setup` whom it notifies.
type Monitoring struct {
	Subscription      string     `json:"subscription"`
	ResourceGroup     string     `json:"resource_group"`
	Workspace         string     `json:"workspace"`                    // the Log Analytics workspace's name
	Location          string     `json:"location,omitempty"`           // the workspace's region (setup)
	Receivers         []Receiver `json:"receivers,omitempty"`          // e-mailed on every sign-in (setup)
	ActionGroup       string     `json:"action_group,omitempty"`       // default breakglass-signin-alerts
	Rule              string     `json:"rule,omitempty"`               // default breakglass-signin
	DiagnosticSetting string     `json:"diagnostic_setting,omitempty"` // default keyceremony-breakglass
	ARM               string     `json:"arm,omitempty"`                // emulator only: ARM (and query API at ARM/v1)
	CA                string     `json:"ca,omitempty"`                 // emulator only: trust this CA (PEM) for them
}

// Receiver is one person the monitoring's action group notifies by e-mail.
type Receiver struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

// validate names the first key of the block that is missing or malformed.
func (s *Monitoring) validate() error {
	switch {
	case !isGUID(s.Subscription):
		return fmt.Errorf("monitoring.subscription %q is not a subscription ID (a GUID)", s.Subscription)
	case s.ResourceGroup == "" || strings.ContainsAny(s.ResourceGroup, "/?#"):
		return errors.New(
			"monitoring.resource_group is required (the resource group of the workspace and the alert rule)",
		)
	case s.Workspace == "" || strings.ContainsAny(s.Workspace, "/?#"):
		return errors.New("monitoring.workspace is required (the Log Analytics workspace's name)")
	case s.ARM != "" && !strings.HasPrefix(s.ARM, "https://"):
		return fmt.Errorf("monitoring.arm %q must be an https URL", s.ARM)
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

// isGUID says whether s is a GUID in its 8-4-4-4-12 hexadecimal form
// (uuid.Validate takes other forms too, all of other lengths).
func isGUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }
