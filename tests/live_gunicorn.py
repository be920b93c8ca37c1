"""The whole app served by real gunicorn workers on 127.0.0.1, and webhooks signed as Twilio signs them.

For the tests that need real processes: several workers racing on one database, a worker's pooled
connections dropped by the server, a request refused before its body is read.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parent.parent
TWILIO_TOKEN = "live-twilio-auth-token"
ERROR_LINES = ("Traceback", "sqlalchemy.exc.", "psycopg.", "sqlite3.")


@dataclass(frozen=True)
class Answer:
    """What the server answered: status, body and headers."""

    status: int
    body: str
    headers: Mapping[str, str]


@dataclass(frozen=True)
class LiveApp:
    """A running gunicorn serving `console:create_app()`; `log` holds what it wrote on stderr."""

    base: str
    port: int
    log: Path

    def post_signed(self, path: str, form: Mapping[str, str], timeout: float = 30) -> Answer:
        """Post a form signed with Twilio's auth token over the URL the app sees, and return the answer."""
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(self.base + path, dict(form))
        body = urllib.parse.urlencode(form).encode()
        request = urllib.request.Request(self.base + path, data=body, headers={"X-Twilio-Signature": signature})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return Answer(answer.status, answer.read().decode(), dict(answer.headers))
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode(errors="replace"), dict(error.headers))

    def get(self, path: str, timeout: float = 30) -> Answer:
        """Request a page and return the answer."""
        try:
            with urllib.request.urlopen(self.base + path, timeout=timeout) as answer:
                return Answer(answer.status, answer.read().decode(), dict(answer.headers))
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.read().decode(errors="replace"), dict(error.headers))

    def logged_errors(self) -> list[str]:
        """Return the lines of the server's log that show a failed request (plain, or a JSON line's error)."""
        errors = []
        for line in self.log.read_text().splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                error = record.get("error", "")
                if error.startswith(ERROR_LINES) or any(marker in error for marker in ERROR_LINES[1:]):
                    errors.append(line)
            elif line.startswith(ERROR_LINES):
                errors.append(line)
        return errors


def free_port() -> int:
    """Return a port nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve_with_gunicorn(database_url: str, folder: Path, *, workers: int = 2, **env: str) -> Iterator[LiveApp]:
    """Serve the whole app on `database_url` with gunicorn (the project's config) until the block ends."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    environment = {
        **os.environ, "PYTHONPATH": str(ROOT), "LOANLINE_DATABASE_URL": database_url,
        "LOANLINE_SECRET_KEY": "live-secret-key", "LOANLINE_INSTANCE_PATH": str(folder / "instance"),
        "LOANLINE_TODAY": "2026-03-20", "LOANLINE_PUBLIC_URL": base, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, **env,
    }  # fmt: skip
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER", "TELEGRAM_BOT_TOKEN", "LOANLINE_REDIS_URL"):
        environment.pop(name, None)
    command = [str(Path(sys.executable).parent / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"),
               "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--chdir", str(ROOT),
               "--log-level", "warning", "console:create_app()"]  # fmt: skip
    log = folder / f"gunicorn-{port}.log"
    with log.open("w") as stderr:
        process = subprocess.Popen(command, env=environment, stderr=stderr)
        try:
            _wait_until_healthy(base, process, log)
            yield LiveApp(base, port, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _wait_until_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 180  # only against a hang: the workers load the app slowly on a busy machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {process.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not start:\n{log.read_text()[-2000:]}")
