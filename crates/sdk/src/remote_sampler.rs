//! `jaeger_remote` and `parentbased_jaeger_remote`: sampling strategies fetched from the
//! collector (Jaeger's remote_sampling extension, HTTP `/sampling?service=`) and refreshed every
//! polling interval. The fetching runs on a small tokio runtime of the SDK's own, so it works
//! whatever runtime the program uses, or none; until the first strategy arrives (or while none
//! can be fetched) the initial sampling rate applies.
//!
//! Our own rather than opentelemetry_sdk's `jaeger_remote_sampler`: that one reads
//! `strategyType` only as a name (`"PROBABILISTIC"`), and Jaeger v2 answers with a number
//! (`"strategyType":0`), so its strategies were never applied.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, Instant};

use opentelemetry::trace::{Link, SpanKind, TraceContextExt as _, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingDecision, SamplingResult, ShouldSample};

use crate::config::RemoteSamplerConfig;

/// A strategy as Jaeger serves it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Strategy {
    /// Trace-id-ratio sampling at one probability (`strategyType` 0).
    Probabilistic(f64),
    /// At most this many new traces per second, whatever their ids (`strategyType` 1): a
    /// leaky bucket holding up to `max(rate, 1)` credits, as in Jaeger's clients.
    RateLimiting {
        /// `rateLimitingSampling.maxTracesPerSecond`.
        max_traces_per_second: f64,
    },
    /// One probability per operation (span name), the default for the others, and a lower
    /// bound per operation: an operation gets at least this many traces per second even when
    /// its probability would sample none (`operationSampling`).
    PerOperation {
        /// `defaultSamplingProbability`: for operations not listed.
        default_probability: f64,
        /// `defaultLowerBoundTracesPerSecond` (0: no lower bound).
        lower_bound_per_second: f64,
        /// `perOperationStrategies`: span name and probability.
        operations: Vec<(String, f64)>,
    },
}

/// Reads Jaeger's sampling answer. `strategyType` may be a number (`0` probabilistic, `1` rate
/// limiting: Jaeger v2) or a name; `operationSampling`, when present, takes precedence as in
/// Jaeger's own clients. An error leaves the current strategy in place.
pub fn parse_strategy(json: &str) -> Result<Strategy, String> {
    use serde_json::Value;
    let v: Value =
        serde_json::from_str(json).map_err(|e| format!("not a sampling strategy: {e}"))?;
    let probability = |v: Option<&Value>| {
        v.and_then(Value::as_f64)
            .filter(|r| (0.0..=1.0).contains(r))
    };
    let per_second = |v: Option<&Value>| {
        v.and_then(Value::as_f64)
            .filter(|r| r.is_finite() && *r >= 0.0)
    };
    if let Some(ops) = v.get("operationSampling").filter(|o| !o.is_null()) {
        let default_probability = probability(ops.get("defaultSamplingProbability"))
            .ok_or("operationSampling has no defaultSamplingProbability in [0, 1]")?;
        let lower_bound_per_second = match ops.get("defaultLowerBoundTracesPerSecond") {
            None | Some(Value::Null) => 0.0,
            b => per_second(b).ok_or(
                "operationSampling's defaultLowerBoundTracesPerSecond is not a number >= 0",
            )?,
        };
        let operations = ops
            .get("perOperationStrategies")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|o| {
                        let name = o.get("operation")?.as_str()?.to_string();
                        let r = probability(o.get("probabilisticSampling")?.get("samplingRate"))?;
                        Some((name, r))
                    })
                    .collect()
            })
            .unwrap_or_default();
        return Ok(Strategy::PerOperation {
            default_probability,
            lower_bound_per_second,
            operations,
        });
    }
    let kind = v.get("strategyType");
    let is = |n: i64, name: &str| {
        kind.is_some_and(|k| k.as_i64() == Some(n) || k.as_str() == Some(name))
    };
    if kind.is_none() || is(0, "PROBABILISTIC") {
        let rate = probability(
            v.get("probabilisticSampling")
                .and_then(|p| p.get("samplingRate")),
        )
        .ok_or("probabilisticSampling has no samplingRate in [0, 1]")?;
        return Ok(Strategy::Probabilistic(rate));
    }
    if is(1, "RATE_LIMITING") {
        let max = per_second(
            v.get("rateLimitingSampling")
                .and_then(|p| p.get("maxTracesPerSecond")),
        )
        .ok_or("rateLimitingSampling has no maxTracesPerSecond >= 0")?;
        return Ok(Strategy::RateLimiting {
            max_traces_per_second: max,
        });
    }
    Err(format!(
        "strategy type {} is neither probabilistic (0) nor rate limiting (1)",
        kind.map(ToString::to_string).unwrap_or_default()
    ))
}

/// Jaeger's leaky bucket: `rate` credits a second, at most `max(rate, 1)` held, starting full;
/// a trace costs one.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    balance: f64,
    max: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64) -> Self {
        let max = rate.max(1.0);
        Self {
            rate,
            balance: max,
            max,
            last: Instant::now(),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.balance = (self.balance + elapsed * self.rate).min(self.max);
        if self.balance >= 1.0 {
            self.balance -= 1.0;
            true
        } else {
            false
        }
    }
}

/// As many operations as Jaeger's clients keep a lower bound for; spans of further
/// operations get the default probability only.
const MAX_OPERATIONS: usize = 2000;

/// The strategy in force and the state its sampling keeps.
#[derive(Debug)]
struct Active {
    strategy: Strategy,
    /// Rate limiting: the one bucket.
    bucket: Mutex<Option<Bucket>>,
    /// Per operation with a lower bound: a bucket per operation name.
    lower_bounds: Mutex<HashMap<String, Bucket>>,
}

impl Active {
    fn new(strategy: Strategy) -> Self {
        let bucket = match &strategy {
            Strategy::RateLimiting {
                max_traces_per_second,
            } => Some(Bucket::new(*max_traces_per_second)),
            _ => None,
        };
        Self {
            strategy,
            bucket: Mutex::new(bucket),
            lower_bounds: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a new trace whose root span is `name` is sampled.
    fn sample(&self, trace_id: TraceId, name: &str) -> bool {
        match &self.strategy {
            Strategy::Probabilistic(p) => by_ratio(*p, trace_id),
            Strategy::RateLimiting { .. } => self
                .bucket
                .lock()
                .ok()
                .and_then(|mut b| b.as_mut().map(|b| b.take(Instant::now())))
                .unwrap_or(false),
            Strategy::PerOperation {
                default_probability,
                lower_bound_per_second,
                operations,
            } => {
                let p = operations
                    .iter()
                    .find(|(op, _)| op == name)
                    .map_or(*default_probability, |(_, p)| *p);
                let by_probability = by_ratio(p, trace_id);
                if *lower_bound_per_second <= 0.0 {
                    return by_probability;
                }
                // As Jaeger's guaranteed-throughput sampler: a trace sampled by probability
                // still takes a credit, so the bound is a floor, not an addition.
                let Ok(mut bounds) = self.lower_bounds.lock() else {
                    return by_probability;
                };
                let now = Instant::now();
                let held = bounds.len();
                let by_bound = if let Some(b) = bounds.get_mut(name) {
                    b.take(now)
                } else if held < MAX_OPERATIONS {
                    let mut b = Bucket::new(*lower_bound_per_second);
                    let taken = b.take(now);
                    bounds.insert(name.to_string(), b);
                    taken
                } else {
                    false
                };
                by_probability || by_bound
            }
        }
    }
}

/// The SDK's trace-id-ratio decision, for roots.
fn by_ratio(p: f64, trace_id: TraceId) -> bool {
    matches!(
        Sampler::TraceIdRatioBased(p)
            .should_sample(None, trace_id, "", &SpanKind::Internal, &[], &[])
            .decision,
        SamplingDecision::RecordAndSample
    )
}

/// The sampler: the current strategy's decision for every span it is asked about (roots only
/// under `parentbased_jaeger_remote`).
#[derive(Debug, Clone)]
pub(crate) struct RemoteSampler {
    current: Arc<RwLock<Arc<Active>>>,
}

impl ShouldSample for RemoteSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        _span_kind: &SpanKind,
        _attributes: &[KeyValue],
        _links: &[Link],
    ) -> SamplingResult {
        let sampled = match self.current.read() {
            Ok(active) => active.sample(trace_id, name),
            Err(_) => false,
        };
        SamplingResult {
            decision: if sampled {
                SamplingDecision::RecordAndSample
            } else {
                SamplingDecision::Drop
            },
            attributes: Vec::new(),
            trace_state: parent_context
                .filter(|c| c.has_active_span())
                .map(|c| c.span().span_context().trace_state().clone())
                .unwrap_or_default(),
        }
    }
}

static RUNTIME: OnceLock<Option<tokio::runtime::Handle>> = OnceLock::new();

/// The process's sampler runtime (thread `otel-inject-sampler`), started on first use.
fn runtime() -> Option<tokio::runtime::Handle> {
    RUNTIME
        .get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("otel-inject-sampler".into())
                .spawn(move || {
                    // Fetching strategies must not make spans or log records of its own.
                    let _quiet = tracing::subscriber::set_default(
                        tracing::subscriber::NoSubscriber::default(),
                    );
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        Ok(rt) => {
                            let _ = tx.send(Some(rt.handle().clone()));
                            rt.block_on(std::future::pending::<()>());
                        }
                        Err(_) => {
                            let _ = tx.send(None);
                        }
                    }
                })
                .ok()?;
            rx.recv().ok().flatten()
        })
        .clone()
}

/// The remote sampler for `service_name`, wrapped in `ParentBased` when `parent_based`; it
/// starts polling at once.
pub(crate) fn build(
    config: &RemoteSamplerConfig,
    parent_based: bool,
    service_name: &str,
) -> Result<AnySampler, String> {
    let mut url = reqwest::Url::parse(&config.endpoint)
        .map_err(|e| format!("endpoint {:?}: {e}", config.endpoint))?;
    url.query_pairs_mut().append_pair("service", service_name);
    let handle = runtime().ok_or("cannot start the sampler's runtime thread")?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let current = Arc::new(RwLock::new(Arc::new(Active::new(Strategy::Probabilistic(
        config.initial_sampling_rate,
    )))));
    let interval = config.polling_interval;
    let shared = Arc::clone(&current);
    handle.spawn(async move {
        let mut reported = false;
        loop {
            let fetched = async {
                let res = client.get(url.clone()).send().await.map_err(|e| e.to_string())?;
                let status = res.status();
                let body = res.text().await.map_err(|e| e.to_string())?;
                if !status.is_success() {
                    return Err(format!("HTTP {status}"));
                }
                parse_strategy(&body)
            }
            .await;
            match fetched {
                Ok(s) => {
                    // The same strategy again keeps its buckets: refilling them at every poll
                    // would let a rate limit through twice.
                    if let Ok(mut c) = shared.write() {
                        if c.strategy != s {
                            *c = Arc::new(Active::new(s));
                        }
                    }
                    reported = false;
                }
                Err(e) if !reported => {
                    // Once per run of failures, on stderr: the subscriber is off on this thread.
                    eprintln!(
                        "otel-inject-sdk: cannot fetch the sampling strategy from {url}: {e}; keeping the current one"
                    );
                    reported = true;
                }
                Err(_) => {}
            }
            tokio::time::sleep(interval).await;
        }
    });
    let remote = RemoteSampler { current };
    Ok(if parent_based {
        AnySampler::Sdk(Sampler::ParentBased(Box::new(remote)))
    } else {
        AnySampler::Remote(remote)
    })
}

/// The SDK's samplers, or the remote one on its own (`Sampler` has no variant for a sampler
/// of ours outside `ParentBased`).
#[derive(Debug, Clone)]
pub(crate) enum AnySampler {
    Sdk(Sampler),
    Remote(RemoteSampler),
}

impl ShouldSample for AnySampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        match self {
            Self::Sdk(s) => {
                s.should_sample(parent_context, trace_id, name, span_kind, attributes, links)
            }
            Self::Remote(s) => {
                s.should_sample(parent_context, trace_id, name, span_kind, attributes, links)
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn id(n: u128) -> TraceId {
        TraceId::from_bytes(n.to_be_bytes())
    }

    #[test]
    fn the_bucket_starts_full_refills_at_its_rate_and_holds_at_most_max_rate_1() {
        let t0 = Instant::now();
        let mut b = Bucket::new(2.0);
        b.last = t0;
        assert!(
            b.take(t0) && b.take(t0),
            "starts with max(2, 1) = 2 credits"
        );
        assert!(!b.take(t0), "then empty");
        assert!(
            b.take(t0 + Duration::from_millis(500)),
            "one credit per 0.5 s at 2/s"
        );
        assert!(!b.take(t0 + Duration::from_millis(600)));
        // A long pause refills to the cap, not beyond.
        let later = t0 + Duration::from_secs(60);
        assert_eq!((0..5).filter(|_| b.take(later)).count(), 2);

        // Below one a second: a credit held, and the next after 1/rate seconds.
        let mut slow = Bucket::new(0.5);
        slow.last = t0;
        assert!(slow.take(t0));
        assert!(!slow.take(t0 + Duration::from_millis(1900)));
        assert!(slow.take(t0 + Duration::from_millis(4000)));
    }

    #[test]
    fn rate_limiting_samples_whatever_the_trace_id_up_to_the_rate() {
        let active = Active::new(Strategy::RateLimiting {
            max_traces_per_second: 3.0,
        });
        let sampled = (0..100u128)
            .filter(|n| active.sample(id(n + 1), "op"))
            .count();
        assert_eq!(sampled, 3, "a burst gets the bucket's 3 credits");
        let none = Active::new(Strategy::RateLimiting {
            max_traces_per_second: 0.0,
        });
        // Rate 0 still holds max(0, 1) = 1 credit at start, as Jaeger's clients do.
        assert_eq!(
            (0..10u128).filter(|n| none.sample(id(n + 1), "op")).count(),
            1
        );
    }

    #[test]
    fn per_operation_probabilities_with_a_lower_bound_per_operation() {
        let active = Active::new(Strategy::PerOperation {
            default_probability: 0.0,
            lower_bound_per_second: 1.0,
            operations: vec![("GET /all".into(), 1.0), ("GET /healthz".into(), 0.0)],
        });
        assert!((0..20u128).all(|n| active.sample(id(n + 1), "GET /all")));
        // Probability 0: only the lower bound's one credit, for each operation on its own.
        let health = (0..20u128)
            .filter(|n| active.sample(id(n + 1), "GET /healthz"))
            .count();
        let other = (0..20u128)
            .filter(|n| active.sample(id(n + 1), "GET /x"))
            .count();
        assert_eq!((health, other), (1, 1));

        // Without a lower bound, probability alone.
        let plain = Active::new(Strategy::PerOperation {
            default_probability: 0.0,
            lower_bound_per_second: 0.0,
            operations: vec![],
        });
        assert!(!(0..20u128).any(|n| plain.sample(id(n + 1), "GET /x")));
    }

    #[test]
    fn lower_bounds_are_kept_for_at_most_max_operations() {
        let active = Active::new(Strategy::PerOperation {
            default_probability: 0.0,
            lower_bound_per_second: 1.0,
            operations: vec![],
        });
        for n in 0..MAX_OPERATIONS + 50 {
            active.sample(id(1), &format!("op-{n}"));
        }
        assert_eq!(active.lower_bounds.lock().unwrap().len(), MAX_OPERATIONS);
        assert!(
            !active.sample(id(1), "one-more"),
            "beyond the cap: the default probability (0) only"
        );
    }
}
