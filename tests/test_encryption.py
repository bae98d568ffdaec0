"""Encrypted forms: the laptop keeps only ciphertext; the private key opens it."""
import io

import pytest
from click.testing import CliRunner

from conftest import FORMS, csrf_of, submit_household
from fieldkit import crypto, store
from fieldkit.cli import main
from fieldkit.forms.xlsform import FormImportError
from fieldkit.services.forms import import_form

SECRET = "Secret-answer-8c1f"


@pytest.fixture(scope="module")
def key_pair():
    return crypto.new_key_pair(bits=2048)  # 2048 keeps the tests quick; `keys new` makes 3072


def encrypted_household(public_key: str) -> bytes:
    text = (FORMS / "household.md").read_text(encoding="utf-8")
    text = text.replace("| form_title | form_id | version | default_language |",
                        "| form_title | form_id | version | default_language | public_key |")
    return text.replace("| Household check | household | 1 | Español (es) |",
                        f"| Household check | household | 1 | Español (es) | {public_key} |").encode()


def answer(participant):
    p = participant("household")
    submit_household(p, SECRET)
    return p


def raw_files(app) -> bytes:
    return b"".join(path.read_bytes() for path in app.config["DATA_DIR"].iterdir() if path.is_file())


def test_keys_new_writes_a_private_key_only_its_owner_can_read(tmp_path):
    out = tmp_path / "k.pem"
    result = CliRunner().invoke(main, ["keys", "new", "--out", str(out)])
    assert result.exit_code == 0
    public = result.output.strip().splitlines()[-1]
    assert crypto.load_public_key(public).key_size == 3072
    assert (out.stat().st_mode & 0o777) == 0o600
    assert out.with_suffix(".pub").read_text().strip() == public
    crypto.load_private_key(out.read_bytes())
    again = CliRunner().invoke(main, ["keys", "new", "--out", str(out)])
    assert again.exit_code == 1 and "exists already" in again.output


def test_an_unusable_public_key_is_refused_at_import(db):
    with pytest.raises(FormImportError) as error:
        import_form(db, encrypted_household("bm90IGEga2V5"), "household.md")
    assert "sheet settings" in error.value.problems[0].render() and "public_key" in error.value.problems[0].render()


def test_the_database_holds_only_ciphertext(app, db, participant, key_pair):
    private_pem, public = key_pair
    import_form(db, encrypted_household(public), "household.md")
    answer(participant)
    assert SECRET.encode() not in raw_files(app)  # not in the database, its WAL, or anywhere beside
    [sub] = list(store.submissions.iter_submissions(db, "household"))
    assert crypto.is_sealed(sub["answers"])
    opened = crypto.unseal(crypto.load_private_key(private_pem), sub["answers"])
    assert opened["other_income"] == SECRET and opened["people"] == "1"


def test_drafts_are_ciphertext_too(app, db, participant):
    import_form(db, (FORMS / "household.md").read_bytes(), "household.md")
    p = participant("household")
    p.start("en")
    p.answer({"consent": "yes"})
    p.answer({"people": "1"})
    p.answer({"income": ["other"], "other_income": SECRET})
    assert SECRET.encode() not in raw_files(app)
    assert store.drafts.get_draft(db, "a-forged-token") is None


def test_export_needs_the_private_key_and_records_the_decryption(app, db, participant, key_pair, tmp_path):
    private_pem, public = key_pair
    import_form(db, encrypted_household(public), "household.md")
    answer(participant)
    data = ["--data", str(app.config["DATA_DIR"])]
    refused = CliRunner().invoke(main, ["export", "household"] + data)
    assert refused.exit_code == 1 and "encrypted" in refused.output and "--key" in refused.output
    key_file = tmp_path / "k.pem"
    key_file.write_bytes(private_pem)
    opened = CliRunner().invoke(main, ["decrypt", "household", "--key", str(key_file)] + data)
    assert opened.exit_code == 0 and SECRET in opened.output
    other = tmp_path / "other.pem"
    other.write_bytes(crypto.new_key_pair(bits=2048)[0])
    wrong = CliRunner().invoke(main, ["export", "household", "--key", str(other)] + data)
    assert wrong.exit_code == 1 and "need the key" in wrong.output
    assert store.audit.recent(db)[0]["action"] == "decrypt"


def test_console_encrypts_a_form_and_shows_counts_only(app, db, participant, signed_in, key_pair):
    private_pem, public = key_pair
    import_form(db, (FORMS / "household.md").read_bytes(), "household.md")
    coordinator = signed_in("coordinator")
    bad = coordinator.post("/console/forms/household/public-key", data={
        "public_key": "nonsense", "csrf_token": csrf_of(coordinator, "/console/forms/household")})
    assert bad.status_code == 422
    response = coordinator.post("/console/forms/household/public-key", data={
        "public_key": public, "csrf_token": csrf_of(coordinator, "/console/forms/household")})
    assert response.status_code == 303
    answer(participant)
    assert SECRET.encode() not in raw_files(app)
    results = coordinator.get("/console/forms/household/results").get_data(as_text=True)
    assert "counts only" in results and 'aria-labelledby="q-people"' not in results
    assert coordinator.get("/console/forms/household/export?format=csv").status_code == 422
    csrf = csrf_of(coordinator, "/console/forms/household")
    download = coordinator.post("/console/forms/household/export", content_type="multipart/form-data", data={
        "format": "csv", "csrf_token": csrf, "key": (io.BytesIO(private_pem), "key.pem")})
    assert download.status_code == 200 and SECRET in download.get_data(as_text=True)
    assert store.audit.recent(db)[0]["action"] == "decrypt"
    assert b"PRIVATE KEY" not in raw_files(app)  # the key was used, not kept
    facilitator = signed_in("facilitator")
    assert facilitator.post("/console/forms/household/export", data={"format": "csv"}).status_code in (400, 403)


def test_a_new_version_keeps_the_consoles_key(db, signed_in, key_pair):
    _, public = key_pair
    import_form(db, (FORMS / "household.md").read_bytes(), "household.md")
    store.forms.set_public_key(db, "household", public)
    v2 = (FORMS / "household.md").read_text(encoding="utf-8").replace(
        "| Household check | household | 1 |", "| Household check | household | 2 |")
    import_form(db, v2.encode(), "household.md")
    assert store.forms.public_key(db, "household") == public



def test_sync_carries_ciphertext_and_the_central_stores_ciphertext(tmp_path, key_pair):
    from syncworld import DEMO_VERSION, Central, Laptop

    private_pem, public = key_pair
    central = Central(tmp_path / "central")
    central.start()
    try:
        laptop = Laptop(tmp_path / "laptop")
        laptop.link(central.url, central.add_device("laptop-1"))
        sealed = crypto.seal(public, {"comments": SECRET})
        store.submissions.add_submission(laptop.db, {
            "uuid": "6b0f8f6e-2f65-4c1e-9d57-7d1f4b0f0c01", "form_id": "wellbeing", "form_version": DEMO_VERSION,
            "language": "en", "answers": sealed, "submitted_at": "2026-11-26T10:00:00Z"})
        result = laptop.cli("sync")
        assert result.exit_code == 0, result.output
        again = laptop.cli("sync")  # the same ciphertext again is a duplicate, not a conflict
        assert again.exit_code == 0
    finally:
        central.stop()
    raw = b"".join(p.read_bytes() for p in (tmp_path / "central").iterdir() if p.is_file())
    assert SECRET.encode() not in raw
    db = central.db()
    [row] = list(db.query("SELECT answers FROM submissions WHERE uuid = ?", ["6b0f8f6e-2f65-4c1e-9d57-7d1f4b0f0c01"]))
    received = __import__("json").loads(row["answers"])
    assert crypto.unseal(crypto.load_private_key(private_pem), received) == {"comments": SECRET}
