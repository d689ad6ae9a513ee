"""One colour per status, shared by the SVG picture, the PNG rendering, DOT export and the web badges."""

from __future__ import annotations

import re
from pathlib import Path

from kg.statuses import STATUS_ORDER, STATUSES
from mcrag.palette import STATUS_COLOURS, UNKNOWN_COLOUR, status_colour

WEB = Path(__file__).resolve().parent.parent / "mcrag" / "web" / "style.css"


def test_every_status_has_a_colour_and_nothing_else_does() -> None:
    assert set(STATUS_COLOURS) == set(STATUSES) == set(STATUS_ORDER)
    assert status_colour("maybe") == status_colour(None) == UNKNOWN_COLOUR


def test_the_web_badges_use_the_same_colours() -> None:
    badges = dict(re.findall(r"\.badge\.(\w+)\s*\{\s*background:\s*(#[0-9a-fA-F]{6})", WEB.read_text()))
    assert badges, "the style sheet colours status badges"
    assert {s: STATUS_COLOURS[s] for s in badges} == badges
