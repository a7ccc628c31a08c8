"""Replays recorded client requests (ShareX custom-uploader profiles and the like) as those
clients send them, and reads the answer the way they do."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

FIXTURES = Path(__file__).parent / "fixtures"
# ShareX 14+ writes {input} and {json:path}; older profiles $input$ and $json:path$.
_TOKEN = re.compile(r"\{(\w+)(?::([^}]*))?\}|\$(\w+)(?::([^$]*))?\$")


def load(name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / name).read_text()))


def _fill(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        return values.get(name, match.group(0))

    return _TOKEN.sub(one, text)


def _deep_fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _deep_fill(v, values) for k, v in value.items()}
    if isinstance(value, str):
        return _fill(value, values)
    return value


async def send(
    client: httpx.AsyncClient, profile: dict[str, Any], values: dict[str, str]
) -> httpx.Response:
    """Send the request `profile` describes, to `client`'s server instead of the recorded one,
    with its placeholders ({input}, YOUR_API_KEY...) replaced from `values`."""
    profile = _deep_fill(profile, values)
    secrets = {k: v for k, v in values.items() if k.isupper()}
    for placeholder, secret in secrets.items():
        profile = json.loads(json.dumps(profile).replace(placeholder, secret))
    path = urlsplit(profile["RequestURL"]).path
    body = profile.get("Body", "None")
    kwargs: dict[str, Any] = {
        "params": profile.get("Parameters") or None,
        "headers": profile.get("Headers") or {},
    }
    if body == "JSON":
        kwargs["content"] = profile["Data"].encode()
        kwargs["headers"] = {**kwargs["headers"], "Content-Type": "application/json"}
    elif body == "MultipartFormData":
        # Every argument as a form part, as ShareX (and PHP's curl with an array) sends them.
        kwargs["files"] = {k: (None, v) for k, v in profile["Arguments"].items()}
    elif body == "FormURLEncoded":
        kwargs["data"] = profile["Arguments"]
    return await client.request(profile["RequestMethod"], path, **kwargs)


def result_url(profile: dict[str, Any], response: httpx.Response) -> str:
    """What the client shows as the result: its URL expression, or the whole body."""
    expression = profile.get("URL")
    if not expression:
        return response.text
    match = _TOKEN.fullmatch(expression)
    assert match is not None and (match.group(1) or match.group(3)) == "json", expression
    value: Any = response.json()
    for part in (match.group(2) or match.group(4)).split("."):
        value = value[part]
    return str(value)
