//! A heap probe, not a test: the kube view against a real cluster, stopped the moment its
//! caches are synced, so that a heap profiler sees what they hold. The webhook binary uses
//! mimalloc, which profilers cannot see into; this test binary uses the system allocator.
//!
//! ```text
//! cargo test -p otel-inject --test kube_view_heap --no-run
//! OTEL_INJECT_E2E_KUBECONFIG=$HOME/.cache/k8s-local/kubeconfig \
//!   heaptrack target/debug/deps/kube_view_heap-<hash> --ignored --nocapture
//! heaptrack_print -f heaptrack.kube_view_heap-*.zst | less   # "leaked" = live at the stop
//! ```
//! bench/cluster-scale.sh fills the cluster; the figures belong in the issue note.
#![allow(clippy::expect_used)]

mod common;

use std::{sync::Arc, time::Duration};

use kube::config::{KubeConfigOptions, Kubeconfig};
use otel_inject::cluster::{kube_view::KubeView, ClusterView};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs OTEL_INJECT_E2E_KUBECONFIG and a heap profiler; see the module docs"]
async fn caches_synced_then_stop() {
    common::install_provider();
    let path = std::env::var_os("OTEL_INJECT_E2E_KUBECONFIG").expect("OTEL_INJECT_E2E_KUBECONFIG");
    let kc = Kubeconfig::read_from(path).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    let (view, _tasks) = KubeView::start(client, Arc::new(|c, e| eprintln!("{c}: {e}")));
    let start = std::time::Instant::now();
    while view.readiness().is_err() {
        assert!(start.elapsed() < Duration::from_secs(120), "not synced");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("synced in {:?}: {:?}", start.elapsed(), view.cache_sizes());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    for line in status.lines().filter(|l| {
        ["VmRSS", "VmHWM", "RssAnon", "RssFile"]
            .iter()
            .any(|k| l.starts_with(k))
    }) {
        eprintln!("{line}");
    }
    // Exit with everything still allocated: the profiler's "leaked" is what the caches hold.
    std::process::exit(0);
}
