"""Which language a page is in: the participant's choice, then their browser's."""
from babel import Locale, UnknownLocaleError
from flask import current_app, g, request
from flask_babel import Babel, format_date, format_decimal

from ..resources import resource_dir


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = g.get("lang")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


def browser_choice(options: list[str], fallback: str) -> str:
    """The participant's browser languages first, then the form's default."""
    return request.accept_languages.best_match(options) or fallback


def native_name(code: str) -> str:
    """'es' -> 'Español', 'am' -> 'አማርኛ': each language named in itself."""
    try:
        name = Locale.parse(code).get_display_name(code) or code
    except (UnknownLocaleError, ValueError):
        return code
    return name[:1].upper() + name[1:]


def babel_locale(code: str) -> str:
    try:
        Locale.parse(code)
        return code
    except (UnknownLocaleError, ValueError):
        return "en"


def show_value(qtype: str, value: str) -> str:
    """An answer as a person reads it in the page's language."""
    import datetime as dt
    try:
        if qtype in ("integer", "decimal"):
            return format_decimal(float(value) if qtype == "decimal" else int(value))
        if qtype == "date":
            return format_date(dt.date.fromisoformat(value), format="long")
    except ValueError:
        pass
    return value


def init_app(app):
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(resource_dir("translations")))
    Babel(app, locale_selector=select_locale)
    register_template_helpers(app)


def page_lang() -> str:
    return g.get("lang") or select_locale()


def register_template_helpers(app):
    app.jinja_env.globals["page_lang"] = page_lang
    app.jinja_env.filters["number"] = format_decimal
