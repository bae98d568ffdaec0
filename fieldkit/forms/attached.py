"""The files a form names (media prompts, choice lists, CSVs for pulldata(), instance()
and search()) as _Builder reads them: each used when attached and fit, else left out
with a warning; a missing one can be attached later to the same version."""
from __future__ import annotations

import hashlib
from pathlib import PurePath

from ..messages import Message, N_
from . import appearances as looks
from . import expr
from . import media as media_files
from .model import Choice, Question
from .problems import Problem, problem

MEDIA_KINDS = ("image", "big-image", "audio", "video")  # media columns fieldkit shows
# A file the form names that was not uploaded with it: a warning, until it is attached.
MISSING_FILE = N_("The file %(name)s is not attached: until it is, participants see the text alone. Attach it "
                  "to this version from the console or with fieldkit forms attach.")


class AttachedFiles:
    """_Builder's part for files: it sets media, media_used, missing, choices, problems,
    warnings, rows, default_code and provides _text, _choice_list, _expression, warn."""

    def _media(self, value, row, sheet="survey") -> dict[str, dict[str, str]]:
        """{"image": {"en": "map.png"}, "audio": {"so": "q1.mp3"}}: each file named that is
        attached and fit to show; big-image is shown as an image (tap to see it whole). A
        file that is missing or unfit is left out with a warning: the text is shown alone."""
        found: dict[str, dict[str, str]] = {}
        for kind, texts in (value or {}).items():
            shown = "image" if kind in ("image", "big-image") else kind
            if kind not in MEDIA_KINDS:
                self.warn(N_("The media column %(kind)s is not used by fieldkit: the text is shown alone."),
                          sheet, row, kind, kind=kind)
                continue
            for lang, name in self._text(texts, row, kind).items():
                if self._attach(name, shown, sheet, row, kind):
                    found.setdefault(shown, {})[lang] = name
        return found

    def _attach(self, name: str, kind: str, sheet, row, column) -> bool:
        data = self.media.get(name)
        if data is None:
            self.missing.setdefault(name, (sheet, row, column))
            return False
        trouble = media_files.check_file(name, data)
        found = media_files.kind_of(name)
        if trouble is None and found[1] != kind:
            trouble = Message({"image": N_("%(name)s is not an image file."), "audio": N_("%(name)s is not an audio "
                               "file."), "video": N_("%(name)s is not a video file.")}[kind], {"name": name})
        if trouble is not None:
            self.warnings.append(Problem(Message(N_("%(problem)s The text is shown without it."), {
                "problem": {"msgid": trouble.text, "params": trouble.params}}), sheet, row, column))
            return False
        self.media_used[name] = {"sha256": hashlib.sha256(data).hexdigest(), "type": found[0]}
        return True

    def _instances(self) -> dict[str, list[dict[str, str]]]:
        """The attached CSV files that instance('id') and pulldata('id', ...) read (a
        choice list of the same name is read from the form itself)."""
        wanted: dict[str, int | None] = {}
        for name, q in self.questions.items():
            for tree in (q.relevant, q.constraint, q.calculation, q.required, q.choice_filter):
                for node, _ in expr._walk(tree) if tree is not None else ():
                    found = node[1] if node[0] == "instance" else node[2][1] if (
                        node[:2] == ["call", "pulldata"] and len(node) > 2 and node[2][0] == "str") else None
                    if found and found not in self.choices:
                        wanted.setdefault(found, self.rows.get(name))
        instances = {}
        for found, row in wanted.items():
            xml = self.declared.get(found) == "xml-external"  # another form's answers, or any XML
            file = found if found.lower().endswith(".csv") else f"{found}.xml" if xml else f"{found}.csv"
            data = self.media.get(file)
            if data is None:
                self.missing.setdefault(file, ("survey", self.rows.get(found, row), None))
                continue
            rows, troubles = (media_files.rows_from_xml if xml else media_files.rows_from_csv)(data, file)
            if troubles:
                self.problems += [Problem(t, file) for t in troubles]
                continue
            instances[found] = rows
            self.media_used[file] = {"sha256": hashlib.sha256(data).hexdigest(),
                                     "type": "application/xml" if xml else "text/csv"}
        return instances

    def _missing_files(self) -> None:
        """One warning per file the form names that was not attached: it can be added later."""
        for name, (sheet, row, column) in sorted(self.missing.items(), key=lambda item: item[1][1] or 0):
            self.warnings.append(problem(MISSING_FILE, sheet, row, column, name=name))

    def _file_choices(self, itemset: str, row) -> str:
        """select_*_from_file: the attached .csv, .xml or .geojson read into a choice list
        named after it. Missing, it imports with a warning and offers no choices until
        it is attached."""
        if itemset in self.choices:
            return itemset
        self.choices[itemset] = []
        suffix = PurePath(itemset).suffix.lower()
        if suffix not in (".csv", ".xml", ".geojson"):
            self.problems.append(problem(N_("Choices from %(name)s: the list must be a .csv, .xml or .geojson "
                                            "file."), "survey", row, "type", name=itemset))
            return itemset
        data = self.media.get(itemset)
        if data is None:
            self.missing.setdefault(itemset, ("survey", row, "type"))
            return itemset
        rows, troubles = media_files.choices_from_file(data, itemset)
        if troubles:
            self.problems += [Problem(t, itemset) for t in troubles]
            return itemset
        items = []
        for r in rows:
            labels = {k.partition("::")[2] or "default": v for k, v in r.items() if k.split("::")[0] == "label"}
            items.append(dict({k: v for k, v in r.items() if k.split("::")[0] != "label"},
                              label=labels.get("default") if list(labels) == ["default"] else labels))
        self._choice_list(itemset, items, sheet=itemset)
        # kept with the form, so that a laptop pulling this version from a central gets it too
        self.media_used[itemset] = {"sha256": hashlib.sha256(data).hexdigest(),
                                    "type": media_files.kind_of(itemset)[0]}
        return itemset

    def _search(self, q: Question, token: str, row) -> None:
        """search('file'[, 'matches'|'contains'|'startswith'|'endswith', 'column', value ...]):
        ODK's older way to take choices from an attached CSV. By ODK's convention the
        question's list has one row naming the CSV's columns: its name is the column of
        the values, its label (per language) the column of the labels. Until the file is
        attached the question offers that list as it is."""
        file = looks.search_file(token)
        args = looks.search_arguments(token)
        placeholder = (self.choices.get(q.list_name or "") or [None])[0]
        if placeholder is None:
            self.problems.append(problem(N_("The appearance %(value)s cannot be used: write it as "
                                            "search('file', 'matches', 'column', ${question})."),
                                         "survey", row, "appearance", value=token))
            return
        if file is None or args is None:  # ODK's apps could not find a file either: show the list itself
            self.warn(N_("The appearance %(value)s names no file in quotes, so the question offers its own "
                         "list from the choices sheet. Write it as search('file', 'matches', 'column', "
                         "${question})."), "survey", row, "appearance", value=token)
            return
        data = self.media.get(file)
        if data is None:
            self.missing.setdefault(file, ("survey", row, "appearance"))
            return
        rows, troubles = media_files.rows_from_csv(data, file)
        if troubles:
            self.problems += [Problem(t, file) for t in troubles]
            return
        value_column, label_columns = placeholder.name, placeholder.label
        listed = f"{file}:{q.list_name}"
        seen, items = set(), []
        for r in rows:
            value = r.get(value_column, "")
            if value and value not in seen:
                seen.add(value)
                labels = {lang: r.get(column, value) for lang, column in label_columns.items()} or {
                    self.default_code: value}
                items.append(Choice(value, labels, {k: v for k, v in r.items() if v}))
        self.choices[listed] = items
        self.media_used[file] = {"sha256": hashlib.sha256(data).hexdigest(), "type": "text/csv"}
        q.list_name = listed
        if args[1:]:
            kind, pairs = args[1].lower(), args[2:]
            test = {"matches": "{c} = {v}", "contains": "contains({c}, {v})",
                    "startswith": "starts-with({c}, {v})", "endswith": "ends-with({c}, {v})"}.get(kind)
            if test is None or not pairs or len(pairs) % 2:
                self.warn(N_("The appearance %(value)s filters in a way fieldkit does not know: the question "
                             "offers every row of the file. Write it as search('file', 'matches', 'column', "
                             "${question})."), "survey", row, "appearance", value=token)
                return
            source = " and ".join(test.format(c=pairs[i].strip("'\""), v=pairs[i + 1])
                                  for i in range(0, len(pairs), 2))
            found = self._expression(source, q.name, "appearance", columns=True)
            q.choice_filter = found if q.choice_filter is None else ["and", q.choice_filter, found]
