package health

import (
	"strings"
	"testing"

	"github.com/keyceremony/keyceremony/ctap"
	"github.com/keyceremony/keyceremony/report"
)

// Health compares the key's firmware with the report's in the same form
// and says where it came from: a non-Yubico key whose firmware comes from
// CTAPHID_INIT as major.minor.build (a report that recorded the integer
// for it, as releases before did, passes and is said so); a change is a
// finding naming both; a key and a report with none say "not reported";
// a backend that cannot read it could not check.
func TestHealthFirmwareInTheVendorsForm(t *testing.T) {
	token2, _ := ctap.ParseAAGUID("ab32f0c6-2239-afbb-c470-d2ef4e254db7")
	pico, _ := ctap.ParseAAGUID("89fb94b7-06c9-3673-9b7e-30526d968145")
	fw := func(v uint64) *uint64 { return &v }
	const init, getInfo = "CTAPHID_INIT device version", "getInfo firmwareVersion"
	for _, c := range []struct {
		name       string
		info       ctap.Info
		recorded   report.Key
		status     string
		wantDetail string
	}{
		{"CTAPHID, as recorded", ctap.Info{AAGUID: token2, FirmwareVersion: fw(0x080000), FirmwareSource: init},
			report.Key{Firmware: "8.0.0", FirmwareSource: init}, Pass,
			"firmware 8.0.0 (CTAPHID_INIT device version) as recorded"},
		{"CTAPHID, recorded as the integer", ctap.Info{AAGUID: token2, FirmwareVersion: fw(0x080000), FirmwareSource: init},
			report.Key{Firmware: "524288", FirmwareSource: init}, Pass, "the report wrote it as the integer 524288"},
		{"CTAPHID, changed", ctap.Info{AAGUID: token2, FirmwareVersion: fw(0x080100), FirmwareSource: init},
			report.Key{Firmware: "8.0.0", FirmwareSource: init}, Finding,
			"firmware 8.1.0 (CTAPHID_INIT device version), the report records 8.0.0 (CTAPHID_INIT device version)"},
		{"pico-fido getInfo", ctap.Info{AAGUID: pico, FirmwareVersion: fw(0x0800), FirmwareSource: getInfo},
			report.Key{Firmware: "8.0", FirmwareSource: getInfo}, Pass, "firmware 8.0 (getInfo firmwareVersion) as recorded"},
		{"none reported", ctap.Info{AAGUID: token2}, report.Key{}, Pass, "firmware not reported as recorded"},
		{"none now, one recorded", ctap.Info{AAGUID: token2}, report.Key{Firmware: "256", FirmwareSource: getInfo},
			Finding, "firmware not reported, the report records 256 (getInfo firmwareVersion)"},
		{"backend cannot read it", ctap.Info{AAGUID: token2, Unavailable: []string{"firmwareVersion"}},
			report.Key{Firmware: "256", FirmwareSource: getInfo}, CouldNot, "the report records 256 (getInfo firmwareVersion)"},
	} {
		r := &run{}
		r.firmware("key 1", &c.info, c.recorded)
		if len(r.checks) != 1 || r.checks[0].Name != "key 1 firmware" || r.checks[0].Status != c.status ||
			!strings.Contains(r.checks[0].Detail, c.wantDetail) || strings.Contains(r.checks[0].Detail, "firmware  ") {
			t.Errorf("%s: %+v, want %s containing %q", c.name, r.checks, c.status, c.wantDetail)
		}
	}
}
