"""Single sign-on with an OpenID Connect provider (OIDC_ISSUER): the protocol side.

Authlib does the protocol: discovery, the authorization URL with PKCE (S256), `state` and
`nonce`, the code exchange, and the ID token's checks (signature against the provider's JWKS,
issuer, audience, nonce, expiry, at_hash). What it leaves to us, and this module does:

- discovery is cached per worker for DISCOVERY_TTL seconds, then asked again (a provider that
  rotates endpoints or keys is followed; a key id we do not know refetches the JWKS at once);
- the discovered `issuer` must be the configured one (a document that names another issuer is
  refused: the ID token's `iss` is checked against it);
- the e-mail comes from the ID token or, when the provider keeps claims for userinfo (as
  providers conforming to the spec do for the code flow), from userinfo for the same `sub`.

Who the e-mail is allowed to sign in as is decided by auth/sso_accounts.py. No FastAPI here;
failures are domain errors (SsoFailed: the provider said no or sent something that does not
check out; ProviderUnavailable: it could not be asked).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.integrations.base_client import OAuthError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError

from shortener.config import Settings
from shortener.errors import ProviderUnavailable, SsoFailed

SCOPE = "openid email"
# How long a worker keeps the provider's discovery document (and the JWKS fetched with it).
DISCOVERY_TTL = 3600.0
# Each call to the provider (discovery, JWKS, token, userinfo): it is on a person's sign-in.
PROVIDER_TIMEOUT = 10.0
# How a public client (no OIDC_CLIENT_SECRET) authenticates at the token endpoint: not at all.
PUBLIC_CLIENT = "none"


@dataclass(frozen=True, slots=True)
class Started:
    """What the callback needs to finish a sign-in this browser started (kept in its cookie)."""

    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True, slots=True)
class Identity:
    """Who the provider says signed in."""

    subject: str
    email: str
    email_verified: bool


class SingleSignOn:
    """One provider, one client registration; one per worker (Runtime.sso)."""

    def __init__(self, *, issuer: str, client_id: str, client_secret: str | None) -> None:
        self.issuer = issuer
        self.discovery_ttl = DISCOVERY_TTL
        client_kwargs: dict[str, Any] = {
            "scope": SCOPE,
            "code_challenge_method": "S256",
            "timeout": PROVIDER_TIMEOUT,
        }
        if not client_secret:
            # A public client: nothing to authenticate with at the token endpoint; PKCE is
            # what keeps a stolen code useless.
            client_kwargs["token_endpoint_auth_method"] = PUBLIC_CLIENT
        self._client: Any = OAuth().register(
            "sso",
            client_id=client_id,
            client_secret=client_secret or None,
            server_metadata_url=issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs=client_kwargs,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> SingleSignOn | None:
        if not settings.sso_enabled:
            return None
        secret = settings.oidc_client_secret
        return cls(
            issuer=settings.oidc_issuer or "",
            client_id=settings.oidc_client_id or "",
            client_secret=secret.get_secret_value() if secret is not None else None,
        )

    @property
    def discovered_at(self) -> float | None:
        """When this worker last read the discovery document (time.time()), if it has."""
        loaded_at = self._client.server_metadata.get("_loaded_at")
        return float(loaded_at) if loaded_at is not None else None

    async def _metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = self._client.server_metadata
        loaded_at = self.discovered_at
        if loaded_at is not None and time.time() - loaded_at >= self.discovery_ttl:
            metadata.clear()  # the document and the JWKS kept with it: both asked again
        try:
            metadata = await self._client.load_server_metadata()
        except (httpx2.HTTPError, ValueError) as exc:
            metadata.clear()
            raise ProviderUnavailable(_unreachable(self.issuer, exc)) from exc
        if str(metadata.get("issuer", "")).rstrip("/") != self.issuer.rstrip("/"):
            found = metadata.get("issuer")
            metadata.clear()
            raise ProviderUnavailable(
                f"the provider's discovery document names the issuer {found!r}, not "
                f"OIDC_ISSUER {self.issuer!r}: check OIDC_ISSUER"
            )
        return metadata

    async def begin(self, redirect_uri: str) -> tuple[str, Started]:
        """The provider's authorization URL to send the browser to, and what to remember."""
        await self._metadata()
        made = await self._client.create_authorization_url(redirect_uri)
        started = Started(
            state=made["state"], nonce=made["nonce"], code_verifier=made["code_verifier"]
        )
        return str(made["url"]), started

    async def finish(self, *, code: str, redirect_uri: str, started: Started) -> Identity:
        """Exchange the code, check the ID token, and read who signed in."""
        metadata = await self._metadata()
        try:
            token = await self._client.fetch_access_token(
                redirect_uri=redirect_uri, code=code, code_verifier=started.code_verifier
            )
        except OAuthError as exc:
            raise SsoFailed(f"the provider refused the sign-in code ({_oauth_error(exc)})") from exc
        except httpx2.HTTPError as exc:
            raise ProviderUnavailable(_unreachable(self.issuer, exc)) from exc
        if "id_token" not in token:
            raise SsoFailed("the provider sent no ID token (is the client set up for OpenID?)")
        try:
            claims = dict(await self._client.parse_id_token(token, nonce=started.nonce))
        except JoseError as exc:
            raise SsoFailed(f"the provider's ID token does not check out ({exc})") from exc
        except httpx2.HTTPError as exc:
            raise ProviderUnavailable(_unreachable(self.issuer, exc)) from exc
        if not claims.get("email") and metadata.get("userinfo_endpoint"):
            claims.update(await self._userinfo(token, subject=str(claims.get("sub", ""))))
        email = claims.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise SsoFailed(
                "the provider shared no e-mail address: allow the `email` scope for this client"
            )
        return Identity(
            subject=str(claims["sub"]),
            email=email,
            email_verified=_email_verified(claims),
        )

    async def _userinfo(self, token: dict[str, Any], *, subject: str) -> dict[str, Any]:
        try:
            info = dict(await self._client.userinfo(token=token))
        except httpx2.HTTPStatusError as exc:
            raise SsoFailed(f"the provider's userinfo answered {exc.response.status_code}") from exc
        except httpx2.HTTPError as exc:
            raise ProviderUnavailable(_unreachable(self.issuer, exc)) from exc
        # OpenID Connect Core 5.3.2: userinfo for another subject must not be used.
        if info.get("sub") != subject:
            raise SsoFailed("the provider's userinfo is about someone else (its `sub` differs)")
        return {key: info[key] for key in ("email", "email_verified") if key in info}


def _email_verified(claims: dict[str, Any]) -> bool:
    """The provider vouches for the address: `email_verified` (OpenID Connect Core 5.1), or,
    when it sends none at all, Microsoft Entra ID's optional ID-token claim `xms_edov` (the
    address's domain is one the user's tenant has proven it owns). Entra sends no
    `email_verified` for work accounts, and its plain `email` claim is an editable profile
    field (signing in on it alone is the "nOAuth" account takeover), so one of the two is
    required. A provider's own `email_verified: false` is never overruled."""
    if "email_verified" in claims:
        return _is_true(claims["email_verified"])
    return claims.get("xms_edov") is True


def _is_true(value: object) -> bool:
    # Some providers send the boolean as the string "true".
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _oauth_error(exc: OAuthError) -> str:
    error = getattr(exc, "error", None) or "error"
    description = getattr(exc, "description", None)
    return f"{error}: {description}" if description else str(error)


def _unreachable(issuer: str, exc: Exception) -> str:
    what = (
        f"answered {exc.response.status_code}"
        if isinstance(exc, httpx2.HTTPStatusError)
        else f"could not be reached ({type(exc).__name__})"
    )
    return (
        f"the single sign-on provider {issuer} {what}; "
        "try again shortly, or sign in with a password"
    )
