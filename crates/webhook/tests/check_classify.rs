//! `otel-inject check`'s judgements, without a cluster: objects as the API server returns them
//! in, ok / warn / fail lines out. The shipped manifests (deploy/) must pass; each broken
//! variant must be named with its fix. The same checks against a real API server and a real
//! webhook are in check_cluster.rs.

// Test data is literal: a panic names the case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::{MutatingWebhook, MutatingWebhookConfiguration};
use k8s_openapi::api::core::v1::{Endpoints, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use otel_inject::check::certificate::{certificate, Answer, Probe, ProbeOutcome};
use otel_inject::check::finding::{text, worst, Finding, Level};
use otel_inject::check::instrumentations::{
    endpoint_host, instrumentation, service_reference, service_refs, ServiceState, Services,
};
use otel_inject::check::{annotations::annotations, exit_code, install};
use otel_inject::selfsigned::issue;
use otel_inject_lib::{Instrumentation, NamespaceInfo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use serde_json::{json, Value};

fn levels(findings: &[Finding]) -> Vec<(&'static str, Level)> {
    findings.iter().map(|f| (f.check, f.level)).collect()
}

fn only(findings: &[Finding], level: Level) -> &Finding {
    let matching: Vec<&Finding> = findings.iter().filter(|f| f.level == level).collect();
    assert_eq!(
        matching.len(),
        1,
        "one {level:?} line expected in {findings:#?}"
    );
    matching[0]
}

fn established(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    crd.status = Some(
        serde_json::from_value(json!({"conditions": [
            {"type": "Established", "status": "True"}
        ]}))
        .unwrap(),
    );
    crd
}

const CRD: &str = "instrumentations.opentelemetry.io";

#[test]
fn crd_ours_installed_passes() {
    let ours = otel_inject_lib::crd::crd();
    let f = install::crd(CRD, Some(&established(ours.clone())), &ours);
    assert_eq!(levels(&f), [("crd", Level::Ok)], "{f:#?}");
    assert!(f[0].what.contains("serves v1alpha1"), "{}", f[0].what);
}

#[test]
fn crd_missing_fails_with_the_command_that_installs_it() {
    let ours = otel_inject_lib::crd::crd();
    let f = install::crd(CRD, None, &ours);
    let fail = only(&f, Level::Fail);
    assert!(fail.what.contains("not installed"), "{}", fail.what);
    assert!(fail.fix.as_deref().unwrap().contains("otel-inject crd"));
}

#[test]
fn crd_not_established_or_not_serving_v1alpha1_fails() {
    let ours = otel_inject_lib::crd::crd();
    let f = install::crd(CRD, Some(&ours), &ours);
    assert!(only(&f, Level::Fail).what.contains("not Established"));

    let mut theirs = established(ours.clone());
    for v in &mut theirs.spec.versions {
        v.served = false;
    }
    let f = install::crd(CRD, Some(&theirs), &ours);
    assert!(
        only(&f, Level::Fail)
            .what
            .contains("does not serve v1alpha1"),
        "{f:#?}"
    );
}

#[test]
fn crd_schema_without_a_field_we_read_warns_that_it_is_pruned() {
    let ours = otel_inject_lib::crd::crd();
    let mut value = serde_json::to_value(established(ours.clone())).unwrap();
    let spec_props = value
        .pointer_mut("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties")
        .and_then(Value::as_object_mut)
        .expect("schema has spec properties");
    assert!(spec_props.remove("sampler").is_some());
    let theirs: CustomResourceDefinition = serde_json::from_value(value).unwrap();
    let f = install::crd(CRD, Some(&theirs), &ours);
    let warn = only(&f, Level::Warn);
    assert!(warn.what.contains("spec.sampler"), "{}", warn.what);
    assert_eq!(worst(&f), Level::Warn);
}

fn deploy_mwc() -> MutatingWebhookConfiguration {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/otel-inject/base/mutatingwebhook.yaml"
    );
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hook(mwc: &MutatingWebhookConfiguration) -> MutatingWebhook {
    mwc.webhooks.as_ref().unwrap()[0].clone()
}

#[test]
fn the_shipped_webhook_configuration_passes_and_is_found_by_its_service() {
    let mwc = deploy_mwc();
    let f = install::webhook_options("otel-inject", &hook(&mwc));
    assert_eq!(levels(&f), [("webhook-configuration", Level::Ok)], "{f:#?}");
    assert!(f[0]
        .what
        .contains("service otel-inject-system/otel-inject:443/mutate-v1-pod"));

    let mut other = mwc.clone();
    other.metadata.name = Some("istio-sidecar-injector".into());
    other.webhooks.as_mut().unwrap()[0].client_config.service = None;
    other.webhooks.as_mut().unwrap()[0].name = "sidecar.istio.io".into();
    let all = [other, mwc];
    let found = install::ours(&all, None, ("otel-inject-system", "otel-inject"));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].metadata.name.as_deref(), Some("otel-inject"));
    assert!(install::ours(&all, Some("nope"), ("a", "b")).is_empty());
    let by_name = install::ours(&all, Some("istio-sidecar-injector"), ("a", "b"));
    assert_eq!(by_name.len(), 1);
}

#[test]
fn webhook_options_that_hurt_are_flagged() {
    let mut w = hook(&deploy_mwc());
    w.failure_policy = Some("Fail".into());
    w.timeout_seconds = Some(30);
    w.reinvocation_policy = None;
    let f = install::webhook_options("x", &w);
    let warned: Vec<&str> = f
        .iter()
        .filter(|f| f.level == Level::Warn)
        .map(|f| f.what.as_str())
        .collect();
    assert_eq!(warned.len(), 3, "{f:#?}");
    assert!(warned.iter().any(|w| w.contains("failurePolicy is Fail")));
    assert!(warned.iter().any(|w| w.contains("timeoutSeconds is 30")));
    assert!(warned.iter().any(|w| w.contains("reinvocationPolicy")));

    let mut w = hook(&deploy_mwc());
    w.client_config.service.as_mut().unwrap().path = Some("/".into());
    w.rules.as_mut().unwrap()[0].operations = Some(vec!["UPDATE".into()]);
    w.admission_review_versions = vec!["v1beta1".into()];
    let f = install::webhook_options("x", &w);
    let failed: Vec<&str> = f
        .iter()
        .filter(|f| f.level == Level::Fail)
        .map(|f| f.what.as_str())
        .collect();
    assert_eq!(failed.len(), 3, "{f:#?}");
    assert!(failed.iter().any(|w| w.contains("404")));
    assert!(failed.iter().any(|w| w.contains("do not send pod CREATE")));
    assert!(failed
        .iter()
        .any(|w| w.contains("admission.k8s.io/v1 only")));
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn own_namespace_exclusion_is_judged_on_the_namespaces_real_labels() {
    let w = hook(&deploy_mwc());
    // Kubernetes 1.21+ labels every namespace with its name: the NotIn excludes it.
    let f = install::namespace_exclusion(
        &w,
        "otel-inject-system",
        Some(&labels(&[(
            "kubernetes.io/metadata.name",
            "otel-inject-system",
        )])),
    );
    assert_eq!(f.level, Level::Ok, "{f:?}");
    // 1.20 does not: the namespace is selected, and only the objectSelector keeps pods out.
    let f = install::namespace_exclusion(&w, "otel-inject-system", Some(&labels(&[])));
    assert_eq!(f.level, Level::Warn, "{f:?}");
    assert!(f.what.contains("objectSelector"), "{}", f.what);
    assert!(f
        .fix
        .as_deref()
        .unwrap()
        .contains("admission-webhooks=disabled"));
    let f = install::namespace_exclusion(
        &w,
        "otel-inject-system",
        Some(&labels(&[(
            "otel-inject.dev/admission-webhooks",
            "disabled",
        )])),
    );
    assert_eq!(f.level, Level::Ok, "{f:?}");
    // failurePolicy Fail, nothing else keeping its pods out: it cannot come back.
    let mut w = w;
    w.failure_policy = Some("Fail".into());
    w.object_selector = None;
    let f = install::namespace_exclusion(&w, "otel-inject-system", Some(&labels(&[])));
    assert_eq!(f.level, Level::Fail, "{f:?}");
    // Runs outside the cluster.
    let f = install::namespace_exclusion(&w, "elsewhere", None);
    assert_eq!(f.level, Level::Ok);
}

#[test]
fn label_selectors_match_as_the_api_server_does() {
    let sel = serde_json::from_value(json!({
        "matchLabels": {"team": "a"},
        "matchExpressions": [
            {"key": "env", "operator": "In", "values": ["dev", "prod"]},
            {"key": "skip", "operator": "DoesNotExist"}
        ]
    }))
    .unwrap();
    assert!(install::selects(
        Some(&sel),
        &labels(&[("team", "a"), ("env", "dev")])
    ));
    assert!(!install::selects(Some(&sel), &labels(&[("team", "a")])));
    assert!(!install::selects(
        Some(&sel),
        &labels(&[("team", "a"), ("env", "dev"), ("skip", "")])
    ));
    assert!(install::selects(None, &labels(&[])));
}

fn service() -> Service {
    serde_json::from_value(json!({
        "metadata": {"name": "otel-inject", "namespace": "otel-inject-system"},
        "spec": {"ports": [{"name": "https", "port": 443, "targetPort": "https"}]}
    }))
    .unwrap()
}

fn endpoints(ready: &[&str], not_ready: &[&str]) -> Endpoints {
    let addrs = |ips: &[&str]| ips.iter().map(|ip| json!({"ip": ip})).collect::<Vec<_>>();
    serde_json::from_value(json!({
        "metadata": {"name": "otel-inject", "namespace": "otel-inject-system"},
        "subsets": [{"addresses": addrs(ready), "notReadyAddresses": addrs(not_ready),
                     "ports": [{"name": "https", "port": 8443}]}]
    }))
    .unwrap()
}

#[test]
fn service_endpoints_ready_none_or_absent() {
    let w = hook(&deploy_mwc());
    let (f, addrs) = install::service_endpoints(
        &w,
        Some(&service()),
        Some(&endpoints(&["10.0.0.5", "10.0.0.6"], &[])),
    );
    assert_eq!(f.level, Level::Ok, "{f:?}");
    assert_eq!(
        addrs,
        [
            "10.0.0.5:8443".parse().unwrap(),
            "10.0.0.6:8443".parse().unwrap()
        ]
    );
    let (f, addrs) =
        install::service_endpoints(&w, Some(&service()), Some(&endpoints(&[], &["10.0.0.5"])));
    assert_eq!(f.level, Level::Fail);
    assert!(f.what.contains("none ready"), "{}", f.what);
    assert!(addrs.is_empty());
    let (f, _) = install::service_endpoints(&w, Some(&service()), None);
    assert_eq!(f.level, Level::Fail);
    assert!(f.what.contains("no endpoints"), "{}", f.what);
    let (f, _) = install::service_endpoints(&w, None, None);
    assert_eq!(f.level, Level::Fail);
    assert!(f.what.contains("does not exist"), "{}", f.what);
}

fn der(pem: &str) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .map(Result::unwrap)
        .collect()
}

fn presented(chain: Vec<CertificateDer<'static>>, name: &str) -> Probe {
    Probe {
        target: "10.0.0.5:8443".into(),
        server_name: name.into(),
        outcome: ProbeOutcome::Presented {
            chain,
            answer: Answer::Allowed,
        },
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

const SVC: &str = "otel-inject.otel-inject-system.svc";
const DAY: i64 = 86_400;
const MONTH: Duration = Duration::from_secs(30 * 86_400);

#[test]
fn a_certificate_the_ca_bundle_verifies_passes() {
    let issued = issue(&[SVC.to_string()], Duration::from_secs(90 * 86_400)).unwrap();
    let probe = presented(der(&issued.cert_pem), SVC);
    let f = certificate(
        "pods.otel-inject.dev",
        &probe,
        Some(issued.ca_pem.as_bytes()),
        now(),
        MONTH,
    );
    assert_eq!(
        levels(&f),
        [
            ("certificate", Level::Ok),
            ("certificate-expiry", Level::Ok),
            ("webhook-answer", Level::Ok)
        ],
        "{f:#?}"
    );
}

#[test]
fn a_ca_bundle_of_another_ca_fails() {
    let issued = issue(&[SVC.to_string()], MONTH).unwrap();
    let other = issue(&[SVC.to_string()], MONTH).unwrap();
    let probe = presented(der(&issued.cert_pem), SVC);
    let f = certificate("w", &probe, Some(other.ca_pem.as_bytes()), now(), MONTH);
    let fail = only(&f, Level::Fail);
    assert_eq!(fail.check, "certificate");
    assert!(fail.what.contains("does not verify"), "{}", fail.what);
    assert!(fail.fix.as_deref().unwrap().contains("caBundle"));
    // No bundle at all.
    let f = certificate("w", &probe, None, now(), MONTH);
    assert!(only(&f, Level::Fail).what.contains("no caBundle"));
    let f = certificate("w", &probe, Some(b"not pem"), now(), MONTH);
    assert!(only(&f, Level::Fail).what.contains("no PEM certificate"));
}

#[test]
fn a_certificate_for_another_name_fails_naming_its_names() {
    let issued = issue(&["otel-inject.elsewhere.svc".to_string()], MONTH).unwrap();
    let probe = presented(der(&issued.cert_pem), SVC);
    let f = certificate("w", &probe, Some(issued.ca_pem.as_bytes()), now(), MONTH);
    let fail = only(&f, Level::Fail);
    assert!(
        fail.what.contains(&format!("not valid for {SVC}")),
        "{}",
        fail.what
    );
    assert!(
        fail.what.contains("otel-inject.elsewhere.svc"),
        "{}",
        fail.what
    );
}

#[test]
fn expiry_warns_when_renewal_is_due_and_fails_once_expired() {
    // 90 days: the warning margin is 30 days.
    let issued = issue(&[SVC.to_string()], Duration::from_secs(90 * 86_400)).unwrap();
    let probe = presented(der(&issued.cert_pem), SVC);
    let bundle = Some(issued.ca_pem.as_bytes());
    let expiry = |at: i64| {
        certificate("w", &probe, bundle, at, MONTH)
            .into_iter()
            .find(|f| f.check == "certificate-expiry")
            .unwrap()
    };
    assert_eq!(expiry(now() + 50 * DAY).level, Level::Ok);
    let soon = expiry(now() + 75 * DAY);
    assert_eq!(soon.level, Level::Warn, "{soon:?}");
    assert!(soon.what.contains("expires in"), "{}", soon.what);
    let gone = expiry(now() + 91 * DAY);
    assert_eq!(gone.level, Level::Fail);
    assert!(gone.what.contains("expired on"), "{}", gone.what);
    // The chain line judges the chain, not the dates.
    let f = certificate("w", &probe, bundle, now() + 91 * DAY, MONTH);
    assert_eq!(f[0].level, Level::Ok, "{f:#?}");

    // A 30-day self-signed certificate rotates with 10 days left: fresh, it is fine.
    let short = issue(&[SVC.to_string()], MONTH).unwrap();
    let probe = presented(der(&short.cert_pem), SVC);
    let f = certificate("w", &probe, Some(short.ca_pem.as_bytes()), now(), MONTH);
    assert_eq!(worst(&f), Level::Ok, "{f:#?}");
}

#[test]
fn a_webhook_that_is_down_or_answers_wrong_fails() {
    let probe = Probe {
        target: "127.0.0.1:1".into(),
        server_name: "127.0.0.1".into(),
        outcome: ProbeOutcome::Unreachable("Connection refused (os error 111)".into()),
    };
    let f = certificate("w", &probe, None, now(), MONTH);
    let fail = only(&f, Level::Fail);
    assert!(fail.what.contains("cannot connect"), "{}", fail.what);
    assert!(fail.what.contains("down"), "{}", fail.what);

    let issued = issue(&["127.0.0.1".to_string()], MONTH).unwrap();
    let probe = Probe {
        outcome: ProbeOutcome::Presented {
            chain: der(&issued.cert_pem),
            answer: Answer::Wrong("HTTP/1.1 404 Not Found on /".into()),
        },
        ..presented(Vec::new(), "127.0.0.1")
    };
    let f = certificate("w", &probe, Some(issued.ca_pem.as_bytes()), now(), MONTH);
    assert_eq!(only(&f, Level::Fail).check, "webhook-answer");
}

fn cr(namespace: &str, name: &str, spec: Value, annotations: Value) -> Value {
    json!({
        "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": spec
    })
}

#[test]
fn instrumentations_typos_dropped_by_the_api_server_are_found_in_last_applied() {
    let good = cr(
        "shop",
        "ok",
        json!({"exporter": {"endpoint": "http://otel-collector.observability:4318"}}),
        json!({}),
    );
    let f = instrumentation(&good, &Services::new());
    assert_eq!(levels(&f), [("instrumentation", Level::Ok)], "{f:#?}");

    // What kubectl apply sent, with the typo; the stored object lost it to pruning.
    let applied = cr(
        "shop",
        "typo",
        json!({"exportr": {"endpoint": "http://otel-collector.observability:4318"}}),
        json!({}),
    );
    let stored = cr(
        "shop",
        "typo",
        json!({}),
        json!({"kubectl.kubernetes.io/last-applied-configuration": applied.to_string()}),
    );
    let f = instrumentation(&stored, &Services::new());
    let fail = only(&f, Level::Fail);
    assert!(fail.what.contains("`spec.exportr`"), "{}", fail.what);
    assert!(
        fail.what.contains("did you mean `exporter`"),
        "{}",
        fail.what
    );
    assert!(fail.what.contains("dropped"), "{}", fail.what);

    // A CRD that keeps unknown fields: the stored object has it; said once.
    let kept = cr(
        "shop",
        "kept",
        json!({"samplr": {"type": "always_on"}}),
        json!({"kubectl.kubernetes.io/last-applied-configuration": cr("shop", "kept", json!({"samplr": {"type": "always_on"}}), json!({})).to_string()}),
    );
    let f = instrumentation(&kept, &Services::new());
    assert!(only(&f, Level::Fail)
        .what
        .contains("did you mean `sampler`"));
}

#[test]
fn instrumentation_endpoints_of_invalid_dns_syntax_fail() {
    let bad = cr(
        "shop",
        "bad",
        json!({
            "exporter": {"endpoint": "http://otel_collector.observability:4317"},
            "java": {"env": [{"name": "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "value": "http://-jaeger:4318/v1/traces"}]},
            "env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://$(HOST_IP):4317"}]
        }),
        json!({}),
    );
    let f = instrumentation(&bad, &Services::new());
    let fails: Vec<&Finding> = f.iter().filter(|f| f.level == Level::Fail).collect();
    assert_eq!(fails.len(), 2, "{f:#?}");
    assert!(
        fails[0].what.contains("spec.exporter.endpoint"),
        "{}",
        fails[0].what
    );
    assert!(fails[0].what.contains("'_'"), "{}", fails[0].what);
    assert!(fails[1]
        .what
        .contains("spec.java.env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"));
}

#[test]
fn endpoint_hosts() {
    for ok in [
        "http://otel-collector.observability:4317",
        "https://collector.example.com",
        "http://10.0.0.1:4318/v1/traces",
        "http://[::1]:4317",
        "http://Jaeger.Monitoring.svc.cluster.local.:4318",
    ] {
        assert!(endpoint_host(ok).is_ok(), "{ok}: {:?}", endpoint_host(ok));
    }
    for (bad, why) in [
        ("otel-collector:4317", "no scheme"),
        ("grpc://collector:4317", "scheme"),
        ("http://otel_collector:4317", "not a valid DNS name"),
        ("http://collector-.ns:4317", "starts or ends"),
        ("http://a..b:4317", "empty label"),
        ("http://collector:99999", "port"),
        ("http://10.0.0.300:4317", "neither an IPv4"),
        ("http://:4317", "no host"),
    ] {
        let e = endpoint_host(bad).expect_err(bad);
        assert!(e.contains(why), "{bad}: {e}");
    }
}

#[test]
fn exporter_endpoints_that_name_a_missing_service_warn() {
    let v = cr(
        "shop",
        "svc",
        json!({
            "exporter": {"endpoint": "http://otel-collector.observability:4318"},
            "python": {"env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://jaeger.tracing.svc.cluster.local:4318"}]},
            "java": {"env": [{"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": "http://collector.example:4318"}]}
        }),
        json!({}),
    );
    let refs = service_refs(&v);
    assert_eq!(refs.len(), 3, "{refs:?}");
    let key = |ns: &str, n: &str| (ns.to_string(), n.to_string());
    // All there (or not judged): valid.
    let all: Services = [
        (key("observability", "otel-collector"), ServiceState::Exists),
        (key("tracing", "jaeger"), ServiceState::Exists),
        (key("example", "collector"), ServiceState::NamespaceMissing),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        levels(&instrumentation(&v, &all)),
        [("instrumentation", Level::Ok)]
    );
    // `a.b` whose namespace does not exist may be an outside host: not judged. `.svc` is sure.
    let gone: Services = [
        (
            key("observability", "otel-collector"),
            ServiceState::Missing,
        ),
        (key("tracing", "jaeger"), ServiceState::NamespaceMissing),
        (key("example", "collector"), ServiceState::NamespaceMissing),
    ]
    .into_iter()
    .collect();
    let f = instrumentation(&v, &gone);
    let warned: Vec<&str> = f
        .iter()
        .filter(|f| f.level == Level::Warn)
        .map(|f| f.what.as_str())
        .collect();
    assert_eq!(warned.len(), 2, "{f:#?}");
    assert!(warned[0].contains("names Service observability/otel-collector, but namespace observability has no Service otel-collector"), "{}", warned[0]);
    assert!(
        warned[1].contains("names Service tracing/jaeger, but there is no namespace tracing"),
        "{}",
        warned[1]
    );
    assert_eq!(service_reference("collector"), None);
    assert_eq!(service_reference("a.b.c"), None);
    assert!(service_reference("Jaeger.Tracing.svc.").unwrap().sure);
}

fn ns(name: &str, annotations: &[(&str, &str)]) -> (String, NamespaceInfo) {
    (
        name.to_string(),
        NamespaceInfo {
            name: name.to_string(),
            labels: BTreeMap::new(),
            annotations: labels(annotations),
        },
    )
}

fn typed(v: &Value) -> Arc<Instrumentation> {
    Arc::new(serde_json::from_value(v.clone()).unwrap())
}

fn deployment(namespace: &str, name: &str, own: Value, template: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "annotations": own},
        "spec": {"template": {"metadata": {"annotations": template},
                              "spec": {"containers": [{"name": "app", "image": "app:1"}]}}}
    })
}

#[test]
fn annotations_without_an_instrumentation_and_on_the_wrong_object_warn() {
    let namespaces: BTreeMap<String, NamespaceInfo> = [
        ns(
            "empty",
            &[("instrumentation.opentelemetry.io/inject-java", "true")],
        ),
        ns("shop", &[]),
    ]
    .into_iter()
    .collect();
    let insts = [typed(&cr("shop", "default", json!({}), json!({})))];
    let workloads = [
        // Resolves.
        deployment(
            "shop",
            "cart",
            json!({}),
            json!({"instrumentation.opentelemetry.io/inject-java": "true"}),
        ),
        // Names one that does not exist.
        deployment(
            "shop",
            "billing",
            json!({}),
            json!({"instrumentation.opentelemetry.io/inject-python": "shop/missing"}),
        ),
        // The classic mistake.
        deployment(
            "shop",
            "web",
            json!({"instrumentation.opentelemetry.io/inject-nodejs": "true"}),
            json!({}),
        ),
        // Owned by a Deployment: its owner is judged, not the copy of its annotations.
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": "web-1", "namespace": "shop",
                            "annotations": {"instrumentation.opentelemetry.io/inject-nodejs": "true"},
                            "ownerReferences": [{"kind": "Deployment", "name": "web", "uid": "u", "apiVersion": "apps/v1", "controller": true}]},
               "spec": {"template": {"metadata": {}, "spec": {"containers": [{"name": "app", "image": "app:1"}]}}}}),
    ];
    let f = annotations(&namespaces, &insts, &workloads);
    let warned: Vec<&str> = f
        .iter()
        .filter(|f| f.level == Level::Warn)
        .map(|f| f.what.as_str())
        .collect();
    assert_eq!(warned.len(), 3, "{f:#?}");
    assert!(
        warned[0].starts_with("Namespace empty asks for java"),
        "{}",
        warned[0]
    );
    assert!(warned
        .iter()
        .any(|w| w.starts_with("Deployment shop/billing asks for python")
            && w.contains("shop/missing")));
    assert!(warned
        .iter()
        .any(|w| w.starts_with("Deployment shop/web has instrumentation.opentelemetry.io/inject-nodejs on its own metadata")));
    let web = f.iter().find(|f| f.what.contains("shop/web")).unwrap();
    assert!(web
        .fix
        .as_deref()
        .unwrap()
        .contains("spec.template.metadata.annotations"));

    let f = annotations(&BTreeMap::new(), &[], &[]);
    assert_eq!(levels(&f), [("annotations", Level::Ok)]);
}

#[test]
fn exit_codes_and_text() {
    let ok = Finding::ok("crd", "fine");
    let warn = Finding::warn("crd", "hmm", "do this");
    let fail = Finding::fail("crd", "broken", "do that");
    assert_eq!(exit_code(std::slice::from_ref(&ok), true), 0);
    assert_eq!(exit_code(&[ok.clone(), warn.clone()], false), 0);
    assert_eq!(exit_code(&[ok.clone(), warn.clone()], true), 5);
    assert_eq!(exit_code(&[warn.clone(), fail.clone()], false), 8);
    assert_eq!(
        text(&[ok, warn, fail]),
        "ok    fine\nwarn  hmm  — do this\nfail  broken  — do that\n1 ok, 1 warn, 1 fail\n"
    );
    let json = serde_json::to_value(Finding::fail("crd", "broken", "do that")).unwrap();
    assert_eq!(
        json,
        json!({"check": "crd", "level": "fail", "what": "broken", "fix": "do that"})
    );
}
