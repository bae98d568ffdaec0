"""6. Page weight: bytes on the wire (gzip) for each participant screen of the
demo, in each language, against a real `fieldkit serve`: the HTML plus every
stylesheet and script it links to (the same counting as tests/test_phones.py's
budget test, copied here so the benchmark needs no browser fixtures), and the
fonts those stylesheets can pull in. Peers (shared/reference/peers-and-limits.md):
SurveyJS 415 KB, Enketo 183-292 KB of JS + CSS before a form shows."""
from __future__ import annotations

import gzip
import re
import shutil
import tempfile
from pathlib import Path

import requests

from common import Server, prepared_data_dir

LANGS = ("en", "es", "so", "am")
PEERS_KB = {"SurveyJS Form Library 2.5": 415, "Enketo core 9.0, default widgets": 292,
            "Enketo core 9.0, no widgets": 183}
STEPS = ("language", "about", "wellbeing", "support", "closing", "summary", "review")


def screen_weights(base: str, lang: str) -> dict:
    http = requests.Session()
    http.headers["Accept-Encoding"] = "gzip"
    fonts: dict[str, int] = {}

    def wire(url):
        response = http.get(base + url if url.startswith("/") else url, stream=True, timeout=30)
        body = response.raw.read(decode_content=False)
        plain = gzip.decompress(body) if response.headers.get("Content-Encoding") == "gzip" else body
        return len(body), plain

    def page_weight(url):
        size, html = wire(url)
        html = html.decode("utf-8", "replace")
        for asset in re.findall(r'(?:href|src)="(/a/[^"]+)"', html):
            asset_size, content = wire(asset)
            size += asset_size
            if asset.endswith(".css"):  # fonts a stylesheet may pull in (fetched only if the page uses them)
                for font in re.findall(r'url\(["\']?(/a/[^)"\']+)', content.decode("utf-8", "replace")):
                    fonts.setdefault(font, wire(font)[0])
        return size, html

    weights = []
    size, html = page_weight("/f/wellbeing")
    weights.append(size)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    http.post(base + "/f/wellbeing/start", data={"lang": lang, "csrf_token": csrf}, timeout=30)
    http.post(base + "/f/wellbeing/consent", data={"consent": "yes", "csrf_token": csrf}, timeout=30)
    for answers in ({"age_band": "age_16_24"}, {"wellbeing_rating": "good"}, {"has_support": "no"}, {}, {}):
        size, html = page_weight("/f/wellbeing/q")
        weights.append(size)
        screen = re.search(r'name="_screen" value="(\d+)"', html).group(1)
        http.post(base + "/f/wellbeing/q", data=dict(answers, csrf_token=csrf, _screen=screen, _action="next"),
                  timeout=30)
    weights.append(page_weight("/f/wellbeing/q")[0])  # the review page
    return {"screens": weights, "max": max(weights), "fonts": fonts}


MEDIA_FORM = Path(__file__).resolve().parent.parent / "tests" / "forms" / "prompts.md"


def media_weight(base: str, lang: str = "so") -> dict:
    """The first screen of tests/forms/prompts.md (a question with an image and audio,
    two choices with images): what a form that uses media adds. Images load with
    the page; audio only when the participant taps play (preload="none")."""
    http = requests.Session()
    http.headers["Accept-Encoding"] = "gzip"

    def wire(url):
        response = http.get(base + url, stream=True, timeout=30)
        body = response.raw.read(decode_content=False)
        plain = gzip.decompress(body) if response.headers.get("Content-Encoding") == "gzip" else body
        return len(body), plain

    _, html = wire("/f/prompts")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html.decode()).group(1)
    http.post(base + "/f/prompts/start", data={"lang": lang, "csrf_token": csrf}, timeout=30)
    http.post(base + "/f/prompts/consent", data={"consent": "yes", "csrf_token": csrf}, timeout=30)
    size, html = wire("/f/prompts/q")
    page = html.decode("utf-8", "replace")
    text = size + sum(wire(a)[0] for a in re.findall(r'(?:href|src)="(/a/(?!media/)[^"]+)"', page))
    images = sum(wire(a)[0] for a in re.findall(r'<img [^>]*src="(/a/media/[^"]+)"', page))
    audio = sum(wire(a)[0] for a in re.findall(r'<audio [^>]*src="(/a/media/[^"]+)"', page))
    return {"page": text, "images": images, "audio": audio}


def run(quick: bool = False, work: Path | None = None) -> dict:
    import subprocess
    import sys
    work = Path(tempfile.mkdtemp(prefix="fieldkit-bench-weight-", dir=work))
    data = prepared_data_dir(work / "data")
    media = sorted(str(p) for p in (MEDIA_FORM.parent / "prompts").iterdir())
    subprocess.run([sys.executable, "-m", "fieldkit", "forms", "add", str(MEDIA_FORM), *media, "--data", str(data)],
                   check=True, capture_output=True, timeout=120)
    with Server.fieldkit(data, work / "fieldkit.log") as server:
        result = {"langs": {lang: screen_weights(server.base, lang) for lang in LANGS}, "steps": STEPS,
                  "peers_kb": PEERS_KB, "media": media_weight(server.base)}
    shutil.rmtree(work, ignore_errors=True)
    return result
