//! What we write into a pod stays small whatever the pod holds: the status annotation and
//! each admission warning are capped with a visible truncation mark, there are never more than
//! a handful of warnings, and the status never takes the pod past the API server's 256 KiB
//! limit on annotations (which would get the pod itself rejected).

mod common;

use common::*;
use otel_inject_lib::decision::{
    truncate_marked, MAX_ANNOTATIONS_BYTES, MAX_STATUS_BYTES, MAX_WARNINGS, MAX_WARNING_BYTES,
};
use serde_json::{json, Value};

const NS: &str = "shop";
const STATUS: &str = "otel-inject.dev/status";

fn annotations_size(pod: &Value) -> usize {
    pod["metadata"]["annotations"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
                .sum()
        })
        .unwrap_or(0)
}

/// 200 KB of container names that do not exist: before the cap, all of it was copied into the
/// status and into a warning, 400 KB of annotations in all.
#[test]
fn a_huge_bad_annotation_gives_a_capped_status_and_warnings() {
    let names: Vec<String> = (0..20_000).map(|i| format!("c{i:06}")).collect();
    let list = names.join(",");
    assert!(list.len() > 150_000);
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/container-names": list}),
        json!([{"name": "app", "image": "acme/app:1"}]),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    let status = status(&out.mutated).expect("a status");
    assert!(status.len() <= MAX_STATUS_BYTES, "{} bytes", status.len());
    assert!(status.contains("... [truncated: "), "{status}");
    assert!(status.starts_with("dotnet: not injected"), "{status}");
    assert!(!out.decision.warnings.is_empty());
    for w in &out.decision.warnings {
        assert!(w.len() <= MAX_WARNING_BYTES, "{} bytes: {w}", w.len());
    }
    assert!(
        out.decision
            .warnings
            .iter()
            .any(|w| w.contains("[truncated: ")),
        "{:?}",
        out.decision.warnings
    );
    // The pod's own 150+ KB annotation plus ours stays under the limit.
    assert!(annotations_size(&out.mutated) <= MAX_ANNOTATIONS_BYTES);
}

/// A pod whose annotations already fill the limit gets a shorter status that fits, and a pod
/// at the limit gets none (a warning says why) rather than one that would get it rejected.
#[test]
fn the_status_never_takes_the_pod_past_the_annotation_limit() {
    for (filler, expect_status) in [
        (MAX_ANNOTATIONS_BYTES - 2_000, true),
        (MAX_ANNOTATIONS_BYTES - 40, false),
    ] {
        let mut annotations = json!({
            "instrumentation.opentelemetry.io/inject-dotnet": "true",
            "instrumentation.opentelemetry.io/container-names":
                (0..2_000).map(|i| format!("c{i:06}")).collect::<Vec<_>>().join(","),
        });
        let used = annotations_size(&json!({"metadata": {"annotations": annotations.clone()}}));
        let key = "example.com/filler";
        annotations[key] = json!("x".repeat(filler - used - key.len()));
        let pod = deployment_pod(
            NS,
            annotations,
            json!([{"name": "app", "image": "acme/app:1"}]),
        );
        assert_eq!(annotations_size(&pod), filler);
        let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
        let total = annotations_size(&out.mutated);
        assert!(
            total <= MAX_ANNOTATIONS_BYTES,
            "{total} bytes of annotations"
        );
        match status(&out.mutated) {
            Some(s) => {
                assert!(expect_status, "a status in a full pod: {s}");
                assert!(s.contains("[truncated: "), "{s}");
            }
            None => {
                assert!(!expect_status, "no status although it fits");
                assert!(
                    out.decision
                        .warnings
                        .iter()
                        .any(|w| w.contains("no room for the")),
                    "{:?}",
                    out.decision.warnings
                );
            }
        }
        assert!(out.mutated["metadata"]["annotations"].get(STATUS).is_some() == expect_status);
    }
}

/// Forty listed containers that each fail validation give forty reasons; the warnings stop at
/// [`MAX_WARNINGS`], the last one counting what was left out.
#[test]
fn warnings_are_bounded_in_number() {
    let containers: Vec<Value> = (0..40)
        .map(|i| {
            json!({"name": format!("app{i}"), "image": "acme/app:1",
                   "env": [{"name": "DOTNET_STARTUP_HOOKS",
                            "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "k"}}}]})
        })
        .collect();
    let list: Vec<String> = (0..40).map(|i| format!("app{i}")).collect();
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-dotnet": "true",
               "instrumentation.opentelemetry.io/container-names": list.join(",")}),
        Value::Array(containers),
    );
    let out = run(&pod, NS, &[dotnet_instrumentation(NS)], &[]);
    let w = &out.decision.warnings;
    assert_eq!(w.len(), MAX_WARNINGS, "{w:?}");
    let last = w.last().map(String::as_str).unwrap_or_default();
    assert!(last.contains("more warnings left out"), "{last}");
    let more: usize = last
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // Every warning the decision made is either shown or counted.
    assert!(more + MAX_WARNINGS > 40, "{last}");
}

#[test]
fn truncation_keeps_characters_whole_and_says_how_much_is_gone() {
    assert_eq!(truncate_marked("short", 100), "short");
    let text = "é".repeat(1000); // 2000 bytes of two-byte characters
    let cut = truncate_marked(&text, 301);
    assert!(cut.len() <= 301, "{}", cut.len());
    let (kept, mark) = cut.split_once("... [truncated: ").expect("a mark");
    assert!(kept.chars().all(|c| c == 'é'));
    let left: usize = mark
        .trim_end_matches(" more bytes]")
        .parse()
        .expect("a count");
    assert_eq!(kept.len() + left, text.len());
}
