"""The two rules every piece of user input follows, whatever schema or form brings it in.

Dates: kept as UTC, and only where the calendar leaves room to work with them. Python's
datetime stops at years 1 and 9999; a moment at either end cannot be turned into UTC, aligned
to a whole day or have a day added without an OverflowError (a 500). So every date field
(the API's schemas, the statistics window, the dashboard's custom window, CSV import) goes
through `utc_moment`, which answers a ValueError (a 422 with a reason) instead.

Text: no control characters. NUL cannot be stored by PostgreSQL (the driver raises) and ends
a LIKE pattern early on SQLite (a search for it matched everything); the others (escape
sequences, C1 codes, DEL) are never meaningful in a title, a tag, a name or a search, and
hide or garble text where it is shown. Line breaks and tabs are meaningful in longer prose,
so `MULTI_LINE` keeps those three.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

# Ids: every table's id is a PostgreSQL integer (32 bits). A larger number names no row; in
# a path it is refused before any query (PostgreSQL's driver would not bind it, SQLite would
# just find nothing: two answers for one mistake).
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
# Where a page of a list starts (`offset`, Kutt's `skip`).
Offset = Annotated[int, Query(ge=0, le=2**31)]

# One day inside each end of the calendar: aligning to a whole day, or a date's end (the next
# midnight), stays on it. The upper bound is exclusive.
FIRST_MOMENT = datetime(1, 1, 2, tzinfo=UTC)
END_OF_MOMENTS = datetime(9999, 12, 31, tzinfo=UTC)
OUT_OF_RANGE = "must lie between 0001-01-02 and 9999-12-30 (UTC)"


def utc_moment(value: datetime) -> datetime:
    """`value` in UTC (naive means UTC); ValueError when it is too near the calendar's ends."""
    try:
        moment = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValueError(OUT_OF_RANGE) from None
    if not FIRST_MOMENT <= moment < END_OF_MOMENTS:
        raise ValueError(OUT_OF_RANGE)
    return moment


def earlier(moment: datetime, span: timedelta) -> datetime:
    """`span` before `moment`, or the first moment there is: a default window's start."""
    return moment - span if moment - FIRST_MOMENT >= span else FIRST_MOMENT


UtcDatetime = Annotated[datetime, AfterValidator(utc_moment)]

# C0 controls, DEL and C1 controls (pydantic itself refuses lone surrogates). Written as
# escapes: the pattern is published in the OpenAPI description too, so that clients and the
# fuzzer know the rule.
_ONE_LINE = r"\x00-\x1f\x7f-\x9f"
_MULTI_LINE = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_NAMES = {"\x00": "NUL", "\t": "a tab", "\n": "a line break", "\r": "a carriage return"}


class TextRule:
    """Annotated metadata for a str: refuse the characters of `forbidden` (the inside of a
    regular expression's character class) with a message naming the first one found."""

    def __init__(self, forbidden: str) -> None:
        self.forbidden = forbidden
        self._pattern = re.compile(f"[{forbidden}]")

    def check(self, value: str) -> str:
        found = self._pattern.search(value)
        if found:
            char = found.group()
            name = _NAMES.get(char) or f"U+{ord(char):04X}"
            raise ValueError(f"must not contain control characters (found {name})")
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema["pattern"] = f"^[^{self.forbidden}]*$"
        return json_schema


# Titles, tags, names, searches: one line of text.
OneLine = TextRule(_ONE_LINE)
# Descriptions: prose, where line breaks and tabs mean something.
MultiLine = TextRule(_MULTI_LINE)


def one_line(value: str) -> str:
    """`value`, or ValueError when it holds a control character (line breaks included)."""
    return OneLine.check(value)
