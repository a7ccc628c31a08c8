"""Redirect options beyond the target: targeting rules, A/B variants, forwarding, previews."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from shortener.countries import ISO_COUNTRIES
from shortener.fields import MultiLine, OneLine
from shortener.urls import MAX_URL_LENGTH

Url = Annotated[str, Field(min_length=1, max_length=MAX_URL_LENGTH)]


def _country(value: str | None) -> str | None:
    if value is None:
        return None
    code = value.strip().upper()
    if code not in ISO_COUNTRIES:
        raise ValueError(f"'{value}' is not an ISO 3166-1 alpha-2 country code (e.g. DE, US)")
    return code


def _language(value: str | None) -> str | None:
    if value is None:
        return None
    tag = value.strip().lower()
    if not (2 <= len(tag) <= 3 and tag.isascii() and tag.isalpha()):
        raise ValueError(f"'{value}' is not a language code (two or three letters, e.g. de)")
    return tag


class RuleIn(BaseModel):
    """Send visitors matching every given condition to `url`; the first matching rule wins."""

    model_config = ConfigDict(extra="forbid")

    url: Url
    device: Literal["ios", "android", "desktop"] | None = None
    country: Annotated[str | None, AfterValidator(_country)] = None
    language: Annotated[str | None, AfterValidator(_language)] = None

    @model_validator(mode="after")
    def _has_condition(self) -> RuleIn:
        if self.device is None and self.country is None and self.language is None:
            raise ValueError("a rule needs at least one of device, country or language")
        return self


class VariantIn(BaseModel):
    """One arm of an A/B split: visitors go to `url` in proportion to `weight`."""

    model_config = ConfigDict(extra="forbid")

    url: Url
    weight: Annotated[int, Field(ge=1, le=1000)] = 1


Rules = Annotated[list[RuleIn], Field(max_length=50)]
Variants = Annotated[list[VariantIn], Field(min_length=2, max_length=20)]
OgTitle = Annotated[str, Field(max_length=300), OneLine]
OgDescription = Annotated[str, Field(max_length=1000), MultiLine]


class LinkOptions(BaseModel):
    """The redirect options beyond the target URL, shared by create, update and the answer."""

    rules: Rules | None = None
    variants: Variants | None = None
    forward_query: bool = False
    forward_path: bool = False
    fallback_url: Url | None = None
    og_title: OgTitle | None = None
    og_description: OgDescription | None = None
    og_image: Url | None = None
