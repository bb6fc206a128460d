//! Certificate files reloaded while requests flow, laid out the way the kubelet mounts a
//! Secret (`tls.crt -> ..data/tls.crt`, `..data -> ..<timestamp>`, swapped atomically).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    path::Path,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use common::*;
use hyper::StatusCode;
use otel_inject::{
    metrics::Metrics,
    selfsigned,
    serve::{self, ServerSetup},
    server::Timeouts,
    tls::{self, CertFiles, ReloadEvent, SwappableCert, TlsError},
};

/// Writes a new `..<name>` directory and swaps `..data` to it with a rename, as the kubelet does.
fn kubelet_swap(dir: &Path, name: &str, cert: &[u8], key: &[u8]) {
    let data = dir.join(format!("..{name}"));
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("tls.crt"), cert).unwrap();
    std::fs::write(data.join("tls.key"), key).unwrap();
    let tmp = dir.join("..data_tmp");
    std::os::unix::fs::symlink(format!("..{name}"), &tmp).unwrap();
    std::fs::rename(&tmp, dir.join("..data")).unwrap();
    for f in ["tls.crt", "tls.key"] {
        let link = dir.join(f);
        if std::fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(format!("..data/{f}"), &link).unwrap();
        }
    }
}

#[tokio::test]
async fn rotation_under_load_drops_nothing() {
    install_provider();
    let first = selfsigned::issue(&sans(), Duration::from_secs(3600)).unwrap();
    let second = selfsigned::issue(&sans(), Duration::from_secs(7200)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    kubelet_swap(
        dir.path(),
        "2026_11_01_first",
        first.cert_pem.as_bytes(),
        first.key_pem.as_bytes(),
    );
    let files = CertFiles {
        cert: dir.path().join("tls.crt"),
        key: dir.path().join("tls.key"),
    };
    let (key, fingerprint) = files.load().unwrap();
    let cert = SwappableCert::new(key);
    let events = Arc::new(std::sync::Mutex::new(Vec::new()));
    let recorded = events.clone();
    let watcher = tokio::spawn(tls::watch_files(
        files,
        cert.clone(),
        fingerprint,
        Duration::from_millis(50),
        move |e| {
            recorded.lock().unwrap().push(match e {
                ReloadEvent::Reloaded { .. } => "reloaded".to_string(),
                ReloadEvent::Rejected(e) => format!("rejected: {e}"),
            })
        },
    ));
    let running = serve::start(ServerSetup {
        listen: "127.0.0.1:0".parse().unwrap(),
        admin_listen: None,
        view: shop_view(),
        cert: cert.clone(),
        metrics: Arc::new(Metrics::new()),
        options: Default::default(),
        owner_budget: Duration::from_millis(200),
        timeouts: Timeouts {
            shutdown_delay: Duration::ZERO,
            ..Timeouts::default()
        },
        client_ca: None,
    })
    .await
    .unwrap();
    let addr = running.addr;
    // Like the API server during a rotation: both CAs are in the bundle.
    let connector = tls_client(&[&first.ca_pem, &second.ca_pem]);
    let first_leaf = connect(&connector, addr).await.unwrap().peer_leaf;

    // A connection opened before the rotation must keep working after it.
    let mut long_lived = connect(&connector, addr).await.unwrap();
    let (status, _) = post_json(
        &mut long_lived,
        "/mutate",
        fixture("dotnet-pod-create.json"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for worker in 0..4 {
        let (stop, ok, failures, connector) = (
            stop.clone(),
            ok.clone(),
            failures.clone(),
            connector.clone(),
        );
        workers.push(tokio::spawn(async move {
            let mut conn = None;
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                // Every few requests a new connection, so handshakes straddle the swap too.
                if conn.is_none() || (n + worker).is_multiple_of(4) {
                    match connect(&connector, addr).await {
                        Ok(c) => conn = Some(c),
                        Err(e) => {
                            failures.lock().unwrap().push(format!("connect: {e}"));
                            continue;
                        }
                    }
                }
                let c = conn.as_mut().unwrap();
                match post(
                    c,
                    "/mutate",
                    Some("application/json"),
                    fixture("dotnet-pod-create.json"),
                )
                .await
                {
                    Ok((StatusCode::OK, _)) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok((status, body)) => failures
                        .lock()
                        .unwrap()
                        .push(format!("{status}: {}", String::from_utf8_lossy(&body))),
                    Err(e) => failures.lock().unwrap().push(format!("request: {e}")),
                }
            }
        }));
    }

    // Counts, not durations, so that a loaded machine only makes the test slower: traffic is
    // flowing before the first swap and keeps flowing after the rotation.
    let served_at_least = |n: usize| {
        let ok = ok.clone();
        async move {
            tokio::time::timeout(Duration::from_secs(20), async {
                while ok.load(Ordering::Relaxed) < n {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            })
            .await
            .unwrap_or_else(|_| panic!("fewer than {n} reviews answered within 20 s"));
        }
    };
    served_at_least(10).await;
    // A broken update first: it must be refused and must not stop later reloads.
    kubelet_swap(
        dir.path(),
        "2026_11_02_broken",
        b"not a certificate",
        first.key_pem.as_bytes(),
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        cert.leaf_der().unwrap(),
        first_leaf,
        "a broken file replaced the served certificate"
    );
    // Then the real rotation.
    kubelet_swap(
        dir.path(),
        "2026_11_03_second",
        second.cert_pem.as_bytes(),
        second.key_pem.as_bytes(),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let leaf = connect(&connector, addr).await.unwrap().peer_leaf;
        if leaf != first_leaf {
            assert_eq!(Some(leaf), cert.leaf_der());
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new certificate was never served: {:?} (swapped: {})",
            events.lock().unwrap(),
            cert.leaf_der().unwrap() != first_leaf
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    served_at_least(ok.load(Ordering::Relaxed) + 10).await;
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.await.unwrap();
    }
    let failures = failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "requests failed during rotation: {failures:?}"
    );
    let (status, _) = post_json(
        &mut long_lived,
        "/mutate",
        fixture("dotnet-pod-create.json"),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the pre-rotation connection was dropped"
    );
    assert_eq!(cert.not_after_unix(), second.serving.not_after_unix);

    let events = events.lock().unwrap().clone();
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("rejected") && e.contains("tls.crt")),
        "{events:?}"
    );
    assert_eq!(
        events.last().map(String::as_str),
        Some("reloaded"),
        "{events:?}"
    );
    watcher.abort();
    running.shutdown.trigger();
    running.wait().await;
}

#[test]
fn startup_validation_names_the_file() {
    install_provider();
    let dir = tempfile::tempdir().unwrap();
    let a = selfsigned::issue(&sans(), Duration::from_secs(3600)).unwrap();
    let b = selfsigned::issue(&sans(), Duration::from_secs(3600)).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let cert = write("a.crt", &a.cert_pem);
    let key_a = write("a.key", &a.key_pem);
    let key_b = write("b.key", &b.key_pem);
    let garbage = write("garbage.crt", "hello");
    let missing = dir.path().join("missing.crt");

    let load = |cert: &Path, key: &Path| {
        CertFiles {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
        }
        .load()
        .map(|_| ())
    };
    assert!(load(&cert, &key_a).is_ok());
    let e = load(&missing, &key_a).unwrap_err();
    assert!(
        matches!(e, TlsError::Read { .. }) && e.to_string().contains("missing.crt"),
        "{e}"
    );
    let e = load(&garbage, &key_a).unwrap_err();
    assert!(
        e.to_string().contains("garbage.crt") && e.to_string().contains("no PEM certificate"),
        "{e}"
    );
    let e = load(&cert, &garbage).unwrap_err();
    assert!(
        e.to_string().contains("garbage.crt") && e.to_string().contains("private key"),
        "{e}"
    );
    let e = load(&cert, &key_b).unwrap_err();
    assert!(
        e.to_string().contains("b.key") && e.to_string().contains("cannot be used together"),
        "{e}"
    );
}
