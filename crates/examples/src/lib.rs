//! Example services using otel-inject-sdk.
