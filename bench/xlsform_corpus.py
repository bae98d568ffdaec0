"""How many real XLSForms fieldkit opens: import each form of a folder, then open its
first screens as a phone with JavaScript off would.

    python bench/xlsform_corpus.py DIR [DIR ...] [--report out.md] [--json out.json] [-v]

DIR holds XLSForms (.xlsx, .xls, .csv, .md), for example pyxform's own example corpus
(`tests/example_xls` of github.com/XLSForm/pyxform; not shipped on PyPI, so bring a
checkout). Media files beside a form (or in a `<form>-media` or `media` folder) are
attached with it, as a coordinator would upload them.

Each form is judged in three steps:
- pyxform: does pyxform itself convert it? Forms it refuses are outside the count
  (ODK's clients never see them either).
- fieldkit: imported (with how many warnings), refused (with the first problem), or a
  traceback (a bug: the target is 0).
- screens: for an imported form, the language page, consent and up to five screens
  (posting empty answers, then the first choice of each required select); any 5xx is
  a failure.
Not a test: nothing here asserts; the figures go in bench/RESULTS.md.
"""
from __future__ import annotations

import argparse
import collections
import json
import re
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FORM_SUFFIXES = (".xlsx", ".xls", ".csv", ".md")
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
RADIO = re.compile(r'<input[^>]*type="(?:radio|checkbox)"[^>]*name="([^"]+)"[^>]*value="([^"]*)"')
RADIO_REV = re.compile(r'<input[^>]*name="([^"]+)"[^>]*type="(?:radio|checkbox)"[^>]*value="([^"]*)"')


def media_beside(path: Path) -> dict[str, bytes]:
    folders = [path.parent / f"{path.stem}-media", path.parent / "media", path.parent / "widgets-media"]
    files = {}
    for folder in folders:
        if folder.is_dir():
            files.update({f.name: f.read_bytes() for f in folder.iterdir() if f.is_file()})
    for f in path.parent.iterdir():  # CSV, XML, GeoJSON lists and pictures next to the form
        if f.is_file() and f != path and f.suffix.lower() in (".csv", ".xml", ".geojson", ".jpg", ".png", ".mp3"):
            files.setdefault(f.name, f.read_bytes())
    return files


def pyxform_converts(path: Path) -> bool:
    from pyxform.xls2xform import convert
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            convert(xlsform=str(path), warnings=[])
        return True
    except Exception:
        return False


def walk(client, key: str, screens: int = 5) -> str | None:
    """Opens the form as a participant; the first 5xx found, or None."""
    def fields(html):
        return dict(HIDDEN.findall(html))

    page = client.get(f"/f/{key}")
    if page.status_code >= 500:
        return f"language page {page.status_code}"
    html = page.get_data(as_text=True)
    lang = (re.search(r'name="lang" value="([^"]+)"', html) or re.search(r"lang=([\w-]+)", html))
    response = client.post(f"/f/{key}/start", data={"lang": lang.group(1) if lang else "en",
                                                    "csrf_token": fields(html).get("csrf_token", "")})
    if response.status_code >= 500:
        return f"start {response.status_code}"
    consent = client.get(f"/f/{key}/consent")
    if consent.status_code >= 500:
        return f"consent {consent.status_code}"
    response = client.post(f"/f/{key}/consent", data={
        "consent": "yes", "csrf_token": fields(consent.get_data(as_text=True)).get("csrf_token", "")})
    if response.status_code >= 500:
        return f"consent post {response.status_code}"
    for step in range(screens):
        page = client.get(f"/f/{key}/q")
        if page.status_code >= 500:
            return f"screen {step + 1}: {page.status_code}"
        html = page.get_data(as_text=True)
        data = fields(html)
        if "_uuid" in data:  # the review page: the end
            response = client.post(f"/f/{key}/submit", data=data)
            return f"submit {response.status_code}" if response.status_code >= 500 else None
        data["_action"] = "next"
        response = client.post(f"/f/{key}/q", data=data)
        if response.status_code >= 500:
            return f"screen {step + 1} post: {response.status_code}"
        if response.status_code == 200:  # required answers missing: pick the first choices
            for name, value in RADIO.findall(html) + RADIO_REV.findall(html):
                data.setdefault(name, value)
            response = client.post(f"/f/{key}/q", data=data)
            if response.status_code >= 500:
                return f"screen {step + 1} post: {response.status_code}"
            if response.status_code == 200:
                return None  # typed answers needed: as far as a blind walk goes
    return None


def judge(path: Path, app, db) -> dict:
    from fieldkit.forms.xlsform import FormImportError, Problem
    from fieldkit.services import forms as form_service
    result = {"form": path.name, "pyxform": pyxform_converts(path)}
    try:
        imported = form_service.import_form(db, path.read_bytes(), path.name, fonts_now=False,
                                            media=media_beside(path))
    except FormImportError as error:
        result.update(outcome="refused", problems=[p.render() for p in error.problems])
        return result
    except Exception:
        result.update(outcome="traceback", problems=[traceback.format_exc(limit=6)])
        return result
    form = imported.form
    result.update(outcome="imported", warnings=[Problem.from_dict(w).render() for w in form.warnings],
                  questions=len(form.questions), screens=len(form.screens))
    try:
        failure = walk(app.test_client(), form.key)
    except Exception:
        failure = traceback.format_exc(limit=6)
    if failure:
        result.update(outcome="5xx", problems=[failure])
    return result


def run(folders: list[Path], verbose: bool = False) -> dict:
    from fieldkit import create_app, store
    paths = sorted(p for folder in folders for p in folder.rglob("*")
                   if p.suffix.lower() in FORM_SUFFIXES and p.is_file()
                   and not p.name.startswith("~$") and p.parent.name != "media" and not p.name.endswith("-media"))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, path in enumerate(paths):
            # one data directory per form: a form_id shared by two corpus files is not a clash to count
            app = create_app({"DATA_DIR": Path(tmp) / str(i), "TESTING": True, "RATELIMIT_ENABLED": False,
                              "FONTS_IN_BACKGROUND": False})
            db = store.connect(app.config["DATABASE"])
            try:
                result = judge(path, app, db)
            finally:
                db.close()
            results.append(result)
            if verbose:
                print(f"{result['outcome']:9} {path.name}: {(result.get('problems') or [''])[0][:160]}")
    counted = [r for r in results if r["pyxform"]]
    outcomes = collections.Counter(r["outcome"] for r in counted)
    warned = collections.Counter()
    for r in counted:
        for w in r.get("warnings", []):
            warned[re.sub(r"^[^:]*: ", "", w)[:70]] += 1
    return {"forms": len(results), "pyxform_converts": len(counted), "outcomes": dict(outcomes),
            "imported_share": round(100 * (outcomes["imported"]) / max(1, len(counted)), 1),
            "refused": {r["form"]: r["problems"][0][:200] for r in counted if r["outcome"] != "imported"},
            "warnings_top": warned.most_common(15), "results": results}


def report(summary: dict) -> str:
    o = summary["outcomes"]
    lines = [f"Forms: {summary['forms']}; pyxform converts {summary['pyxform_converts']}.",
             f"Imported and opened: {o.get('imported', 0)} ({summary['imported_share']}%); "
             f"refused: {o.get('refused', 0)}; 5xx on a screen: {o.get('5xx', 0)}; "
             f"tracebacks: {o.get('traceback', 0)}.", ""]
    if summary["refused"]:
        lines.append("Not opened:")
        lines += [f"- {name}: {why}" for name, why in sorted(summary["refused"].items())]
    if summary["warnings_top"]:
        lines += ["", "Most common warnings:"] + [f"- {n} x {w}" for w, n in summary["warnings_top"]]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--json", type=Path)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    summary = run(args.folders, args.verbose)
    text = report(summary)
    print(text)
    if args.report:
        args.report.write_text(text + "\n", encoding="utf-8")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
