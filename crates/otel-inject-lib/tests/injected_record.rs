//! The `otel-inject.dev/injected` record: each injected language with its Instrumentation and
//! the version of its spec, written with the injection and never again, and never at the cost
//! of the API server's limit on annotations.

mod common;

use common::*;
use otel_inject_lib::decision::MAX_ANNOTATIONS_BYTES;
use otel_inject_lib::injected::{parse_record, spec_hash, InjectedLanguage};
use otel_inject_lib::names::annotation::{INJECTED, STATUS};
use otel_inject_lib::Language;
use serde_json::{json, Value};

const NS: &str = "shop";

fn record(pod: &Value) -> Option<&str> {
    pod["metadata"]["annotations"][INJECTED].as_str()
}

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

#[test]
fn an_injected_pod_records_each_language_with_its_instrumentation_and_spec_version() {
    let java = instrumentation(
        NS,
        "java-otel",
        json!({"exporter": {"endpoint": "http://collector:4318"}}),
    );
    let python = instrumentation(
        "tracing",
        "py",
        json!({"exporter": {"endpoint": "http://other:4318"}}),
    );
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-java": "true",
               "instrumentation.opentelemetry.io/inject-python": "tracing/py",
               "instrumentation.opentelemetry.io/java-container-names": "api",
               "instrumentation.opentelemetry.io/python-container-names": "worker"}),
        json!([{"name": "api", "image": "acme/api:1"}, {"name": "worker", "image": "acme/w:1"}]),
    );
    // `run` also mutates the result again and asserts that the second pass changes nothing:
    // the record is not rewritten by a re-invocation.
    let out = run(&pod, NS, &[java.clone(), python.clone()], &[]);
    let text = record(&out.mutated).expect("an injected record");
    assert_eq!(
        parse_record(text),
        vec![
            InjectedLanguage {
                language: Language::Java,
                instrumentation: "shop/java-otel".into(),
                spec_hash: spec_hash(&java.spec),
            },
            InjectedLanguage {
                language: Language::Python,
                instrumentation: "tracing/py".into(),
                spec_hash: spec_hash(&python.spec),
            },
        ]
    );
    assert_ne!(spec_hash(&java.spec), spec_hash(&python.spec));
    assert_eq!(out.decision.injected_record().as_deref(), Some(text));
}

#[test]
fn only_injected_languages_are_recorded_and_a_pod_with_none_gets_no_record() {
    let java = instrumentation(NS, "otel", json!({}));
    // Java is injected; .NET names an Instrumentation that does not exist.
    let pod = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-java": "true",
               "instrumentation.opentelemetry.io/inject-dotnet": "missing"}),
        json!([{"name": "app", "image": "acme/app:1"}]),
    );
    let out = run(&pod, NS, std::slice::from_ref(&java), &[]);
    let entries = parse_record(record(&out.mutated).expect("a record"));
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].language, Language::Java);

    let nothing = deployment_pod(
        NS,
        json!({"instrumentation.opentelemetry.io/inject-java": "true"}),
        json!([{"name": "app", "image": "acme/app:1"}]),
    );
    let out = run(&nothing, NS, &[], &[]);
    assert!(out.mutated["metadata"]["annotations"].get(STATUS).is_some());
    assert_eq!(record(&out.mutated), None);
}

/// Near the limit the record, which cannot be shortened and without which the pod would read
/// as outdated, goes in first and the status takes what is left; at the limit neither goes in,
/// and a warning says so for each.
#[test]
fn the_record_never_takes_the_pod_past_the_annotation_limit() {
    let java = instrumentation(NS, "otel", json!({}));
    // Ours: the record takes 51 bytes (key and value), the status 73; the status needs 64 bytes
    // of room to be written at all.
    for (left, expect_record, expect_status) in
        [(200, true, true), (123, true, false), (20, false, false)]
    {
        let mut annotations = json!({"instrumentation.opentelemetry.io/inject-java": "true"});
        let used = annotations_size(&json!({"metadata": {"annotations": annotations.clone()}}));
        let key = "example.com/filler";
        annotations[key] = json!("x".repeat(MAX_ANNOTATIONS_BYTES - left - used - key.len()));
        let pod = deployment_pod(NS, annotations, json!([{"name": "app", "image": "a:1"}]));
        let out = run(&pod, NS, std::slice::from_ref(&java), &[]);
        let total = annotations_size(&out.mutated);
        assert!(total <= MAX_ANNOTATIONS_BYTES, "{total} bytes");
        let ann = &out.mutated["metadata"]["annotations"];
        assert_eq!(record(&out.mutated).is_some(), expect_record, "{left} left");
        assert_eq!(
            ann.get(STATUS).is_some(),
            expect_status,
            "{left} left: {ann}"
        );
        for (key, present) in [(INJECTED, expect_record), (STATUS, expect_status)] {
            let warned = out
                .decision
                .warnings
                .iter()
                .any(|w| w.contains(&format!("no room for the {key} annotation")));
            assert_eq!(warned, !present, "{left} left: {:?}", out.decision.warnings);
        }
    }
}
