# One image for every Loanline process: the command (compose.yaml, deploy/Procfile) says which.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    LOANLINE_INSTANCE_PATH=/var/lib/loanline PROMETHEUS_MULTIPROC_DIR=/run/loanline/metrics

# WeasyPrint's Pango and the fonts of every script borrowers write (docs/documents.md); pg_dump for backups
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
      fonts-noto-core fonts-noto-cjk postgresql-client \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY servicing ./servicing
COPY bot ./bot
COPY console ./console
COPY loanline ./loanline
COPY locales ./locales
COPY babel.cfg gunicorn.conf.py ./
COPY deploy ./deploy
RUN pip install -e . \
 && pybabel compile -d locales -D bot >/dev/null \
 && pybabel compile -d locales -D documents >/dev/null \
 && useradd --system --home /var/lib/loanline --shell /usr/sbin/nologin loanline \
 && mkdir -p /var/lib/loanline /run/loanline/metrics \
 && chown -R loanline:loanline /var/lib/loanline /run/loanline

USER loanline
EXPOSE 8000 8081
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)" || exit 1
CMD ["gunicorn", "--config", "gunicorn.conf.py", "--bind", "0.0.0.0:8000", "console:create_app()"]
