FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=0
WORKDIR /app
COPY pyproject.toml README.md ./
COPY okr_site okr_site
COPY goals goals
COPY checkins checkins
COPY alignment alignment
RUN pip install --no-cache-dir .
COPY . .
# collectstatic needs a key to import settings; the real one comes at run time.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput
RUN useradd --create-home waymark
USER waymark
EXPOSE 8000
CMD ["gunicorn", "okr_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
