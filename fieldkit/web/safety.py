"""Quick exit: the neutral page a participant lands on, served by the laptop
itself (there is no internet at a venue to send them to)."""
from flask import Blueprint, current_app, g, render_template, request, session
from flask_babel import gettext

from ..services import collect
from .auth import access
from .db import get_db
from .fonts import titles_stylesheet_url
from .i18n import page_lang

bp = Blueprint("safety", __name__)


@bp.get("/")
@access("public")
def front():
    """The laptop's own address, typed or scanned without a path: the open surveys by
    their public titles (never a form's internal name), or a plain instruction."""
    lang = page_lang()
    surveys = [(form.key, form.shown_title(lang)) for form in collect.open_forms(get_db())]
    g.font_css = titles_stylesheet_url([title for _, title in surveys])
    return render_template("safety/front.html", surveys=surveys, title=gettext("Surveys"))


@bp.get("/recipes/lentil-soup")
@access("public")
def neutral():
    """Reached by the Exit button: forget everything this phone was doing."""
    drafts = session.get("drafts")
    lang = session.get("lang")
    if isinstance(drafts, dict):
        db = get_db()
        for token in drafts.values():
            if isinstance(token, str):
                draft = collect.resume_any(db, token)
                lang = lang or (draft and draft.language)
                collect.discard(db, token)
    session.clear()
    languages = current_app.config["LANGUAGES"]
    g.lang = lang if lang in languages else request.accept_languages.best_match(languages) or languages[0]
    return render_template("safety/neutral.html")


def init_app(app):
    app.register_blueprint(bp)

    @app.context_processor
    def help_link():
        return {"help_url": g.get("help_url")}
