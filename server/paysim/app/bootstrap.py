"""Start-up of one process: open the adapters, migrate the database, build the services (the
composition root is wiring.py), and create the first admin when configured."""

from __future__ import annotations

from paysim.app.adapters import open_adapters
from paysim.app.container import App
from paysim.app.wiring import build_app
from paysim.config import Settings
from paysim.services import first_admin
from paysim.services.clock import Clock, system_clock
from paysim.store import migrate

__all__ = ["App", "bootstrap", "ensure_admin"]


async def bootstrap(settings: Settings, *, clock: Clock = system_clock, run_migrations: bool = True) -> App:
    adapters = open_adapters(settings, clock)
    if run_migrations:
        await migrate.upgrade(adapters.engine)
    if adapters.payment_pool is not None:
        await adapters.payment_pool.open(wait=False)
    app = build_app(settings, adapters)
    if settings.bootstrap_admin_email and settings.bootstrap_admin_password:
        await ensure_admin(app, settings.bootstrap_admin_email, settings.bootstrap_admin_password)
    return app


async def ensure_admin(app: App, email: str, password: str, full_name: str = "Administrator") -> bool:
    """Create an admin account in ``app``'s database unless one with this email exists. True if it was created."""
    return await first_admin.ensure_admin(app.accounts, app.unit_of_work, email, password, full_name)
