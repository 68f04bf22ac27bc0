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
from services.project import wiring as project
from services.user import wiring as user
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


def build_app(settings: Settings) -> App:
    """Return an App that can build every domain's facades."""
    session_checks = [domain.session_check for domain in DOMAINS if domain.session_check]
    return App.create(
        settings,
        providers={kind: make for domain in DOMAINS for kind, make in domain.providers.items()},
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
