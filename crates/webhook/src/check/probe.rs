//! Connecting to the webhook as the API server does: TCP, then TLS with the name the API server
//! verifies, capturing the chain it presents (judged afterwards by `certificate`), then, only if
//! the caBundle vouches for it, one dry-run AdmissionReview.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::certificate::{self, Answer, Probe, ProbeOutcome};
use super::finding::Level;

/// `(host, port, path)` of an `https://` URL; IPv6 hosts without brackets.
pub(super) fn split_url(url: &str) -> (String, u16, String) {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], rest[i..].to_string()),
        None => (rest, String::new()),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        match v6.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => (v6, None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    (
        host.to_string(),
        port.and_then(|p| p.parse().ok()).unwrap_or(443),
        path,
    )
}

/// Records the chain the server presents and accepts it: verification is done afterwards, by
/// `certificate::certificate`, so that a failure can be explained rather than just refused.
#[derive(Debug)]
struct CaptureChain {
    chain: Mutex<Vec<CertificateDer<'static>>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for CaptureChain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut c) = self.chain.lock() {
            *c = chain;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to `addr` as the API server would (SNI `name`), captures the certificate chain,
/// and, when the caBundle verifies it, sends a dry-run AdmissionReview to `path`.
pub(super) async fn probe(
    addr: SocketAddr,
    name: &str,
    path: &str,
    bundle: Option<&[u8]>,
    now: i64,
    warn_before: Duration,
) -> Probe {
    let mut probe = Probe {
        target: addr.to_string(),
        server_name: name.to_string(),
        outcome: ProbeOutcome::Unreachable(String::new()),
    };
    let tcp = match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr))
        .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            probe.outcome = ProbeOutcome::Unreachable(e.to_string());
            return probe;
        }
        Err(_) => {
            probe.outcome = ProbeOutcome::Unreachable(format!("no answer in {CONNECT_TIMEOUT:?}"));
            return probe;
        }
    };
    let provider = crate::tls::ring_provider();
    let capture = Arc::new(CaptureChain {
        chain: Mutex::new(Vec::new()),
        provider: provider.clone(),
    });
    let config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b
            .dangerous()
            .with_custom_certificate_verifier(capture.clone())
            .with_no_client_auth(),
        Err(e) => {
            probe.outcome = ProbeOutcome::Handshake(e.to_string());
            return probe;
        }
    };
    let Ok(server_name) = ServerName::try_from(name.to_string()) else {
        probe.outcome = ProbeOutcome::Handshake(format!("{name:?} is not a valid server name"));
        return probe;
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let handshake =
        tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(server_name, tcp)).await;
    let captured = || capture.chain.lock().map(|c| c.clone()).unwrap_or_default();
    let mut tls = match handshake {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            let chain = captured();
            probe.outcome = if chain.is_empty() {
                ProbeOutcome::Handshake(e.to_string())
            } else {
                ProbeOutcome::Presented {
                    chain,
                    answer: client_cert_or(e.to_string()),
                }
            };
            return probe;
        }
        Err(_) => {
            probe.outcome = ProbeOutcome::Handshake(format!("no handshake in {CONNECT_TIMEOUT:?}"));
            return probe;
        }
    };
    let chain = captured();
    probe.outcome = ProbeOutcome::Presented {
        chain: chain.clone(),
        answer: Answer::NotSent,
    };
    // Only talk to a webhook the caBundle vouches for, as the API server would.
    let verified = certificate::certificate("", &probe, bundle, now, warn_before)
        .iter()
        .any(|f| f.check == "certificate" && f.level == Level::Ok);
    if !verified {
        return probe;
    }
    let answer = match tokio::time::timeout(CONNECT_TIMEOUT, review(&mut tls, name, path)).await {
        Ok(a) => a,
        Err(_) => Answer::Wrong(format!("no answer to the review in {CONNECT_TIMEOUT:?}")),
    };
    probe.outcome = ProbeOutcome::Presented { chain, answer };
    probe
}

fn client_cert_or(error: String) -> Answer {
    let e = error.to_ascii_lowercase();
    if e.contains("certificaterequired")
        || e.contains("certificate required")
        || e.contains("handshakefailure")
    {
        Answer::ClientCertificateRequired
    } else {
        Answer::Wrong(error)
    }
}

/// POSTs a dry-run AdmissionReview for an unannotated Pod and judges the answer.
async fn review<S>(tls: &mut S, host: &str, path: &str) -> Answer
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let uid = format!(
        "otel-inject-check-{}",
        time::OffsetDateTime::now_utc().unix_timestamp_nanos()
    );
    let body = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "otel-inject-check", "operation": "CREATE", "dryRun": true,
            "userInfo": {"username": "otel-inject-check"},
            "object": {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "otel-inject-check", "namespace": "otel-inject-check"},
                       "spec": {"containers": [{"name": "app", "image": "app"}]}},
            "oldObject": null
        }
    })
    .to_string();
    let path = if path.is_empty() { "/" } else { path };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if let Err(e) = tls.write_all(request.as_bytes()).await {
        return client_cert_or(e.to_string());
    }
    let mut response = Vec::new();
    if let Err(e) = tls.read_to_end(&mut response).await {
        // A peer that closes without close_notify after a full answer is fine.
        if response.is_empty() {
            return client_cert_or(e.to_string());
        }
    }
    let text = String::from_utf8_lossy(&response);
    let code = text.split(' ').nth(1).unwrap_or_default();
    if code != "200" {
        return Answer::Wrong(format!(
            "HTTP {} on {path}",
            text.lines().next().unwrap_or("(no answer)")
        ));
    }
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    match serde_json::from_str::<Value>(body) {
        Ok(v) if v["response"]["uid"] == uid.as_str() && v["response"]["allowed"] == true => {
            Answer::Allowed
        }
        Ok(v) => Answer::Wrong(format!("unexpected response {}", v["response"])),
        Err(e) => Answer::Wrong(format!("the answer is not JSON ({e})")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::selfsigned::issue;
    use crate::tls::{server_config, SwappableCert};

    /// A TLS listener on loopback serving `issued`'s certificate, asking for a client certificate
    /// from `client_ca` when given; it completes handshakes and says nothing.
    async fn listener(
        issued: crate::selfsigned::Issued,
        client_ca: Option<&std::path::Path>,
    ) -> SocketAddr {
        let config = server_config(SwappableCert::new(issued.serving), client_ca).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = tcp.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((s, _)) = tcp.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(s).await {
                        let mut buf = [0u8; 1024];
                        let _ = tls.read(&mut buf).await;
                    }
                });
            }
        });
        addr
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    const MONTH: Duration = Duration::from_secs(30 * 86_400);

    #[tokio::test]
    async fn a_webhook_that_wants_a_client_certificate_is_not_reported_broken() {
        let issued = issue(&["127.0.0.1".to_string()], MONTH).unwrap();
        let ca = issued.ca_pem.clone();
        let dir = tempfile::tempdir().unwrap();
        let client_ca = dir.path().join("client-ca.pem");
        std::fs::write(&client_ca, &ca).unwrap();
        let addr = listener(issued, Some(&client_ca)).await;
        let p = probe(
            addr,
            "127.0.0.1",
            "/mutate",
            Some(ca.as_bytes()),
            now(),
            MONTH,
        )
        .await;
        match p.outcome {
            ProbeOutcome::Presented { chain, answer } => {
                assert_eq!(chain.len(), 1);
                assert_eq!(answer, Answer::ClientCertificateRequired);
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn nothing_is_sent_to_a_webhook_the_ca_bundle_does_not_vouch_for() {
        let issued = issue(&["127.0.0.1".to_string()], MONTH).unwrap();
        let other = issue(&["127.0.0.1".to_string()], MONTH).unwrap();
        let addr = listener(issued, None).await;
        let p = probe(
            addr,
            "127.0.0.1",
            "/mutate",
            Some(other.ca_pem.as_bytes()),
            now(),
            MONTH,
        )
        .await;
        match p.outcome {
            ProbeOutcome::Presented { chain, answer } => {
                assert_eq!(chain.len(), 1);
                assert_eq!(answer, Answer::NotSent);
            }
            other => panic!("{other:?}"),
        }
        // Nobody listening.
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let p = probe(closed, "127.0.0.1", "/mutate", None, now(), MONTH).await;
        assert!(
            matches!(p.outcome, ProbeOutcome::Unreachable(_)),
            "{:?}",
            p.outcome
        );
    }

    #[test]
    fn urls_split() {
        assert_eq!(
            split_url("https://127.0.0.1:8443/mutate"),
            ("127.0.0.1".into(), 8443, "/mutate".into())
        );
        assert_eq!(
            split_url("https://[::1]/x"),
            ("::1".into(), 443, "/x".into())
        );
        assert_eq!(
            split_url("https://hook.example"),
            ("hook.example".into(), 443, String::new())
        );
    }
}
