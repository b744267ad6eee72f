"""One rule for every piece of text a client sends: request bodies and query strings.

Text is stripped, then refused (`422 validation_error`) when it holds

- NUL: PostgreSQL cannot store it, and C libraries (bcrypt, mail) stop at it;
- other C0 and C1 control characters: they forge log lines and mail headers, and the
  terminals that print them obey them;
- Unicode bidirectional overrides and isolates (U+202A to U+202E, U+2066 to U+2069): they
  make a name shown to someone else read differently from what it is ("Trojan Source").

Multi-line text also allows line feeds (`\\r\\n` arrives as `\\n`). Lengths are counted on
what is stored, after stripping. Use as `Annotated[str, SingleLine(max_length=200)]`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

# Written with escapes, so the OpenAPI document carries patterns ECMAScript reads too.
_DEL_C1_AND_BIDI = r"\x7f-\x9f\u202a-\u202e\u2066-\u2069"
SINGLE_LINE_PATTERN = rf"^[^\x00-\x1f{_DEL_C1_AND_BIDI}]*$"
# The same with one visible character at least: white space alone strips to nothing, so
# the document must not call it valid where a value is required.
VISIBLE_LINE_PATTERN = (
    rf"^[^\x00-\x1f{_DEL_C1_AND_BIDI}]*[^\s\x00-\x1f{_DEL_C1_AND_BIDI}]"
    rf"[^\x00-\x1f{_DEL_C1_AND_BIDI}]*$"
)
# Line feeds, and carriage returns only before one (`\r\n` is stored as `\n`).
MULTI_LINE_PATTERN = rf"^(?:[^\x00-\x09\x0b-\x1f{_DEL_C1_AND_BIDI}]|\r\n)*$"
_REFUSED = re.compile(rf"[\x00-\x1f{_DEL_C1_AND_BIDI}]")


def scrub(text: str) -> str:
    """For text recorded rather than validated (a `User-Agent`): each refused character
    becomes U+FFFD, so what is stored still shows that something was there."""
    return _REFUSED.sub("\ufffd", text)


# What `str.strip()` removes, less the control characters: those are refused, never
# quietly trimmed, so the text as sent is held to the documented pattern.
_SPACES = " \u00a0\u1680\u2028\u2029\u202f\u205f\u3000" + "".join(map(chr, range(0x2000, 0x200B)))


def _strip(value: Any) -> Any:
    return value.strip(_SPACES) if isinstance(value, str) else value


def _strip_lines(value: Any) -> Any:
    return value.replace("\r\n", "\n").strip(_SPACES + "\n") if isinstance(value, str) else value


@dataclass(frozen=True, slots=True)
class SingleLine:
    """A line of text: a name, a title, a search term."""

    max_length: int
    min_length: int = 1

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            _strip,
            core_schema.str_schema(
                min_length=self.min_length,
                max_length=self.max_length,
                pattern=VISIBLE_LINE_PATTERN if self.min_length else SINGLE_LINE_PATTERN,
            ),
        )


@dataclass(frozen=True, slots=True)
class MultiLine:
    """Free text that may span lines: a description."""

    max_length: int
    min_length: int = 0

    def __get_pydantic_core_schema__(
        self, _source: Any, _handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_before_validator_function(
            _strip_lines,
            core_schema.str_schema(
                min_length=self.min_length,
                max_length=self.max_length,
                pattern=MULTI_LINE_PATTERN,
            ),
        )
