"""Quick exit: the neutral page a participant lands on, served by the laptop
itself (there is no internet at a venue to send them to)."""
from flask import Blueprint, current_app, g, render_template, request, session

from ..services import collect
from .auth import access
from .db import get_db

bp = Blueprint("safety", __name__)


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
