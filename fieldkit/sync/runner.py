"""One whole sync of a laptop with its central: push what is unsynced, pull the
forms, optionally purge. The same function runs `fieldkit sync` and the
console's Sync now button (in a thread); its status is kept in the database,
so the console's status page can show a sync started anywhere."""
from __future__ import annotations

import time
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from .. import store
from ..forms.xlsform import FormImportError
from ..messages import Message, N_
from ..services import openrosa as openrosa_service, sync as sync_service
from ..store import sync as sync_store
from ..store.util import utcnow
from .client import Central, SyncError
from .openrosa import OpenRosaServer, describe

LEASE_SECONDS = 120  # renewed before every request; longer than a request's timeouts plus a backoff
Progress = Callable[[str, int, int], None]  # (stage 'push' | 'pull', done, total)


@dataclass
class Result:
    ok: bool = False
    busy: bool = False
    sent: int = 0  # acknowledged by the central in this run
    created: int = 0
    duplicates: int = 0
    conflicts: int = 0
    refused: int = 0  # for a form version the central does not have: kept here, unsynced
    forms_pulled: int = 0
    purged: int = 0
    unsynced: int = 0  # left after the run
    message: dict | None = None  # a Message as {'text', 'params'}
    problems: list[dict] = field(default_factory=list)

    def summary(self) -> str:
        line = (f"sent {self.sent}, new {self.created}, duplicates {self.duplicates}, "
                f"conflicts {self.conflicts}, forms pulled {self.forms_pulled}")
        if self.purged:
            line += f", purged {self.purged}"
        return f"Sync {'complete' if self.ok else 'incomplete'}: {line}" + (
            "" if self.ok else f"; {self.unsynced} not yet acknowledged")


def messages_of(result: Result) -> list[Message]:
    return [Message(m["text"], m["params"]) for m in ([result.message] if result.message else []) + result.problems]


def run(database: str, *, purge: bool = False, ca_bundle: str | None = None, allow_http: bool | None = None,
        retries: int = 6, backoff: float = 0.5, progress: Progress | None = None, user: str | None = None,
        skip_forms: frozenset | set = frozenset(), pause: float = 0.0) -> Result:
    """skip_forms: forms whose answers this run leaves alone (a sync by itself skips
    those set to sync by hand only). pause: seconds to rest after each batch (a sync
    by itself leaves the laptop's CPU to the participants' pages in between)."""
    db = store.connect(database)
    try:
        return _run(db, purge, ca_bundle, allow_http, retries, backoff, progress, user, frozenset(skip_forms), pause)
    finally:
        db.close()


def _run(db, purge, ca_bundle, allow_http, retries, backoff, progress, user, skip_forms, pause=0.0) -> Result:
    result = Result()
    link = sync_store.get_link(db)
    if link is None:
        result.message = asdict(Message(N_("This laptop is not linked to a central yet. "
                                           "Run: fieldkit link URL --token TOKEN")))
        result.unsynced = sync_store.count_by_state(db)["unsynced"]
        return result
    owner = str(uuidlib.uuid4())
    if not sync_store.take_lease(db, owner, LEASE_SECONDS):
        result.busy = True
        result.message = asdict(Message(N_("Another sync is running on this laptop. Wait for it to finish.")))
        return result
    status = {"state": "running", "stage": "push", "done": 0, "total": 0, "started_at": utcnow(), "by": user}
    sync_store.put_status(db, status)

    def renew():
        if not sync_store.take_lease(db, owner, LEASE_SECONDS):
            raise SyncError(Message(N_("Another sync took over; this one stopped.")))

    def report(stage: str, done: int, total: int):
        status.update(stage=stage, done=done, total=total, **counts(result))
        sync_store.put_status(db, status)
        if progress:
            progress(stage, done, total)

    central = None
    options = {"ca_bundle": ca_bundle or link.get("ca_bundle"), "retries": retries, "backoff": backoff,
               "allow_http": link.get("allow_http", False) if allow_http is None else allow_http,
               "before_attempt": renew}
    try:
        if link.get("kind") == "openrosa":  # ODK Central or KoboToolbox: answers go up, no forms come down
            central = OpenRosaServer(link["url"], link.get("username"), link.get("password"), **options)
            push_openrosa(db, central, result, report, skip_forms, pause)
        else:
            central = Central(link["url"], link["token"], **options)
            central.hello()  # online means this: the central answered, authenticated, as the central
            push_all(db, central, result, report, skip_forms, pause)
            pull_forms(db, central, result, report)
        result.ok = not result.problems
    except SyncError as error:
        result.message = asdict(error.message)
    finally:
        if central:
            central.close()
        if purge:
            result.purged = sync_store.purge_synced(db)
        result.unsynced = sync_store.count_by_state(db)["unsynced"]
        status.update(state="done" if result.ok else "failed", finished_at=utcnow(), **counts(result),
                      message=result.message, problems=result.problems, unsynced=result.unsynced)
        sync_store.put_status(db, status)
        if result.ok:
            sync_store.put_last_success(db, {"at": status["finished_at"], "sent": result.sent, "by": user})
        store.audit.record(db, user, "sync", central=describe(link["url"]), **counts(result), ok=result.ok)
        sync_store.release_lease(db, owner)
    return result


def counts(result: Result) -> dict:
    return {k: getattr(result, k) for k in ("sent", "created", "duplicates", "conflicts", "forms_pulled", "purged")}


def push_all(db, central: Central, result: Result, report: Progress, skip_forms: frozenset = frozenset(),
             pause: float = 0.0) -> None:
    """Send the unsynced in batches until none is left. Each round has at least
    one submission acknowledged (or raises), so the loop ends; the bound guards that."""
    total = sync_store.count_unsynced(db, skip_forms)
    report("push", 0, total)

    refused: dict[str, tuple[str, str]] = {}  # uuid -> (form_id, version) the central lacks
    versions: dict[str, tuple[str, str]] = {}

    def acknowledged(outcomes: dict[str, str]) -> None:
        sync_store.mark_synced(db, outcomes)  # only now, after the central's well-formed 2xx
        for uuid, outcome in outcomes.items():
            setattr(result, _FIELD[outcome], getattr(result, _FIELD[outcome]) + 1)
            if outcome == "unknown_form":
                refused[uuid] = versions[uuid]
        result.sent += len(outcomes) - sum(o == "unknown_form" for o in outcomes.values())
        report("push", result.sent, max(total, result.sent))

    for _round in range(total + 50):
        batch = sync_store.unsynced(db, central.batch_size, skip=set(refused), skip_forms=skip_forms)
        if not batch:
            break
        versions.update({sub["uuid"]: (sub["form_id"], sub["form_version"]) for sub in batch})
        central.push([sync_service.to_wire(sub) for sub in batch], acknowledged)
        if pause:
            time.sleep(pause)
    for (form_id, version) in sorted(set(refused.values())):
        count = sum(v == (form_id, version) for v in refused.values())
        result.problems.append(asdict(Message(N_(
            "The central has no form %(form_id)s version %(version)s, so it kept none of its %(count)s answers: "
            "they stay on this laptop, unsynced. Add that version on the central, then sync again."),
            {"form_id": form_id, "version": version, "count": count})))


_FIELD = {"created": "created", "duplicate": "duplicates", "conflict": "conflicts", "unknown_form": "refused"}


def pull_forms(db, central: Central, result: Result, report: Progress) -> None:
    """Add the form versions the central publishes and this laptop lacks, oldest first."""
    listing = central.list_forms()
    wanted = [(f, sync_service.needs_pull(db, f)) for f in listing]
    wanted = [(f, need) for f, need in wanted if need != "have"]
    report("pull", 0, len(wanted))
    for done, (listed, need) in enumerate(wanted, 1):
        params = {"form_id": listed["form_id"], "version": listed["version"]}
        if need == "clash":
            result.problems.append(asdict(Message(N_(
                "Form %(form_id)s version %(version)s differs here from the central's copy; "
                "this laptop's copy was kept."), params)))
            continue
        try:
            sync_service.add_pulled_form(db, listed, central.download(listed["form_id"], listed["version"]))
            result.forms_pulled += 1
        except (FormImportError, ValueError):
            result.problems.append(asdict(Message(N_(
                "Form %(form_id)s version %(version)s from the central could not be added."), params)))
        report("pull", done, len(wanted))


def push_openrosa(db, server: OpenRosaServer, result: Result, report: Progress, skip_forms: frozenset = frozenset(),
                  pause: float = 0.0) -> None:
    """Deliver the unsynced as instance XML, one submission at a time (OpenRosa has no batches),
    each marked synced as soon as the server has acknowledged it. Answers the server cannot
    take (a form version it does not have, encrypted answers) stay here, unsynced, said why."""
    server.hello()  # online means this: an OpenRosa server answered, authenticated
    listed = server.form_versions()
    total = sync_store.count_unsynced(db, skip_forms)
    report("push", 0, total)
    refused: dict[str, tuple[str, str, str]] = {}  # uuid -> (why, form_id, version)
    for _round in range(total + 50):
        batch = sync_store.unsynced(db, 50, skip=set(refused), skip_forms=skip_forms)
        if not batch:
            break
        for sub in batch:
            going = openrosa_service.outgoing(db, sub, listed)
            if isinstance(going, str):
                refused[sub["uuid"]] = (going, sub["form_id"], sub["form_version"])
                continue
            outcome = server.submit(going.xml, going.files)
            sync_store.mark_synced(db, {sub["uuid"]: outcome})  # only now, after the server's OpenRosa 2xx
            setattr(result, _FIELD[outcome], getattr(result, _FIELD[outcome]) + 1)
            result.sent += 1
            report("push", result.sent, max(total, result.sent))
        if pause:
            time.sleep(pause)
    result.refused = len(refused)
    for why, form_id, version in sorted(set(refused.values())):
        params = {"form_id": form_id, "version": version, "count": sum(r[0] == why and r[1:] == (form_id, version)
                                                                        for r in refused.values()),
                  "theirs": listed.get(form_id) or "-"}
        text = {
            "unknown_form": N_("The server has no form %(form_id)s version %(version)s (it has version %(theirs)s), so "
                               "none of its %(count)s answers were sent: they stay on this laptop, unsynced. The "
                               "same form, with the same form_id and version, must be on both sides."),
            "sealed": N_("%(count)s answers to %(form_id)s are encrypted on this laptop and cannot be sent as ODK "
                         "XML: they stay here, unsynced. Export them with the private key instead."),
        }.get(why, N_("%(count)s answers to %(form_id)s version %(version)s could not be written as ODK XML: "
                      "they stay on this laptop, unsynced."))
        result.problems.append(asdict(Message(text, params)))
