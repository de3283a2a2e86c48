package config

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tailscale/hujson"
)

//go:embed example.jsonc
var example []byte

// WriteExample writes a complete, commented config to path, which must not
// exist yet (a config is never overwritten); Load accepts it as it is once
// its placeholders are filled in.
func WriteExample(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write the example config: %w", err)
	}
	if _, err := f.Write(example); err != nil {
		f.Close()
		return fmt.Errorf("write the example config: %w", err)
	}
	return f.Close()
}

// File is the ceremony config file: JSON with comments and trailing
// commas (JWCC); an unknown key is an error, never ignored.
type File struct {
	TenantID string `json:"tenant_id"`
	Domain   string `json:"domain,omitempty"`
	Account  string `json:"account,omitempty"`
	// Accounts names several break-glass accounts provisioned in one
	// sitting, each with its own keys, report and previous report; instead
	// of account and previous_report.
	Accounts     []Account `json:"accounts,omitempty"`
	ClientID     string    `json:"client_id"`
	Auth         string    `json:"auth,omitempty"`               // device-code (default), browser, certificate
	Certificate  string    `json:"certificate,omitempty"`        // for auth certificate
	ClientSecret string    `json:"client_secret_file,omitempty"` // for auth secret: a file, never the secret itself
	// Cloud is the Microsoft cloud the tenant lives in: global (default),
	// usgov, usgovdod or china (cloud.go); or "custom", with Endpoints,
	// for the Graph emulator in rehearsals and tests, which config check,
	// the officers' first screen and the report name as a deviation.
	Cloud     string `json:"cloud,omitempty"`
	Endpoints *struct {
		Authority string `json:"authority"`    // sign-in authority host, e.g. https://127.0.0.1:8443/
		Graph     string `json:"graph"`        // Graph root, without version
		CA        string `json:"ca,omitempty"` // a PEM file: the only CA trusted for both
	} `json:"endpoints,omitempty"`
	// Authority, Graph and CA are where sign-in and Graph go, as Cloud
	// (and Endpoints) resolve them; CA is "" for the system's roots.
	Authority string `json:"-"`
	Graph     string `json:"-"`
	CA        string `json:"-"`
	// EndpointsText says where sign-in and Graph go, for the officers; and
	// EndpointsDeviation what config check, the officers' first screen and
	// the report say of endpoints that are no Microsoft cloud's ("" for a
	// Microsoft cloud). Both resolved at load.
	EndpointsText      string   `json:"-"`
	EndpointsDeviation string   `json:"-"`
	Policy             string   `json:"policy,omitempty"` // default: the embedded policy
	MDS                string   `json:"mds,omitempty"`
	OfficerA           string   `json:"officer_a"`
	OfficerB           string   `json:"officer_b"`
	Witness            string   `json:"witness,omitempty"`
	Keys               int      `json:"keys,omitempty"`
	Reset              *bool    `json:"reset,omitempty"` // default true
	Retire             bool     `json:"retire"`
	MinPINLength       int      `json:"min_pin_length,omitempty"`
	PINHalves          string   `json:"pin_halves,omitempty"`    // typed (default) or generated
	PrintCommand       []string `json:"print_command,omitempty"` // for generated halves; default ["lp"]
	// Read by `keyceremony history`: when the next rotation and health check are due.
	RotationInterval string   `json:"rotation_interval,omitempty"`
	HealthInterval   string   `json:"health_interval,omitempty"`
	OutDir           string   `json:"out_dir"`
	TPM              string   `json:"tpm,omitempty"`
	SoftwareKey      string   `json:"software_key,omitempty"`
	PreviousReport   string   `json:"previous_report,omitempty"`
	Devices          []string `json:"devices,omitempty"` // fixed addresses (e.g. simkey sockets); default: discover hidraw
	Backend          string   `json:"backend,omitempty"` // native (default) or libfido2 (in a -tags libfido2 build)

	// Monitoring: where the alert on the accounts' sign-ins lives (the
	// health check and preflight audit it; `monitor setup` creates it).
	Monitoring *Monitoring `json:"monitoring,omitempty"`
}

// Account is one account of a sitting.
type Account struct {
	Account        string `json:"account"`
	PreviousReport string `json:"previous_report,omitempty"`
}

// Load reads and checks the config at path: what is missing, contradictory
// or unknown is an error naming the key.
func Load(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parse(b, path)
}

// standardJSON turns a config file's JSON with comments and trailing
// commas (JWCC, github.com/tailscale/hujson) into plain JSON, so that the
// example `config init` writes explains itself; path names it in errors.
func standardJSON(b []byte, path string) ([]byte, error) {
	std, err := hujson.Standardize(b)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return std, nil
}

// parse checks a config file's bytes; path names it in errors.
func parse(b []byte, path string) (*File, error) {
	b, err := standardJSON(b, path)
	if err != nil {
		return nil, err
	}
	if err := legacyEndpoints(b); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var c File
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	switch {
	case c.TenantID == "" || c.ClientID == "" || (c.Account == "" && len(c.Accounts) == 0):
		return nil, fmt.Errorf("config %s: tenant_id, client_id and account (or accounts) are required", path)
	case c.Account != "" && len(c.Accounts) > 0, c.PreviousReport != "" && len(c.Accounts) > 0:
		return nil, fmt.Errorf(
			"config %s: give account and previous_report, or accounts (each with its previous_report), not both",
			path,
		)
	case duplicateAccount(c.Accounts) != "":
		return nil, fmt.Errorf(
			"config %s: accounts names %s twice, or empty: each account once",
			path,
			duplicateAccount(c.Accounts),
		)
	case c.OfficerA == "" || c.OfficerB == "" || c.OfficerA == c.OfficerB:
		return nil, fmt.Errorf("config %s: two different officers (officer_a, officer_b) are required", path)
	case c.OutDir == "":
		return nil, fmt.Errorf("config %s: out_dir is required", path)
	case c.PINHalves != "" && c.PINHalves != "typed" && c.PINHalves != "generated":
		return nil, fmt.Errorf(
			"config %s: pin_halves is %q: say \"typed\" (each officer types a half) "+
				"or \"generated\" (printed for sealed envelopes)",
			path,
			c.PINHalves,
		)
	}
	if c.Monitoring != nil {
		if err := c.Monitoring.validate(); err != nil {
			return nil, fmt.Errorf("config %s: %w", path, err)
		}
	}
	if len(c.PrintCommand) == 0 {
		c.PrintCommand = []string{"lp"}
	}
	if c.Keys == 0 {
		c.Keys = 2 // the default, resolved once
	}
	if err := c.resolveCloud(); err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return &c, nil
}

// custom is the cloud value of endpoints that are no Microsoft cloud's.
const custom = "custom"

// legacyEndpoints refuses the keys authority, graph and ca of earlier
// configs (b, as plain JSON), naming the exact keys that replace them.
func legacyEndpoints(b []byte) error {
	var old struct {
		Authority *string `json:"authority"`
		Graph     *string `json:"graph"`
		CA        *string `json:"ca"`
	}
	if json.Unmarshal(b, &old) == nil && (old.Authority != nil || old.Graph != nil || old.CA != nil) {
		deref := func(s *string) string {
			if s == nil {
				return ""
			}
			return *s
		}
		return fmt.Errorf(
			`"authority", "graph" and "ca" are replaced by "cloud": for Microsoft's global cloud delete them `+
				`(or say "cloud": "global"; "usgov", "usgovdod" or "china" for a national cloud); `+
				`for the Graph emulator write `+
				`"cloud": "custom", "endpoints": {"authority": %q, "graph": %q, "ca": %q}`,
			deref(old.Authority),
			deref(old.Graph),
			deref(old.CA),
		)
	}
	return nil
}

// resolveCloud sets Authority, Graph and CA from cloud (and endpoints),
// and the endpoints' text and deviation from them.
func (c *File) resolveCloud() error {
	if err := c.cloudEndpoints(); err != nil {
		return err
	}
	c.EndpointsText, c.EndpointsDeviation = c.endpointsText(), c.endpointsDeviation()
	return nil
}

// cloudEndpoints sets Authority, Graph and CA from cloud (and endpoints).
func (c *File) cloudEndpoints() error {
	if c.Cloud != custom {
		if c.Endpoints != nil {
			return fmt.Errorf(
				`"endpoints" is for "cloud": "custom" only (the Graph emulator); cloud %q has its own`,
				c.Cloud,
			)
		}
		var err error
		c.Authority, c.Graph, err = cloudByName(c.Cloud)
		return err
	}
	e := c.Endpoints
	if e == nil || !strings.HasPrefix(e.Authority, "https://") || !strings.HasPrefix(e.Graph, "https://") {
		return errors.New(`"cloud": "custom" needs "endpoints": ` +
			`{"authority": "https://…/", "graph": "https://…", "ca": "FILE"}`)
	}
	c.Authority, c.Graph, c.CA = e.Authority, e.Graph, e.CA
	return nil
}

// endpointsText says where sign-in and Graph go, for the officers.
func (c *File) endpointsText() string {
	text := fmt.Sprintf("sign-in %s, Graph %s", c.Authority, c.Graph)
	if c.CA != "" {
		text += ", trusting only the CA in " + c.CA
	}
	return text
}

// endpointsDeviation is what config check, the officers' first screen and
// the report say of endpoints that are no Microsoft cloud's ("" for a
// Microsoft cloud).
func (c *File) endpointsDeviation() string {
	if c.Cloud != custom {
		return ""
	}
	return "sign-in and Graph are NOT a Microsoft cloud's (cloud \"custom\": an emulator, for rehearsals and tests): " +
		c.endpointsText()
}

// duplicateAccount is an account accounts names twice (or empty), or "".
func duplicateAccount(accounts []Account) string {
	seen := map[string]bool{}
	for _, a := range accounts {
		switch {
		case a.Account == "":
			return `""`
		case seen[strings.ToLower(a.Account)]:
			return a.Account
		}
		seen[strings.ToLower(a.Account)] = true
	}
	return ""
}

// LoadIntervals reads only rotation_interval and health_interval from the
// config at path ("365d", "12w", "1y" or a Go duration such as "2160h"),
// as an auditor's history check needs them; an unset interval is zero.
func LoadIntervals(path string) (rotation, health time.Duration, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	if b, err = standardJSON(b, path); err != nil {
		return 0, 0, err
	}
	var c struct {
		Rotation string `json:"rotation_interval"`
		Health   string `json:"health_interval"`
	}
	if err := json.NewDecoder(bytes.NewReader(b)).Decode(&c); err != nil {
		return 0, 0, fmt.Errorf("config %s: %w", path, err)
	}
	for _, f := range []struct {
		name, v string
		to      *time.Duration
	}{{"rotation_interval", c.Rotation, &rotation}, {"health_interval", c.Health, &health}} {
		if f.v == "" {
			continue
		}
		d, err := parseInterval(f.v)
		if err != nil {
			return 0, 0, fmt.Errorf("config %s: %s: %w", path, f.name, err)
		}
		*f.to = d
	}
	return rotation, health, nil
}

// parseInterval reads "90d", "12w", "1y" (365 days) or a Go duration.
func parseInterval(s string) (time.Duration, error) {
	day := 24 * time.Hour
	for suffix, unit := range map[string]time.Duration{"d": day, "w": 7 * day, "y": 365 * day} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			if v, err := strconv.ParseInt(n, 10, 64); err == nil && v > 0 && v <= int64(math.MaxInt64/unit) {
				return time.Duration(v) * unit, nil
			}
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not an interval (say 90d, 12w, 1y or 2160h)", s)
	}
	return d, nil
}
