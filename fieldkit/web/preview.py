"""A form's every screen on one page, in one language, for the coordinator to check."""
from flask_babel import gettext

from ..forms import engine
from ..forms.model import Form, text_in
from .present import question_view


def preview_screens(form: Form, lang: str) -> list[dict]:
    state = engine.evaluate(form, engine.defaults(form), lang=lang)
    screens = []
    for screen in form.screens:
        if not screen.questions:  # a repeat's first screen, when it begins with a repeat inside it
            continue
        questions = []
        for name in screen.questions:
            q = form.questions[name]
            view = question_view(form, q, state, lang, None, None, hidden=False, every_choice=True)
            logic = [gettext("Shown when: %(rule)s") % {"rule": q.source["relevant"]}] if "relevant" in q.source else []
            logic += [gettext("Shown when: %(rule)s") % {"rule": form.groups[g].source["relevant"]}
                      for g in q.groups if "relevant" in form.groups[g].source]
            if "choice_filter" in q.source:
                logic.append(gettext("Choices offered when: %(rule)s") % {"rule": q.source["choice_filter"]})
            if "constraint" in q.source:
                logic.append(gettext("Allowed when: %(rule)s") % {"rule": q.source["constraint"]})
            view["logic"] = " · ".join(logic)
            questions.append(view)
        heading = text_in(screen.label, lang, form.default_language) if len(screen.questions) > 1 else ""
        screens.append({"heading": heading, "questions": questions})
    return screens
