"""Request and response bodies of /api/auth/2fa/*."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class TwoFactorSetup(BaseModel):
    # The base32 secret, for apps that cannot scan: shown here, never again.
    secret: str
    otpauth_uri: str
    qr_svg: str


class TwoFactorCode(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A 6-digit TOTP code; disabling also takes a recovery code (xxxx-xxxx-xxxx-xxxx).
    code: Annotated[str, Field(min_length=1, max_length=64)]


class RecoveryCodes(BaseModel):
    # Each signs in once in place of a TOTP code; shown in this answer only.
    recovery_codes: list[str]
