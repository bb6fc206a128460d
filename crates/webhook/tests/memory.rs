//! Peak memory of the real `otel-inject serve` process (standalone, self-signed TLS) under
//! hostile reviews, read from the kernel (`VmHWM` in /proc/PID/status: the high-water mark of
//! its resident set). The deployment's memory limit is 256 MiB; before the bounds, one 3 MiB
//! review of tiny values raised the peak by ~270-300 MiB and eight at once reached ~750 MiB.
//!
//! The ceilings, for this debug build (which also replays every patch, one more pod copy per
//! decision than a release build makes), measured at: idle ~44 MiB, one dense 3 MiB review
//! ~60, eight at once ~80 (each body is buffered, none is parsed), eight legal 3 MiB reviews
//! (99k values each, just under the most a review may hold) decided two at a time
//! (`--max-concurrent-reviews 2`) 178-190, from ~65 MiB per decision in flight. So: 96 MiB after
//! the dense ones, 224 MiB after the legal ones, inside the deployment's 256 MiB with room for
//! the allocator and the caches of a real cluster.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    net::TcpListener,
    path::Path,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use common::*;
use hyper::StatusCode;
use serde_json::{json, Value};

struct Server {
    child: Child,
    addr: std::net::SocketAddr,
    ca_pem: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(dir: &Path) -> Server {
    let (port, metrics) = (free_port(), free_port());
    let ca = dir.join("ca.pem");
    let child = Command::new(env!("CARGO_BIN_EXE_otel-inject"))
        .args(["serve", "--standalone", "--self-signed"])
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg(format!("--metrics-listen=127.0.0.1:{metrics}"))
        .arg(format!("--ca-out={}", ca.display()))
        .args(["--max-concurrent-reviews=2", "--log-format=json"])
        .env("OTEL_INJECT_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !ca.exists() || std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        ca_pem: std::fs::read_to_string(&ca).unwrap(),
    }
}

/// (peak, current) resident set in MiB.
fn rss(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
    };
    (kib("VmHWM:") / 1024.0, kib("VmRSS:") / 1024.0)
}

/// The .NET review with its pod made `bytes` large out of `values` JSON values.
fn review_with(values: usize, each: Value) -> Vec<u8> {
    let mut review = fixture_json("dotnet-pod-create.json");
    review["request"]["object"]["spec"]["containers"][0]["args"] = Value::Array(vec![each; values]);
    serde_json::to_vec(&review).unwrap()
}

async fn send_all(server: &Server, body: &[u8], n: usize) -> Vec<StatusCode> {
    let connector = tls_client(&[&server.ca_pem]);
    let mut tasks = Vec::new();
    for _ in 0..n {
        let connector = connector.clone();
        let (addr, body) = (server.addr, body.to_vec());
        tasks.push(tokio::spawn(async move {
            let mut conn = connect(&connector, addr).await.unwrap();
            post(&mut conn, "/mutate", Some("application/json"), body)
                .await
                .map(|(s, _)| s)
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .unwrap()
                .unwrap(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_reviews_keep_peak_memory_bounded() {
    install_provider();
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path());
    let pid = server.child.id();
    // Warm up: the first review builds what every later one reuses.
    let statuses = send_all(&server, &fixture("dotnet-pod-create.json"), 1).await;
    assert_eq!(statuses, [StatusCode::OK]);
    let (idle, _) = rss(pid);

    // 1.4 million tiny values in just under 3 MiB: refused before parsing.
    let dense = review_with(1_400_000, json!(0));
    assert!(
        dense.len() > 2 * 1024 * 1024 && dense.len() < 3 * 1024 * 1024,
        "{}",
        dense.len()
    );
    assert_eq!(
        send_all(&server, &dense, 1).await,
        [StatusCode::PAYLOAD_TOO_LARGE]
    );
    let (one, _) = rss(pid);
    assert_eq!(
        send_all(&server, &dense, 8).await,
        vec![StatusCode::PAYLOAD_TOO_LARGE; 8]
    );
    let (eight, _) = rss(pid);

    // The largest legal review: 99k values of ~28 bytes, about 3 MiB, decided for real.
    let legal = review_with(99_000, json!("--a-flag-of-twenty-six-chars"));
    assert!(
        legal.len() > 2 * 1024 * 1024 && legal.len() < 3 * 1024 * 1024,
        "{}",
        legal.len()
    );
    assert_eq!(send_all(&server, &legal, 8).await, vec![StatusCode::OK; 8]);
    let (decided, now) = rss(pid);
    eprintln!(
        "peak RSS: idle {idle:.1} MiB; one dense 3 MiB review {one:.1}; eight at once {eight:.1}; \
         eight legal 3 MiB reviews decided {decided:.1} (RSS now {now:.1})"
    );
    assert!(
        eight < 96.0,
        "eight dense reviews took the peak to {eight:.1} MiB"
    );
    assert!(
        decided < 224.0,
        "eight legal 3 MiB reviews took the peak to {decided:.1} MiB"
    );
}
