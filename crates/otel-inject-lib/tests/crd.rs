//! The checked-in CRD must be what the types generate. Regenerate with
//! `UPDATE_CRD=1 cargo test -p otel-inject-lib --test crd` (or `otel-inject crd`).

use std::path::PathBuf;

use otel_inject_lib::instrumentation::crd_yaml;

fn crd_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/otel-inject/base/crd-instrumentation.yaml")
}

#[test]
fn checked_in_crd_matches_the_types() {
    let generated = crd_yaml().expect("CRD serialises");
    let path = crd_path();
    if std::env::var_os("UPDATE_CRD").is_some() {
        std::fs::write(&path, &generated).expect("write CRD");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is stale: run `UPDATE_CRD=1 cargo test -p otel-inject-lib --test crd` and commit it",
        path.display()
    );
}

#[test]
fn crd_is_the_operators_resource() {
    let crd: serde_json::Value = serde_yaml::from_str(&crd_yaml().expect("CRD")).expect("yaml");
    assert_eq!(crd["metadata"]["name"], "instrumentations.opentelemetry.io");
    assert_eq!(crd["spec"]["scope"], "Namespaced");
    assert_eq!(crd["spec"]["names"]["kind"], "Instrumentation");
    assert_eq!(
        crd["spec"]["names"]["shortNames"],
        serde_json::json!(["otelinst", "otelinsts"])
    );
    let v = &crd["spec"]["versions"][0];
    assert_eq!(v["name"], "v1alpha1");
    let spec = &v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    for field in [
        "exporter",
        "resource",
        "propagators",
        "sampler",
        "defaults",
        "env",
        "java",
        "nodejs",
        "python",
        "dotnet",
        "go",
        "apacheHttpd",
        "nginx",
        "imagePullPolicy",
        "initContainerSecurityContext",
    ] {
        assert!(
            spec.get(field).is_some(),
            "spec.{field} missing from the CRD schema"
        );
    }
    assert!(spec["exporter"]["properties"]["tls"]["properties"]
        .get("ca_file")
        .is_some());
    assert!(spec["resource"]["properties"]
        .get("addK8sUIDAttributes")
        .is_some());
    assert!(spec["java"]["properties"].get("resources").is_some());
    assert!(spec["dotnet"]["properties"]
        .get("resourceRequirements")
        .is_some());
    assert!(spec["dotnet"]["properties"]
        .get("volumeLimitSize")
        .is_some());
}
