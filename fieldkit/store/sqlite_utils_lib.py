"""sqlite-utils, imported without pandas and numpy.

sqlite-utils imports pandas and numpy whenever they are installed (sqlite_utils/db.py, only to
map their column types), and fieldkit installs pandas for SPSS and Stata exports. That import
cost every process 0.23 s of start-up and 47 MB of memory (bench/RESULTS.md, issue 18) though
fieldkit never hands sqlite-utils a pandas value. So sqlite-utils is first imported here, from
this module's own import, with the two marked as absent (a `None` in sys.modules, which the
import system documents as "not installed"). Nothing of sqlite-utils is changed; pandas stays
importable for the exports afterwards. tests/test_contracts.py holds sqlite-utils to this, and
pyproject.toml bounds its version."""
from __future__ import annotations

import sys

_OPTIONAL = ("pandas", "numpy")


def _import_without_optional():
    hidden = [name for name in _OPTIONAL if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        import sqlite_utils
        import sqlite_utils.migrations
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
    return sqlite_utils


sqlite_utils = _import_without_optional()
Database = sqlite_utils.Database
Migrations = sqlite_utils.migrations.Migrations
