"""python-fido2 (Yubico's reference client, Debian python3-fido2) drives
keyceremony's simkey over its SOCK_SEQPACKET socket and reports, as JSON on
stdout, what it saw. The Go test asserts on the report. Any disagreement is
a simkey bug until proven otherwise.

usage: python_fido2_interop.py SOCKET ROOT_PEM
"""
import hashlib
import json
import socket
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from fido2.attestation import PackedAttestation
from fido2.attestation.base import verify_x509_chain
from fido2.ctap import CtapError
from fido2.ctap2 import Ctap2
from fido2.ctap2.credman import CredentialManagement
from fido2.ctap2.pin import ClientPin, PinProtocolV1, PinProtocolV2
from fido2.hid import CtapHidDevice
from fido2.hid.base import CtapHidConnection, HidDescriptor

RP = {"id": "login.microsoft.com", "name": "Microsoft"}
# python-fido2 0.9.1 sends getPinUvAuthTokenUsingPinWithPermissions whenever
# the key supports it, so callers must always name permissions (a CTAP 2.1
# key answers MISSING_PARAMETER otherwise, as simkey does).
MC = ClientPin.PERMISSION.MAKE_CREDENTIAL


class SeqpacketConnection(CtapHidConnection):
    """One 64-byte HID report per SOCK_SEQPACKET message, no report ID."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(10)
        self.sock.connect(path)

    def read_packet(self):
        return self.sock.recv(64)

    def write_packet(self, data):
        self.sock.send(data)

    def close(self):
        self.sock.close()


def main():
    path, root_pem = sys.argv[1], open(sys.argv[2], "rb").read()
    root_der = x509.load_pem_x509_certificate(root_pem).public_bytes(serialization.Encoding.DER)
    out = {}
    dev = CtapHidDevice(HidDescriptor(path, 0, 0, 64, 64), SeqpacketConnection(path))
    ctap = Ctap2(dev, strict_cbor=True)  # replies must be CTAP2 canonical CBOR
    info = ctap.info
    out["aaguid"] = info.aaguid.hex()
    out["versions"] = info.versions
    out["pin_protocols"] = info.pin_uv_protocols
    out["options"] = info.options
    out["firmware"] = info.firmware_version

    ctap.reset()  # the Go test starts the server just before: inside the window
    out["reset"] = True

    # PIN under protocol 2, then reset and again under protocol 1.
    pin2 = ClientPin(ctap, PinProtocolV2())
    pin2.set_pin("1357")
    pin2.change_pin("1357", "24682468")
    pin2.get_pin_token("24682468", MC)
    ctap.reset()
    ctap = Ctap2(dev, strict_cbor=True)
    pin1 = ClientPin(ctap, PinProtocolV1())
    pin1.set_pin("1111")
    pin1.change_pin("1111", "97531")
    pin1.get_pin_token("97531", MC)
    out["pin_protocols_exercised"] = [2, 1]

    # A wrong PIN costs one retry and is reported as PIN_INVALID.
    try:
        pin1.get_pin_token("00000", MC)
        out["wrong_pin"] = "accepted"
    except CtapError as e:
        out["wrong_pin"] = e.code.name
    out["retries_after_wrong_pin"] = pin1.get_pin_retries()[0]

    # A protocol-2 client uses the PIN set through protocol 1.
    ctap = Ctap2(dev, strict_cbor=True)
    pin = ClientPin(ctap, PinProtocolV2())
    out["retries_after_good_pin"] = None
    token = pin.get_pin_token(
        "97531", ClientPin.PERMISSION.MAKE_CREDENTIAL | ClientPin.PERMISSION.GET_ASSERTION, RP["id"]
    )
    out["retries_after_good_pin"] = pin.get_pin_retries()[0]

    cdh = hashlib.sha256(b"python-fido2 clientDataJSON").digest()
    att = ctap.make_credential(
        cdh,
        RP,
        {"id": b"breakglass-1", "name": "bg1@contoso.onmicrosoft.com", "displayName": "Break Glass 1"},
        [{"type": "public-key", "alg": -7}],
        extensions={"credProtect": 1, "hmac-secret": True},
        options={"rk": True},
        pin_uv_param=pin.protocol.authenticate(token, cdh),
        pin_uv_protocol=pin.protocol.VERSION,
    )
    out["fmt"] = att.fmt
    PackedAttestation().verify(att.att_statement, att.auth_data, cdh)  # raises on failure
    verify_x509_chain(att.att_statement["x5c"] + [root_der])  # raises on failure
    out["attestation_verified"] = True
    cred = att.auth_data.credential_data
    out["credential_id"] = cred.credential_id.hex()
    out["cred_aaguid"] = cred.aaguid.hex()
    out["extensions"] = {k: v for k, v in (att.auth_data.extensions or {}).items()}

    adh = hashlib.sha256(b"python-fido2 assertion").digest()
    assertion = ctap.get_assertion(
        RP["id"],
        adh,
        allow_list=[{"type": "public-key", "id": cred.credential_id}],
        pin_uv_param=pin.protocol.authenticate(token, adh),
        pin_uv_protocol=pin.protocol.VERSION,
    )
    assertion.verify(adh, cred.public_key)  # raises on failure
    out["assertion_verified"] = True
    out["assertion_counter"] = assertion.auth_data.counter

    cm_token = pin.get_pin_token("97531", ClientPin.PERMISSION.CREDENTIAL_MGMT)
    credman = CredentialManagement(ctap, pin.protocol, cm_token)
    meta = credman.get_metadata()
    out["existing_creds"] = meta[CredentialManagement.RESULT.EXISTING_CRED_COUNT]
    rps = credman.enumerate_rps()
    out["rps"] = [rp[CredentialManagement.RESULT.RP]["id"] for rp in rps]
    creds = credman.enumerate_creds(hashlib.sha256(RP["id"].encode()).digest())
    out["enumerated_ids"] = [c[CredentialManagement.RESULT.CREDENTIAL_ID]["id"].hex() for c in creds]
    # A second credential, then deleted again through python-fido2.
    cdh2 = hashlib.sha256(b"second").digest()
    token = pin.get_pin_token("97531", ClientPin.PERMISSION.MAKE_CREDENTIAL, RP["id"])
    att2 = ctap.make_credential(
        cdh2, RP, {"id": b"temp", "name": "temp"}, [{"type": "public-key", "alg": -7}],
        options={"rk": True}, pin_uv_param=pin.protocol.authenticate(token, cdh2), pin_uv_protocol=2,
    )
    cm_token = pin.get_pin_token("97531", ClientPin.PERMISSION.CREDENTIAL_MGMT)
    credman = CredentialManagement(ctap, pin.protocol, cm_token)
    credman.delete_cred({"type": "public-key", "id": att2.auth_data.credential_data.credential_id})
    out["existing_after_delete"] = credman.get_metadata()[CredentialManagement.RESULT.EXISTING_CRED_COUNT]
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
