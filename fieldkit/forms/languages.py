"""Language names as form authors write them -> language codes, from CLDR (Babel).

XLSForm recommends `label::English (en)`, but real forms say `label::English`,
`label::english`, `label::EN`, `label::Español`, `label::አማርኛ` or `label::Af-Soomaali`,
and ODK's clients take them all (the name is only a name to them). fieldkit needs a
code: it picks the interface's words, the page's `lang` attribute and its fonts.
A name CLDR does not know is still a language of the form, under a private-use code
(`x-` and the name's letters), shown under its own name, with the interface in the
form's default language.
"""
from __future__ import annotations

import functools
import re
import unicodedata

WITH_CODE = re.compile(r"^(?P<name>.*?)\s*\((?P<code>[A-Za-z]{2,3}(?:-[A-Za-z0-9]+)*)\)\s*$")
# A bare code: language, then an optional script (Hans) and region (BR, 419).
CODE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z]{4})?(?:[-_](?:[A-Za-z]{2}|\d{3}))?")


@functools.lru_cache(maxsize=1)
def _english_names() -> dict[str, str]:
    from babel import Locale
    names = {}
    for code, name in Locale("en").languages.items():
        names.setdefault(_fold(name), code)
    return names


@functools.lru_cache(maxsize=1)
def _native_names() -> dict[str, str]:
    """Each language as it names itself ('español' -> es, 'አማርኛ' -> am). Loading every
    CLDR locale takes about 2 s, so this runs only for a name the English ones miss,
    once per process."""
    from babel import Locale, localedata
    names = {}
    for code in localedata.locale_identifiers():
        if "_" in code:
            continue
        try:
            name = Locale.parse(code).languages.get(code)
        except (ValueError, LookupError):
            continue
        if name:
            names.setdefault(_fold(name), code)
    return names


@functools.lru_cache(maxsize=1)
def _codes() -> frozenset[str]:
    from babel import Locale
    return frozenset(c.lower() for c in Locale("en").languages)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def private_code(name: str) -> str:
    """A BCP 47 private-use code for a language CLDR does not know: x-<letters>."""
    letters = re.sub(r"[^a-z0-9]+", "", unicodedata.normalize("NFKD", name).encode("ascii", "ignore")
                     .decode().lower())[:8]
    if not letters:  # a name in a script with no ASCII letters: a short digest keeps it stable
        import hashlib
        letters = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"x-{letters}"


def code_of(written: str) -> tuple[str, bool]:
    """(code, known): `English (en)` -> ('en', True); `Español` -> ('es', True);
    `Klingon tlhIngan` -> ('x-klingont', False)."""
    text = written.strip()
    match = WITH_CODE.match(text)
    if match:
        return match.group("code").replace("_", "-").lower(), True
    folded = _fold(text)
    if CODE.fullmatch(text) and folded.split("-")[0].replace("_", "-") in _codes():
        return folded.replace("_", "-"), True
    for names in (_english_names, _native_names):
        found = names().get(folded)
        if found:
            return found, True
    # 'Af-Soomaali' ('the Somali language'), 'Somali language': a known name as its last word
    last = re.split(r"[\s\-–]+", folded)[-1]
    if last != folded:
        for names in (_english_names, _native_names):
            found = names().get(last)
            if found:
                return found, True
    return private_code(text), False
