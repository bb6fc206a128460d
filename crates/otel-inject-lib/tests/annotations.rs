//! Table tests for annotation parsing, pod/namespace precedence and Instrumentation selection.

mod common;

use std::collections::BTreeMap;

use otel_inject_lib::annotations::{annotation_value, container_list, InjectTarget};
use otel_inject_lib::{Language, NamespaceInfo};
use rstest::rstest;
use serde_json::json;

fn map(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
    kv.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const KEY: &str = "instrumentation.opentelemetry.io/inject-dotnet";

#[rstest]
#[case::pod_only("true", "", "true")]
#[case::namespace_only("", "true", "true")]
#[case::neither("", "", "")]
#[case::pod_false_beats_ns_true("false", "true", "false")]
#[case::pod_name_beats_ns_name("mine", "theirs", "mine")]
#[case::pod_true_ns_false("true", "false", "true")]
#[case::pod_true_ns_name_uses_ns("true", "shared", "shared")]
#[case::pod_true_ns_true("TRUE", "true", "true")]
#[case::case_insensitive_false("True", "FALSE", "True")]
fn precedence(#[case] pod: &str, #[case] ns: &str, #[case] want: &str) {
    let pod = if pod.is_empty() {
        map(&[])
    } else {
        map(&[(KEY, pod)])
    };
    let ns = if ns.is_empty() {
        map(&[])
    } else {
        map(&[(KEY, ns)])
    };
    assert_eq!(annotation_value(&ns, &pod, KEY), want);
}

#[rstest]
#[case::empty("", Ok(None))]
#[case::false_("false", Ok(None))]
#[case::false_upper("False", Ok(None))]
#[case::true_("true", Ok(Some(InjectTarget::OnlyInNamespace)))]
#[case::true_upper("TRUE", Ok(Some(InjectTarget::OnlyInNamespace)))]
#[case::name("my-inst", Ok(Some(InjectTarget::Named { namespace: None, name: "my-inst".into() })))]
#[case::ns_name("obs/my-inst", Ok(Some(InjectTarget::Named { namespace: Some("obs".into()), name: "my-inst".into() })))]
#[case::spaces_trimmed(" true ", Ok(Some(InjectTarget::OnlyInNamespace)))]
#[case::upper_name("MyInst", Err("MyInst".to_string()))]
#[case::two_slashes("a/b/c", Err("a/b/c".to_string()))]
#[case::empty_ns("/x", Err("/x".to_string()))]
#[case::yes_is_a_name("yes", Ok(Some(InjectTarget::Named { namespace: None, name: "yes".into() })))]
fn inject_values(#[case] value: &str, #[case] want: Result<Option<InjectTarget>, String>) {
    assert_eq!(InjectTarget::parse(value), want);
}

#[test]
fn invalid_inject_value_message_says_what_to_write() {
    let pod = map(&[(KEY, "Not Valid")]);
    let err = InjectTarget::for_language(&map(&[]), &pod, Language::DotNet).unwrap_err();
    assert_eq!(
        err.to_string(),
        "instrumentation.opentelemetry.io/inject-dotnet: \"Not Valid\" is not valid; write \"true\" (the only Instrumentation in the namespace), \"false\", \"<name>\" or \"<namespace>/<name>\" of an Instrumentation"
    );
}

#[rstest]
#[case::unset("", Ok(None))]
#[case::one("app", Ok(Some(vec!["app"])))]
#[case::two("app,worker", Ok(Some(vec!["app", "worker"])))]
#[case::empty_items_dropped("a,,b,", Ok(Some(vec!["a", "b"])))]
#[case::spaces_rejected("a, b", Err(()))]
#[case::dots_rejected("a.b", Err(()))]
#[case::underscore_rejected("a_b", Err(()))]
fn container_lists(#[case] value: &str, #[case] want: Result<Option<Vec<&str>>, ()>) {
    let key = "instrumentation.opentelemetry.io/container-names";
    let pod = if value.is_empty() {
        map(&[])
    } else {
        map(&[(key, value)])
    };
    let got = container_list(&map(&[]), &pod, key);
    match want {
        Ok(w) => assert_eq!(
            got.unwrap(),
            w.map(|v| v.into_iter().map(String::from).collect::<Vec<_>>())
        ),
        Err(()) => assert_eq!(got.unwrap_err().reason(), "invalid_container_names"),
    }
}

#[test]
fn nginx_container_annotation_is_irregular() {
    assert_eq!(
        Language::Nginx.containers_annotation(),
        "instrumentation.opentelemetry.io/inject-nginx-container-names"
    );
    assert_eq!(
        Language::DotNet.containers_annotation(),
        "instrumentation.opentelemetry.io/dotnet-container-names"
    );
}

#[rstest]
#[case::true_with_one("true", &[("shop", "a")], Ok("shop/a"))]
#[case::true_with_none("true", &[("other", "a")], Err("no_instrumentation"))]
#[case::true_with_two("true", &[("shop", "a"), ("shop", "b")], Err("several_instrumentations"))]
#[case::true_ignores_other_namespaces("true", &[("shop", "a"), ("other", "b")], Ok("shop/a"))]
#[case::by_name("b", &[("shop", "a"), ("shop", "b")], Ok("shop/b"))]
#[case::by_name_missing("c", &[("shop", "a")], Err("instrumentation_not_found"))]
#[case::by_ns_name("other/b", &[("shop", "a"), ("other", "b")], Ok("other/b"))]
fn selection(
    #[case] value: &str,
    #[case] insts: &[(&str, &str)],
    #[case] want: Result<&str, &str>,
) {
    let pod = json!({
        "metadata": {"name": "p", "annotations": {"instrumentation.opentelemetry.io/inject-sdk": value}},
        "spec": {"containers": [{"name": "app", "image": "a:1"}]}
    });
    let insts: Vec<_> = insts
        .iter()
        .map(|(ns, n)| common::instrumentation(ns, n, json!({})))
        .collect();
    let out = common::run(&pod, "shop", &insts, &[]);
    let lang = &out.decision.languages[0];
    match want {
        Ok(key) => assert_eq!(lang.instrumentation.as_deref(), Some(key)),
        Err(reason) => assert_eq!(lang.reason.label(), reason),
    }
}

#[test]
fn instrumentation_namespaces_include_referenced_ones() {
    let pod = json!({"metadata": {"annotations": {"instrumentation.opentelemetry.io/inject-sdk": "obs/x"}}});
    let got = otel_inject_lib::instrumentation_namespaces(&pod, &NamespaceInfo::named("shop"));
    assert_eq!(got.into_iter().collect::<Vec<_>>(), ["obs", "shop"]);
}

#[test]
fn owner_lookups_name_replicasets_and_jobs() {
    let pod = json!({"metadata": {"ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "1"},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "ss", "uid": "2"},
        {"apiVersion": "batch/v1", "kind": "Job", "name": "j", "uid": "3"}]}});
    let got: Vec<(String, String)> = otel_inject_lib::owner_lookups(&pod)
        .into_iter()
        .map(|k| (k.kind, k.name))
        .collect();
    assert_eq!(
        got,
        [
            ("ReplicaSet".into(), "rs".into()),
            ("Job".into(), "j".into())
        ]
    );
}
