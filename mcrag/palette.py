"""The one colour per claim status, shared by every picture the shell draws (web SVG, PNG, DOT)."""

from __future__ import annotations

STATUS_COLOURS: dict[str, str] = {
    "accepted": "#1b7837", "validated": "#4dac26", "proposed": "#7f7f7f", "notTestable": "#b8a400",
    "refuted": "#d01c8b", "rejected": "#b2182b",
}
"""Status -> colour; the web UI's status badges (``mcrag/web/style.css``) use the same values."""

UNKNOWN_COLOUR = "#7f7f7f"


def status_colour(status: str | None) -> str:
    """The colour of a status (grey for a value that is not one)."""
    return STATUS_COLOURS.get(status or "", UNKNOWN_COLOUR)
