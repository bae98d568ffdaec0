"""ODK's own form engine against the laptop (issue 17): @getodk/xforms-engine (the engine of ODK
Web Forms, pinned in tests/odk/package-lock.json, installed by .ci/run with `npm ci`) runs in
Debian's Chromium. It loads each XForm from a collector's formList on a real `fieldkit serve`,
is answered through its own API, and the instance it prepares for submission (the same
FormData ODK Web Forms POSTs) goes to the laptop's OpenRosa submission endpoint. What is
stored must be what fieldkit's own pages store for the same answers (forms/engine.py's
final_answers, which the participant's Submit stores). And the other way: fieldkit's answers
written as instance XML load back into the engine, as an edit would, with the same values."""
from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid as uuidlib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from browser import Server, chromium, require_chromium  # noqa: F401 (chromium: a fixture)
from conftest import FORMS
from fieldkit import store
from fieldkit.forms import engine, instance
from fieldkit.services import export

pytestmark = pytest.mark.slow
ODK = Path(__file__).resolve().parent / "odk"
FORM_LIST = "{http://openrosa.org/xforms/xformsList}"
DEMO = Path(__file__).resolve().parent.parent / "fieldkit" / "demo" / "wellbeing.md"
PHOTO = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 400 + b"\xff\xd9"  # 100 KB: a small real-sized photo


@pytest.fixture(scope="module")
def bundle(tmp_path_factory) -> str:
    """The engine and tests/odk/harness.js bundled into one ES module (esbuild, from npm)."""
    esbuild = ODK / "node_modules" / ".bin" / "esbuild"
    if not esbuild.exists():
        if os.environ.get("CI"):
            pytest.fail("tests/odk/node_modules is missing: .ci/run installs it with npm ci")
        pytest.skip("ODK's engine is not installed: cd tests/odk && npm ci")
    out = tmp_path_factory.mktemp("odk") / "bundle.js"
    subprocess.run([str(esbuild), "harness.js", "--bundle", "--format=esm", "--target=es2022", "--log-level=error",
                    f"--outfile={out}"], cwd=ODK, check=True)
    return out.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def laptop(tmp_path_factory):
    """A real `fieldkit serve` with the forms under test, and a collector's URL on it."""
    require_chromium()
    data = tmp_path_factory.mktemp("laptop")
    for form in (DEMO, *(FORMS / name for name in ("households.md", "cascade.md", "t_files.md", "t_types.md", "kobo.md"))):
        subprocess.run([sys.executable, "-m", "fieldkit", "forms", "add", str(form), "--data", str(data)],
                       check=True, capture_output=True)
    server = Server(data)
    added = subprocess.run([sys.executable, "-m", "fieldkit", "collectors", "add", "engine", "--no-qr",
                            "--server", server.base, "--data", str(data), "--database", server.database],
                           capture_output=True, text=True, check=True)
    server.collector = added.stdout.strip().splitlines()[-1]
    yield server
    server.stop()


@pytest.fixture(scope="module")
def odk(laptop, bundle, chromium):
    """A page on the laptop's own origin running the engine: so that its POST is same-origin.
    On the run's one Chromium (browser.py: Playwright's sync API cannot be started twice)."""
    context = chromium.new_context()
    page = context.new_page()
    page.route(f"{laptop.base}/__odk/**", lambda route: route.fulfill(
        status=200, content_type="text/javascript" if route.request.url.endswith(".js") else "text/html",
        body=bundle if route.request.url.endswith(".js") else
        '<!doctype html><meta charset="utf-8"><script type="module" src="/__odk/bundle.js"></script>'))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{laptop.base}/__odk/index.html")
    page.wait_for_function("window.fieldkitODK !== undefined", timeout=30_000)
    page.errors = errors
    yield page
    context.close()


def offered_xform(laptop, form_id: str) -> str:
    import requests
    listed = ET.fromstring(requests.get(f"{laptop.collector}/formList").content)
    entry = next(x for x in listed if x.find(f"{FORM_LIST}formID").text == form_id)
    return requests.get(entry.find(f"{FORM_LIST}downloadUrl").text).text


def stored_form(laptop, form_id: str):
    db = store.connect(laptop.database)
    try:
        return store.forms.current_form(db, form_id)
    finally:
        db.close()


def submitted(laptop, uuid: str) -> dict:
    db = store.connect(laptop.database)
    try:
        return store.submissions.get_submission(db, uuid)
    finally:
        db.close()


METADATA = ("start", "end", "today", "deviceid", "username", "email", "phonenumber", "simserial", "subscriberid")


def without_metadata(form, answers: dict) -> dict:
    """Answers without what the device fills in itself (times, ids): the engine and the
    laptop each fill those with their own."""
    out = {}
    for name, value in answers.items():
        q = form.questions.get(name)
        if isinstance(value, list):
            out[name] = [without_metadata(form, row) for row in value]
        elif q is None or q.type not in METADATA:
            out[name] = value
    return out


def send(odk, laptop, form_id: str, answers: dict, files: dict | None = None) -> tuple[dict, dict]:
    """The engine answers form_id and POSTs it; (what the engine said, what the laptop stored)."""
    xform = offered_xform(laptop, form_id)
    given = {name: {"type": "image/jpeg", "data": base64.b64encode(data).decode()} for name, data in (files or {}).items()}
    result = odk.evaluate("([x, a, f, u]) => window.fieldkitODK.submit(x, a, f, u)",
                          [xform, answers, given, f"{laptop.collector}/submission"])
    assert odk.errors == []
    assert result["status"] == "ready", result["violations"]
    assert result["httpStatus"] == 201, result["body"]
    assert result["openRosaVersion"] == "1.0"
    uuid = instance.to_answers(stored_form(laptop, form_id), instance.parse(result["xml"].encode())).uuid
    return result, submitted(laptop, uuid)


def expected(laptop, form_id: str, answers: dict) -> dict:
    """What fieldkit's own pages store for these answers."""
    form = stored_form(laptop, form_id)
    return without_metadata(form, engine.final_answers(form, answers))


@pytest.mark.parametrize("form_id,answers", [
    ("wellbeing", {"age_band": "age_25_34", "household_size": "4", "wellbeing_rating": "okay",
                   "worries": "money work", "has_support": "yes", "support_who": "family faith_leader",
                   "last_gathering": "2026-11-28", "comments": "Más reuniones, por favor"}),
    ("households", {"village": "Hill", "done": "yes", "household": [
        {"head": "Amina", "kids": "2", "child": [{"child_age": "4"}, {"child_age": "9"}], "pets": "yes",
         "pet": [{"pet_kind": "cat"}, {"pet_kind": "goat"}]},
        {"head": "Ben", "kids": "1", "child": [{"child_age": "12"}], "pets": "no"}]}),
    ("cascade", {"region": "south", "district": "s1", "sector": "care", "shift": "night", "safe_home": "3",
                 "safe_work": "1", "heard": "2"}),
])
def test_the_engines_submission_is_stored_as_fieldkits_pages_store_it(odk, laptop, form_id, answers):
    _result, stored = send(odk, laptop, form_id, answers)
    form = stored_form(laptop, form_id)
    assert without_metadata(form, stored["answers"]) == expected(laptop, form_id, answers)


def test_geopoints_and_geotraces_are_stored_as_the_engine_wrote_them(odk, laptop):
    result, stored = send(odk, laptop, "kobo_checkin", {"consent": "yes", "calm": "often", "worried": "never",
                                                          "home": "9.03 38.74 2350 5",
                                                          "walk": "9.03 38.74 0 0;9.04 38.75 0 0"})
    sent = {instance.local(e.tag): (e.text or "") for e in ET.fromstring(result["xml"]).iter()}
    assert stored["answers"]["home"] == sent["home"] and sent["home"].split()[:2] == ["9.03", "38.74"]
    assert stored["answers"]["walk"] == sent["walk"] and sent["walk"].count(";") == 1


def test_times_and_dates_keep_what_the_engine_wrote(odk, laptop):
    form = stored_form(laptop, "t_types")
    times = {n: q.type for n, q in form.questions.items() if q.type in ("time", "dateTime", "date")}
    assert {"time", "dateTime"} <= set(times.values())
    # as ODK's widgets set them: the engine refuses 14:30 without its seconds (see the round trip below)
    given = {name: {"time": "14:30:00.000", "date": "2024-05-31", "dateTime": "2024-05-31T14:30:00.000+03:00"}[kind]
             for name, kind in times.items()}
    result, stored = send(odk, laptop, "t_types", dict(given, score="3"))
    sent = {instance.local(e.tag): (e.text or "") for e in ET.fromstring(result["xml"]).iter()}
    for name in times:  # as the engine wrote them, offset and all: an export shows what the tablet recorded
        assert stored["answers"][name] == sent[name] and sent[name].startswith(given[name][:10]), (name, sent[name])


def test_a_photo_and_a_repeats_photo_arrive_with_the_submission(odk, laptop):
    result, stored = send(odk, laptop, "t_files", {"photo": "street.jpg", "room": [{"room_photo": "kitchen.jpg"}]},
                          files={"street.jpg": PHOTO, "kitchen.jpg": PHOTO[::-1]})
    db = store.connect(laptop.database)
    try:
        kept = {f["name"]: bytes(f["data"]) for f in store.attachments.of_submission(db, stored["uuid"], with_data=True)}
        rows = list(export.csv_rows(db, "t_files"))
    finally:
        db.close()
    assert kept[stored["answers"]["photo"]] == PHOTO
    assert kept[stored["answers"]["room"][0]["room_photo"]] == PHOTO[::-1]
    assert any(stored["answers"]["photo"] in row for row in rows[1:])  # the export names the stored file


@pytest.mark.parametrize("form_id,answers", [
    ("households", {"village": "Hill", "done": "yes", "household": [
        {"head": "Amina", "kids": "1", "child": [{"child_age": "4"}], "pets": "yes", "pet": [{"pet_kind": "cat"}]}]}),
    ("cascade", {"region": "north", "district": "n2", "sector": "farm", "safe_home": "2", "safe_work": "3"}),
    # fieldkit's own 14:30 is written 14:30:00.000: ODK's engine leaves a time without seconds empty
    ("t_types", {"visit_time": "14:30", "left_at": "2024-05-31T09:05", "score": "3", "place": None}),
])
def test_fieldkits_answers_as_instance_xml_load_back_into_the_engine(odk, laptop, form_id, answers):
    """The round trip the other way: as ODK Central's edit would load a submission."""
    form = stored_form(laptop, form_id)
    xform = offered_xform(laptop, form_id)
    if "place" in answers:
        answers = dict(answers, place=form.choice_names(form.questions["place"])[0])
    final = engine.final_answers(form, answers)
    xml = instance.to_xml(form, xform, final, str(uuidlib.uuid4())).decode("utf-8")
    values = odk.evaluate("([x, i]) => window.fieldkitODK.edit(x, i)", [xform, xml])
    assert odk.errors == []

    def inputs(row: dict, repeat=None) -> dict:  # what a person answered: the engine recomputes the rest
        out = {}
        for name, value in row.items():
            if isinstance(value, list):
                out[name] = [inputs(r, name) for r in value]
            elif form.questions[name].is_input:
                out[name] = instance.odk_value(form.questions[name].type, value)
        return out

    def shown(row: dict) -> dict:
        return {k: ([shown(r) for r in v] if isinstance(v, list) else v) for k, v in row.items()
                if k in form.questions and form.questions[k].is_input or isinstance(v, list)}
    assert shown(values) == inputs(final)
