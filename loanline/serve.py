"""`loanline run`: initialise an empty database with the demo portfolio, then serve the console."""

from __future__ import annotations

import click
from werkzeug.serving import run_simple

from loanline.runtime import Runtime


def prepare(rt: Runtime) -> None:
    """Create the schema and load the demo portfolio the first time the system starts."""
    from sqlalchemy import func, select

    from servicing.demo import load_demo
    from servicing.models import Loan

    if not rt.is_initialised():
        rt.init_database()
    with rt.sessions() as session:
        empty = not session.scalar(select(func.count()).select_from(Loan))
    if empty:
        click.echo(load_demo(rt.sessions, secret=rt.settings.secret_key, as_of=rt.today(), country=rt.settings.country))


def serve(host: str, port: int) -> None:
    """Serve the console until interrupted."""
    from console import create_app

    rt = Runtime.start()
    try:
        prepare(rt)
    finally:
        rt.close()
    app = create_app()
    click.echo(f"Loanline console: http://{host}:{port}/console/  (Ctrl-C to stop)")
    run_simple(host, port, app, threaded=True, use_reloader=False)
