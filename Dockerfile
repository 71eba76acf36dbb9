# The facility image: the `facility` CLI (serve, db upgrade, dashboards build, simulate, ...).
# Built by docker-compose.yml; every service there runs a `facility` sub-command in it.
#
#   docker build -t facility .
#   docker run --rm facility facility --help

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY facility ./facility
COPY gateway ./gateway
COPY rules ./rules
COPY maintenance ./maintenance
COPY dashboards ./dashboards
COPY simulators ./simulators
COPY console ./console
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

FROM python:3.12-slim
ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    FACILITY_DATA_DIR=/data \
    FACILITY_RULES_FILE=/etc/facility/rules/office.yaml
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin facility \
    && mkdir -p /data /dashboards /etc/facility \
    && chown facility:facility /data /dashboards
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels "facility[postgres]" \
    && rm -rf /wheels
# The shipped rules are not package data; copy them where FACILITY_RULES_FILE points.
COPY rules/examples /etc/facility/rules
USER facility
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
CMD ["facility", "serve", "--host", "0.0.0.0", "--port", "8000"]
