//! No client can hold the webhook's connections: a TLS connection that sends nothing is closed,
//! so is one idle between requests, a client that does not read its responses is dropped,
//! connections past the cap wait, shutdown keeps serving through its delay (readiness failing)
//! and then answers every in-flight HTTP/1.1 and HTTP/2 request, and `--client-ca` admits only
//! the client whose certificate that CA issued.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use otel_inject::server::Timeouts;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use rustls::pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;

/// The value of one series in the webhook's /metrics, 0 when absent.
async fn metric(server: &TestServer, series: &str) -> f64 {
    let (_, text) = admin_get(server.running.admin_addr.unwrap(), "/metrics").await;
    sample_value(&text, series).unwrap_or(0.0)
}

async fn wait_metric(server: &TestServer, series: &str, want: f64, within: Duration) {
    let start = Instant::now();
    loop {
        let v = metric(server, series).await;
        if v == want {
            return;
        }
        assert!(
            start.elapsed() < within,
            "{series} is {v}, not {want}, after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `n` connections in all have ended for `reason` and none is open.
async fn wait_closed(server: &TestServer, reason: &str, n: f64, within: Duration) {
    let series = format!(r#"otel_inject_connections_closed_total{{reason="{reason}"}}"#);
    wait_metric(server, &series, n, within).await;
    wait_metric(
        server,
        "otel_inject_open_connections",
        0.0,
        Duration::from_secs(2),
    )
    .await;
}

async fn tls(
    connector: &TlsConnector,
    addr: SocketAddr,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_connection_that_never_sends_a_request_is_closed() {
    let timeouts = Timeouts {
        header_read: Duration::from_millis(300),
        ..Timeouts::default()
    };
    let server = start_with(shop_view(), Duration::from_millis(200), timeouts).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut stream = tls(&connector, server.running.addr).await;
    let started = Instant::now();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut buf)).await;
    let took = started.elapsed();
    assert!(
        read.is_ok(),
        "a silent TLS connection was kept open for 5 s"
    );
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(3),
        "closed after {took:?}, expected about 300 ms"
    );
    wait_closed(&server, "no_request", 1.0, Duration::from_secs(2)).await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let timeouts = Timeouts {
        idle: Duration::from_millis(500),
        request: Duration::from_millis(500),
        ..Timeouts::default()
    };
    let server = start_with(shop_view(), Duration::from_millis(200), timeouts).await;
    let connector = tls_client(&[&server.ca_pem]);
    let mut conn = connect(&connector, server.running.addr).await.unwrap();
    let (status, _) = post_json(&mut conn, "/mutate", fixture("dotnet-pod-create.json")).await;
    assert_eq!(status, StatusCode::OK);
    let answered = Instant::now();
    let closed = tokio::time::timeout(Duration::from_secs(5), async {
        while !conn.sender.is_closed() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let took = answered.elapsed();
    assert!(
        closed.is_ok(),
        "an idle keep-alive connection was kept for 5 s"
    );
    assert!(
        took >= Duration::from_millis(450),
        "closed after only {took:?}"
    );
    wait_metric(
        &server,
        r#"otel_inject_connections_closed_total{reason="idle"}"#,
        1.0,
        Duration::from_secs(2),
    )
    .await;
}

/// Pipelines far more reviews than the socket buffers hold and never reads an answer.
#[tokio::test]
async fn a_client_that_does_not_read_is_dropped() {
    let timeouts = Timeouts {
        write: Duration::from_millis(500),
        ..Timeouts::default()
    };
    let server = start_with(shop_view(), Duration::from_millis(200), timeouts).await;
    let connector = tls_client(&[&server.ca_pem]);
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let tcp = socket.connect(server.running.addr).await.unwrap();
    let stream = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    let (_reader, mut writer) = tokio::io::split(stream);
    let body = fixture("dotnet-pod-create.json");
    let mut request = format!(
        "POST /mutate HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(&body);
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let writer_task = tokio::spawn(async move {
        for _ in 0..20_000 {
            if writer.write_all(&request).await.is_err() {
                break;
            }
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    wait_closed(&server, "write_timeout", 1.0, Duration::from_secs(20)).await;
    writer_task.abort();
    assert!(
        sent.load(Ordering::Relaxed) > 10,
        "the client never got going"
    );
}

#[tokio::test]
async fn connections_past_the_cap_wait_for_a_free_slot() {
    let timeouts = Timeouts {
        max_connections: 2,
        ..Timeouts::default()
    };
    let server = start_with(shop_view(), Duration::from_millis(200), timeouts).await;
    let connector = tls_client(&[&server.ca_pem]);
    let addr = server.running.addr;
    let first = connect(&connector, addr).await.unwrap();
    let mut second = connect(&connector, addr).await.unwrap();
    let third = tokio::spawn({
        let connector = connector.clone();
        async move { connect(&connector, addr).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !third.is_finished(),
        "a third connection was served past a cap of 2"
    );
    let (status, _) = post_json(&mut second, "/mutate", fixture("dotnet-pod-create.json")).await;
    assert_eq!(status, StatusCode::OK, "the open connections still work");
    drop(first);
    let mut third = tokio::time::timeout(Duration::from_secs(5), third)
        .await
        .expect("the waiting connection got the freed slot")
        .unwrap()
        .unwrap();
    let (status, _) = post_json(&mut third, "/mutate", fixture("dotnet-pod-create.json")).await;
    assert_eq!(status, StatusCode::OK);
}

/// An HTTP/2 connection (prior knowledge, as the server's auto-detection takes it).
async fn h2(
    connector: &TlsConnector,
    addr: SocketAddr,
) -> hyper::client::conn::http2::SendRequest<Full<Bytes>> {
    let (sender, conn) = hyper::client::conn::http2::handshake(
        TokioExecutor::new(),
        TokioIo::new(tls(connector, addr).await),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    sender
}

async fn h2_post(
    mut sender: hyper::client::conn::http2::SendRequest<Full<Bytes>>,
) -> Result<StatusCode, String> {
    sender.ready().await.map_err(|e| e.to_string())?;
    let req = Request::post("https://localhost/mutate")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(fixture("dotnet-pod-create.json"))))
        .unwrap();
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status();
    resp.into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    Ok(status)
}

#[tokio::test]
async fn shutdown_serves_through_its_delay_then_answers_everything_in_flight() {
    // Every decision takes 600 ms (a slow owner lookup), so requests are in flight when the
    // shutdown starts and when the delay ends.
    let view = Arc::new(SlowOwners::new(Duration::from_millis(600)));
    let timeouts = Timeouts {
        shutdown_delay: Duration::from_millis(1000),
        ..Timeouts::default()
    };
    let server = start_with(view.clone(), Duration::from_secs(2), timeouts).await;
    let connector = tls_client(&[&server.ca_pem]);
    let addr = server.running.addr;
    let admin = server.running.admin_addr.unwrap();

    let mut h1 = connect(&connector, addr).await.unwrap();
    let before_h1 = tokio::spawn(async move {
        post(
            &mut h1,
            "/mutate",
            Some("application/json"),
            fixture("dotnet-pod-create.json"),
        )
        .await
        .map(|(s, _)| s)
    });
    let before_h2 = tokio::spawn(h2_post(h2(&connector, addr).await));
    tokio::time::timeout(Duration::from_secs(5), async {
        while view.calls.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("both requests reached the decision");
    server.running.shutdown.trigger();
    let (status, text) = admin_get(admin, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    assert!(text.contains("shutting down"), "{text}");

    // Within the delay: new connections are still accepted and answered, both protocols.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut late_h1 = connect(&connector, addr)
        .await
        .expect("accepted during the delay");
    let during_h1 = tokio::spawn(async move {
        post(
            &mut late_h1,
            "/mutate",
            Some("application/json"),
            fixture("dotnet-pod-create.json"),
        )
        .await
        .map(|(s, _)| s)
    });
    let during_h2 = tokio::spawn(h2_post(h2(&connector, addr).await));

    for (what, task) in [
        ("HTTP/1.1 before", before_h1),
        ("HTTP/1.1 during", during_h1),
    ] {
        let status = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer"))
            .unwrap();
        assert_eq!(status, Ok(StatusCode::OK), "{what} the shutdown");
    }
    for (what, task) in [("HTTP/2 before", before_h2), ("HTTP/2 during", during_h2)] {
        let status = tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .unwrap_or_else(|_| panic!("{what}: no answer"))
            .unwrap();
        assert_eq!(status, Ok(StatusCode::OK), "{what} the shutdown");
    }
    tokio::time::timeout(Duration::from_secs(10), server.running.wait())
        .await
        .expect("the server stopped after the delay and the drain");
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after shutdown"
    );
}

/// A CA and one client certificate it issued, as PEM.
struct ClientPki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

fn client_pki() -> ClientPki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut client = CertificateParams::new(vec!["kube-apiserver".into()]).unwrap();
    client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let cert = client.signed_by(&key, &issuer).unwrap();
    ClientPki {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

fn client_with_cert(server_ca: &str, pki: Option<&ClientPki>) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(server_ca.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match pki {
        None => builder.with_no_client_auth(),
        Some(p) => builder
            .with_client_auth_cert(
                CertificateDer::pem_slice_iter(p.cert_pem.as_bytes())
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap(),
                PrivateKeyDer::from_pem_slice(p.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
    };
    TlsConnector::from(Arc::new(config))
}

#[tokio::test]
async fn client_ca_admits_only_clients_it_issued() {
    let api_server = client_pki();
    let stranger = client_pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("client-ca.crt");
    std::fs::write(&ca_file, &api_server.ca_pem).unwrap();
    let server = start_with_client_ca(
        shop_view(),
        Duration::from_millis(200),
        Timeouts::default(),
        Some(ca_file),
    )
    .await;
    let addr = server.running.addr;

    let mut conn = connect(&client_with_cert(&server.ca_pem, Some(&api_server)), addr)
        .await
        .expect("the API server's certificate is accepted");
    let (status, _) = post_json(&mut conn, "/mutate", fixture("dotnet-pod-create.json")).await;
    assert_eq!(status, StatusCode::OK);

    for (who, connector) in [
        (
            "no client certificate",
            client_with_cert(&server.ca_pem, None),
        ),
        (
            "a certificate of another CA",
            client_with_cert(&server.ca_pem, Some(&stranger)),
        ),
    ] {
        // TLS 1.3 finishes the client's side of the handshake before the server has checked
        // the client's certificate: the refusal shows on the first exchange at the latest.
        let refused = match connect(&connector, addr).await {
            Err(_) => true,
            Ok(mut c) => post(
                &mut c,
                "/mutate",
                Some("application/json"),
                fixture("dotnet-pod-create.json"),
            )
            .await
            .is_err(),
        };
        assert!(refused, "{who} was served");
    }
    wait_metric(
        &server,
        r#"otel_inject_connections_closed_total{reason="handshake_failed"}"#,
        2.0,
        Duration::from_secs(2),
    )
    .await;
}
