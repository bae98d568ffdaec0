"""Schema migrations, applied in order, each in its own transaction."""
from .sqlite_utils_lib import Migrations

migrations = Migrations("fieldkit")


@migrations()
def m001_initial(db):
    db["meta"].create({"key": str, "value": str}, pk="key")
    db["forms"].create({
        "id": int, "form_id": str, "version": str, "title": str, "languages": str,
        "model": str, "source": bytes, "source_name": str, "source_sha256": str,
        "status": str, "created_at": str,
    }, pk="id", not_null={"form_id", "version", "model", "status", "created_at"})
    db["forms"].create_index(["form_id", "version"], unique=True)
    db["drafts"].create({
        "token_hash": str, "form_id": str, "form_version": str, "uuid": str, "language": str,
        "answers": str, "position": int, "started_at": str, "updated_at": str,
    }, pk="token_hash", not_null={"form_id", "form_version", "uuid", "answers"})
    db["drafts"].create_index(["updated_at"])
    db["submissions"].create({
        "uuid": str, "form_id": str, "form_version": str, "language": str, "answers": str,
        "content_hash": str, "started_at": str, "submitted_at": str, "device_id": str,
        "synced_at": str,
    }, pk="uuid", not_null={"form_id", "form_version", "answers", "content_hash", "submitted_at"})
    db["submissions"].create_index(["form_id", "submitted_at"])


@migrations()
def m002_console(db):
    db["users"].create({
        "username": str, "password_hash": str, "role": str, "created_at": str,
        "failed_logins": int, "locked_until": str, "last_login": str,
    }, pk="username", not_null={"password_hash", "role", "created_at"}, defaults={"failed_logins": 0})
    db["events"].create({
        "id": int, "code": str, "name": str, "site": str, "date": str, "forms": str,
        "wifi_ssid": str, "wifi_password": str, "wifi_security": str, "created_at": str,
    }, pk="id", not_null={"code", "name", "forms", "created_at"})
    db["events"].create_index(["code"], unique=True)
    db["audit"].create({"id": int, "at": str, "username": str, "action": str, "detail": str},
                       pk="id", not_null={"at", "action"})
    db["drafts"].add_column("event_id", int)
    db["submissions"].add_column("event_id", int)
    db["submissions"].create_index(["form_id", "event_id"])


@migrations()
def m004_safety(db):
    # public_id: the form's name in participant URLs (a neutral one, when set)
    db["forms"].add_column("public_id", str)
    db.execute("UPDATE forms SET public_id = form_id")
    db["forms"].create_index(["public_id"])
    # help: the help resources shown to participants of an event (JSON list)
    db["events"].add_column("help", str)


@migrations()
def m003_sync(db):
    # A central's registered laptops; only a hash of each token is kept.
    db["devices"].create({
        "name": str, "token_hash": str, "created_at": str, "last_seen": str, "revoked_at": str,
        "received": int, "duplicates": int, "conflicts": int,
    }, pk="name", not_null={"token_hash", "created_at"},
        defaults={"received": 0, "duplicates": 0, "conflicts": 0})
    db["devices"].create_index(["token_hash"], unique=True)
    # On a central: the device that pushed a submission (NULL: collected here).
    db["submissions"].add_column("device_name", str)
    # NULL: collected here, not yet acknowledged; 'synced', 'conflict'; 'received' from a device.
    db["submissions"].add_column("sync_state", str)
    db.execute("CREATE INDEX idx_submissions_unsynced ON submissions (submitted_at, uuid) "
               "WHERE sync_state IS NULL")
    # On a central: what a device sent under a uuid already held with other content.
    # Kept for review, never merged; one row per (uuid, content) however often it is resent.
    db["conflicts"].create({
        "id": int, "uuid": str, "device_name": str, "content_hash": str, "record": str, "received_at": str,
    }, pk="id", not_null={"uuid", "content_hash", "record", "received_at"})
    db["conflicts"].create_index(["uuid", "content_hash"], unique=True)


@migrations()
def m005_encryption(db):
    # public_key: set from the XLSForm, or later in the console; answers to the
    # form are then sealed for the holder of the private key (fieldkit.crypto).
    db["forms"].add_column("public_key", str)


@migrations()
def m006_fonts(db):
    # Font subsets for scripts that cheap phones may lack (see services/fonts.py).
    # key: a hash of what a subset is built from (the font file and the characters),
    # so a form whose texts or interface change gets a new one; digest: a hash of
    # the woff2 bytes, which name it in its URL.
    db["fonts"].create({
        "key": str, "digest": str, "woff2": bytes, "chars": str, "created_at": str,
    }, pk="key", not_null={"digest", "woff2", "chars", "created_at"})
    db["fonts"].create_index(["digest"])


@migrations()
def m007_repeats(db):
    # Which instance of a repeat a participant is on (position names the page's screen;
    # 0: not in a repeat, or on a repeat's list of instances).
    db["drafts"].add_column("instance", int, not_null_default=0)


@migrations()
def m008_form_media(db):
    # Images and audio uploaded with a form (its media columns), kept by the hash of
    # their bytes: the same file in two versions is stored once, and names its URL.
    db["form_media"].create({
        "sha256": str, "content_type": str, "data": bytes, "created_at": str,
    }, pk="sha256", not_null={"content_type", "data", "created_at"})


@migrations()
def m009_attachments(db):
    # Files participants attach to answers (image, audio, video and file questions).
    # uuid: the draft's, which becomes the submission's. sealed: 'draft' (with the
    # participant's token: nobody can open it until they submit), 'public' (an
    # encrypted form's, for its private key) or NULL.
    db["attachments"].create({
        "uuid": str, "name": str, "question": str, "content_type": str, "size": int, "sha256": str,
        "data": bytes, "sealed": str, "created_at": str,
    }, pk=("uuid", "name"), not_null={"question", "content_type", "size", "sha256", "data", "created_at"})


@migrations()
def m010_model_digest(db):
    # The hash of each stored model: a page finds its form by these 64 bytes and
    # parses the model (15 KB and more) only the first time (store/forms.py).
    import hashlib
    db["forms"].add_column("model_sha256", str)
    for row in list(db.query("SELECT id, model FROM forms")):
        db.execute("UPDATE forms SET model_sha256 = ? WHERE id = ?",
                   [hashlib.sha256(row["model"].encode()).hexdigest(), row["id"]])


@migrations()
def m011_receipts(db):
    # Which submission a participant's token became: a Submit tapped twice at once, or
    # sent again after the laptop restarted, finds its answers kept and says thank you
    # (the draft is gone by then). Only the token's hash; dropped with expired drafts.
    db["receipts"].create({"token_hash": str, "uuid": str, "created_at": str}, pk="token_hash",
                          not_null={"uuid", "created_at"})


@migrations()
def m012_console_sessions(db):
    # A console session is good only while it carries its account's current session_key:
    # signing out, a new password or a new account of the same name makes a new key, so a
    # cookie copied before then opens nothing. signin_failures counts failed sign-ins for
    # names that have no account, so that they lock out just as real ones do (nothing
    # tells which names exist); only a hash of the name is kept.
    import secrets
    db["users"].add_column("session_key", str)
    for row in list(db.query("SELECT username FROM users")):
        db.execute("UPDATE users SET session_key = ? WHERE username = ?", [secrets.token_urlsafe(24), row["username"]])
    db["signin_failures"].create({"name_hash": str, "failures": int, "locked_until": str}, pk="name_hash")


@migrations()
def m013_nested_repeats(db):
    # Which instance of each repeat around a participant's page, outermost first, as
    # "2.1" (the second household member's first child); "" outside repeats, a last 0
    # on a repeat's list page. Drafts from before keep instance alone (one level).
    db["drafts"].add_column("path", str)


@migrations()
def m014_xforms(db):
    # The XForm pyxform made of each version, kept byte for byte (what ODK Collect
    # downloads) with its md5 (the formList's hash). NULL for versions stored before:
    # made from their XLSForm the first time it is asked for (services/forms.xform).
    db["forms"].add_column("xform", str)
    db["forms"].add_column("xform_md5", str)


@migrations()
def m015_collectors(db):
    # ODK Collect accounts (store/collectors.py): a name, the sha256 of the token in the URL
    # Collect is given, when it was revoked, when it was last seen, how many it delivered.
    db["collectors"].create({"name": str, "token_hash": str, "created_at": str, "revoked_at": str,
                             "last_seen": str, "received": int}, pk="name",
                            not_null={"token_hash", "created_at"}, defaults={"received": 0})
    db["collectors"].create_index(["token_hash"], unique=True)
