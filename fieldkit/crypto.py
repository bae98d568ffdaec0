"""Encryption of answers, with the `cryptography` library; nothing home-made.

Three uses:
- Encrypted forms (the ODK model): each submission is sealed the moment it
  arrives with a fresh AES-256-GCM key, itself wrapped with the form's RSA
  public key (OAEP, SHA-256). The key is ODK's format: base64 DER
  SubjectPublicKeyInfo, as in XLSForm's settings `public_key`. Only the holder
  of the private key can open the answers; the laptop and the central cannot.
- ODK's own encryption (https://getodk.github.io/xforms-spec/encryption), for what ODK Collect
  encrypts itself (a form whose XLSForm sets public_key): stored as it came, opened at export
  with the same private key. Its AES-256 key is wrapped with RSA-OAEP (SHA-256, MGF1-SHA-256:
  the same OAEP as fieldkit's), each file is AES-256-CFB with PKCS#7 padding, and the IVs come
  from the MD5 of the instanceID and that key, one byte stepped per file (odk_ivs).
- Drafts: answers in progress are sealed with a key derived (HKDF) from the
  participant's draft token, which lives only in their session cookie; the
  database keeps a hash of the token, so a copied database opens no draft.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

try:  # ODK's AES-CFB: in cryptography's "decrepit" module from 47 on (kept for old formats like ODK's)
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
except ImportError:  # pragma: no cover - cryptography before 47
    from cryptography.hazmat.primitives.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MARK = "__encrypted__"
SCHEME = "RSA-OAEP-SHA256+AES-256-GCM"
ODK_SCHEME = "odk"  # ODK Collect's own envelope (odk_envelope): opened to its instance XML
ODK_XML = "__odk_instance__"  # what unseal gives for one: {ODK_XML: the instance XML}, for forms/instance.py
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


class CryptoKeyError(ValueError):
    """A key that cannot be read, or that does not open these answers."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def new_key_pair(bits: int = 3072) -> tuple[bytes, str]:
    """(private key as PEM, public key as ODK's base64 DER)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem, _b64(der)


def load_public_key(text: str):
    try:
        key = serialization.load_der_public_key(base64.b64decode("".join(text.split()), validate=True))
    except (ValueError, TypeError):
        raise CryptoKeyError("not a base64 RSA public key") from None
    if not isinstance(key, rsa.RSAPublicKey) or key.key_size < 2048:
        raise CryptoKeyError("the public key must be RSA, 2048 bits or more")
    return key


def load_private_key(pem: bytes):
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise CryptoKeyError("not an unencrypted PEM private key") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CryptoKeyError("the private key must be RSA")
    return key


def is_sealed(answers) -> bool:
    return isinstance(answers, dict) and MARK in answers


def fingerprint(public_key) -> str:
    """A key pair's short name: the first 16 hex digits of the SHA-256 of its public key
    (DER). The same for the private key's own public half."""
    if isinstance(public_key, rsa.RSAPrivateKey):
        public_key = public_key.public_key()
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:16]


def seal(public_key_text: str, answers: dict) -> dict:
    """Answers -> {"__encrypted__": {...}}: what the store keeps for an encrypted form;
    kid names the key pair, so that after a key is replaced each answer says which opens it."""
    content_key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
    plain = json.dumps(answers, ensure_ascii=False, sort_keys=True).encode()
    public = load_public_key(public_key_text)
    wrapped = public.encrypt(content_key, OAEP)
    return {MARK: {"scheme": SCHEME, "kid": fingerprint(public), "key": _b64(wrapped), "nonce": _b64(nonce),
                   "data": _b64(AESGCM(content_key).encrypt(nonce, plain, None))}}


class Keyring:
    """The private keys given for one export (a form whose key was replaced has answers
    sealed for each): each answer is opened with the key its kid names; an answer sealed
    before kids were recorded, with whichever key opens it."""

    def __init__(self, keys):
        self.keys = {fingerprint(k): k for k in keys}

    def __bool__(self):
        return bool(self.keys)

    def opens(self, answers: dict) -> bool:
        try:
            self.unseal(answers)
            return True
        except CryptoKeyError:
            return False

    def unseal(self, answers: dict) -> dict:
        kid = (answers.get(MARK) or {}).get("kid")
        if kid:
            if kid not in self.keys:
                raise CryptoKeyError(f"these answers need the key {kid}")
            return _unseal_with(self.keys[kid], answers)
        for key in self.keys.values():
            try:
                return _unseal_with(key, answers)
            except CryptoKeyError:
                continue
        raise CryptoKeyError("none of the keys given opens these answers")


def unseal(private_key, answers: dict) -> dict:
    """With one private key, or a Keyring of several."""
    if isinstance(private_key, Keyring):
        return private_key.unseal(answers)
    return _unseal_with(private_key, answers)


def _unseal_with(private_key, answers: dict) -> dict:
    envelope = answers[MARK]
    if envelope.get("scheme") == ODK_SCHEME:
        return {ODK_XML: odk_open(private_key, envelope).decode("utf-8")}
    try:
        content_key = private_key.decrypt(base64.b64decode(envelope["key"]), OAEP)
        plain = AESGCM(content_key).decrypt(base64.b64decode(envelope["nonce"]),
                                            base64.b64decode(envelope["data"]), None)
    except (ValueError, InvalidTag, KeyError):
        raise CryptoKeyError("this private key does not open these answers") from None
    return json.loads(plain)


# --- ODK's encryption ---------------------------------------------------------------------------

def odk_envelope(public_key_text: str, wrapped_key: str, instance_id: str, encrypted_xml: bytes,
                 files: list[str], signature: str = "") -> dict:
    """What the store keeps of ODK Collect's encrypted submission, as it came: the wrapped
    key (base64EncryptedKey), the instanceID (its IVs' seed), submission.xml.enc, and the
    encrypted media files' names in the envelope's order (each file's IV is its place)."""
    return {MARK: {"scheme": ODK_SCHEME, "kid": fingerprint(load_public_key(public_key_text)), "key": wrapped_key,
                   "nonce": instance_id, "data": _b64(encrypted_xml), "files": list(files), "signature": signature}}


def odk_ivs(instance_id: str, key: bytes, count: int) -> list[bytes]:
    """The IVs of a submission's files, in order (its media files, then submission.xml):
    the MD5 of the instanceID and the key, then, for file n, byte n mod 16 stepped by one
    (and kept stepped for the next)."""
    runner = bytearray(hashlib.md5(instance_id.encode("utf-8") + key).digest())
    ivs = []
    for n in range(count):
        runner[n % 16] = (runner[n % 16] + 1) & 0xFF
        ivs.append(bytes(runner))
    return ivs


def odk_key(private_key, envelope: dict) -> bytes:
    try:
        key = private_key.decrypt(base64.b64decode(envelope["key"]), OAEP)
    except (ValueError, KeyError, TypeError):
        raise CryptoKeyError("this private key does not open these answers") from None
    if len(key) != 32:
        raise CryptoKeyError("not an ODK submission key")
    return key


def odk_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """One file: AES-256-CFB, then PKCS#7 padding checked and removed."""
    decryptor = Cipher(algorithms.AES(key), CFB(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    pad = padded[-1] if padded else 0
    if not 1 <= pad <= 16 or padded[-pad:] != bytes([pad]) * pad:
        raise CryptoKeyError("this private key does not open these answers")
    return padded[:-pad]


def odk_open(private_key, envelope: dict) -> bytes:
    """The instance XML inside ODK's envelope (the last of its files)."""
    key = odk_key(private_key, envelope)
    files = envelope.get("files") or []
    iv = odk_ivs(envelope["nonce"], key, len(files) + 1)[-1]
    return odk_decrypt(key, iv, base64.b64decode(envelope["data"]))


def odk_open_file(private_key, envelope: dict, name: str, data: bytes) -> bytes:
    """One of the envelope's encrypted media files, by its name there (with one private key,
    or a Keyring of several: the one its kid names)."""
    files = envelope.get("files") or []
    if isinstance(private_key, Keyring):
        if envelope.get("kid") not in private_key.keys:
            raise CryptoKeyError(f"these answers need the key {envelope.get('kid')}")
        private_key = private_key.keys[envelope["kid"]]
    if name not in files:
        raise CryptoKeyError("this file is not one of the submission's")
    key = odk_key(private_key, envelope)
    return odk_decrypt(key, odk_ivs(envelope["nonce"], key, files.index(name) + 1)[-1], data)


def _draft_key(token: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"fieldkit draft v1", info=b"answers").derive(
        token.encode())


def seal_draft(token: str, answers: dict) -> str:
    nonce = os.urandom(12)
    plain = json.dumps(answers, ensure_ascii=False).encode()
    return json.dumps({"nonce": _b64(nonce), "data": _b64(AESGCM(_draft_key(token)).encrypt(nonce, plain, None))})


def open_draft(token: str, stored: str) -> dict | None:
    """None when the token does not open it (a forged or stale cookie)."""
    try:
        envelope = json.loads(stored)
        plain = AESGCM(_draft_key(token)).decrypt(base64.b64decode(envelope["nonce"]),
                                                  base64.b64decode(envelope["data"]), None)
    except (ValueError, InvalidTag, KeyError, TypeError):
        return None
    return json.loads(plain)


# Files a participant attaches (a photo, a recording): bytes, sealed the same two ways.

def seal_draft_bytes(token: str, data: bytes) -> bytes:
    """A draft's attachment: 12 bytes of nonce, then AES-GCM with the token's key."""
    nonce = os.urandom(12)
    return nonce + AESGCM(_draft_key(token)).encrypt(nonce, data, b"attachment")


def open_draft_bytes(token: str, stored: bytes) -> bytes | None:
    try:
        return AESGCM(_draft_key(token)).decrypt(stored[:12], stored[12:], b"attachment")
    except (ValueError, InvalidTag):
        return None


def seal_bytes(public_key_text: str, data: bytes) -> bytes:
    """An encrypted form's attachment: a JSON envelope as for its answers, as bytes."""
    return json.dumps(seal(public_key_text, {"data": _b64(data)})).encode()


def unseal_bytes(private_key, stored: bytes) -> bytes:
    return base64.b64decode(unseal(private_key, json.loads(stored))["data"])
