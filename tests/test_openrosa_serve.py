"""ODK Collect against a real `fieldkit serve` (waitress) over real HTTP: the collector's URL
as the command printed it, the form list, the XForm, and a submission sent as Collect's
HTTP client may send it, in a chunked body (no Content-Length)."""
from __future__ import annotations

import subprocess
import sys
import uuid as uuidlib
import xml.etree.ElementTree as ET

import pytest
import requests
from urllib3 import encode_multipart_formdata

from engines import instance_url
from fieldkit import store
from fieldkit.forms import engine, instance
from test_serve import start_server, stop

pytestmark = pytest.mark.slow
FORM_LIST = "{http://openrosa.org/xforms/xformsList}"


def test_collect_gets_the_demo_and_sends_an_interview_in_a_chunked_body(tmp_path):
    data = tmp_path / "data"
    process, base = start_server([sys.executable, "-m", "fieldkit"], data)
    try:
        added = subprocess.run([sys.executable, "-m", "fieldkit", "collectors", "add", "Tablet 1", "--no-qr",
                                "--server", base, "--data", str(data)], capture_output=True, text=True, check=True)
        url = added.stdout.strip().splitlines()[-1]
        assert url.startswith(base + "/collect/")
        assert requests.head(url + "/submission").status_code == 204
        listed = requests.get(url + "/formList")
        assert listed.status_code == 200 and listed.headers["X-OpenRosa-Version"] == "1.0"
        entry = next(x for x in ET.fromstring(listed.content) if x.find(f"{FORM_LIST}formID").text == "wellbeing")
        xform = requests.get(entry.find(f"{FORM_LIST}downloadUrl").text)
        assert xform.status_code == 200
        form = stored_form(data)
        answers = engine.final_answers(form, {"consent": "yes", "age_band": form.choice_names(form.questions["age_band"])[0],
                                              "comments": "Más reuniones"})
        uuid = str(uuidlib.uuid4())
        body, content_type = encode_multipart_formdata({
            "xml_submission_file": ("submission.xml", instance.to_xml(form, xform.text, answers, uuid), "text/xml")})

        def chunks():
            for i in range(0, len(body), 512):
                yield body[i:i + 512]
        sent = requests.post(url + "/submission", data=chunks(), headers={"Content-Type": content_type})
        assert sent.status_code == 201, sent.text
        assert "Content-Length" not in sent.request.headers and sent.request.headers["Transfer-Encoding"] == "chunked"
        again = requests.post(url + "/submission", data=body, headers={"Content-Type": content_type})
        assert again.status_code == 201
        # four taps of Send at once (two tablets' retries, say), each with a 5 MB photo: one submission
        from concurrent.futures import ThreadPoolExecutor
        other = str(uuidlib.uuid4())
        photo = bytes(range(256)) * (5 * 1024 * 1024 // 256)
        racing, racing_type = encode_multipart_formdata({
            "xml_submission_file": ("submission.xml", instance.to_xml(form, xform.text, answers, other), "text/xml"),
            "1700000000001.jpg": ("1700000000001.jpg", photo, "image/jpeg")})
        with ThreadPoolExecutor(4) as pool:
            statuses = list(pool.map(lambda _: requests.post(url + "/submission", data=racing, headers={
                "Content-Type": racing_type}).status_code, range(4)))
        assert statuses == [201] * 4
    finally:
        stop(process)
    db = store.connect(instance_url(data))
    try:
        rows = {r["uuid"]: r for r in store.submissions.iter_submissions(db, "wellbeing")}
        assert sorted(rows) == sorted([uuid, other])  # each once
        assert rows[uuid]["answers"]["comments"] == "Más reuniones"
    finally:
        db.close()


def stored_form(data):
    """The demo's model as the laptop stored it."""
    db = store.connect(instance_url(data))
    try:
        return store.forms.current_form(db, "wellbeing")
    finally:
        db.close()
