"""The links and transfer services called directly, as the API, the dashboard and the CLI call
them: the rules, ownership and the cache, without HTTP in between (both storage modes)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from shortener.auth.service import create_user
from shortener.db import commit
from shortener.errors import Conflict, Invalid, NotFound
from shortener.links import service, validation
from shortener.links.context import LinkContext
from shortener.links.schemas import LinkCreate, LinkUpdate
from shortener.main import ShortenerApp
from shortener.transfer import service as transfer
from shortener.transfer.formats import ImportRow, RowError
from shortener.workspaces.acting import Acting
from shortener.workspaces.service import acting_as


@pytest.fixture
def settings(make_settings):  # type: ignore[no-untyped-def]
    return make_settings(blocked_domains="evil.example")


@pytest.fixture
async def session(app: ShortenerApp) -> AsyncIterator[AsyncSession]:
    async with app.runtime.sessionmaker() as s:
        yield s
        await commit(s)


@pytest.fixture
def ctx(app: ShortenerApp) -> LinkContext:
    return app.runtime.link_context


async def _user(session: AsyncSession, email: str, *, admin: bool = False) -> Acting:
    """A new account, acting in its personal workspace (as the API's default)."""
    user = await create_user(session, email=email, password="a long password", is_admin=admin)
    return await acting_as(session, user=user)


async def test_create_stores_the_normalised_url_and_refuses_what_the_rules_refuse(
    session: AsyncSession, ctx: LinkContext
) -> None:
    owner = await _user(session, "svc-a@example.com")
    link, created = await service.create_link(
        session, acting=owner, data=LinkCreate(url="HTTPS://Example.COM:443/a"), ctx=ctx, quota=None
    )
    assert created and link.url == "https://example.com/a"
    for url, words in (
        ("https://www.evil.example/", "evil.example"),
        ("http://short.test/x", "back at this service"),
        ("javascript:alert(1)", "http"),
    ):
        with pytest.raises(Invalid) as refused:
            await service.create_link(
                session, acting=owner, data=LinkCreate(url=url), ctx=ctx, quota=None
            )
        assert words in str(refused.value.detail), url


async def test_md5_keys_return_the_existing_link_and_aliases_clash(
    session: AsyncSession, ctx: LinkContext
) -> None:
    owner = await _user(session, "svc-b@example.com")
    data = LinkCreate(url="https://example.com/md5", key_strategy="md5")
    first, created = await service.create_link(
        session, acting=owner, data=data, ctx=ctx, quota=None
    )
    again, created_again = await service.create_link(
        session, acting=owner, data=data, ctx=ctx, quota=None
    )
    assert created and not created_again and again.id == first.id
    await service.create_link(
        session, acting=owner, data=LinkCreate(url="https://a.example/", alias="svc-taken"),
        ctx=ctx, quota=None,
    )  # fmt: skip
    with pytest.raises(Conflict):
        await service.create_link(
            session, acting=owner, data=LinkCreate(url="https://b.example/", alias="svc-taken"),
            ctx=ctx, quota=None,
        )  # fmt: skip


async def test_others_links_do_not_exist_for_a_user_and_admins_see_all(
    session: AsyncSession, ctx: LinkContext
) -> None:
    owner = await _user(session, "svc-c@example.com")
    other = await _user(session, "svc-d@example.com")
    admin = await _user(session, "svc-admin@example.com", admin=True)
    link, _ = await service.create_link(
        session, acting=owner, data=LinkCreate(url="https://c.example/"), ctx=ctx, quota=None
    )
    with pytest.raises(NotFound):
        await service.get_link(session, acting=other, key=link.key)
    with pytest.raises(NotFound):
        await service.update_link(
            session, acting=other, key=link.key, data=LinkUpdate(title="x"), ctx=ctx
        )
    assert (await service.get_link(session, acting=admin, key=link.key)).id == link.id


async def test_an_update_is_checked_like_a_create(session: AsyncSession, ctx: LinkContext) -> None:
    owner = await _user(session, "svc-e@example.com")
    link, _ = await service.create_link(
        session, acting=owner, data=LinkCreate(url="https://e.example/"), ctx=ctx, quota=None
    )
    with pytest.raises(Invalid):
        await service.update_link(
            session,
            acting=owner,
            key=link.key,
            data=LinkUpdate(variants=[{"url": "https://x.evil.example/"}, {"url": "https://o/"}]),
            ctx=ctx,
        )
    changed = await service.update_link(
        session, acting=owner, key=link.key, data=LinkUpdate(url="https://E.example/new"), ctx=ctx
    )
    assert changed.url == "https://e.example/new"


async def test_prepare_needs_no_database_and_hashes_the_password(ctx: LinkContext) -> None:
    new = await validation.prepare(LinkCreate(url="https://p.example/", password="pw"), ctx)
    assert new.columns["password_hash"].startswith("$argon2")
    assert new.fields == [("url", "https://p.example/")]


async def test_import_checks_rows_with_the_same_rules(
    session: AsyncSession, ctx: LinkContext
) -> None:
    owner = await _user(session, "svc-f@example.com")
    rows: list[ImportRow | RowError] = [
        ImportRow(line=2, url="https://fine.example/", key="svc-imp"),
        ImportRow(line=3, url="https://evil.example/", key="svc-blk"),
        ImportRow(line=4, url="https://short.test/", key="svc-loop"),
        RowError(line=5, detail="unreadable"),
        ImportRow(line=6, url="https://fine.example/", key="svc-imp"),  # the same row again
    ]
    result = await transfer.import_links(
        session, acting=owner, rows=rows, ctx=ctx, quota=None, format_name="ours"
    )
    assert (result.created, result.skipped) == (1, 1)
    assert [e.line for e in result.errors] == [3, 4, 5]
    assert "evil.example" in result.errors[0].detail
