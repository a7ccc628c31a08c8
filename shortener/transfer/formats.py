"""CSV formats: ours (written by export, read by import) and other shorteners' exports.

Reading turns each data row into an ImportRow or a RowError with its line number (the header is
line 1). Nothing here touches the database; the rules a link must follow are checked by the
import service with the same functions link creation uses.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, TextIO
from urllib.parse import urlsplit

from shortener.fields import utc_moment
from shortener.links.options import LinkOptions

# Our own format, in this order. tags are separated by "|"; datetimes are ISO 8601 in UTC;
# clicks is written for information and ignored on import (statistics start afresh).
EXPORT_COLUMNS = (
    "key",
    "url",
    "title",
    "tags",
    "created_at",
    "expires_at",
    "max_clicks",
    "redirect_type",
    "is_active",
    "clicks",
)
# The redirect options and whether a password protects the link: written after the others,
# and only by exports that hold a link using one, so that files of plain links stay as they
# were. rules and variants are JSON (as the API takes them). A password cannot travel (only
# its hash is kept): a row with has_password true is refused unless the file adds a
# `password` column giving it.
OPTION_COLUMNS = (*LinkOptions.model_fields, "has_password")
# Redirects a link with max_clicks has granted so far (the count max_clicks is held to, not
# the statistics): written only by exports holding such a link; without it an exhausted
# one-time link would open again once imported.
USES_COLUMN = "uses"
PASSWORD_COLUMN = "password"  # noqa: S105 - a column name, not a password
# Written after the others, and only by exports that hold links on custom domains: a
# single-domain install's files stay as they were.
DOMAIN_COLUMN = "domain"
MAX_CELL = 10_000
# A spreadsheet opening the file runs a cell that starts with one of these as a formula (CSV
# injection: =HYPERLINK(...), =cmd|...). Our export writes such a text cell behind a "'", as
# OWASP advises, which spreadsheets show as text; our import takes it back off. A cell that
# starts with "'" itself is guarded too, so that taking the guard off is never a guess.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"


class UnreadableFile(ValueError):
    """Not a CSV file any importer recognises; the message says why."""


@dataclass(slots=True)
class ImportRow:
    line: int
    url: str
    key: str | None = None
    title: str | None = None
    tags: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    expires_at: datetime | None = None
    max_clicks: int | None = None
    redirect_type: int = 302
    is_active: bool = True
    domain: str | None = None  # a custom domain's hostname; None: the default domain
    # The redirect options (LinkOptions' fields) the file gives, as the API takes them.
    options: dict[str, Any] = field(default_factory=dict)
    has_password: bool = False
    uses: int = 0
    password: str | None = None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    detail: str


@dataclass(frozen=True, slots=True)
class CsvFormat:
    name: str
    # Every group must have one of its (normalised) headers present to recognise the format.
    identify: tuple[tuple[str, ...], ...]
    # Our field -> the headers it may come from, first present wins.
    columns: Mapping[str, tuple[str, ...]]
    # Headers holding a whole short URL whose last path segment is the key.
    short_url: tuple[str, ...] = ()
    tag_separator: str = "|"
    # Text cells written by guard_formula (ours): read through unguard.
    guarded: bool = False


# The generic format's columns, as normalise_header writes them (longUrl -> longurl).
URL_HEADERS = ("url", "long_url", "longurl", "target", "destination")
KEY_HEADERS = ("key", "alias", "slug", "keyword", "short_code", "shortcode")
# Delimiters tried on the header row: the first that makes it a known format wins.
DELIMITERS = (",", ";", "\t")
_SHLINK_SHORT = ("shortcode", "short_code")
_SHLINK_URL = ("longurl", "long_url")
FORMATS: tuple[CsvFormat, ...] = (
    CsvFormat(
        "shortener",
        identify=(("key",), ("url",)),
        columns={
            name: (name,)
            for name in (
                *EXPORT_COLUMNS,
                *OPTION_COLUMNS,
                USES_COLUMN,
                PASSWORD_COLUMN,
                DOMAIN_COLUMN,
            )
            if name != "clicks"
        },
        guarded=True,
    ),
    # YOURLS: keyword,url,title,timestamp,ip,clicks (its yourls_url table).
    CsvFormat(
        "yourls",
        identify=(("keyword",), ("url",)),
        columns={"key": ("keyword",), "url": ("url",), "title": ("title",)}
        | {"created_at": ("timestamp",)},
    ),
    # Shlink: the web client's export (createdAt,shortUrl,longUrl,title,tags,visits; tags
    # joined by ",") and the CSV Shlink's importer reads (Long URL, Short code, Title, Tags
    # joined by "|").
    CsvFormat(
        "shlink",
        identify=(_SHLINK_URL, (*_SHLINK_SHORT, "shorturl")),
        columns={
            "key": _SHLINK_SHORT,
            "url": _SHLINK_URL,
            "title": ("title",),
            "tags": ("tags",),
            "created_at": ("createdat", "datecreated", "date_created", "created_at"),
            "expires_at": ("validuntil", "valid_until"),
            "max_clicks": ("maxvisits", "max_visits"),
        },
        short_url=("shorturl",),
        tag_separator="auto",
    ),
    # Kutt: its link objects (address, target, description, created_at, expire_in, ...).
    CsvFormat(
        "kutt",
        identify=(("address",), ("target",)),
        columns={
            "key": ("address",),
            "url": ("target",),
            "title": ("description", "title"),
            "created_at": ("created_at",),
            "expires_at": ("expire_in", "expires_at"),
        },
    ),
    # Bitly's CSV export (Bitlink / link, Long URL, Title, Tags, Created / created_at, custom
    # back-halves); a custom back-half is preferred to the generated one.
    CsvFormat(
        "bitly",
        identify=(("long_url",), ("bitlink", "link", "custom_bitlinks", "short_link")),
        columns={
            "url": ("long_url",),
            "title": ("title",),
            "tags": ("tags",),
            "created_at": ("created_at", "created", "date_created", "created_date"),
        },
        short_url=("custom_bitlinks", "bitlink", "link", "short_link"),
        tag_separator=",",
    ),
    # Anything else with a recognisable URL column: a list of URLs, a spreadsheet of
    # url,alias,title, another tool's export. Last, so that the exports above keep their
    # own mappings (a Bitly "link" column is a short URL, not a key).
    CsvFormat(
        "csv",
        identify=(URL_HEADERS,),
        columns={
            "key": KEY_HEADERS,
            "url": URL_HEADERS,
            "title": ("title", "name", "description"),
            "tags": ("tags", "tag"),
            "created_at": ("created_at", "createdat", "created", "date_created"),
            "expires_at": ("expires_at", "expiresat", "expires", "valid_until"),
            "max_clicks": ("max_clicks", "maxclicks", "max_visits", "maxvisits"),
            "redirect_type": ("redirect_type",),
            "is_active": ("is_active", "active"),
            # As in ours: a spreadsheet's password column must not be dropped in silence
            # (the link would open to anyone), nor its redirect options.
            **{name: (name,) for name in (*OPTION_COLUMNS, PASSWORD_COLUMN)},
        },
        short_url=("short_url", "shorturl", "short_link"),
        tag_separator="auto",
    ),
)


def normalise_header(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def detect(headers: Iterable[str]) -> CsvFormat | None:
    present = {normalise_header(h) for h in headers}
    for fmt in FORMATS:
        if all(any(h in present for h in group) for group in fmt.identify):
            return fmt
    return None


def open_text(binary: IO[bytes]) -> TextIO:
    """The file's text, read as it is needed: UTF-8 (with or without a BOM), else
    Windows-1252 (Excel's CSVs), or UTF-16 where its byte-order mark says so (Excel's
    "Unicode Text", tab-separated). The encoding is settled by one pass over the bytes, a
    megabyte at a time, so an upload spooled to disk is never held in memory whole."""
    head = binary.read(4096)
    utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in head and not utf16:
        raise UnreadableFile("this is not a CSV file (it contains NUL bytes)")
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "cp1252"):
        binary.seek(0)
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            while chunk := binary.read(2**20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        binary.seek(0)
        return io.TextIOWrapper(binary, encoding=encoding, newline="")  # type: ignore[arg-type]
    if utf16:
        raise UnreadableFile("the file starts as UTF-16 text but is not")
    raise UnreadableFile("the file is neither UTF-8 nor Windows-1252 text")


@dataclass
class ParsedFile:
    format: str
    rows: Iterator[ImportRow | RowError]


def read_csv(source: str | TextIO) -> ParsedFile:
    """Detect the delimiter and the format from the header row; rows are parsed lazily."""
    stream = io.StringIO(source, newline="") if isinstance(source, str) else source
    delimiter, header = _header(stream)
    fmt = detect(header)
    if fmt is None:
        found = ", ".join(h.strip() for h in header if h.strip())[:200] or "nothing"
        raise UnreadableFile(
            "no URL column: the header row needs one named url, long_url, longUrl, target "
            f"or destination (it has: {found})"
        )
    reader = csv.reader(stream, delimiter=delimiter)
    next(reader)  # the header, read again by the reader that reads the rows
    index = {normalise_header(h): i for i, h in reversed(list(enumerate(header)))}
    return ParsedFile(fmt.name, _rows(reader, fmt, index))


def _header(stream: TextIO) -> tuple[str, list[str]]:
    """(delimiter, header cells); the stream is left at its start."""
    start = 0  # not tell(): a text file that was iterated refuses to tell
    candidates: list[tuple[str, list[str]]] = []
    for delimiter in DELIMITERS:
        stream.seek(start)
        try:
            header = next(csv.reader(stream, delimiter=delimiter))
        except StopIteration:
            raise UnreadableFile("the file is empty") from None
        except csv.Error as exc:
            raise UnreadableFile(f"the file is not valid CSV: {exc}") from None
        if detect(header) is not None:
            stream.seek(start)
            return delimiter, header
        candidates.append((delimiter, header))
    stream.seek(start)
    return max(candidates, key=lambda c: len(c[1]))


def count_rows(source: str | TextIO) -> int:
    """How many rows read_csv(source) yields, the total for a progress bar: the records after
    the header that are not blank, up to and including one the csv module cannot read. A
    stream is left at its start."""
    stream = io.StringIO(source, newline="") if isinstance(source, str) else source
    start = 0
    try:
        delimiter, _ = _header(stream)
    except UnreadableFile:
        return 0
    reader = csv.reader(stream, delimiter=delimiter)
    rows = 0
    try:
        next(reader, None)  # the header
        for cells in reader:
            rows += any(c.strip() for c in cells)
    except csv.Error:
        rows += 1  # read_csv reports it as its last row
    stream.seek(start)
    return rows


def _rows(reader: Any, fmt: CsvFormat, index: dict[str, int]) -> Iterator[ImportRow | RowError]:
    sources = {
        name: next((index[h] for h in headers if h in index), None)
        for name, headers in fmt.columns.items()
    }
    short_url = next((index[h] for h in fmt.short_url if h in index), None)
    while True:
        # The line a record starts on (a quoted cell may span lines); the header is line 1.
        line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The csv module cannot resynchronise after this (e.g. a NUL byte, a huge cell).
            yield RowError(line, f"not valid CSV, the rest of the file was not read: {exc}")
            return
        if not any(c.strip() for c in cells):
            continue  # blank lines are not rows
        try:
            yield _row(line, cells, fmt, sources, short_url)
        except ValueError as exc:
            yield RowError(line, str(exc))


def _cell(cells: list[str], i: int | None) -> str:
    if i is None or i >= len(cells):
        return ""
    value = cells[i].strip()
    if len(value) > MAX_CELL:
        raise ValueError(f"a cell is longer than {MAX_CELL} characters")
    return value


def _row(
    line: int,
    cells: list[str],
    fmt: CsvFormat,
    sources: dict[str, int | None],
    short_url: int | None,
) -> ImportRow:
    def get(name: str) -> str:
        value = _cell(cells, sources.get(name))
        return unguard(value) if fmt.guarded else value

    key = get("key") or key_of_short_url(_cell(cells, short_url)) or None
    url = get("url")
    if not url:
        raise ValueError("url: the row has no URL")
    return ImportRow(
        line=line,
        url=url,
        key=key,
        title=get("title") or None,
        tags=split_tags(get("tags"), fmt.tag_separator),
        created_at=parse_datetime(get("created_at"), "created_at"),
        expires_at=parse_datetime(get("expires_at"), "expires_at"),
        max_clicks=_int(get("max_clicks"), "max_clicks"),
        redirect_type=_int(get("redirect_type"), "redirect_type") or 302,
        is_active=_bool(get("is_active"), "is_active"),
        domain=get(DOMAIN_COLUMN) or None,
        options=_options(get),
        has_password=_bool(get("has_password"), "has_password", default=False),
        uses=_uses(get(USES_COLUMN)),
        password=get(PASSWORD_COLUMN) or None,
    )


def _uses(value: str) -> int:
    uses = _int(value, USES_COLUMN) or 0
    if uses < 0:
        raise ValueError(f"{USES_COLUMN}: cannot be negative: {value[:40]!r}")
    return uses


def _options(get: Any) -> dict[str, Any]:
    """The redirect options of a row, only those it has a value for (the rest keep their
    defaults); checked by the import service with LinkCreate, as the API's are."""
    options: dict[str, Any] = {}
    for name in ("rules", "variants"):
        if value := get(name):
            try:
                options[name] = json.loads(value)
            except ValueError:
                raise ValueError(f"{name}: not JSON: {value[:40]!r}") from None
    for name in ("forward_query", "forward_path"):
        if value := get(name):
            options[name] = _bool(value, name)
    for name in ("fallback_url", "og_title", "og_description", "og_image"):
        if value := get(name):
            options[name] = value
    return options


def key_of_short_url(value: str) -> str:
    """'https://bit.ly/abc' or 'bit.ly/abc' -> 'abc'; the first of several (Bitly lists)."""
    value = value.split(",")[0].split()[0] if value.strip() else ""
    if not value:
        return ""
    if "://" not in value:
        value = "//" + value
    path = urlsplit(value).path
    return path.rstrip("/").rsplit("/", 1)[-1]


def split_tags(value: str, separator: str) -> list[str]:
    if not value:
        return []
    if separator == "auto":
        separator = "|" if "|" in value else ","
    return [t.strip() for t in value.split(separator) if t.strip()]


def parse_datetime(value: str, name: str) -> datetime | None:
    """ISO 8601 (naive means UTC), or Unix seconds / milliseconds."""
    if not value:
        return None
    try:
        if value.isdigit():
            number = int(value)
            parsed = datetime.fromtimestamp(number / 1000 if number > 10**11 else number, UTC)
        else:
            parsed = datetime.fromisoformat(value)
    except (ValueError, OverflowError, OSError):
        raise ValueError(f"{name}: not a date and time: {value[:40]!r}") from None
    try:
        return utc_moment(parsed)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}: {value[:40]!r}") from None


def _int(value: str, name: str) -> int | None:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}: not a whole number: {value[:40]!r}") from None


_TRUE = {"true", "1", "yes", "y", "t"}
_FALSE = {"false", "0", "no", "n", "f"}


def _bool(value: str, name: str, *, default: bool = True) -> bool:
    if not value:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ValueError(f"{name}: not true or false: {value[:40]!r}")


def guard_formula(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, behind a GUARD."""
    if isinstance(value, str) and value.startswith((*FORMULA_START, GUARD)):
        return GUARD + value
    return value


def unguard(value: str) -> str:
    """guard_formula undone: a GUARD before what it guards is taken off, nothing else is."""
    if value.startswith(GUARD) and value[1:].startswith((*FORMULA_START, GUARD)):
        return value[1:]
    return value


def export_line(values: Iterable[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()
