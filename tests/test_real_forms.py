"""A form as a coordinator brings it from KoboToolbox (tests/forms/kobo.md): language
columns without codes (label::English, label::Spanish), a table-list block, a geopoint,
a geotrace, a barcode, username metadata, appearances in other cases. It imports in
one try with its warnings, and is answered end to end in each language with
JavaScript off. Also: an empty form, a form waiting for files, geo answers."""
import io

import pytest

from conftest import FORMS, Page, submissions_of
from fieldkit.forms import engine, expr, geo
from fieldkit.forms.xlsform import Problem, load_xlsform
from fieldkit.services import forms as form_service


def test_a_kobo_form_imports_in_one_try_with_what_it_shows_differently(db):
    form = form_service.import_path(db, FORMS / "kobo.md").form
    assert form.languages == ["en", "es"] and form.default_language == "en"
    assert form.questions["home"].type == "geopoint" and form.questions["card"].type == "barcode"
    assert form.questions["username"].type == "username"
    warnings = [Problem.from_dict(w).render() for w in form.warnings]
    assert any("quick" in w and "row 4" in w for w in warnings), warnings
    assert any("placement-map" in w for w in warnings), warnings
    assert not any("w2" in w or "multiline" in w or "table-list" in w for w in warnings), warnings
    assert "table-row" in form.questions["calm"].appearance  # a row of the table


@pytest.mark.parametrize("lang,yes", [("en", "Do you agree"), ("es", "¿Acepta participar?")])
def test_a_kobo_form_is_answered_end_to_end_in_each_language(participant, db, lang, yes):
    form_service.import_path(db, FORMS / "kobo.md")
    p = participant("kobo_checkin")
    page = p.start(lang)
    assert page.lang == lang and yes in page.text
    page = p.answer({"consent": "yes"})
    assert {"calm", "worried"} <= set(page.visible_names)  # the table-list block: one screen
    assert ("Tranquila" if lang == "es" else "Calm") in page.text
    page = p.answer({"calm": "often", "worried": "never"})
    assert page.visible_names == ["home"] and ("Latitud" if lang == "es" else "Latitude") in page.text
    bad = p.post({"home": ["91", "38.7", "", ""]})  # off the globe: asked again, with its message
    assert bad.status_code == 422 and Page(bad.get_data(as_text=True)).errors
    p.answer({"home": ["9.0301", "38.7408", "", "15"]})
    p.answer({"walk": "9.03 38.74\n9.04 38.75\n9.05 38.76"})
    p.answer({"card": "ABC-123"})
    p.answer({"notes": "Thank you"})
    assert p.submit().status_code == 303
    [row] = submissions_of(db, "kobo_checkin")
    answers = row["answers"]
    assert answers["home"] == "9.0301 38.7408 0 15"
    assert answers["walk"] == "9.03 38.74 0 0;9.04 38.75 0 0;9.05 38.76 0 0"
    assert (answers["calm"], answers["card"], answers["username"]) == ("often", "ABC-123", "")
    assert row["language"] == lang


@pytest.mark.parametrize("parts,stored", [
    (["9.03", "38.74"], "9.03 38.74 0 0"), (["-33,9", "18,4", "12", "5"], "-33.9 18.4 12 5"),
    (["", "", "", ""], ""), (["91", "0"], None), (["0", "181"], None), (["x", "1"], None),
    (["1", "1", "", "-3"], None)])
def test_a_geopoint_is_stored_as_odk_stores_it(parts, stored):
    found = geo.point(parts)
    assert found == stored if stored is not None else not isinstance(found, str)


def test_a_geoshape_is_closed_and_needs_three_points():
    assert geo.points("1 1\n1 2\n2 2", shape=True) == "1 1 0 0;1 2 0 0;2 2 0 0;1 1 0 0"
    assert not isinstance(geo.points("1 1\n1 2", shape=True), str)
    assert geo.points("1 1 0 0;1 2 0 0", shape=False) == "1 1 0 0;1 2 0 0"


def test_a_form_of_metadata_only_can_be_submitted(participant, db):
    source = b"| survey |\n| | type | name |\n| | start | start |\n| | end | end |\n| | deviceid | d |\n"
    form = form_service.import_form(db, source, "meta_only.md").form
    assert form.screens == []
    p = participant("meta_only")
    p.choose_language("en")
    response = p.consent("yes")
    assert response.status_code == 303
    assert p.submit().status_code == 303
    [row] = submissions_of(db, "meta_only")
    assert row["answers"]["start"] and row["answers"]["end"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_a_file_attached_later_is_used_by_the_same_version(db, signed_in, client):
    source = (b"| survey |\n| | type | name | label | image |\n| | note | hello | Hello | house.png |\n"
              b"| settings |\n| | form_id | version |\n| | pics | 1 |\n")
    form = form_service.import_form(db, source, "pics.md").form
    assert "house.png" not in form.media_files and form.warnings
    with pytest.raises(form_service.FormImportError):
        form_service.attach(db, "pics", {"other.png": PNG})
    coordinator = signed_in("coordinator")
    page = coordinator.get("/console/forms/pics").get_data(as_text=True)
    assert "Attach the missing files" in page
    import re
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = coordinator.post("/console/forms/pics/files", data={"csrf_token": csrf, "media": [
        (io.BytesIO(PNG), "house.png")]}, content_type="multipart/form-data")
    assert response.status_code == 303
    updated = form_service.store.forms.current_form(db, "pics")
    assert updated.version == "1" and "house.png" in updated.media_files and updated.warnings == []
    assert len(form_service.store.forms.all_versions(db, "pics")) == 1
    assert form_service.store.audit.recent(db)[0]["action"] == "form.files_attached"


def test_choices_from_an_xml_and_a_geojson_file():
    survey = (b"| survey |\n| | type | name | label |\n| | select_one_from_file places.xml | p | Place |\n"
              b"| | select_one_from_file sites.geojson | s | Site |\n")
    xml = b"<root><item><name>a</name><label>Hill</label></item><item><name>b</name><label>Lake</label></item></root>"
    geojson = (b'{"type": "FeatureCollection", "features": [{"type": "Feature", "id": "w1", '
               b'"geometry": {"type": "Point", "coordinates": [38.74, 9.03]}, "properties": {"title": "Well"}}]}')
    form = load_xlsform(survey, "f.md", media={"places.xml": xml, "sites.geojson": geojson})
    assert [c.name for c in form.choices["places.xml"]] == ["a", "b"]
    [site] = form.choices["sites.geojson"]
    assert site.name == "w1" and site.label == {"en": "Well"} and site.columns["geometry"] == "9.03 38.74 0 0"


def test_an_xml_list_with_entities_is_refused():
    survey = b"| survey |\n| | type | name | label |\n| | select_one_from_file places.xml | p | Place |\n"
    bomb = b'<!DOCTYPE r [<!ENTITY a "aaaa">]><root><item><name>&a;</name><label>x</label></item></root>'
    with pytest.raises(form_service.FormImportError):
        load_xlsform(survey, "f.md", media={"places.xml": bomb})


def test_month_year_is_stored_as_the_first_day():
    form = load_xlsform(b"| survey |\n| | type | name | label | appearance |\n| | date | d | D | month-year |\n",
                        "f.md")
    assert engine.parse_answer(form.questions["d"], ["2024-05"], form) == "2024-05-01"


def test_pulldata_and_instance_read_an_attached_csv_and_the_choice_lists(participant, db):
    survey = (b"| survey |\n| | type | name | label | calculation |\n"
              b"| | select_one fruit | f | Fruit | |\n"
              b"| | calculate | colour | | pulldata('fruits', 'colour', 'name', ${f}) |\n"
              b"| | calculate | label | | instance('fruit')/root/item[name = ${f}]/label |\n"
              b"| | note | shown | ${label} is ${colour} | |\n"
              b"| choices |\n| | list_name | name | label |\n| | fruit | mango | Mango |\n| | fruit | kiwi | Kiwi |\n"
              b"| settings |\n| | form_id |\n| | fruity |\n")
    fruits = b"name,colour\nmango,orange\nkiwi,green\n"
    form = form_service.import_form(db, survey, "fruity.md", media={"fruits.csv": fruits}).form
    assert form.instances["fruits"][1] == {"name": "kiwi", "colour": "green"} and form.warnings == []
    p = participant("fruity")
    p.start("en")
    page = p.answer({"f": "kiwi"})
    assert "Kiwi is green" in page.text
    p.answer({})
    p.submit()
    [row] = submissions_of(db, "fruity")
    assert (row["answers"]["colour"], row["answers"]["label"]) == ("green", "Kiwi")


def test_pulldata_without_its_csv_imports_with_a_warning(db):
    survey = (b"| survey |\n| | type | name | label | calculation |\n| | text | f | Fruit | |\n"
              b"| | calculate | colour | | pulldata('fruits', 'colour', 'name', ${f}) |\n")
    form = load_xlsform(survey, "f.md")
    [warning] = [Problem.from_dict(w) for w in form.warnings]
    assert "fruits.csv is not attached" in warning.render() and warning.row == 3


def test_the_same_name_in_two_groups_is_two_questions_each_at_its_row(db):
    survey = (b"| survey |\n| | type | name | label | relevant |\n| | begin_group | g1 | G1 | |\n"
              b"| | text | x | X1 | |\n| | end_group | | | |\n| | begin_group | g2 | G2 | |\n"
              b"| | integer | x | X2 | . = = 1 |\n| | end_group | | | |\n")
    with pytest.raises(form_service.FormImportError) as caught:
        load_xlsform(survey, "f.md")
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (6, "relevant")  # the second x's row, not the first's
    form = load_xlsform(survey.replace(b". = = 1", b""), "f.md")
    assert form.questions["x"].type == "text" and form.questions["g2_x"].type == "integer"
    [warning] = [Problem.from_dict(w) for w in form.warnings]
    assert (warning.row, warning.column) == (6, "name") and "g2_x" in warning.render()
    paths = load_xlsform(survey.replace(b". = = 1", b"")
                         + b"| | text | after | After | /data/g2/x = 1 and /data/g1/x = 'a' |\n", "f.md")
    assert expr.references(paths.questions["after"].relevant) == {"g2_x", "x"}


def test_once_random_is_drawn_once_per_participant(participant, db):
    survey = (b"| survey |\n| | type | name | label | calculation |\n"
              b"| | calculate | draw | | once(random()) |\n| | text | a | A | |\n| | note | n | Drawn: ${draw} | |\n"
              b"| | text | b | B | |\n| settings |\n| | form_id |\n| | lottery |\n")
    form_service.import_form(db, survey, "lottery.md")
    p = participant("lottery")
    p.start("en")
    first = p.answer({"a": "x"})
    drawn = first.text.split("Drawn:")[1].split()[0]
    p.answer({})
    p.answer({"b": "y"})
    p.submit()
    [row] = submissions_of(db, "lottery")
    assert row["answers"]["draw"] == drawn and 0 <= float(drawn) < 1


def test_a_trigger_without_a_calculation_clears_the_answer_when_its_question_changes():
    form = load_xlsform(b"| survey |\n| | type | name | label | trigger |\n| | begin_group | g | G | |\n"
                        b"| | text | a | A | |\n| | text | b | B | ${a} |\n| | end_group | | | |\n", "f.md")
    kept = engine.apply_screen(form, 0, {}, {"a": ["1"], "b": ["x"]}).answers
    assert kept == {"a": "1", "b": "x"}  # b answered on the same page: kept
    result = engine.apply_screen(form, 0, kept, {"a": ["2"], "b": ["x"]})
    assert result.answers["b"] == "x"  # posted again with the page
    form.screens[0].questions = ["a"]  # b on a page of its own: a's change clears it
    assert "b" not in engine.apply_screen(form, 0, kept, {"a": ["3"]}).answers


def test_last_saved_is_never_carried_from_one_participant_to_the_next():
    form = load_xlsform(b"| survey |\n| | type | name | label | default |\n| | text | w | W | ${last-saved#w} |\n",
                        "f.md")
    [warning] = [Problem.from_dict(w) for w in form.warnings]
    assert "last-saved" in warning.render() and engine.defaults(form)["w"] == ""


def test_a_csv_saved_by_excel_in_windows_1252_is_read():
    form = load_xlsform(b"| survey |\n| | type | name | label |\n| | select_one_from_file people.csv | p | P |\n",
                        "f.md", media={"people.csv": "name,label\nan,Ant\xf3nio\n".encode("cp1252")})
    assert form.choices["people.csv"][0].label == {"en": "António"}


def test_appearances_with_brackets_and_spaces_are_one_appearance():
    from fieldkit.forms import appearances
    assert appearances.tokens("search('a b') custom-x(h='A,B(C D)')  Minimal") == [
        "search('a b')", "custom-x(h='A,B(C D)')", "minimal"]


# ---------------------------------------------------------------- the defects issue 12 names

def test_a_choice_filter_with_the_reference_first_parses():
    form = load_xlsform(b"| survey |\n| | type | name | label | choice_filter |\n| | text | a | A | |\n"
                        b"| | select_one l | q | Q | ${a} = region and name != 'x' |\n"
                        b"| choices |\n| | list_name | name | label | region |\n| | l | n1 | N1 | north |\n"
                        b"| | l | s1 | S1 | south |\n", "f.md")
    state = engine.evaluate(form, {"a": "south"})
    assert [c.name for c in engine.choices_for(form, form.questions["q"], state)] == ["s1"]


def test_a_java_style_regex_that_odk_accepts_is_taken():
    form = load_xlsform(b"| survey |\n| | type | name | label | constraint |\n"
                        b"| | text | e | Email | regex(., '^[\\w-\\.]+@[\\w-\\.]+$') |\n", "f.md")
    q = form.questions["e"]
    assert engine.check_answer(form, q, engine.evaluate(form, {"e": "a.b-c@x.org"})) is None
    assert engine.check_answer(form, q, engine.evaluate(form, {"e": "not an email"})) is not None


@pytest.mark.parametrize("source", ["${a} != null", "${a} != FALSE"])
def test_a_bare_name_reads_as_an_empty_path_with_a_warning_of_what_that_means(source):
    form = load_xlsform(("| survey |\n| | type | name | label | relevant |\n| | text | a | A | |\n"
                         f"| | text | b | B | {source} |\n").encode(), "f.md")
    [warning] = [Problem.from_dict(w) for w in form.warnings]
    assert (warning.row, warning.column) == (3, "relevant") and "= ''" in warning.render()
    # an empty node-set compared with anything is false (XPath 1.0, Enketo): b is never asked
    assert "b" not in engine.evaluate(form, {"a": "x"}).relevant


def test_begin_loop_is_a_group_per_choice():
    form = load_xlsform(b"| survey |\n| | type | name | label |\n| | begin loop over toilet | t | Toilets |\n"
                        b"| | integer | n | How many %(label)s? |\n| | end loop | | |\n"
                        b"| choices |\n| | list_name | name | label |\n| | toilet | pit | Pit latrines |\n"
                        b"| | toilet | flush | Flush toilets |\n", "f.md")
    assert [s.questions for s in form.screens] == [["n_pit"], ["n_flush"]]
    assert form.questions["n_flush"].label == {"en": "How many Flush toilets?"}


def test_jr_itext_gives_a_chosen_answer_label_in_the_form_language():
    form = load_xlsform("| survey |\n| | type | name | label::English (en) | label::Español (es) | calculation |\n"
                        "| | select_one inc | i | Income | Ingreso | |\n"
                        "| | calculate | cls | | | jr:itext(instance('inc')/root/item[name = ${i}]/itextId) |\n"
                        "| choices |\n| | list_name | name | label::English (en) | label::Español (es) |\n"
                        "| | inc | low | Low | Bajo |\n| | inc | high | High | Alto |\n".encode(), "f.md")
    assert engine.evaluate(form, {"i": "high"}, lang="es").values["cls"] == "Alto"
    assert engine.evaluate(form, {"i": "low"}, lang="en").values["cls"] == "Low"


def test_randomized_choices_keep_their_order_for_a_participant_and_differ_between_them(db, client, participant):
    letters = "abcdefgh"
    survey = ("| survey |\n| | type | name | label | parameters |\n| | select_one l | q | Q | randomize=true |\n"
              "| | text | t | T | |\n| choices |\n| | list_name | name | label |\n"
              + "".join(f"| | l | {c} | {c.upper()} |\n" for c in letters) + "| settings |\n| | form_id |\n| | shuffle |\n")
    form = form_service.import_form(db, survey.encode(), "shuffle.md").form
    assert form.questions["q"].parameters == {"randomize": "true"} and form.warnings == []
    orders = set()
    for n in range(6):
        p = participant("shuffle", client_=client.application.test_client())  # a phone of its own
        page = p.start("en")
        order = [i["value"] for i in page.inputs if i.get("name") == "q"]
        assert sorted(order) == list(letters)
        assert [i["value"] for i in p.current().inputs if i.get("name") == "q"] == order  # same on reload
        orders.add(tuple(order))
    assert len(orders) > 1


def test_search_takes_its_choices_from_the_attached_csv_filtered_as_it_says(participant, db):
    survey = (b"| survey |\n| | type | name | label | appearance |\n| | select_one regions | region | Region | |\n"
              b"| | select_one districts | district | District | search('districts', 'matches', 'region', ${region}) |\n"
              b"| choices |\n| | list_name | name | label |\n| | regions | north | North |\n| | regions | south | South |\n"
              b"| | districts | code | title |\n| settings |\n| | form_id |\n| | searching |\n")
    csv = b"code,title,region\nn1,Hill,north\nn2,Lake,north\ns1,Coast,south\n"
    form = load_xlsform(survey, "searching.md")
    assert any("districts.csv is not attached" in Problem.from_dict(w).render() for w in form.warnings)
    form = form_service.import_form(db, survey, "searching.md", media={"districts.csv": csv}).form
    assert form.warnings == []
    p = participant("searching")
    p.start("en")
    page = p.answer({"region": "south"})
    assert [i["value"] for i in page.inputs if i.get("name") == "district"] == ["s1"] and "Coast" in page.text
    p.answer({"district": "s1"})
    p.submit()
    assert submissions_of(db, "searching")[0]["answers"]["district"] == "s1"


def test_search_filters_on_every_column_and_value_pair_it_names(participant, db):
    survey = (b"| survey |\n| | type | name | label | appearance |\n| | select_one regions | region | Region | |\n"
              b"| | select_one sizes | size | Size | |\n"
              b"| | select_one towns | town | Town | search('towns', 'matches', 'region', ${region}, 'size', ${size}) |\n"
              b"| choices |\n| | list_name | name | label |\n| | regions | north | North |\n| | regions | south | South |\n"
              b"| | sizes | big | Big |\n| | sizes | small | Small |\n"
              b"| | towns | code | title |\n| settings |\n| | form_id |\n| | towns |\n")
    csv = b"code,title,region,size\nn1,Hill,north,big\nn2,Lake,north,small\ns1,Coast,south,big\ns2,Bay,south,small\n"
    form_service.import_form(db, survey, "towns.md", media={"towns.csv": csv})
    p = participant("towns")
    p.start("en")
    p.answer({"region": "north"})
    page = p.answer({"size": "small"})
    assert [i["value"] for i in page.inputs if i.get("name") == "town"] == ["n2"]


def test_a_search_that_names_no_file_in_quotes_offers_the_choices_sheets_list_with_a_warning(participant, db):
    survey = (b"| survey |\n| | type | name | label | appearance |\n| | text | d | D | |\n"
              b"| | select_one places | place | Place | search(${d}, 'matches', 'key', ${d}) |\n"
              b"| choices |\n| | list_name | name | label |\n| | places | here | Here |\n"
              b"| settings |\n| | form_id |\n| | nofile |\n")
    form = form_service.import_form(db, survey, "nofile.md").form
    [warning] = [Problem.from_dict(w) for w in form.warnings]
    assert (warning.row, warning.column) == (3, "appearance") and "names no file in quotes" in warning.render()
    p = participant("nofile")
    p.start("en")
    page = p.answer({"d": "x"})
    assert [i["value"] for i in page.inputs if i.get("name") == "place"] == ["here"]


KOBO_CHILD = (b"| survey |\n| | type | name | label | calculation |\n| | xml-external | parent | | |\n"
              b"| | text | C_SN | Serial number | |\n"
              b"| | calculate | name | | instance('parent')/root/data[P_Demographic/P_SN = current()/../C_SN]"
              b"/P_Demographic/P_Name |\n"
              b"| | calculate | households | | count(instance('parent')/root/data[P_Enumerator]) |\n"
              b"| | calculate | people | | sum(instance('parent')/root/data/P_Demographic/P_Family) |\n"
              b"| | note | hello | Following up with ${name} | |\n| settings |\n| | form_id |\n| | child |\n")
KOBO_PARENT = ("<root><data><P_Enumerator>ana</P_Enumerator><P_Demographic><P_SN>7</P_SN><P_Name>Hodan</P_Name>"
               "<P_Family>4</P_Family></P_Demographic></data><data><P_Enumerator>bo</P_Enumerator><P_Demographic>"
               "<P_SN>8</P_SN><P_Name>Ayan</P_Name><P_Family>2</P_Family></P_Demographic></data></root>").encode()


def test_koboToolbox_linked_answers_are_read_from_the_xml_file_attached_for_them(participant, db):
    """KoboToolbox's dynamic data attachment: an xml-external names another project's
    answers; its paths reach inside each one. Until the file is attached the form
    imports with a warning naming it, and the lookups are empty."""
    form = load_xlsform(KOBO_CHILD, "child.md")
    [warning] = [Problem.from_dict(w) for w in form.warnings]
    assert "parent.xml is not attached" in warning.render() and warning.row == 2
    form_service.import_form(db, KOBO_CHILD, "child.md", media={"parent.xml": KOBO_PARENT})
    p = participant("child")
    p.start("en")
    page = p.answer({"C_SN": "8"})
    assert "Following up with Ayan" in page.text
    p.answer({})
    assert p.submit().status_code == 303
    answers = submissions_of(db, "child")[0]["answers"]
    assert (answers["name"], answers["households"], answers["people"]) == ("Ayan", "2", "6")


def test_an_xml_file_with_entities_is_refused_for_lookups_too():
    with pytest.raises(form_service.FormImportError) as caught:
        load_xlsform(KOBO_CHILD, "child.md", media={"parent.xml": b"<!DOCTYPE r [<!ENTITY a 'x'>]><root/>"})
    assert "may not declare entities" in caught.value.problems[0].render()


def test_a_warning_about_a_file_is_translated_whole():
    form = load_xlsform(b"| survey |\n| | type | name | label | image |\n| | note | n | N | house.png |\n", "f.md",
                        media={"house.png": b"GIF89a-not-a-png"})
    [warning] = [Problem.from_dict(w) for w in form.warnings]
    spanish = {"%(problem)s The text is shown without it.": "%(problem)s Se muestra el texto solo.",
               "%(name)s is not the kind of file its name says.": "%(name)s no es lo que dice su nombre."}
    assert warning.render(lambda s: spanish.get(s, s)).endswith(
        "house.png no es lo que dice su nombre. Se muestra el texto solo.")


@pytest.mark.parametrize("column,source,needle", [
    ("relevant", "duration() > 60", "a SurveyCTO function"), ("constraint", "device-info() != ''", "a SurveyCTO function"),
    ("calculation", "item-at(' ', ${a}, 1)", "a SurveyCTO function"),
])
def test_what_only_another_platform_can_run_is_refused_in_plain_words(column, source, needle):
    survey = (f"| survey |\n| | type | name | label | {column} |\n| | text | a | A | |\n"
              f"| | {'calculate' if column == 'calculation' else 'text'} | c | C | {source} |\n").encode()
    with pytest.raises(form_service.FormImportError) as caught:
        load_xlsform(survey, "f.md")
    [problem] = caught.value.problems
    assert (problem.row, problem.column) == (3, column) and needle in problem.render()


def test_surveyctos_records_of_how_a_form_was_filled_are_stored_empty_and_its_index_is_the_position(participant, db):
    """SurveyCTO's templates start with device-info() and duration() calculations; its
    index() is ODK's position(..)."""
    survey = (b"| survey |\n| | type | name | label | calculation |\n| | calculate | device | | device-info() |\n"
              b"| | calculate | spent | | duration() |\n| | calculate | plug | | plug-in-metadata(${a}) |\n"
              b"| | text | a | A | |\n| | begin_repeat | people | People | |\n| | text | who | Who | |\n"
              b"| | calculate | n | | index() |\n| | end_repeat | | | |\n| settings |\n| | form_id |\n| | scto |\n")
    form = form_service.import_form(db, survey, "scto.md").form
    told = [Problem.from_dict(w) for w in form.warnings]
    assert sorted((w.row, w.message.params["name"]) for w in told) == [
        (2, "device-info"), (3, "duration"), (4, "plug-in-metadata")]
    assert all("stores it empty" in w.render() for w in told)
    p = participant("scto")
    p.start("en")
    p.answer({"a": "x"})
    for who in ("Ana", "Ben"):
        assert p.post({}, action="add").status_code == 303
        p.answer({"who": who})
    p.answer({})  # the list page: go on
    assert p.submit().status_code == 303
    answers = submissions_of(db, "scto")[0]["answers"]
    assert (answers["device"], answers["spent"], answers["plug"]) == ("", "", "")
    assert [row["n"] for row in answers["people"]] == ["1", "2"]


def test_a_header_row_of_a_hand_made_grid_asks_nothing_even_when_marked_required():
    form = load_xlsform(b"| survey |\n| | type | name | label | appearance | required |\n"
                        b"| | begin_group | g | G | field-list | |\n| | select_one yn | h | Answers | label | yes |\n"
                        b"| | select_one yn | q | Q | list-nolabel | yes |\n| | end_group | | | | |\n"
                        b"| choices |\n| | list_name | name | label |\n| | yn | yes | Yes |\n| | yn | no | No |\n", "f.md")
    assert form.questions["h"].required is None and form.questions["q"].required is not None
    assert engine.first_invalid_page(form, {"q": "yes"}) is None
