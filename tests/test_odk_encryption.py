"""ODK's own encryption (issue 17): a form whose XLSForm sets public_key is encrypted by ODK
Collect itself. The laptop keeps the envelope and its files as they came, never able to read
them, and opens them at export with the private key.

No ODK Collect runs here, so a submission is encrypted below as Collect does it, written from
the spec (https://getodk.github.io/xforms-spec/encryption) independently of fieldkit's own code,
as ODK Central's tests simulate Collect (test/util/crypto-odk.js): a random AES-256 key wrapped
with RSA-OAEP (SHA-256, MGF1-SHA-256), each file AES-256-CFB with PKCS#7 padding, the IVs from
the MD5 of the instanceID and the key with one byte stepped per file, media first and
submission.xml last."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import uuid as uuidlib

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from fieldkit.crypto import CFB  # where this cryptography keeps it (its decrepit module from 47 on)

from conftest import FORMS, submissions_of
from fieldkit import crypto, store
from fieldkit.forms import engine, instance
from fieldkit.services import collectors, export, forms as form_service, results as results_service

ANSWERS = {"consent": "yes", "people": "3", "children": "1", "income": "work", "rent_share": "0.5",
           "visit_date": "2024-03-01"}
PHOTO = os.urandom(150_000)


def collect_encrypts(public_key: str, xml: bytes, instance_id: str, media: dict[str, bytes]) -> tuple[bytes, dict]:
    """(the envelope, {file name: encrypted bytes}) as ODK Collect sends an encrypted form."""
    key = os.urandom(32)
    wrapped = crypto.load_public_key(public_key).encrypt(key, padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
    seed = bytearray(hashlib.md5(instance_id.encode() + key).digest())

    def encrypt(index: int, plain: bytes) -> bytes:
        iv = bytearray(seed)  # the IV of file `index`: the seed stepped once per file before it, and for it
        for n in range(index + 1):
            iv[n % 16] = (iv[n % 16] + 1) % 256
        pad = 16 - len(plain) % 16
        encryptor = Cipher(algorithms.AES(key), CFB(bytes(iv))).encryptor()
        return encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()

    files = {f"{name}.enc": encrypt(i, data) for i, (name, data) in enumerate(media.items())}
    files["submission.xml.enc"] = encrypt(len(media), xml)
    listed = "".join(f"<media><file>{name}.enc</file></media>" for name in media)
    envelope = (f'<?xml version="1.0"?><data xmlns="http://opendatakit.org/submissions" id="household" '
                f'encrypted="yes" version="1"><base64EncryptedKey>{base64.b64encode(wrapped).decode()}'
                f'</base64EncryptedKey><encryptedXmlFile>submission.xml.enc</encryptedXmlFile>{listed}'
                f'<base64EncryptedElementSignature>no</base64EncryptedElementSignature>'
                f'<meta xmlns="http://openrosa.org/xforms"><instanceID>{instance_id}</instanceID></meta></data>')
    return envelope.encode(), files


@pytest.fixture
def keys():
    return crypto.new_key_pair(2048)


@pytest.fixture
def encrypted(db, tmp_path, keys):
    """tests/forms/household.md with settings public_key, as a coordinator brings an encrypted form."""
    source = (FORMS / "household.md").read_text().replace(
        "|  | form_title | form_id | version | default_language |\n|  | Household check | household | 1 | Español (es) |",
        f"|  | form_title | form_id | version | default_language | public_key |\n"
        f"|  | Household check | household | 1 | Español (es) | {keys[1]} |")
    (tmp_path / "household.md").write_text(source)
    return form_service.import_path(db, tmp_path / "household.md").form


@pytest.fixture
def post(db, client):
    token = collectors.add(db, "tablet")

    def send(envelope: bytes, files: dict[str, bytes]):
        data = {"xml_submission_file": (io.BytesIO(envelope), "submission.xml", "text/xml")}
        for name, content in files.items():
            data[name] = (io.BytesIO(content), name, "application/octet-stream")
        return client.post(f"/collect/{token}/submission", data=data, content_type="multipart/form-data")
    send.token = token
    return send


def interview(db, form, answers=ANSWERS, uuid=None) -> tuple[bytes, str, dict]:
    uuid = uuid or str(uuidlib.uuid4())
    final = engine.final_answers(form, answers)
    return instance.to_xml(form, form_service.xform(db, "household", form.version)[0], final, uuid), uuid, final


def test_a_form_collect_encrypts_is_offered_with_its_key(encrypted, db, client, post):
    listed = client.get(f"/collect/{post.token}/formList").get_data(as_text=True)
    assert "<formID>household</formID>" in listed
    xform = client.get(f"/collect/{post.token}/forms/household/1/form.xml").get_data(as_text=True)
    assert "base64RsaPublicKey" in xform


def test_the_envelope_is_kept_unreadable_and_opens_at_export_with_the_key(encrypted, db, post, keys):
    xml, uuid, final = interview(db, encrypted)
    envelope, files = collect_encrypts(keys[1], xml, f"uuid:{uuid}", {})
    assert post(envelope, files).status_code == 201
    stored = store.submissions.get_submission(db, uuid)
    assert crypto.is_sealed(stored["answers"]) and stored["answers"][crypto.MARK]["scheme"] == "odk"
    on_disk = b"".join(bytes(v) if isinstance(v, (bytes, memoryview)) else str(v).encode()
                       for row in db.query("SELECT * FROM submissions") for v in dict(row).values())
    assert b"rent_share" not in on_disk and b"0.5" not in on_disk  # not a word of the answers in the clear
    with pytest.raises(export.Sealed):
        export.check_key(db, "household")
    private = crypto.load_private_key(keys[0])
    export.check_key(db, "household", private)
    [row] = list(export.readable(db, "household", private))
    assert row["answers"] == final  # as a plain Collect submission, or the web's, would be stored
    assert results_service.results(db, encrypted).sealed == 1


def test_another_key_does_not_open_it(encrypted, db, post, keys):
    xml, uuid, _ = interview(db, encrypted)
    envelope, files = collect_encrypts(keys[1], xml, f"uuid:{uuid}", {})
    assert post(envelope, files).status_code == 201
    other = crypto.load_private_key(crypto.new_key_pair(2048)[0])
    with pytest.raises(export.Sealed):
        export.check_key(db, "household", other)
    with pytest.raises(crypto.CryptoKeyError):
        crypto.unseal(other, store.submissions.get_submission(db, uuid)["answers"])


def test_a_resend_and_split_media_are_one_submission_with_its_files(encrypted, db, post, keys):
    xml, uuid, _ = interview(db, encrypted)
    envelope, files = collect_encrypts(keys[1], xml, f"uuid:{uuid}", {"1700000000001.jpg": PHOTO})
    first = {"submission.xml.enc": files["submission.xml.enc"]}
    assert post(envelope, first).status_code == 201
    assert post(envelope, {"1700000000001.jpg.enc": files["1700000000001.jpg.enc"]}).status_code == 201
    assert post(envelope, files).status_code == 201  # all again: nothing doubled
    assert len(submissions_of(db, "household")) == 1
    kept = db.one("SELECT question, data, sealed FROM attachments WHERE uuid = ?", [uuid])
    assert kept["sealed"] == "odk" and bytes(kept["data"]) != PHOTO  # kept encrypted, as it came
    envelope_kept = store.submissions.get_submission(db, uuid)["answers"][crypto.MARK]
    private = crypto.load_private_key(keys[0])
    assert crypto.odk_open_file(private, envelope_kept, kept["question"], bytes(kept["data"])) == PHOTO


def test_spec_ivs_step_one_byte_per_file():
    """The IV of file n: the seed with bytes 0..n stepped once each (byte n mod 16), cumulatively."""
    key, instance_id = bytes(range(32)), "uuid:0c6c7d8e-0000-4000-8000-000000000001"
    seed = hashlib.md5(instance_id.encode() + key).digest()
    ivs = crypto.odk_ivs(instance_id, key, 18)
    assert ivs[0] == bytes([(seed[0] + 1) % 256]) + seed[1:]
    assert ivs[1] == bytes([(seed[0] + 1) % 256, (seed[1] + 1) % 256]) + seed[2:]
    assert ivs[16][0] == (seed[0] + 2) % 256 and ivs[17][1] == (seed[1] + 2) % 256


def test_an_envelope_without_its_encrypted_file_is_a_400(encrypted, db, post, keys):
    xml, uuid, _ = interview(db, encrypted)
    envelope, _files = collect_encrypts(keys[1], xml, f"uuid:{uuid}", {})
    response = post(envelope, {})
    assert response.status_code == 400 and submissions_of(db, "household") == []


def test_an_encrypted_photo_comes_out_of_the_zip_export_opened_under_its_answers_name(db, tmp_path, keys, post):
    import zipfile
    source = (FORMS / "t_files.md").read_text().replace(
        "| | form_title | form_id | version | default_language |\n| | Files | t_files | 1 | English (en) |",
        f"| | form_title | form_id | version | default_language | public_key |\n"
        f"| | Files | t_files | 1 | English (en) | {keys[1]} |")
    (tmp_path / "t_files.md").write_text(source)
    form = form_service.import_path(db, tmp_path / "t_files.md").form
    assert form.public_key
    uuid = str(uuidlib.uuid4())
    xml = instance.to_xml(form, form_service.xform(db, "t_files", form.version)[0],
                          {"photo": "1700000000001.jpg", "room": []}, uuid)
    envelope, files = collect_encrypts(keys[1], xml, f"uuid:{uuid}", {"1700000000001.jpg": PHOTO})
    assert post(envelope.replace(b'id="household"', b'id="t_files"'), files).status_code == 201
    private = crypto.load_private_key(keys[0])
    [row] = list(export.readable(db, "t_files", private))
    body = b"".join(export.export_zip(db, "t_files", private_key=private))  # `fieldkit export --format zip --key`
    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.read(f"media/{row['answers']['photo']}") == PHOTO
    assert row["answers"]["photo"] in archive.read("t_files.csv").decode()
    with pytest.raises(export.Sealed):
        list(export.attached(db, "t_files"))


def test_an_encrypted_submission_syncs_to_a_central_with_its_encrypted_files(encrypted, db, post, keys):
    """To a fieldkit central, as it came: the envelope and its files, which the central cannot open either."""
    from fieldkit.services import sync as sync_service
    xml, uuid, final = interview(db, encrypted)
    envelope, files = collect_encrypts(keys[1], xml, f"uuid:{uuid}", {"1700000000001.jpg": PHOTO})
    assert post(envelope, files).status_code == 201
    [sub] = store.sync.unsynced(db, 10)
    sub["attachments"] = store.attachments.for_sync(db, [uuid])[uuid]
    wire = sync_service.to_wire(sub)
    assert [f["sealed"] for f in wire["attachments"]] == ["odk"]
    received = sync_service.from_wire(wire)  # what a central checks, and takes
    assert received["answers"] == sub["answers"] and received["attachments"][0]["sealed"] == "odk"
    private = crypto.load_private_key(keys[0])
    assert crypto.odk_open_file(private, received["answers"][crypto.MARK], received["attachments"][0]["question"],
                                received["attachments"][0]["data"]) == PHOTO
