//! `otel-inject crd` writes the library's CRD as YAML, and the checked-in
//! `deploy/otel-inject/base/crd-instrumentation.yaml` (the chart links to it) is exactly that
//! output. Regenerate with `UPDATE_CRD=1 cargo test -p otel-inject --test crd`. The library's own
//! `crd` test checks, with an independent reader, that the file means what the types build.

use std::path::PathBuf;

use otel_inject::commands::crd_yaml;
use serde_json::Value;

fn crd_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/otel-inject/base/crd-instrumentation.yaml")
}

#[test]
fn checked_in_crd_is_what_otel_inject_crd_prints() {
    let generated = crd_yaml().expect("the CRD renders");
    let path = crd_path();
    if std::env::var_os("UPDATE_CRD").is_some() {
        std::fs::write(&path, &generated).expect("write CRD");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "{} is stale: run `UPDATE_CRD=1 cargo test -p otel-inject --test crd` and commit it",
        path.display()
    );
}

/// Both YAML readers (ours, which reads as kubectl does, and serde_yaml) read the rendering back
/// as exactly the library's CRD: nothing the writer quotes or folds changes a value.
#[test]
fn the_rendering_reads_back_as_the_library_crd() {
    let expected = serde_json::to_value(otel_inject_lib::crd::crd()).expect("JSON");
    let text = crd_yaml().expect("the CRD renders");
    let ours = otel_inject::yaml::read(&text)
        .expect("our reader reads it")
        .expect("one document");
    assert!(ours == expected, "our reader reads another CRD back");
    let independent: Value = serde_yaml::from_str(&text).expect("serde_yaml reads it");
    assert!(independent == expected, "serde_yaml reads another CRD back");
}
