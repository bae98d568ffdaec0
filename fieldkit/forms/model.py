"""fieldkit's own form model: what an XLSForm becomes once imported.

Plain dataclasses that serialise to JSON (stored in SQLite beside the original
file) and back. Labels are dicts keyed by language code ("en", "es", ...).
Expressions are kept as source text and as parsed trees; the trees are plain
JSON so the browser can later evaluate the very same thing.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

Text = dict[str, str]  # language code -> text

# Question types fieldkit renders as inputs, and those it only computes or shows.
# A file the participant attaches: its answer is the attachment's stored name.
UPLOAD_TYPES = ("image", "audio", "video", "file")
# Locations as ODK stores them: "lat lon alt acc", and points joined by ";" for a trace or shape.
GEO_TYPES = ("geopoint", "geotrace", "geoshape")
INPUT_TYPES = ("text", "integer", "decimal", "select_one", "select_multiple", "date", "acknowledge",
               "time", "dateTime", "range", "rank", "barcode") + GEO_TYPES + UPLOAD_TYPES
# Never shown: hidden stores its default; metadata is filled in at submission (the
# device's own properties, which a phone's browser does not tell, are stored empty).
METADATA_TYPES = ("start", "end", "today", "deviceid", "username", "email", "phonenumber", "simserial",
                  "subscriberid")
SUPPORTED_TYPES = INPUT_TYPES + ("note", "calculate", "hidden") + METADATA_TYPES


@dataclass
class Choice:
    name: str
    label: Text
    columns: dict[str, str] = field(default_factory=dict)  # the choices sheet's other columns, for choice_filter
    media: dict[str, Text] = field(default_factory=dict)  # "image"/"audio" -> language -> file name


@dataclass
class Question:
    name: str
    type: str
    label: Text = field(default_factory=dict)
    hint: Text = field(default_factory=dict)
    list_name: str | None = None
    required: Any = None  # parsed tree, or None when not required
    required_message: Text = field(default_factory=dict)
    relevant: Any = None
    constraint: Any = None
    constraint_message: Text = field(default_factory=dict)
    calculation: Any = None
    default: str | None = None
    appearance: str | None = None
    parameters: dict[str, str] = field(default_factory=dict)  # range: start, end, step
    source: dict[str, str] = field(default_factory=dict)  # column -> expression text, for messages and review
    groups: list[str] = field(default_factory=list)  # enclosing group names, outermost first
    repeat: str | None = None  # the repeat this question is inside: one answer per instance
    choice_filter: Any = None  # parsed with columns=True: which of its choices are offered
    media: dict[str, Text] = field(default_factory=dict)  # "image"/"audio" -> language -> file name
    read_only: bool = False  # shown with its value (a default or a calculation), never posted
    trigger: list[str] = field(default_factory=list)  # its calculation runs when one of these changes
    guidance: Text = field(default_factory=dict)  # guidance_hint: behind a "More" on the page
    default_expr: Any = None  # a dynamic default (today(), ${q}): evaluated when the answers begin

    @property
    def is_input(self) -> bool:
        return self.type in INPUT_TYPES


@dataclass
class Group:
    name: str
    label: Text = field(default_factory=dict)
    relevant: Any = None
    source: dict[str, str] = field(default_factory=dict)


@dataclass
class Repeat:
    """begin_repeat .. end_repeat: its questions are asked once per instance, all on one
    page per instance. Without a count the participant adds and removes instances."""

    name: str
    label: Text = field(default_factory=dict)
    relevant: Any = None
    count: Any = None  # repeat_count, parsed; None: the participant decides
    groups: list[str] = field(default_factory=list)  # enclosing groups, outermost first
    source: dict[str, str] = field(default_factory=dict)
    parent: str | None = None  # the repeat this one is inside (a nested repeat), if any


@dataclass
class Screen:
    """One page of the participant flow: a group, or one question outside any group,
    or a repeat (one page per instance)."""

    name: str
    label: Text
    questions: list[str]
    repeat: str | None = None


@dataclass
class Form:
    form_id: str
    version: str
    title: Text
    languages: list[str]
    default_language: str
    questions: dict[str, Question]
    groups: dict[str, Group]
    choices: dict[str, list[Choice]]
    screens: list[Screen]
    order: list[str]  # every question and calculation, dependencies first
    # What participants see, so that nothing on a phone names a sensitive topic:
    public_title: Text = field(default_factory=dict)  # empty: the title is public
    public_id: str = ""  # in participant URLs; empty: the form_id
    consent: Text = field(default_factory=dict)  # the consent screen's text; empty: a general one
    public_key: str = ""  # XLSForm settings public_key: answers are sealed for its private key
    repeats: dict[str, Repeat] = field(default_factory=dict)
    media_files: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> {"sha256", "type"}
    # A language CLDR does not know, under its private-use code (x-...): the name the form gives it.
    language_names: dict[str, str] = field(default_factory=dict)
    # Attached CSV files that instance('id') and pulldata('id', ...) read: id -> rows of columns.
    instances: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    # What the coordinator was told at import: what fieldkit shows differently or leaves out.
    # Each {"text", "params", "sheet", "row", "column"}, as xlsform.Problem.to_dict() makes it.
    warnings: list[dict] = field(default_factory=list)
    # The XForm pyxform made of the XLSForm, byte for byte what ODK Collect downloads (issue 17):
    # stored beside the model, not in it (store/forms.py), so it is here only just after an import.
    xform: str = field(default="", compare=False, repr=False)

    @property
    def key(self) -> str:
        """The form's name in participant URLs."""
        return self.public_id or self.form_id

    def shown_title(self, lang: str) -> str:
        """The title a participant (and the poster) sees."""
        return text_in(self.public_title, lang, self.default_language) or text_in(self.title, lang, self.default_language)

    def chain(self, repeat: str | None) -> list[str]:
        """The repeats a repeat is in, outermost first, ending with itself ([] for None)."""
        chain = []
        while repeat is not None:
            chain.insert(0, repeat)
            repeat = self.repeats[repeat].parent
        return chain

    def anchor(self, repeat: str) -> int:
        """The index of a repeat's first screen: where its list of instances is."""
        return next(i for i, s in enumerate(self.screens) if s.repeat is not None and repeat in self.chain(s.repeat))

    def choice_names(self, question: Question) -> list[str]:
        return [c.name for c in self.choices.get(question.list_name or "", [])]

    def choice_label(self, question: Question, value: str, lang: str) -> str | None:
        for choice in self.choices.get(question.list_name or "", []):
            if choice.name == value:
                return text_in(choice.label, lang, self.default_language)
        return None

    def to_dict(self) -> dict:
        data = asdict(self)
        del data["xform"]  # kept in a column of its own
        # Keys only some forms use are left out when empty: other models stay as they were.
        for question in data["questions"].values():
            for key in ("parameters", "repeat", "choice_filter", "media", "read_only", "trigger", "guidance", "default_expr"):
                if not question[key]:
                    del question[key]
        for choices in data["choices"].values():
            for choice in choices:
                for key in ("columns", "media"):
                    if not choice[key]:
                        del choice[key]
        for screen in data["screens"]:
            if not screen["repeat"]:
                del screen["repeat"]
        for repeat in data["repeats"].values():
            if repeat["parent"] is None:
                del repeat["parent"]
        for key in ("repeats", "media_files", "language_names", "warnings", "instances"):
            if not data[key]:
                del data[key]
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Form:
        return cls(
            form_id=data["form_id"],
            version=data["version"],
            title=data["title"],
            languages=data["languages"],
            default_language=data["default_language"],
            questions={k: Question(**v) for k, v in data["questions"].items()},
            groups={k: Group(**v) for k, v in data["groups"].items()},
            choices={k: [Choice(**c) for c in v] for k, v in data["choices"].items()},
            screens=[Screen(**s) for s in data["screens"]],
            order=data["order"],
            public_title=data.get("public_title", {}),
            public_id=data.get("public_id", ""),
            consent=data.get("consent", {}),
            public_key=data.get("public_key", ""),
            repeats={k: Repeat(**v) for k, v in data.get("repeats", {}).items()},
            media_files=data.get("media_files", {}),
            language_names=data.get("language_names", {}),
            warnings=data.get("warnings", []),
            instances=data.get("instances", {}),
        )


def text_in(text: Text, lang: str, fallback: str) -> str:
    """The text in lang, else in the form's default language, else any."""
    if not text:
        return ""
    return text.get(lang) or text.get(fallback) or next(iter(text.values()), "")
