"""deploy/: the Procfile is the one description of the processes; compose.yaml and the systemd units run exactly
its commands, each of which starts here; the image builds and serves when Docker works (docs/operations.md)."""

from __future__ import annotations

import configparser
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from loanline.cli import main

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KINDS = {"release", "web", "worker", "scheduler", "telegram"}
UNITS = {"release": "loanline-migrate.service", "web": "loanline-web.service", "worker": "loanline-worker@.service",
         "scheduler": "loanline-scheduler.service", "telegram": "loanline-telegram.service"}  # fmt: skip


def procfile() -> dict[str, str]:
    """Return the Procfile's processes: kind -> command."""
    lines = [line for line in (DEPLOY / "Procfile").read_text().splitlines() if line and not line.startswith("#")]
    return {kind.strip(): command.strip() for kind, _, command in (line.partition(":") for line in lines)}


def test_the_procfile_names_every_kind_of_process() -> None:
    assert set(procfile()) == KINDS


def test_compose_runs_the_procfiles_commands() -> None:
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert {name: services[name]["command"] for name in KINDS} == procfile()
    assert services["postgres"]["image"].startswith("postgres:")
    for kind in KINDS - {"release"}:
        assert services[kind]["depends_on"]["release"]["condition"] == "service_completed_successfully"


def test_each_systemd_unit_runs_its_procfile_command_from_the_installed_venv() -> None:
    commands = procfile()
    for kind, unit in UNITS.items():
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.read(DEPLOY / "systemd" / unit)
        executable, *arguments = shlex.split(parser["Service"]["ExecStart"])
        assert executable == f"/opt/loanline/.venv/bin/{shlex.split(commands[kind])[0]}"
        assert arguments == shlex.split(commands[kind])[1:], unit
        assert parser["Service"]["EnvironmentFile"] == "/etc/loanline/loanline.env"


@pytest.mark.parametrize("kind", sorted(KINDS - {"web"}))
def test_each_loanline_command_of_the_procfile_exists(kind: str) -> None:
    program, *arguments = shlex.split(procfile()[kind])
    assert program == "loanline"
    result = CliRunner().invoke(main, [*arguments, "--help"], prog_name="loanline")
    assert result.exit_code == 0, result.output


def test_the_web_command_loads_its_gunicorn_configuration_and_app(tmp_path: Path) -> None:
    program, *arguments = shlex.split(procfile()["web"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOANLINE_SECRET_KEY": "x" * 32,
           "LOANLINE_INSTANCE_PATH": str(tmp_path), "LOANLINE_DATABASE_URL": f"sqlite:///{tmp_path}/l.db"}  # fmt: skip
    gunicorn = str(Path(sys.executable).parent / program)
    done = subprocess.run([gunicorn, "--check-config", *arguments], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_nginx_example_forwards_what_the_app_trusts_and_guards_metrics() -> None:
    conf = (DEPLOY / "nginx" / "loanline.conf").read_text()
    for header in ("X-Forwarded-For $remote_addr", "X-Forwarded-Proto $scheme", "X-Forwarded-Host $host",
                   "X-Request-Id $request_id"):  # fmt: skip
        assert f"proxy_set_header {header};" in conf
    assert "location = /metrics" in conf and "deny all;" in conf
    assert "location /telegram/" in conf
    env = (DEPLOY / "loanline.env.example").read_text()
    assert "LOANLINE_PROXY_HOPS=1" in env and "LOANLINE_PUBLIC_URL=https://" in env


def test_gunicorn_keeps_an_idle_connection_open_longer_than_nginx_reuses_it(tmp_path: Path) -> None:
    # threaded workers keep connections between requests: if gunicorn closed an idle one first, nginx could send a
    # webhook on it as it closes, and nginx does not retry a POST on another connection (a 502 for Twilio)
    conf = (DEPLOY / "nginx" / "loanline.conf").read_text()
    upstream = next(line for line in conf.splitlines() if line.startswith("upstream loanline_web"))
    nginx_seconds = int(upstream.split("keepalive_timeout", 1)[1].split("s;", 1)[0])
    program, *arguments = shlex.split(procfile()["web"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOANLINE_INSTANCE_PATH": str(tmp_path)}
    printed = subprocess.run([str(Path(sys.executable).parent / program), "--print-config", *arguments], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=120, check=True).stdout  # fmt: skip
    lines = (line.partition(" = ") for line in printed.splitlines())
    settings = {name.strip(): value.strip() for name, _, value in lines}
    assert settings["worker_class"] == "gthread" and int(settings["threads"]) == 4
    assert int(settings["keepalive"]) > nginx_seconds


def docker_works() -> str | None:
    """Return why Docker cannot build here, or None when its daemon answers."""
    if shutil.which("docker") is None:
        return "docker is not installed"
    done = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        return f"the Docker daemon does not answer: {done.stderr.strip().splitlines()[-1] if done.stderr else ''}"
    return None


@pytest.mark.slow
def test_the_image_builds_and_answers_help_and_healthz() -> None:
    reason = docker_works()
    if reason:
        pytest.skip(reason)
    tag = "loanline-test:latest"
    subprocess.run(["docker", "build", "-t", tag, str(ROOT)], check=True, timeout=1800)
    done = subprocess.run(["docker", "run", "--rm", tag, "loanline", "--help"], capture_output=True, text=True,
                          timeout=300, check=True)  # fmt: skip
    assert "scheduler" in done.stdout
    script = ("loanline init && (gunicorn --config gunicorn.conf.py --bind 127.0.0.1:8000 'console:create_app()' &) "
              "&& sleep 15 && python -c \"import urllib.request;"
              "print(urllib.request.urlopen('http://127.0.0.1:8000/readyz').read().decode())\"")  # fmt: skip
    done = subprocess.run(["docker", "run", "--rm", "-e", "LOANLINE_SECRET_KEY=" + "x" * 32, tag, "sh", "-c", script],
                          capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert "ready" in done.stdout, done.stderr[-2000:]
