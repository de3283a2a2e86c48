package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/fidokey"
	"github.com/keyceremony/keyceremony/hid"
)

// multiFlag collects a repeated string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// deviceReport is one row of `keyceremony devices`.
type deviceReport struct {
	Address        string          `json:"address"`
	HID            *hid.DeviceInfo `json:"hid,omitempty"`
	AAGUID         string          `json:"aaguid,omitempty"`
	Firmware       string          `json:"firmware,omitempty"`
	FirmwareSource string          `json:"firmware_source,omitempty"`
	Versions       []string        `json:"versions,omitempty"`
	PINSet         *bool           `json:"pin_set,omitempty"`
	PINRetries     *int            `json:"pin_retries,omitempty"`
	Error          string          `json:"error,omitempty"`
}

// firmwareString renders getInfo's firmwareVersion; YubiKeys encode it as
// 0xMMmmpp, which reads as major.minor.patch.
func firmwareString(fw *uint64) string {
	if fw == nil {
		return ""
	}
	return fmt.Sprintf("%s (0x%06x)", ctap.FormatFirmware(*fw), *fw)
}

func probeDevice(ctx context.Context, addr string, info *hid.DeviceInfo) deviceReport {
	r := deviceReport{Address: addr, HID: info}
	if info != nil && !info.Readable {
		r.Error = info.OpenError
		return r
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, dev, err := fidokey.OpenNative(ctx, addr, ctap.Options{})
	if err != nil {
		r.Error = err.Error()
		return r
	}
	defer dev.Close()
	gi, err := c.Info(ctx)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.AAGUID, r.Firmware, r.FirmwareSource, r.Versions = gi.AAGUID.String(), firmwareString(gi.FirmwareVersion), gi.FirmwareSource, gi.Versions
	if set, ok := gi.Option("clientPin"); ok {
		r.PINSet = &set
		if set {
			if n, _, err := c.PINRetries(ctx); err == nil {
				r.PINRetries = &n
			}
		}
	}
	return r
}

func cmdDevices(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("devices", "devices [--json] [--device ADDRESS]...")
	asJSON := fs.Bool("json", false, "print JSON")
	var extra multiFlag
	fs.Var(&extra, "device", "also probe this device address (repeatable), e.g. simkey:/run/simkey.sock")
	if pos, err := fs.parse(args, out); err != nil {
		return err
	} else if len(pos) > 0 {
		return fs.usageError("unexpected argument %q", pos[0])
	}
	found, err := hid.Discover()
	if err != nil {
		return err
	}
	var reports []deviceReport
	for i := range found {
		reports = append(reports, probeDevice(ctx, found[i].Address(), &found[i]))
	}
	for _, a := range extra {
		reports = append(reports, probeDevice(ctx, a, nil))
	}
	sort.SliceStable(reports, func(i, j int) bool { return reports[i].Address < reports[j].Address })
	if err := printDevices(out, reports, *asJSON); err != nil {
		return err
	}
	unreadable := 0
	for _, r := range reports {
		if r.Error != "" {
			unreadable++
		}
	}
	if unreadable > 0 {
		return findingError{fmt.Sprintf("%d of %d devices could not be read (see ERROR above)", unreadable, len(reports))}
	}
	return nil
}

// printDevices writes the devices as a table or as JSON.
func printDevices(out io.Writer, reports []deviceReport, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if reports == nil {
			reports = []deviceReport{}
		}
		return enc.Encode(reports)
	}
	if len(reports) == 0 {
		fmt.Fprintln(out, "No FIDO authenticator found. Plug a key in; if it is plugged in, check the udev rules (README, udev set-up).")
		return nil
	}
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tVENDOR:PRODUCT\tNAME\tSERIAL\tAAGUID\tFIRMWARE\tPIN\tRETRIES")
	for _, r := range reports {
		vp, name, serial := "-", "-", "-"
		if r.HID != nil {
			vp, name = fmt.Sprintf("%04x:%04x", r.HID.VendorID, r.HID.ProductID), r.HID.Name
			if r.HID.Serial != "" {
				serial = r.HID.Serial
			}
		}
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tERROR: %s\n", r.Address, vp, name, serial, r.Error)
			continue
		}
		pin, retries := "n/a", "-"
		if r.PINSet != nil {
			pin = map[bool]string{true: "set", false: "not set"}[*r.PINSet]
		}
		if r.PINRetries != nil {
			retries = fmt.Sprint(*r.PINRetries)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Address, vp, name, serial, r.AAGUID, r.Firmware, pin, retries)
	}
	return tw.Flush()
}

func cmdInfo(ctx context.Context, args []string, out io.Writer) error {
	fs := newFlags("info", "info --device ADDRESS [--json]")
	addr := fs.String("device", "", "device address: hidraw:/dev/hidrawN or simkey:/path.sock")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := fs.parse(args, out); err != nil {
		return err
	}
	if *addr == "" {
		return fs.usageError("--device is required (see `keyceremony devices`)")
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, dev, err := fidokey.OpenNative(ctx, *addr, ctap.Options{})
	if err != nil {
		return err
	}
	defer dev.Close()
	info, err := c.Info(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Address string       `json:"address"`
			CTAPHID hid.InitInfo `json:"ctaphid"`
			Info    *ctap.Info   `json:"getInfo"`
		}{*addr, dev.Info(), info})
	}
	printInfo(out, *addr, dev.Info(), info)
	return nil
}

// printInfo renders getInfo for an officer.
func printInfo(out io.Writer, addr string, hi hid.InitInfo, info *ctap.Info) {
	tw := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	row("Device", addr)
	row("CTAPHID", fmt.Sprintf("protocol %d, device version %d.%d.%d, capabilities 0x%02x", hi.ProtocolVersion, hi.Major, hi.Minor, hi.Build, hi.Capabilities))
	row("AAGUID", info.AAGUID)
	row("Versions", strings.Join(info.Versions, ", "))
	row("Extensions", strings.Join(info.Extensions, ", "))
	if fw := firmwareString(info.FirmwareVersion); fw != "" {
		row("Firmware", fw+" from "+info.FirmwareSource)
	}
	var opts []string
	for k, v := range info.Options {
		opts = append(opts, fmt.Sprintf("%s=%v", k, v))
	}
	sort.Strings(opts)
	row("Options", strings.Join(opts, " "))
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
	row("Algorithms", strings.Join(algs, ", "))
	row("Transports", strings.Join(info.Transports, ", "))
	if len(info.Certifications) > 0 {
		var certs []string
		for k, v := range info.Certifications {
			certs = append(certs, fmt.Sprintf("%s level %d", k, v))
		}
		sort.Strings(certs)
		row("Certifications", strings.Join(certs, ", "))
	}
	tw.Flush()
}
