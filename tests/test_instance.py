"""ODK instance XML <-> fieldkit's answers (forms/instance.py, issue 17): every form in
tests/forms and the demo, every supported type, groups, repeats and nested repeats."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import fieldkit
from conftest import FORMS
from fieldkit.forms import engine, instance
from fieldkit.forms.model import Form
from fieldkit.forms.xlsform import load_xlsform

SAMPLES = {"text": "two words", "integer": "3", "decimal": "2.5", "date": "2024-05-31", "time": "14:30",
           "dateTime": "2024-05-31T14:30", "geopoint": "9.03 38.74 2350 5", "barcode": "0012345",
           "geotrace": "9.03 38.74 0 0;9.04 38.75 0 0", "range": "3", "acknowledge": "OK"}


def forms() -> list[tuple[str, Form]]:
    found = []
    demo = Path(fieldkit.__file__).parent / "demo" / "wellbeing.md"
    for path in [demo, *sorted(FORMS.glob("*.md"))]:
        media = {p.name: p.read_bytes() for p in (FORMS / path.stem).iterdir()} if (FORMS / path.stem).is_dir() else None
        try:
            found.append((path.name, load_xlsform(path.read_bytes(), path.name, media=media)))
        except Exception:  # a form that waits for its files: not this test's subject
            continue
    return found


def sample(form: Form, repeat: str | None = None, depth: int = 0) -> dict:
    """A value of its type for every input at one level, two instances of each repeat in it."""
    row = {}
    for name, q in form.questions.items():
        if q.repeat != repeat or not q.is_input:
            continue
        if q.type in ("select_one", "rank"):
            choices = form.choice_names(q)
            row[name] = choices[0] if q.type == "select_one" and choices else " ".join(choices)
        elif q.type == "select_multiple":
            row[name] = " ".join(form.choice_names(q)[:2])
        elif q.type in ("image", "audio", "video", "file"):
            row[name] = f"{name[:20]}-0123456789abcdef.jpg"
        else:
            row[name] = SAMPLES.get(q.type, "x")
    for name, r in form.repeats.items():
        if r.parent == repeat and depth < 3:
            row[name] = [sample(form, name, depth + 1), sample(form, name, depth + 1)]
    return row


def widened(form: Form, answers: dict) -> dict:
    """fieldkit's answers as ODK writes them back (a time gains its seconds)."""
    out = {}
    for name, value in answers.items():
        q = form.questions.get(name)
        if isinstance(value, list):
            out[name] = [widened(form, row) for row in value]
        else:
            out[name] = instance.odk_value(q.type, value) if q else value
    return out


FORMS_HERE = forms()


@pytest.mark.parametrize("name,form", FORMS_HERE, ids=[n for n, _ in FORMS_HERE])
def test_answers_written_as_instance_xml_read_back_the_same(name, form):
    answers = engine.final_answers(form, sample(form))
    xml = instance.to_xml(form, form.xform, answers, "0c6c7d8e-0000-4000-8000-000000000001")
    read = instance.to_answers(form, instance.parse(xml))
    assert (read.form_id, read.version, read.uuid) == (form.form_id, form.version, "0c6c7d8e-0000-4000-8000-000000000001")
    expected = widened(form, answers)
    files = {v: k for k, v in read.files.items()}  # file names come back as fieldkit stores them
    assert _unfile(read.answers, files) == expected


def _unfile(answers, files):
    if isinstance(answers, list):
        return [_unfile(a, files) for a in answers]
    if isinstance(answers, dict):
        return {k: _unfile(v, files) for k, v in answers.items()}
    return files.get(answers, answers)


@pytest.mark.parametrize("name,form", FORMS_HERE, ids=[n for n, _ in FORMS_HERE])
def test_instance_xml_is_shaped_as_the_xforms_primary_instance(name, form):
    """Same elements in the same order and groups as pyxform's instance (a repeat once per
    instance), so that ODK's engines and Central read it as one of their own."""
    answers = engine.final_answers(form, sample(form))
    written = ET.fromstring(instance.to_xml(form, form.xform, answers, "u-1"))
    shape = instance.template(form.xform)

    def names(node) -> list[str]:
        return [c.name for c in node.children]

    def check(element, node):
        seen = [instance.local(c.tag) for c in element]
        collapsed = [n for i, n in enumerate(seen) if i == 0 or n != seen[i - 1]]  # a repeat's instances in a row
        assert [n for n in collapsed if n in names(node)] == [n for n in names(node) if n in collapsed]
        for child in element:
            inner = next(c for c in node.children if c.name == instance.local(child.tag))
            check(child, inner)
    assert instance.local(written.tag) == shape.name
    check(written, shape)


def test_odk_values_are_kept_as_odk_wrote_them():
    form = load_xlsform((FORMS / "t_types.md").read_bytes(), "t_types.md")
    times = [n for n, q in form.questions.items() if q.type in ("time", "dateTime")]
    assert times
    root = ET.fromstring(instance.to_xml(form, form.xform, engine.final_answers(form, sample(form)), "u-1"))
    for element in root.iter():
        name = instance.local(element.tag)
        if name in times:
            element.text = "14:30:15.250+03:00" if form.questions[name].type == "time" else "2024-05-31T14:30:15.250-07:00"
    read = instance.to_answers(form, instance.parse(ET.tostring(root)))
    for name in times:
        assert read.answers[name] in ("14:30:15.250+03:00", "2024-05-31T14:30:15.250-07:00")
    again = ET.fromstring(instance.to_xml(form, form.xform, read.answers, read.uuid))
    assert {instance.local(e.tag): e.text for e in again.iter() if instance.local(e.tag) in times} == \
        {n: read.answers[n] for n in times}


def test_namespaces_groups_and_unknown_elements_as_odk_clients_write_them():
    """ODK Web Forms writes the XForms namespace on every element; Collect none; a client may
    add elements the form does not have (they are left out) and leave some out (empty)."""
    form = load_xlsform((FORMS / "households.md").read_bytes(), "households.md")
    xml = (b'<data xmlns="http://www.w3.org/2002/xforms" xmlns:orx="http://openrosa.org/xforms" '
           b'id="households" version="1"><village>Hill</village><extra>?</extra>'
           b'<household><head>Amina</head><kids>1</kids><child><child_age>4</child_age></child></household>'
           b'<orx:meta><orx:instanceID>uuid:abc</orx:instanceID><orx:instanceName>Hill 1</orx:instanceName>'
           b'</orx:meta></data>')
    read = instance.to_answers(form, instance.parse(xml))
    assert read.uuid == "abc" and read.instance_name == "Hill 1"
    assert read.answers["village"] == "Hill" and "extra" not in read.answers
    assert read.answers["done"] == ""  # not sent: empty, as a question skipped on the web
    assert read.answers["household"][0]["child"] == [{"child_age": "4", "child_no": "", "household_no": ""}]
    assert read.answers["household"][0]["pet"] == []


def test_a_file_is_named_the_same_in_every_post_of_one_submission():
    a = instance.stored_name("u-1", "photo", "1700000000001.jpg")
    assert a == instance.stored_name("u-1", "photo", "1700000000001.jpg")
    assert a != instance.stored_name("u-2", "photo", "1700000000001.jpg")
    assert engine.ATTACHMENT_NAME.fullmatch(a)
    assert engine.ATTACHMENT_NAME.fullmatch(instance.stored_name("u", "ፎቶ.ምስል", "../../etc/passwd"))


@pytest.mark.parametrize("xml", [
    b"<data id='x'><meta><instanceID>uuid:1</instanceID></meta>",  # cut short
    b"<!DOCTYPE d [<!ENTITY e 'x'>]><data id='x'>&e;</data>",  # a DTD: refused, whatever it holds
    b"<data id='x'>" + b"<g>" * 100 + b"</g>" * 100 + b"</data>",  # deeper than any form
])
def test_unsafe_or_broken_xml_is_an_instance_error(xml):
    with pytest.raises(instance.InstanceError):
        instance.parse(xml)


def test_an_instance_without_id_or_instance_id_is_refused():
    form = load_xlsform((FORMS / "households.md").read_bytes(), "households.md")
    with pytest.raises(instance.InstanceError):
        instance.identify(instance.parse(b"<data><village/></data>"))
    with pytest.raises(instance.InstanceError):
        instance.to_answers(form, instance.parse(b"<data id='households' version='1'><village/></data>"))
