# syntax=docker/dockerfile:1.7
# The otel-inject webhook/CLI. Build from the repository root:
#   docker build -f deploy/docker/otel-inject.Dockerfile -t ghcr.io/otel-inject/otel-inject:0.1.0 .
# rustls uses ring (C and assembly), so the runtime needs glibc: distroless cc, non-root.
FROM docker.io/library/rust:1.89.0-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p otel-inject --bin otel-inject \
 && install -D -m 0755 target/release/otel-inject /out/otel-inject

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/otel-inject /usr/local/bin/otel-inject
# 65532 = distroless "nonroot"; numeric so runAsNonRoot can be verified by the kubelet.
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["/usr/local/bin/otel-inject"]
CMD ["serve", "--self-signed", "--standalone"]
