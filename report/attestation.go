package report

// Attestation is the attestation verdict of a key as the signed report
// records it. It is the report's own type, so that the keyceremony-report/1
// schema does not change when the verifier's does: its JSON names are the
// schema's, written down here once.
type Attestation struct {
	// Trusted: the statement verifies and chains to a trusted root.
	Trusted bool `json:"trusted"`
	// Allowed: Trusted and every policy check passed.
	Allowed         bool                `json:"allowed"`
	Format          string              `json:"format"`
	AttestationType string              `json:"attestation_type,omitempty"`
	AAGUID          string              `json:"aaguid"`
	CertAAGUID      string              `json:"cert_aaguid,omitempty"`
	Model           string              `json:"model,omitempty"`
	Root            *Certificate        `json:"root,omitempty"`
	Chain           []Certificate       `json:"chain,omitempty"` // attestation certificate first
	MDS             *MDSEntry           `json:"mds,omitempty"`
	Firmware        string              `json:"firmware,omitempty"`
	MinFirmware     string              `json:"min_firmware,omitempty"`
	PolicyName      string              `json:"policy"`
	PolicySHA256    string              `json:"policy_sha256"`
	Rehearsal       bool                `json:"rehearsal,omitempty"`
	Reasons         []AttestationReason `json:"reasons,omitempty"`
}

// Certificate names one certificate of an attestation chain.
type Certificate struct {
	Subject string `json:"subject"`
	SHA256  string `json:"sha256"`
}

// MDSEntry is what the FIDO Metadata Service said of the model.
type MDSEntry struct {
	Serial        int      `json:"serial"`
	BlobSHA256    string   `json:"blob_sha256"`
	Description   string   `json:"description,omitempty"`
	Statuses      []string `json:"statuses,omitempty"`
	Certification string   `json:"certification,omitempty"`
}

// AttestationReason is one reason a verdict refused a key.
type AttestationReason struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}
