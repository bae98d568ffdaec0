"""image, audio, video and file questions (issue 8): plain file inputs that work
without JavaScript, checked by their bytes, kept sealed until Submit, then stored
with the submission, exported in the ZIP, shown to coordinators and carried by sync."""
import base64
import io
import zipfile

import pytest

from conftest import FORMS, Page, Participant, drafts_of, submissions_of
from fieldkit import crypto
from fieldkit.forms import media as media_rules
from fieldkit.services import export, forms as form_service, sync as sync_service
from fieldkit.store import attachments, sync as sync_store

PNG = (FORMS / "prompts" / "house.png").read_bytes()
WAV = (FORMS / "prompts" / "question_en.wav").read_bytes()


def upload(data: bytes, name: str):
    return (io.BytesIO(data), name)


def stored_files(db) -> list[dict]:
    return [dict(r) for r in db.query("SELECT uuid, name, question, sealed, data FROM attachments ORDER BY name")]


@pytest.fixture
def participant(add_form, client):
    add_form("t_files.md")
    return Participant(client, "t_files")


def test_upload_types_import_as_file_inputs(participant):
    page = participant.start("en")
    assert 'enctype="multipart/form-data"' in page.html
    assert '<input type="file" id="photo" name="photo" accept="image/*"' in page.html


def test_files_end_to_end_without_javascript(participant, db, signed_in):
    participant.start("en")
    # a text file sent as a photo is refused, by its bytes rather than its name
    response = participant.post({"photo": upload(b"just text", "street.png")})
    assert response.status_code == 422
    assert "Please choose a photo" in Page(response.get_data(as_text=True)).text
    assert stored_files(db) == []
    page = participant.answer({"photo": upload(PNG, "street.png")})
    [kept] = stored_files(db)
    assert kept["sealed"] == "draft" and kept["data"] != PNG  # sealed with the participant's token
    assert kept["name"].startswith("photo-") and kept["name"].endswith(".png")
    # back to the photo: it says a file is attached; Next without a new file keeps it
    participant.post({}, action="back")
    page = participant.current()
    assert "A file is attached" in page.text
    participant.answer({})
    assert drafts_of(db)[0]["answers"]["photo"] == kept["name"]
    participant.answer({"voice": upload(WAV, "me.wav")})
    participant.answer({})  # no video
    participant.answer({"paper": upload(b"%PDF-1.4 a letter", "letter.PDF")})
    # the repeat: a room, whose photo is required
    participant.post({}, action="add")
    response = participant.post({})
    assert response.status_code == 422
    participant.answer({"room_photo": upload(PNG, "room.png")})
    participant.answer({})  # list page: Next
    assert participant.submit().status_code == 303
    [sub] = submissions_of(db, "t_files")
    answers = sub["answers"]
    files = {f["name"]: f for f in stored_files(db)}
    assert set(files) == {answers["photo"], answers["voice"], answers["paper"], answers["room"][0]["room_photo"]}
    assert all(f["sealed"] is None for f in files.values())
    assert files[answers["photo"]]["data"] == PNG and files[answers["voice"]]["data"] == WAV
    assert answers["paper"].endswith(".pdf") and answers["clip"] == ""
    # the ZIP export has them under media/
    archive = zipfile.ZipFile(io.BytesIO(b"".join(export.export_zip(db, "t_files"))))
    assert archive.read(f"media/{answers['photo']}") == PNG
    # coordinators see and download them; the download is recorded
    client = signed_in("coordinator")
    page = client.get(f"/console/submissions/{sub['uuid']}").get_data(as_text=True)
    assert answers["voice"] in page
    response = client.get(f"/console/submissions/{sub['uuid']}/files/{answers['photo']}")
    assert response.data == PNG and "attachment" in response.headers["Content-Disposition"]
    assert any(a["action"] == "attachment.downloaded" for a in db.query("SELECT action FROM audit"))
    facilitator = signed_in("facilitator")
    assert facilitator.get(f"/console/submissions/{sub['uuid']}/files/{answers['photo']}").status_code == 403


def test_a_replaced_file_is_dropped(participant, db):
    participant.start("en")
    participant.answer({"photo": upload(PNG, "one.png")})
    participant.post({}, action="back")
    participant.answer({"photo": upload(PNG + b"x", "two.png")})
    [kept] = stored_files(db)
    assert drafts_of(db)[0]["answers"]["photo"] == kept["name"]


def test_quick_exit_takes_the_files_too(participant, db, client):
    import re
    page = participant.start("en")
    participant.answer({"photo": upload(PNG, "one.png")})
    assert len(stored_files(db)) == 1
    page = participant.current()
    link = re.search(r'<a class="quick-exit" href="([^"]+)" data-exit', page.html).group(1)
    client.get(link)
    assert stored_files(db) == [] and drafts_of(db) == []


def test_too_large_is_refused_with_the_limit(participant, db, monkeypatch):
    monkeypatch.setattr(media_rules, "MAX_UPLOAD_BYTES", 50)
    participant.start("es")
    response = participant.post({"photo": upload(PNG, "big.png")})
    assert response.status_code == 422 and stored_files(db) == []


@pytest.mark.parametrize("fields", [
    {"voice": upload(WAV, "x.wav")},  # a file for a question on another page
    {"photo": "photo-0123456789abcdef.png"},  # a file question sent as text
])
def test_tampered_file_posts_are_refused_whole(participant, db, fields):
    participant.start("en")
    assert participant.post(fields).status_code == 400
    assert stored_files(db) == []


@pytest.mark.parametrize("qtype,data,ok", [
    ("image", PNG, True), ("image", b"\xff\xd8\xff\xe0rest", True), ("image", WAV, False),
    ("audio", WAV, True), ("audio", b"ID3\x03rest", True), ("audio", PNG, False),
    ("video", b"\x00\x00\x00\x18ftypmp42", True), ("video", PNG, False), ("file", b"anything", True),
])
def test_uploads_are_judged_by_their_bytes(qtype, data, ok):
    assert isinstance(media_rules.check_upload(qtype, "x.bin", data), tuple) == ok


def test_files_travel_with_their_submission_through_sync(participant, db, app, tmp_path):
    participant.start("en")
    participant.answer({"photo": upload(PNG, "one.png")})
    for _ in range(3):
        participant.answer({})
    participant.post({}, action="add")
    participant.answer({"room_photo": upload(PNG, "room.png")})
    participant.answer({})
    assert participant.submit().status_code == 303
    wire = [sync_service.to_wire(s) for s in sync_store.unsynced(db, 10)]
    assert {base64.b64decode(f["data"]) for f in wire[0]["attachments"]} == {PNG}
    # a central (another fieldkit's database) receives and keeps them
    from fieldkit import store
    central = store.connect(tmp_path / "central.db", migrate=True)
    form_service.import_path(central, FORMS / "t_files.md")  # a central keeps only answers to forms it has
    results = sync_service.receive(central, "laptop", {"submissions": wire}, 100)
    assert results[0]["outcome"] == "created"
    assert {f["name"] for f in attachments.of_submission(central, wire[0]["uuid"])} == {
        f["name"] for f in wire[0]["attachments"]}
    # a damaged file is refused whole
    wire[0]["attachments"][0]["data"] = base64.b64encode(b"damaged").decode()
    from fieldkit.errors import FieldkitError
    with pytest.raises(FieldkitError) as caught:
        sync_service.receive(central, "laptop", {"submissions": wire}, 100)
    assert caught.value.status == 400 and "attachments" in caught.value.message.text


def test_an_encrypted_forms_files_are_sealed_for_its_key(add_form, client, db, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    body = "".join(public.splitlines()[1:-1])
    text = (FORMS / "t_files.md").read_text(encoding="utf-8").replace(
        "| | form_title | form_id | version | default_language |\n| | Files | t_files | 1 | English (en) |",
        f"| | form_title | form_id | version | default_language | public_key |\n| | Files | t_sealed | 1 | English (en) | {body} |")
    path = tmp_path / "t_sealed.md"
    path.write_text(text, encoding="utf-8")
    from fieldkit.services import forms as form_service
    form_service.import_path(db, path)
    p = Participant(client, "t_sealed")
    p.start("en")
    p.answer({"photo": upload(PNG, "one.png")})
    for _ in range(3):
        p.answer({})
    p.answer({})  # no rooms
    assert p.submit().status_code == 303
    [f] = stored_files(db)
    assert f["sealed"] == "public" and PNG not in f["data"]
    assert crypto.unseal_bytes(key, f["data"]) == PNG
    with pytest.raises(export.Sealed):
        b"".join(export.export_zip(db, "t_sealed"))
    archive = zipfile.ZipFile(io.BytesIO(b"".join(export.export_zip(db, "t_sealed", private_key=key))))
    assert archive.read(f"media/{f['name']}") == PNG
