"""How long audit events are kept: the `--older-than` age of `tenantry audit prune`."""

from __future__ import annotations

import re
from datetime import timedelta

_SHORT = re.compile(r"^(\d+)([dh])$")
# Weeks, days, hours, minutes, seconds. Years and months have no fixed length, so an
# ISO duration using them is refused rather than guessed.
_ISO = re.compile(
    r"^P(?!$)(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)


# Small enough that each DELETE holds its locks briefly, large enough to go quickly.
PRUNE_BATCH_SIZE = 5000


class InvalidAge(ValueError):
    pass


def parse_age(text: str) -> timedelta:
    """`90d`, `36h`, or an ISO 8601 duration such as `P90D` or `PT12H`; always positive."""
    value = text.strip()
    if value.startswith("-"):
        raise InvalidAge(f"{text!r} is negative: the age must be positive.")
    try:
        age = _parse(value)
    except OverflowError as exc:
        raise InvalidAge(f"{text!r} is longer than any date this service can hold.") from exc
    if age is None:
        raise InvalidAge(
            f"{text!r} is not an age: use Nd (days), Nh (hours) or an ISO 8601 duration "
            "such as P90D (years and months are not accepted: their length varies)."
        )
    if age <= timedelta(0):
        raise InvalidAge(f"{text!r} would delete every event: the age must be positive.")
    return age


def _parse(value: str) -> timedelta | None:
    if short := _SHORT.match(value.lower()):
        amount, unit = int(short.group(1)), short.group(2)
        return timedelta(days=amount) if unit == "d" else timedelta(hours=amount)
    if iso := _ISO.match(value.upper()):
        parts = {name: int(number) for name, number in iso.groupdict().items() if number}
        return timedelta(**parts)
    return None
