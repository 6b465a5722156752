#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/) from the test
vectors in docs/. Run from anywhere after a vector changes; the output is committed.
Each file is named after what it holds. Python 3 standard library only."""

import base64
import json
import shutil
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CORPUS = ROOT / "fuzz" / "corpus"
B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"


def vector(name):
    return bytes.fromhex((DOCS / "vectors" / name).read_text().strip())


def cbor_item_end(data, at):
    """Index just past the CBOR data item starting at `at` (definite lengths only)."""
    major, info = data[at] >> 5, data[at] & 0x1F
    at += 1
    if info < 24:
        arg = info
    else:
        size = {24: 1, 25: 2, 26: 4, 27: 8}[info]
        arg = int.from_bytes(data[at:at + size], "big")
        at += size
    if major in (0, 1, 7):
        return at
    if major in (2, 3):
        return at + arg
    if major == 6:
        return cbor_item_end(data, at)
    for _ in range(arg * (2 if major == 5 else 1)):
        at = cbor_item_end(data, at)
    return at


def map_value(data, key):
    """The encoded value of unsigned-integer `key` in the top-level CBOR map `data`."""
    info = data[0] & 0x1F
    count, at = (info, 1) if info < 24 else (data[1], 2)
    for _ in range(count):
        key_end = cbor_item_end(data, at)
        value_end = cbor_item_end(data, key_end)
        wanted = bytes([key]) if key < 24 else bytes([0x18, key])
        if data[at:key_end] == wanted:
            return data[key_end:value_end]
        at = value_end
    raise KeyError(key)


def b45decode(text):
    out = bytearray()
    for i in range(0, len(text), 3):
        group = text[i:i + 3]
        value = sum(B45.index(c) * 45**n for n, c in enumerate(group))
        out += value.to_bytes(2 if len(group) == 3 else 1, "big")
    return bytes(out)


def fields(path):
    """`key: value` lines of a docs/vectors-transport file."""
    result = {}
    for line in (DOCS / "vectors-transport" / path).read_text().splitlines():
        if ":" in line and not line.startswith("#"):
            key, value = line.split(":", 1)
            result[key.strip()] = value.strip()
    return result


def main():
    seeds = {}

    def add(target, name, data):
        seeds.setdefault(target, {})[name] = data

    hex_files = sorted((DOCS / "vectors").glob("*.hex"))
    for path in hex_files:
        add("decode_any", path.stem, vector(path.name))
    for path in hex_files:
        name = path.stem
        if name.startswith("payment-request"):
            add("decode_request", name, vector(path.name))
        elif name.startswith("payment-"):
            add("decode_payment", name, vector(path.name))
        elif name.startswith("spend-webauthn"):
            # Key 23 of a spend is its signature: what decode_assertion reads.
            add("decode_assertion", name + "-signature", map_value(vector(path.name), 23))
    add("decode_receipt", "receipt", vector("receipt.hex"))
    add("decode_crl", "crl", vector("crl.hex"))

    w3c = json.loads((DOCS / "vectors" / "webauthn" / "w3c-es256.json").read_text())
    for v in w3c["vectors"]:
        reg, auth = v["registration"], v["authentication"]
        add("registration_attestation", v["name"], bytes.fromhex(reg["attestation_object"]))
        add("registration_client_data", v["name"], bytes.fromhex(reg["client_data_json"]))
        add("der_signature", v["name"] + "-assertion", bytes.fromhex(auth["signature"]))

    # Frames: scanned texts (mode byte 0) and binary frames sealed by the target (mode 1).
    fountain = fields("fountain-payment-600.txt")
    static = fields("static-request.txt")
    texts = [fountain[f"frame-{i}"] for i in range(6)]
    add("transport_frame", "fountain-texts", b"\x00" + "\n".join(texts).encode())
    add("transport_frame", "static-text", b"\x00" + static["frame-text"].encode())
    binary = bytearray(b"\x01")
    for text in texts[:4]:
        content = b45decode(text[4:])[:-4]
        binary += b"\x01" + len(content).to_bytes(2, "big") + content
    add("transport_frame", "fountain-binary", bytes(binary))
    content = b45decode(static["frame-text"][4:])[:-4]
    add("transport_frame", "static-binary", b"\x01\x00" + len(content).to_bytes(2, "big") + content)

    ndef = fields("ndef-payment-600.txt")
    add("ndef", "payment-600", bytes.fromhex(ndef["ndef-hex"]))
    body = bytes.fromhex(static["body-hex"])
    mime = b"application/vnd.ops.request+cbor"
    chunk = b"\x01" + zlib.crc32(body).to_bytes(4, "big") + b"\x00\x01" + body
    add("ndef", "request-1-record", bytes([0xD2, len(mime), len(chunk)]) + mime + chunk)

    payment = base64.b64encode(vector("payment-1hop.hex")).decode()
    cert_id = "ab" * 32
    bodies = {
        "sign-up": {"name": "Alice"},
        "registration-challenge": {"account_id": 1},
        "registration": {
            "challenge_id": "c1",
            "client_data_json": base64.b64encode(
                bytes.fromhex(w3c["vectors"][0]["registration"]["client_data_json"])).decode(),
            "attestation_object": base64.b64encode(
                bytes.fromhex(w3c["vectors"][0]["registration"]["attestation_object"])).decode(),
            "name": "phone",
            "terminal": False,
        },
        "login-challenge": {"credential_id": "f91f391d"},
        "login": {"challenge_id": "c2", "credential_id": "f91f391d",
                  "authenticator_data": "AAAA", "client_data_json": "e30=",
                  "signature": "MEUCIQ=="},
        "fund": {"device": cert_id, "amount": 2500},
        "deposit": {"payment": payment, "depositor": cert_id},
        "deposit-batch": {"depositor": cert_id, "payments": [payment[:64], "AA=="]},
        "defund": {"payment": "AAEC"},
        "revoke-device": {"reason": "lost"},
        "fraud-proof": {"proof": "AAEC"},
        "spend-status": {"spends": ["00" * 32, "11" * 32]},
        "merchant": {"name": "Corner Shop"},
        "terminal-challenge": {"account_id": 7},
        "terminal-registration": {"challenge_id": "c3", "public_key": "04" + "00" * 64,
                                  "signature": "00" * 64, "label": "till 1"},
        "claim-batch": {"from_fi": cert_id, "claims": [
            {"issuer": cert_id, "payment": "AAEC", "depositor": cert_id,
             "deposited_at": 1767312000}]},
        "proof-batch": {"from_fi": cert_id, "proofs": [
            base64.b64encode(vector("fraud-proof.hex")).decode()]},
    }
    for name, value in bodies.items():
        add("api_json", name, json.dumps(value).encode())

    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    total = 0
    for target, files in seeds.items():
        folder = CORPUS / target
        folder.mkdir(parents=True)
        for name, data in files.items():
            (folder / name).write_bytes(data)
            total += len(data)
    print(f"{sum(len(f) for f in seeds.values())} seeds for {len(seeds)} targets, {total} bytes")


if __name__ == "__main__":
    main()
