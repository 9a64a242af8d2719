# syntax=docker/dockerfile:1
#
# authd container image.
#
#   docker build \
#     --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ) \
#     -t authd:dev .
#   docker run --rm -p 8080:8080 -p 9090:9090 authd:dev serve --dev
#
# Needs BuildKit (the default builder since Docker 23). Multi-arch:
#   docker buildx build --platform linux/amd64,linux/arm64 ...
# (the build stage runs natively and cross-compiles; CGO is off).

ARG GO_VERSION=1.26

# ---------------------------------------------------------------- build stage
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build

WORKDIR /src

# Dependencies first: this layer is rebuilt only when go.mod/go.sum change.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .

ARG TARGETOS
ARG TARGETARCH
ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown

# -trimpath: no local paths in the binary; -s -w: no symbol/DWARF tables;
# -tags nomsgpack: gin without its MessagePack binding, which authd never
# uses (9 MB less binary, ~4.5 MiB less resident memory).
# version/commit/date are what `authd version` prints.
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} \
    go build -trimpath -buildvcs=false -tags nomsgpack \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT} -X main.date=${DATE}" \
      -o /out/authd ./cmd/authd \
 && mkdir -p /out/var-lib/authd/data

# ---------------------------------------------------------------- final stage
# distroless/static: CA certificates, tzdata, /etc/passwd with nonroot
# (65532); no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION=dev
ARG COMMIT=unknown
ARG DATE=unknown
LABEL org.opencontainers.image.title="authd" \
      org.opencontainers.image.description="authd: identity and token service" \
      org.opencontainers.image.source="https://github.com/authd/authd" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${DATE}"

COPY --from=build /out/authd /authd
# Working directory owned by the runtime user: `serve --dev` keeps its
# SQLite database and generated system secret in ./data (= /var/lib/authd/data).
# In Kubernetes (read-only root filesystem) the chart mounts a volume there.
# (The source is the parent, so authd/ and authd/data/ are both copied
# content and both get the --chown.)
COPY --from=build --chown=65532:65532 /out/var-lib/ /var/lib/
WORKDIR /var/lib/authd

USER 65532:65532

# 8080: public API (AUTHD_HTTP_ADDR); 9090: /healthz, /readyz, /metrics
# (AUTHD_ADMIN_ADDR). There is no HEALTHCHECK: the image has no shell or
# HTTP client; orchestrators probe GET :9090/healthz and :9090/readyz.
EXPOSE 8080 9090

ENTRYPOINT ["/authd"]
CMD ["serve"]
