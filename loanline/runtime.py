"""The runtime: settings, engine and sessions, created on demand (never at import time)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import inspect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from servicing.ach.vault import Vault
from servicing.config import Settings
from servicing.store.db import make_engine, make_session_factory
from servicing.store.migrate import upgrade_database

if TYPE_CHECKING:
    from aiogram.client.telegram import TelegramAPIServer


@dataclass
class Runtime:
    """What every entry point needs: configuration, a database engine and a session factory."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]

    @classmethod
    def start(cls, settings: Settings | None = None) -> Runtime:
        """Create the runtime from settings (the environment unless given)."""
        settings = settings or Settings.from_env()
        engine = make_engine(settings.database_url)
        return cls(settings, engine, make_session_factory(engine))

    def today(self) -> date:
        """Return today's date in the servicer's time zone (LOANLINE_TODAY overrides it for demos and tests)."""
        return self.settings.today()

    def is_initialised(self) -> bool:
        """Tell whether the schema exists."""
        return inspect(self.engine).has_table("loans")

    def init_database(self) -> None:
        """Create or migrate the schema."""
        if self.engine.url.get_backend_name() == "sqlite" and self.engine.url.database:
            self.settings.instance_path.mkdir(parents=True, exist_ok=True)
        upgrade_database(self.engine)

    def telegram_api(self) -> TelegramAPIServer | None:
        """Return the Bot API server: Telegram's unless TELEGRAM_API_URL names another (a local one, a test double)."""
        from aiogram.client.telegram import TelegramAPIServer

        base = self.settings.telegram_api_url
        return TelegramAPIServer.from_base(base) if base else None

    def vault(self) -> Vault:
        """Return the vault that encrypts bank account numbers with this deployment's data keys."""
        return Vault(self.settings.data_keys)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()
