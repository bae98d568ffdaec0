"""The participant's journey: start, answer screen by screen, submit."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from .. import crypto
from ..errors import FieldkitError
from ..messages import Message, N_
from ..forms import engine
from ..forms.model import Form
from ..forms import media as media_rules
from ..forms.model import UPLOAD_TYPES
from ..store import attachments, drafts, events as event_store, forms as form_store, submissions, write
from ..store.util import utcnow


@dataclass
class Draft:
    form: Form | None  # the version this participant is answering
    token: str
    row: dict

    @property
    def answers(self) -> dict:
        return self.row["answers"]

    @property
    def position(self) -> int:
        return self.row["position"]

    @property
    def page(self) -> engine.Page:
        """Where the participant was: a draft kept before nested repeats has only the
        innermost instance (its path then has that one number, inside a repeat)."""
        stored = self.row.get("path")
        if stored is not None:
            page = engine.Page.decode(str(self.position), stored)
            if page is not None:
                return page
        instance = self.row.get("instance") or 0
        inside = 0 <= self.position < len(self.form.screens) and self.form.screens[self.position].repeat
        return engine.Page(self.position, (instance,) if inside else ())

    @property
    def language(self) -> str:
        return self.row["language"]


def open_form(db, key: str, for_new_answers: bool = False) -> Form:
    """The current version of the form a participant URL names (by its public_id)."""
    form_id = form_store.form_id_for_public(db, key)
    form = form_store.current_form(db, form_id) if form_id else None
    if form is None:
        raise FieldkitError("form_not_found")
    if for_new_answers:
        require_open(db, form)
    return form


def open_forms(db) -> list[Form]:
    """The current version of every form open for answers: what the laptop's front page lists."""
    found = [form_store.current_form(db, row["form_id"]) for row in form_store.list_forms(db)
             if row["status"] == "open"]
    return [form for form in found if form is not None]


def require_open(db, form: Form) -> None:
    if form_store.form_status(db, form.form_id) != "open":
        raise FieldkitError("form_closed")


DEFAULT_CONSENT = N_("This survey is voluntary and anonymous. Please do not write your name anywhere. "
                     "You can skip any question or stop at any time. Your answers stay with the organisers "
                     "of this gathering. Do you agree to take part?")


def consent_text(form: Form, lang: str) -> Message:
    """The form's own consent text in this language, else the general one (translated)."""
    own = form.consent.get(lang) or form.consent.get(form.default_language)
    return Message(own) if own else Message(DEFAULT_CONSENT)


def event_for(db, form_id: str, code: str | None) -> dict | None:
    """The event a participant came from (the poster's link), if it offers this form."""
    if not code:
        return None
    event = event_store.event_by_code(db, code.lower())
    if event is None or form_id not in event["forms"]:
        raise FieldkitError("bad_request")
    return event


def start(db, form: Form, language: str, event_id: int | None = None) -> Draft:
    answers = engine.defaults(form, lang=language)
    state = engine.evaluate(form, answers, lang=language)
    answers = engine.keep_once(form, answers, state)
    page = engine.first_page(form, state) or engine.end_page(form)
    token, row = drafts.new_draft(db, form.form_id, form.version, language, answers, page.screen, event_id,
                                  page.encoded())
    return Draft(form, token, row)


def _move(db, draft: Draft, answers: dict, page: engine.Page) -> None:
    drafts.save_draft(db, draft.token, answers, page.screen, draft.language, page.encoded())
    draft.row.update(answers=answers, position=page.screen, path=page.encoded())


def current_page(draft: Draft) -> tuple[engine.Page, engine.State]:
    """Where the participant is: the stored page, or the next one shown if it is gone
    (an instance removed, a repeat_count lowered); with the state of the draft's answers,
    which the page is drawn from (worked out once a request: bench/RESULTS.md)."""
    state = engine.evaluate(draft.form, draft.answers, lang=draft.language)
    return engine.settle(draft.form, draft.page, state), state


def resume(db, form_id: str, token: str | None) -> Draft | None:
    row = drafts.get_draft(db, token)
    if row is None or row["form_id"] != form_id:
        return None
    form = form_store.form_version(db, form_id, row["form_version"])
    return Draft(form, token, row) if form else None


def resume_any(db, token: str) -> Draft | None:
    row = drafts.get_draft(db, token)
    return Draft(None, token, row) if row else None


def discard(db, token: str) -> None:
    """Quick exit: the answers in progress, and any file attached, are gone from the laptop at once."""
    row = drafts.get_draft(db, token)
    drafts.delete_draft(db, token)
    if row is not None:
        attachments.drop_draft_files(db, row["uuid"])


def set_language(db, draft: Draft, language: str) -> None:
    drafts.save_draft(db, draft.token, draft.answers, draft.position, language, draft.page.encoded())
    draft.row["language"] = language


def answer_screen(db, draft: Draft, page: engine.Page, posted: dict[str, list[str]], action: str,
                  now: dt.datetime | None = None, seen: frozenset = frozenset(),
                  uploads: dict[str, tuple[str, bytes]] | None = None) -> engine.ScreenResult:
    """Apply one page's answers, and the files attached on it (question -> (file
    name, bytes)). Valid answers are always kept, even beside errors."""
    form = draft.form
    state = engine.evaluate(form, draft.answers, now, draft.language)
    if not engine.page_exists(form, page, state):
        raise FieldkitError("bad_request")
    if page.is_list:
        if uploads:
            raise FieldkitError("bad_request")
        return _list_page(db, draft, page, posted, action)
    if action not in ("next", "back"):
        raise FieldkitError("bad_request")
    going_back = action == "back"
    posted, upload_errors = _attach(db, draft, page, dict(posted), uploads or {}, keep_errors=not going_back)
    result = engine.apply_screen(form, page, draft.answers, posted, now, draft.language, check=not going_back,
                                 seen=seen, before=state)
    result.errors.update(upload_errors)
    state = result.state or engine.evaluate(form, result.answers, now, draft.language)
    result.state = state
    if going_back:
        following = engine.previous_page(form, page, state) or page
    elif result.errors or result.appeared:
        following = page
    else:
        following = engine.next_page(form, page, state) or engine.end_page(form)
    _move(db, draft, engine.keep_once(form, result.answers, state), following)
    return result


def _attach(db, draft: Draft, page: engine.Page, posted: dict, uploads: dict, keep_errors: bool):
    """Files attached on this page: each checked by its bytes and kept, sealed with the
    participant's token, under a new name that becomes the answer. A question with
    no new file keeps the one it had; a refused file keeps it too."""
    form = draft.form
    asked = {q.name: q for q in engine.screen_inputs(form, page.screen) if q.type in UPLOAD_TYPES}
    if set(uploads) - set(asked) or set(posted) & set(asked):
        raise FieldkitError("bad_request")  # a file for another question, or a file question sent as text
    errors = {}
    for name, q in asked.items():
        current = engine.answer_on_page(form, draft.answers, name, page)
        posted[name] = [current]
        filename, data = uploads.get(name, ("", b""))
        if not data:
            continue
        checked = media_rules.check_upload(q.type, filename, data)
        if isinstance(checked, Message):
            if keep_errors:
                errors[name] = checked
            continue
        content_type, ext = checked
        stored = f"{name}-{secrets.token_hex(8)}{ext}"
        attachments.put_draft_file(db, draft.row["uuid"], draft.token, stored, name, content_type, data,
                                   replaces=current or None)
        posted[name] = [stored]
    return posted, errors


def _list_page(db, draft: Draft, page: engine.Page, posted, action: str) -> engine.ScreenResult:
    """A repeat's list page: add an instance, change or remove one, or go on."""
    form, repeat = draft.form, engine.repeat_of(draft.form, page)
    answers, holder = engine.with_list(form, draft.answers, page, lang=draft.language)
    rows = [dict(r) for r in engine.given_rows(holder, repeat)]
    verb, _, number = action.partition("-")
    if posted or verb not in ("next", "back", "add", "edit", "remove") or bool(number) != (verb in ("edit", "remove")):
        raise FieldkitError("bad_request")
    if number and not (number.isascii() and number.isdigit() and 1 <= int(number) <= len(rows)):
        raise FieldkitError("bad_request")
    result = engine.ScreenResult(draft.answers, {})
    following = page
    around = page.path[:-1]
    if verb == "add":
        if len(rows) >= engine.MAX_INSTANCES:
            result.errors[repeat] = Message(N_("You can add up to %(max)s."), {"max": engine.MAX_INSTANCES})
            return result
        rows.append(engine.defaults(form, repeat, draft.answers, lang=draft.language))
        following = engine.Page(page.screen, around + (len(rows),))
    elif verb == "remove":
        del rows[int(number) - 1]
    elif verb == "edit":
        following = engine.Page(page.screen, around + (int(number),))
    holder[repeat] = rows
    state = engine.evaluate(form, answers, lang=draft.language)
    if verb == "next":
        following = engine.next_page(form, page, state) or engine.end_page(form)
    elif verb == "back":
        following = engine.previous_page(form, page, state) or page
    elif verb in ("add", "edit") and not engine.page_shown(form, following, state):
        following = engine.settle(form, following, state)  # none of its questions is shown yet
    _move(db, draft, answers, following)
    return result


def back_from_end(db, draft: Draft) -> None:
    state = engine.evaluate(draft.form, draft.answers, lang=draft.language)
    end = engine.end_page(draft.form)
    _move(db, draft, draft.answers, engine.previous_page(draft.form, end, state) or end)


def submit(db, draft: Draft, device_id: str, now: dt.datetime | None = None) -> tuple[str, int | None]:
    """Commit the submission. Returns ('created'|'duplicate'|'conflict', None),
    or ('invalid', screen) when a screen still needs an answer."""
    form = draft.form
    invalid = engine.first_invalid_page(form, draft.answers, now, draft.language)
    if invalid is not None:
        _move(db, draft, draft.answers, invalid)
        return "invalid", invalid.screen
    submitted_at = utcnow()
    # XLSForm metadata, never shown: the draft's start, this submission, its date, this laptop.
    meta = {"start": draft.row["started_at"], "end": submitted_at, "today": submitted_at[:10],
            "deviceid": device_id}
    filled = dict(draft.answers, **{n: meta[q.type] for n, q in form.questions.items() if q.type in meta})
    answers = engine.final_answers(form, filled, now, draft.language)
    key = form_store.public_key(db, form.form_id)
    record = {
        "uuid": draft.row["uuid"], "form_id": form.form_id, "form_version": form.version,
        # An encrypted form's answers are sealed before they touch the disk.
        "language": draft.language, "answers": crypto.seal(key, answers) if key else answers,
        "started_at": draft.row["started_at"], "submitted_at": submitted_at, "device_id": device_id,
        "event_id": draft.row.get("event_id"),
    }
    with write(db):  # the answers and their files, in one transaction
        outcome = submissions.add_submission(db, record, draft.token)
        if outcome == "created":
            attachments.finish(db, draft.row["uuid"], draft.token, engine.attached_files(form, answers), key)
    return outcome, None


def submitted(db, uuid: str) -> bool:
    return submissions.has_submission(db, uuid)


def already_submitted(db, token: str | None, uuid: str) -> bool:
    """Whether this participant's answers with this uuid are kept: the draft their token
    names became that submission (a second tap of Submit, a resend after a restart)."""
    return bool(uuid) and submissions.submitted_with(db, token) == uuid
