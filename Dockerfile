# paysim: the gRPC payment-platform simulator.
#   docker build -t paysim .
#   docker run --rm -p 50051:50051 -v paysim-data:/data paysim
# server/check_image.py performs these steps outside Docker (server/dev.py test runs it, and hadolint).

# The base image by digest, so that every build starts from the same bytes. To move to a newer
# python:3.11-slim, replace the digest with the one `docker buildx imagetools inspect python:3.11-slim`
# prints, in both FROM lines.

# --- builder: wheels for the contract, the client, the server and every dependency ---------------
FROM python:3.11-slim@sha256:be1575ed968de893bd54f4c56315ff7c4736ce522c1bca08fd521731aafc0d76 AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
COPY proto/python/ proto/python/
COPY clients/python/ clients/python/
COPY pyproject.toml README.md ./
COPY server/paysim/ server/paysim/

# The three local projects in one command, so the "paysim-proto" and "paysim-client" requirements
# are satisfied by the ones built here, never by packages of those names from an index.
RUN pip wheel --wheel-dir /wheels ./proto/python ./clients/python .

# --- runtime: the wheels installed offline, run as an unprivileged user (uid and gid 10001) ------
FROM python:3.11-slim@sha256:be1575ed968de893bd54f4c56315ff7c4736ce522c1bca08fd521731aafc0d76 AS runtime

# Listening on every interface is plaintext unless PAYSIM_TLS_CERT/PAYSIM_TLS_KEY are given:
# PAYSIM_INSECURE says that is meant (TLS ends at the load balancer or mesh in front, and the
# HEALTHCHECK below and Kubernetes' gRPC probes speak plaintext).
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PAYSIM_LISTEN=0.0.0.0:50051 \
    PAYSIM_INSECURE=true \
    PAYSIM_DATA_DIR=/data

# The wheels were built from this very source tree in the builder stage: their versions are fixed
# by it, not by an index.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels paysim \
    && groupadd --system --gid 10001 paysim \
    && useradd --system --uid 10001 --gid paysim --home-dir /data --shell /usr/sbin/nologin paysim \
    && mkdir -p /data \
    && chown paysim:paysim /data \
    && chmod 0700 /data

COPY deploy/docker-entrypoint.sh /usr/local/bin/paysim-entrypoint

# Numeric, so that the host (and Kubernetes' runAsNonRoot) can tell who owns what the container writes.
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 50051

# grpc.health.v1 Check against the port in PAYSIM_LISTEN; exit 0 only when SERVING.
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os,sys,grpc;from grpc_health.v1 import health_pb2 as h,health_pb2_grpc as g;p=os.environ.get('PAYSIM_LISTEN','0.0.0.0:50051').rsplit(':',1)[-1];r=g.HealthStub(grpc.insecure_channel('127.0.0.1:'+p)).Check(h.HealthCheckRequest(),timeout=3);sys.exit(0 if r.status==h.HealthCheckResponse.SERVING else 1)"]

# SIGTERM (docker stop) drains in-flight calls for PAYSIM_GRACE_SECONDS (10 s by default):
# give docker stop a longer timeout than that, e.g. docker stop -t 15.
STOPSIGNAL SIGTERM
ENTRYPOINT ["paysim-entrypoint"]
CMD ["paysim", "serve"]
