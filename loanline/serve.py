"""`loanline run`: migrate the database, load the demo on first start, then serve everything on one machine."""

from __future__ import annotations

import click
from sqlalchemy import func, select
from werkzeug.serving import run_simple

from loanline.runtime import Runtime
from loanline.worker import start_worker_thread
from servicing.demo import load_demo
from servicing.models import Loan
from servicing.specialists import add_demo_specialists


def prepare(rt: Runtime) -> None:
    """Migrate the schema (always: an older database gains new tables), load the demo once, print the logins."""
    rt.init_database()
    with rt.sessions() as session:
        empty = not session.scalar(select(func.count()).select_from(Loan))
    if empty:
        click.echo(load_demo(rt.sessions, secret=rt.settings.secret_key, as_of=rt.today(), country=rt.settings.country))
    with rt.sessions.begin() as session:
        logins = add_demo_specialists(session, rt.settings.secret_key)
    click.echo("Console logins (demo):")
    for username, role, password in logins:
        click.echo(f"  {username:<12} {role.value:<11} password: {password}")


def serve(host: str, port: int) -> None:
    """Serve the console and the webhooks, with the outbox worker alongside, until interrupted."""
    from console import create_app

    rt = Runtime.start()
    prepare(rt)
    worker, stop = start_worker_thread(rt)
    app = create_app()
    click.echo(f"Loanline console: http://{host}:{port}/console/  (Ctrl-C to stop)")
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        stop.set()  # the worker finishes the send in hand; unsent messages stay in the outbox
        worker.join(timeout=30)
        rt.close()
