"""Which language a page is in: the participant's choice, then their browser's."""
import functools

from babel import Locale, UnknownLocaleError, numbers
from flask import current_app, g, request
from flask_babel import Babel, format_date, format_decimal, get_locale, get_translations
from markupsafe import Markup

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


def native_name(code: str, form=None) -> str:
    """'es' -> 'Español', 'am' -> 'አማርኛ': each language named in itself; a language
    with no known code (x-...) by the name its form gives it."""
    if form is not None and code in form.language_names:
        return form.language_names[code]
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


def page_translations():
    """Flask-Babel's translations for this request, looked up once per request.

    Flask-Babel finds them again on every string (several `g` lookups through
    werkzeug's proxies, the locale, the domain, its cache): a screen's dozen
    strings cost more than its database reads (bench/RESULTS.md). Remembered
    beside Flask-Babel's own locale and domain for this request, and only while
    they are the same objects: refresh() and force_locale() replace them, and
    the next string then asks Flask-Babel again."""
    ctx = g.get("_flask_babel")
    if ctx is not None:
        state = ctx.__dict__
        cached = state.get("fieldkit_translations")
        if cached is not None and cached[0] is state.get("babel_locale") and cached[1] is state.get("babel_domain"):
            return cached[2]
    translations = get_translations()
    ctx = g.get("_flask_babel")
    if ctx is not None and ctx.__dict__.get("babel_locale") is not None:
        ctx.fieldkit_translations = (ctx.babel_locale, ctx.__dict__.get("babel_domain"), translations)
    return translations


@functools.lru_cache(maxsize=2048)
def _whole_number(value: int, locale: str) -> str:
    return numbers.format_decimal(value, locale=locale)


def number(value, format=None) -> str:
    """The `number` filter: format_decimal in the page's locale. Whole numbers
    (the "Step 2 of 5" on every screen) are remembered per process: Babel
    parses and applies the locale's pattern each time, two of them were 5% of
    a screen."""
    if format is None and type(value) is int:
        return _whole_number(value, str(get_locale()))
    return format_decimal(value, format)


def init_app(app):
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(resource_dir("translations")))
    Babel(app, locale_selector=select_locale)
    # The same callables Flask-Babel installs, on translations found once per request.
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_translations().ugettext(s),
        ngettext=lambda s, p, n: page_translations().ungettext(s, p, n),
        pgettext=lambda c, s: page_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    register_template_helpers(app)


def page_lang() -> str:
    return g.get("lang") or select_locale()


def command(text: str) -> Markup:
    """A command named in a sentence, shown as code (the sentence takes it as a parameter)."""
    return Markup("<code>{}</code>").format(text)


def register_template_helpers(app):
    app.jinja_env.globals["page_lang"] = page_lang
    app.jinja_env.globals["command"] = command
    app.jinja_env.filters["number"] = number
