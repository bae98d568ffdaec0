"""Console accounts and sync devices: the use cases the command line and the console
share. Each writes its own entry in the activity log, so that no caller can forget it
(actor: the console user, or None for the command line; via: how)."""
from __future__ import annotations

import secrets

from ..store import audit, devices as device_store, meta, users
from ..store.util import token_hash
from ..store.devices import DeviceExists
from ..store.users import UserExists

__all__ = ["DeviceExists", "UserExists", "add_device", "add_user", "new_setup_token", "remove_user", "revoke_device", "set_password"]


def new_setup_token(db) -> str | None:
    """A one-time link to create the first coordinator, while there is none (web/auth.setup
    takes it once); only its hash is kept."""
    if users.count_users(db):
        return None
    token = secrets.token_urlsafe(24)
    meta.put(db, "setup_token", token_hash(token))
    return token


def add_user(db, username: str, password: str, role: str, actor: str | None = None,
             via: str = "command line") -> None:
    users.add_user(db, username, password, role)
    audit.record(db, actor, "user.created", account=username, role=role, via=via)


def set_password(db, username: str, password: str, actor: str | None = None, via: str = "command line") -> bool:
    """A new password; every session of the account ends. False: no such account."""
    if not users.set_password(db, username, password):
        return False
    audit.record(db, actor, "user.password_changed", account=username, via=via)
    return True


def remove_user(db, username: str, actor: str | None = None, via: str = "command line") -> bool:
    if not users.delete_user(db, username):
        return False
    audit.record(db, actor, "user.removed", account=username, via=via)
    return True


def add_device(db, name: str, actor: str | None = None, via: str = "command line") -> str:
    """Register a laptop on a central; its token, shown once (only a hash is kept)."""
    token = device_store.add_device(db, name)
    audit.record(db, actor, "device.added", device=name, via=via)
    return token


def revoke_device(db, name: str, actor: str | None = None, via: str = "command line") -> bool:
    if not device_store.revoke_device(db, name):
        return False
    audit.record(db, actor, "device.revoked", device=name, via=via)
    return True
