"""The instance a data directory holds: its configuration resolved, its database migrated, its
secrets read, the demo loaded into an empty one. What the Flask app is made on (web/app.py,
web/db.py), and what `fieldkit serve`'s parent does alone when its workers make the apps: it
then starts without Flask, half a second sooner (bench/RESULTS.md, start-up)."""
from __future__ import annotations

from dataclasses import dataclass

from .. import config as configuration, store
from ..forms.model import Form
from ..store import drafts, forms as form_store, meta
from ..store.db import url_for as db_url
from . import forms as form_service


@dataclass
class Instance:
    secret_key: str
    device_id: str
    demo: form_service.Imported | None  # the demo, when it was loaded just now


def configure(overrides: dict | None = None) -> dict:
    """The configuration with the data directory made, and the one name of the database:
    sqlite:///... in the data directory unless told otherwise."""
    config = configuration.load(overrides)
    data_dir = configuration.prepare_data_dir(config["DATA_DIR"])
    config["DATABASE"] = config["DATABASE_URL"] or db_url(data_dir)
    config["READ_DATABASE"] = config["READ_DATABASE_URL"] or config["DATABASE"]
    return config


def demo_wanted(config: dict) -> bool:
    return config["LOAD_DEMO"] not in (False, "0", "false", "no")


def prepare(db, load_demo: bool = True) -> Instance:
    """On a migrated database: the secrets (made on first use), expired drafts purged, and
    the bundled demo in an instance with no forms."""
    secret, device = meta.secret_key(db), meta.device_id(db)
    drafts.purge_expired(db)
    return Instance(secret, device, form_service.ensure_demo(db) if load_demo else None)


def new_demo(db, config: dict, prepared: Instance) -> Form | None:
    """The demo form when it was loaded just now: by prepare, or by serve's parent for the
    worker this is (start() names it in the settings the workers' apps are made from)."""
    if prepared.demo is not None:
        return prepared.demo.form
    loaded = config.get(DEMO_LOADED)
    return form_store.form_version(db, *loaded) if loaded else None


def fonts_later(config: dict, demo: Form | None):
    """The font subsets, built in the background after start-up (seconds of work, which the
    first page should not wait for): the demo's when it was loaded just now, then those every
    laptop's console and neutral pages use. None when the configuration says not to."""
    if not config.get("FONTS_IN_BACKGROUND", True):
        return None
    return form_service.prepare_fonts_later(config["DATABASE"], demo, general=True)


DEMO_LOADED = "DEMO_LOADED"  # (form_id, version) of a demo serve's parent loaded, for its workers


def start(overrides: dict | None = None) -> dict:
    """configure and prepare, on a connection of its own (which migrates the database), for
    processes that make the apps: the configuration they are made from. A demo loaded just now
    is named in it, so that their apps build its font subsets as one that loaded it would."""
    config = configure(overrides)
    db = store.connect(config["DATABASE"], migrate=True)
    try:
        prepared = prepare(db, demo_wanted(config))
    finally:
        db.close()
    if prepared.demo is not None:
        config[DEMO_LOADED] = (prepared.demo.form.form_id, prepared.demo.form.version)
    return config
