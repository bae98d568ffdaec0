"""The database is named by a URL (issue 16's one name for it): sqlite:///PATH for a
laptop; another scheme is refused in plain words until it is supported."""
from pathlib import Path

import pytest

from fieldkit import store
from fieldkit.store.db import DATABASE_FILE, sqlite_path, url_for


def test_the_app_names_its_database_by_url(app):
    url = app.config["DATABASE"]
    assert url.startswith("sqlite:///") and url.endswith("/" + DATABASE_FILE)
    db = store.connect(url)
    try:
        assert db["forms"].count >= 1  # the demo, in that file
    finally:
        db.conn.close()


def test_a_url_and_a_path_open_the_same_file(tmp_path):
    url = url_for(tmp_path)
    assert sqlite_path(url) == tmp_path.resolve() / DATABASE_FILE == sqlite_path(tmp_path.resolve() / DATABASE_FILE)
    store.connect(url, migrate=True).conn.close()
    assert (tmp_path / DATABASE_FILE).exists()


def test_a_database_fieldkit_cannot_open_yet_is_refused_in_plain_words():
    with pytest.raises(ValueError, match="cannot open a postgresql database yet"):
        store.connect("postgresql://fieldkit@127.0.0.1/central")
    assert isinstance(sqlite_path("relative/fieldkit.db"), Path)
