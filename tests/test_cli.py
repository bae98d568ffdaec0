"""Every command has help and is documented; forms add/list speak plainly."""
import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from engines import instance_url
from fieldkit.cli import main

ROOT = Path(__file__).resolve().parent.parent
FORMS = Path(__file__).parent / "forms"


def commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,), command
        if isinstance(command, click.Group):
            yield from commands(command, prefix + (name,))


ALL = list(commands(main))


@pytest.mark.parametrize("path,command", ALL, ids=[" ".join(p) for p, _ in ALL])
def test_command_has_help_and_is_documented(path, command):
    result = CliRunner().invoke(main, list(path) + ["--help"])
    assert result.exit_code == 0 and command.help
    assert f"fieldkit {' '.join(path)}" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_forms_add_and_list(tmp_path):
    runner = CliRunner()
    result = runner.invoke(main, ["forms", "add", str(FORMS / "household.md"), "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "Added household version 1" in result.output
    again = runner.invoke(main, ["forms", "add", str(FORMS / "household.md"), "--data", str(tmp_path)])
    assert "unchanged" in again.output
    listing = runner.invoke(main, ["forms", "list", "--data", str(tmp_path)])
    assert re.search(r"household\s+1\s+0\s+en,es,so,am\s+Household check", listing.output)


def test_forms_add_refuses_a_bad_form_with_its_place(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("| survey |\n| | type | name | label |\n| | geopointy | where | Where? |\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["forms", "add", str(bad), "--data", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "sheet survey, row 2, column type" in result.output and "geopointy" in result.output
    listing = CliRunner().invoke(main, ["forms", "list", "--data", str(tmp_path / "d")])
    assert "No forms yet" in listing.output


def test_forms_add_prints_what_will_be_shown_differently(tmp_path):
    form = tmp_path / "kobo.md"
    form.write_text("| survey |\n| | type | name | label::English | appearance |\n"
                    "| | select_one yn | q | Q | quick |\n| | geopoint | where | Where? | placement-map |\n"
                    "| choices |\n| | list_name | name | label::English |\n| | yn | yes | Yes |\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["forms", "add", str(form), "--data", str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "Added kobo" in result.output and "2 things to know" in result.output
    assert "row 2, column appearance: The appearance quick is shown as" in result.output


def test_users_add_list_remove(tmp_path):
    runner = CliRunner()
    data = ["--data", str(tmp_path)]
    added = runner.invoke(main, ["users", "add", "maria", "--role", "coordinator"] + data,
                          input="a-long-password\na-long-password\n")
    assert added.exit_code == 0 and "Added coordinator maria" in added.output
    again = runner.invoke(main, ["users", "add", "maria", "--role", "facilitator", "--password-stdin"] + data,
                          input="another-long-one\n")
    assert again.exit_code == 1 and "already" in again.output
    mismatch = runner.invoke(main, ["users", "add", "sam", "--role", "facilitator"] + data,
                             input="a-long-password\nsomething-else\n")
    assert mismatch.exit_code == 1 and "not the same" in mismatch.output
    listing = runner.invoke(main, ["users", "list"] + data)
    assert re.search(r"maria\s+coordinator\s+last sign-in: never", listing.output)
    assert "sam" not in listing.output
    removed = runner.invoke(main, ["users", "remove", "maria"] + data)
    assert removed.exit_code == 0
    assert runner.invoke(main, ["users", "remove", "maria"] + data).exit_code == 1


def test_forms_list_shows_each_title_in_its_forms_default_language(tmp_path):
    form = tmp_path / "two.md"
    form.write_text("| survey |\n| | type | name | label::አማርኛ (am) | label::English (en) |\n| | text | a | ሀ | A |\n"
                    "| settings |\n| | form_title::አማርኛ (am) | form_title::English (en) | form_id | default_language |\n"
                    "| | የማህበረሰብ | Community | two | English (en) |\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["forms", "add", str(form), "--data", str(tmp_path)]).exit_code == 0
    listing = runner.invoke(main, ["forms", "list", "--data", str(tmp_path)]).output
    assert "Community" in listing and "የማህበረሰብ" not in listing


def test_keys_alone_prints_its_help_and_succeeds():
    result = CliRunner().invoke(main, ["keys"])
    assert result.exit_code == 0 and "new" in result.output


def test_the_readme_documents_every_command_and_each_of_its_options():
    """The README's command table names every command, its arguments and options
    (all but --data and --database, which every command that opens the store takes, as the table says)."""
    import click
    from pathlib import Path
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| command | what it does |"):readme.index("Every command takes `--data DIR`.")]

    def commands(cmd, path):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                yield from commands(sub, path + [name])
        else:
            yield " ".join(path), cmd

    missing = []
    for path, cmd in commands(main, ["fieldkit"]):
        if f"`{path}" not in table:
            missing.append(path)
        for param in cmd.params:
            names = [o for o in param.opts if o.startswith("--")] if isinstance(param, click.Option) else [
                param.name.upper()]
            if names and names[0] not in ("--data", "--database", "--help") and not any(n in table for n in names):
                missing.append(f"{path} {names[0]}")
    assert missing == []


def test_a_forgotten_password_is_replaced_from_the_terminal_and_its_sessions_end(tmp_path):
    from fieldkit import create_app
    from conftest import PASSWORD, sign_in
    data = ["--data", str(tmp_path)]
    runner = CliRunner()
    assert runner.invoke(main, ["users", "add", "ana", "--role", "coordinator", "--password-stdin"] + data,
                         input=PASSWORD + "\n").exit_code == 0
    app = create_app({"DATA_DIR": tmp_path, "TESTING": True, "RATELIMIT_ENABLED": False})
    browser = app.test_client()
    assert sign_in(browser, "ana").status_code == 303
    assert browser.get("/console/").status_code == 200
    short = runner.invoke(main, ["users", "password", "ana", "--password-stdin"] + data, input="short\n")
    assert short.exit_code == 1 and "at least 10" in short.output
    missing = runner.invoke(main, ["users", "password", "nobody", "--password-stdin"] + data, input=PASSWORD + "\n")
    assert missing.exit_code == 1 and "no account" in missing.output
    changed = runner.invoke(main, ["users", "password", "ana", "--password-stdin"] + data,
                            input="a-new-long-password\n")
    assert changed.exit_code == 0, changed.output
    assert browser.get("/console/").status_code in (302, 303, 401)  # the old session opens nothing
    assert sign_in(browser, "ana", "a-new-long-password").status_code == 303


def test_a_form_added_from_the_terminal_is_in_the_activity_log_as_from_the_console(tmp_path):
    from fieldkit import store as fk_store
    result = CliRunner().invoke(main, ["forms", "add", str(FORMS / "household.md"), "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    db = fk_store.connect(instance_url(tmp_path))
    try:
        [entry] = [e for e in fk_store.audit.recent(db) if e["action"] == "form.added"]
    finally:
        db.close()
    assert entry["detail"]["via"] == "command line" and entry["detail"]["form_id"] == "household"
