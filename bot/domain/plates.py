"""The plate calculator: which plates go on each side of the bar for a target weight.

Plates come in pairs, so a load is the bar plus twice one side. A gym's usual plates are assumed
(there are enough of each); when a target cannot be made exactly, the nearest loads that can,
one below and one above, are offered instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.domain.training import Unit, from_kg, read_number, valid_weight

PLATES: dict[str, tuple[float, ...]] = {
    "kg": (25.0, 20.0, 15.0, 10.0, 5.0, 2.5, 1.25),
    "lb": (45.0, 35.0, 25.0, 10.0, 5.0, 2.5),
}
DEFAULT_BAR: dict[str, float] = {"kg": 20.0, "lb": 45.0}
MAX_BAR_KG = 30.0  # the heaviest specialty bars; an empty-handed /plates bar 0 is fine too
_UNIT = re.compile(r"^(kg|kgs|lb|lbs)$")


@dataclass(frozen=True)
class Loading:
    """How to load `total` on `bar`: plates per side, heaviest first; `exact` when it is the target."""

    total: float
    bar: float
    per_side: tuple[float, ...]


@dataclass(frozen=True)
class PlatePlan:
    target: float
    unit: Unit
    exact: Loading | None
    lighter: Loading | None  # the nearest loads that can be made, when the target cannot
    heavier: Loading | None


def _side(weight: float, unit: str) -> tuple[float, ...] | None:
    """Plates for one side, greedy from the heaviest (exact for these plate sets); None if not exact."""
    left, plates = round(weight, 4), []
    for plate in PLATES[unit]:
        while left >= plate - 1e-9:
            plates.append(plate)
            left = round(left - plate, 4)
    return tuple(plates) if abs(left) < 1e-9 else None


def plan(target: float, unit: Unit, bar: float) -> PlatePlan:
    """The plates for `target` (both in `unit`); below the bar, the empty bar is the nearest load."""
    step = 2 * PLATES[unit][-1]
    if target <= bar + 1e-9:
        empty = Loading(bar, bar, ())
        return PlatePlan(target, unit, empty if abs(target - bar) < 1e-9 else None, None, empty)
    side = _side((target - bar) / 2, unit)
    if side is not None:
        return PlatePlan(target, unit, Loading(target, bar, side), None, None)
    below = bar + step * int((target - bar) / step)
    above = below + step
    return PlatePlan(
        target,
        unit,
        None,
        Loading(below, bar, _side((below - bar) / 2, unit) or ()),
        Loading(above, bar, _side((above - bar) / 2, unit) or ()),
    )


@dataclass(frozen=True)
class PlatesRequest:
    weight: float | None  # None: set the bar instead
    unit: Unit | None  # None: the person's own
    bar: float | None = None


def read_plates(words: list[str], default_unit: Unit) -> PlatesRequest | None:
    """'/plates 142.5', '/plates 315 lb', '/plates 100kg', '/plates bar 15', '/plates bar 35 lb'.
    The same bounds as a logged weight; the bar from 0 to 30 kg. None when it is none of these."""
    text = " ".join(words).lower()
    text = re.sub(r"([0-9])(kgs?|lbs?)\b", r"\1 \2", text)
    parts = text.split()
    setting_bar = bool(parts) and parts[0] == "bar"
    parts = parts[1:] if setting_bar else parts
    unit: Unit | None = None
    if len(parts) == 2 and _UNIT.match(parts[1]):
        unit = "kg" if parts[1].startswith("kg") else "lb"
        parts = parts[:1]
    if len(parts) != 1:
        return None
    value = read_number(parts[0])
    if value is None:
        return None
    if setting_bar:
        if not 0 <= value <= from_kg(MAX_BAR_KG, unit or default_unit):
            return None
        return PlatesRequest(None, unit, bar=value)
    if not valid_weight(value, unit or default_unit):
        return None
    return PlatesRequest(value, unit)
