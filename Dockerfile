# The one image behind web (gunicorn), worker, beat and migrate in docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# WeasyPrint (PDF letters) needs Pango and HarfBuzz; the letters ask for Liberation or DejaVu fonts.
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 shared-mime-info \
        fonts-liberation fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# manage.py backup / restore (procedure/backup.py) run pg_dump and pg_restore of the server's major version
# (docker-compose.yml's db is PostgreSQL 16): PostgreSQL's own apt repository has that client on any Debian.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && install -d /usr/share/postgresql-common/pgdg \
    && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc \
    && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt $(. /etc/os-release && echo "$VERSION_CODENAME")-pgdg main" \
        > /etc/apt/sources.list.d/pgdg.list \
    && apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client-16 \
    && apt-get purge -y curl && apt-get autoremove -y \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Locked runtime dependencies only (no dev tools), every file checked against its hash.
COPY requirements/base.txt requirements/base.txt
RUN pip install --require-hashes --no-deps -r requirements/base.txt

COPY . .

# Static files are collected into the image and served by WhiteNoise. The key exists only
# for this build step: the production settings refuse to load without a real one.
RUN DJANGO_ENV=production \
    SECRET_KEY="$(python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
    ALLOWED_HOSTS=localhost \
    python manage.py collectstatic --noinput

# A non-root user owns only what it must write: private files and beat's schedule (volumes).
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin app \
    && mkdir -p /app/var/private /app/var/beat \
    && chown -R app:app /app/var

USER app
ENV DJANGO_ENV=production
EXPOSE 8000
# The access log names the path only, never the query string (a search may hold a client's name),
# and never a client link's token (jpdit_complaints/gunicorn_logging.py).
CMD ["gunicorn", "jpdit_complaints.wsgi", "--config", "python:jpdit_complaints.gunicorn_conf", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-", \
     "--access-logformat", "%(h)s %(t)s \"%(m)s %(U)s %(H)s\" %(s)s %(b)s %(M)sms", \
     "--logger-class", "jpdit_complaints.gunicorn_logging.MaskedTokenLogger"]
