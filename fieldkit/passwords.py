"""Console passwords, hashed with the standard library's scrypt (no web library:
fieldkit.store uses this). Hashes are written as `scrypt:N:r:p$salt$hex`, the format
werkzeug writes and fieldkit stored before; `pbkdf2:hash:iterations$salt$hex` ones
are read too. tests/test_contracts.py holds both directions against werkzeug."""
from __future__ import annotations

import hashlib
import hmac
import secrets
import string

N, R, P = 2 ** 15, 8, 1  # 32 MiB of memory a hash, about 0.1 s
SALT_ALPHABET = string.ascii_letters + string.digits


def _scrypt(password: str, salt: str, n: int, r: int, p: int) -> str:
    return hashlib.scrypt(password.encode(), salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p).hex()


def hash_password(password: str) -> str:
    salt = "".join(secrets.choice(SALT_ALPHABET) for _ in range(16))
    return f"scrypt:{N}:{R}:{P}${salt}${_scrypt(password, salt, N, R, P)}"


def check_password(stored: str, password: str) -> bool:
    """Whether password is the one stored was made from; False for anything unreadable."""
    try:
        method, salt, digest = stored.split("$", 2)
        name, *args = method.split(":")
        if name == "scrypt":
            n, r, p = (int(a) for a in args) if args else (N, R, P)
            if not (2 <= n <= 2 ** 20 and 1 <= r <= 32 and 1 <= p <= 16):  # a bound on the work a stored hash asks
                return False
            found = _scrypt(password, salt, n, r, p)
        elif name == "pbkdf2":
            algorithm, iterations = (args + ["600000"])[:2] if args else ("sha256", "600000")
            found = hashlib.pbkdf2_hmac(algorithm, password.encode(), salt.encode(), int(iterations)).hex()
        else:
            return False
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(found, digest)
