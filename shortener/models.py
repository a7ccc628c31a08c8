"""Every table, in one module, so Alembic and the app import one thing and cycles cannot form."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    TypeDecorator,
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


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(sa_column=Column(String(320), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    is_admin: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    is_active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    # Bumped when the password changes or the account is disabled: older tokens stop working.
    token_version: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    created_at: datetime = _utc(default=utcnow)


class Link(SQLModel, table=True):
    __tablename__ = "links"

    id: int | None = Field(default=None, primary_key=True)
    # The unique constraint, not a read before the write, decides who gets an alias.
    key: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    url: str = Field(sa_column=Column(String(2048), nullable=False))
    # MD5 of the URL, hex: finds "this user already shortened this URL with md5" quickly.
    url_md5: str = Field(sa_column=Column(String(32), nullable=False, index=True))
    key_strategy: str = Field(sa_column=Column(String(8), nullable=False))
    owner_id: int = Field(
        sa_column=Column(
            Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
        )
    )
    title: str | None = Field(default=None, sa_column=Column(String(300)))
    created_at: datetime = _utc(default=utcnow, index=True)
    updated_at: datetime = _utc(default=utcnow)
    expires_at: datetime | None = _utc(nullable=True)
    max_clicks: int | None = Field(default=None, sa_column=Column(BigInteger))
    # Redirects granted so far, counted atomically at redirect time; only kept for links with
    # max_clicks, where it must be exact before the click is even queued.
    uses: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    password_hash: str | None = Field(default=None, sa_column=Column(String(255)))
    redirect_type: int = Field(default=302, sa_column=Column(Integer, nullable=False))
    is_active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    # Clicks written by the flusher: the figure the API shows.
    clicks: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


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
    __table_args__ = (Index("ix_clicks_link_id_clicked_at", "link_id", "clicked_at"),)

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
    is_bot: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    visitor_hash: str | None = Field(default=None, sa_column=Column(String(64)))


class BlockedDomain(SQLModel, table=True):
    """A target domain added to the blocklist by an admin (BLOCKED_DOMAINS adds more)."""

    __tablename__ = "blocked_domains"

    # Normalised: lower-case ASCII (punycode), no trailing dot. Subdomains are blocked too.
    domain: str = Field(sa_column=Column(String(253), primary_key=True))
    reason: str | None = Field(default=None, sa_column=Column(String(300)))
    created_at: datetime = _utc(default=utcnow)
