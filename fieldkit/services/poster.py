"""QR codes for the event poster: joining the venue's Wi-Fi, opening the form."""
from __future__ import annotations

import html
import re

import qrcode
import qrcode.image.svg

WIFI_SECURITY = ("WPA", "WEP", "nopass")


def wifi_payload(ssid: str, password: str | None, security: str | None = "WPA") -> str:
    """The de-facto standard Wi-Fi QR payload (ZXing): WIFI:T:WPA;S:name;P:secret;;

    Backslash, semicolon, comma, colon and double quote are escaped, so a
    network called "Hall;2" still joins."""
    def esc(text: str) -> str:
        return re.sub(r'([\\;,:"])', r"\\\1", text)

    security = security if security in WIFI_SECURITY else "WPA"
    if security == "nopass" or not password:
        return f"WIFI:T:nopass;S:{esc(ssid)};;"
    return f"WIFI:T:{security};S:{esc(ssid)};P:{esc(password)};;"


def svg(data: str, label: str = "") -> str:
    """A QR code as an inline SVG element that scales with its container; label
    is its accessible name (what a screen reader says for the image)."""
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=2,
                        error_correction=qrcode.constants.ERROR_CORRECT_M)
    text = image.to_string(encoding="unicode")
    name = html.escape(label, quote=True)
    text = re.sub(r'^<svg width="[^"]*" height="[^"]*"', f'<svg class="qr" role="img" aria-label="{name}"', text)
    return text
