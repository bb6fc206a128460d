//! `jaeger_remote` and `parentbased_jaeger_remote`: sampling strategies fetched from the
//! collector (Jaeger's remote_sampling extension, HTTP `/sampling?service=`) and refreshed every
//! polling interval. The fetching runs on a small tokio runtime of the SDK's own, so it works
//! whatever runtime the program uses, or none; until the first strategy arrives (or while none
//! can be fetched) the initial sampling rate applies.
//!
//! Our own rather than opentelemetry_sdk's `jaeger_remote_sampler`: that one reads
//! `strategyType` only as a name (`"PROBABILISTIC"`), and Jaeger v2 answers with a number
//! (`"strategyType":0`), so its strategies were never applied.

use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use opentelemetry::trace::{Link, SpanKind, TraceId};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::{Sampler, SamplingResult, ShouldSample};

use crate::config::RemoteSamplerConfig;

/// A strategy as Jaeger serves it: one probability, or one per operation (span name).
#[derive(Debug, Clone, PartialEq)]
pub struct Strategy {
    /// The probability for spans whose name has no strategy of its own.
    pub default_probability: f64,
    /// Per span name.
    pub per_operation: Vec<(String, f64)>,
}

/// Reads Jaeger's sampling answer. `strategyType` may be a number (`0` probabilistic, `1` rate
/// limiting: Jaeger v2) or a name; `operationSampling`, when present, takes precedence as in
/// Jaeger's own clients. Rate limiting is not supported (an error: the current strategy stays).
pub fn parse_strategy(json: &str) -> Result<Strategy, String> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("not a sampling strategy: {e}"))?;
    let rate = |p: &serde_json::Value| {
        p.get("samplingRate")
            .and_then(serde_json::Value::as_f64)
            .filter(|r| (0.0..=1.0).contains(r))
    };
    if let Some(ops) = v.get("operationSampling").filter(|o| !o.is_null()) {
        let default_probability = ops
            .get("defaultSamplingProbability")
            .and_then(serde_json::Value::as_f64)
            .filter(|r| (0.0..=1.0).contains(r))
            .ok_or("operationSampling has no defaultSamplingProbability in [0, 1]")?;
        let per_operation = ops
            .get("perOperationStrategies")
            .and_then(serde_json::Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(|o| {
                        let name = o.get("operation")?.as_str()?.to_string();
                        let r = rate(o.get("probabilisticSampling")?)?;
                        Some((name, r))
                    })
                    .collect()
            })
            .unwrap_or_default();
        return Ok(Strategy {
            default_probability,
            per_operation,
        });
    }
    let kind = v.get("strategyType");
    let probabilistic = match kind {
        None => true,
        Some(k) => k.as_i64() == Some(0) || k.as_str() == Some("PROBABILISTIC"),
    };
    if !probabilistic {
        return Err(format!(
            "strategy type {} (rate limiting) is not supported",
            kind.map(ToString::to_string).unwrap_or_default()
        ));
    }
    let default_probability = v
        .get("probabilisticSampling")
        .and_then(rate)
        .ok_or("probabilisticSampling has no samplingRate in [0, 1]")?;
    Ok(Strategy {
        default_probability,
        per_operation: Vec::new(),
    })
}

/// The sampler: trace-id-ratio sampling at the current strategy's probability.
#[derive(Debug, Clone)]
pub(crate) struct RemoteSampler {
    current: Arc<RwLock<Strategy>>,
}

impl ShouldSample for RemoteSampler {
    fn should_sample(
        &self,
        parent_context: Option<&Context>,
        trace_id: TraceId,
        name: &str,
        span_kind: &SpanKind,
        attributes: &[KeyValue],
        links: &[Link],
    ) -> SamplingResult {
        let p = match self.current.read() {
            Ok(s) => s
                .per_operation
                .iter()
                .find(|(op, _)| op == name)
                .map_or(s.default_probability, |(_, p)| *p),
            Err(_) => 0.0,
        };
        Sampler::TraceIdRatioBased(p).should_sample(
            parent_context,
            trace_id,
            name,
            span_kind,
            attributes,
            links,
        )
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
    let current = Arc::new(RwLock::new(Strategy {
        default_probability: config.initial_sampling_rate,
        per_operation: Vec::new(),
    }));
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
                    if let Ok(mut c) = shared.write() {
                        *c = s;
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
