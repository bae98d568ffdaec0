"""What fieldkit relies on inside the libraries it leans on, so that an upgrade that
changes it fails here, by name, rather than quietly in production. Each library is
also bounded below its next major version in pyproject.toml.

- waitress: web/server.quiet_channels subclasses HTTPChannel (writable, received,
  handle_close; its outbuf_lock, requests, request, will_close) and wraps the
  server's maintenance (active_channels, channel_class).
- granian: web/rsgi.Bridge reads the RSGI scope (proto, method, path, query_string,
  http_version, scheme, server, client, headers) and calls the protocol's body iterator,
  response_bytes, response_str and response_stream (whose transport has send_bytes); web/server
  starts granian.server.Server with the interface, http1 and logging settings named here.
- Flask-WTF: web/security.csrf_token signs the token as generate_csrf does (the
  session key, the salt), and validate_csrf must accept it.
- Flask-Babel: web/i18n.page_translations reads g._flask_babel's babel_locale and
  babel_domain.
- Flask-Compress: web/assets.compress_response hands streamed responses to
  Compress.after_request.
- sqlite-utils: store/sqlite_utils_lib imports it with pandas and numpy marked absent, which
  sqlite_utils.db must take as "not installed" (its pd and np left None).
"""
import inspect
from pathlib import Path

from flask import g


def test_waitress_channel_and_server_have_what_fieldkit_overrides():
    from waitress.channel import HTTPChannel
    from waitress.server import BaseWSGIServer
    for name in ("writable", "received", "handle_close", "__init__"):
        assert callable(getattr(HTTPChannel, name))
    assert list(inspect.signature(HTTPChannel.__init__).parameters) == ["self", "server", "sock", "addr", "adj", "map"]
    source = inspect.getsource(HTTPChannel)
    for attribute in ("self.outbuf_lock", "self.requests", "self.request", "self.will_close", "self.close_when_flushed"):
        assert attribute in source, attribute
    assert "channel_class" in inspect.getsource(BaseWSGIServer)
    assert "active_channels" in inspect.getsource(BaseWSGIServer.maintenance)
    from waitress.parser import HTTPRequestParser
    assert "headers_finished" in inspect.getsource(HTTPRequestParser)


def test_waitress_serves_through_fieldkits_channel(tmp_path):
    """The subclass is really installed, and counts connections per client."""
    import waitress
    from waitress.channel import HTTPChannel

    from fieldkit.web.server import quiet_channels
    server = waitress.create_server(lambda env, start: [], host="127.0.0.1", port=0)
    try:
        quiet_channels(server, per_client=3)
        assert server.channel_class is not HTTPChannel and issubclass(server.channel_class, HTTPChannel)
        assert server.maintenance.__name__ == "run"
    finally:
        server.close()


def test_fieldkits_csrf_token_is_one_flask_wtf_accepts(app):
    from flask_wtf.csrf import validate_csrf

    from fieldkit.web.security import csrf_token
    with app.test_request_context("/"):
        token = csrf_token()
        validate_csrf(token)  # raises ValidationError if the contract broke
        assert csrf_token() == token  # signed once per session


def test_flask_babels_request_state_has_the_names_fieldkit_reads(app):
    from flask_babel import get_locale, get_translations
    with app.test_request_context("/"):
        get_locale()
        get_translations()
        state = g.get("_flask_babel")
        assert state is not None
        assert {"babel_locale", "babel_domain"} <= set(vars(state)), vars(state)


def test_flask_compress_takes_a_streamed_response(app):
    compress = app.extensions["fieldkit_compress"]
    assert callable(compress.after_request)
    from flask import Response
    with app.test_request_context("/", headers={"Accept-Encoding": "gzip"}):
        streamed = Response((chunk for chunk in ["a" * 1000]), mimetype="text/csv")
        out = compress.after_request(streamed)
        assert out.headers.get("Content-Encoding") == "gzip"


def test_passwords_read_werkzeugs_hashes_and_werkzeug_reads_ours():
    """Accounts made before fieldkit hashed with the standard library keep signing in,
    and a hash written now is one werkzeug (and so an older fieldkit) reads."""
    from werkzeug.security import check_password_hash, generate_password_hash

    from fieldkit.passwords import check_password, hash_password
    for method in ("scrypt", "pbkdf2:sha256:1000"):
        old = generate_password_hash("correct horse", method=method)
        assert check_password(old, "correct horse") and not check_password(old, "wrong horse")
    ours = hash_password("correct horse")
    assert ours.startswith("scrypt:32768:8:1$") and check_password_hash(ours, "correct horse")
    assert not check_password("md5$x$y", "x") and not check_password("garbage", "x")
    assert not check_password("scrypt:1048577:8:1$s$00", "x")  # work beyond the bound is refused, not done


def test_sqlite_utils_is_imported_without_pandas_which_stays_importable(tmp_path):
    import subprocess
    import sys
    # a fresh interpreter: in this one, some test may have imported pandas already
    code = """
import sys
from fieldkit import store
from fieldkit.store.migrations import migrations
assert "pandas" not in sys.modules and "numpy" not in sys.modules, sorted(sys.modules)
import sqlite_utils.db
assert sqlite_utils.db.pd is None and sqlite_utils.db.np is None
db = store.connect(sys.argv[1], migrate=True)
assert "submissions" in db.sqlite_utils().table_names()
import pandas
assert len(pandas.DataFrame({"a": [1, 2]})) == 2
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "f.db")],
                          capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "ok", done.stderr


def test_granian_has_the_rsgi_names_and_server_settings_fieldkit_uses():
    import granian
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.rsgi import HTTPProtocol, Scope
    from granian.server import Server
    for name in ("proto", "method", "path", "query_string", "http_version", "scheme", "server", "client"):
        assert name in Scope.__annotations__, name
    assert isinstance(inspect.getattr_static(Scope, "headers"), property)
    for name in ("__aiter__", "response_bytes", "response_str", "response_stream"):
        assert hasattr(HTTPProtocol, name), name
    stub = (Path(granian.__file__).parent / "_granian.pyi").read_text()
    assert "async def send_bytes(self, data: bytes)" in stub
    assert Interfaces.RSGI and HTTPModes.http1 and LogLevels.warning
    assert "header_read_timeout" in HTTP1Settings.__dataclass_fields__
    parameters = inspect.signature(Server.__init__).parameters
    for name in ("address", "port", "interface", "workers", "http", "websockets", "backlog", "backpressure",
                 "http1_settings", "log_level", "log_access", "respawn_failed_workers", "workers_kill_timeout"):
        assert name in parameters, name
    assert {"target_loader", "wrap_loader"} <= set(inspect.signature(Server.serve).parameters)
