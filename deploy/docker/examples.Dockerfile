# syntax=docker/dockerfile:1.7
# One image per example binary of crates/examples (orders-api, inventory-api, ml-train,
# ml-evaluate). Build from the repository root:
#   docker build -f deploy/docker/examples.Dockerfile --build-arg BIN=orders-api \
#     -t ghcr.io/otel-inject/orders-api:0.1.0 .
FROM docker.io/library/rust:1.89.0-slim-bookworm AS build
ARG BIN
WORKDIR /src
COPY . .
RUN test -n "$BIN" || { echo "pass --build-arg BIN=<orders-api|inventory-api|ml-train|ml-evaluate>" >&2; exit 1; }
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p otel-inject-examples --bin "$BIN" \
 && install -D -m 0755 "target/release/$BIN" /out/app

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/app /usr/local/bin/app
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/app"]
