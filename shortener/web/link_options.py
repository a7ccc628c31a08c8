"""The redirect options on a link's edit form: forwarding, fallback, previews, and targeting
rules and A/B variants as repeated rows of inputs.

Rows come back as parallel lists (every input of every row is submitted, empty or not), so
row i is the i-th value of each list. Empty rows are left out; the rows that remain are
numbered again in the list the service sees, so errors are mapped back to the row shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import FormData

from shortener.errors import DomainError
from shortener.links.schemas import LinkPublic
from shortener.web.forms import LINK_FIELDS, Errors

TEXT_OPTIONS = ("fallback_url", "og_title", "og_description", "og_image")
FLAG_OPTIONS = ("forward_query", "forward_path")
RULE_INPUTS = ("device", "country", "language", "url")
VARIANT_INPUTS = ("url", "weight")
KNOWN = (*LINK_FIELDS, *TEXT_OPTIONS, *FLAG_OPTIONS, "rules", "variants")
EMPTY_ROWS = 3
MAX_ROWS = 50


@dataclass
class OptionForm:
    """What the form sent: `data` for LinkUpdate, `values` to show the form again."""

    data: dict[str, Any] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    # The shown row number of each item sent, per list: rows[name][i] is item i's row.
    rows: dict[str, list[int]] = field(default_factory=dict)


def _texts(form: FormData, name: str) -> list[str]:
    return [v.strip() if isinstance(v, str) else "" for v in form.getlist(name)][:MAX_ROWS]


def _rows(form: FormData, prefix: str, inputs: tuple[str, ...]) -> list[dict[str, str]]:
    columns = {name: _texts(form, f"{prefix}_{name}") for name in inputs}
    count = max((len(values) for values in columns.values()), default=0)
    return [
        {name: (values[i] if i < len(values) else "") for name, values in columns.items()}
        for i in range(count)
    ]


def pad(rows: list[dict[str, str]], inputs: tuple[str, ...]) -> list[dict[str, str]]:
    """The rows shown: the filled ones, then empty ones (always at least one to add)."""
    filled = [row for row in rows if any(row.values())]
    empties = max(1, EMPTY_ROWS - len(filled))
    return filled + [dict.fromkeys(inputs, "") for _ in range(empties)]


def read_options(form: FormData) -> OptionForm:
    result = OptionForm()
    for name in TEXT_OPTIONS:
        text = form.get(name)
        result.values[name] = text if isinstance(text, str) else ""
        result.data[name] = result.values[name].strip() or None
    for name in FLAG_OPTIONS:
        result.values[name] = result.data[name] = form.get(name) == "on"

    rules = pad(_rows(form, "rule", RULE_INPUTS), RULE_INPUTS)
    variants = pad(_rows(form, "variant", VARIANT_INPUTS), VARIANT_INPUTS)
    result.values["rule_rows"] = rules
    result.values["variant_rows"] = variants
    result.rows = {"rules": [], "variants": []}
    items: list[dict[str, Any]] = []
    for i, row in enumerate(rules):
        if any(row.values()):
            result.rows["rules"].append(i)
            items.append({k: v for k, v in row.items() if v})
    result.data["rules"] = items or None
    items = []
    for i, row in enumerate(variants):
        if any(row.values()):
            result.rows["variants"].append(i)
            weight = row["weight"]
            item: dict[str, Any] = {"url": row["url"]}
            if weight:
                # An int where the text is one; anything else gets pydantic's own message.
                item["weight"] = int(weight) if weight.isdigit() else weight
            items.append(item)
    result.data["variants"] = items or None
    return result


def option_values(link: LinkPublic) -> dict[str, Any]:
    """A link's options as the edit form shows them."""
    values: dict[str, Any] = {name: getattr(link, name) or "" for name in TEXT_OPTIONS}
    values |= {name: getattr(link, name) for name in FLAG_OPTIONS}
    rules = [{name: getattr(rule, name) or "" for name in RULE_INPUTS} for rule in link.rules or []]
    variants = [{"url": v.url, "weight": str(v.weight)} for v in link.variants or []]
    values["rule_rows"] = pad(rules, RULE_INPUTS)
    values["variant_rows"] = pad(variants, VARIANT_INPUTS)
    return values


def _key(loc: Any, options: OptionForm) -> str:
    """`rules.2.country` (row 2 as shown), `variants`, `url`, ... or `form`."""
    parts: list[str] = []
    for part in loc if isinstance(loc, list | tuple) else [loc]:
        parts += [p for p in str(part).split(".") if p != "body"]
    if not parts or parts[0] not in KNOWN:
        return "form"
    name = parts[0]
    if name in options.rows and len(parts) > 1 and parts[1].isdigit():
        shown = options.rows[name]
        index = int(parts[1])
        row = shown[index] if index < len(shown) else index
        return ".".join([name, str(row), *parts[2:3]])
    return name


def option_errors(exc: ValidationError | DomainError, options: OptionForm) -> Errors:
    """Errors keyed by field, or by row and input for rules and variants."""
    if isinstance(exc, ValidationError):
        items: list[Any] = list(exc.errors())
    elif isinstance(exc.detail, list):
        items = exc.detail
    else:
        return {"form": str(exc.detail)}
    errors: Errors = {}
    for item in items:
        if isinstance(item, dict):
            errors.setdefault(_key(item.get("loc", ()), options), str(item.get("msg", "invalid")))
    return errors or {"form": "invalid value"}
