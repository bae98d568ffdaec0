"""The fieldkit command: serve, forms, export. Calls the same services as the web."""
from __future__ import annotations

import datetime as dt
import os
import socket
import sys
from pathlib import Path

import click

from . import config as configuration, store
from .forms.model import text_in
from .forms.xlsform import MISSING_FILE, FormImportError, Problem
from .services import accounts, export as export_service, forms as form_service
from .store.db import DatabaseUnavailable, url_for as db_url

_data_dir_option = click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
                                envvar="FIELDKIT_DATA",
                                help="Data directory (default: FIELDKIT_DATA or your user data folder).")


def _remember_database(ctx, _param, value):
    if value:
        ctx.meta["fieldkit.database"] = value
    return value


_database_option = click.option(
    "--database", metavar="URL", envvar="FIELDKIT_DATABASE_URL", expose_value=False, callback=_remember_database,
    help="The database: postgresql://USER@HOST/NAME for a central (default: FIELDKIT_DATABASE_URL, or "
         "fieldkit.db in the data directory). The data directory still holds keys and files.")


def data_option(command):
    """--data DIR and --database URL, on every command that opens the store."""
    return _data_dir_option(_database_option(command))


def chosen_database() -> str | None:
    """The database named by --database or FIELDKIT_DATABASE_URL, if any."""
    context = click.get_current_context(silent=True)
    return context.meta.get("fieldkit.database") if context else None


def database_url(data_dir: Path | None) -> str:
    directory = configuration.prepare_data_dir(data_dir or configuration.default_data_dir())
    return chosen_database() or db_url(directory)


def open_db(data_dir: Path | None):
    url = database_url(data_dir)
    try:
        return store.connect(url, migrate=True)
    except (DatabaseUnavailable, ValueError) as error:
        raise click.ClickException(str(error)) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fieldkit")
def main():
    """fieldkit: offline surveys for community gatherings."""


def lan_address() -> str:
    """The laptop's address on the local network, for the link participants open.

    Reads the host's own interface addresses; sends nothing on the network."""
    try:
        infos = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        infos = []
    for *_rest, sockaddr in infos:
        if not sockaddr[0].startswith("127."):
            return sockaddr[0]
    return "127.0.0.1"


def print_qr(url: str) -> None:
    import qrcode
    qr = qrcode.QRCode(border=1)
    qr.add_data(url)
    try:
        qr.print_ascii(out=sys.stdout, invert=True)
    except UnicodeEncodeError:  # a Windows console without UTF-8
        pass


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="Port to listen on.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 64), help="Threads per process.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 16), envvar="FIELDKIT_WORKERS",
              help="Processes serving on the one port (more use more of the laptop's cores).")
@click.option("--no-qr", is_flag=True, help="Do not draw the QR code in the terminal.")
@click.option("--server", "server_name", type=click.Choice(["auto", "granian", "waitress"]), default="auto",
              show_default=True, envvar="FIELDKIT_SERVER",
              help="The web server: granian where it is installed (auto), else waitress.")
@click.option("--sync-every", "sync_every", default=300, show_default=True, type=click.IntRange(0, 86400),
              envvar="FIELDKIT_SYNC_EVERY",
              help="When the laptop is linked to a central: sync by itself every this many seconds, and as soon as "
                   "the network changes (0: only by hand).")
@click.option("--sync-purge", is_flag=True,
              help="After each sync by itself, delete the local copies the central confirmed (as sync --purge).")
@data_option
def serve(host, port, threads, workers, no_qr, server_name, sync_every, sync_purge, data_dir):
    """Serve the surveys to phones on the local network."""
    from .services import instance
    from .web import server as web_server

    if server_name == "auto":
        server_name = "granian" if web_server.granian_installed() else "waitress"
    elif server_name == "granian" and not web_server.granian_installed():
        raise click.ClickException("granian is not installed here: pip install granian, or --server waitress.")
    if server_name == "granian" and workers > 1 and sys.platform == "win32":
        click.echo("On Windows granian serves with one process.")
        workers = 1
    settings = {"DB_POOL": threads, **({"DATA_DIR": data_dir} if data_dir else {})}
    if chosen_database():
        settings["DATABASE_URL"] = chosen_database()
    # This process serves only with one waitress; otherwise each worker makes its own app, and
    # this one only readies the instance, without Flask (half a second of start-up, twice).
    app = None
    try:
        if server_name == "waitress" and workers == 1:
            from .web.app import create_app
            app = create_app(settings)
            config = app.config
        else:
            config = instance.start(settings)  # the workers' apps build the font subsets
    except DatabaseUnavailable as error:
        raise click.ClickException(str(error)) from None
    db = store.connect(config["DATABASE"])
    forms = store.forms.list_forms(db)
    address = lan_address() if host in ("0.0.0.0", "::") else host
    config["PUBLIC_URL"] = f"http://{address}:{port}"
    click.echo(f"fieldkit is serving {len(forms)} form(s) from {config['DATA_DIR']}")
    # The participants' link uses the form's public_id, never its internal name (which
    # a neutral public_id exists to hide, and which would be a 404 there anyway).
    def link(form) -> str:
        return f"http://{address}:{port}/f/{form['public_id'] or form['form_id']}"
    for form in forms:
        click.echo(f"  {form['form_id']} (version {form['version']}): {link(form)}")
    if forms and not no_qr:
        newest = max(forms, key=lambda f: f["created_at"])  # the form added or updated last
        others = " Each form's poster in the console has its own code." if len(forms) > 1 else ""
        click.echo(f"Participants: join this laptop's wifi, then scan (for {newest['form_id']}):{others}")
        print_qr(link(newest))
    setup = accounts.new_setup_token(db)
    db.close()
    if setup:
        click.echo("No console account yet. On this laptop, open this one-time link to create one:")
        click.echo(f"  http://127.0.0.1:{port}/console/setup/{setup}")
    else:
        click.echo(f"Console (coordinators): http://127.0.0.1:{port}/console/")
    try:
        sock = web_server.listen(host, port)
    except OSError as error:
        raise click.ClickException(f"Cannot listen on {host}:{port} ({error.strerror}). "
                                   f"Is fieldkit already running? Try another port: --port {port + 1}") from None
    config["SYNC_EVERY"] = sync_every  # the console says how this laptop syncs
    # what each worker process's app is made from: this one's settings, and what serve added
    settings.update(DATABASE_URL=config["DATABASE_URL"], DATA_DIR=config["DATA_DIR"],
                    PUBLIC_URL=config["PUBLIC_URL"], SYNC_EVERY=sync_every)
    if instance.DEMO_LOADED in config:
        settings[instance.DEMO_LOADED] = config[instance.DEMO_LOADED]
    if sync_every:
        from .sync.auto import AutoSync

        def said(text: str) -> None:
            click.echo(f"{dt.datetime.now().strftime('%H:%M:%S')} {text}")
            sys.stdout.flush()

        AutoSync(config["DATABASE"], interval=sync_every, purge=sync_purge, echo=said).start()
        click.echo(f"Syncs by itself every {sync_every} s when linked to a central (--sync-every 0: only by hand).")
    if workers > 1:
        from .web import shared_limits
        settings.update(shared_limits.start())  # one count per device across the processes
        click.echo(f"{workers} processes serve on port {port}, {threads} threads each.")
    click.echo("Press Ctrl+C to stop.")
    sys.stdout.flush()
    try:
        if server_name == "granian":
            sock.close()  # granian binds the port itself; this socket only proved it free
            web_server.run_granian(host, port, threads, workers, settings, float(config["HEADER_SECONDS"]))
        else:
            web_server.run(app, sock, threads, workers, settings)
    except KeyboardInterrupt:
        pass
    click.echo("Stopped.")


@main.group()
def users():
    """Console accounts: coordinators and facilitators."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(store.users.ROLES), required=True,
              help="coordinator: everything; facilitator: the event screen and counts only.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@data_option
def users_add(name, role, password_stdin, data_dir):
    """Add a console account. Asks for its password twice (or reads it from stdin)."""
    password = read_password(name, password_stdin, "Password")
    db = open_db(data_dir)
    try:
        accounts.add_user(db, name, password, role)
    except accounts.UserExists:
        raise click.ClickException(f"There is already an account called {name!r}.") from None
    click.echo(f"Added {role} {name}.")


def read_password(name: str, from_stdin: bool, prompt: str) -> str:
    """A password for the account name, asked twice (or one line of standard input),
    held to the console's rules for names and passwords."""
    from .web.auth import account_problem
    if from_stdin:
        password = confirm = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt(prompt, hide_input=True)
        confirm = click.prompt(f"{prompt} again", hide_input=True)
    problem = account_problem(name, password, confirm)
    if problem:
        raise click.ClickException(problem)
    return password


@users.command("list")
@data_option
def users_list(data_dir):
    """List console accounts and when they last signed in."""
    rows = store.users.list_users(open_db(data_dir))
    if not rows:
        click.echo("No accounts yet. `fieldkit serve` prints a setup link, or use: fieldkit users add NAME --role coordinator")
    for row in rows:
        click.echo(f"{row['username']:<24} {row['role']:<12} last sign-in: {row['last_login'] or 'never'}")


@users.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input (for scripts).")
@data_option
def users_password(name, password_stdin, data_dir):
    """Give an account a new password (asked twice); its sessions end everywhere."""
    password = read_password(name, password_stdin, "New password")
    db = open_db(data_dir)
    if not accounts.set_password(db, name, password):
        raise click.ClickException(f"There is no account called {name!r}.")
    click.echo(f"New password for {name}; its sessions have ended.")


@users.command("remove")
@click.argument("name")
@data_option
def users_remove(name, data_dir):
    """Remove a console account; its sessions end at once."""
    db = open_db(data_dir)
    if not accounts.remove_user(db, name):
        raise click.ClickException(f"There is no account called {name!r}.")
    click.echo(f"Removed {name}.")


@main.group()
def forms():
    """Add and list XLSForms."""


@forms.command("add")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("media", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_option
def forms_add(path, media, data_dir):
    """Add an XLSForm (.xlsx, .xls, .csv or .md), or a new version of one, with the
    media files it names (images and audio, CSV files of select_one_from_file)."""
    db = open_db(data_dir)
    try:
        imported = form_service.import_path(db, path, media_paths=media, via="command line")
    except FormImportError as error:
        click.echo(f"{path.name} was not added:", err=True)
        for problem in error.problems:
            click.echo(f"  - {problem.render()}", err=True)
        sys.exit(1)
    form = imported.form
    if imported.outcome == "unchanged":
        click.echo(f"{form.form_id} version {form.version} is already there, unchanged.")
    else:
        click.echo(f"Added {form.form_id} version {form.version}: {len(form.questions)} questions, "
                   f"{len(form.screens)} screens, languages {', '.join(form.languages)}.")
    if form.warnings:  # what will be shown differently, or left out: told, never refused
        click.echo(f"{len(form.warnings)} things to know (the form works; these are shown differently):")
        for warning in form.warnings:
            click.echo(f"  - {Problem.from_dict(warning).render()}")


@forms.command("attach")
@click.argument("form_id")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_option
def forms_attach(form_id, files, data_dir):
    """Attach media or choices files that a form names but was added without, to its
    current version (no new version is needed)."""
    db = open_db(data_dir)
    try:
        form = form_service.attach(db, form_id, {f.name: f.read_bytes() for f in files}, via="command line")
    except FormImportError as error:
        for problem in error.problems:
            click.echo(f"  - {problem.render()}", err=True)
        sys.exit(1)
    still = [w for w in form.warnings if w["text"] == MISSING_FILE]
    click.echo(f"Attached to {form.form_id} version {form.version}."
               + (f" Still missing: {', '.join(w['params']['name'] for w in still)}." if still else ""))


@forms.command("list")
@data_option
def forms_list(data_dir):
    """List the forms and how many answers each has."""
    db = open_db(data_dir)
    rows = store.forms.list_forms(db)
    if not rows:
        click.echo("No forms yet. Add one with: fieldkit forms add FILE.xlsx")
        return
    click.echo(f"{'FORM ID':<24} {'VERSION':<14} {'SUBMISSIONS':>11}  LANGUAGES  TITLE")
    for row in rows:
        form = store.forms.current_form(db, row["form_id"])  # the title in the form's own default language
        title = text_in(form.title, form.default_language, form.default_language) if form else ""
        click.echo(f"{row['form_id']:<24} {row['version']:<14} {row['submissions']:>11}  "
                   f"{','.join(row['languages']):<9}  {title}")


@main.command()
@click.argument("form_id")
@click.option("--format", "fmt", type=click.Choice(list(export_service.FORMATS)), default="csv", show_default=True,
              help="csv (opens in Excel), xlsx, json, or codebook (an .xlsx of the questions and their choices).")
@click.option("--event", "event_code", metavar="CODE",
              help="Only the answers collected at this event, given by its short code.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="File to write (default: standard output). Needed for xlsx and codebook on a terminal.")
@click.option("--key", "key_file", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Private key file (from `fieldkit keys new`) to open an encrypted form's answers; give "
                   "--key again for each key the form has had. Used for this export only, never stored; the "
                   "decryption is recorded in the activity log.")
@data_option
def export(form_id, fmt, event_code, out, data_dir, key_file=()):
    """Export the submissions of a form, streamed: CSV (Excel-ready), XLSX, JSON, or its codebook.

    Runs the same code as the console's Export button; every export is recorded in the activity log."""
    db = open_db(data_dir)
    if store.forms.current_form(db, form_id) is None:
        raise click.ClickException(f"There is no form {form_id!r}. See: fieldkit forms list")
    filters = {}
    if event_code is not None:
        event = store.events.event_by_code(db, event_code.strip().lower())
        if event is None:
            raise click.ClickException(f"There is no event with the code {event_code!r}. "
                                       "The console's Events page shows each event's code.")
        filters["event_id"] = event["id"]
    export_format = export_service.FORMATS[fmt]
    stdout = standard_output()
    if out is None and export_format.binary and stdout.isatty():
        raise click.ClickException(f"{fmt} is a binary file, not for a terminal. "
                                   f"Choose where to write it: --out {form_id}.{export_format.extension}")
    private_key = read_keys(key_file)
    try:
        export_service.begin(db, form_id, fmt, None, "command line", private_key, **filters)
    except export_service.Sealed as sealed:
        needs = "; ".join(f"{n} answer(s) need the key {kid}" if kid else f"{n} older answer(s) open with none of "
                          "the keys given" for kid, n in sorted(sealed.missing.items(), key=lambda i: str(i[0])))
        raise click.ClickException(
            f"The answers to {form_id} are encrypted: {needs}. Give each key with --key FILE; "
            "nothing was written.") from None
    chunks = export_format.write(db, form_id, private_key=private_key, **filters)
    if out is None:  # bytes either way: text formats as UTF-8, whatever the console's own encoding
        for chunk in chunks:
            stdout.write(chunk if export_format.binary else chunk.encode("utf-8"))
        stdout.flush()
        return
    with (out.open("wb") if export_format.binary else out.open("w", encoding="utf-8", newline="")) as f:
        for chunk in chunks:
            f.write(chunk)
    if export_format.filtered:
        count = store.submissions.count_filtered(db, form_id, **filters)
        click.echo(f"Wrote {count} submissions to {out}", err=True)
    else:
        click.echo(f"Wrote the codebook of {form_id} to {out}", err=True)


def standard_output():
    """The binary standard output (Click's get_binary_stream is deprecated since 8.2)."""
    return getattr(sys.stdout, "buffer", sys.stdout)


def read_keys(paths) -> object | None:
    """The private keys given (--key, once or more) as one keyring, or None."""
    from . import crypto
    return crypto.Keyring([read_private_key(p) for p in paths]) if paths else None


def read_private_key(path: Path):
    from . import crypto
    try:
        return crypto.load_private_key(path.read_bytes())
    except crypto.CryptoKeyError as error:
        raise click.ClickException(f"{path} cannot be used as a private key: {error}.") from None


@main.command()
@click.argument("form_id")
@click.option("--key", "key_file", required=True, multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The private key file (from `fieldkit keys new`); again for each key the form has had.")
@click.option("--format", "fmt", type=click.Choice([f for f in export_service.FORMATS if export_service.FORMATS[f].filtered]),
              default="csv", show_default=True)
@click.option("--event", "event_code", metavar="CODE", help="Only the answers collected at this event.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write.")
@data_option
@click.pass_context
def decrypt(ctx, form_id, key_file, fmt, event_code, out, data_dir):
    """Export an encrypted form's answers, opened with its private key (recorded in the activity log)."""
    ctx.invoke(export, form_id=form_id, fmt=fmt, event_code=event_code, out=out, data_dir=data_dir,
               key_file=key_file)


@main.group(invoke_without_command=True)
@click.pass_context
def keys(ctx):
    """Key pairs for encrypted forms."""
    if ctx.invoked_subcommand is None:  # `fieldkit keys` alone: what it can do, and success
        click.echo(ctx.get_help())


@keys.command("new")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("fieldkit-private-key.pem"),
              show_default=True, help="Where to write the private key (readable by you only).")
def keys_new(out):
    """Make a key pair: the private key goes to a file; the public key is printed for
    the XLSForm's settings (public_key) or the console."""
    from . import crypto
    if out.exists():
        raise click.ClickException(f"{out} exists already; it may be the only key to earlier answers. "
                                   "Choose another --out.")
    pem, public = crypto.new_key_pair()
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as f:
        f.write(pem)
    out.with_suffix(".pub").write_text(public + "\n", encoding="ascii")
    click.echo(f"Private key written to {out}. Keep it off the survey laptop, with a backup:")
    click.echo("whoever holds it can read the answers, and without it nobody can.")
    click.echo(f"Its name (fingerprint), which exports use to say which key answers need: "
               f"{crypto.fingerprint(crypto.load_public_key(public))}")
    click.echo(f"Public key (also in {out.with_suffix('.pub')}), for the settings sheet's public_key column:")
    click.echo(public)


# --- sync: devices (on a central), link and sync (on a laptop), backup --------------------

def valid_device_name(name: str) -> bool:
    return 1 <= len(name) <= 40 and name.replace("-", "").replace("_", "").replace(".", "").isalnum()


@main.group()
def devices():
    """On a central: the laptops allowed to sync with it, each with its own token."""


@devices.command("add")
@click.argument("name")
@data_option
def devices_add(name, data_dir):
    """Register a laptop and print its token, alone on the last line (shown only once)."""
    if not valid_device_name(name):
        raise click.ClickException("Choose a device name of letters, numbers, '-', '_' or '.' (up to 40).")
    db = open_db(data_dir)
    try:
        token = accounts.add_device(db, name)
    except accounts.DeviceExists:
        raise click.ClickException(f"There is already a device called {name!r}. Choose another name.") from None
    click.echo(f"Added device {name}. This central keeps only a hash of its token: copy it now.")
    click.echo("On that laptop, run: fieldkit link https://THIS-CENTRAL --token TOKEN")
    click.echo(token)


@devices.command("list")
@data_option
def devices_list(data_dir):
    """List the devices, when each last synced and what it sent."""
    from .store import devices as device_store
    rows = device_store.list_devices(open_db(data_dir))
    if not rows:
        click.echo("No devices yet. Add one with: fieldkit devices add NAME")
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        click.echo(f"{row['name']:<24} {state:<30} last sync: {row['last_seen'] or 'never':<20} "
                   f"received {row['received']}, duplicates {row['duplicates']}, conflicts {row['conflicts']}")


@devices.command("revoke")
@click.argument("name")
@data_option
def devices_revoke(name, data_dir):
    """Refuse a device's token from now on (what it already sent is kept)."""
    db = open_db(data_dir)
    if not accounts.revoke_device(db, name):
        raise click.ClickException(f"There is no active device called {name!r}. See: fieldkit devices list")
    click.echo(f"Revoked {name}. Its token no longer works.")


@main.group()
def collectors():
    """ODK Collect accounts: interviewers' tablets that get forms from this laptop and send it interviews."""


@collectors.command("add")
@click.argument("name")
@click.option("--server", metavar="URL",
              help="The address tablets reach this fieldkit at (default: http://<this laptop's LAN address>:8080).")
@click.option("--no-qr", is_flag=True, help="Do not draw the settings QR code in the terminal.")
@data_option
def collectors_add(name, server, no_qr, data_dir):
    """Add a collector and print the server URL to give ODK Collect, alone on the last line
    (shown only once), after a QR code of Collect's settings holding it."""
    from .services import collectors as collector_service
    if not collector_service.valid_name(name):
        raise click.ClickException("Choose a collector name of letters, numbers, spaces, '.', '-' or '_' (up to 40).")
    db = open_db(data_dir)
    try:
        token = collector_service.add(db, name)
    except collector_service.CollectorExists:
        raise click.ClickException(f"There is already a collector called {name!r}. Choose another name.") from None
    url = collector_service.server_url(server or f"http://{lan_address()}:8080", token)
    click.echo(f"Added collector {name}. This laptop keeps only a hash of its token: the URL below is shown once.")
    if not no_qr:
        click.echo("In ODK Collect: Projects, Add project, then scan this code (or type the URL below by hand):")
        print_qr(collector_service.settings_code(url, name))
    click.echo(url)


@collectors.command("list")
@data_option
def collectors_list(data_dir):
    """List the collectors, when each was last seen and how many interviews it sent."""
    from .store import collectors as collector_store
    rows = collector_store.list_collectors(open_db(data_dir))
    if not rows:
        click.echo("No collectors yet. Add one with: fieldkit collectors add NAME")
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        click.echo(f"{row['name']:<24} {state:<30} last seen: {row['last_seen'] or 'never':<20} "
                   f"received {row['received']}")


@collectors.command("revoke")
@click.argument("name")
@data_option
def collectors_revoke(name, data_dir):
    """Refuse a collector's URL from now on (the interviews it already sent are kept)."""
    from .services import collectors as collector_service
    if not collector_service.revoke(open_db(data_dir), name):
        raise click.ClickException(f"There is no active collector called {name!r}. See: fieldkit collectors list")
    click.echo(f"Revoked {name}. Its URL no longer works.")


ca_bundle_option = click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                                help="PEM file of the certificate authority that signed the central's "
                                     "certificate (for a private CA). TLS is always verified.")
allow_http_option = click.option("--allow-http", is_flag=True,
                                 help="Allow plain http to a central other than this machine (unencrypted: "
                                      "only on a network you trust).")


@main.command()
@click.argument("url")
@click.option("--token", envvar="FIELDKIT_SYNC_TOKEN",
              help="The token `fieldkit devices add` printed on the central (or FIELDKIT_SYNC_TOKEN).")
@click.option("--openrosa", is_flag=True,
              help="URL is an OpenRosa server (an ODK Central app user's URL, or KoboToolbox's "
                   "https://kc.kobotoolbox.org/USER): deliver the answers there as ODK Collect would.")
@click.option("--username", help="With --openrosa: the account's name (KoboToolbox); an app user's URL needs none.")
@click.option("--password-stdin", "password_stdin", is_flag=True,
              help="With --username: read the password from standard input (else it is asked for).")
@ca_bundle_option
@allow_http_option
@data_option
def link(url, token, openrosa, username, password_stdin, ca_bundle, allow_http, data_dir):
    """Link this laptop to a central fieldkit at URL, checking the token with it; or, with
    --openrosa, to an ODK Central or KoboToolbox server."""
    from .store import sync as sync_store
    from .sync.client import AuthError, Central, CertificateError, SyncError
    ca = str(ca_bundle.resolve()) if ca_bundle else None
    if openrosa:
        link_openrosa(url, username, password_stdin, ca, allow_http, data_dir)
        return
    if not token:
        raise click.UsageError("Give the central's token with --token (or use --openrosa for ODK Central or KoboToolbox).")
    try:
        central = Central(url, token, ca_bundle=ca, allow_http=allow_http, retries=1)
    except SyncError as error:
        raise click.ClickException(error.message.render()) from None
    device, problem = None, None
    try:
        device = central.hello()["device"]
    except (AuthError, CertificateError) as error:
        raise click.ClickException(error.message.render()) from None
    except SyncError as error:  # offline now: keep the link, `fieldkit sync` tries later
        problem = error.message.render()
    finally:
        central.close()
    db = open_db(data_dir)
    sync_store.set_link(db, {"url": central.url, "token": token, "ca_bundle": ca, "allow_http": allow_http,
                             "device": device})
    store.audit.record(db, None, "sync.linked", central=central.url, device=device, via="command line")
    if problem:
        click.echo(f"Linked to {central.url}, but could not check the token now: {problem}", err=True)
    else:
        click.echo(f"Linked to {central.url} as device {device}.")


def link_openrosa(url, username, password_stdin, ca, allow_http, data_dir):
    """fieldkit link --openrosa: check the server (HEAD submission, formList) and say which of
    this laptop's forms it has at the same version; keep the link even when offline now."""
    from .store import sync as sync_store
    from .sync.client import AuthError, CertificateError, SyncError
    from .sync.openrosa import OpenRosaServer, describe
    password = None
    if username:
        password = sys.stdin.readline().rstrip("\n") if password_stdin else click.prompt(
            "Password", hide_input=True)
    try:
        server = OpenRosaServer(url, username, password, ca_bundle=ca, allow_http=allow_http, retries=1)
    except SyncError as error:
        raise click.ClickException(error.message.render()) from None
    listed, problem = None, None
    try:
        server.hello()
        listed = server.form_versions()
    except (AuthError, CertificateError) as error:
        raise click.ClickException(error.message.render()) from None
    except SyncError as error:
        problem = error.message.render()
    finally:
        server.close()
    db = open_db(data_dir)
    sync_store.set_link(db, {"kind": "openrosa", "url": server.url, "username": username, "password": password,
                             "ca_bundle": ca, "allow_http": allow_http})
    store.audit.record(db, None, "sync.linked", central=describe(server.url), kind="openrosa", via="command line")
    if problem:
        click.echo(f"Linked to {describe(server.url)}, but could not reach it now: {problem}", err=True)
        return
    click.echo(f"Linked to the OpenRosa server {describe(server.url)}.")
    for form in store.forms.list_forms(db):
        theirs = listed.get(form["form_id"])
        if theirs == form["version"]:
            click.echo(f"  {form['form_id']} version {form['version']}: on the server, its answers will be sent")
        elif theirs:
            click.echo(f"  {form['form_id']} version {form['version']}: the server has version {theirs}; "
                       "answers to other versions stay here (publish the same version on both sides)")
        else:
            click.echo(f"  {form['form_id']}: not on the server; its answers stay here")


@main.command()
@click.option("--purge", is_flag=True,
              help="Then delete the local copies the central has confirmed (never unconfirmed ones or conflicts).")
@ca_bundle_option
@allow_http_option
@click.option("--retries", default=6, show_default=True, type=click.IntRange(0, 20),
              help="Tries again after a failed request, waiting twice as long each time (up to 30 s).")
@click.option("--watch", is_flag=True,
              help="Keep syncing by itself, as `fieldkit serve` does: every --every seconds and as soon as the "
                   "network changes, a line per attempt, until Ctrl+C.")
@click.option("--every", "every", default=300, show_default=True, type=click.IntRange(10, 86400),
              envvar="FIELDKIT_SYNC_EVERY", help="With --watch: seconds between attempts.")
@data_option
def sync(purge, ca_bundle, allow_http, retries, watch, every, data_dir):
    """Send unsynced submissions to the central and pull its forms, with a progress bar.

    Exits 0 only when the central acknowledged everything; 1 when something was
    not acknowledged or went wrong; 3 when another sync is running."""
    from tqdm import tqdm

    from .sync import runner
    open_db(data_dir).close()  # migrated before the sync opens it
    bars: dict[str, tqdm] = {}
    labels = {"push": ("Sending submissions", " submissions"), "pull": ("Pulling forms", " forms")}

    def progress(stage: str, done: int, total: int):
        if stage not in bars:
            for bar in bars.values():  # one bar at a time: the previous stage is over
                bar.close()
            desc, unit = labels[stage]
            bars[stage] = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr)
        bar = bars[stage]
        bar.total = total
        bar.update(done - bar.n)

    if watch:
        from .sync.auto import AutoSync

        def line(text: str) -> None:
            for bar in bars.values():
                bar.close()
            bars.clear()
            click.echo(f"{dt.datetime.now().strftime('%H:%M:%S')} {text}")

        watcher = AutoSync(database_url(data_dir), interval=every, purge=purge, echo=line)
        click.echo(f"Syncing by itself every {every} s and when the network changes. Press Ctrl+C to stop.")
        try:
            watcher.loop(progress=progress, every_attempt=True)
        except KeyboardInterrupt:
            click.echo("Stopped.")
        return
    result = runner.run(database_url(data_dir), purge=purge, ca_bundle=str(ca_bundle) if ca_bundle else None,
                        allow_http=True if allow_http else None, retries=retries, progress=progress)
    for bar in bars.values():
        bar.close()
    for message in runner.messages_of(result):
        click.echo(message.render(), err=True)
    if result.busy:
        sys.exit(3)
    click.echo(result.summary())
    sys.exit(0 if result.ok else 1)


@main.group()
def db():
    """The database itself: move a central's to another engine."""


@db.command("copy")
@click.option("--from", "from_url", required=True, metavar="URL",
              help="The database to copy: sqlite:///PATH/fieldkit.db or postgresql://USER@HOST/NAME.")
@click.option("--to", "to_url", required=True, metavar="URL", help="A new, empty database to copy it into.")
def db_copy(from_url, to_url):
    """Copy every table to a new database (SQLite to PostgreSQL, or back), then check counts
    and hashes of every table; on any difference or error the target is left empty."""
    from .services import database
    from .store.db import DatabaseUnavailable, shown

    def progress(table, rows):
        click.echo(f"  {table}: {rows}", err=True)
    click.echo(f"Copying {shown(from_url)} to {shown(to_url)}", err=True)
    try:
        copied = database.copy_database(from_url, to_url, actor="command line", progress=progress)
    except (database.CopyRefused, DatabaseUnavailable, ValueError) as error:
        raise click.ClickException(f"{error}. Nothing was copied.") from None
    click.echo(f"Copied and checked {sum(copied.values())} rows in {len(copied)} tables "
               f"({copied.get('submissions', 0)} submissions). Point fieldkit at the new database with "
               f"FIELDKIT_DATABASE_URL (or --database) before it serves again.")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@data_option
def backup(file, force, data_dir):
    """Copy the database to FILE, safely, even while fieldkit is serving (SQLite online backup)."""
    from .store.backup import backup_to
    if file.exists() and not force:
        raise click.ClickException(f"{file} exists. Choose another name, or replace it with --force.")
    db = open_db(data_dir)
    if db.dialect != "sqlite":
        raise click.ClickException("A PostgreSQL database is backed up with PostgreSQL's own tools: "
                                   "pg_dump, or your provider's backups (see sync/README.md).")
    backup_to(db, file)
    click.echo(f"Backed up {store.submissions.count_submissions(db)} submissions and "
               f"{store.forms.count_forms(db)} form versions to {file}")
