"""ODK interop (issue 17, item 1): each form version keeps the XForm pyxform made of
it, byte for byte (what ODK Collect will download), with a stable md5."""
from __future__ import annotations

import hashlib

from conftest import FORMS
from fieldkit.services import forms as form_service
from fieldkit.store import forms as form_store


def pyxform_xml(path) -> str:
    """What pyxform itself makes of the file, by its own API."""
    from pyxform import builder
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform
    workbook = get_xlsform(path.read_bytes(), file_type=path.suffix)
    return builder.create_survey_element_from_dict(
        workbook_to_json(workbook, fallback_form_name=path.stem, warnings=[])).to_xml(validate=False, warnings=[])


def test_an_imported_version_keeps_pyxforms_xform_byte_for_byte(db):
    imported = form_service.import_path(db, FORMS / "roster.md").form
    xml, md5 = form_service.xform(db, "roster", imported.version)
    assert xml == pyxform_xml(FORMS / "roster.md")
    assert md5 == hashlib.md5(xml.encode("utf-8")).hexdigest()
    assert '<h:title>Household roster</h:title>' in xml and 'jr:count' in xml
    assert form_service.xform(db, "roster", imported.version) == (xml, md5)  # stable


def test_a_version_stored_without_one_gets_it_once_from_its_xlsform(db):
    demo = form_store.current_form(db, "wellbeing")  # the bundled demo comes as a ready-made model
    assert form_store.xform_of(db, "wellbeing", demo.version) is None
    xml, md5 = form_service.xform(db, "wellbeing", demo.version)
    assert "<h:html" in xml and form_store.xform_of(db, "wellbeing", demo.version) == (xml, md5)
    assert form_service.xform(db, "wellbeing", "no-such-version") is None


def test_the_model_does_not_carry_the_xform(db):
    form = form_service.import_path(db, FORMS / "roster.md").form
    assert form.xform and "xform" not in form.to_dict()
    assert form_store.current_form(db, "roster").xform == ""  # read back from the model alone
