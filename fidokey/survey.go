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

// Probe is what a survey learnt of one device address.
type Probe struct {
	Address        string          `json:"address"`
	HID            *hid.DeviceInfo `json:"hid,omitempty"`
	AAGUID         string          `json:"aaguid,omitempty"`
	Firmware       string          `json:"firmware,omitempty"`
	FirmwareSource string          `json:"firmware_source,omitempty"`
	Versions       []string        `json:"versions,omitempty"`
	PINSet         *bool           `json:"pin_set,omitempty"`
	PINRetries     *int            `json:"pin_retries,omitempty"`
	Error          string          `json:"error,omitempty"` // why the device could not be read
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
func probe(ctx context.Context, addr string, info *hid.DeviceInfo) Probe {
	p := Probe{Address: addr, HID: info}
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
	p.AAGUID, p.Firmware, p.FirmwareSource, p.Versions = gi.AAGUID.String(), firmwareString(gi.FirmwareVersion), gi.FirmwareSource, gi.Versions
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

// firmwareString renders getInfo's firmwareVersion; YubiKeys encode it as
// 0xMMmmpp, which reads as major.minor.patch.
func firmwareString(fw *uint64) string {
	if fw == nil {
		return ""
	}
	return fmt.Sprintf("%s (0x%06x)", ctap.FormatFirmware(*fw), *fw)
}

// Probes is what a survey found, in address order.
type Probes []Probe

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
	return unreadableDevices(fmt.Sprintf("%d of %d devices could not be read (see ERROR above)", unreadable, len(probes)))
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
		_, err := fmt.Fprintln(w, "No FIDO authenticator found. Plug a key in; if it is plugged in, check the udev\nrules (keyceremony config udev, and the README's udev set-up).")
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
		if _, err := fmt.Fprintf(w, "  AAGUID %s\n  firmware %s, %s\n", p.AAGUID, p.Firmware, pin); err != nil {
			return err
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
	row("CTAPHID", fmt.Sprintf("protocol %d, device version %d.%d.%d, capabilities 0x%02x", hi.ProtocolVersion, hi.Major, hi.Minor, hi.Build, hi.Capabilities))
	row("AAGUID", info.AAGUID)
	row("Versions", strings.Join(info.Versions, ", "))
	rows("Extensions", info.Extensions, ", ")
	if fw := firmwareString(info.FirmwareVersion); fw != "" {
		row("Firmware", fw+" from "+info.FirmwareSource)
	}
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
	row("Transports", strings.Join(info.Transports, ", "))
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
