package hid

import (
	"errors"
	"fmt"

	"github.com/keyceremony/keyceremony/internal/ctaphid"
)

// reportDescriptor is what keyceremony needs from a HID report descriptor:
// the top-level application usage and the report sizes.
type reportDescriptor struct {
	UsagePage   uint16 // usage page of the first application collection
	Usage       uint16 // usage of the first application collection
	InputBytes  int    // size of the input report, in bytes
	OutputBytes int    // size of the output report, in bytes
}

// isFIDO reports whether the descriptor is a CTAPHID authenticator with
// 64-byte reports.
func (r reportDescriptor) isFIDO() bool {
	return r.UsagePage == fidoUsagePage && r.Usage == fidoUsageCTAP
}

// parseReportDescriptor walks the short and long items of a HID report
// descriptor (HID 1.11, 6.2.2). Hand-written: the Go HID libraries either need
// cgo or do not expose descriptor parsing, and we need only these few items.
func parseReportDescriptor(d []byte) (reportDescriptor, error) {
	var (
		rd                    reportDescriptor
		usagePage, usage      uint32
		reportSize, reportCnt uint32
		haveApp               bool
		depth                 int
		inBits, outBits       uint64
	)
	for i := 0; i < len(d); {
		prefix := d[i]
		if prefix == 0xfe { // long item: 0xfe, size, tag, data
			if i+2 >= len(d) {
				return rd, errors.New("report descriptor: truncated long item")
			}
			i += 3 + int(d[i+1])
			continue
		}
		size := int(prefix & 0x03)
		if size == 3 {
			size = 4
		}
		if i+1+size > len(d) {
			return rd, fmt.Errorf("report descriptor: item at offset %d runs past the end", i)
		}
		var v uint32
		for k := 0; k < size; k++ {
			v |= uint32(d[i+1+k]) << (8 * k)
		}
		i += 1 + size
		switch prefix & 0xfc {
		case 0x04: // Usage Page (global)
			usagePage = v
		case 0x08: // Usage (local)
			if size == 4 { // extended usage: page in the high half
				usagePage, usage = v>>16, v&0xffff
			} else {
				usage = v
			}
		case 0x74: // Report Size (global)
			reportSize = v
		case 0x94: // Report Count (global)
			reportCnt = v
		case 0x80: // Input (main)
			inBits += uint64(reportSize) * uint64(reportCnt)
		case 0x90: // Output (main)
			outBits += uint64(reportSize) * uint64(reportCnt)
		case 0xa0: // Collection (main)
			if depth == 0 && !haveApp && v == 0x01 {
				rd.UsagePage, rd.Usage, haveApp = uint16(usagePage), uint16(usage), true
			}
			depth++
		case 0xc0: // End Collection (main)
			if depth == 0 {
				return rd, fmt.Errorf("report descriptor: End Collection without Collection at offset %d", i-1)
			}
			depth--
		}
		if prefix&0x0c == 0x00 { // a main item clears local items
			usage = 0
		}
		if inBits > 8*ctaphid.MaxMessageSize || outBits > 8*ctaphid.MaxMessageSize {
			return rd, errors.New("report descriptor: implausibly large reports")
		}
	}
	if !haveApp {
		return rd, errors.New("report descriptor: no application collection")
	}
	rd.InputBytes, rd.OutputBytes = int(inBits/8), int(outBits/8)
	return rd, nil
}

// fidoReportDescriptor returns the descriptor of a FIDO authenticator with
// 64-byte input and output reports, as real keys and simkey present it.
func fidoReportDescriptor() []byte {
	return []byte{
		0x06, 0xd0, 0xf1, // Usage Page (FIDO Alliance)
		0x09, 0x01, // Usage (CTAPHID)
		0xa1, 0x01, // Collection (Application)
		0x09, 0x20, //   Usage (Input Report Data)
		0x15, 0x00, //   Logical Minimum (0)
		0x26, 0xff, 0x00, //   Logical Maximum (255)
		0x75, 0x08, //   Report Size (8)
		0x95, 0x40, //   Report Count (64)
		0x81, 0x02, //   Input (Data, Var, Abs)
		0x09, 0x21, //   Usage (Output Report Data)
		0x15, 0x00, //   Logical Minimum (0)
		0x26, 0xff, 0x00, //   Logical Maximum (255)
		0x75, 0x08, //   Report Size (8)
		0x95, 0x40, //   Report Count (64)
		0x91, 0x02, //   Output (Data, Var, Abs)
		0xc0, // End Collection
	}
}
