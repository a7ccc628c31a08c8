"""Every table, in one module, so Alembic and the app import one thing and cycles cannot form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

# A naming convention gives every constraint a stable name, so migrations can drop and alter
# them on both SQLite (batch mode) and PostgreSQL.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, whatever the database keeps (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(**kwargs: Any) -> Any:
    nullable = kwargs.pop("nullable", False)
    return Field(sa_column=Column(UTCDateTime(), nullable=nullable, **kwargs))


def _belongs_to_user() -> Any:
    """The user a row belongs to: required, indexed, and gone with the user."""
    return Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )


class User(SQLModel, table=True):
    __tablename__ = "users"
    # AUTOINCREMENT: SQLite would otherwise hand a deleted row's id (the highest) to the next
    # row, and this id leaves the database (tokens, URLs, streams). PostgreSQL never reuses.
    __table_args__ = {"sqlite_autoincrement": True}

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    is_admin: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    is_active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, default=True))
    # Bumped when the password changes or the account is disabled: older tokens stop working.
    token_version: int = Field(default=0, sa_column=Column(Integer, nullable=False, default=0))
    # Whether the owner proved the address by following a mailed link (or a reset link).
    # Accounts older than the column count as verified (see its migration).
    email_verified: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=false()),
    )
    created_at: datetime = _utc(default=utcnow)
    # Two-factor sign-in (auth/totp.py). The TOTP secret is AES-GCM encrypted under a key
    # derived from SECRET_KEY, never sent after setup; set but not enabled = set up, pending.
    totp_secret: str | None = Field(default=None, sa_column=Column(String(255)))
    totp_enabled: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=false()),
    )
    # The last TOTP time step accepted: a code is never accepted twice (RFC 6238 section 5.2).
    totp_last_step: int | None = Field(default=None, sa_column=Column(BigInteger))


def _in_workspace(*, nullable: bool = False, index: bool = True) -> Any:
    """The workspace a row belongs to: indexed (`index` False where a composite index leads
    with it), and gone with the workspace."""
    column = Column(
        Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=nullable, index=index
    )
    return Field(default=None, sa_column=column) if nullable else Field(sa_column=column)


class Workspace(SQLModel, table=True):
    """Who owns links, domains, API keys and webhooks (shortener/workspaces/). Every user has
    a personal one (made with the account); members act in it with a role."""

    __tablename__ = "workspaces"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused: see User

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(100), nullable=False))
    # What X-Workspace and URLs name it by: [a-z0-9-], 3-40 characters (workspaces/slugs.py).
    slug: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    # The user whose personal workspace this is (None: a workspace someone created). Unique:
    # one each; the account going away takes its personal workspace (and its links) along,
    # as deleting an account took its links before workspaces.
    personal_user_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=True, unique=True
        ),
    )
    # Set by an owner: members without two-factor sign-in on cannot act here (403).
    require_two_factor: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=false()),
    )
    created_at: datetime = _utc(default=utcnow)


class Membership(SQLModel, table=True):
    """A user's role in a workspace: owner, admin, editor or viewer (workspaces/roles.py)."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = Field(
        sa_column=Column(Integer, ForeignKey("workspaces.id", ondelete="CASCADE"), nullable=False)
    )
    user_id: int = _belongs_to_user()
    role: str = Field(sa_column=Column(String(16), nullable=False))
    joined_at: datetime = _utc(default=utcnow)


class Invitation(SQLModel, table=True):
    """A link that makes whoever opens it (signed in) a member. Only the token's SHA-256 is
    kept; it works once, until expires_at."""

    __tablename__ = "invitations"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused: see User

    id: int | None = Field(default=None, primary_key=True)
    workspace_id: int = _in_workspace()
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    role: str = Field(sa_column=Column(String(16), nullable=False))
    # Where it was mailed, if it was (anyone holding the link may still accept it).
    email: str | None = Field(default=None, sa_column=Column(String(320)))
    created_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = _utc(default=utcnow)
    expires_at: datetime = _utc()
    accepted_at: datetime | None = _utc(nullable=True)
    accepted_by: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    )


class Domain(SQLModel, table=True):
    """A host name links can live on besides the default one (BASE_URL's, which has no row)."""

    __tablename__ = "domains"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused: see User

    id: int | None = Field(default=None, primary_key=True)
    # Normalised by domains/hostnames.py: lower-case ASCII (punycode), no port, no final dot.
    hostname: str = Field(sa_column=Column(String(253), nullable=False, unique=True))
    # None for a shared domain an admin added for everyone; an owner's account going away
    # leaves the domain (other users' links may be on it) to the admins.
    owner_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True),
    )
    # The workspace whose links may use it; None for a shared domain (as owner_id).
    workspace_id: int | None = _in_workspace(nullable=True)
    shared: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    verified: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    # What the DNS TXT record or the HTTP well-known path must hold to prove ownership.
    verification_token: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    root_url: str | None = Field(default=None, sa_column=Column(String(2048)))
    not_found_url: str | None = Field(default=None, sa_column=Column(String(2048)))
    expired_url: str | None = Field(default=None, sa_column=Column(String(2048)))
    created_at: datetime = _utc(default=utcnow)


class SiteSetting(SQLModel, table=True):
    """A setting admins change at run time through the API, one row a name (no row: unset).
    Today the default domain's redirects (domains/service.py), which has no `domains` row."""

    __tablename__ = "site_settings"

    name: str = Field(sa_column=Column(String(64), primary_key=True))
    value: str | None = Field(default=None, sa_column=Column(String(2048)))


class Link(SQLModel, table=True):
    __tablename__ = "links"
    __table_args__ = (
        # Keys are unique per domain. The default domain is NULL (no join, no row to read on
        # its fast path), and NULLs never collide in a unique constraint: the partial index
        # keeps default-domain keys unique.
        UniqueConstraint("domain_id", "key"),
        Index(
            "uq_links_key_default_domain",
            "key",
            unique=True,
            sqlite_where=text("domain_id IS NULL"),
            postgresql_where=text("domain_id IS NULL"),
        ),
        # The dashboard's list, newest first, a page at any offset: walked in index order
        # rather than sorting all of a workspace's links (75,000 links: the last page in tens
        # of milliseconds on SQLite, not seconds).
        Index("ix_links_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        {"sqlite_autoincrement": True},  # ids never reused: see User
    )

    id: int | None = Field(default=None, primary_key=True)
    # The unique constraints, not a read before the write, decide who gets an alias.
    key: str = Field(sa_column=Column(String(64), nullable=False))
    # None: the default domain (BASE_URL's host).
    domain_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("domains.id"), nullable=True)
    )
    url: str = Field(sa_column=Column(String(2048), nullable=False))
    # MD5 of the URL, hex: finds "this user already shortened this URL with md5" quickly.
    url_md5: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    key_strategy: str = Field(sa_column=Column(String(8), nullable=False))
    # Who made it; the workspace owns it (and decides who sees it).
    owner_id: int = _belongs_to_user()
    workspace_id: int = _in_workspace(index=False)  # ix_links_workspace_id_created_at_id
    title: str | None = Field(default=None, sa_column=Column(String(300)))
    created_at: datetime = _utc(default=utcnow, index=True)
    updated_at: datetime = _utc(default=utcnow)
    expires_at: datetime | None = _utc(nullable=True)
    max_clicks: int | None = Field(default=None, sa_column=Column(BigInteger))
    # Redirects granted so far, counted atomically at redirect time; only kept for links with
    # max_clicks, where it must be exact before the click is even queued.
    uses: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    password_hash: str | None = Field(default=None, sa_column=Column(String(255)))
    redirect_type: int = Field(default=302, sa_column=Column(Integer, nullable=False, default=302))
    is_active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False, default=True))
    # Targeting and the other redirect options (see shortener/redirect/targeting.py): rules are
    # [{"device"?, "country"?, "language"?, "url"}], variants [{"url", "weight"}].
    rules: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    variants: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    forward_query: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=false()),
    )
    forward_path: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=false()),
    )
    fallback_url: str | None = Field(default=None, sa_column=Column(String(2048)))
    og_title: str | None = Field(default=None, sa_column=Column(String(300)))
    og_description: str | None = Field(default=None, sa_column=Column(String(1000)))
    og_image: str | None = Field(default=None, sa_column=Column(String(2048)))
    # Clicks written by the flusher: people's (the figure the API and the dashboard show, as
    # the statistics count by default) and bots' apart. Their sum is the link's statistics
    # version (stats/service.py).
    clicks: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, default=0))
    bot_clicks: int = Field(
        default=0, sa_column=Column(BigInteger, nullable=False, default=0, server_default="0")
    )


class LinkTag(SQLModel, table=True):
    __tablename__ = "link_tags"
    __table_args__ = (Index("ix_link_tags_tag", "tag"),)

    link_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("links.id", ondelete="CASCADE"), primary_key=True, nullable=False
        )
    )
    tag: str = Field(sa_column=Column(String(64), primary_key=True, nullable=False))


class Click(SQLModel, table=True):
    """One redirect. Never the raw IP: only what was derived from it."""

    __tablename__ = "clicks"
    # (link_id, clicked_at, id): paging a link's raw clicks reads the index alone (stats/visits.py).
    __table_args__ = (Index("ix_clicks_link_id_clicked_at_id", "link_id", "clicked_at", "id"),)

    # Made when the redirect is answered; a retried batch inserts it once.
    id: str = Field(sa_column=Column(String(32), primary_key=True))
    link_id: int = Field(
        sa_column=Column(Integer, ForeignKey("links.id", ondelete="CASCADE"), nullable=False)
    )
    clicked_at: datetime = _utc(index=True)
    referrer_host: str | None = Field(default=None, sa_column=Column(String(255)))
    country: str | None = Field(default=None, sa_column=Column(String(2)))
    browser: str | None = Field(default=None, sa_column=Column(String(64)))
    os: str | None = Field(default=None, sa_column=Column(String(64)))
    device: str | None = Field(default=None, sa_column=Column(String(16)))
    is_bot: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    visitor_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    # Which A/B variant (index into the link's variants) the visitor was sent to, if any.
    variant: int | None = Field(default=None, sa_column=Column(Integer))


# ---- click analytics: rollups the stats read, so they never scan raw clicks -----------------
# Hours and days are integers (unix seconds // 3600, // 86400): compact primary keys that
# compare and group the same way on SQLite and PostgreSQL.


def _link_fk() -> Column[int]:
    return Column(
        Integer,
        ForeignKey("links.id", ondelete="CASCADE"),
        primary_key=True,
        nullable=False,
        autoincrement=False,
    )


class ClickRollup(SQLModel, table=True):
    """Clicks per link and hour, bots apart.

    `visitors` counts each visitor once a day, in the hour of their first click written that day.
    """

    __tablename__ = "click_rollups"

    link_id: int = Field(sa_column=_link_fk())
    hour: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    is_bot: bool = Field(sa_column=Column(Boolean, primary_key=True))
    clicks: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    visitors: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class ClickDimension(SQLModel, table=True):
    """Clicks per link, hour and value of one dimension (referrer, country, browser, os, device).

    An unknown value (no referrer, no country) has no row: it is the rest of click_rollups'
    clicks (stats/service.py, with_unknown). Rows of the empty string written before that are
    left out when read.
    """

    __tablename__ = "click_dimensions"

    link_id: int = Field(sa_column=_link_fk())
    hour: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    is_bot: bool = Field(sa_column=Column(Boolean, primary_key=True))
    dimension: str = Field(sa_column=Column(String(16), primary_key=True))
    value: str = Field(sa_column=Column(String(255), primary_key=True))
    clicks: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class ClickDimensionDaily(SQLModel, table=True):
    """ClickDimension by UTC day: what day-by-day windows read (24 times fewer rows)."""

    __tablename__ = "click_dimensions_daily"

    link_id: int = Field(sa_column=_link_fk())
    day: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    is_bot: bool = Field(sa_column=Column(Boolean, primary_key=True))
    dimension: str = Field(sa_column=Column(String(16), primary_key=True))
    value: str = Field(sa_column=Column(String(255), primary_key=True))
    clicks: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


# ---- visits to unknown links ("orphan visits"): requests the redirect path answered 404 -----
# Keyed by the request's host name (`domain`, normalised, no port) so they join to domains.
# Raw rows are capped per domain and minute (ORPHAN_VISITS_PER_MINUTE) and kept as long as raw
# clicks; the rollups count every raw row written, and what the cap left out is only counted.

ORPHAN_PATH_LENGTH = 512  # the path asked for is cut to this (a scanner's paths can be long)


class OrphanVisit(SQLModel, table=True):
    """One request for a path no link has. Never the raw IP, as for clicks."""

    __tablename__ = "orphan_visits"
    __table_args__ = (Index("ix_orphan_visits_domain_visited_at", "domain", "visited_at"),)

    id: str = Field(sa_column=Column(String(32), primary_key=True))  # the click id
    domain: str = Field(sa_column=Column(String(255), nullable=False))
    visited_at: datetime = _utc(index=True)
    path: str = Field(sa_column=Column(String(ORPHAN_PATH_LENGTH), nullable=False))
    referrer_host: str | None = Field(default=None, sa_column=Column(String(255)))
    country: str | None = Field(default=None, sa_column=Column(String(2)))
    browser: str | None = Field(default=None, sa_column=Column(String(64)))
    os: str | None = Field(default=None, sa_column=Column(String(64)))
    device: str | None = Field(default=None, sa_column=Column(String(16)))
    is_bot: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, default=False))
    visitor_hash: str | None = Field(default=None, sa_column=Column(String(64)))


def _key(type_: Any, size: int | None = None) -> Column[Any]:
    return Column(type_(size) if size else type_, primary_key=True, autoincrement=False)


class OrphanRollup(SQLModel, table=True):
    """Orphan visits per domain and hour, bots apart (what the totals and the chart read)."""

    __tablename__ = "orphan_rollups"

    domain: str = Field(sa_column=_key(String, 255))
    hour: int = Field(sa_column=_key(Integer))
    is_bot: bool = Field(sa_column=_key(Boolean))
    visits: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class OrphanDimension(SQLModel, table=True):
    """Orphan visits per domain, hour and value of one dimension: the path asked for, referrer,
    country, browser, os, device. Unknown values are the empty string, as in ClickDimension."""

    __tablename__ = "orphan_dimensions"

    domain: str = Field(sa_column=_key(String, 255))
    hour: int = Field(sa_column=_key(Integer))
    is_bot: bool = Field(sa_column=_key(Boolean))
    dimension: str = Field(sa_column=_key(String, 16))
    value: str = Field(sa_column=_key(String, ORPHAN_PATH_LENGTH))
    visits: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class OrphanDrop(SQLModel, table=True):
    """Visits past the per-minute cap, per domain and hour: counted here and nowhere else."""

    __tablename__ = "orphan_drops"

    domain: str = Field(sa_column=_key(String, 255))
    hour: int = Field(sa_column=_key(Integer))
    visits: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class OrphanMinute(SQLModel, table=True):
    """Raw rows taken per domain and minute: the cap's count across workers (an upsert takes
    its share atomically). Rows older than a day are deleted with the retention cleanup."""

    __tablename__ = "orphan_minutes"

    domain: str = Field(sa_column=_key(String, 255))
    minute: int = Field(sa_column=_key(Integer))
    visits: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class LinkVisitor(SQLModel, table=True):
    """Which visitor hashes a link has seen on a day: what makes a visitor count once a day.

    Only the last few days are kept: older hashes can never come again (their salt is gone).
    """

    __tablename__ = "link_visitors"

    link_id: int = Field(sa_column=_link_fk())
    day: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    visitor_hash: str = Field(sa_column=Column(String(64), primary_key=True))


class VisitorSalt(SQLModel, table=True):
    """The secret salt of each UTC day's visitor hashes; only today's and yesterday's exist."""

    __tablename__ = "visitor_salts"

    day: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    salt: str = Field(sa_column=Column(String(64), nullable=False))


class ApiKey(SQLModel, table=True):
    """A named key for scripts: only its SHA-256 is kept; the key itself is shown once."""

    __tablename__ = "api_keys"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused: see User

    id: int | None = Field(default=None, primary_key=True)
    # Who made it: its scopes are cut to this user's current role in the workspace.
    user_id: int = _belongs_to_user()
    workspace_id: int = _in_workspace()
    name: str = Field(sa_column=Column(String(100), nullable=False))
    # Hex SHA-256 of the whole key: the lookup on every request that sends one.
    key_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    # The first characters of the key, so a user can tell their keys apart in a list.
    prefix: str = Field(sa_column=Column(String(16), nullable=False))
    # Space-separated scopes (links:read links:write stats:read).
    scopes: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = _utc(default=utcnow)
    last_used_at: datetime | None = _utc(nullable=True)
    revoked_at: datetime | None = _utc(nullable=True)


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused: see User

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = _belongs_to_user()  # who made it
    workspace_id: int = _in_workspace()
    url: str = Field(sa_column=Column(String(2048), nullable=False))
    # Comma-separated event names (link.created,link.clicked,...).
    events: str = Field(sa_column=Column(String(200), nullable=False))
    # Signs deliveries, so it is kept as is (it is the receiver's to verify, not a password).
    secret: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = _utc(default=utcnow)


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: the outbox the dispatcher works from, and the log."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        {"sqlite_autoincrement": True},  # ids never reused: see User
    )

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    event: str = Field(sa_column=Column(String(32), nullable=False))
    # The exact JSON body: retries and replays send the same bytes.
    payload: str = Field(sa_column=Column(Text, nullable=False))
    # pending (due at next_attempt_at, or leased by a dispatcher until then), delivered, failed.
    status: str = Field(default="pending", sa_column=Column(String(16), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    status_code: int | None = Field(default=None, sa_column=Column(Integer))
    last_error: str | None = Field(default=None, sa_column=Column(String(300)))
    created_at: datetime = _utc(default=utcnow)
    next_attempt_at: datetime | None = _utc(nullable=True)
    delivered_at: datetime | None = _utc(nullable=True)


class BlockedDomain(SQLModel, table=True):
    """A target domain added to the blocklist by an admin (BLOCKED_DOMAINS adds more)."""

    __tablename__ = "blocked_domains"

    # Normalised: lower-case ASCII (punycode), no trailing dot. Subdomains are blocked too.
    domain: str = Field(sa_column=Column(String(253), primary_key=True))
    reason: str | None = Field(default=None, sa_column=Column(String(300)))
    created_at: datetime = _utc(default=utcnow)


class AuthSession(SQLModel, table=True):
    """One sign-in: what a bearer token or the dashboard cookie stands for, until it ends.

    The token carries `sid` (random, never reused), so ending this row ends that token even
    though it is still signed and unexpired; a user id alone could be reborn, a sid cannot.
    """

    __tablename__ = "auth_sessions"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused: see User

    id: int | None = Field(default=None, primary_key=True)
    sid: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    user_id: int = _belongs_to_user()
    # token (POST /api/auth/token) or dashboard (the sign-in form's cookie).
    kind: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = _utc(default=utcnow)
    # Written at most once a minute per session (see auth/sessions.py), not on every request.
    last_used_at: datetime = _utc(default=utcnow)
    expires_at: datetime = _utc()


class AccountToken(SQLModel, table=True):
    """A password-reset or e-mail verification link, single-use and expiring (auth/links.py).

    Only an HMAC of the token (under SECRET_KEY) is kept: a copy of this table opens nothing.
    """

    __tablename__ = "account_tokens"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused: see User

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    user_id: int = _belongs_to_user()
    # reset or verify: a link made for one never serves the other.
    purpose: str = Field(sa_column=Column(String(16), nullable=False))
    # The user's token_version when issued: a password change since voids a reset link.
    token_version: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = _utc(default=utcnow)
    expires_at: datetime = _utc()
    used_at: datetime | None = _utc(nullable=True)


class RecoveryCode(SQLModel, table=True):
    """A two-factor recovery code: only its SHA-256 is kept; each works once (then deleted)."""

    __tablename__ = "recovery_codes"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused: see User

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = _belongs_to_user()
    code_hash: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = _utc(default=utcnow)


class AuditEvent(SQLModel, table=True):
    """Who did what, when (shortener/audit/). Written in the transaction of the change it
    records, so a change rolled back leaves no event. Never a password, token or secret, and
    never a whole IP address: `ip_prefix` is the /24 (IPv4) or /48 (IPv6) it came from."""

    __tablename__ = "audit_events"
    __table_args__ = {"sqlite_autoincrement": True}  # ids never reused: see User

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))
    # None for a failed sign-in (no account) and once the account is deleted; `actor` keeps
    # the e-mail address it had at the time.
    actor_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True),
    )
    actor: str | None = Field(default=None, sa_column=Column(String(320)))
    action: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    target: str | None = Field(default=None, sa_column=Column(String(300)))
    detail: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    ip_prefix: str | None = Field(default=None, sa_column=Column(String(50)))
    # The workspace acted in, where there was one; no foreign key: the log outlives it.
    workspace_id: int | None = Field(default=None, sa_column=Column(Integer))
