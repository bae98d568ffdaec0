"""Media prompts and choices from a file (issue 8): tests/forms/prompts.md with
its images, audio in two languages and a districts CSV, uploaded with the form
by the command line and the console, shown to a participant without JavaScript."""
import re

import pytest
from click.testing import CliRunner

from conftest import FORMS, Page, Participant, submissions_of
from fieldkit.cli import main
from fieldkit.forms.xlsform import FormImportError, Problem, load_xlsform
from fieldkit.services import forms as form_service

PROMPTS = FORMS / "prompts"
MEDIA = {p.name: p.read_bytes() for p in PROMPTS.iterdir()}
SURVEY = (FORMS / "prompts.md").read_bytes()


def problems_of(media: dict, survey: bytes = SURVEY):
    with pytest.raises(FormImportError) as caught:
        load_xlsform(survey, "prompts.md", media=media)
    return caught.value.problems


def warnings_of(media: dict, survey: bytes = SURVEY):
    form = load_xlsform(survey, "prompts.md", media=media)
    return form, [Problem.from_dict(w) for w in form.warnings]


def test_a_file_the_form_names_that_is_missing_imports_with_a_warning():
    missing = dict(MEDIA)
    del missing["question_so.wav"]
    form, [warning] = warnings_of(missing)
    assert (warning.sheet, warning.row, warning.column) == ("survey", 2, "audio")
    assert "question_so.wav is not attached" in warning.render()
    assert "question_so.wav" not in form.media_files  # the text is shown alone until it is
    without_csv = {k: v for k, v in MEDIA.items() if k != "districts.csv"}
    form, [warning] = warnings_of(without_csv)
    assert (warning.row, warning.column) == (4, "type") and "districts.csv" in warning.render()


@pytest.mark.parametrize("name,data,text", [
    ("house.png", b"GIF89a-not-a-png", "not the kind of file"),
    ("house.png", b"\x89PNG\r\n\x1a\n" + b"0" * (3 * 1024 * 1024), "too large"),
    ("question_en.wav", MEDIA["house.png"], "not the kind of file"),
])
def test_bad_media_files_are_left_out_with_a_warning_at_their_place(name, data, text):
    form, warnings = warnings_of(dict(MEDIA, **{name: data}))
    assert any(text in w.render() for w in warnings)
    assert all(w.sheet == "survey" and w.row == 2 for w in warnings) and name not in form.media_files


def test_an_image_column_needs_an_image():
    survey = SURVEY.replace(b"| house.png |", b"| question_en.wav |")
    _form, [warning] = warnings_of(MEDIA, survey)
    assert warning.column == "image" and "not an image file" in warning.render()


@pytest.mark.parametrize("csv_text,text", [
    ("label\nHillside\n", "needs a name column"),
    ("name,label\nhill,Hillside\nhill,Again\n", "twice"),
    ("name,label\n", "no choices"),
])
def test_a_bad_choices_csv_is_refused_naming_the_file(csv_text, text):
    [problem] = problems_of(dict(MEDIA, **{"districts.csv": csv_text.encode()}))
    assert problem.sheet == "districts.csv" and text in problem.render()


def test_choices_from_the_csv_in_each_language_and_filtered():
    form = load_xlsform(SURVEY, "prompts.md", media=MEDIA)
    district = form.questions["district"]
    assert district.list_name == "districts.csv"
    names = [c.name for c in form.choices["districts.csv"]]
    assert names == ["hill", "river", "harbour"]
    assert form.choices["districts.csv"][0].label == {"en": "Hillside", "so": "Buurta"}
    assert form.choices["districts.csv"][2].columns == {"region": "south"}


@pytest.fixture
def prompts(db, client):
    form_service.import_path(db, FORMS / "prompts.md", media_paths=sorted(PROMPTS.iterdir()))
    return Participant(client, "prompts")


def srcs(page: Page, tag: str) -> list[str]:
    return re.findall(rf'<{tag} [^>]*src="([^"]+)"', page.html)


def test_a_participant_sees_the_image_and_hears_their_own_language(prompts, client):
    page = prompts.start("so")
    [audio] = srcs(page, "audio")
    assert client.get(audio).data == MEDIA["question_so.wav"]
    assert "autoplay" not in page.html and 'preload="none"' in page.html  # plays on tap only
    images = srcs(page, "img")
    assert [client.get(i).data for i in images] == [MEDIA["house.png"], MEDIA["yes.png"], MEDIA["no.png"]]
    response = client.get(images[0])
    assert response.mimetype == "image/png" and response.cache_control.max_age >= 86400 * 365
    english = Participant(client.application.test_client(), "prompts").start("en")
    assert [client.get(a).data for a in srcs(english, "audio")] == [MEDIA["question_en.wav"]]


def test_choices_from_the_file_end_to_end(prompts, db):
    prompts.start("en")
    prompts.answer({"safe": "yes"})
    page = prompts.answer({"region": "south"})
    assert [i["value"] for i in page.inputs if i["name"] == "district"] == ["harbour"]
    assert prompts.post({"district": "hill"}).status_code == 422  # another region's district
    prompts.answer({"district": "harbour"})
    assert prompts.submit().status_code == 303
    assert submissions_of(db, "prompts")[0]["answers"]["district"] == "harbour"


def test_unknown_media_is_404(client):
    assert client.get("/a/media/" + "0" * 64).status_code == 404
    assert client.get("/a/media/../../etc").status_code == 404


def test_forms_add_takes_media_files_on_the_command_line(tmp_path):
    runner = CliRunner()
    files = [str(p) for p in sorted(PROMPTS.iterdir())]
    result = runner.invoke(main, ["forms", "add", str(FORMS / "prompts.md"), *files, "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    short = runner.invoke(main, ["forms", "add", str(FORMS / "prompts.md"), "--data", str(tmp_path / "b")])
    assert short.exit_code == 0 and "is not attached" in short.output  # added, with the warnings


def test_the_console_upload_takes_media_files(signed_in, db):
    import io
    client = signed_in("coordinator")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/console/").get_data(as_text=True)).group(1)
    data = {"csrf_token": csrf, "xlsform": (io.BytesIO(SURVEY), "prompts.md"),
            "media": [(io.BytesIO(content), name) for name, content in MEDIA.items()]}
    response = client.post("/console/forms", data=data, content_type="multipart/form-data")
    assert response.status_code == 303, response.get_data(as_text=True)
    data = {"csrf_token": csrf, "xlsform": (io.BytesIO(SURVEY.replace(b"| 1 |", b"| 2 |")), "prompts.md")}
    response = client.post("/console/forms", data=data, content_type="multipart/form-data")
    assert response.status_code == 303  # added: its page says what is missing
    page = client.get(response.location).get_data(as_text=True)
    assert "is not attached" in page and "What participants will see differently" in page
