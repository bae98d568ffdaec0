"""A plain, non-editable `pip install .` into a fresh virtualenv gives a working
fieldkit: console script, templates, compiled translations, static files and
the demo form all inside the installed package."""
import os
import subprocess
import venv
from pathlib import Path

import pytest
import requests

from test_serve import answer_demo, start_server, stop

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    subprocess.run([str(bindir / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    str(ROOT)], check=True, capture_output=True, text=True, timeout=600)
    return bindir


def test_installed_package_is_self_contained(installed, tmp_path):
    where = subprocess.run([str(installed / "python"), "-c", "import fieldkit, pathlib; "
                            "p = pathlib.Path(fieldkit.__file__).parent; print(p); "
                            "print(sorted(x.name for x in p.iterdir()))"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    package = Path(where.splitlines()[0])
    assert str(package).startswith(str(installed.parent))  # not the checkout
    for part in ("templates/collect/screen.html", "static/fieldkit.css", "demo/wellbeing.md",
                 "translations/es/LC_MESSAGES/messages.mo", "translations/so/LC_MESSAGES/messages.mo",
                 "translations/am/LC_MESSAGES/messages.mo",
                 "fonts/NotoSansEthiopic-Regular.ttf", "fonts/OFL.txt"):  # the Amharic font and its licence
        assert (package / part).is_file(), part


def test_installed_console_script_serves_the_demo(installed, tmp_path, monkeypatch):
    # A laptop's install: SQLite, with no PostgreSQL driver (whatever engine this test run is on)
    monkeypatch.delenv("FIELDKIT_DATABASE_URL", raising=False)
    process, base = start_server([str(installed / "fieldkit")], tmp_path / "data", cwd=tmp_path)
    try:
        page = requests.get(base + "/f/wellbeing", headers={"Accept-Language": "es"})
        assert "Elija su idioma" in page.text  # the compiled Spanish catalogue is in the wheel
        assert requests.get(base + "/static/fieldkit.css").status_code == 200
        answer_demo(base)
    finally:
        stop(process)
    listing = subprocess.run([str(installed / "fieldkit"), "forms", "list", "--data", str(tmp_path / "data")],
                             capture_output=True, text=True, check=True, cwd=tmp_path).stdout
    assert "wellbeing" in listing


def test_the_forms_and_the_store_load_no_web_library():
    """fieldkit's layers (ARCHITECTURE.md): importing the forms engine, the store and the
    services that the commands use loads neither Flask nor werkzeug; and no module in
    forms/ or store/ imports one."""
    import ast
    import subprocess
    import sys
    from pathlib import Path
    probe = ("import sys, fieldkit, fieldkit.forms.engine, fieldkit.forms.xlsform, fieldkit.store, "
             "fieldkit.services.export, fieldkit.services.collect, fieldkit.sync.runner; "
             "print(sorted(m for m in ('flask', 'werkzeug', 'flask_babel', 'jinja2') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
    package = Path(__file__).resolve().parent.parent / "fieldkit"
    found = []
    for path in [*(package / "forms").glob("*.py"), *(package / "store").glob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            found += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("flask", "werkzeug", "flask_babel")]
    assert found == []
