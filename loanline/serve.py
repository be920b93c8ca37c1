"""`loanline run`: migrate the database, then serve everything on one machine.

It serves the database as it is: it loads no demo and creates no login (`loanline demo` does both, and
`make run` runs it first). On a database nobody can log in to, it says how to add a login. The borrower
simulator is mounted only on a demo database or with LOANLINE_SIMULATOR=1.

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
from werkzeug.serving import BaseWSGIServer, make_server

from bot.channels.telegram import poll_until
from bot.engine import Engine
from bot.flood import flood_limit
from loanline.runtime import Runtime
from loanline.worker import start_worker_thread
from servicing.demo.portfolio import demo_is_loaded
from servicing.specialists import anyone_can_log_in

log = logging.getLogger(__name__)
WORKER_GRACE_SECONDS = 30.0


NO_LOGIN = (
    "No one can log in to the console yet. Add a login with:\n"
    "  loanline specialist add USERNAME --role admin\n"
    "(or load the demo portfolio and its logins with `loanline demo`)."
)


def prepare(rt: Runtime) -> bool:
    """Migrate the schema (always: an older database gains new tables); return whether to mount the simulator.

    Says how to add a console login when there is none; never creates one.
    """
    rt.init_database()
    with rt.sessions() as session:
        demo = demo_is_loaded(session)
        if not anyone_can_log_in(session):
            click.echo(NO_LOGIN)
    return rt.settings.simulator or demo


def serve(host: str, port: int) -> None:
    """Serve the console, the webhooks, the simulator and Telegram, with the outbox worker, until signalled."""
    from console import create_app

    rt = Runtime.start()
    try:
        simulator = prepare(rt)
        web = make_server(host, port, create_app({"LOANLINE_SIMULATOR": simulator}), threaded=True)
        settle_long_lived_objects()
        serving = threading.Thread(target=web.serve_forever, name="web", daemon=True)
        worker, stop_worker = start_worker_thread(rt)
        try:
            asyncio.run(serve_until_signalled(rt, web, serving, simulator=simulator))
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


async def serve_until_signalled(
    rt: Runtime, web: BaseWSGIServer, serving: threading.Thread, *, simulator: bool
) -> None:
    """Take SIGINT and SIGTERM, start serving the web, then poll Telegram (if configured) until a signal."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    serving.start()  # only now: once /healthz answers, a signal stops everything cleanly
    click.echo(f"Loanline console: http://{web.host}:{web.port}/console/  (Ctrl-C to stop)")
    if simulator:
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
        engine = Engine(rt.sessions, rt.settings, flood=flood_limit(rt.settings))
        await poll_until(stop, rt.settings, engine, rt.telegram_api())
    except TelegramAPIError as error:  # a wrong token, Telegram unreachable at start-up
        log.error("Telegram refused: %s; serving without Telegram", error.message)
