"""Times one CTAP operation from python-fido2 (Debian python3-fido2) against
a simkey socket, for keyceremony's backend benchmark. The key has PIN.

usage: bench_python_fido2.py SOCKET OP N PIN
OP: getInfo | pinToken | makeCredential | getAssertion
Prints the mean nanoseconds per operation, setup excluded.
"""
import hashlib
import os
import sys
import time

from fido2.ctap2 import Ctap2
from fido2.ctap2.credman import CredentialManagement
from fido2.ctap2.pin import ClientPin
from fido2.hid import CtapHidDevice
from fido2.hid.base import HidDescriptor

# The socket connection is the interop test's: one definition of it.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "cmd", "keyceremony", "testdata"))
from python_fido2_interop import SeqpacketConnection  # noqa: E402

RP = {"id": "login.microsoft.com", "name": "Microsoft"}
USER = {"id": b"bench-user", "name": "breakglass1@contoso.onmicrosoft.com"}
ES256 = [{"type": "public-key", "alg": -7}]
CDH = hashlib.sha256(b"keyceremony benchmark").digest()


def main():
    path, op, n, pin = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    dev = CtapHidDevice(HidDescriptor(path, 0, 0, 64, 64), SeqpacketConnection(path))
    ctap = Ctap2(dev)
    client_pin = ClientPin(ctap)
    cred_id = ctap.make_credential(CDH, RP, USER, ES256).auth_data.credential_data.credential_id
    allow = [{"type": "public-key", "id": cred_id}]

    def get_info():
        ctap.get_info()

    def pin_token():
        token = client_pin.get_pin_token(pin, ClientPin.PERMISSION.CREDENTIAL_MGMT)
        CredentialManagement(ctap, client_pin.protocol, token).get_metadata()

    def make_credential():
        ctap.make_credential(CDH, RP, USER, ES256)

    def get_assertion():
        ctap.get_assertion(RP["id"], CDH, allow)

    fn = {"getInfo": get_info, "pinToken": pin_token, "makeCredential": make_credential, "getAssertion": get_assertion}[op]
    fn()  # warm up
    start = time.perf_counter_ns()
    for _ in range(n):
        fn()
    print((time.perf_counter_ns() - start) / n)
    dev.close()


if __name__ == "__main__":
    main()
