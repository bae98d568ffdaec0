"""Smoke test: a real `fieldkit serve` process (waitress) answered over real HTTP."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from engines import instance_url
from fieldkit import store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"fieldkit serve exited: {process.stdout.read()}")
        try:
            requests.get(url, timeout=5)
            return
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy starting
            time.sleep(0.1)
    raise AssertionError("fieldkit serve did not answer in time")


def start_server(command: list[str], data: Path, cwd: Path | None = None, extra: tuple[str, ...] = ()):
    port = free_port()
    process = subprocess.Popen(
        command + ["serve", "--host", "127.0.0.1", "--port", str(port), "--data", str(data), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd)
    base = f"http://127.0.0.1:{port}"
    wait_for(base + "/f/wellbeing", process)
    return process, base


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        output, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def field(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def post_screen(http: requests.Session, base: str, answers: dict) -> requests.Response:
    page = http.get(base + "/f/wellbeing/q").text
    data = {"csrf_token": field(page, "csrf_token"), "_screen": field(page, "_screen"), "_action": "next"}
    data.update(answers)
    response = http.post(base + "/f/wellbeing/q", data=data, allow_redirects=False)
    assert response.status_code == 303, response.text
    return response


def answer_demo(base: str, lang: str = "es") -> requests.Session:
    """Answer the bundled demo form as a phone would: cookies, CSRF, 303s."""
    http = requests.Session()
    start = http.get(base + "/f/wellbeing")
    assert start.status_code == 200
    consent = http.post(base + "/f/wellbeing/start",
                        data={"lang": lang, "csrf_token": field(start.text, "csrf_token")})
    assert consent.status_code == 200 and 'name="consent"' in consent.text
    response = http.post(base + "/f/wellbeing/consent", allow_redirects=False,
                         data={"consent": "yes", "csrf_token": field(consent.text, "csrf_token")})
    assert response.status_code == 303
    for answers in ({"age_band": "age_35_49", "household_size": "3"},
                    {"wellbeing_rating": "good", "worries": ["work", "health"]},
                    {"has_support": "yes", "support_who": ["friend"]},
                    {"last_gathering": "2025-06-01", "comments": "Más reuniones, por favor"}, {}):
        post_screen(http, base, answers)
    review = http.get(base + "/f/wellbeing/q").text
    done = http.post(base + "/f/wellbeing/submit", data={
        "csrf_token": field(review, "csrf_token"), "_uuid": field(review, "_uuid")})
    assert done.status_code == 200 and 'lang="es"' in done.text
    return http


def test_serve_answers_the_demo_form_over_http(tmp_path):
    data = tmp_path / "data"
    process, base = start_server([sys.executable, "-m", "fieldkit"], data)
    try:
        page = requests.get(base + "/f/wellbeing", headers={"Accept-Language": "am"})
        assert 'lang="am"' in page.text and "አማርኛ" in page.text
        assert page.headers["Cache-Control"] == "no-store"
        assert "default-src 'self'" in page.headers["Content-Security-Policy"]
        answer_demo(base)
    finally:
        output = stop(process)
    assert re.search(r"http://127\.0\.0\.1:\d+/f/wellbeing", output)
    db = store.connect(instance_url(data))
    [row] = list(store.submissions.iter_submissions(db, "wellbeing"))
    assert row["language"] == "es"
    assert row["answers"]["worries"] == "work health"
    assert row["answers"]["comments"] == "Más reuniones, por favor"


def test_serve_prints_lan_url_and_qr_code(tmp_path):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "fieldkit", "serve", "--port", str(port), "--data", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/f/wellbeing", process)
    finally:
        output = stop(process)
    assert re.search(rf"http://[\d.]+:{port}/f/wellbeing", output)
    assert "█" in output or "▀" in output  # the terminal QR code


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_data_directory_is_private(tmp_path):
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-m", "fieldkit", "forms", "list", "--data", str(data)], check=True,
                   capture_output=True)
    assert (data.stat().st_mode & 0o777) == 0o700
    if not os.environ.get("FIELDKIT_DATABASE_URL"):  # on PostgreSQL there is no file: the server guards it
        assert ((data / "fieldkit.db").stat().st_mode & 0o777) == 0o600


def test_serve_on_a_busy_port_says_so(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "fieldkit", "serve", "--host", "127.0.0.1", "--port",
                                 str(port), "--data", str(tmp_path), "--no-qr"],
                                capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert f"--port {port + 1}" in result.stderr and "Traceback" not in result.stderr


def test_serve_prints_and_draws_a_neutral_forms_public_link_never_its_internal_name(tmp_path):
    """Issue 14, 1: a form with public_id=checkin was printed, and drawn, as /f/<form_id>."""
    form = tmp_path / "ipv.md"
    form.write_text("| survey |\n| | type | name | label |\n| | text | a | A |\n| settings |\n"
                    "| | form_id | public_id | public_title |\n| | ipv_norms_2026 | checkin | Community check-in |\n",
                    encoding="utf-8")
    data = tmp_path / "data"
    assert subprocess.run([sys.executable, "-m", "fieldkit", "forms", "add", str(form), "--data", str(data)],
                          capture_output=True, timeout=120).returncode == 0
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "fieldkit", "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--data", str(data)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/f/checkin", process)
        assert requests.get(f"http://127.0.0.1:{port}/f/checkin").status_code == 200
    finally:
        output = stop(process)
    assert f"http://127.0.0.1:{port}/f/checkin" in output
    assert f"/f/ipv_norms_2026" not in output  # the internal name is on no participant link
    assert "(for ipv_norms_2026)" in output  # the coordinator is told which form the code is for


def children(pid: int) -> list[int]:
    """serve's worker processes (Linux: /proc), not multiprocessing's resource tracker."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                command = (entry / "cmdline").read_bytes()
            except (OSError, ValueError, IndexError):
                continue
            if ppid == pid and b"spawn_main" in command:
                found.append(int(entry.name))
    return sorted(found)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers in /proc")
@pytest.mark.parametrize("server", ["granian", "waitress"])
def test_two_worker_processes_share_one_port_and_a_participant_outlives_the_one_that_began(tmp_path, server):
    """--workers 2: a phone's session, CSRF token and draft live in the cookie and the database,
    not in a process: the walk goes on after the worker that started it is killed, the parent
    starts another, and stopping serve stops them all."""
    import signal
    data = tmp_path / "data"
    process, base = start_server([sys.executable, "-m", "fieldkit"], data, extra=("--workers", "2", "--server", server))
    try:
        workers = children(process.pid)
        assert len(workers) == 2
        http = requests.Session()
        start = http.get(base + "/f/wellbeing")
        consent = http.post(base + "/f/wellbeing/start",
                            data={"lang": "so", "csrf_token": field(start.text, "csrf_token")})
        http.post(base + "/f/wellbeing/consent", data={"consent": "yes", "csrf_token": field(consent.text, "csrf_token")})
        post_screen(http, base, {"age_band": "age_35_49", "household_size": "3"})
        for pid in workers:  # whichever held the phone's connection, both are gone now
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while len([p for p in children(process.pid) if p not in workers]) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len([p for p in children(process.pid) if p not in workers]) == 2  # the parent started two more
        http.close()  # the killed worker's connection
        wait_for(base + "/f/wellbeing", process)
        page = http.get(base + "/f/wellbeing/q").text
        assert 'name="wellbeing_rating"' in page  # the second screen: the draft came through
        for answers in ({"wellbeing_rating": "good", "worries": ["work"]}, {"has_support": "no"},
                        {"last_gathering": "2025-06-01"}, {}):
            post_screen(http, base, answers)
        review = http.get(base + "/f/wellbeing/q").text
        done = http.post(base + "/f/wellbeing/submit", data={"csrf_token": field(review, "csrf_token"),
                                                              "_uuid": field(review, "_uuid")})
        assert done.status_code == 200 and 'lang="so"' in done.text
        new_workers = children(process.pid)
    finally:
        output = stop(process)
    assert "2 processes serve" in output and "Traceback" not in output
    assert not [pid for pid in new_workers if Path(f"/proc/{pid}").exists()]  # none left behind
    db = store.connect(instance_url(data))
    [row] = list(store.submissions.iter_submissions(db, "wellbeing"))
    assert row["answers"]["household_size"] == "3" and row["answers"]["wellbeing_rating"] == "good"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers in /proc")
@pytest.mark.parametrize("server", ["granian", "waitress"])
def test_workers_end_with_a_killed_serve_and_free_the_port(tmp_path, server):
    """A serve killed outright (a crash, kill -9) cannot tell its workers: they see it gone and
    end, so the next serve finds its port free."""
    import signal
    process, base = start_server([sys.executable, "-m", "fieldkit"], tmp_path / "data",
                                 extra=("--workers", "2", "--server", server))
    workers = children(process.pid)
    assert len(workers) == 2
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    deadline = time.monotonic() + 15
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]
    port = int(base.rsplit(":", 1)[1])
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))  # free again
