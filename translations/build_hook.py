"""Hatch build hook: compile the translation catalogues before packaging."""
import importlib.util
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface


class CompileCatalogues(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version, build_data):
        path = Path(self.root) / "translations" / "compile.py"
        spec = importlib.util.spec_from_file_location("fieldkit_compile_catalogues", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.compile_catalogues(path.parent)
