package fidokey

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/hid"
)

// probeTimeout bounds how long one device may take to answer a probe.
const probeTimeout = 10 * time.Second

// probeResult is what a survey learnt of one device address.
type probeResult struct {
	Address string          `json:"address"`
	HID     *hid.DeviceInfo `json:"hid,omitempty"`
	AAGUID  string          `json:"aaguid,omitempty"`
	// Firmware is in the vendor's form, labelled by its source
	// (ctap.Info.FirmwareText), or "not reported".
	Firmware       string   `json:"firmware,omitempty"`
	FirmwareSource string   `json:"firmware_source,omitempty"`
	Versions       []string `json:"versions,omitempty"`
	PINSet         *bool    `json:"pin_set,omitempty"`
	PINRetries     *int     `json:"pin_retries,omitempty"`
	// What the key says of its PIN and reset (CTAP 2.1/2.2 getInfo).
	MinPINLength        int      `json:"min_pin_length,omitempty"`
	MaxPINLength        int      `json:"max_pin_length,omitempty"`
	PINComplexityPolicy *bool    `json:"pin_complexity_policy,omitempty"`
	LongTouchForReset   bool     `json:"long_touch_for_reset,omitempty"`
	TransportsForReset  []string `json:"transports_for_reset,omitempty"`
	Error               string   `json:"error,omitempty"` // why the device could not be read
}

// Survey probes every FIDO device hidraw lists and the extra addresses
// (e.g. simkey sockets), in address order: each key's AAGUID, firmware,
// CTAP versions and PIN state, read without a PIN and without a touch. A
// device that cannot be read says why in its Error.
func Survey(ctx context.Context, extra []string) (Probes, error) {
	found, err := hid.Discover()
	if err != nil {
		return nil, err
	}
	probes := Probes{}
	for i := range found {
		probes = append(probes, probe(ctx, found[i].Address(), &found[i]))
	}
	for _, addr := range extra {
		probes = append(probes, probe(ctx, addr, nil))
	}
	sort.SliceStable(probes, func(i, j int) bool { return probes[i].Address < probes[j].Address })
	return probes, nil
}

// probe reads one device's getInfo and, when a PIN is set, its retries.
func probe(ctx context.Context, addr string, info *hid.DeviceInfo) probeResult {
	p := probeResult{Address: addr, HID: info}
	if info != nil && !info.Readable {
		p.Error = info.OpenError
		return p
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c, dev, err := openNative(ctx, addr, ctap.Options{})
	if err != nil {
		p.Error = err.Error()
		return p
	}
	defer dev.Close()
	gi, err := c.Info(ctx)
	if err != nil {
		p.Error = err.Error()
		return p
	}
	p.AAGUID, p.Firmware, p.FirmwareSource = gi.AAGUID.String(), gi.FirmwareText(), gi.FirmwareSource
	p.Versions = gi.Versions
	p.MinPINLength, p.MaxPINLength, p.PINComplexityPolicy = gi.MinPINLength, gi.MaxPINLength, gi.PINComplexityPolicy
	p.LongTouchForReset, p.TransportsForReset = gi.LongTouchForReset, gi.TransportsForReset
	if set, ok := gi.Option("clientPin"); ok {
		p.PINSet = &set
		if set {
			if n, _, err := c.PINRetries(ctx); err == nil {
				p.PINRetries = &n
			}
		}
	}
	return p
}

// Probes is what a survey found, in address order.
type Probes []probeResult

// Err is nil when every device could be read; otherwise it counts those
// that could not (their Error says why), with ExitCode 1: a finding.
func (probes Probes) Err() error {
	unreadable := 0
	for _, p := range probes {
		if p.Error != "" {
			unreadable++
		}
	}
	if unreadable == 0 {
		return nil
	}
	return unreadableDevices(
		fmt.Sprintf("%d of %d devices could not be read (see ERROR above)", unreadable, len(probes)),
	)
}

// unreadableDevices is the finding Probes.Err returns.
type unreadableDevices string

func (u unreadableDevices) Error() string { return string(u) }

// ExitCode is 1: the survey ran and found devices it could not read.
func (unreadableDevices) ExitCode() int { return 1 }

// WriteText writes the probes for the officers: each device in a few
// short lines, address first.
func (probes Probes) WriteText(w io.Writer) error {
	if len(probes) == 0 {
		_, err := fmt.Fprintln(
			w,
			"No FIDO authenticator found. Plug a key in; if it is plugged in, check the udev\n"+
				"rules (keyceremony config udev, and the README's udev set-up).",
		)
		return err
	}
	// Three short lines a key, not a wide table: the workstation's
	// console has 80 columns, and a key's name alone can take 30.
	for i, p := range probes {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, p.Address)
		if p.HID != nil {
			line := fmt.Sprintf("  %04x:%04x %s", p.HID.VendorID, p.HID.ProductID, p.HID.Name)
			if p.HID.Serial != "" {
				line += ", serial " + p.HID.Serial
			}
			fmt.Fprintln(w, line)
		}
		if p.Error != "" {
			fmt.Fprintf(w, "  ERROR: %s\n", p.Error)
			continue
		}
		pin := "PIN n/a"
		if p.PINSet != nil {
			pin = map[bool]string{true: "PIN set", false: "PIN not set"}[*p.PINSet]
		}
		if p.PINRetries != nil {
			pin += fmt.Sprintf(", %d retries", *p.PINRetries)
		}
		pinRules, reset := p.pinAndReset()
		_, err := fmt.Fprintf(w, "  AAGUID %s\n  firmware %s\n  %s\n", p.AAGUID, p.Firmware, pin+pinRules)
		if err != nil {
			return err
		}
		if reset != "" {
			fmt.Fprintf(w, "  reset: %s\n", reset)
		}
	}
	return nil
}

// Description is one key's CTAPHID_INIT answer and getInfo.
type Description struct {
	Address string       `json:"address"`
	CTAPHID hid.InitInfo `json:"ctaphid"`
	Info    *ctap.Info   `json:"getInfo"`
}

// Describe opens addr with the native client and reads its description.
func Describe(ctx context.Context, addr string) (*Description, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	c, dev, err := openNative(ctx, addr, ctap.Options{})
	if err != nil {
		return nil, err
	}
	defer dev.Close()
	info, err := c.Info(ctx)
	if err != nil {
		return nil, err
	}
	return &Description{Address: addr, CTAPHID: dev.Info(), Info: info}, nil
}

// WriteText writes the description for an officer, one fact a row.
func (d *Description) WriteText(w io.Writer) error {
	hi, info := d.CTAPHID, d.Info
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	// rows lists parts under label k, as many a line as fit beside the
	// longest label in the console's 80 columns.
	rows := func(k string, parts []string, sep string) {
		if len(parts) == 0 {
			return // no empty rows (a key without extensions, algorithms, options)
		}
		line := ""
		for _, p := range parts {
			if line != "" && len(line)+len(sep)+len(p) > 80-len("Free credential slots  ") {
				row(k, line+strings.TrimRight(sep, " "))
				k, line = "", ""
			}
			if line != "" {
				line += sep
			}
			line += p
		}
		row(k, line)
	}
	row("Device", d.Address)
	row(
		"CTAPHID",
		fmt.Sprintf(
			"protocol %d, device version %d.%d.%d, capabilities 0x%02x",
			hi.ProtocolVersion,
			hi.Major,
			hi.Minor,
			hi.Build,
			hi.Capabilities,
		),
	)
	row("AAGUID", info.AAGUID)
	row("Versions", strings.Join(info.Versions, ", "))
	rows("Extensions", info.Extensions, ", ")
	row("Firmware", info.FirmwareText())
	var opts []string
	for k, v := range info.Options {
		opts = append(opts, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(opts)
	rows("Options", opts, " ")
	row("PIN/UV protocols", fmt.Sprint(info.PinUvAuthProtocols))
	row("Min PIN length", info.MinPINLengthText())
	row("Force PIN change", info.ForcePINChange)
	row("Max message size", info.MaxMsgSize)
	if info.RemainingDiscoverableCredentials != nil {
		row("Free credential slots", *info.RemainingDiscoverableCredentials)
	}
	var algs []string
	for _, a := range info.Algorithms {
		algs = append(algs, fmt.Sprintf("%s/%d", a.Type, a.Alg))
	}
	rows("Algorithms", algs, ", ")
	if len(info.Transports) > 0 {
		row("Transports", strings.Join(info.Transports, ", "))
	}
	writeCTAP22(info, row, rows)
	if len(info.Certifications) > 0 {
		var certs []string
		for k, v := range info.Certifications {
			certs = append(certs, fmt.Sprintf("%s level %d", k, v))
		}
		sort.Strings(certs)
		rows("Certifications", certs, ", ")
	}
	return tw.Flush()
}

// pinAndReset is what a key says of its PIN beyond "PIN set" (", PIN 4-63,
// complexity policy") and of its reset ("long touch, usb only").
func (p probeResult) pinAndReset() (pin, reset string) {
	var s string
	if p.MinPINLength > 0 || p.MaxPINLength > 0 {
		s += fmt.Sprintf(", PIN %s-%s", orDefault(p.MinPINLength, "4"), orDefault(p.MaxPINLength, "63"))
	}
	if p.PINComplexityPolicy != nil && *p.PINComplexityPolicy {
		s += ", complexity policy"
	}
	var r []string
	if p.LongTouchForReset {
		r = append(r, "long touch (touch and hold)")
	}
	if len(p.TransportsForReset) > 0 {
		r = append(r, "only over "+strings.Join(p.TransportsForReset, ", "))
	}
	return s, strings.Join(r, ", ")
}

func orDefault(n int, def string) string {
	if n == 0 {
		return def
	}
	return fmt.Sprint(n)
}

// writeCTAP22 writes the getInfo members of CTAP 2.2 and the 2.3 draft
// (0x16-0x1F) the key sent, one row each; the encrypted ones as present.
func writeCTAP22(info *ctap.Info, row func(string, any), rows func(string, []string, string)) {
	if len(info.AttestationFormats) > 0 {
		rows("Attestation formats", info.AttestationFormats, ", ")
	}
	if info.UVCountSinceLastPINEntry != nil {
		row("UV since PIN entry", *info.UVCountSinceLastPINEntry)
	}
	if info.LongTouchForReset || len(info.TransportsForReset) > 0 {
		reset := "a short touch"
		if info.LongTouchForReset {
			reset = "a long touch (touch and hold)"
		}
		if len(info.TransportsForReset) > 0 {
			reset += ", only over " + strings.Join(info.TransportsForReset, ", ")
		}
		row("Reset needs", reset)
	}
	if info.PINComplexityPolicy != nil {
		policy := map[bool]string{true: "enforced", false: "not enforced"}[*info.PINComplexityPolicy]
		row("PIN complexity", policy)
	}
	if len(info.PINComplexityPolicyURL) > 0 {
		// A long URL goes on as many lines as it takes, unbroken otherwise.
		url := []rune(strings.ToValidUTF8(string(info.PINComplexityPolicyURL), "?"))
		width := 80 - len("Free credential slots  ")
		var parts []string
		for len(url) > width {
			parts, url = append(parts, string(url[:width])), url[width:]
		}
		rows("PIN policy URL", append(parts, string(url)), "")
	}
	if info.MaxPINLength > 0 {
		row("Max PIN length", info.MaxPINLength)
	}
	for _, m := range []struct {
		label string
		n     int
	}{{"Encrypted identifier", len(info.EncIdentifier)}, {"Cred store state", len(info.EncCredStoreState)}} {
		if m.n > 0 {
			row(m.label, fmt.Sprintf("present (%d bytes, encrypted; not decrypted)", m.n))
		}
	}
	if len(info.AuthenticatorConfigCommands) > 0 {
		row("Config commands", fmt.Sprint(info.AuthenticatorConfigCommands))
	}
}
