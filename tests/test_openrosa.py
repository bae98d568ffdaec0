"""ODK Collect talking to the laptop (issue 17): collectors, the OpenRosa Form List and Form
Submission APIs, one named test per edge case, and Collect's submissions stored exactly as
the web's. ODK's own engine is driven in tests/test_odk_engine.py."""
from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import uuid as uuidlib
import xml.etree.ElementTree as ET
import zlib

import pytest
from click.testing import CliRunner

from conftest import FORMS, submissions_of, submit_household
from fieldkit import store
from fieldkit.cli import main
from fieldkit.forms import engine, instance
from fieldkit.services import collectors, export, forms as form_service
from fieldkit.store import attachments, collectors as collector_store

RESPONSE = "{http://openrosa.org/http/response}"
FORM_LIST = "{http://openrosa.org/xforms/xformsList}"
MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"


@pytest.fixture
def collect(app, db, client):
    """A collector's URL and a way to POST a submission to it, as ODK Collect does."""
    token = collectors.add(db, "tablet-1")

    class Collect:
        base = f"/collect/{token}"

        def get(self, path: str, **kwargs):
            return client.get(f"{self.base}/{path}", **kwargs)

        def post(self, xml: bytes, files: dict[str, bytes] | None = None, incomplete: bool = False, base=None):
            data = {"xml_submission_file": (io.BytesIO(xml), "submission.xml", "text/xml")}
            for name, content in (files or {}).items():
                data[name] = (io.BytesIO(content), name, "image/jpeg")
            if incomplete:
                data["*isIncomplete*"] = "yes"
            return client.post(f"{base or self.base}/submission", data=data, content_type="multipart/form-data")

    Collect.token = token
    return Collect()


def message(response) -> tuple[str, str]:
    root = ET.fromstring(response.data)
    assert root.tag == f"{RESPONSE}OpenRosaResponse"
    node = root.find(f"{RESPONSE}message")
    return node.get("nature"), node.text


def households(db, answers=None, uuid=None) -> tuple[bytes, str]:
    form = store.forms.current_form(db, "households")
    xform, _ = form_service.xform(db, "households", form.version)
    final = engine.final_answers(form, answers or {"village": "Hill", "done": "yes", "household": [
        {"head": "Amina", "kids": "2", "child": [{"child_age": "4"}, {"child_age": "9"}], "pets": "yes",
         "pet": [{"pet_kind": "cat"}]},
        {"head": "Ben", "kids": "1", "child": [{"child_age": "12"}], "pets": "no"}]})
    uuid = uuid or str(uuidlib.uuid4())
    return instance.to_xml(form, xform, final, uuid), uuid


@pytest.fixture
def nested(add_form):
    return add_form("households.md")


# --- collectors --------------------------------------------------------------------------------

def test_collectors_add_prints_the_server_url_last_and_a_settings_qr(tmp_path, db):
    result = CliRunner().invoke(main, ["collectors", "add", "Tablet 1", "--server", "http://192.168.4.2:8080",
                                       "--data", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    assert re.fullmatch(r"http://192\.168\.4\.2:8080/collect/[A-Za-z0-9_-]{43}", url)
    assert "█" in result.output or "▀" in result.output  # the QR code of Collect's settings
    listed = CliRunner().invoke(main, ["collectors", "list", "--data", str(tmp_path / "d")])
    assert "Tablet 1" in listed.output and "active" in listed.output
    again = CliRunner().invoke(main, ["collectors", "add", "Tablet 1", "--data", str(tmp_path / "d")])
    assert again.exit_code != 0 and "already a collector" in again.output
    revoked = CliRunner().invoke(main, ["collectors", "revoke", "Tablet 1", "--data", str(tmp_path / "d")])
    assert revoked.exit_code == 0 and "revoked" in CliRunner().invoke(
        main, ["collectors", "list", "--data", str(tmp_path / "d")]).output
    bad = CliRunner().invoke(main, ["collectors", "add", "<script>", "--data", str(tmp_path / "d")])
    assert bad.exit_code != 0


def test_the_settings_code_is_what_collect_decodes():
    code = collectors.settings_code("http://10.0.0.2:8080/collect/abc", "Tablet 1")
    settings = json.loads(zlib.decompress(base64.b64decode(code)))
    assert settings["general"]["server_url"] == "http://10.0.0.2:8080/collect/abc"
    assert settings["general"]["delete_send"] is True  # an interview does not stay on a shared tablet
    assert set(settings) == {"general", "admin", "project"}


def test_tokens_are_stored_hashed_and_the_collector_audited(db):
    token = collectors.add(db, "tab", actor="amina", via="console")
    assert token not in json.dumps([dict(r) for r in db.query("SELECT * FROM collectors")])
    assert hashlib.sha256(token.encode()).hexdigest() == db.one("SELECT token_hash FROM collectors")["token_hash"]
    assert collectors.revoke(db, "tab") and not collectors.revoke(db, "tab")
    actions = [e["action"] for e in store.audit.recent(db)]
    assert "collector.added" in actions and "collector.revoked" in actions


# --- Form List API -----------------------------------------------------------------------------

def test_form_list_lists_open_forms_with_the_md5_of_what_downloads(collect, nested, db):
    response = collect.get("formList")
    assert response.status_code == 200 and response.headers["X-OpenRosa-Version"] == "1.0"
    assert response.mimetype == "text/xml"
    forms = {x.find(f"{FORM_LIST}formID").text: x for x in ET.fromstring(response.data)}
    assert {"households", "wellbeing"} <= set(forms)
    entry = forms["households"]
    url = entry.find(f"{FORM_LIST}downloadUrl").text
    downloaded = collect.get(url.split(collect.base + "/", 1)[1])
    assert downloaded.status_code == 200 and downloaded.headers["X-OpenRosa-Version"] == "1.0"
    assert entry.find(f"{FORM_LIST}hash").text == "md5:" + hashlib.md5(downloaded.data).hexdigest()
    assert downloaded.data.decode() == form_service.xform(db, "households", nested.version)[0]  # byte for byte
    assert entry.find(f"{FORM_LIST}manifestUrl") is None  # no media
    only = ET.fromstring(collect.get("formList", query_string={"formID": "households"}).data)
    assert [x.find(f"{FORM_LIST}formID").text for x in only] == ["households"]


def test_a_closed_form_is_not_listed_nor_downloaded_nor_taken(collect, nested, db):
    xml, _ = households(db)
    form_service.set_status(db, "households", "closed")
    ids = [x.find(f"{FORM_LIST}formID").text for x in ET.fromstring(collect.get("formList").data)]
    assert "households" not in ids
    assert collect.get(f"forms/households/{nested.version}/form.xml").status_code == 404
    response = collect.post(xml)
    assert response.status_code == 410 and message(response)[0] == "error"
    assert submissions_of(db, "households") == []


def test_the_manifest_lists_each_media_file_with_its_md5(collect, db):
    prompts = FORMS / "prompts"
    form = form_service.import_path(db, FORMS / "prompts.md", media_paths=sorted(prompts.iterdir())).form
    entry = next(x for x in ET.fromstring(collect.get("formList").data)
                 if x.find(f"{FORM_LIST}formID").text == "prompts")
    manifest_url = entry.find(f"{FORM_LIST}manifestUrl").text
    root = ET.fromstring(collect.get(manifest_url.split(collect.base + "/", 1)[1]).data)
    files = {m.find(f"{MANIFEST}filename").text: m for m in root}
    assert set(files) == set(form.media_files)
    for name, entry in files.items():
        data = collect.get(entry.find(f"{MANIFEST}downloadUrl").text.split(collect.base + "/", 1)[1]).data
        assert data == (prompts / name).read_bytes()
        assert entry.find(f"{MANIFEST}hash").text == "md5:" + hashlib.md5(data).hexdigest()


# --- Form Submission API -----------------------------------------------------------------------

def test_head_submission_is_204_with_the_largest_body_taken(collect, app):
    response = app.test_client().open(f"{collect.base}/submission", method="HEAD")
    assert response.status_code == 204
    assert int(response.headers["X-OpenRosa-Accept-Content-Length"]) == app.config["OPENROSA_MAX_BODY"]
    assert response.headers["X-OpenRosa-Version"] == "1.0"


def test_a_submission_is_stored_as_its_answers_with_nested_repeats(collect, nested, db):
    xml, uuid = households(db)
    response = collect.post(xml)
    assert response.status_code == 201 and message(response)[0] == "submit_success"
    stored = store.submissions.get_submission(db, uuid)
    assert stored["answers"]["household"][0]["child"][1]["child_age"] == "9"
    assert stored["answers"]["household"][1]["pet"] == []
    assert collector_store.list_collectors(db)[0]["received"] == 1


def test_resend_of_the_same_instance_is_acknowledged_without_a_second_submission(collect, nested, db):
    xml, uuid = households(db)
    assert collect.post(xml).status_code == 201
    again = collect.post(xml)
    assert again.status_code == 201 and message(again)[0] == "submit_success"
    assert len(submissions_of(db, "households")) == 1
    assert collector_store.list_collectors(db)[0]["received"] == 1


def test_the_same_instance_id_with_other_content_is_a_conflict_kept_for_review(collect, nested, db):
    xml, uuid = households(db)
    other, _ = households(db, {"village": "River", "done": "yes", "household": []}, uuid=uuid)
    assert collect.post(xml).status_code == 201
    response = collect.post(other)
    assert response.status_code == 202 and message(response)[0] == "submit_success"
    assert store.submissions.get_submission(db, uuid)["answers"]["village"] == "Hill"  # never overwritten
    kept = store.sync.list_conflicts(db)
    assert [c["uuid"] for c in kept] == [uuid] and kept[0]["device_name"] == "collect:tablet-1"


def web_household(add_form, participant, db):
    """A household answered through fieldkit's own pages: (its submission, the form, its XForm)."""
    add_form("household.md")
    submit_household(participant("household"), "wages")
    form = store.forms.current_form(db, "household")
    return submissions_of(db, "household")[0], form, form_service.xform(db, "household", form.version)[0]


def test_a_collect_submission_and_a_web_one_with_the_same_instance_id(collect, add_form, participant, db):
    web, form, xform = web_household(add_form, participant, db)
    collected = dict(web["answers"], other_income="something else")
    response = collect.post(instance.to_xml(form, xform, collected, web["uuid"]))
    assert response.status_code == 202  # kept for review beside the web's, which stays
    assert store.submissions.get_submission(db, web["uuid"])["answers"] == web["answers"]
    assert [c["uuid"] for c in store.sync.list_conflicts(db)] == [web["uuid"]]


def test_split_attachments_arriving_in_a_later_post_are_added(collect, add_form, db):
    form = add_form("t_files.md")
    xform, _ = form_service.xform(db, "t_files", form.version)
    uuid = str(uuidlib.uuid4())
    answers = {"photo": "1700000000001.jpg", "voice": "", "clip": "", "paper": "",
               "room": [{"room_photo": "1700000000002.jpg"}]}
    sent = ET.fromstring(instance.to_xml(form, xform, answers, uuid))
    xml = ET.tostring(sent)
    photo, room = b"\xff\xd8" + b"a" * 300_000, b"\xff\xd8" + b"b" * 200_000  # real-sized photos
    first = collect.post(xml, {"1700000000001.jpg": photo}, incomplete=True)
    assert first.status_code == 201
    second = collect.post(xml, {"1700000000002.jpg": room})
    assert second.status_code == 201
    assert len(submissions_of(db, "t_files")) == 1
    stored = store.submissions.get_submission(db, uuid)["answers"]
    kept = {f["name"]: f for f in attachments.of_submission(db, uuid, with_data=True)}
    assert bytes(kept[stored["photo"]]["data"]) == photo
    assert bytes(kept[stored["room"][0]["room_photo"]]["data"]) == room
    assert kept[stored["photo"]]["question"] == "photo" and kept[stored["room"][0]["room_photo"]]["question"] == "room_photo"
    assert collect.post(xml, {"1700000000002.jpg": room}).status_code == 201  # a third resend changes nothing
    assert len(attachments.of_submission(db, uuid)) == 2


def test_files_the_answers_do_not_name_are_not_kept(collect, add_form, db):
    form = add_form("t_files.md")
    xform, _ = form_service.xform(db, "t_files", form.version)
    uuid = str(uuidlib.uuid4())
    xml = instance.to_xml(form, xform, {"photo": "", "room": []}, uuid)
    assert collect.post(xml, {"stray.jpg": b"\xff\xd8xx"}).status_code == 201
    assert attachments.of_submission(db, uuid) == []


@pytest.mark.parametrize("token", ["not-a-token", "", "x" * 43])
def test_wrong_token_is_refused_with_an_openrosa_document(client, nested, db, token):
    xml, _ = households(db)
    for response in (client.get(f"/collect/{token}/formList"),
                     client.post(f"/collect/{token}/submission", data={
                         "xml_submission_file": (io.BytesIO(xml), "submission.xml")}, content_type="multipart/form-data")):
        assert response.status_code in (403, 404) and response.headers["X-OpenRosa-Version"] == "1.0"
        assert message(response)[0] == "error"
    assert submissions_of(db, "households") == []


def test_a_revoked_collector_is_refused(collect, nested, db):
    xml, _ = households(db)
    collectors.revoke(db, "tablet-1")
    response = collect.post(xml)
    assert response.status_code == 403 and "403.3" in message(response)[1]
    assert collect.get("formList").status_code == 403
    assert submissions_of(db, "households") == []


def test_an_unknown_form_and_an_unknown_version_are_404s(collect, nested, db):
    xml, _ = households(db)
    unknown = collect.post(xml.replace(b'id="households"', b'id="nowhere"'))
    assert unknown.status_code == 404 and "404.2" in message(unknown)[1]
    version = collect.post(xml.replace(b'version="1"', b'version="99"'))
    assert version.status_code == 404 and "404.3" in message(version)[1]
    assert submissions_of(db, "households") == []


def test_an_oversized_body_is_413_and_says_what_is_taken(collect, nested, db, app):
    app.config["OPENROSA_MAX_BODY"] = 256 * 1024
    xml, _ = households(db)
    response = collect.post(xml, {"big.jpg": b"\xff" * (300 * 1024)})
    assert response.status_code == 413 and message(response)[0] == "error"
    assert response.headers["X-OpenRosa-Accept-Content-Length"] == str(256 * 1024)
    assert submissions_of(db, "households") == []


@pytest.mark.parametrize("body", [
    b"<data id='households'", b"not xml at all", b"<data id='households' version='1'></data>",  # no instanceID
    b"", "<data id='households' version='1'><village>\u00e9</village></data>".encode("latin-1"),
])
def test_malformed_xml_is_a_400_and_stores_nothing(collect, nested, db, body):
    response = collect.post(body)
    assert response.status_code == 400 and "400.5" in message(response)[1]
    assert submissions_of(db, "households") == []


def test_an_xml_bomb_is_refused_before_it_expands(collect, nested, db):
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                       for i in range(1, 10))
            + b']><data id="households" version="1"><village>&lol9;</village></data>')
    response = collect.post(bomb)
    assert response.status_code == 400 and submissions_of(db, "households") == []
    deep = b"<data id='households' version='1'>" + b"<g>" * 5000 + b"</g>" * 5000 + b"</data>"
    assert collect.post(deep).status_code == 400


def test_no_xml_submission_file_is_a_400(collect, client, nested):
    response = client.post(f"{collect.base}/submission", data={"other": (io.BytesIO(b"x"), "x.xml")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and message(response)[0] == "error"


def test_an_encrypted_submission_to_a_form_not_encrypted_here_is_refused(collect, nested):
    """(ODK's encryption itself: tests/test_odk_encryption.py.)"""
    envelope = (b'<data id="households" version="1" encrypted="yes" xmlns="http://opendatakit.org/submissions">'
                b"<base64EncryptedKey>abc</base64EncryptedKey><meta><instanceID>uuid:1</instanceID></meta></data>")
    response = collect.post(envelope)
    assert response.status_code == 422 and "422.4" in message(response)[1]


# --- stored exactly as the web's ---------------------------------------------------------------

def test_a_collect_submission_exports_as_the_same_answers_from_the_web(collect, add_form, participant, db):
    web, form, xform = web_household(add_form, participant, db)
    uuid = str(uuidlib.uuid4())
    assert collect.post(instance.to_xml(form, xform, web["answers"], uuid)).status_code == 201
    collected = store.submissions.get_submission(db, uuid)
    assert collected["answers"] == web["answers"]
    rows = list(export.csv_rows(db, "household"))
    header, body = rows[0], rows[1:]
    by_uuid = {row[header.index("uuid")]: row for row in body}
    answers_at = [i for i, name in enumerate(header) if name not in export.META_COLUMNS]
    assert [by_uuid[uuid][i] for i in answers_at] == [by_uuid[web["uuid"]][i] for i in answers_at]
    assert by_uuid[uuid][header.index("device")] == by_uuid[web["uuid"]][header.index("device")]


def test_an_encrypted_forms_collect_answers_are_sealed_as_the_webs(collect, nested, db):
    """A key set in the console (not in the XLSForm): Collect sends plain XML, and the laptop
    seals the answers and files before they touch the disk, as it does a participant's."""
    from fieldkit import crypto
    private_pem, public = crypto.new_key_pair(2048)
    form_service.set_public_key(db, "households", public)
    xml, uuid = households(db)
    assert collect.post(xml).status_code == 201
    stored = store.submissions.get_submission(db, uuid)
    assert crypto.is_sealed(stored["answers"]) and b"Amina" not in json.dumps(stored["answers"]).encode()
    opened = crypto.unseal(crypto.load_private_key(private_pem), stored["answers"])
    assert opened["household"][0]["head"] == "Amina"


def test_a_real_sized_video_in_one_post_is_taken_whole(collect, add_form, db):
    """12 MB: past the console's upload limit (8 MB) and far past a participant page's; within
    what the laptop tells Collect it takes (20 MB)."""
    form = add_form("t_files.md")
    xform, _ = form_service.xform(db, "t_files", form.version)
    uuid = str(uuidlib.uuid4())
    xml = instance.to_xml(form, xform, {"clip": "VID_0001.mp4", "room": []}, uuid)
    video = bytes(range(256)) * (12 * 1024 * 1024 // 256)
    assert collect.post(xml, {"VID_0001.mp4": video}).status_code == 201
    name = store.submissions.get_submission(db, uuid)["answers"]["clip"]
    assert hashlib.sha256(bytes(attachments.get(db, uuid, name)["data"])).digest() == hashlib.sha256(video).digest()


# --- the console -------------------------------------------------------------------------------

def test_the_console_adds_a_collector_showing_its_qr_once_and_revokes_it(signed_in, db, client):
    from conftest import csrf_of
    coordinator = signed_in("coordinator")
    token = csrf_of(coordinator, "/console/collectors/")
    added = coordinator.post("/console/collectors/", data={"name": "Tablet 2", "csrf_token": token})
    html = added.get_data(as_text=True)
    assert added.status_code == 200 and '<svg class="qr" role="img"' in html
    url = re.search(r"<code>(http://[^<]+/collect/[A-Za-z0-9_-]{43})</code>", html).group(1)
    assert client.get(url.split("localhost", 1)[1] + "/formList").status_code == 200
    listed = coordinator.get("/console/collectors/").get_data(as_text=True)
    assert "Tablet 2" in listed and url not in listed and '<svg class="qr"' not in listed  # shown once
    assert "collector.added" in [e["action"] for e in store.audit.recent(db)]
    again = coordinator.post("/console/collectors/", data={"name": "Tablet 2", "csrf_token": token})
    assert again.status_code == 422
    assert coordinator.post("/console/collectors/", data={"name": "<b>", "csrf_token": token}).status_code == 422
    off = coordinator.post("/console/collectors/Tablet 2/revoke", data={"csrf_token": token})
    assert off.status_code == 200 and client.get(url.split("localhost", 1)[1] + "/formList").status_code == 403
    assert coordinator.post("/console/collectors/Tablet 2/revoke", data={"csrf_token": token}).status_code == 404


def test_a_facilitator_cannot_add_collectors(signed_in):
    from conftest import csrf_of
    facilitator = signed_in("facilitator")
    assert facilitator.get("/console/collectors/").status_code == 403
    token = csrf_of(facilitator, "/console/")
    assert facilitator.post("/console/collectors/", data={"name": "x", "csrf_token": token}).status_code == 403


def test_more_than_a_hundred_files_in_one_post_is_413(collect, nested, db):
    xml, _ = households(db)
    response = collect.post(xml, {f"{i}.jpg": b"\xff\xd8" for i in range(101)})
    assert response.status_code == 413 and submissions_of(db, "households") == []
