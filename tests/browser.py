"""Shared pieces for the real-browser tests: a real `fieldkit serve` process and
Debian's Chromium driven by Playwright (never a downloaded browser)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engines import instance_url
from test_serve import free_port, stop, wait_for

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("FIELDKIT_CHROMIUM", "/usr/bin/chromium")
PHONE = {"viewport": {"width": 360, "height": 640}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
# As the probe on this kind of machine: no background traffic, nothing outside loopback.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def require_chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api")


class Server:
    def __init__(self, data: Path, env: dict | None = None):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.data = data
        # The database it serves, named now: a server a module shares outlives the test whose
        # FIELDKIT_DATABASE_URL (tests/engines.py) a later test would read.
        self.database = instance_url(data) if env is None or "FIELDKIT_DATABASE_URL" not in env else \
            env["FIELDKIT_DATABASE_URL"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fieldkit", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--data", str(data), "--database", self.database, "--no-qr"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "FIELDKIT_RATELIMIT_ENABLED": "false", **(env or {})})
        wait_for(self.base + "/f/wellbeing", self.process)

    def stop(self) -> str:
        return stop(self.process)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("phones"))
    yield running
    running.stop()


_SHARED: dict = {"users": 0}


@pytest.fixture(scope="session")
def chromium():
    """One Chromium for the whole run. Each test module that imports this fixture gets a
    fixture of its own, and Playwright's sync API cannot be started twice at once: so the
    copies share one browser, and the last to finish closes it."""
    require_chromium()
    if not _SHARED["users"]:
        from playwright.sync_api import sync_playwright
        _SHARED["playwright"] = sync_playwright().start()
        _SHARED["browser"] = _SHARED["playwright"].chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    _SHARED["users"] += 1
    yield _SHARED["browser"]
    _SHARED["users"] -= 1
    if not _SHARED["users"]:
        _SHARED.pop("browser").close()
        _SHARED.pop("playwright").stop()


@pytest.fixture
def phone(chromium):
    """phone(js=True, locale="en-US") -> a fresh page in a 360x640 phone context."""
    contexts = []

    def make(js: bool = True, locale: str = "en-US", bypass_csp: bool = False):
        context = chromium.new_context(**PHONE, java_script_enabled=js, locale=locale, bypass_csp=bypass_csp)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> Path:
    """Saved as a test artefact (test-artifacts/ is kept by CI and ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_source() -> str:
    import axe_playwright_python
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's WCAG 2.x A/AA rules on the page as it stands (run with CDP, so the
    page's strict Content-Security-Policy does not have to be loosened)."""
    page.evaluate(axe_source())
    result = page.evaluate("""async () => await axe.run(document, {
        runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})""")
    record_axe(page.url, result)
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in impacts]


def record_axe(url: str, result: dict) -> None:
    """The axe report, every page it checked, kept as a test artefact
    (test-artifacts/axe-report.jsonl): violations of any impact, and the passes."""
    ARTIFACTS.mkdir(exist_ok=True)
    line = {"url": url, "violations": [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                                        "nodes": len(v["nodes"])} for v in result["violations"]],
            "passes": len(result["passes"]), "incomplete": len(result["incomplete"])}
    with (ARTIFACTS / "axe-report.jsonl").open("a", encoding="utf-8") as report:
        report.write(json.dumps(line, ensure_ascii=False) + "\n")


def clean_artifacts():
    if ARTIFACTS.exists():
        shutil.rmtree(ARTIFACTS)


ETHIOPIC = "[\\u1200-\\u139f\\u2d80-\\u2ddf\\uab00-\\uab2f]"


def ethiopic_not_in_fieldkits_font(page) -> list[tuple[str, int, int]]:
    """Each element with Ethiopic text of its own whose Ethiopic letters were not all
    drawn with fieldkit's font (Chromium's own account of the fonts it drew with):
    (its text, its Ethiopic letters, the glyphs fieldkit's font drew). On a machine with
    no Ethiopic font, a letter the page's subset lacks is drawn as a box by another."""
    page.evaluate("document.fonts.ready")
    marked = page.evaluate("""(pattern) => { const re = new RegExp(pattern, 'g'); let n = 0; const out = [];
        for (const el of document.body.querySelectorAll('*')) {
            const own = [...el.childNodes].filter(c => c.nodeType === 3).map(c => c.textContent).join('');
            const letters = (own.match(re) || []).length;
            if (letters && el.getClientRects().length) { el.dataset.ethiopic = String(n++); out.push([own.trim().slice(0, 60), letters]); } }
        return out; }""", ETHIOPIC)
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    wrong = []
    for i, (text, letters) in enumerate(marked):
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": f'[data-ethiopic="{i}"]'})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        ours = sum(f["glyphCount"] for f in fonts if f["isCustomFont"] and "Ethiopic" in f["familyName"])
        if ours < letters:
            wrong.append((text, letters, ours))
    cdp.detach()
    return wrong


def has_ethiopic_system_font() -> bool:
    found = subprocess.run(["fc-list", ":lang=am"], capture_output=True, text=True) if shutil.which("fc-list") else None
    return bool(found and found.stdout.strip())


def sign_in_on_page(page, username: str = "ana") -> None:
    """On the console's sign-in page: sign in, and wait for the console's home."""
    from conftest import PASSWORD
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("form.stack button[type=submit]").click()
    page.wait_for_url("**/console/")


def new_event(page, base: str, form_id: str, name: str = "Hall", wifi_password: str | None = None) -> str:
    """Make an event in the console (its Wi-Fi HallWifi) and return its page's URL."""
    page.goto(f"{base}/console/events")
    page.fill("#name", name)
    page.check(f'input[name="forms"][value="{form_id}"]')
    page.fill("#wifi_ssid", "HallWifi")
    if wifi_password is not None:
        page.fill("#wifi_password", wifi_password)
    page.locator("form.stack button.primary").click()
    page.wait_for_url("**/console/events/*")
    return page.url
