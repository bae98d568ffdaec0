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
from pathlib import PurePath

from .. import crypto
from ..messages import Message, N_
from . import appearances as looks
from . import expr
from . import languages as language_names
from . import sheets
from . import types as question_types
from .attached import MISSING_FILE, AttachedFiles
from .model import METADATA_TYPES, Choice, Form, Group, Question, Repeat, Screen
from .order import CycleError, dependency_order
from .problems import FormImportError, Problem, problem

__all__ = ["FormImportError", "Problem", "problem", "MISSING_FILE", "load_xlsform", "language_code"]

FILE_TYPES = (".xlsx", ".xls", ".csv", ".md")
RANGE_PARAMETERS = ("start", "end", "step")
RANGE_DEFAULTS = {"start": "1", "end": "10", "step": "1"}  # ODK's
# Parameters of other question types: what fieldkit does with each is in compat.py.
PARAMETERS = {
    "max-pixels": N_("photos are kept as the phone sends them, at most 10 MB"),
    "quality": N_("recordings are kept as the phone makes them"),
    "capture-accuracy": N_("the accuracy is what the participant enters"),
    "warning-accuracy": N_("the accuracy is what the participant enters"),
    "allow-mock-accuracy": N_("the accuracy is what the participant enters"),
    "value": N_("the choice's name is stored"),
    "label": N_("the choice's label is shown"),
    "app": N_("other apps cannot be opened from a browser: the question is asked as a field"),
}
# SurveyCTO's own functions, which its forms (and templates on GitHub) use: named in the refusal.
SURVEYCTO_FUNCTIONS = {"device-info", "duration", "index", "plug-in-metadata", "phone-call-log", "phone-call-duration",
                       "username", "linked", "item-at", "item-index", "choice-label", "sum-not-na"}
# Of those, the ones that only record how the form was filled in (the device, the time spent, the
# phone's call log, a plug-in's data): in a calculation fieldkit stores them empty, with a warning,
# as it does ODK's own metadata it cannot know. Anywhere else they would change what is asked: refused.
SURVEYCTO_RECORDS = ("device-info", "duration", "plug-in-metadata", "phone-call-log", "phone-call-duration", "username")
SURVEYCTO_METADATA = re.compile(r"(?<![\w.:-])(" + "|".join(map(re.escape, SURVEYCTO_RECORDS)) + r")\s*\([^()]*\)")
# SurveyCTO's index(): the position of the repeat instance it is in, which is ODK's position(..).
SURVEYCTO_INDEX = re.compile(r"(?<![\w.:-])index\s*\(\s*\)")
LAST_SAVED = re.compile(r"\$\{last-saved#[^}]*\}")
PYXFORM_ROW = re.compile(r"\[row : (\d+)\]")
PYXFORM_WHERE = re.compile(r"On the '([^']+)' sheet, the '([^']+)' value")


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
    if file_type == ".xlsx":
        _check_archive(data, PurePath(filename).name)
    try:
        workbook = get_xlsform(data, file_type=file_type)
    except Exception:  # pyxform's own wording here names its internals, not the file
        raise FormImportError([problem(
            N_("%(name)s could not be read as an XLSForm. Save it from Excel, LibreOffice or Google Sheets "
               "as .xlsx and try again."), name=PurePath(filename).name)]) from None
    extensions = _take_extensions(workbook)
    try:
        rows = sheets.row_numbers(workbook.survey or [])
        written = sheets.written_types(workbook.survey or [])
        noticed: list[Problem] = []  # shown differently or left out: told, never refused
        sheets.check_columns(workbook.survey or [], noticed)
        sheets.check_columns(workbook.choices or [], noticed, "choices")
        warnings: list[str] = []
        tree = workbook_to_json(workbook, fallback_form_name=PurePath(filename).stem, warnings=warnings)
        # to_xml builds the XForm, which checks references and structure;
        # validate=False keeps Java's ODK Validate out of it.
        xform = builder.create_survey_element_from_dict(tree).to_xml(validate=False, warnings=warnings)
    except FormImportError:
        raise
    except PyXFormError as error:
        found = _from_pyxform(str(error))
        unknown = re.search(r"Unknown question type '([^']+)'", str(error))
        if unknown and found.row is None:  # pyxform names the type, not its row
            found.sheet, found.column = "survey", "type"
            found.row = next((rows[n] for n, t in written.items() if t == unknown.group(1)), None)
        raise FormImportError([found]) from None
    except Exception as error:  # a corrupt file makes the readers raise anything
        raise FormImportError([problem(
            N_("This file could not be read as an XLSForm (%(error)s)."), error=str(error)[:200])]) from None
    version = str(tree.get("version") or hashlib.sha256(data).hexdigest()[:10])
    external = sheets.external_choices(getattr(workbook, "external_choices", None) or [])
    builder_ = _Builder(tree, rows, version, written, translate, media or {}, external)
    builder_.warnings[:0] = noticed
    builder_.every_row = sheets.every_row(workbook.survey or [])
    builder_.choice_rows = {(str(r.get("list_name") or r.get("list name") or "").strip(), str(r.get("name")).strip()): i + 2
                            for i, r in enumerate(workbook.choices or []) if r.get("name") not in (None, "")}
    form = builder_.build()
    _apply_extensions(form, extensions)
    form.public_key = _public_key(tree.get("public_key"))
    form.xform = xform
    return form


# An .xlsx is a zip archive. A real form unpacks to a few MB; a zip bomb of 136 KB unpacked
# to enough XML for openpyxl to spend 74 s of CPU and 90 MB. The sizes the archive itself
# declares are checked first (zipfile never inflates a member past its declared size).
MAX_UNPACKED = 40 * 1024 * 1024
MAX_RATIO = 200  # unpacked / packed, over the whole archive
MAX_MEMBERS = 2000


def _check_archive(data: bytes, name: str) -> None:
    import io
    import zipfile
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip at all: the reader says so in its own words, below
    unpacked = sum(m.file_size for m in members)
    if len(members) > MAX_MEMBERS or unpacked > MAX_UNPACKED or unpacked > MAX_RATIO * max(len(data), 1):
        raise FormImportError([problem(
            N_("%(name)s unpacks to far more than a form holds (%(mb)s MB): it was not read. Save the form "
               "again from Excel, LibreOffice or Google Sheets and try again."),
            name=name, mb=max(1, unpacked // (1024 * 1024)))])


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
            code = language_code(key)[0] if key else None
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


def language_code(key: str) -> tuple[str, str]:
    """(code, name) for a language as the form writes it: 'Español' -> ('es', 'Español')."""
    code, _known = language_names.code_of(key)
    match = language_names.WITH_CODE.match(key)
    return code, (match.group("name") if match else key).strip()


class _Builder(AttachedFiles):
    """Walks pyxform's nested dict once, collecting questions, groups and screens."""

    def __init__(self, tree: dict, rows: dict[str, int], version: str, written: dict[str, str] | None = None,
                 translate=None, media: dict[str, bytes] | None = None, external: dict | None = None):
        self.tree, self.rows, self.version = tree, rows, version
        self.external = external or {}
        self.warnings: list[Problem] = []
        self.language_names: dict[str, str] = {}  # x-... -> the name the form gives it
        self.told: set[tuple] = set()  # warnings given once per form
        self.every_row: dict[str, list[int]] = {}  # name -> its rows, for a name used in two groups
        self.rows_taken: dict[str, int] = {}
        self.renamed: dict[str, str] = {}  # "g2/x" -> "g2/g2_x": paths to a question renamed by _rename
        self.table_groups: set[str] = set()  # appearance table-list: its selects are the rows of a table
        self.missing: dict[str, tuple] = {}  # media file named but not attached -> where first named
        self.choice_rows: dict[tuple[str, str], int] = {}  # (list_name, name) -> choices sheet row
        self.media = media or {}
        self.media_used: dict[str, dict[str, str]] = {}  # file name -> {"sha256", "type"}
        self.translate = translate or (lambda lang, text: text)
        self.written = written or {}  # name -> type as the author wrote it
        self.problems: list[Problem] = []
        self.languages: list[str] = []
        default = tree.get("default_language") or "default"
        self.default_key = default
        self.default_code = "en" if default == "default" else self._code(default, "settings", None, "default_language")
        self.questions: dict[str, Question] = {}
        self.groups: dict[str, Group] = {}
        self.choices: dict[str, list[Choice]] = {}
        self.screens: list[Screen] = []
        self.repeats: dict[str, Repeat] = {}
        self.anchors: set[int] = set()  # id() of each repeat's first screen
        self.declared: dict[str, str] = {}  # xml-external / csv-external name -> which
        # pyxform turns a repeat_count that is more than ${name} into a calculate of its
        # own (<repeat>_count): its problems belong to the repeat's row and column.
        self.generated: set[str] = set()
        # or_other: pyxform adds an "other" choice and a text question <name>_other
        # (in English, with a relative path fieldkit does not take): fieldkit writes them anew.
        self.others = {f"{n}_other": n for n, t in self.written.items()
                       if t.split()[-1:] == ["or_other"] or t.lower().endswith(" or specify other")}
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
        for list_name, items in self.external.items():  # select_one_external's lists
            if list_name not in self.choices:
                self._choice_list(list_name, items, sheet="external_choices")
        for child in self.tree.get("children", []):
            self._element(child, groups=[], screen=None, repeat=None)
        self._other_texts()
        instances = self._instances()
        self._missing_files()
        self.screens = [s for s in self.screens if s.questions or id(s) in self.anchors]
        self._unknown_references()
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
            language_names={c: n for c, n in self.language_names.items() if c in self.languages},
            warnings=[w.to_dict() for w in self.warnings],
            instances=instances,
        )

    def _text(self, value, row=None, column=None) -> dict[str, str]:
        if not value:
            return {}
        if isinstance(value, str):
            value = {self.default_key: value}
        out = {}
        for key, text in value.items():
            code = self.default_code if key == "default" else self._code(key, "survey", row, column)
            if code not in self.languages:
                self.languages.append(code)
            out[code] = str(text)
        return out

    def _code(self, key: str, sheet, row, column) -> str:
        """A language's code; a name CLDR does not know is kept under a private-use code."""
        code, name = language_code(key)
        if code.startswith("x-") and code not in self.language_names:
            self.language_names[code] = name
            self.warn(N_("The language %(name)s has no known code: it is offered under its own name, with "
                         "fieldkit's own words in the form's default language. Write it as %(name)s (xx) with "
                         "its code to be sure."), sheet, row, column, name=name)
        return code

    def _row(self, name) -> int | None:
        """The sheet row of the element being walked: for a name used twice, its next row."""
        rows = self.every_row.get(name) or []
        taken = self.rows_taken[name] = self.rows_taken.get(name, -1) + 1
        return rows[taken] if taken < len(rows) else self.rows.get(name)

    def _rename(self, name: str, groups: list[str], row) -> str:
        """fieldkit stores answers by question name: a second question of the same name
        (in another group) is stored as <group>_<name>, and the coordinator is told."""
        base = f"{groups[-1]}_{name}" if groups else f"{name}_2"
        new, n = base, 2
        while new in self.questions or new in self.every_row:
            n += 1
            new = f"{base}_{n}"
        self.rows[new] = row
        if groups:  # a path to it (/data/g2/x) names the renamed question
            self.renamed[f"{groups[-1]}/{name}"] = f"{groups[-1]}/{new}"
        self.warn(N_("The name %(name)s is used by two questions: this one is stored and exported as %(new)s."),
                  "survey", row, "name", name=name, new=new)
        return new

    def warn(self, text: str, sheet=None, row=None, column=None, once=None, **params) -> None:
        """Something the coordinator should know (shown differently, left out); `once`
        keys a warning given only for its first row."""
        key = once or (text, repr(sorted(params.items())))
        if key in self.told:
            return
        self.told.add(key)
        self.warnings.append(Problem(Message(text, params), sheet, row, column))

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

    def _choice_list(self, list_name: str, items: list[dict], sheet: str = "choices"):
        rows = self.choice_rows if sheet == "choices" else {}
        self.choices[list_name] = [
            Choice(str(c["name"]), self._text(c.get("label"), rows.get((list_name, str(c["name"]))), "label"),
                   {str(k): str(v) for k, v in c.items()
                    if k not in ("name", "label", "media") and isinstance(v, (str, int, float)) and v != ""},
                   self._media(c.get("media"), rows.get((list_name, str(c["name"]))), sheet))
            for c in items]

    def _expression(self, source, name, column, columns: bool = False):
        if source in (None, ""):
            return None
        if name in self.generated:
            column = "repeat_count"
        for old, new in self.renamed.items():
            source = re.sub(rf"(?<=/){re.escape(old)}(?![\w.-])", new, str(source))
        if "${last-saved#" in str(source):
            # Collect's "the last form saved on this device": on a laptop shared by a gathering that
            # is the previous participant's answer, which must never reach the next one.
            source = LAST_SAVED.sub("''", str(source))
            self.warn(N_("${last-saved#...} is left empty: fieldkit never carries one participant's answers "
                         "to the next."), "survey", self.rows.get(name), column, once=("last-saved",))
        if column == "calculation" and SURVEYCTO_METADATA.search(str(source)):
            for found in sorted({m.group(1) for m in SURVEYCTO_METADATA.finditer(str(source))}):
                self.warn(N_("%(name)s() is SurveyCTO's own record of how the form was filled in: fieldkit "
                             "stores it empty."), "survey", self.rows.get(name), column, once=("surveycto", found),
                          name=found)
            source = SURVEYCTO_METADATA.sub("''", str(source))
        source = SURVEYCTO_INDEX.sub("position(..)", str(source))
        try:
            tree = expr.parse(str(source), columns=columns)
        except expr.ExprError as error:
            self.problems.append(self._refusal(str(source), str(error), self.rows.get(name), column))
            return None
        empty = next((node[1] for node, _ in expr._walk(tree) if node[0] == "empty"), None)
        if empty is not None:  # engines differ here: say what it means
            self.warn(N_("In %(source)s, %(name)s is a path to nothing, not a value: compared with anything it is "
                         "false, as in Enketo and the XPath rules (ODK Collect reads it as empty text). To test "
                         "for an empty answer, write = ''."), "survey", self.rows.get(name), column,
                      source=str(source), name=empty)
        return tree

    def _refusal(self, source: str, error: str, row, column) -> Problem:
        """Why an expression cannot run, in the coordinator's terms where the cause is known."""
        unknown = re.search(r"the function ([\w:.-]+)\(\) is not supported", error)
        if unknown and unknown.group(1) in SURVEYCTO_FUNCTIONS:
            return problem(N_("The expression %(source)s uses %(name)s(), a SurveyCTO function: ODK's apps do not "
                              "run it, nor does fieldkit. Replace it, or leave the question out."),
                           "survey", row, column, source=source, name=unknown.group(1))
        return problem(N_("The expression %(source)s cannot be used: %(error)s"), "survey", row, column,
                       source=source, error=error)

    def _element(self, el: dict, groups: list[str], screen: Screen | None, repeat: str | None) -> Screen | None:
        """Adds el (and what it holds) to the form; returns the screen its next sibling goes on."""
        kind, name = el.get("type"), el.get("name")
        row = self._row(name)
        bind = el.get("bind") or {}
        if kind == "group":
            if el.get("control", {}).get("bodyless"):  # pyxform's meta: fieldkit mints its own uuid
                for child in el.get("children", []):
                    if child.get("type") in question_types.IGNORED:  # audit lands here
                        self._element(child, groups, screen, repeat)
                return screen
            if "table-list" in (self._appearance((el.get("control") or {}).get("appearance"), "group", row) or ""):
                self.table_groups.add(name)
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
        if kind == "loop":
            for group in sheets.loop_groups(el):
                for child in [group] + group["children"]:
                    self.rows.setdefault(child["name"], row)
                screen = self._element(group, groups, screen, repeat)
            return screen
        if kind in question_types.DECLARATIONS:
            self.declared[name] = kind
            return screen  # an attached file for pulldata() and instance(): no question
        qtype, why = question_types.resolve(kind)
        if kind in ("select one external", "select all that apply external"):
            qtype, el = ("select_one" if "one" in kind else "select_multiple"), dict(el, list_name=el.get("itemset"))
        if qtype is None:
            written = self.written.get(name) or str(kind)
            if why is None:
                self.problems.append(problem(N_("The question type %(type)s is not known to fieldkit."),
                                             "survey", row, "type", type=written))
            else:
                self.warn(N_("%(type)s: %(why)s."), "survey", row, "type", once=("type", written),
                          type=written, why={"msgid": why})
            return screen
        if qtype in ("select_one", "select_multiple") and "_from_file" in self.written.get(name, ""):
            el = dict(el, list_name=self._file_choices(str(el.get("itemset") or ""), row))
        if name in self.questions:  # the same name in another group: ODK's paths tell them apart
            name = self._rename(name, groups, row)
            el = dict(el, name=name)
        if name in self.others:  # or_other's question, asked when "other" is chosen
            bind = dict(bind, relevant=f"selected(${{{self.others[name]}}}, 'other')")
            el = dict(el, label=None)
        q = self._question(el, qtype, groups, row, bind)
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
        count = (el.get("control") or {}).get("jr:count")
        self.repeats[name] = Repeat(
            name, self._text(el.get("label"), row, "label"),
            relevant=self._expression(bind.get("relevant"), name, "relevant"),
            count=self._expression(count, name, "repeat_count"), groups=list(groups),
            source={k: str(v) for k, v in (("relevant", bind.get("relevant")), ("repeat_count", count)) if v},
            parent=repeat)
        page = Screen(name, self.repeats[name].label, [], repeat=name)
        self.screens.append(page)
        self.anchors.add(id(page))  # kept with no questions of its own: its list of instances is there
        inner = page
        for child in el.get("children", []):
            inner = self._element(child, groups, inner, name) or inner
        if screen is None:
            return None
        # what follows in the enclosing group (or the enclosing repeat's instance) is a page of its own
        rest = Screen(screen.name, screen.label, [], repeat=repeat)
        self.screens.append(rest)
        return rest

    def _question(self, el, qtype, groups, row, bind) -> Question:
        name = el["name"]
        required = str(bind.get("required") or "").strip()
        if required.lower() in ("yes", "true", "true()"):
            required = "true()"
        elif required.lower() in ("no", "false", "false()"):
            required = ""
        appearance = self._appearance((el.get("control") or {}).get("appearance"), qtype, row)
        if qtype in ("select_one", "select_multiple") and set(groups) & self.table_groups:
            appearance = " ".join(filter(None, [appearance, "table-row"]))
        if qtype in ("select_one", "select_multiple") and "label" in looks.tokens(appearance):
            required = ""  # a grid's header row (appearance label) shows the answers' names, asks nothing
        sources = {"required": required, "relevant": bind.get("relevant"),
                   "constraint": bind.get("constraint"), "calculation": bind.get("calculate"),
                   "choice_filter": el.get("choice_filter")}
        default, dynamic = el.get("default"), None
        if default is not None and ("${" in str(default) or "(" in str(default)):
            # a dynamic default (today(), ${other}): worked out when the answers begin, as ODK
            dynamic, default = self._expression(str(default), name, "default"), None
            sources["default"] = str(el.get("default"))
        q = Question(
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
            default_expr=dynamic,
            appearance=appearance,
            parameters=self._range_parameters(el, row) if qtype == "range" else self._parameters(el, qtype, row),
            source={k: str(v) for k, v in sources.items() if v},
            guidance=self._text(el.get("guidance_hint"), row, "guidance_hint"),
        )
        searched = next((t for t in looks.tokens(appearance) if t.startswith("search(")), None)
        if searched and qtype in ("select_one", "select_multiple"):
            self._search(q, searched, row)
        return q

    def _appearance(self, value, qtype: str, row) -> str | None:
        """The appearances fieldkit draws, lower-cased; a warning for each it shows
        differently, does not know, or that does not apply to the question's type."""
        kept = []
        for token in looks.tokens(value):
            status, how = looks.judge(token, qtype)
            if status in ("shown", "different"):
                kept.append(token)
            if qtype in ("calculate", "hidden") + METADATA_TYPES:
                continue  # never shown: nothing to look different
            if status == "different":
                self.warn(N_("The appearance %(value)s is shown as %(how)s."), "survey", row, "appearance",
                          once=("appearance", looks.stem(token), qtype), value=token, how={"msgid": how})
            elif status == "unknown":  # one for another type is ignored by Collect as by fieldkit: no word
                self.warn(N_("The appearance %(value)s is not one fieldkit knows for a %(type)s question: it is "
                             "shown without it."), "survey", row, "appearance",
                          once=("appearance", looks.stem(token), qtype), value=token, type=qtype)
        return " ".join(kept) or None

    def _parameters(self, el, qtype: str, row) -> dict[str, str]:
        """Parameters of types other than range: accept (body::accept) of an upload is
        used; the others are told to the coordinator with what fieldkit does instead."""
        given = el.get("parameters") or {}
        if isinstance(given, str):
            given = dict(p.split("=", 1) for p in given.split() if "=" in p)
        given = {str(k).strip().lower(): str(v).strip() for k, v in given.items()}
        kept = {}
        if qtype in ("select_one", "select_multiple", "rank") and given.get("randomize", "").lower() in ("true", "yes"):
            # shuffled once per participant (the seed, else their answers' uuid), the same on every page
            kept["randomize"] = "true"
            seed = given.get("seed", "").removeprefix("${").removesuffix("}")
            if seed:
                kept["seed"] = seed
        for key in sorted(set(given) - ({"randomize", "seed"} if kept else set())):
            why = PARAMETERS.get(str(key).strip().lower())
            self.warn(N_("The parameter %(value)s: %(why)s.") if why else
                      N_("The parameter %(value)s is not used by fieldkit."), "survey", row, "parameters",
                      once=("parameter", key, qtype), value=key, **({"why": {"msgid": why}} if why else {}))
        accept = str((el.get("control") or {}).get("accept") or "").strip()
        if accept and qtype in ("image", "audio", "video", "file"):
            kept["accept"] = accept
        return kept

    def _read_only(self, value, row) -> bool:
        text = str(value or "").strip().lower()
        if text in ("", "no", "false", "false()"):
            return False
        if text in ("yes", "true", "true()"):
            return True
        self.problems.append(problem(N_("read_only can only be yes or no in fieldkit."), "survey", row, "read_only"))
        return False

    def _trigger(self, el, bind, row) -> list[str]:
        # Without a calculation, ODK clears the answer when the trigger changes (an empty setvalue).
        return [str(n).strip().removeprefix("${").removesuffix("}") for n in el.get("trigger") or []]

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

    def _unknown_references(self) -> None:
        """A path (/data/g/x, ../x) names its question by its last step; pyxform checks
        ${x} but not paths, so a path to no question is refused here, at its cell."""
        known = set(self.questions) | set(self.groups) | set(self.repeats)
        for name, q in list(self.questions.items()):
            for column in ("relevant", "constraint", "calculation", "required"):
                tree = getattr(q, column)
                missing = sorted(expr.references(tree) - known) if tree is not None else []
                if missing:
                    self.problems.append(problem(N_("The expression %(source)s names %(name)s, which is not a "
                                                    "question of this form."), "survey", self.rows.get(name),
                                                 column, source=q.source.get(column, ""), name=missing[0]))

    def _order(self) -> list[str]:
        deps = {}
        # A reference to a repeat (count(${members})) depends on every question inside it.
        inside = {r: {n for n, q in self.questions.items() if q.repeat == r} for r in self.repeats}
        for name, q in self.questions.items():
            trees = [q.relevant, q.calculation] + [self.groups[g].relevant for g in q.groups]
            repeat = q.repeat
            while repeat:  # how many instances there are (of each repeat it is in) comes first
                trees += [self.repeats[repeat].count, self.repeats[repeat].relevant]
                repeat = self.repeats[repeat].parent
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
