#!/usr/bin/env python3
"""Verify a DSSE envelope of ours outside our code, with securesystemslib.

usage: dsse_verify.py ENVELOPE_JSON [--export DIR]

ENVELOPE_JSON is a trust root (checked against its root role's keys) or a bundle's
statement.dsse.json (checked against the collector key its embedded certificate names).

Computes DSSE's PAE itself (from the spec), then checks the ECDSA P-384 signature of every root-role
key with securesystemslib's "ecdsa-sha2-nistp384" scheme. With --export, also writes pae.bin,
root-ecdsa.pub.pem and root-ecdsa.sig.der to DIR so that `openssl dgst -sha384 -verify` can check
the same signature. Exit 0 when verified, 1 when a signature does not verify, 2 on bad input.
"""
import base64
import json
import os
import sys


def pae(payload_type: bytes, payload: bytes) -> bytes:
    # DSSE v1: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body
    return b"DSSEv1 %d %b %d %b" % (len(payload_type), payload_type, len(payload), payload)


def main() -> int:
    args = sys.argv[1:]
    if not args or len(args) not in (1, 3) or (len(args) == 3 and args[1] != "--export"):
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0], "rb") as f:
        env = json.load(f)
    payload = base64.b64decode(env["payload"], validate=True)
    message = pae(env["payloadType"].encode(), payload)
    doc = json.loads(payload)
    sigs = {s["keyid"]: base64.b64decode(s["sig"], validate=True) for s in env["signatures"]}
    if env["payloadType"] == "application/vnd.in-toto+json":
        cert = json.loads(base64.b64decode(doc["predicate"]["collector"]["certificate"]["payload"]))
        signers = [cert["collector"]]
    else:
        signers = [doc["keys"][k] for k in doc["roles"]["root"]["keyids"]]

    from securesystemslib.signer import Signature, SSlibKey
    from securesystemslib import exceptions

    checked = 0
    for signer in signers:
        for comp in signer["components"]:
            if comp["scheme"] != "ecdsa-p384-sha384":
                continue  # securesystemslib has no ML-DSA
            sig = sigs.get(comp["keyid"])
            if sig is None:
                print(f"no signature by {comp['keyid']}", file=sys.stderr)
                return 1
            key = SSlibKey(comp["keyid"], "ecdsa", "ecdsa-sha2-nistp384", {"public": comp["public"]})
            try:
                key.verify_signature(Signature(comp["keyid"], sig.hex()), message)
            except exceptions.UnverifiedSignatureError as e:
                print(f"securesystemslib: {e}", file=sys.stderr)
                return 1
            checked += 1
            if len(args) == 3:
                out = args[2]
                with open(os.path.join(out, "pae.bin"), "wb") as f:
                    f.write(message)
                with open(os.path.join(out, "root-ecdsa.pub.pem"), "w") as f:
                    f.write(comp["public"])
                with open(os.path.join(out, "root-ecdsa.sig.der"), "wb") as f:
                    f.write(sig)
    if checked == 0:
        print("no ECDSA root key to check", file=sys.stderr)
        return 1
    print(f"securesystemslib verified {checked} ECDSA P-384 signature(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
