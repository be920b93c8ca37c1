"""`loanline run`: migrate the database, load the demo on first start, then serve everything on one machine.

The main thread runs an asyncio loop that owns SIGINT and SIGTERM: it polls Telegram when
TELEGRAM_BOT_TOKEN is set, or only waits for a signal otherwise. The console, the webhooks and the
simulator are served by Werkzeug in a thread, and the outbox worker runs in another. On a signal,
Telegram's turns in hand are finished, the web server stops, the worker finishes the send in hand, and
everything unsent stays in the outbox.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading

import click
from aiogram.exceptions import TelegramAPIError
from sqlalchemy import func, select
from werkzeug.serving import BaseWSGIServer, make_server

from bot.channels.telegram import poll_until
from bot.engine import Engine
from loanline.runtime import Runtime
from loanline.worker import start_worker_thread
from servicing.demo.portfolio import load_demo
from servicing.specialists import add_demo_specialists
from servicing.store.models import Loan

log = logging.getLogger(__name__)
WORKER_GRACE_SECONDS = 30.0


def prepare(rt: Runtime) -> None:
    """Migrate the schema (always: an older database gains new tables), load the demo once, print the logins."""
    rt.init_database()
    with rt.sessions() as session:
        empty = not session.scalar(select(func.count()).select_from(Loan))
    if empty:
        click.echo(load_demo(rt.sessions, secret=rt.settings.secret_key, as_of=rt.today(), country=rt.settings.country))
    add_demo_logins(rt)


def add_demo_logins(rt: Runtime) -> None:
    """Create the demo's console logins (one per role) if missing and print them with their passwords."""
    with rt.sessions.begin() as session:
        logins = add_demo_specialists(session, rt.settings.secret_key)
    click.echo("Console logins (demo):")
    for username, role, password in logins:
        click.echo(f"  {username:<12} {role.value:<11} password: {password}")


def serve(host: str, port: int) -> None:
    """Serve the console, the webhooks, the simulator and Telegram, with the outbox worker, until signalled."""
    from console import create_app

    rt = Runtime.start()
    try:
        prepare(rt)
        web = make_server(host, port, create_app({"LOANLINE_SIMULATOR": True}), threaded=True)
        settle_long_lived_objects()
        serving = threading.Thread(target=web.serve_forever, name="web", daemon=True)
        worker, stop_worker = start_worker_thread(rt)
        try:
            asyncio.run(serve_until_signalled(rt, web, serving))
        finally:
            if serving.is_alive():
                web.shutdown()  # no new requests; one in hand finishes in its own transaction or rolls back
            web.server_close()
            stop_worker.set()  # the worker finishes the send in hand; unsent messages stay in the outbox
            worker.join(timeout=WORKER_GRACE_SECONDS)
        click.echo("Loanline stopped; unsent messages stay in the outbox.")
    finally:
        rt.close()


def settle_long_lived_objects() -> None:
    """Move everything the app built at start into the garbage collector's permanent generation.

    A full collection otherwise walks the ~300k objects of the loaded libraries and pauses a request for
    100-800 ms (docs/console-performance.md); frozen, the longest pause is a few milliseconds.
    """
    gc.collect()
    gc.freeze()


async def serve_until_signalled(rt: Runtime, web: BaseWSGIServer, serving: threading.Thread) -> None:
    """Take SIGINT and SIGTERM, start serving the web, then poll Telegram (if configured) until a signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    serving.start()  # only now: once /healthz answers, a signal stops everything cleanly
    click.echo(f"Loanline console: http://{web.host}:{web.port}/console/  (Ctrl-C to stop)")
    click.echo(f"Borrower simulator: http://{web.host}:{web.port}/simulator/")
    try:
        await answer_telegram(rt, stop)
        await stop.wait()
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)


async def answer_telegram(rt: Runtime, stop: asyncio.Event) -> None:
    """Poll Telegram until `stop` is set; without a token, or when Telegram refuses, the rest keeps running."""
    token = rt.settings.telegram_bot_token
    if not token:
        click.echo("Telegram: TELEGRAM_BOT_TOKEN not set; the bot answers on SMS and the simulator only.")
        return
    click.echo("Telegram: polling for updates.")
    try:
        await poll_until(stop, rt.settings, Engine(rt.sessions, rt.settings), rt.telegram_api())
    except TelegramAPIError as error:  # a wrong token, Telegram unreachable at start-up
        log.error("Telegram refused: %s; serving without Telegram", error.message)
