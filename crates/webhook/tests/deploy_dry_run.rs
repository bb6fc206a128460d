//! Every rendered deploy/ kustomization and the Helm chart, dry-run on a real API server
//! (tests/deploy/dry_run.sh): accepted, and stored without a field pruned, with the upstream
//! CRDs of tests/deploy/upstream/crds installed. Runs against k8s-local when
//! `OTEL_INJECT_E2E_KUBECONFIG` names its kubeconfig, like the e2e suite; without one it fails
//! and says how to get one, unless `OTEL_INJECT_E2E_SKIP=1` skips it knowingly.

use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_rendered_deploy_object_passes_a_server_side_dry_run() {
    let Some(kubeconfig) = std::env::var_os("OTEL_INJECT_E2E_KUBECONFIG") else {
        assert!(
            matches!(
                std::env::var("OTEL_INJECT_E2E_SKIP").as_deref(),
                Ok("1" | "all")
            ),
            "the dry run needs a throwaway cluster: run ../shared/k8s-local/up.sh, then set \
             OTEL_INJECT_E2E_KUBECONFIG=$HOME/.cache/k8s-local/kubeconfig (.ci/run does this); \
             or set OTEL_INJECT_E2E_SKIP=1 to skip it knowingly"
        );
        eprintln!("deploy dry run: NOT RUN (OTEL_INJECT_E2E_SKIP=1)");
        return;
    };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = Command::new("bash")
        .arg(root.join("tests/deploy/dry_run.sh"))
        .env("KUBECONFIG", kubeconfig)
        .current_dir(&root)
        .output()
        .expect("run tests/deploy/dry_run.sh");
    eprintln!(
        "--- tests/deploy/dry_run.sh\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "dry_run.sh failed ({}); its output is above",
        out.status
    );
}
