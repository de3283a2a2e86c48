package hid

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/internal/ctaphid"
)

// keyboardDescriptor is a boot keyboard's report descriptor (HID 1.11, E.6).
var keyboardDescriptor = []byte{
	0x05, 0x01, 0x09, 0x06, 0xa1, 0x01, 0x05, 0x07, 0x19, 0xe0, 0x29, 0xe7, 0x15, 0x00, 0x25, 0x01,
	0x75, 0x01, 0x95, 0x08, 0x81, 0x02, 0x95, 0x01, 0x75, 0x08, 0x81, 0x01, 0x95, 0x05, 0x75, 0x01,
	0x05, 0x08, 0x19, 0x01, 0x29, 0x05, 0x91, 0x02, 0x95, 0x01, 0x75, 0x03, 0x91, 0x01, 0x95, 0x06,
	0x75, 0x08, 0x15, 0x00, 0x25, 0x65, 0x05, 0x07, 0x19, 0x00, 0x29, 0x65, 0x81, 0x00, 0xc0,
}

func TestParseFIDODescriptor(t *testing.T) {
	rd, err := parseReportDescriptor(fidoReportDescriptor())
	if err != nil {
		t.Fatal(err)
	}
	if !rd.isFIDO() || rd.InputBytes != 64 || rd.OutputBytes != 64 {
		t.Fatalf("%+v", rd)
	}
	kb, err := parseReportDescriptor(keyboardDescriptor)
	if err != nil {
		t.Fatal(err)
	}
	if kb.isFIDO() || kb.UsagePage != 0x01 || kb.Usage != 0x06 || kb.InputBytes != 8 || kb.OutputBytes != 1 {
		t.Fatalf("keyboard parsed as %+v", kb)
	}
}

func TestParseDescriptorErrors(t *testing.T) {
	for name, d := range map[string][]byte{
		"truncated item":      {0x06, 0xd0},
		"no collection":       {0x06, 0xd0, 0xf1, 0x09, 0x01},
		"unbalanced end":      {0xc0},
		"truncated long item": {0xfe, 0x05},
		"huge report":         {0x06, 0xd0, 0xf1, 0x09, 0x01, 0xa1, 0x01, 0x77, 0xff, 0xff, 0xff, 0x00, 0x97, 0xff, 0xff, 0x00, 0x00, 0x81, 0x02, 0xc0},
	} {
		if _, err := parseReportDescriptor(d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseReportDescriptor(f *testing.F) {
	f.Add(fidoReportDescriptor())
	f.Add(keyboardDescriptor)
	f.Fuzz(func(t *testing.T, d []byte) {
		rd, err := parseReportDescriptor(d)
		if err == nil && (rd.InputBytes < 0 || rd.InputBytes > ctaphid.MaxMessageSize) {
			t.Fatalf("implausible size %d", rd.InputBytes)
		}
	})
}

// fakeSysfs lays out /sys/class/hidraw with a FIDO key and a keyboard.
func fakeSysfs(t *testing.T) (sys, dev string) {
	root := t.TempDir()
	sys, dev = filepath.Join(root, "sys"), filepath.Join(root, "dev")
	os.MkdirAll(dev, 0o755)
	for name, d := range map[string]struct {
		desc   []byte
		uevent string
	}{
		"hidraw0": {keyboardDescriptor, "HID_ID=0003:0000046D:0000C31C\nHID_NAME=Logitech Keyboard\n"},
		"hidraw3": {fidoReportDescriptor(), "DRIVER=hid-generic\nHID_ID=0003:00001050:00000407\nHID_NAME=Yubico YubiKey OTP+FIDO+CCID\nHID_PHYS=usb-0000:00:14.0-1/input1\nHID_UNIQ=12345678\n"},
	} {
		dir := filepath.Join(sys, name, "device")
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "report_descriptor"), d.desc, 0o644)
		os.WriteFile(filepath.Join(dir, "uevent"), []byte(d.uevent), 0o644)
		os.WriteFile(filepath.Join(dev, name), nil, 0o600)
	}
	return sys, dev
}

func TestDiscoverFindsOnlyFIDO(t *testing.T) {
	sys, dev := fakeSysfs(t)
	got, err := discoverIn(sys, dev)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("found %d devices: %+v", len(got), got)
	}
	d := got[0]
	if d.Path != filepath.Join(dev, "hidraw3") || d.VendorID != 0x1050 || d.ProductID != 0x0407 ||
		d.Name != "Yubico YubiKey OTP+FIDO+CCID" || d.Serial != "12345678" || d.InputSize != 64 || !d.Readable {
		t.Fatalf("%+v", d)
	}
	if d.Address() != "hidraw:"+d.Path {
		t.Fatal(d.Address())
	}
}

func TestDiscoverUnreadableNodePointsAtUdev(t *testing.T) {
	if os.Geteuid() == 0 {
		// root opens any node: make the node unopenable another way.
		sys, dev := fakeSysfs(t)
		os.Remove(filepath.Join(dev, "hidraw3"))
		os.Mkdir(filepath.Join(dev, "hidraw3"), 0o000) // a directory cannot be opened O_RDWR
		got, _ := discoverIn(sys, dev)
		if len(got) != 1 || got[0].Readable || got[0].OpenError == "" {
			t.Fatalf("%+v", got)
		}
		return
	}
	sys, dev := fakeSysfs(t)
	os.Chmod(filepath.Join(dev, "hidraw3"), 0o000)
	got, _ := discoverIn(sys, dev)
	if len(got) != 1 || got[0].Readable || !contains(got[0].OpenError, "udev") {
		t.Fatalf("%+v", got)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// Open takes the addresses the CLI documents and refuses the rest, saying
// which it takes.
func TestOpenAddresses(t *testing.T) {
	if _, err := Open(t.Context(), "usb:1", Options{}); err == nil || !strings.Contains(err.Error(), "want hidraw:/dev/hidrawN or simkey:/path/to.sock") {
		t.Fatalf("unknown scheme: %v", err)
	}
	if _, err := Open(t.Context(), "simkey:"+filepath.Join(t.TempDir(), "none.sock"), Options{}); err == nil {
		t.Fatal("missing socket opened")
	}
	if _, err := Open(t.Context(), "hidraw:/nonexistent/hidraw9", Options{}); err == nil {
		t.Fatal("missing node opened")
	}
}

// An open error names the path once, and a missing node says what to do.
func TestOpenErrorSaysThePathOnce(t *testing.T) {
	_, err := openHidraw("/dev/hidraw-none-such")
	if err == nil || strings.Count(err.Error(), "/dev/hidraw-none-such") != 1 || !strings.Contains(err.Error(), "keyceremony devices") {
		t.Fatalf("%v", err)
	}
}
