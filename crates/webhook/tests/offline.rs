//! The offline commands on multi-document manifests: `inject`, `review`, `explain`, `crd`,
//! through the library functions and through the real binary (exit codes, stdin).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{io::Write, process::Stdio};

use common::cluster_file;
use otel_inject::offline::{self, OfflineOptions, OutputFormat};
use serde_json::Value;

const WIDGET: &str = "# A custom resource the webhook knows nothing about: it must come back byte for byte.\napiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: gizmo   # odd spacing kept\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers: [{name: x, image: y}]\n";

fn manifest() -> String {
    format!(
        r#"apiVersion: opentelemetry.io/v1alpha1
kind: Instrumentation
metadata:
  name: shop-otel
  namespace: shop
spec:
  exporter:
    endpoint: http://collector.observability:4318
  propagators: [tracecontext, baggage]
  dotnet:
    image: ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-dotnet:1.16.0
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
      annotations:
        instrumentation.opentelemetry.io/inject-dotnet: "true"
    spec:
      containers:
        - name: web
          image: registry.example.com/shop/web:1.4.0
          env:
            - name: ASPNETCORE_URLS
              value: http://+:8080
---
{WIDGET}---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  namespace: shop
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations:
            instrumentation.opentelemetry.io/inject-dotnet: "true"
        spec:
          restartPolicy: OnFailure
          containers:
            - name: report
              image: registry.example.com/shop/report:0.9.2
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: untouched
  namespace: shop
data:
  a: "1"
"#
    )
}

fn docs(yaml: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(yaml)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    container["env"]
        .as_array()?
        .iter()
        .find(|e| e["name"] == name)?
        .get("value")?
        .as_str()
}

#[tokio::test]
async fn inject_rewrites_templates_and_passes_the_rest_through() {
    let out = offline::inject_stream(
        &manifest(),
        "app.yaml",
        &OfflineOptions::default(),
        OutputFormat::Yaml,
    )
    .await
    .unwrap();
    // Unknown kinds, the Instrumentation and the ConfigMap come back byte for byte.
    assert!(out.contains(WIDGET.trim_end()), "{out}");
    assert!(out.contains("  a: \"1\"\n"), "{out}");
    let docs = docs(&out);
    assert_eq!(docs.len(), 5, "{out}");
    assert_eq!(docs[2]["kind"], "Widget");

    let deployment = &docs[1];
    let template = &deployment["spec"]["template"];
    let web = &template["spec"]["containers"][0];
    assert_eq!(env_value(web, "ASPNETCORE_URLS"), Some("http://+:8080"));
    assert_eq!(env_value(web, "CORECLR_ENABLE_PROFILING"), Some("1"));
    assert_eq!(
        env_value(web, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        Some("http://collector.observability:4318")
    );
    let attrs = env_value(web, "OTEL_RESOURCE_ATTRIBUTES").unwrap();
    assert!(attrs.contains("k8s.deployment.name=web"), "{attrs}");
    assert!(template["spec"]["initContainers"][0]["image"]
        .as_str()
        .unwrap()
        .contains("autoinstrumentation-dotnet:1.16.0"));
    // Nothing meant for the pod only leaks into the template.
    assert!(
        template["metadata"].get("ownerReferences").is_none(),
        "{template}"
    );
    assert!(
        template["metadata"].get("namespace").is_none(),
        "{template}"
    );
    assert_eq!(deployment["spec"]["replicas"], 2);

    let cron_template = &docs[3]["spec"]["jobTemplate"]["spec"]["template"];
    let report = &cron_template["spec"]["containers"][0];
    let attrs = env_value(report, "OTEL_RESOURCE_ATTRIBUTES").unwrap();
    assert!(attrs.contains("k8s.cronjob.name=report"), "{attrs}");
    assert_eq!(cron_template["spec"]["restartPolicy"], "OnFailure");

    // Injecting the output again changes nothing: the markers make it idempotent.
    let again = offline::inject_stream(
        &out,
        "out.yaml",
        &OfflineOptions::default(),
        OutputFormat::Yaml,
    )
    .await
    .unwrap();
    assert_eq!(self::docs(&again), docs);
}

#[tokio::test]
async fn inject_writes_json_and_reads_cluster_files() {
    // Only the Deployment in the stream; the Instrumentation comes from a --cluster file.
    let stream = manifest().split("---\n").nth(1).unwrap().to_string();
    let options = OfflineOptions {
        cluster_files: vec![cluster_file("shop.yaml")],
        ..OfflineOptions::default()
    };
    let out = offline::inject_stream(&stream, "-", &options, OutputFormat::Json)
        .await
        .unwrap();
    let deployment: Value = serde_json::from_str(&out).unwrap();
    let web = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        env_value(web, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        Some("http://jaeger-collector.monitoring.svc.cluster.local:4318")
    );
}

#[tokio::test]
async fn explain_and_review_describe_each_pod() {
    let options = OfflineOptions::default();
    let text = offline::explain_stream(&manifest(), "app.yaml", &options)
        .await
        .unwrap();
    assert!(
        text.contains("Deployment shop/web (document 2, pod template)"),
        "{text}"
    );
    assert!(
        text.contains("CronJob shop/report (document 4, pod template)"),
        "{text}"
    );
    assert!(text.contains("web"), "{text}");
    assert!(!text.contains("Widget"), "{text}");

    let out = offline::review_stream(&manifest(), "app.yaml", &options)
        .await
        .unwrap();
    let reviews: Vec<Value> = serde_json::Deserializer::from_str(&out)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(reviews.len(), 2, "{out}");
    for r in &reviews {
        assert_eq!(r["kind"], "AdmissionReview");
        assert_eq!(r["response"]["allowed"], true);
        assert_eq!(r["response"]["patchType"], "JSONPatch");
    }
    // A real review from the fixtures gets the very response the server sends.
    let fixture = String::from_utf8(common::fixture("dotnet-pod-create.json")).unwrap();
    let options = OfflineOptions {
        cluster_files: vec![cluster_file("shop.yaml")],
        ..OfflineOptions::default()
    };
    let out = offline::review_stream(&fixture, "review.json", &options)
        .await
        .unwrap();
    let r: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["response"]["uid"], "7d2c4b1e-8a3f-4f0e-9b6d-2c1a0e9f8d71");
    assert!(common::decoded_patch(&r).is_some());

    // explain reads the same review: its pod, decided as the webhook decides it.
    let text = offline::explain_stream(&fixture, "review.json", &options)
        .await
        .unwrap();
    assert!(
        text.contains("(document 1, pod of an AdmissionReview):"),
        "{text}"
    );
    assert!(text.contains("dotnet (instrumentation "), "{text}");
    assert!(text.contains(": injected"), "{text}");
}

fn run(args: &[&str], stdin: &str) -> (i32, String, String) {
    run_with_env(args, &[], stdin)
}

fn run_with_env(args: &[&str], env: &[(&str, &str)], stdin: &str) -> (i32, String, String) {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_otel-inject"))
        .args(args)
        .env_remove("OTEL_INJECT_CLUSTER")
        .env_remove("OTEL_INJECT_STRICT")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn binary_exit_codes_and_messages() {
    let (code, out, err) = run(&["inject", "-f", "-"], &manifest());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("CORECLR_ENABLE_PROFILING"));

    // Document 2 lacks `kind`: exit 3, and the message says where.
    let (code, _, err) = run(&["inject", "-f", "-"], "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nmetadata: {name: b}\n");
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("stdin: document 2: field `kind` is missing"),
        "{err}"
    );

    // A bad Instrumentation field is named with its path.
    let bad = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata: {name: i, namespace: shop}\nspec:\n  propagators: tracecontext\n";
    let (code, _, err) = run(&["explain", "-f", "-"], bad);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("document 1") && err.contains("spec.propagators"),
        "{err}"
    );

    let (code, _, err) = run(&["review", "-f", "/nonexistent/file.yaml"], "");
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("/nonexistent/file.yaml"), "{err}");

    let (code, _, err) = run(&["inject", "--bogus"], "");
    assert_eq!(code, 2, "{err}");

    let (code, out, _) = run(&["--help"], "");
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes:"), "{out}");

    // `otel-inject crd` prints what is checked in under deploy/ (the crd test pins that file).
    let (code, out, err) = run(&["crd"], "");
    assert_eq!(code, 0, "{err}");
    assert!(
        out == otel_inject::commands::crd_yaml().expect("CRD"),
        "`otel-inject crd` printed something else than crd_yaml():\n{out}"
    );

    // serve refuses to start without a certificate, before binding anything.
    let (code, _, err) = run(
        &[
            "serve",
            "--standalone",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        "",
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("--tls-cert"), "{err}");
    let (code, _, err) = run(
        &[
            "serve",
            "--standalone",
            "--tls-cert",
            "/nonexistent/tls.crt",
            "--tls-key",
            "/nonexistent/tls.key",
        ],
        "",
    );
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("/nonexistent/tls.crt"), "{err}");
}

/// Go's Pod Security rule on the offline path: the Namespace object in the input carries the
/// level the Pod Security admission would enforce, and `inject` (with Go switched on, as the
/// operator's flag does) adds the privileged sidecar only where that level admits it.
#[test]
fn go_follows_the_namespace_pod_security_level_offline() {
    let input = |level: &str| {
        let labels = if level.is_empty() {
            String::new()
        } else {
            format!("\n  labels:\n    pod-security.kubernetes.io/enforce: {level}")
        };
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps{labels}\n---\n\
apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata:\n  name: otel\n  namespace: apps\nspec: {{}}\n---\n\
apiVersion: v1\nkind: Pod\nmetadata:\n  name: api\n  namespace: apps\n  annotations:\n    instrumentation.opentelemetry.io/inject-go: \"true\"\n    instrumentation.opentelemetry.io/otel-go-auto-target-exe: /app/api\nspec:\n  containers: [{{name: api, image: api:1}}]\n"
        )
    };
    for (level, injected) in [
        ("", true),
        ("privileged", true),
        ("baseline", false),
        ("restricted", false),
    ] {
        let (code, out, err) = run(
            &["inject", "-f", "-", "--enable-go-instrumentation=true"],
            &input(level),
        );
        assert_eq!(code, 0, "{level}: {err}");
        let pod = docs(&out)
            .into_iter()
            .find(|d| d["kind"] == "Pod")
            .expect("the pod comes back");
        let sidecar = pod["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "opentelemetry-auto-instrumentation");
        assert_eq!(sidecar, injected, "{level}: {out}");
        let status = pod["metadata"]["annotations"]["otel-inject.dev/status"]
            .as_str()
            .unwrap_or_default();
        if !injected {
            assert!(
                status.contains(&format!("enforces the \"{level}\" Pod Security level")),
                "{level}: {status}"
            );
        }
    }
    // Off by default, as the operator's --enable-go-instrumentation.
    let (_, out, _) = run(&["inject", "-f", "-"], &input(""));
    assert!(out.contains("--enable-go-instrumentation=false"), "{out}");
}

/// A workload that asked and got nothing, with the default Instrumentation serving another.
const MISSES: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    metadata:\n      annotations:\n        instrumentation.opentelemetry.io/inject-dotnet: \"true\"\n        instrumentation.opentelemetry.io/inject-java: \"false\"\n        instrumentation.opentelemetry.io/dotnet-container-names: wbe\n    spec:\n      containers: [{name: web, image: web:1}]\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {instrumentation.opentelemetry.io/inject-python: \"true\"}\nspec:\n  containers: [{name: a, image: a:1}]\n";

fn warning_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("otel-inject: warning: "))
        .collect()
}

#[test]
fn offline_commands_warn_per_workload_and_language_and_strict_fails() {
    for command in ["inject", "review", "explain"] {
        let (code, out, err) = run(&[command, "-f", "-"], MISSES);
        assert_eq!(code, 0, "{command}: {err}");
        assert!(!out.is_empty(), "{command}");
        let lines = warning_lines(&err);
        assert_eq!(lines.len(), 3, "{command}: {err}");
        assert!(
            lines[0].contains("built-in default Instrumentation")
                && lines[0].contains("http://jaeger-collector.monitoring.svc.cluster.local:4318"),
            "{command}: {err}"
        );
        assert!(
            lines[1].contains("stdin: document 1: Deployment shop/web: asked for instrumentation (dotnet) and got none"),
            "{command}: {err}"
        );
        assert!(
            lines[2].contains("Deployment shop/web: dotnet not injected: no container named wbe"),
            "{command}: {err}"
        );
        // `inject-java: "false"` is an opt-out, not a miss; the pod that got python is quiet.
        assert!(
            !err.contains("java") && !err.contains("Pod default/p"),
            "{command}: {err}"
        );

        let (code, out, err) = run(&[command, "-f", "-", "--strict"], MISSES);
        assert_eq!(code, 5, "{command}: {err}");
        assert!(
            !out.is_empty(),
            "{command}: the output is written all the same"
        );
        assert!(err.contains("--strict: 3 warning(s)"), "{command}: {err}");
        let (code, _, err) = run_with_env(
            &[command, "-f", "-"],
            &[("OTEL_INJECT_STRICT", "true")],
            MISSES,
        );
        assert_eq!(code, 5, "{command}: {err}");
    }
}

#[test]
fn strict_passes_a_clean_stream_and_its_own_output() {
    let (code, out, err) = run(&["inject", "-f", "-", "--strict"], &manifest());
    assert_eq!(code, 0, "{err}");
    assert!(warning_lines(&err).is_empty(), "{err}");
    // Already instrumented pods are not misses.
    let (code, _, err) = run(&["inject", "-f", "-", "--strict"], &out);
    assert_eq!(code, 0, "{err}");
    assert!(warning_lines(&err).is_empty(), "{err}");
    // The built-in default alone is worth a warning, and a failure with --strict.
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {instrumentation.opentelemetry.io/inject-python: \"true\"}\nspec:\n  containers: [{name: a, image: a:1}]\n";
    let (code, _, err) = run(&["inject", "-f", "-", "--strict"], pod);
    assert_eq!(code, 5, "{err}");
    assert_eq!(warning_lines(&err).len(), 1, "{err}");
    let (code, _, err) = run(
        &[
            "inject",
            "-f",
            "-",
            "--strict",
            "--cluster",
            &cluster_file("shop.yaml"),
        ],
        pod,
    );
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains("Pod default/p: asked for instrumentation (python) and got none"),
        "{err}"
    );
    assert!(
        err.contains("python not injected: no Instrumentation in namespace default"),
        "{err}"
    );
    // Nothing asked for, nothing said.
    let (code, _, err) = run(
        &["inject", "-f", "-", "--strict"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
}

#[test]
fn instrumentation_typos_are_warned_and_other_versions_rejected() {
    let inst = |api: &str, spec: &str| {
        format!(
            "apiVersion: {api}\nkind: Instrumentation\nmetadata: {{name: otel, namespace: shop}}\nspec:\n{spec}---\n\
apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: shop\n  annotations: {{instrumentation.opentelemetry.io/inject-python: \"true\"}}\nspec:\n  containers: [{{name: a, image: a:1}}]\n"
        )
    };
    let typo = inst(
        "opentelemetry.io/v1alpha1",
        "  exportr:\n    endpoint: http://c:4318\n  python:\n    env: [{name: A, valeu: b}]\n",
    );
    for command in ["inject", "explain", "review"] {
        let (code, _, err) = run(&[command, "-f", "-"], &typo);
        assert_eq!(code, 0, "{command}: {err}");
        let lines = warning_lines(&err);
        assert_eq!(lines.len(), 2, "{command}: {err}");
        assert!(
            lines[0].contains("stdin: document 1: Instrumentation shop/otel: field `spec.exportr` is not an Instrumentation field (did you mean `exporter`?)"),
            "{command}: {err}"
        );
        assert!(
            lines[1].contains("`spec.python.env[0].valeu`") && lines[1].contains("`value`"),
            "{command}: {err}"
        );
        let (code, _, err) = run(&[command, "-f", "-", "--strict"], &typo);
        assert_eq!(code, 5, "{command}: {err}");
    }
    // The same checks on --cluster files, named by file.
    let dir = std::env::temp_dir().join(format!("otel-inject-typo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("cluster.yaml");
    std::fs::write(&file, typo.split("---\n").next().unwrap()).unwrap();
    let pod = typo.split("---\n").nth(1).unwrap();
    let (code, _, err) = run(
        &[
            "inject",
            "-f",
            "-",
            "--strict",
            "--cluster",
            file.to_str().unwrap(),
        ],
        pod,
    );
    assert_eq!(code, 5, "{err}");
    assert!(
        err.contains(&format!(
            "{}: document 1: Instrumentation shop/otel: field `spec.exportr`",
            file.display()
        )),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();

    for api in ["opentelemetry.io/v1beta1", "opentelemetry.io/v9"] {
        let (code, out, err) = run(
            &["inject", "-f", "-"],
            &inst(api, "  exporter: {endpoint: http://c:4318}\n"),
        );
        assert_eq!(code, 3, "{api}: {err}");
        assert!(out.is_empty(), "{api}: {out}");
        assert!(
            err.contains(&format!("stdin: document 1: Instrumentation shop/otel: apiVersion `{api}` is not read: otel-inject reads only opentelemetry.io/v1alpha1 Instrumentations")),
            "{api}: {err}"
        );
    }
}

fn manifest_fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/manifests")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn injected_containers(doc: &Value, template: &str) -> Vec<String> {
    doc.pointer(template).unwrap()["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| env_value(c, "OTEL_EXPORTER_OTLP_ENDPOINT").is_some())
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn rollouts_replication_controllers_and_pod_templates_are_injected_argo_workflows_left_to_the_webhook(
) {
    let input = manifest_fixture("controller-kinds.yaml");
    let (code, out, err) = run(&["inject", "-f", "-"], &input);
    assert_eq!(code, 0, "{err}");
    let docs = docs(&out);
    assert_eq!(docs.len(), 7, "{out}");
    for (i, pointer) in [
        (1, "/spec/template"),
        (2, "/spec/template"),
        (3, "/template"),
    ] {
        assert_eq!(
            injected_containers(&docs[i], pointer),
            ["app"],
            "{}",
            docs[i]["kind"]
        );
    }
    // The Workflow, the Deployment without a template and the Rollout with workloadRef come
    // back as they were, each said once on stderr.
    for (i, text) in input.split("\n---\n").enumerate().skip(4) {
        assert!(out.contains(text.trim_end()), "document {}: {out}", i + 1);
    }
    assert_eq!(
        err.matches("document 5: Workflow ml/train-: left unchanged: Argo Workflows makes its step pods at run time, and the webhook instruments them at admission (in container `main`)").count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("warning: stdin: document 6: Deployment ml/broken: left unchanged: field `spec.template` is missing"),
        "{err}"
    );
    assert!(err.contains("note: stdin: document 7: Rollout ml/ref: left unchanged: its pods come from the Deployment its spec.workloadRef names"), "{err}");
    // Notes are not warnings: --strict fails for the broken Deployment only.
    let (code, _, err) = run(&["inject", "-f", "-", "--strict"], &input);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("--strict: 1 warning(s)"), "{err}");

    // review: one response per template (the Workflow has none of its own).
    let (code, out, err) = run(&["review", "-f", "-"], &input);
    assert_eq!(code, 0, "{err}");
    let reviews: Vec<Value> = serde_json::Deserializer::from_str(&out)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect();
    assert_eq!(reviews.len(), 3, "{out}");
    assert!(
        reviews
            .iter()
            .all(|r| r["response"]["patchType"] == "JSONPatch"),
        "{out}"
    );

    // explain: each step pod of the Workflow, instrumented in `main` only.
    let (code, out, err) = run(&["explain", "-f", "-"], &input);
    assert_eq!(code, 0, "{err}");
    for header in [
        "Rollout ml/ro (document 2, pod template)",
        "ReplicationController ml/rc (document 3, pod template)",
        "PodTemplate ml/pt (document 4, pod template)",
        "Workflow ml/train- (document 5, Argo workflow): left unchanged; the webhook instruments its step pods at admission",
    ] {
        assert!(out.contains(header), "{header}: {out}");
    }
    let workflow = out.split("Argo workflow").nth(1).unwrap();
    assert!(
        workflow.contains("step pods of template train:\n    pod train-train-*: injected\n      python (instrumentation ml/otel):\n        main: injected\n"),
        "{workflow}"
    );
    assert!(
        workflow.contains("step pods of template report:"),
        "{workflow}"
    );
    assert!(
        workflow.contains("the inject annotation says \"false\""),
        "{workflow}"
    );
    assert!(
        !workflow.contains("template main:"),
        "steps templates run no pod: {workflow}"
    );
    assert!(!workflow.contains("wait: injected"), "{workflow}");
}

/// `serve --ca-out` writes the CA only once the server has bound its ports and read
/// `--cluster`; a start-up failure is said once, without colour codes (stderr is a pipe).
#[test]
fn serve_keeps_the_ca_file_until_it_has_started_and_says_why_once() {
    let dir = std::env::temp_dir().join(format!("otel-inject-ca-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let ca_arg = ca.to_str().unwrap().to_string();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let serve = |extra: &[&str]| {
        let mut args = vec![
            "serve",
            "--standalone",
            "--self-signed",
            "--ca-out",
            &ca_arg,
            "--metrics-listen",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        run(&args, "")
    };
    for (extra, code, message) in [
        (
            vec![
                "--listen",
                "127.0.0.1:0",
                "--cluster",
                "/nonexistent/cluster.yaml",
            ],
            3,
            "/nonexistent/cluster.yaml",
        ),
        (vec!["--listen", taken_addr.as_str()], 4, "cannot listen on"),
    ] {
        std::fs::write(&ca, "the running server's CA\n").unwrap();
        let (got, _, err) = serve(&extra);
        assert_eq!(got, code, "{err}");
        assert_eq!(err.matches(message).count(), 1, "said once: {err}");
        assert!(!err.contains('\u{1b}'), "no colour codes: {err:?}");
        assert_eq!(
            std::fs::read_to_string(&ca).unwrap(),
            "the running server's CA\n",
            "{err}"
        );
    }
    drop(taken);

    // Started: the CA is written.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_otel-inject"))
        .args([
            "serve",
            "--standalone",
            "--self-signed",
            "--ca-out",
            &ca_arg,
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .env_remove("OTEL_INJECT_CLUSTER")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let written = loop {
        let text = std::fs::read_to_string(&ca).unwrap_or_default();
        if text.starts_with("-----BEGIN CERTIFICATE-----") {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(written, "serve never wrote the CA");
}

#[test]
fn misplaced_annotations_and_missing_owners_are_warned_about() {
    let instrumentation = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata: {name: otel, namespace: default}\nspec: {}\n---\n";
    let misplaced = format!(
        "{instrumentation}apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations: {{instrumentation.opentelemetry.io/inject-java: \"true\"}}\nspec:\n  template:\n    spec:\n      containers: [{{name: a, image: a:1}}]\n"
    );
    let (code, out, err) = run(&["inject", "-f", "-", "--strict"], &misplaced);
    assert_eq!(code, 5, "{err}");
    assert!(!out.contains("JAVA_TOOL_OPTIONS"), "{out}");
    assert_eq!(warning_lines(&err).len(), 1, "{err}");
    assert!(
        err.contains("stdin: document 2: Deployment default/web: instrumentation.opentelemetry.io/inject-java sits on the workload's own metadata, which its pods do not get; move it to `spec.template.metadata.annotations`"),
        "{err}"
    );

    // A pod whose ReplicaSet is in neither the input nor a --cluster file: injected, and the
    // missing owner attributes said, as the webhook says them.
    let orphan = format!(
        "{instrumentation}apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  ownerReferences: [{{apiVersion: apps/v1, kind: ReplicaSet, name: web-abc, uid: u1, controller: true}}]\n  annotations: {{instrumentation.opentelemetry.io/inject-python: \"true\"}}\nspec:\n  containers: [{{name: a, image: a:1}}]\n"
    );
    let (code, out, err) = run(&["inject", "-f", "-"], &orphan);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("PYTHONPATH"), "{out}");
    let lines = warning_lines(&err);
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("stdin: document 2: Pod default/p: ReplicaSet web-abc was not found"),
        "{err}"
    );
}

#[test]
fn validate_checks_instrumentations_alone() {
    let input = "apiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata: {name: a, namespace: shop}\nspec:\n  exportr: {endpoint: http://c:4318}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\napiVersion: opentelemetry.io/v1alpha1\nkind: Instrumentation\nmetadata: {name: b}\nspec: {exporter: {endpoint: http://c:4318}}\n";
    let (code, out, err) = run(&["validate", "-f", "-"], input);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Instrumentation shop/a (document 1): read, 1 unknown field(s) ignored (see the warnings)\nInstrumentation default/b (document 3): ok\n"
    );
    assert!(err.contains("warning: stdin: document 1: Instrumentation shop/a: field `spec.exportr` is not an Instrumentation field (did you mean `exporter`?)"), "{err}");
    let (code, _, err) = run(&["validate", "-f", "-", "--strict"], input);
    assert_eq!(code, 5, "{err}");
    let (code, out, err) = run(
        &["validate", "-f", "-", "--strict"],
        input.split("---\n").nth(2).unwrap(),
    );
    assert_eq!(
        (code, out.as_str()),
        (0, "Instrumentation default/b (document 1): ok\n"),
        "{err}"
    );
    // Nothing to validate is worth a warning; another version is an error.
    let (code, _, err) = run(
        &["validate", "-f", "-", "--strict"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    );
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("no Instrumentation"), "{err}");
    let (code, _, err) = run(
        &["validate", "-f", "-"],
        &input.replace("v1alpha1", "v1beta1"),
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("reads only opentelemetry.io/v1alpha1"),
        "{err}"
    );
}
