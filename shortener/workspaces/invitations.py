"""Inviting someone: the invitation (workspaces.members.invite), its link, and the e-mail
when an address is given and SMTP is configured. The API and the dashboard's workspace page
both invite through `send_invitation`, so the link and the mail are the same either way."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from shortener.auth.reset import send_after_commit
from shortener.config import Settings
from shortener.mail import Mailer
from shortener.models import Invitation, User, Workspace
from shortener.workspaces import members
from shortener.workspaces.roles import Role

INVITE_MAIL = """\
{who} invites you to the workspace "{name}" at {site} as {role}.

Sign in (or create an account) and accept it here (the link works once, for 7 days):

{link}
"""


@dataclass(frozen=True, slots=True)
class Invited:
    invitation: Invitation
    token: str  # shown once: only its hash is kept
    url: str  # the dashboard's page that accepts it
    mailed: bool


def invitation_url(settings: Settings, token: str) -> str:
    return f"{settings.base_url}/dashboard/invitations/{token}"


async def send_invitation(
    session: AsyncSession,
    *,
    settings: Settings,
    mailer: Mailer,
    by: User,
    by_role: Role,
    workspace: Workspace,
    role: Role,
    email: str | None,
) -> Invited:
    """Invite as `role`; the mail (if any) leaves once the invitation is committed."""
    invitation, token = await members.invite(
        session, by=by, by_role=by_role, workspace=workspace, role=role, email=email
    )
    url = invitation_url(settings, token)
    mailed = email is not None and mailer.configured
    if email is not None and mailed:
        text = INVITE_MAIL.format(
            who=by.email, name=workspace.name, site=settings.base_host, role=role, link=url
        )
        send_after_commit(
            session,
            mailer,
            to=email,
            subject=f"Join {workspace.name}",
            body=text,
            about=f"invitation {invitation.id}",
        )
    return Invited(invitation, token, url, mailed)
