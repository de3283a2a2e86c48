package monitor

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
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
	ARM               string     `json:"arm,omitempty"`                // emulator only: ARM (and query API at ARM/v1)
	CA                string     `json:"ca,omitempty"`                 // emulator only: trust this CA (PEM) for them
}

// Endpoints are where the settings send requests: Azure's public cloud, or
// the emulator they name.
func (s *Settings) Endpoints() (Endpoints, error) {
	if s.ARM == "" {
		return Endpoints{}, nil
	}
	ep := Endpoints{ARM: s.ARM, Logs: strings.TrimRight(s.ARM, "/") + "/v1"}
	if s.CA != "" {
		pemData, err := os.ReadFile(s.CA)
		if err != nil {
			return ep, fmt.Errorf("monitoring.ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemData) {
			return ep, fmt.Errorf("monitoring.ca: %s holds no certificate", s.CA)
		}
		ep.HTTPClient = &http.Client{Timeout: 60 * time.Second,
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	}
	return ep, nil
}

// Validate names the first key that is missing or malformed.
func (s *Settings) Validate() error {
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

// SetupConfig is the set-up of these settings for the accounts.
func (s *Settings) SetupConfig(accounts []Account) SetupConfig {
	return SetupConfig{Config: Config{ResourceGroup: s.ResourceGroup, Workspace: s.Workspace, Accounts: accounts},
		Location: s.Location, Receivers: s.Receivers, ActionGroup: s.ActionGroup, Rule: s.Rule,
		DiagnosticSetting: s.DiagnosticSetting}
}
