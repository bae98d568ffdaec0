"""Hatch build hook: compile the Babel catalogues (.po -> .mo) before packaging.

Compiled catalogues are build output, so they are not kept in git; every build,
wheel or editable, makes them fresh from the .po files.
"""
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from hatchling.builders.hooks.plugin.interface import BuildHookInterface


def compile_catalogues(root: Path) -> list[Path]:
    written = []
    for po_path in sorted(root.glob("translations/*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as f:
            catalog = read_po(f)
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        written.append(mo_path)
    return written


class CompileCatalogues(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        compile_catalogues(Path(self.root))
