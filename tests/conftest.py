"""Fixtures: a real app on a real temporary SQLite file, and a participant who
answers through the HTML forms alone, as a phone with JavaScript off would."""
from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

import engines
from engines import engine_url  # noqa: F401  (a fixture for the tests on both engines)
from fieldkit import create_app, store
from fieldkit.crypto import open_draft
from fieldkit.services import forms as form_service

FORMS = Path(__file__).parent / "forms"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """A checkout's catalogues compiled, as installing would do, so that a
    translation edited a moment ago is the one the tests see."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("compile_catalogues", ROOT / "translations" / "compile.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.compile_catalogues(only_stale=True)


@pytest.fixture(scope="session", autouse=True)
def postgresql_cleanup():
    yield
    engines.drop_all_made()


@pytest.fixture(autouse=True)
def test_engine(monkeypatch):
    """With FIELDKIT_TEST_ENGINE=postgresql, this test's fieldkit runs on a PostgreSQL database
    of its own (tests/engines.py): the app, the command line and `fieldkit serve` read
    FIELDKIT_DATABASE_URL, as a central's would."""
    if engines.ENGINE != "postgresql":
        yield None
        return
    url = engines.new_postgresql_database()
    monkeypatch.setenv("FIELDKIT_DATABASE_URL", url)
    yield url
    engines.drop_postgresql_database(url)


@pytest.fixture
def app(tmp_path):
    # Rate limits off here: tests play many participants from one address.
    # tests/test_security.py turns them on where it checks them.
    app = create_app({"DATA_DIR": tmp_path / "data", "TESTING": True, "RATELIMIT_ENABLED": False,
                      "FONTS_IN_BACKGROUND": False})
    yield app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    database = store.connect(app.config["DATABASE"])
    yield database
    database.close()


@pytest.fixture
def add_form(db):
    def add(name: str):
        return form_service.import_path(db, FORMS / name).form
    return add


class Page(HTMLParser):
    """What a person sees and what a browser would post: inputs, errors, text."""

    def __init__(self, html: str):
        super().__init__()
        self.html = html
        self.hidden_fields: dict[str, str] = {}
        self.inputs: list[dict] = []
        self.errors: list[str] = []
        self.lang = None
        self._in_error = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        if tag == "div" and "question" in (a.get("class") or ""):
            self._current_hidden = "hidden" in a
        if tag in ("input", "textarea"):
            if a.get("type") == "hidden":
                self.hidden_fields[a["name"]] = a.get("value", "")
            else:
                self.inputs.append(dict(a, hidden=getattr(self, "_current_hidden", False)))
        if tag == "p" and a.get("class") == "error":
            self._in_error = True

    def handle_endtag(self, tag):
        if tag == "p":
            self._in_error = False

    def handle_data(self, data):
        if self._in_error and data.strip():
            self.errors.append(data.strip())

    @property
    def visible_names(self) -> list[str]:
        names = []
        for i in self.inputs:
            if not i["hidden"] and i["name"] not in names:
                names.append(i["name"])
        return names

    @property
    def text(self) -> str:
        return re.sub(r"<[^>]+>", " ", self.html)


class Participant:
    """Walks a form through its HTML pages: GET a screen, POST it, follow 303s."""

    def __init__(self, client, form_id: str):
        self.client, self.form_id = client, form_id
        self.last = None

    def open(self, lang: str | None = None, accept_language: str | None = None) -> Page:
        headers = {"Accept-Language": accept_language} if accept_language else {}
        query = f"?lang={lang}" if lang else ""
        self.last = self.client.get(f"/f/{self.form_id}{query}", headers=headers)
        return Page(self.last.get_data(as_text=True))

    def choose_language(self, lang: str) -> Page:
        """The language page, then the consent screen it leads to."""
        page = self.open(lang)
        response = self.client.post(f"/f/{self.form_id}/start",
                                    data={"lang": lang, "csrf_token": page.hidden_fields.get("csrf_token", "")})
        assert response.status_code == 303, response.get_data(as_text=True)
        self.last = self.client.get(response.location)
        return Page(self.last.get_data(as_text=True))

    def consent(self, choice: str = "yes"):
        page = Page(self.client.get(f"/f/{self.form_id}/consent").get_data(as_text=True))
        self.last = self.client.post(f"/f/{self.form_id}/consent",
                                     data={"consent": choice, "csrf_token": page.hidden_fields["csrf_token"]})
        remember_tokens(self.client)
        return self.last

    def start(self, lang: str) -> Page:
        """Language, consent, and the first screen."""
        self.choose_language(lang)
        assert self.consent("yes").status_code == 303
        return self.current()

    def current(self) -> Page:
        self.last = self.client.get(f"/f/{self.form_id}/q")
        return Page(self.last.get_data(as_text=True))

    def post(self, answers: dict, action: str = "next", page: Page | None = None, path="q"):
        page = page or self.current()
        data = dict(page.hidden_fields)
        data["_action"] = action
        data.update(answers)
        self.last = self.client.post(f"/f/{self.form_id}/{path}", data=data)
        return self.last

    def answer(self, answers: dict) -> Page:
        """Post a screen and expect to move on."""
        response = self.post(answers)
        assert response.status_code == 303, (response.status_code, Page(response.get_data(as_text=True)).errors)
        return self.current()

    def submit(self):
        page = self.current()
        assert "_uuid" in page.hidden_fields, "not on the review page"
        self.last = self.client.post(f"/f/{self.form_id}/submit", data={
            "csrf_token": page.hidden_fields["csrf_token"], "_uuid": page.hidden_fields["_uuid"]})
        return self.last


def submit_household(p: Participant, other_income: str, lang: str = "en"):
    """Answer tests/forms/household.md with a free-text answer of the test's
    choosing (markup, SQL, a secret), and submit."""
    p.start(lang)
    p.answer({"consent": "yes"})
    p.answer({"people": "1"})
    p.answer({"income": ["other"], "other_income": other_income})
    p.answer({})
    p.answer({})
    response = p.submit()
    assert response.status_code == 303
    return response


@pytest.fixture
def participant(client):
    def make(form_id: str = "wellbeing", client_=None):
        return Participant(client_ or client, form_id)
    return make


def submissions_of(db, form_id: str) -> list[dict]:
    return list(store.submissions.iter_submissions(db, form_id))


TOKENS: dict[str, str] = {}  # token hash -> token, for the drafts the tests' participants started


def remember_tokens(client) -> None:
    with client.session_transaction() as session:
        for token in (session.get("drafts") or {}).values():
            TOKENS[hashlib.sha256(token.encode()).hexdigest()] = token


def drafts_of(db) -> list[dict]:
    """Drafts as the laptop stores them, opened with the tokens the test
    participants hold (the database alone cannot open them)."""
    rows = []
    for row in db.query("SELECT * FROM drafts"):
        token = TOKENS.get(row["token_hash"])
        rows.append(dict(row, answers=open_draft(token, row["answers"]) if token else None))
    return rows


PASSWORD = "a-long-test-password"


def sign_in(client, username: str, password: str = PASSWORD):
    page = Page(client.get("/console/login").get_data(as_text=True))
    return client.post("/console/login", data={"username": username, "password": password,
                                                "csrf_token": page.hidden_fields["csrf_token"]})


@pytest.fixture
def signed_in(app, db):
    """signed_in('coordinator') -> a test client signed in with that role."""
    def make(role: str, username: str | None = None):
        username = username or role
        if store.users.get_user(db, username) is None:
            store.users.add_user(db, username, PASSWORD, role)
        client = app.test_client()
        assert sign_in(client, username).status_code == 303
        return client
    return make


def csrf_of(client, path: str) -> str:
    return Page(client.get(path).get_data(as_text=True)).hidden_fields["csrf_token"]


# Tests that start real server processes or a real browser: `pytest -m "not slow"` leaves them out
# (the quick loop), `bash .ci/run` runs them all.
SLOW_MODULES = {"test_sync", "test_serve", "test_packaging", "test_phones", "test_console_browser",
                "test_forms_browser", "test_real_forms_browser", "test_fonts"}
SLOW_FIXTURES = {"chromium", "phone", "laptop_server", "proxied_server", "capped_server", "central", "kobo_server"}


# In the run on PostgreSQL (FIELDKIT_TEST_ENGINE=postgresql), every test of these modules talks to a
# fieldkit the module shares, started before any test's database exists, so it runs on SQLite
# whatever the engine (and test_packaging's install is a laptop's, SQLite by design): running them
# there again would repeat the SQLite run, not test PostgreSQL. Every other test runs on both.
SQLITE_EITHER_WAY = {"test_phones", "test_console_browser", "test_forms_browser", "test_real_forms_browser",
                     "test_amharic_browser", "test_odk_engine", "test_packaging"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1]
        if module in SLOW_MODULES or SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
        if engines.ENGINE == "postgresql" and module in SQLITE_EITHER_WAY:
            item.add_marker(pytest.mark.skip(reason="its fieldkit runs on SQLite whatever the engine: "
                                                    "the run on SQLite covers it"))
