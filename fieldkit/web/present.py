"""Turns a form screen into what the template shows: plain values, no logic left
for the template beyond loops and ifs on ready-made fields."""
from flask import render_template
from flask_babel import gettext

from ..forms import engine
from ..forms.model import Question, text_in
from .i18n import show_value

INPUT_MODES = {"integer": "numeric", "decimal": "decimal"}


def question_view(form, q: Question, state, lang, entered, error, hidden) -> dict:
    def text(value: dict) -> str:
        return engine.interpolate(text_in(value, lang, form.default_language), form, state, lang,
                                  lambda q, v: show_value(q.type, v))

    current = entered if entered is not None else (
        state.values.get(q.name, "").split() if q.type == "select_multiple" else [state.values.get(q.name, "")])
    choices = [{"value": c.name, "label": text(c.label), "checked": c.name in current,
                "id": f"{q.name}-{i}"} for i, c in enumerate(form.choices.get(q.list_name or "", []))]
    if q.type == "acknowledge":
        choices = [{"value": "OK", "label": gettext("OK"), "checked": "OK" in current, "id": f"{q.name}-0"}]
    widget = {"select_one": "radio", "select_multiple": "checkbox", "acknowledge": "checkbox",
              "note": "note", "date": "date"}.get(q.type, "text")
    if q.type == "text" and q.appearance == "multiline":
        widget = "textarea"
    return {
        "name": q.name, "widget": widget, "label": text(q.label), "hint": text(q.hint),
        "value": current[0] if current else "", "choices": choices,
        "inputmode": INPUT_MODES.get(q.type), "error": error.render(gettext) if error else "",
        "hidden": hidden, "required": q.required is not None,
    }


def screen_page(draft, result=None):
    form, lang, index = draft.form, draft.language, draft.position
    answers = draft.answers
    state = engine.evaluate(form, answers, lang=lang)
    errors = result.errors if result else {}
    entered = result.entered if result else {}
    questions = []
    for name in form.screens[index].questions:
        q = form.questions[name]
        questions.append(question_view(form, q, state, lang, entered.get(name), errors.get(name),
                                       hidden=name not in state.relevant))
    return render_template(
        "collect/screen.html", form=form, draft=draft, index=index, questions=questions,
        title=form.title.get(lang, ""), heading=text_in(form.screens[index].label, lang, form.default_language)
        if len(form.screens[index].questions) > 1 else "",
        errors=[q for q in questions if q["error"]], appeared=bool(result and result.appeared),
        step=index + 1, steps=len(form.screens),
        first=engine.previous_screen(form, index, state) is None)
