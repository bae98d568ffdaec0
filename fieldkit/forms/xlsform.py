"""XLSForm (.xlsx, .xls, .csv, .md) -> fieldkit's form model, through pyxform.

pyxform is the reference reader: it resolves column aliases, checks references
and structure. We add what pyxform leaves to a runtime: parsing every
expression, ordering calculations, refusing what fieldkit cannot yet show.
Every problem names the sheet, row and column, and import is all or nothing.
"""
from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from pathlib import PurePath

from .. import crypto
from ..messages import Message, N_
from . import expr
from . import media as media_files
from .model import Choice, Form, Group, Question, Repeat, Screen
from .order import CycleError, dependency_order

FILE_TYPES = (".xlsx", ".xls", ".csv", ".md")
TYPE_MAP = {
    "photo": "image",  # pyxform's name for XLSForm's image
    "audio": "audio",
    "video": "video",
    "file": "file",
    "text": "text",
    "integer": "integer",
    "decimal": "decimal",
    "select one": "select_one",
    "select all that apply": "select_multiple",
    "note": "note",
    "date": "date",
    "acknowledge": "acknowledge",
    "calculate": "calculate",
    "time": "time",
    "dateTime": "dateTime",
    "range": "range",
    "rank": "rank",
    "hidden": "hidden",
    # Metadata: never shown; filled in when the submission is stored (services/collect.submit).
    "start": "start",
    "end": "end",
    "today": "today",
    "deviceid": "deviceid",
}
RANGE_PARAMETERS = ("start", "end", "step")
RANGE_DEFAULTS = {"start": "1", "end": "10", "step": "1"}  # ODK's
# Columns that XLSForm defines and fieldkit does not act on yet: refused when
# used, rather than silently ignored, so nobody runs a form that behaves
# differently from what its author wrote.
UNSUPPORTED_COLUMNS = (
    "parameters", "video", "guidance_hint", "body",
)
MEDIA_KINDS = ("image", "big-image", "audio")  # media columns fieldkit shows
SUPPORTED_APPEARANCES = {"", "field-list", "multiline", "minimal", "likert"}
# Appearances that only apply to some types (the row's type must start with one of these).
APPEARANCE_TYPES = {"minimal": ("select_one", "select one"), "likert": ("select_one", "select one")}
LANGUAGE = re.compile(r"^(?P<name>.*?)\s*\((?P<code>[A-Za-z]{2,3}(?:-[A-Za-z0-9]+)?)\)\s*$")
PYXFORM_ROW = re.compile(r"\[row : (\d+)\]")
PYXFORM_WHERE = re.compile(r"On the '([^']+)' sheet, the '([^']+)' value")


@dataclass
class Problem:
    message: Message
    sheet: str | None = None
    row: int | None = None
    column: str | None = None

    def render(self, gettext=str) -> str:
        where = []
        if self.sheet:
            where.append(gettext("sheet %(sheet)s") % {"sheet": self.sheet})
        if self.row:
            where.append(gettext("row %(row)s") % {"row": self.row})
        if self.column:
            where.append(gettext("column %(column)s") % {"column": self.column})
        text = self.message.render(gettext)
        return f"{', '.join(where)}: {text}" if where else text


class FormImportError(Exception):
    def __init__(self, problems: list[Problem]):
        super().__init__("; ".join(p.render() for p in problems))
        self.problems = problems


def problem(text: str, sheet=None, row=None, column=None, **params) -> Problem:
    return Problem(Message(text, params), sheet, row, column)


def file_type_of(filename: str) -> str:
    suffix = PurePath(filename).suffix.lower()
    if suffix not in FILE_TYPES:
        raise FormImportError([problem(
            N_("%(name)s is not an XLSForm: use an .xlsx, .xls, .csv or .md file."), name=filename)])
    return suffix


OTHER = N_("Other")
SPECIFY_OTHER = N_("Please specify")


def load_xlsform(data: bytes, filename: str, translate=None, media: dict[str, bytes] | None = None) -> Form:
    """Parse an XLSForm file's bytes into a Form, or raise FormImportError.

    translate(language code, text) gives fieldkit's own words in a form's languages
    (the "Other" choice and "Please specify" question of `or_other`); by default English.
    media: the files uploaded with the form, by name (images and audio of the
    media columns, CSV files of select_*_from_file)."""
    # pyxform is imported here, not at the top: it (with openpyxl) is over half of
    # fieldkit's import time, and `fieldkit serve` on an existing data directory
    # never reads an XLSForm (bench/RESULTS.md, start-up).
    from pyxform import builder
    from pyxform.errors import PyXFormError
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform

    file_type = file_type_of(filename)
    try:
        workbook = get_xlsform(data, file_type=file_type)
    except Exception:  # pyxform's own wording here names its internals, not the file
        raise FormImportError([problem(
            N_("%(name)s could not be read as an XLSForm. Save it from Excel, LibreOffice or Google Sheets "
               "as .xlsx and try again."), name=PurePath(filename).name)]) from None
    extensions = _take_extensions(workbook)
    try:
        rows = _row_numbers(workbook.survey or [])
        written = _written_types(workbook.survey or [])
        problems = _check_columns(workbook.survey or []) + _check_columns(workbook.choices or [], "choices")
        if problems:
            raise FormImportError(problems)
        warnings: list[str] = []
        tree = workbook_to_json(workbook, fallback_form_name=PurePath(filename).stem, warnings=warnings)
        # to_xml builds the XForm, which checks references and structure;
        # validate=False keeps Java's ODK Validate out of it.
        builder.create_survey_element_from_dict(tree).to_xml(validate=False, warnings=warnings)
    except FormImportError:
        raise
    except PyXFormError as error:
        raise FormImportError([_from_pyxform(str(error))]) from None
    except Exception as error:  # a corrupt file makes the readers raise anything
        raise FormImportError([problem(
            N_("This file could not be read as an XLSForm (%(error)s)."), error=str(error)[:200])]) from None
    version = str(tree.get("version") or hashlib.sha256(data).hexdigest()[:10])
    form = _Builder(tree, rows, version, written, translate, media or {}).build()
    _apply_extensions(form, extensions)
    form.public_key = _public_key(tree.get("public_key"))
    return form


def _public_key(text: str | None) -> str:
    if not text:
        return ""
    try:
        crypto.load_public_key(text)
    except crypto.CryptoKeyError as error:
        raise FormImportError([problem(N_("The public_key cannot be used: %(error)s."), "settings", 2,
                                       "public_key", error=str(error))]) from None
    return "".join(text.split())


# Settings that fieldkit adds to XLSForm. pyxform cannot put them in an XForm,
# so they are taken out of the settings sheet before pyxform sees it.
EXTENSIONS = ("form_title", "public_title", "consent_text", "public_id")
PUBLIC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def _take_extensions(workbook) -> dict[str, dict[str, str]]:
    """{'public_title': {'': 'Wellbeing', 'Español (es)': 'Bienestar'}, ...}"""
    found: dict[str, dict[str, str]] = {}
    for row in workbook.settings or []:
        for column in list(row):
            name, _, language = column.partition("::")
            if name.strip() in EXTENSIONS and (language or name.strip() != "form_title"):
                value = row.pop(column)
                if value not in (None, ""):
                    found.setdefault(name.strip(), {})[language.strip()] = str(value).strip()
    return found


def _apply_extensions(form: Form, extensions: dict[str, dict[str, str]]) -> None:
    def by_language(name: str) -> dict[str, str]:
        entries = extensions.get(name, {})
        # A column without a language gives every language the same text; a
        # column with one (public_title::Español (es)) gives that language its own.
        texts = {lang: entries[""] for lang in form.languages} if "" in entries else {}
        for key, text in entries.items():
            code = language_code(key, sheet="settings", column=f"{name}::{key}") if key else None
            if code in form.languages:
                texts[code] = text
        return texts

    form.title.update(by_language("form_title"))
    form.public_title = by_language("public_title")
    form.consent = by_language("consent_text")
    public_id = extensions.get("public_id", {}).get("", "")
    if public_id and not PUBLIC_ID.fullmatch(public_id):
        raise FormImportError([problem(N_("The public_id %(value)s can only have letters, digits, - and _."),
                                       "settings", 2, "public_id", value=public_id)])
    form.public_id = public_id


def _from_pyxform(text: str) -> Problem:
    found = PYXFORM_ROW.search(text)
    where = PYXFORM_WHERE.search(text)  # pyxform names the sheet and column it means
    text = PYXFORM_ROW.sub("", text).strip()
    sheet = where.group(1) if where else "survey" if found else None
    return problem(N_("The form has a problem: %(error)s"), sheet=sheet,
                   row=int(found.group(1)) if found else None, column=where.group(2) if where else None,
                   error=text)


def _row_numbers(survey: list[dict]) -> dict[str, int]:
    # pyxform keeps blank rows in place, so list index + 2 is the sheet row.
    return {r["name"]: i + 2 for i, r in enumerate(survey) if r.get("name")}


def _written_types(survey: list[dict]) -> dict[str, str]:
    return {r["name"]: str(r.get("type") or "").strip() for r in survey if r.get("name")}


def _check_columns(survey: list[dict], sheet: str = "survey") -> list[Problem]:
    problems = []
    for i, row in enumerate(survey):
        row_type = str(row.get("type") or "").strip()
        for column, value in row.items():
            base = column.split("::")[0].strip().lower()
            if value in (None, ""):
                continue
            if base == "parameters" and row_type == "range" and sheet == "survey":
                continue  # start/end/step, checked by _Builder
            appearance = str(value).strip()
            if base in UNSUPPORTED_COLUMNS:
                # Problem() itself: problem()'s own 'column' argument would clash with the placeholder.
                problems.append(Problem(Message(N_("The column %(column)s is not supported by fieldkit yet."),
                                                {"column": column}), sheet, i + 2, column))
            elif base == "appearance" and (appearance not in SUPPORTED_APPEARANCES or (
                    appearance in APPEARANCE_TYPES and not row_type.startswith(APPEARANCE_TYPES[appearance]))):
                problems.append(problem(N_("The appearance %(value)s is not supported by fieldkit yet."),
                                        sheet, i + 2, column, value=value))
    return problems


def language_code(key: str, row=None, sheet="survey", column=None) -> str:
    match = LANGUAGE.match(key)
    if not match:
        raise FormImportError([problem(
            N_("The language %(name)s needs a code in brackets, like English (en)."),
            sheet, row, column, name=key)])
    return match.group("code").lower()


class _Builder:
    """Walks pyxform's nested dict once, collecting questions, groups and screens."""

    def __init__(self, tree: dict, rows: dict[str, int], version: str, written: dict[str, str] | None = None,
                 translate=None, media: dict[str, bytes] | None = None):
        self.tree, self.rows, self.version = tree, rows, version
        self.media = media or {}
        self.media_used: dict[str, dict[str, str]] = {}  # file name -> {"sha256", "type"}
        self.translate = translate or (lambda lang, text: text)
        self.written = written or {}  # name -> type as the author wrote it
        self.problems: list[Problem] = []
        self.languages: list[str] = []
        default = tree.get("default_language") or "default"
        self.default_key = default
        self.default_code = "en" if default == "default" else language_code(default, sheet="settings", column="default_language")
        self.questions: dict[str, Question] = {}
        self.groups: dict[str, Group] = {}
        self.choices: dict[str, list[Choice]] = {}
        self.screens: list[Screen] = []
        self.repeats: dict[str, Repeat] = {}
        # pyxform turns a repeat_count that is more than ${name} into a calculate of its
        # own (<repeat>_count): its problems belong to the repeat's row and column.
        self.generated: set[str] = set()
        # or_other: pyxform adds an "other" choice and a text question <name>_other
        # (in English, with a relative path fieldkit does not take): fieldkit writes them anew.
        self.others = {f"{n}_other": n for n, t in self.written.items() if t.split()[-1:] == ["or_other"]}
        asked = set(self.others.values())
        self.other_lists = set()
        stack = list(tree.get("children", []))
        while stack:  # one walk of pyxform's tree for both
            el = stack.pop()
            stack.extend(el.get("children", []))
            count = str((el.get("control") or {}).get("jr:count") or "")
            made = count[2:-1] if count.startswith("${") and count.endswith("}") else ""
            if el.get("type") == "repeat" and made and made not in rows and el.get("name") in rows:
                self.rows[made] = rows[el["name"]]
                self.generated.add(made)
            if el.get("name") in asked:
                self.other_lists.add(el.get("list_name") or el.get("itemset"))
        for other, name in self.others.items():
            self.rows.setdefault(other, self.rows.get(name))

    def build(self) -> Form:
        for choices in (self.tree.get("choices") or {}).items():
            self._choice_list(*choices)
        for child in self.tree.get("children", []):
            self._element(child, groups=[], screen=None, repeat=None)
        self._other_texts()
        self.screens = [s for s in self.screens if s.questions]
        order = self._order()
        if self.problems:
            raise FormImportError(self.problems)
        if self.default_code not in self.languages:
            if self.default_key == "default" and self.languages:
                # No default_language and every text has a language code (say only
                # label::Español (es)): the form is in those languages, not in English.
                self.default_code = self.languages[0]
            else:
                self.languages.insert(0, self.default_code)
        title = self.tree.get("title") or self.tree.get("id_string")
        return Form(
            form_id=self.tree["id_string"], version=self.version,
            title={lang: title for lang in self.languages}, languages=self.languages,
            default_language=self.default_code, questions=self.questions, groups=self.groups,
            choices=self.choices, screens=self.screens, order=order, repeats=self.repeats,
            media_files=self.media_used,
        )

    def _text(self, value, row=None, column=None) -> dict[str, str]:
        if not value:
            return {}
        if isinstance(value, str):
            value = {self.default_key: value}
        out = {}
        for key, text in value.items():
            code = self.default_code if key == "default" else language_code(key, row, column=column)
            if code not in self.languages:
                self.languages.append(code)
            out[code] = str(text)
        return out

    def _other_texts(self):
        """The words or_other adds, in each of the form's languages."""
        def words(text: str) -> dict[str, str]:
            return {lang: self.translate(lang, text) for lang in self.languages or [self.default_code]}
        for list_name in self.other_lists:
            for choice in self.choices.get(list_name, []):
                if choice.name == "other" and set(choice.label.values()) <= {"Other"}:
                    choice.label = words(OTHER)
        for other in self.others:
            if other in self.questions:
                self.questions[other].label = words(SPECIFY_OTHER)

    def _choice_list(self, list_name: str, items: list[dict]):
        self.choices[list_name] = [
            Choice(str(c["name"]), self._text(c.get("label"), column="label"),
                   {str(k): str(v) for k, v in c.items()
                    if k not in ("name", "label", "media") and isinstance(v, (str, int, float)) and v != ""},
                   self._media(c.get("media"), None, "choices"))
            for c in items]

    def _media(self, value, row, sheet="survey") -> dict[str, dict[str, str]]:
        """{"image": {"en": "map.png"}, "audio": {"so": "q1.mp3"}}: each file checked
        and attached; big-image is shown as an image (tap to see it whole)."""
        found: dict[str, dict[str, str]] = {}
        for kind, texts in (value or {}).items():
            if kind not in MEDIA_KINDS:
                self.problems.append(problem(N_("The media column %(kind)s is not supported by fieldkit yet."),
                                             sheet, row, kind, kind=kind))
                continue
            for lang, name in self._text(texts, row, kind).items():
                if self._attach(name, "audio" if kind == "audio" else "image", sheet, row, kind):
                    found.setdefault("audio" if kind == "audio" else "image", {})[lang] = name
        return found

    def _attach(self, name: str, kind: str, sheet, row, column) -> bool:
        data = self.media.get(name)
        if data is None:
            self.problems.append(problem(N_("The file %(name)s is not attached: add it with the form."),
                                         sheet, row, column, name=name))
            return False
        trouble = media_files.check_file(name, data)
        found = media_files.kind_of(name)
        if trouble is None and found[1] != kind:
            trouble = Message(N_("%(name)s is not an image file.") if kind == "image"
                              else N_("%(name)s is not an audio file."), {"name": name})
        if trouble is not None:
            self.problems.append(Problem(trouble, sheet, row, column))
            return False
        self.media_used[name] = {"sha256": hashlib.sha256(data).hexdigest(), "type": found[0]}
        return True

    def _file_choices(self, itemset: str, row) -> str | None:
        """select_*_from_file: the attached CSV read into a choice list named after it."""
        if itemset in self.choices:
            return itemset
        if not itemset.lower().endswith(".csv"):
            self.problems.append(problem(N_("Choices from %(name)s: only .csv files are supported by fieldkit "
                                            "yet."), "survey", row, "type", name=itemset))
            return None
        data = self.media.get(itemset)
        if data is None:
            self.problems.append(problem(N_("The file %(name)s is not attached: add it with the form."),
                                         "survey", row, "type", name=itemset))
            return None
        rows, troubles = media_files.choices_from_csv(data, itemset)
        if troubles:
            self.problems += [Problem(t, itemset) for t in troubles]
            return None
        items = []
        for r in rows:
            labels = {k.partition("::")[2] or "default": v for k, v in r.items() if k.split("::")[0] == "label"}
            items.append(dict({k: v for k, v in r.items() if k.split("::")[0] != "label"},
                              label=labels.get("default") if list(labels) == ["default"] else labels))
        self._choice_list(itemset, items)
        # kept with the form, so that a laptop pulling this version from a central gets it too
        self.media_used[itemset] = {"sha256": hashlib.sha256(data).hexdigest(), "type": "text/csv"}
        return itemset

    def _expression(self, source, name, column, columns: bool = False):
        if source in (None, ""):
            return None
        if name in self.generated:
            column = "repeat_count"
        try:
            return expr.parse(str(source), columns=columns)
        except expr.ExprError as error:
            self.problems.append(problem(N_("The expression %(source)s cannot be used: %(error)s"),
                                         "survey", self.rows.get(name), column, source=source, error=str(error)))
            return None

    def _element(self, el: dict, groups: list[str], screen: Screen | None, repeat: str | None) -> Screen | None:
        """Adds el (and what it holds) to the form; returns the screen its next sibling goes on."""
        kind, name = el.get("type"), el.get("name")
        row = self.rows.get(name)
        bind = el.get("bind") or {}
        if kind == "group":
            if el.get("control", {}).get("bodyless"):
                return screen  # pyxform's meta/instanceID: fieldkit mints its own uuid
            self.groups[name] = Group(name, self._text(el.get("label"), row, "label"),
                                      self._expression(bind.get("relevant"), name, "relevant"),
                                      {k: bind[k] for k in ("relevant",) if bind.get(k)})
            inner = screen
            if inner is None:
                inner = Screen(name, self.groups[name].label, [])
                self.screens.append(inner)
            for child in el.get("children", []):
                inner = self._element(child, groups + [name], inner, repeat)
            return screen if screen is None else inner
        if kind == "repeat":
            return self._repeat(el, groups, screen, repeat, row, bind)
        if kind in TYPE_MAP and "_from_file" in self.written.get(name, ""):
            listed = self._file_choices(str(el.get("itemset") or ""), row)
            if listed is None:
                return screen
            el = dict(el, list_name=listed)
        elif kind not in TYPE_MAP:
            label = (self.written.get(name) or kind).split(" ")[0]
            self.problems.append(problem(N_("The question type %(type)s is not supported by fieldkit yet."),
                                         "survey", row, "type", type=label))
            return screen
        if name in self.others:  # or_other's question, asked when "other" is chosen
            bind = dict(bind, relevant=f"selected(${{{self.others[name]}}}, 'other')")
            el = dict(el, label=None)
        q = self._question(el, TYPE_MAP[kind], groups, row, bind)
        q.repeat = repeat
        self.questions[name] = q
        if q.is_input or q.type == "note":
            if screen is None:
                self.screens.append(Screen(name, q.label, [name]))
            else:
                screen.questions.append(name)
        return screen

    def _repeat(self, el, groups, screen, repeat, row, bind) -> Screen | None:
        """A repeat is a page of its own, shown once per instance. The questions of an
        enclosing group that come after it go on a new page of that group."""
        name = el["name"]
        if repeat is not None:
            self.problems.append(problem(N_("A repeat inside another repeat is not supported by fieldkit yet."),
                                         "survey", row, "type"))
            return screen
        count = (el.get("control") or {}).get("jr:count")
        self.repeats[name] = Repeat(
            name, self._text(el.get("label"), row, "label"),
            relevant=self._expression(bind.get("relevant"), name, "relevant"),
            count=self._expression(count, name, "repeat_count"), groups=list(groups),
            source={k: str(v) for k, v in (("relevant", bind.get("relevant")), ("repeat_count", count)) if v})
        page = Screen(name, self.repeats[name].label, [], repeat=name)
        self.screens.append(page)
        for child in el.get("children", []):
            self._element(child, groups, page, name)
        if screen is None:
            return None
        rest = Screen(screen.name, screen.label, [])
        self.screens.append(rest)
        return rest

    def _question(self, el, qtype, groups, row, bind) -> Question:
        name = el["name"]
        required = str(bind.get("required") or "").strip()
        if required.lower() in ("yes", "true", "true()"):
            required = "true()"
        elif required.lower() in ("no", "false", "false()"):
            required = ""
        appearance = (el.get("control") or {}).get("appearance")
        sources = {"required": required, "relevant": bind.get("relevant"),
                   "constraint": bind.get("constraint"), "calculation": bind.get("calculate"),
                   "choice_filter": el.get("choice_filter")}
        default = el.get("default")
        if default is not None and ("${" in str(default) or "(" in str(default)):
            self.problems.append(problem(N_("Only plain values can be used as a default."),
                                         "survey", row, "default"))
            default = None
        return Question(
            name=name, type=qtype, groups=groups,
            label=self._text(el.get("label"), row, "label"),
            hint=self._text(el.get("hint"), row, "hint"),
            list_name=el.get("list_name") or el.get("itemset"),
            required=self._expression(required, name, "required"),
            required_message=self._text(bind.get("jr:requiredMsg"), row, "required_message"),
            relevant=self._expression(sources["relevant"], name, "relevant"),
            constraint=self._expression(sources["constraint"], name, "constraint"),
            constraint_message=self._text(bind.get("jr:constraintMsg"), row, "constraint_message"),
            calculation=self._expression(sources["calculation"], name, "calculation"),
            choice_filter=self._expression(el.get("choice_filter"), name, "choice_filter", columns=True),
            media=self._media(el.get("media"), row),
            read_only=self._read_only(bind.get("readonly"), row),
            trigger=self._trigger(el, bind, row),
            default=None if default is None else str(default),
            appearance=appearance,
            parameters=self._range_parameters(el, row) if qtype == "range" else {},
            source={k: str(v) for k, v in sources.items() if v},
        )

    def _read_only(self, value, row) -> bool:
        text = str(value or "").strip().lower()
        if text in ("", "no", "false", "false()"):
            return False
        if text in ("yes", "true", "true()"):
            return True
        self.problems.append(problem(N_("read_only can only be yes or no in fieldkit."), "survey", row, "read_only"))
        return False

    def _trigger(self, el, bind, row) -> list[str]:
        names = [str(n).strip().removeprefix("${").removesuffix("}") for n in el.get("trigger") or []]
        if names and not bind.get("calculate"):
            self.problems.append(problem(N_("A trigger needs a calculation to run."), "survey", row, "trigger"))
        return names

    def _range_parameters(self, el, row) -> dict[str, str]:
        """start, end and step as canonical numbers: step above 0, start below end."""
        given = {str(k).strip(): str(v).strip() for k, v in (el.get("parameters") or {}).items()}
        unknown = sorted(set(given) - set(RANGE_PARAMETERS))
        if unknown:
            self.problems.append(problem(N_("The range parameter %(value)s is not supported by fieldkit yet."),
                                         "survey", row, "parameters", value=unknown[0]))
            return {}
        params = dict(RANGE_DEFAULTS, **given)
        try:
            numbers = {k: float(v) for k, v in params.items()}
            if not all(math.isfinite(n) for n in numbers.values()):
                raise ValueError
        except ValueError:
            numbers = None
        if (numbers is None or numbers["step"] <= 0 or numbers["end"] <= numbers["start"]
                or (numbers["end"] - numbers["start"]) / numbers["step"] > 100000):
            self.problems.append(problem(N_("A range needs numbers start, end and step, with start below end "
                                            "and step above 0, like start=1 end=10 step=1."),
                                         "survey", row, "parameters"))
            return {}
        return {k: expr.to_string(n) for k, n in numbers.items()}

    def _order(self) -> list[str]:
        deps = {}
        # A reference to a repeat (count(${members})) depends on every question inside it.
        inside = {r: {n for n, q in self.questions.items() if q.repeat == r} for r in self.repeats}
        for name, q in self.questions.items():
            trees = [q.relevant, q.calculation] + [self.groups[g].relevant for g in q.groups]
            if q.repeat:  # how many instances there are comes first
                trees += [self.repeats[q.repeat].count, self.repeats[q.repeat].relevant]
            deps[name] = set().union(*(expr.references(t) for t in trees if t is not None))
            for r in deps[name] & set(inside):
                deps[name] |= inside[r] - {name}
            # dependency_order() skips a name in its own dependencies: that is a circle too.
            if name in deps[name]:
                group = next((g for g in q.groups if self.groups[g].relevant is not None
                              and name in expr.references(self.groups[g].relevant)), None)
                names = [group, name, group] if group else [name, name]
                self.problems.append(problem(
                    N_("These questions depend on each other in a circle: %(names)s."),
                    "survey", self.rows.get(group or name), "relevant" if group else None,
                    names=", ".join(names)))
                deps[name].discard(name)
        try:
            return dependency_order(deps)
        except CycleError as cycle:
            first = cycle.names[0]
            self.problems.append(problem(
                N_("These questions depend on each other in a circle: %(names)s."),
                "survey", self.rows.get(first), None, names=", ".join(cycle.names)))
            return list(self.questions)
