//! deploy/ checked by real tools (tests/deploy/run.sh: kubectl kustomize, kubernetes-validate,
//! the generated CRD's schema, checkov), then the rendered workloads run through the real
//! `otel-inject inject` (tests/deploy/check_injection.sh). The scripts install what they need
//! (kubectl, a pinned Python venv) when it is missing. Both run in one test, in order, because
//! they share that venv.

use std::path::PathBuf;
use std::process::Command;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run_script(script: &str, args: &[&str]) {
    let out = Command::new("bash")
        .arg(repo_root().join(script))
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The scripts print what they checked; keep it in the test output.
    eprintln!("--- {script}\n{stdout}{stderr}");
    assert!(
        out.status.success(),
        "{script} failed ({}); its output is above",
        out.status
    );
}

#[test]
fn deploy_manifests_validate_and_workloads_come_out_injected() {
    run_script("tests/deploy/run.sh", &[]);
    let venv_bin = repo_root().join(".venv-deploy/bin");
    let path = format!(
        "{}:{}",
        std::env::var("PATH").unwrap_or_default(),
        venv_bin.display()
    );
    let out = Command::new("bash")
        .arg(repo_root().join("tests/deploy/check_injection.sh"))
        .arg(env!("CARGO_BIN_EXE_otel-inject"))
        .env("PATH", path)
        .current_dir(repo_root())
        .output()
        .expect("run check_injection.sh");
    eprintln!(
        "--- tests/deploy/check_injection.sh\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "check_injection.sh failed; its output is above"
    );
}
