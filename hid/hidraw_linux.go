package hid

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// FIDO HID usage page and usage (FIDO CTAP 2.1 §11.2.8.1).
const (
	fidoUsagePage = 0xF1D0
	fidoUsageCTAP = 0x01
)

// DeviceInfo describes one hidraw node found in sysfs.
type DeviceInfo struct {
	Path       string `json:"path"`                 // /dev/hidrawN
	VendorID   uint16 `json:"vendor_id"`            // USB vendor ID
	ProductID  uint16 `json:"product_id"`           // USB product ID
	Name       string `json:"name"`                 // HID_NAME from the kernel
	Serial     string `json:"serial,omitempty"`     // HID_UNIQ, when the device exposes one
	InputSize  int    `json:"input_report_bytes"`   // from the report descriptor
	OutputSize int    `json:"output_report_bytes"`  // from the report descriptor
	Readable   bool   `json:"readable"`             // the node opened read-write for this user
	OpenError  string `json:"open_error,omitempty"` // why not, with the remedy
}

// Address returns the CLI device address of the node.
func (d DeviceInfo) Address() string { return "hidraw:" + d.Path }

// Discover lists the FIDO authenticators among /sys/class/hidraw, ordered by path.
func Discover() ([]DeviceInfo, error) {
	return discoverIn("/sys/class/hidraw", "/dev")
}

func discoverIn(sysRoot, devRoot string) ([]DeviceInfo, error) {
	entries, err := os.ReadDir(sysRoot)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil // no hidraw support loaded: no devices
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", sysRoot, err)
	}
	var out []DeviceInfo
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, "hidraw") {
			continue
		}
		devDir := filepath.Join(sysRoot, name, "device")
		desc, err := os.ReadFile(filepath.Join(devDir, "report_descriptor"))
		if err != nil {
			continue // a node we cannot describe is not one we can use
		}
		rd, err := parseReportDescriptor(desc)
		if err != nil || !rd.isFIDO() {
			continue
		}
		info := DeviceInfo{Path: filepath.Join(devRoot, name), InputSize: rd.InputBytes, OutputSize: rd.OutputBytes}
		if ue, err := os.ReadFile(filepath.Join(devDir, "uevent")); err == nil {
			parseUevent(string(ue), &info)
		}
		if f, err := os.OpenFile(info.Path, os.O_RDWR, 0); err == nil {
			info.Readable = true
			f.Close()
		} else {
			info.OpenError = openErrorText(info.Path, err)
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// parseUevent reads HID_ID=bus:vendor:product, HID_NAME and HID_UNIQ.
func parseUevent(s string, info *DeviceInfo) {
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch k {
		case "HID_ID":
			parts := strings.Split(v, ":")
			if len(parts) == 3 {
				if x, err := strconv.ParseUint(parts[1], 16, 32); err == nil {
					info.VendorID = uint16(x)
				}
				if x, err := strconv.ParseUint(parts[2], 16, 32); err == nil {
					info.ProductID = uint16(x)
				}
			}
		case "HID_NAME":
			info.Name = v
		case "HID_UNIQ":
			info.Serial = v
		}
	}
}

func openErrorText(path string, err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Sprintf(
			"%s is not readable by this user: "+
				"install udev/70-keyceremony.rules and re-plug the key (see README, udev set-up)",
			path,
		)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) { // it names the path already: say it once
		err = pe.Err
	}
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf(
			"open %s: no such device (was the key unplugged? `keyceremony devices` lists the keys plugged in)",
			path,
		)
	}
	return fmt.Sprintf("open %s: %v", path, err)
}

// hidrawTransport is a transport over a Linux /dev/hidrawN node.
type hidrawTransport struct {
	f    *os.File
	path string
	wbuf [reportSize + 1]byte
	r    interruptibleReader
}

// openHidraw opens a hidraw node for CTAPHID.
func openHidraw(path string) (transport, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, errors.New(openErrorText(path, err))
	}
	h := &hidrawTransport{f: f, path: path}
	h.r.conn = f
	return h, nil
}

// WriteReport writes report ID 0 followed by the 64-byte report.
func (h *hidrawTransport) WriteReport(ctx context.Context, report []byte) error {
	if len(report) != reportSize {
		return fmt.Errorf("write report: %d bytes, want %d", len(report), reportSize)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	h.wbuf[0] = 0
	copy(h.wbuf[1:], report)
	if err := writeWithContext(ctx, h.f, h.wbuf[:]); err != nil {
		return fmt.Errorf("write %s: %w", h.path, err)
	}
	return nil
}

// ReadReport reads one 64-byte input report (hidraw strips the report ID).
func (h *hidrawTransport) ReadReport(ctx context.Context, buf []byte) (int, error) {
	return readWithContext(ctx, h.f, buf)
}

func (h *hidrawTransport) reader() *interruptibleReader { return &h.r }

// Close implements transport.
func (h *hidrawTransport) Close() error { return h.f.Close() }

// String implements transport.
func (h *hidrawTransport) String() string { return "hidraw:" + h.path }
