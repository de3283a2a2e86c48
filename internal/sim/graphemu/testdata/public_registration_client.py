"""A client that is not keyceremony's: it sends exactly the requests of
Yubico's public bulk-registration scripts (github.com/YubicoLabs/
entraId-register-passkeys-on-behalf-of-users, bulkRegistration/step1 and
step2), with the standard library's HTTP client and Yubico's python-fido2
driving a simkey, and reports what the Graph emulator answered as JSON on
stdout. The Go test asserts those answers are Entra's.

The request shapes it copies from those scripts:
  - the token: POST {authority}/{tenant}/oauth2/v2.0/token, form-encoded
    grant_type=client_credentials, client_id, client_secret, scope;
  - every Graph call: "Authorization: <token>", without "Bearer ";
  - creation options: GET beta .../fido2Methods/creationOptions with the
    query option ?challengeTimeoutInMinutes=N;
  - registration: POST beta .../fido2Methods with publicKeyCredential
    {id, response {attestationObject, clientDataJSON}, clientExtensionResults
    = the authenticator's own extension outputs (e.g. "hmac-secret",
    "credProtect")} and a displayName.

usage: public_registration_client.py GRAPH_URL CA_PEM TENANT CLIENT_ID SECRET_FILE UPN SIMKEY_SOCKET
"""
import base64
import hashlib
import json
import os
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

from fido2.ctap2 import AttestationObject, Ctap2
from fido2.ctap2.pin import ClientPin, PinProtocolV2
from fido2.hid import CtapHidDevice
from fido2.hid.base import HidDescriptor

# The socket connection is the interop test's: one definition of it.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "cmd", "keyceremony", "testdata"))
from python_fido2_interop import SeqpacketConnection  # noqa: E402


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64url(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class Graph:
    def __init__(self, root, ca):
        self.root = root
        self.ctx = ssl.create_default_context(cafile=ca)
        self.token = None

    def call(self, method, url, body=None, form=False):
        headers = {"Accept": "application/json"}
        data = None
        if form:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = self.token  # as the scripts send it: no "Bearer "
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, context=self.ctx) as r:
                raw = r.read()
                return r.status, (json.loads(raw) if raw else None)
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, (json.loads(raw) if raw else None)


def main():
    root, ca, tenant, client_id, secret_file, upn, sock = sys.argv[1:8]
    secret = open(secret_file).read().strip()
    g = Graph(root, ca)
    out = {}

    status, tok = g.call("POST", root + "/" + tenant + "/oauth2/v2.0/token", {
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": secret, "scope": "https://graph.microsoft.com/.default"}, form=True)
    out["token_status"] = status
    status, bad = g.call("POST", root + "/" + tenant + "/oauth2/v2.0/token", {
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": "wrong", "scope": "https://graph.microsoft.com/.default"}, form=True)
    out["wrong_secret_status"], out["wrong_secret_error"] = status, (bad or {}).get("error")
    g.token = tok["access_token"]

    users = root + "/beta/users/" + urllib.parse.quote(upn)
    status, opts = g.call("GET", users + "/authentication/fido2Methods/creationOptions?challengeTimeoutInMinutes=60")
    out["options_status"] = status
    out["options_context"] = opts.get("@odata.context")
    out["challenge_timeout"] = opts.get("challengeTimeoutDateTime")
    out["public_key_timeout"] = opts["publicKey"].get("timeout")
    status, _ = g.call("GET", users + "/authentication/fido2Methods/creationOptions?challengeTimeoutInMinutes=4")
    out["options_too_short_status"] = status
    status, _ = g.call("GET", root + "/v1.0/users/" + urllib.parse.quote(upn) + "/authentication/fido2Methods/creationOptions?challengeTimeoutInMinutes=60")
    out["v1_query_status"] = status
    status, _ = g.call("GET", users + "/authentication/fido2Methods/creationOptions?challengeTimeOutInMinutes=60")
    out["misspelt_option_status"] = status

    # python-fido2 makes the credential on the simkey, with the client data
    # a browser (python-fido2's DefaultClientDataCollector) would build.
    pk = opts["publicKey"]
    client_data = json.dumps({"type": "webauthn.create", "challenge": pk["challenge"],
                              "origin": "https://" + pk["rp"]["id"], "crossOrigin": False},
                             separators=(",", ":")).encode()
    cdh = hashlib.sha256(client_data).digest()
    dev = CtapHidDevice(HidDescriptor(sock, 0, 0, 64, 64), SeqpacketConnection(sock))
    ctap = Ctap2(dev)
    pin = ClientPin(ctap, PinProtocolV2())
    pin.set_pin("86427531")
    token = pin.get_pin_token("86427531", ClientPin.PERMISSION.MAKE_CREDENTIAL, pk["rp"]["id"])
    att = ctap.make_credential(
        cdh, pk["rp"],
        {"id": unb64url(pk["user"]["id"]), "name": pk["user"]["name"], "displayName": pk["user"]["displayName"]},
        pk["pubKeyCredParams"],
        extensions={"hmac-secret": True, "credProtect": 1},
        options={"rk": True},
        pin_uv_param=pin.protocol.authenticate(token, cdh),
        pin_uv_protocol=pin.protocol.VERSION,
    )
    # The WebAuthn (string-keyed) attestationObject, as a browser and
    # python-fido2's Fido2Client give it to the scripts.
    attestation_object = AttestationObject.create(att.fmt, att.auth_data, att.att_statement).with_string_keys()
    cred_id = b64url(att.auth_data.credential_data.credential_id)
    body = {
        "publicKeyCredential": {
            "id": cred_id,
            "response": {"attestationObject": b64url(bytes(attestation_object)),
                         "clientDataJSON": b64url(client_data)},
            "clientExtensionResults": dict(att.auth_data.extensions or {}),
        },
        "displayName": "Serial: 123456 2026-11-25",
    }
    out["client_extension_results"] = body["publicKeyCredential"]["clientExtensionResults"]
    status, created = g.call("POST", users + "/authentication/fido2Methods", body)
    out["register_status"] = status
    if status != 201:
        out["register_error"] = created
        json.dump(out, sys.stdout)
        return
    out["register_context"] = (created or {}).get("@odata.context")
    out["passkey_type"] = (created or {}).get("passkeyType")
    method_id = (created or {}).get("id")
    status, again = g.call("POST", users + "/authentication/fido2Methods", body)
    out["second_register_status"], out["second_register_code"] = status, ((again or {}).get("error") or {}).get("code")

    status, listed = g.call("GET", users + "/authentication/fido2Methods")
    out["list_status"] = status
    out["listed_ids"] = [m["id"] for m in (listed or {}).get("value", [])]
    out["method_id"] = method_id
    status, _ = g.call("DELETE", users + "/authentication/fido2Methods/" + method_id)
    out["delete_status"] = status
    status, _ = g.call("DELETE", users + "/authentication/fido2Methods/" + method_id)
    out["second_delete_status"] = status

    # displayName is optional (v1.0 reference): a second key without one.
    status, opts = g.call("GET", root + "/v1.0/users/" + urllib.parse.quote(upn) + "/authentication/fido2Methods/creationOptions")
    pk = opts["publicKey"]
    client_data = json.dumps({"type": "webauthn.create", "challenge": pk["challenge"],
                              "origin": "https://" + pk["rp"]["id"], "crossOrigin": False}, separators=(",", ":")).encode()
    cdh = hashlib.sha256(client_data).digest()
    token = pin.get_pin_token("86427531", ClientPin.PERMISSION.MAKE_CREDENTIAL, pk["rp"]["id"])
    att = ctap.make_credential(
        cdh, pk["rp"], {"id": unb64url(pk["user"]["id"]), "name": pk["user"]["name"]}, pk["pubKeyCredParams"],
        options={"rk": True}, pin_uv_param=pin.protocol.authenticate(token, cdh), pin_uv_protocol=pin.protocol.VERSION)
    ao = AttestationObject.create(att.fmt, att.auth_data, att.att_statement).with_string_keys()
    status, created = g.call("POST", root + "/v1.0/users/" + urllib.parse.quote(upn) + "/authentication/fido2Methods", {
        "publicKeyCredential": {"id": b64url(att.auth_data.credential_data.credential_id),
                                "response": {"attestationObject": b64url(bytes(ao)), "clientDataJSON": b64url(client_data)}}})
    out["no_display_name_status"] = status
    out["no_display_name_context"] = (created or {}).get("@odata.context")
    out["default_display_name"] = (created or {}).get("displayName")

    g.token = None
    status, _ = g.call("GET", users + "/authentication/fido2Methods")
    out["no_token_status"] = status
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
