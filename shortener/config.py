"""Settings, read once from the environment and `.env`; nothing else reads os.environ."""

from __future__ import annotations

import logging
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

log = logging.getLogger(__name__)

DEV_SECRET_FILE = Path(".shortener-secret")


class ConfigError(RuntimeError):
    """A setting is missing or contradicts another; the message says how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    environment: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite:///./shortener.db"
    # A replica (or any copy kept in step) that serves statistics and exports, never anything
    # that writes or must read its own writes; unset, they read DATABASE_URL. Answers may lag
    # the primary by the replica's delay (docs/deploy.md).
    database_read_url: str | None = None
    redis_url: str | None = None
    # Every Redis key and channel starts with this, so several deployments (or test runs)
    # can share one Redis.
    redis_prefix: str = "shortener:"
    # REDIS_URL is one node of a Redis Cluster: the client learns the others from it, and
    # follows slots as they move or fail over (shortener/rediskeys.py: what that asks of keys).
    redis_cluster: bool = False
    secret_key: SecretStr | None = None
    base_url: str = "http://127.0.0.1:8000"
    access_token_expire_minutes: int = Field(60, ge=1)
    # Dashboard sessions slide: each use pushes the end back by the idle time, renewed once
    # half of it has gone, but never past SESSION_MAX_DAYS after signing in. "Remember me"
    # idles SESSION_REMEMBER_DAYS instead (in a cookie that outlives the browser).
    session_idle_minutes: int = Field(60, ge=1)
    session_remember_days: int = Field(30, ge=1)
    session_max_days: int = Field(90, ge=1)
    click_flush_interval: float = Field(1.0, gt=0)
    # Batches are written on the click writer's thread, off the requests' loop; a batch of
    # 1000 costs ~25% less CPU a click than four of 250 (bench/click_pipeline_bench.py).
    click_batch_size: int = Field(1000, ge=1)
    # With Redis, serving workers may leave the click stream to flushers of their own
    # (`shortener flush`, on this host or another): false here, and a worker only queues
    # clicks (and writes what Redis refused while it was away).
    click_flusher: bool = True

    # The in-process link cache: how many links, and how long before a re-check of Redis or the
    # database. Invalidation is immediate; the TTL only bounds what a missed message costs.
    link_cache_size: int = Field(10_000, ge=0)
    # ... and how many bytes at most (about 1 KB a plain link; see CachedLink.weight).
    link_cache_max_bytes: int = Field(64 * 2**20, ge=0)
    link_cache_ttl: float = Field(30.0, ge=0)
    # A per-worker filter of the keys that exist (1.2 MB per million keys): unknown keys are
    # answered without a look-up. Off with LINK_CACHE_TTL=0 (no channel between workers).
    link_key_filter: bool = True
    # Unknown keys are remembered briefly so a scan of random keys does not reach the database.
    negative_cache_ttl: float = Field(5.0, ge=0)
    redis_link_ttl: int = Field(3600, ge=1)

    # Click analytics. Proxies (IPs or CIDRs, comma-separated; "*" for any) whose
    # X-Forwarded-For is believed; `shortener serve` hands the same list to uvicorn.
    trusted_proxies: str = "127.0.0.1,::1"
    # Raw clicks older than this are deleted (hourly, and by `shortener cleanup`); rollups stay.
    click_retention_days: int = Field(90, ge=1)
    # Audit events (shortener/audit/) older than this are deleted by the same hourly cleanup.
    audit_retention_days: int = Field(365, ge=1)
    # Visits to unknown links (404s of the redirect path): raw rows kept per domain and minute;
    # the rest are only counted (a scanner costs a counter, not a row per guess).
    orphan_visits_per_minute: int = Field(600, ge=0)
    # The bundled geoip2fast database: "ipv6" knows IPv4 and IPv6 (about 50 MB in memory,
    # 3 s to load); "ipv4" is 10x smaller and leaves IPv6 visitors without a country.
    geoip_database: Literal["ipv4", "ipv6"] = "ipv6"
    # Computed statistics answers kept in each worker (an lru_cache of this size).
    stats_cache_size: int = Field(1024, ge=0)
    # Webhooks. Targets on loopback, private, link-local or reserved addresses are refused
    # (no SSRF through webhooks) unless this is set, e.g. for a receiver on the same host.
    allow_private_webhooks: bool = False
    webhook_timeout: float = Field(5.0, gt=0)
    # A failed delivery is retried after base, 2*base, 4*base... seconds (at most an hour
    # apart) until it has been tried max_attempts times.
    webhook_max_attempts: int = Field(8, ge=1)
    webhook_retry_base: float = Field(10.0, gt=0)
    # How often each worker looks for due deliveries; new events wake it at once.
    webhook_poll_interval: float = Field(2.0, gt=0)
    # Redis must never hold a request up for long: small timeouts, one quick retry, and after a
    # failure every caller skips Redis for redis_breaker_seconds (the database stands in).
    redis_connect_timeout: float = Field(0.5, gt=0)
    redis_socket_timeout: float = Field(1.0, gt=0)
    redis_breaker_seconds: float = Field(5.0, ge=0)
    # Stream entries a consumer read but did not acknowledge for this long (it died) are
    # claimed by another worker.
    click_claim_idle_ms: int = Field(30_000, ge=1)
    # A batch the database refused this many times in a row is written click by click; the
    # clicks that still fail are set aside (logged) so one bad click cannot block the queue.
    click_batch_max_failures: int = Field(5, ge=1)

    # Abuse limits, "COUNT/PERIOD" with PERIOD like 30s, 1m, 15m, 1h, 1d (or second, minute,
    # hour, day). Counted in Redis when configured (shared by every worker), in-process otherwise.
    rate_limits_enabled: bool = True
    rate_limit_login_ip: str = "30/1m"
    # Failed sign-ins per account from one IP: past it, that IP is refused (429) for the
    # account until the window ends; the owner, elsewhere, is not.
    rate_limit_login_pair: str = "10/15m"
    # Failed sign-ins per account, whatever the IP: past it, every attempt on the account is
    # slowed down by login_slowdown_seconds (never refused: strangers must not lock it).
    rate_limit_login_account: str = "10/15m"
    login_slowdown_seconds: float = Field(1.0, ge=0, le=10)
    # Wrong two-factor codes per account (counted only after a right password): past it, the
    # account's second step is refused (429) until the window ends. Only someone holding the
    # password can use it up, and it bounds their guesses at a 6-digit code.
    rate_limit_login_otp: str = "10/15m"
    rate_limit_register_ip: str = "10/1h"
    # Links created per user and per address (API, bulk, dashboard), counted in links.
    rate_limit_links_user: str = "120/1m"
    rate_limit_links_ip: str = "240/1m"
    # Links created by imports (API, dashboard) per user: room for a migration, not a flood.
    rate_limit_import_user: str = "100000/1d"
    # Password guesses on one protected link from one IP.
    rate_limit_link_password: str = "10/1m"  # noqa: S105 - a rate, not a password
    # Password-reset requests per e-mail address asked about (known or not: a 429 must not tell
    # which) and per client address; verification mails a signed-in user may ask again for.
    rate_limit_reset_email: str = "5/1h"
    rate_limit_reset_ip: str = "20/1h"
    rate_limit_verify_user: str = "5/1h"

    # Target domains nobody may shorten (subdomains included), comma-separated; admins add
    # more at run time through /api/admin/blocklist.
    blocked_domains: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Largest request body accepted; larger ones answer 413 before being read whole.
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # Imports (API and dashboard) have their own limit: a CSV of 50,000 links is a few MB. The
    # upload is spooled to disk as it arrives, not held in memory.
    import_max_bytes: int = Field(50 * 1024 * 1024, ge=1024)
    # Origins allowed to call the API from a browser (CORS); empty: CORS off.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Logging: `text` for people, `json` (one object a line) for log collectors. Redirect hits
    # are not logged one by one unless asked for: at full speed that is thousands of lines a
    # second per worker.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_redirects: bool = False
    # GET /metrics answers only `Authorization: Bearer <this>`; unset, it answers 404.
    metrics_token: SecretStr | None = None
    # Where the workers of `shortener serve --workers N` keep their metric files (prometheus
    # client's multiprocess mode); unset, serve makes a temporary one and removes it.
    prometheus_multiproc_dir: str | None = None

    # Custom domains. A request whose Host is no verified domain (nor BASE_URL's) answers 404,
    # or with `default` is read as the default domain. While no custom domain is verified,
    # every host is the default domain: single-domain installs answer as they always did.
    unknown_hosts: Literal["404", "default"] = "404"
    # `loose`: keys compare case-insensitively (new keys are stored lower-cased).
    short_url_mode: Literal["strict", "loose"] = "strict"
    # Name servers (`host` or `host:port`, comma-separated) that DNS proofs of domain
    # ownership ask; empty: the system's resolver.
    domain_dns_servers: str = ""

    # Mail (password reset, e-mail verification): smtp://user:pw@host:port (STARTTLS when the
    # server offers it) or smtps://... (TLS from the first byte); unset: no mail is sent, and
    # `shortener reset-link EMAIL` prints reset links for an admin to hand over.
    smtp_url: SecretStr | None = None
    # The From of every mail; unset: noreply@ BASE_URL's host.
    mail_from: str | None = None
    smtp_timeout: float = Field(10.0, gt=0)
    # How long a password-reset link and an e-mail verification link work (each works once).
    password_reset_expire_minutes: int = Field(30, ge=1)
    email_verification_expire_hours: int = Field(48, ge=1)

    # Single sign-on with an OpenID Connect provider: on when OIDC_ISSUER and OIDC_CLIENT_ID
    # are set. Without OIDC_CLIENT_SECRET the client is a public one (PKCE alone protects the
    # code). OIDC_SIGNUP=true creates an account on a first sign-in with a verified address.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_signup: bool = False

    @field_validator(
        "database_read_url",
        "redis_url",
        "metrics_token",
        "prometheus_multiproc_dir",
        "smtp_url",
        "mail_from",
        "oidc_issuer",
        "oidc_client_id",
        "oidc_client_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_trusted_proxies(cls, value: str) -> str:
        from shortener.clicks.client_ip import TrustedProxies

        TrustedProxies.parse(value)  # raises ValueError naming the bad entry
        return value

    @field_validator("blocked_domains", "cors_origins", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("blocked_domains")
    @classmethod
    def _check_domains(cls, value: list[str]) -> list[str]:
        from shortener.blocklist.domains import normalise_domain

        return [normalise_domain(domain) for domain in value]

    @field_validator(
        "rate_limit_login_ip",
        "rate_limit_login_pair",
        "rate_limit_login_account",
        "rate_limit_login_otp",
        "rate_limit_register_ip",
        "rate_limit_links_user",
        "rate_limit_links_ip",
        "rate_limit_import_user",
        "rate_limit_link_password",
        "rate_limit_reset_email",
        "rate_limit_reset_ip",
        "rate_limit_verify_user",
    )
    @classmethod
    def _check_rate(cls, value: str) -> str:
        from shortener.rates import parse_rate

        parse_rate(value)
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        from shortener.mail import parse_smtp_url

        if value is not None:
            parse_smtp_url(value.get_secret_value())  # raises ValueError saying what is wrong
        return value

    @field_validator("base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("BASE_URL must be an http(s) URL with a host, e.g. https://sho.rt")
        return value.rstrip("/")

    @field_validator("oidc_issuer")
    @classmethod
    def _check_issuer(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "OIDC_ISSUER must be the provider's issuer URL, e.g. https://accounts.google.com"
            )
        if parts.query or parts.fragment:
            raise ValueError("OIDC_ISSUER has no query or fragment (it is the issuer URL)")
        return value.strip()

    @model_validator(mode="after")
    def _sso_whole(self) -> Settings:
        if self.oidc_issuer is None and self.oidc_client_id is None:
            if self.oidc_client_secret is not None:
                raise ConfigError(
                    "OIDC_CLIENT_SECRET is set but OIDC_ISSUER and OIDC_CLIENT_ID are not: set "
                    "both to turn single sign-on on, or unset OIDC_CLIENT_SECRET."
                )
            return self
        if self.oidc_issuer is None or self.oidc_client_id is None:
            present, missing = (
                ("OIDC_CLIENT_ID", "OIDC_ISSUER")
                if self.oidc_issuer is None
                else ("OIDC_ISSUER", "OIDC_CLIENT_ID")
            )
            raise ConfigError(
                f"single sign-on is half configured: {present} is set but {missing} is not. "
                "Set OIDC_ISSUER and OIDC_CLIENT_ID (and OIDC_CLIENT_SECRET for a confidential "
                "client), or unset them all."
            )
        return self

    @model_validator(mode="after")
    def _someone_flushes(self) -> Settings:
        if not self.click_flusher and self.redis_url is None:
            raise ConfigError(
                "CLICK_FLUSHER=false needs REDIS_URL: without Redis each worker's clicks wait "
                "in its own memory and only that worker can write them. Set REDIS_URL (and run "
                "`shortener flush`), or leave CLICK_FLUSHER unset."
            )
        return self

    @model_validator(mode="after")
    def _cluster_needs_a_node(self) -> Settings:
        if self.redis_cluster and not self.redis_url:
            raise ConfigError(
                "REDIS_CLUSTER=true needs REDIS_URL: the address of one node of the cluster "
                "(e.g. redis://10.0.0.5:6379/0); the others are learnt from it."
            )
        return self

    @model_validator(mode="after")
    def _production_needs_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key is None:
            raise ConfigError(
                "SECRET_KEY is required when ENVIRONMENT=production. Generate one with "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` and set it "
                "in the environment or in .env."
            )
        return self

    @cached_property
    def signing_key(self) -> str:
        """SECRET_KEY, or in development a generated key kept in a local file."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        if DEV_SECRET_FILE.exists():
            key = DEV_SECRET_FILE.read_text().strip()
        else:
            key = secrets.token_urlsafe(48)
            DEV_SECRET_FILE.write_text(key + "\n")
            DEV_SECRET_FILE.chmod(0o600)
        log.warning(
            "SECRET_KEY is not set: using a development key kept in %s. "
            "Set SECRET_KEY before running in production.",
            DEV_SECRET_FILE.resolve(),
        )
        return key

    @property
    def base_host(self) -> str:
        return (urlsplit(self.base_url).hostname or "").lower()

    @property
    def sso_enabled(self) -> bool:
        return self.oidc_issuer is not None and self.oidc_client_id is not None

    @property
    def mail_sender(self) -> str:
        return self.mail_from or f"noreply@{self.base_host or 'localhost'}"

    @property
    def cookie_secure(self) -> bool:
        return self.base_url.startswith("https://")


def load_settings(**overrides: object) -> Settings:
    """Build Settings, turning validation problems into one readable ConfigError."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']).upper() or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc


def derived_base_url(settings: Settings, host: str, port: int) -> str | None:
    """Where short links point when BASE_URL is unset: the host and port served (a wildcard
    address is shown as 127.0.0.1, reachable from this machine only); None when it is set."""
    if "base_url" in settings.model_fields_set:
        return None
    return served_url(host, port)


def served_url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 - compared, not bound
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"
