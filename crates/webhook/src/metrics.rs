//! Prometheus metrics of the webhook, served as text on the plain-HTTP admin port. Names are
//! prefixed `otel_inject_`; the operator exposes no injection-outcome metrics, so these are
//! what an alert on "pods that asked for instrumentation and did not get it" is built on.

use std::sync::atomic::AtomicU64;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// One admission outcome for one language.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AdmissionLabels {
    /// injected, skipped, not_requested, already_injected, failed, ignored.
    pub outcome: &'static str,
    /// dotnet, java, ... or "none" when no language was requested.
    pub language: &'static str,
    /// Short snake_case reason.
    pub reason: &'static str,
}

/// A single reason label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Short snake_case reason.
    pub reason: &'static str,
}

/// A cache name.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    /// instrumentations, namespaces, replicasets, jobs, owners.
    pub cache: &'static str,
}

/// Result label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    pub source: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    /// success or failure.
    pub result: &'static str,
}

/// Every metric the webhook exports.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `otel_inject_admissions_total{outcome,language,reason}`.
    pub admissions: Family<AdmissionLabels, Counter>,
    /// `otel_inject_decision_duration_seconds`: from parsed review to response, lookups included.
    pub decision_seconds: Histogram,
    /// `otel_inject_lookup_problems_total{reason}`: lookups a decision went on without.
    pub lookup_problems: Family<ReasonLabels, Counter>,
    /// `otel_inject_owner_lookups_total{source}`: owners from the cache, the API or missing.
    pub owner_lookups: Family<SourceLabels, Counter>,
    /// `otel_inject_invalid_requests_total{reason}`: HTTP 4xx answers.
    pub invalid_requests: Family<ReasonLabels, Counter>,
    /// `otel_inject_cache_objects{cache}`.
    pub cache_objects: Family<CacheLabels, Gauge>,
    /// `otel_inject_cache_watch_errors_total{cache}`.
    pub watch_errors: Family<CacheLabels, Counter>,
    /// `otel_inject_certificate_expiry_timestamp_seconds`: notAfter of the serving certificate.
    pub certificate_expiry: Gauge<f64, AtomicU64>,
    /// `otel_inject_certificate_reloads_total{result}`.
    pub certificate_reloads: Family<ResultLabels, Counter>,
    /// `otel_inject_open_connections`: TLS connections open now.
    pub open_connections: Gauge,
    /// `otel_inject_connections_closed_total{reason}`: how connections ended (closed by the
    /// client, idle, no_request, write_timeout, handshake_failed, handshake_timeout, shutdown,
    /// error).
    pub connections_closed: Family<ReasonLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers everything.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("otel_inject");
        let admissions = Family::<AdmissionLabels, Counter>::default();
        registry.register(
            "admissions",
            "Pod admissions by outcome, language and reason",
            admissions.clone(),
        );
        // 50 µs .. ~1.6 s: decisions are sub-millisecond unless an owner lookup goes remote.
        let decision_seconds = Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.00005, 2.0, 16),
        );
        registry.register(
            "decision_duration_seconds",
            "Time to answer one admission review, lookups included",
            decision_seconds.clone(),
        );
        let lookup_problems = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "lookup_problems",
            "Cluster lookups a decision had to go on without",
            lookup_problems.clone(),
        );
        let owner_lookups = Family::<SourceLabels, Counter>::default();
        registry.register(
            "owner_lookups",
            "Owner objects (ReplicaSets, Jobs) a decision needed, by where they came from: \
             cache, api (a direct GET after a cache miss, e.g. a ReplicaSet seconds old) or missing",
            owner_lookups.clone(),
        );
        let invalid_requests = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "invalid_requests",
            "Requests answered with HTTP 4xx",
            invalid_requests.clone(),
        );
        let cache_objects = Family::<CacheLabels, Gauge>::default();
        registry.register(
            "cache_objects",
            "Objects in each cluster cache",
            cache_objects.clone(),
        );
        let watch_errors = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_watch_errors",
            "Errors of the Kubernetes watches feeding the caches",
            watch_errors.clone(),
        );
        let certificate_expiry = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "certificate_expiry_timestamp_seconds",
            "notAfter of the serving certificate, unix seconds",
            certificate_expiry.clone(),
        );
        let certificate_reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "certificate_reloads",
            "Serving certificate reloads and rotations",
            certificate_reloads.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "open_connections",
            "TLS connections open now",
            open_connections.clone(),
        );
        let connections_closed = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "connections_closed",
            "TLS connections ended, by why: closed (by the client), idle, no_request, \
             write_timeout (client not reading), handshake_failed, handshake_timeout, shutdown, error",
            connections_closed.clone(),
        );
        Self {
            registry,
            admissions,
            decision_seconds,
            lookup_problems,
            owner_lookups,
            invalid_requests,
            cache_objects,
            watch_errors,
            certificate_expiry,
            certificate_reloads,
            open_connections,
            connections_closed,
        }
    }

    /// Counts one ended connection.
    pub fn connection_closed(&self, reason: &'static str) {
        self.connections_closed
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// Counts one admission.
    pub fn admission(&self, outcome: &'static str, language: &'static str, reason: &'static str) {
        self.admissions
            .get_or_create(&AdmissionLabels {
                outcome,
                language,
                reason,
            })
            .inc();
    }

    /// Counts one HTTP 4xx answer.
    pub fn invalid_request(&self, reason: &'static str) {
        self.invalid_requests
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// Sets the cache gauges.
    pub fn set_cache_sizes(&self, sizes: &[(&'static str, usize)]) {
        for (cache, n) in sizes {
            self.cache_objects
                .get_or_create(&CacheLabels { cache })
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
    }

    /// Sets the certificate expiry gauge.
    pub fn set_certificate_expiry(&self, not_after_unix: i64) {
        // f64 holds unix seconds exactly for the next few hundred million years.
        self.certificate_expiry.set(not_after_unix as f64);
    }

    /// Prometheus text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
