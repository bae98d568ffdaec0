"""Encryption of answers, with the `cryptography` library; nothing home-made.

Two uses:
- Encrypted forms (the ODK model): each submission is sealed the moment it
  arrives with a fresh AES-256-GCM key, itself wrapped with the form's RSA
  public key (OAEP, SHA-256). The key is ODK's format: base64 DER
  SubjectPublicKeyInfo, as in XLSForm's settings `public_key`. Only the holder
  of the private key can open the answers; the laptop and the central cannot.
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
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MARK = "__encrypted__"
SCHEME = "RSA-OAEP-SHA256+AES-256-GCM"
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
    try:
        content_key = private_key.decrypt(base64.b64decode(envelope["key"]), OAEP)
        plain = AESGCM(content_key).decrypt(base64.b64decode(envelope["nonce"]),
                                            base64.b64decode(envelope["data"]), None)
    except (ValueError, InvalidTag, KeyError):
        raise CryptoKeyError("this private key does not open these answers") from None
    return json.loads(plain)


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
