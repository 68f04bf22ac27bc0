"""The composition root: the one place that names every domain and builds the studio from them.

A new service is a folder with a `wiring.py` exporting `DOMAIN`, plus one line in DOMAINS.
"""

from __future__ import annotations

from services.admin import wiring as admin
from services.ai_job import wiring as ai_job
from services.common.app import App
from services.common.config import Settings
from services.common.registry import Domain, ServiceSpec
from services.credits import wiring as credits
from services.credits.credits_service import CreditsService
from services.project import wiring as project
from services.user import wiring as user
from services.user.new_accounts import NewAccountHooks
from services.youtube import wiring as youtube

DOMAINS: tuple[Domain, ...] = (
    user.DOMAIN,
    project.DOMAIN,
    credits.DOMAIN,
    ai_job.DOMAIN,
    youtube.DOMAIN,
    admin.DOMAIN,
)

SERVICES: dict[str, ServiceSpec] = {
    spec.key: spec for domain in DOMAINS for spec in domain.services
}


def _new_account_hooks(app: App) -> NewAccountHooks:
    """Grant a new account this month's allowance at once, not at the next periodic grant."""
    credits_service = app.get(CreditsService)

    async def first_allowance(user_id: int) -> None:
        # The monthly grant itself: once per user and month, so the periodic work skips it.
        await credits_service.reset_monthly_credits(user_id=user_id)

    return NewAccountHooks((first_allowance,))


def build_app(settings: Settings) -> App:
    """Return an App that can build every domain's facades."""
    session_checks = [domain.session_check for domain in DOMAINS if domain.session_check]
    providers = {kind: make for domain in DOMAINS for kind, make in domain.providers.items()}
    # Work that crosses domains is wired here, the one place that knows them all.
    providers[NewAccountHooks] = _new_account_hooks
    return App.create(
        settings,
        providers=providers,
        session_check=session_checks[0] if session_checks else None,
    )


def start_background(app: App) -> None:
    """Start the process's periodic work: the runtime's, then every domain's."""
    app.start_background(tuple(domain.start for domain in DOMAINS if domain.start))


def resolve(keys: str | list[str] | None) -> list[ServiceSpec]:
    """Return the specs named by a comma list or a list of keys ("all" or None: every one)."""
    if keys is None or keys == "all":
        return list(SERVICES.values())
    names = [k.strip() for k in keys.split(",")] if isinstance(keys, str) else keys
    unknown = [name for name in names if name not in SERVICES]
    if unknown or not names:
        raise ValueError(
            f"unknown services {unknown or names}; choose from {', '.join(SERVICES)} or 'all'"
        )
    return [SERVICES[name] for name in dict.fromkeys(names)]
