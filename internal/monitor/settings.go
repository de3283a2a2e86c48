package monitor

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/config"
)

// SettingsEndpoints are where the config's monitoring block sends requests: Azure's public cloud, or
// the emulator they name.
func SettingsEndpoints(s *config.Monitoring) (Endpoints, error) {
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

// SetupOf is the set-up of the config's monitoring block for the accounts.
func SetupOf(s *config.Monitoring, accounts []Account) SetupConfig {
	return SetupConfig{Config: Config{ResourceGroup: s.ResourceGroup, Workspace: s.Workspace, Accounts: accounts},
		Location: s.Location, Receivers: s.Receivers, ActionGroup: s.ActionGroup, Rule: s.Rule,
		DiagnosticSetting: s.DiagnosticSetting}
}
