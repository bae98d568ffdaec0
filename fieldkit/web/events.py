"""Events: a gathering's forms, its printable poster and its live display."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import force_locale, format_decimal, gettext
from markupsafe import Markup

from .. import config as configuration
from ..errors import FieldkitError
from ..services import events as event_service, help as help_service, poster
from ..store import events as event_store, forms as form_store
from .auth import access, current_user
from .db import get_db
from .fonts import titles_stylesheet_url
from .i18n import native_name, page_lang

bp = Blueprint("events", __name__)
SMALL_COUNT = configuration.DEFAULTS["SMALL_COUNT"]


def small_count() -> int:
    """The configured threshold below which counts are shown as '<N' (read here alone)."""
    try:
        return int(current_app.config.get("SMALL_COUNT", SMALL_COUNT))
    except (TypeError, ValueError):
        return SMALL_COUNT  # a mistyped setting must not turn suppression off


def public_url() -> str:
    """The address phones reach this laptop at (set by `fieldkit serve`), else this request's."""
    return (current_app.config.get("PUBLIC_URL") or request.host_url).rstrip("/")


def event_or_404(event_id: int) -> dict:
    event = event_store.get_event(get_db(), event_id)
    if event is None:
        abort(404)
    return event


def shown_count(count: int) -> str:
    """Small counts are shown as '<5' wherever a facilitator or a printout can see them."""
    threshold = small_count()
    return f"<{threshold}" if 0 < count < threshold else str(count)


@bp.app_template_filter("headcount")
def headcount(count: int) -> str:
    """A response count as this viewer may see it: exact for a coordinator,
    '<5' for small numbers otherwise (a facilitator may know the few people)."""
    user = current_user()
    if user and user["role"] == "coordinator":
        return format_decimal(count)
    return shown_count(count)


def read_event_form(db) -> tuple[dict, list[str], str | None]:
    values = {k: request.form.get(k, "").strip() for k in event_store.FIELDS}
    forms = request.form.getlist("forms")
    known = {f["form_id"] for f in form_store.list_forms(db)}
    if not values["name"] or len(values["name"]) > 120:
        return values, forms, gettext("Give the event a name (up to 120 characters).")
    if set(forms) - known:
        raise FieldkitError("bad_request")
    if not forms:
        return values, forms, gettext("Choose at least one form for the event.")
    if values["date"]:
        try:
            dt.date.fromisoformat(values["date"])
        except ValueError:
            return values, forms, gettext("Please enter a date as year-month-day, like 2024-05-31.")
    if values["wifi_security"] not in ("",) + poster.WIFI_SECURITY:
        raise FieldkitError("bad_request")
    if any(len(values[k]) > 64 for k in ("wifi_ssid", "wifi_password")):
        return values, forms, gettext("The Wi-Fi name and password can have up to 64 characters.")
    return values, forms, None


@bp.get("/console/events")
@access("facilitator")
def index():
    db = get_db()
    return render_template("console/events.html", events=event_store.list_events(db),
                           forms=form_store.list_forms(db), values={}, chosen=[], error=None)


@bp.post("/console/events")
@access("coordinator")
def create():
    db = get_db()
    values, forms, error = read_event_form(db)
    if error:
        return render_template("console/events.html", events=event_store.list_events(db),
                               forms=form_store.list_forms(db), values=values, chosen=forms, error=error), 422
    event = event_service.create(db, values, forms, help_service.example_resources(translated),
                                 actor=current_user()["username"])
    return redirect(url_for("events.event_page", event_id=event["id"]), code=303)


@bp.get("/console/events/<int:event_id>")
@access("facilitator")
def event_page(event_id):
    db = get_db()
    event = event_or_404(event_id)
    return render_template("console/event.html", event=event, link=f"{public_url()}/e/{event['code']}",
                           forms=form_store.list_forms(db), chosen=event["forms"], values=event, error=None,
                           resources=[help_service.in_language(r, g.lang) for r in event["help"] or []],
                           count=event_store.count_event_submissions(db, event_id))


@bp.post("/console/events/<int:event_id>")
@access("coordinator")
def update(event_id):
    db = get_db()
    event = event_or_404(event_id)
    values, forms, error = read_event_form(db)
    if error:
        return render_template("console/event.html", event=event, link=f"{public_url()}/e/{event['code']}",
                               forms=form_store.list_forms(db), chosen=forms, values=values, error=error,
                               resources=[help_service.in_language(r, g.lang) for r in event["help"] or []],
                               count=event_store.count_event_submissions(db, event_id)), 422
    event_service.update(db, event, values, forms, actor=current_user()["username"])
    return redirect(url_for("events.event_page", event_id=event_id), code=303)


def translated(code: str, text: str) -> str:
    with force_locale(code):
        return gettext(text)


@bp.post("/console/events/<int:event_id>/help")
@access("coordinator")
def add_help(event_id):
    """Add a help resource: a name, a phone number and a short text in each language."""
    db = get_db()
    event = event_or_404(event_id)
    name, phone = request.form.get("name", "").strip(), request.form.get("phone", "").strip()
    texts = {code: request.form.get(f"text_{code}", "").strip() for code in current_app.config["LANGUAGES"]}
    if not name or len(name) > 120 or len(phone) > 40 or any(len(t) > 500 for t in texts.values()):
        raise FieldkitError("bad_request")
    resources = list(event["help"] or []) + [{"name": name, "phone": phone, "text": {k: v for k, v in texts.items() if v}}]
    event_service.set_help(db, event, resources, actor=current_user()["username"], added=name)
    return redirect(url_for("events.event_page", event_id=event_id) + "#help", code=303)


@bp.post("/console/events/<int:event_id>/help/<int:index>/delete")
@access("coordinator")
def delete_help(event_id, index):
    db = get_db()
    event = event_or_404(event_id)
    resources = list(event["help"] or [])
    if not 0 <= index < len(resources):
        abort(404)
    removed = resources.pop(index)
    event_service.set_help(db, event, resources, actor=current_user()["username"],
                           removed=help_service.in_language(removed, "en")["name"])
    return redirect(url_for("events.event_page", event_id=event_id) + "#help", code=303)


def instructions(has_wifi: bool, languages: list[str] | None = None) -> list[dict]:
    """One line in each language (the interface's, or those given), each in its own
    script and lang."""
    lines = []
    for code in languages or current_app.config["LANGUAGES"]:
        with force_locale(code):
            text = (gettext("Join the Wi-Fi with the first code, then scan the second code to open the survey.")
                    if has_wifi else gettext("Scan the code with your phone's camera to open the survey."))
        lines.append({"lang": code, "name": native_name(code), "text": text})
    return lines


def poster_languages(forms: list) -> list[str]:
    """The languages of the event's forms that the interface speaks, the first form's
    default first: the poster's call to action is in each (or in every interface
    language, for an event with no form open)."""
    spoken = current_app.config["LANGUAGES"]
    found = [f.default_language for f in forms] + [lang for f in forms for lang in f.languages]
    return list(dict.fromkeys(lang for lang in found if lang in spoken)) or list(spoken)


def poster_lines(forms: list, languages: list[str], has_wifi: bool) -> list[dict]:
    """Per language: the surveys' public titles, a call to action with the privacy
    promise, and each step's caption. Nothing here names a survey's topic: only its
    public title, which is what participants see."""
    lines = []
    for code in languages:
        with force_locale(code):
            lines.append({
                "lang": code, "name": native_name(code),
                "titles": " · ".join(f.shown_title(code) for f in forms),
                "call": gettext("Take part in a short survey on your phone. It is anonymous: nobody asks your name."),
                "wifi": gettext("Join the Wi-Fi"), "password": gettext("Password"),
                "scan": gettext("Scan to open the survey") if has_wifi else gettext("Scan with your phone's camera"),
                "type": gettext("Or type this address:"),
            })
    return lines


def poster_context(event: dict) -> dict:
    link = f"{public_url()}/e/{event['code']}"
    wifi = None
    if event.get("wifi_ssid"):
        wifi = Markup(poster.svg(poster.wifi_payload(event["wifi_ssid"], event.get("wifi_password"),
                                                     event.get("wifi_security") or "WPA"),
                                 gettext("QR code to join the Wi-Fi %(name)s", name=event["wifi_ssid"])))
    form_qr = poster.svg(link, gettext("QR code to open the survey: %(link)s", link=link))
    db = get_db()
    forms = [form for form in (form_store.current_form(db, form_id) for form_id in event["forms"])
             if form is not None and form_store.form_status(db, form.form_id) == "open"]
    languages = poster_languages(forms)
    return {"event": event, "link": link, "form_qr": Markup(form_qr), "wifi_qr": wifi,
            "instructions": instructions(wifi is not None),
            "lines": poster_lines(forms, languages, wifi is not None),
            "open_network": not event.get("wifi_password") or event.get("wifi_security") == "nopass"}


@bp.get("/console/events/<int:event_id>/poster")
@access("facilitator")
def poster_page(event_id):
    paper = request.args.get("paper", "letter")
    if paper not in ("letter", "a4"):
        raise FieldkitError("bad_request")
    return render_template("console/poster.html", paper=paper, **poster_context(event_or_404(event_id)))


@bp.get("/console/events/<int:event_id>/display")
@access("facilitator")
def display(event_id):
    event = event_or_404(event_id)
    count = shown_count(event_store.count_event_submissions(get_db(), event_id))
    return render_template("console/display.html", count=count, **poster_context(event))


@bp.get("/console/events/<int:event_id>/count")
@access("facilitator")
def count(event_id):
    """The display's live count, fetched by display.js every few seconds."""
    event_or_404(event_id)
    return jsonify({"count": shown_count(event_store.count_event_submissions(get_db(), event_id))})


@bp.get("/e/<code>")
@access("public")
def participant_entry(code):
    """The short link on the poster: straight to the form when the event has one."""
    db = get_db()
    event = event_store.event_by_code(db, code.lower())
    if event is None:
        raise FieldkitError("form_not_found")
    forms = [f for f in form_store.list_forms(db) if f["form_id"] in event["forms"] and f["status"] == "open"]
    if len(forms) == 1:
        return redirect(url_for("collect.start_page", form_id=forms[0]["public_id"], e=event["code"]), code=303)
    if not forms:
        raise FieldkitError("form_closed")
    g.font_css = titles_stylesheet_url([f["title"].get(page_lang()) or "" for f in forms])
    return render_template("collect/event.html", event=event, forms=forms)
