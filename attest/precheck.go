package attest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/keyceremony/keyceremony/ctap"
)

// simkeyAAGUID is the virtual key's AAGUID, the ASCII bytes
// "keyceremony-simk" (internal/sim/testca): named so in a refusal.
const simkeyAAGUID = "6b657963-6572-656d-6f6e-792d73696d6b"

// earlyReasons are the refusals that getInfo alone predicts: they depend on
// the key's AAGUID and firmware and on nothing the attestation adds. A
// stale MDS blob refuses every key alike and is left to the attestation.
var earlyReasons = []string{reasonAAGUIDNotAllowed, reasonFirmware, reasonFirmwareUnknown,
	reasonMDSStatus, reasonMDSMissing, reasonCertification}

// Precheck judges, before anything is done to a key, what its getInfo
// says: its AAGUID and firmware (from source, as ctap.Info.FirmwareSource
// says; "" is getInfo) against the allowlist, the minimum firmware and the
// MDS statuses, exactly as the attestation's verdict will. A key the attestation would refuse for
// these is refused now, with its model named as well as can be; nil never
// allows it — getInfo is unauthenticated, and the attestation stays the
// judge.
func (vf *Verifier) Precheck(aaguid ctap.AAGUID, firmware *uint64, source string) error {
	now := time.Now()
	if vf.Now != nil {
		now = vf.Now()
	}
	v := &Verdict{}
	vf.checkModel(v, "getInfo", aaguid, firmwareToCompare(aaguid, firmware, source), now)
	var why []string
	for _, r := range v.Reasons {
		switch {
		case r.Code == reasonAAGUIDNotAllowed && !aaguid.IsZero():
			why = append(why, "not on the policy's allowlist")
		case r.Code == reasonMDSMissing && vf.MDS == nil:
			// No blob loaded refuses every key alike: the attestation says so.
		case slices.Contains(earlyReasons, r.Code):
			why = append(why, r.Message)
		}
	}
	if len(why) == 0 {
		return nil
	}
	return fmt.Errorf("%s (AAGUID %s): %s", vf.modelName(aaguid), aaguid, strings.Join(why, "; "))
}

// modelName names a model for the officers: the allowlist's name, the MDS
// blob's description, the virtual key, or what is not known.
func (vf *Verifier) modelName(aaguid ctap.AAGUID) string {
	id := aaguid.String()
	if m, ok := vf.Policy.model(id); ok {
		return "a " + m.Name
	}
	if vf.MDS != nil {
		if e, ok := vf.MDS.entry(id); ok && e.MetadataStatement.Description != "" {
			return "a " + e.MetadataStatement.Description
		}
	}
	switch {
	case id == simkeyAAGUID:
		return "a keyceremony simkey (a virtual key, allowed in a rehearsal only)"
	case aaguid.IsZero():
		return "a key without a model AAGUID"
	}
	return "a key of a model the policy and the MDS blob do not name"
}
