"""The plate calculator as plain calls: loads, bars, units and what must be refused."""

import pytest

from bot.domain.plates import plan, read_plates

# (target, unit, bar) -> (per side when exact, or the nearest (lighter, heavier) totals)
PLANS = [
    (142.5, "kg", 20, (25, 25, 10, 1.25)),
    (100, "kg", 20, (25, 15)),
    (60, "kg", 20, (20,)),
    (22.5, "kg", 20, (1.25,)),
    (315, "lb", 45, (45, 45, 45)),
    (135, "lb", 45, (45,)),
    (225, "lb", 45, (45, 45)),
    (185, "lb", 45, (45, 25)),
    (142.5, "kg", 15, (25, 25, 10, 2.5, 1.25)),
    (143, "kg", 20, (142.5, 145)),
    (101, "kg", 20, (100, 102.5)),
    (137, "lb", 45, (135, 140)),
    (20, "kg", 20, ()),
    (15, "kg", 20, (None, 20)),  # under the bar: the empty bar is the nearest load
]


@pytest.mark.parametrize(("target", "unit", "bar", "expected"), PLANS)
def test_plates_per_side(target, unit, bar, expected):
    result = plan(target, unit, bar)
    if result.exact is not None:
        assert result.exact.per_side == expected
        assert result.exact.total == pytest.approx(bar + 2 * sum(expected))
    else:
        lighter = None if result.lighter is None else result.lighter.total
        assert (lighter, result.heavier.total) == expected
        for loading in (result.lighter, result.heavier):
            if loading is not None:
                assert loading.total == pytest.approx(bar + 2 * sum(loading.per_side))


# (words after /plates, the person's unit) -> (weight, unit, bar), None: refused
REQUESTS = [
    (["142.5"], "kg", (142.5, None, None)),
    (["315", "lb"], "kg", (315, "lb", None)),
    (["100kg"], "lb", (100, "kg", None)),
    (["142,5"], "kg", (142.5, None, None)),
    (["bar", "15"], "kg", (None, None, 15)),
    (["bar", "35", "lb"], "kg", (None, "lb", 35)),
    (["bar", "0"], "kg", (None, None, 0)),
    (["-5"], "kg", None),
    (["−5"], "kg", None),
    (["0"], "kg", None),
    (["4.5e31"], "kg", None),
    (["1e3"], "kg", None),
    (["nan"], "kg", None),
    (["inf"], "kg", None),
    (["501"], "kg", None),
    (["1200"], "lb", None),
    (["２００"], "kg", None),
    (["1²"], "kg", None),
    (["bar", "31"], "kg", None),
    (["bar", "-15"], "kg", None),
    (["100", "stone"], "kg", None),
    (["100", "200"], "kg", None),
    (["abc"], "kg", None),
]


@pytest.mark.parametrize(("words", "unit", "expected"), REQUESTS, ids=[" ".join(w) for w, _, _ in REQUESTS])
def test_plates_requests_are_read_with_the_log_bounds(words, unit, expected):
    request = read_plates(words, unit)
    if expected is None:
        assert request is None
    else:
        assert (request.weight, request.unit, request.bar) == expected
