# One recipe for every service's image; docker-compose.yml and README pass each one's
# arguments. Build from the repository root, for example:
#   docker build --build-arg SERVICE=sla-monitor --build-arg PACKAGE=sla_monitor --build-arg PORT=8003 .
# SERVICE is the folder under services/, PACKAGE the module `python -m` runs, PORT the one it listens on.
FROM python:3.11-slim

ARG SERVICE
ARG PACKAGE
ARG PORT
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    BIND_HOST=0.0.0.0 \
    SERVICE_PACKAGE=${PACKAGE}

WORKDIR /app
COPY services/${SERVICE}/requirements.txt requirements.txt
RUN pip install --no-cache-dir --require-hashes -r requirements.txt

COPY shared shared
COPY services/${SERVICE} services/${SERVICE}
# var/ holds what a service writes on its own disk (the notifier's .eml files under var/mail).
RUN pip install --no-cache-dir --no-deps --no-build-isolation ./shared ./services/${SERVICE} \
    && useradd --system --uid 10001 --home /app app \
    && mkdir -p /app/var/mail && chown -R app /app/var

USER app
EXPOSE ${PORT}
# exec: the service itself receives the container's SIGTERM and stops cleanly.
CMD ["sh", "-c", "exec python -m \"$SERVICE_PACKAGE\" run"]
