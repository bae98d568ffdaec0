"""Where templates, translations and static files are, installed or in a checkout.

The design card keeps templates/ and translations/ at the top of the
repository; the wheel carries them inside the package (see pyproject.toml).
"""
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name
