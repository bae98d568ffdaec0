"""Turns a form screen into what the template shows: plain values, no logic left
for the template beyond loops and ifs on ready-made fields."""
import datetime as dt
import json
import random

from flask import render_template, url_for
from flask_babel import format_decimal, gettext

from ..forms import appearances, engine, expr, geo
from ..forms.media import ACCEPT
from ..forms.model import UPLOAD_TYPES, Question, text_in
from .i18n import show_value

INPUT_MODES = {"integer": "numeric", "decimal": "decimal"}
# Appearances that put a select's answers in one row (a scale, or a row of a table-list).
IN_A_ROW = {"likert", "compact", "horizontal", "horizontal-compact", "columns", "columns-pack", "quickcompact",
            "table-row", "list-nolabel"}


def media_url(form, media: dict, kind: str, lang: str) -> str:
    """The URL of a question's or choice's image or audio in this language (else the
    form's default language's), or ''."""
    name = text_in(media.get(kind, {}), lang, form.default_language)
    stored = form.media_files.get(name)
    return url_for("media.media", digest=stored["sha256"]) if stored else ""


def _rank_places(choices: list[dict], current: list[str]) -> None:
    """Each choice's drop-down of places for a rank: from the stored answer ("b a c",
    first place first) or from what was just sent ("a@2", "b@1", ...) beside an error."""
    sent = dict(v.rsplit("@", 1) for v in current if "@" in v)
    stored = [] if sent else (current[0].split() if current else [])
    for choice in choices:
        name = choice["value"]
        place = str(stored.index(name) + 1) if name in stored else sent.get(name, "")
        choice["places"] = [{"value": f"{name}@{n}", "label": format_decimal(n), "selected": str(n) == place}
                            for n in range(1, len(choices) + 1)]


def _shuffled(choices: list, q: Question, state, draw: str) -> list:
    """randomize=true: the choices in an order of their own for each participant (seeded by
    the form's seed, else the answers' uuid), the same order on every page they see."""
    seed = state.values.get(q.parameters.get("seed", ""), q.parameters.get("seed", "")) or draw
    shuffled = list(choices)
    random.Random(f"{seed}:{q.name}").shuffle(shuffled)
    return shuffled


def question_view(form, q: Question, state, lang, entered, error, hidden, every_choice=False, draw="") -> dict:
    def text(value: dict) -> str:
        return engine.interpolate(text_in(value, lang, form.default_language), form, state, lang,
                                  lambda q, v: show_value(q.type, v))

    current = entered if entered is not None else (
        state.values.get(q.name, "").split() if q.type == "select_multiple" else [state.values.get(q.name, "")])
    choices = [{"value": c.name, "label": text(c.label), "checked": c.name in current,
                "image": media_url(form, c.media, "image", lang) if c.media else "",
                "id": f"{q.name}-{i}"} for i, c in enumerate(
                    form.choices.get(q.list_name or "", []) if every_choice else engine.choices_for(form, q, state))]
    if q.parameters.get("randomize") and not every_choice:
        choices = _shuffled(choices, q, state, draw)
    if q.type == "acknowledge":
        choices = [{"value": "OK", "label": gettext("OK"), "checked": "OK" in current, "id": f"{q.name}-0"}]
    looks = set(appearances.tokens(q.appearance))
    widget = {"select_one": "radio", "select_multiple": "checkbox", "acknowledge": "checkbox",
              "note": "note", "date": "date", "time": "time", "dateTime": "datetime-local",
              "geopoint": "geopoint", "geotrace": "points", "geoshape": "points"}.get(q.type, "text")
    if q.type == "text" and "multiline" in looks:
        widget = "textarea"
    if q.type == "text" and "masked" in looks:
        widget = "password"
    if q.type == "date" and looks & {"month-year", "year", "no-calendar"}:
        widget = "text"  # typed: year-month-day, as the hint and the server's message say
    if q.list_name and "label" in looks:  # a table-list's header: the answers' names only
        widget = "header"
    if q.type == "rank":  # a place for each choice, each from a drop-down
        widget = "rank"
        _rank_places(choices, current)
    if q.type == "select_one" and "minimal" in looks:
        widget = "select"
    limits = {}
    if q.type == "range":
        values = engine.range_values(q)
        if values is None:  # too many values for a row of radio buttons
            widget = "number"
            limits = {"min": q.parameters["start"], "max": q.parameters["end"], "step": q.parameters["step"]}
        else:
            widget = "radio"
            choices = [{"value": v, "label": show_value("decimal", v), "checked": v in current,
                        "id": f"{q.name}-{i}"} for i, v in enumerate(values)]
    if q.type in UPLOAD_TYPES:
        widget = "file"
    if q.read_only:  # shown, not asked: the value as a person reads it, whatever its type
        widget = "readonly"
    return {
        "likert": bool(looks & IN_A_ROW) or (q.type == "range" and widget == "radio"), "limits": limits,
        "name": q.name, "widget": widget, "label": text(q.label), "hint": text(q.hint),
        "value": current[0] if current else "", "choices": choices,
        "inputmode": "numeric" if "numbers" in looks else INPUT_MODES.get(q.type),
        "error": error.render(gettext) if error else "",
        "placeholder": "YYYY" if "year" in looks else "YYYY-MM" if "month-year" in looks else
                       "YYYY-MM-DD" if q.type == "date" else "",
        "guidance": text(q.guidance), "points": geo.lines_of(current[0]) if widget == "points" and current else "",
        "geo": _geo_fields(q.name, current) if widget == "geopoint" else [],
        "hidden": hidden, "required": q.required is not None,
        "image": media_url(form, q.media, "image", lang) if q.media else "",
        "audio": media_url(form, q.media, "audio", lang) if q.media else "",
        "accept": q.parameters.get("accept") or ACCEPT.get(q.type, ""), "attached": q.type in UPLOAD_TYPES and bool(current and current[0]),
        "shown_value": (", ".join(c["label"] for c in choices if c["checked"]) if q.list_name
                        else show_value(q.type, current[0] if current else "")) if q.read_only else "",
    }


def _geo_fields(name: str, current: list[str]) -> list[dict]:
    """A geopoint's four fields: what was typed beside an error, else the stored point."""
    values = current if len(current) > 1 else geo.parts_of(current[0] if current else "")
    values = (list(values) + ["", "", "", ""])[:4]
    labels = (gettext("Latitude"), gettext("Longitude"), gettext("Altitude (m)"), gettext("Accuracy (m)"))
    return [{"id": f"{name}-{i}", "label": label, "value": value}
            for i, (label, value) in enumerate(zip(labels, values))]


def _steps(form, page, whole) -> dict:
    """"Step 3 of 9" over every page as things stand, and whether Back leads anywhere."""
    pages = engine.all_pages(form, whole)
    return {"step": pages.index(page) + 1 if page in pages else page.screen + 1, "steps": len(pages),
            "first": engine.previous_page(form, page, whole) is None}


def instance_label(form, repeat: str, number: int, lang: str) -> str:
    label = text_in(form.repeats[repeat].label, lang, form.default_language) or repeat
    return gettext("%(label)s %(number)s", label=label, number=number)


def instance_heading(form, page, lang: str) -> str:
    """Which instance a page is of, with those around it: "Household 2 · Child 1"."""
    return " · ".join(instance_label(form, r, n, lang) for r, n in zip(engine.chain_of(form, page), page.path) if n)


def _state(draft, result, state):
    """The state of the draft's answers: the one the answer just worked out (the draft holds
    those answers now), or the caller's, else worked out anew."""
    if result is not None and result.state is not None:
        return result.state
    return state if state is not None else engine.evaluate(draft.form, draft.answers, lang=draft.language)


def screen_page(draft, result=None, page=None, state=None):
    form, lang = draft.form, draft.language
    page = page or draft.page
    index = page.screen
    repeat = form.screens[index].repeat
    whole = _state(draft, result, state)
    state = engine.seen_from(form, whole, page)
    errors = result.errors if result else {}
    entered = result.entered if result else {}
    questions = []
    for name in form.screens[index].questions:
        q = form.questions[name]
        questions.append(question_view(form, q, state, lang, entered.get(name), errors.get(name),
                                       hidden=name not in state.relevant, draw=draft.row["uuid"]))
    if repeat:
        heading = instance_heading(form, page, lang)
    else:
        heading = text_in(form.screens[index].label, lang, form.default_language) \
            if len(form.screens[index].questions) > 1 else ""
    return render_template(
        "collect/screen.html", form=form, draft=draft, index=index, path=page.encoded(), questions=questions,
        multipart=any(q["widget"] == "file" for q in questions),
        title=form.shown_title(lang), heading=heading,
        errors=[q for q in questions if q["error"]], appeared=bool(result and result.appeared),
        **_steps(form, page, whole),
        script_data=json.dumps(script_data(draft, page, state), ensure_ascii=False,
                               separators=(",", ":"), allow_nan=False))


def list_page(draft, page, result=None, state=None):
    """A repeat the participant fills in: the instances so far, each to change or
    remove, and buttons to add another or go on. Works without JavaScript."""
    form, lang = draft.form, draft.language
    repeat = form.screens[page.screen].repeat
    whole = _state(draft, result, state)
    inputs = engine.screen_inputs(form, page.screen)
    items = []
    for number, row in enumerate(whole.rows(engine.chain_of(form, page), page.path[:-1]), 1):
        first = next((q for q in inputs if row.values.get(q.name) and q.type != "acknowledge"), None)
        summary = ""
        if first is not None:
            value = row.values[first.name]
            summary = ", ".join(form.choice_label(first, v, lang) or v for v in value.split()) \
                if first.list_name else show_value(first.type, value)
        items.append({"number": number, "label": instance_label(form, repeat, number, lang), "summary": summary})
    error = next(iter((result.errors if result else {}).values()), None)
    return render_template(
        "collect/repeat.html", form=form, index=page.screen, path=page.encoded(), title=form.shown_title(lang),
        heading=" · ".join(filter(None, [instance_heading(form, page, lang),
                                         text_in(form.repeats[repeat].label, lang, form.default_language) or repeat])),
        items=items,
        can_add=len(items) < engine.MAX_INSTANCES, error=error.render(gettext) if error else "",
        **_steps(form, page, whole))


def _relevance(form, q: Question) -> list:
    """Every relevance tree a question answers to: its groups', outermost first, then its own."""
    return [t for t in [form.groups[g].relevant for g in q.groups] + [q.relevant] if t is not None]


def _references(trees) -> set[str]:
    return set().union(*map(expr.references, trees))


def _choice_lists(trees, form, lang) -> dict:
    """Choice labels for each question named as a literal in jr:choice-name(value, '${q}')."""
    lists, stack = {}, list(trees)
    while stack:
        node = stack.pop()
        stack.extend(child for child in node[1:] if isinstance(child, list))
        if node[:2] == ["call", "jr:choice-name"] and node[3][0] == "str":
            name = node[3][1].strip().removeprefix("${").removesuffix("}").rstrip("/").rsplit("/", 1)[-1]
            q = form.questions.get(name)
            if q is not None and q.list_name:
                lists[name] = {c.name: text_in(c.label, lang, form.default_language)
                               for c in form.choices.get(q.list_name, [])}
    return lists


def _involved(form, index: int) -> tuple[tuple[str, ...], frozenset[str]]:
    """The names fieldkit.js works out itself, in the form's dependency order: this
    screen's questions, and the calculations and questions elsewhere whose value or
    relevance its answers can change and that its expressions need. Then the other
    names those expressions read, whose values the server sends. Only names on the
    same side of a repeat as the screen: sums over a repeat are the server's."""
    repeat = form.screens[index].repeat
    shown = set(form.screens[index].questions)
    inputs = {q.name for q in engine.screen_inputs(form, index)}

    def reads(name):
        q = form.questions[name]
        return _references(_relevance(form, q) + ([q.calculation] if q.calculation is not None else []))

    moving = set(shown)  # form.order puts dependencies first, so one pass finds them all
    for name in form.order:
        if name not in moving and reads(name) & moving and form.questions[name].repeat == repeat:
            moving.add(name)
    needed, todo = set(), [r for n in shown for r in reads(n)]
    todo += [r for n in inputs for r in _references(
        [t for t in (form.questions[n].required, form.questions[n].constraint) if t is not None])]
    while todo:
        name = todo.pop()
        if name not in needed and name in form.questions:
            needed.add(name)
            if name in moving and name not in shown:
                todo.extend(reads(name))
    computed = [n for n in form.order if n in shown or (n in moving and n in needed)]
    return tuple(computed), frozenset(needed - set(computed))


def script_data(draft, page, state) -> dict:
    """What fieldkit.js needs to show, hide and check this screen's questions at once,
    with the very trees the server evaluates (forms/engine.py). questions: see
    _involved(); each with its relevance trees (groups' first), and either "screen":
    true (with required/constraint trees and messages in the page language), its
    calculation, or its saved answer. values: the server's effective values (raw
    strings) of the other names read, with their types."""
    form, lang = draft.form, draft.language
    index = page.screen
    # the instance's own answers (and those of the instances around it), under their plain names
    answers = engine.page_answers(form, draft.answers, page)
    inputs = {q.name for q in engine.screen_inputs(form, index)}
    computed, others = _involved(form, index)
    questions, trees = [], []
    for name in computed:
        q = form.questions[name]
        item = {"name": name, "type": q.type}
        if _relevance(form, q):
            item["relevant"] = _relevance(form, q)
        if name in form.screens[index].questions and not q.read_only:
            item["screen"] = True
            if name in inputs and q.required is not None and q.type not in UPLOAD_TYPES:  # a file kept is the server's to see
                item["required"] = q.required
                item["required_message"] = engine.required_message(form, q, lang).render(gettext)
            if name in inputs and q.constraint is not None:
                item["constraint"] = q.constraint
                item["constraint_message"] = engine.constraint_message(form, q, lang).render(gettext)
        elif q.calculation is not None and not q.trigger:
            item["calculation"] = q.calculation
        else:
            item["answer"] = answers.get(name, "")
        trees += [item[k] for k in ("required", "constraint", "calculation") if k in item] + item.get("relevant", [])
        questions.append(item)
    return {
        "draft": draft.row["uuid"], "screen": f"{index}.{page.encoded()}" if page.path else index, "now": dt.datetime.now().isoformat(timespec="seconds"),
        "check": gettext("Please check your answers"), "questions": questions,
        "values": {n: state.values.get(n, "") for n in sorted(others)},
        "types": {n: form.questions[n].type for n in sorted(others)},
        "choices": _choice_lists(trees, form, lang),
    }
