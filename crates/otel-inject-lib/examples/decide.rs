//! Deciding offline: what would the webhook inject into this pod? Reads a Pod and an
//! Instrumentation as JSON files (or uses built-in ones), prints the explanation and the patch.
//!
//! ```sh
//! cargo run -p otel-inject-lib --example decide -- pod.json instrumentation.json
//! ```

use std::sync::Arc;

use otel_inject_lib::{mutate, InjectOptions, Instrumentation, NamespaceInfo, PodContext};
use serde_json::{json, Value};

fn read(path: Option<String>, fallback: Value) -> Result<Value, Box<dyn std::error::Error>> {
    Ok(match path {
        Some(p) => serde_json::from_slice(&std::fs::read(&p).map_err(|e| format!("{p}: {e}"))?)
            .map_err(|e| format!("{p}: {e}"))?,
        None => fallback,
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let pod = read(
        args.next(),
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "api", "namespace": "shop",
                "annotations": {"instrumentation.opentelemetry.io/inject-python": "true"}},
            "spec": {"containers": [{"name": "api", "image": "shop/api:2.0"}]}
        }),
    )?;
    let instrumentation: Instrumentation = serde_json::from_value(read(
        args.next(),
        json!({
            "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": "otel", "namespace": "shop"},
            "spec": {"exporter": {"endpoint": "http://collector:4318"}}
        }),
    )?)?;
    let namespace = pod["metadata"]["namespace"].as_str().unwrap_or("default");
    let decision = mutate(&PodContext {
        pod: &pod,
        namespace: &NamespaceInfo::named(namespace),
        instrumentations: &[Arc::new(instrumentation)],
        owners: &[],
        options: &InjectOptions::default(),
    });
    println!("{}", decision.explain());
    println!("{}", serde_json::to_string_pretty(&decision.patch)?);
    Ok(())
}
