//! The serving certificate the webhook actually presents, judged as the API server judges it:
//! its chain must verify against the configuration's caBundle for the name the API server
//! dials (the Service's `NAME.NAMESPACE.svc`, or the URL's host), and it must not be expired.
//! Pure: the certificates come in as DER (captured by `check.rs` during a real handshake).

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::ServerCertVerifier;
use rustls::client::WebPkiServerVerifier;
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use x509_parser::extensions::GeneralName;

use super::finding::Finding;

/// What connecting to one webhook address gave.
#[derive(Debug, Clone)]
pub struct Probe {
    /// `host:port` connected to.
    pub target: String,
    /// The name the API server verifies the certificate for.
    pub server_name: String,
    /// What happened.
    pub outcome: ProbeOutcome,
}

/// The result of a connection attempt.
#[derive(Debug, Clone)]
pub enum ProbeOutcome {
    /// No TCP connection (refused, timed out, no route).
    Unreachable(String),
    /// TCP connected but the TLS handshake failed before any certificate was seen.
    Handshake(String),
    /// The webhook presented `chain` (leaf first); `answer` is how it answered a dry-run review.
    Presented {
        /// DER certificates, leaf first.
        chain: Vec<CertificateDer<'static>>,
        /// How `/mutate` answered.
        answer: Answer,
    },
}

/// How the webhook answered a dry-run AdmissionReview sent over the verified connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `allowed: true` with the review's uid: it works.
    Allowed,
    /// The handshake ended because the webhook wants a client certificate (`--client-ca`).
    ClientCertificateRequired,
    /// Not sent: the certificate did not verify (we do not talk to an unverified peer).
    NotSent,
    /// Anything else, in words.
    Wrong(String),
}

/// One certificate's facts, for messages.
struct CertInfo {
    subject: String,
    issuer: String,
    names: Vec<String>,
    not_before: i64,
    not_after: i64,
}

fn info(der: &CertificateDer<'_>) -> Option<CertInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|ext| {
            ext.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some((*d).to_string()),
                    GeneralName::IPAddress(b) => match b.len() {
                        4 => Some(std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string()),
                        16 => <[u8; 16]>::try_from(*b)
                            .ok()
                            .map(|a| std::net::Ipv6Addr::from(a).to_string()),
                        _ => None,
                    },
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Some(CertInfo {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        names,
        not_before: cert.validity().not_before.timestamp(),
        not_after: cert.validity().not_after.timestamp(),
    })
}

fn date(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix.to_string())
}

fn unix_time(unix: i64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(unix).unwrap_or(0)))
}

/// What to do when the caBundle does not verify what the webhook serves.
const BUNDLE_FIX: &str = "put the CA that signed the serving certificate into the caBundle: with `serve --self-signed`, give it --webhook-config with this configuration's name (it writes the bundle); with cert-manager, check the annotation cert-manager.io/inject-ca-from and that cainjector runs; by hand: base64 of the CA's PEM";

/// Findings for one probe of webhook `webhook` whose configuration carries `ca_bundle` (PEM),
/// at `now` (unix seconds). `warn_before` is the expiry warning margin; a certificate whose
/// lifetime is short gets a third of its lifetime instead (when rotation is due).
pub fn certificate(
    webhook: &str,
    probe: &Probe,
    ca_bundle: Option<&[u8]>,
    now: i64,
    warn_before: Duration,
) -> Vec<Finding> {
    let at = format!("webhook {webhook} at {}", probe.target);
    let chain = match &probe.outcome {
        ProbeOutcome::Unreachable(e) => {
            return vec![Finding::fail(
                "certificate",
                format!("{at}: cannot connect ({e}): the webhook is down or unreachable, pods are created without injection (or refused, with failurePolicy Fail)"),
                "start the webhook, read its log; if check runs outside the cluster network, run it where the API server runs or in a pod",
            )]
        }
        ProbeOutcome::Handshake(e) => {
            return vec![Finding::fail(
                "certificate",
                format!("{at}: the TLS handshake failed ({e}): the API server cannot call it either"),
                "read the webhook's log: its certificate or key may not load",
            )]
        }
        ProbeOutcome::Presented { chain, .. } => chain,
    };
    let Some(leaf_der) = chain.first() else {
        return vec![Finding::fail(
            "certificate",
            format!("{at}: presented no certificate"),
            "read the webhook's log",
        )];
    };
    let Some(leaf) = info(leaf_der) else {
        return vec![Finding::fail(
            "certificate",
            format!("{at}: presented a certificate that does not parse"),
            "reissue the serving certificate",
        )];
    };
    let mut out = vec![verify(&at, probe, chain, &leaf, ca_bundle, now)];
    out.push(expiry(&at, &leaf, now, warn_before));
    if let ProbeOutcome::Presented { answer, .. } = &probe.outcome {
        out.extend(answered(&at, answer));
    }
    out
}

fn verify(
    at: &str,
    probe: &Probe,
    chain: &[CertificateDer<'static>],
    leaf: &CertInfo,
    ca_bundle: Option<&[u8]>,
    now: i64,
) -> Finding {
    const C: &str = "certificate";
    let Some(bundle) = ca_bundle.filter(|b| !b.iter().all(u8::is_ascii_whitespace)) else {
        return Finding::fail(
            C,
            format!("{at}: the configuration has no caBundle: the API server cannot verify the webhook and every call fails"),
            BUNDLE_FIX,
        );
    };
    let cas: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(bundle)
        .filter_map(Result::ok)
        .collect();
    if cas.is_empty() {
        return Finding::fail(
            C,
            format!("{at}: the caBundle holds no PEM certificate"),
            BUNDLE_FIX,
        );
    }
    let subjects: Vec<String> = cas.iter().filter_map(info).map(|c| c.subject).collect();
    let mut roots = RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(cas);
    if added == 0 {
        return Finding::fail(
            C,
            format!("{at}: no certificate of the caBundle can be a trust anchor"),
            BUNDLE_FIX,
        );
    }
    let verifier = match WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        crate::tls::ring_provider(),
    )
    .build()
    {
        Ok(v) => v,
        Err(e) => {
            return Finding::fail(
                C,
                format!("{at}: the caBundle is unusable: {e}"),
                BUNDLE_FIX,
            )
        }
    };
    let Ok(name) = ServerName::try_from(probe.server_name.clone()) else {
        return Finding::fail(
            C,
            format!(
                "{at}: {:?} is not a name a certificate can be verified for",
                probe.server_name
            ),
            "fix clientConfig",
        );
    };
    // Expiry has its own line: judge the chain at a moment the leaf is valid, then at `now`.
    let within = now.clamp(leaf.not_before, leaf.not_after);
    let run =
        |t: i64| verifier.verify_server_cert(&chain[0], &chain[1..], &name, &[], unix_time(t));
    match run(within).and_then(|_| run(now)) {
        Ok(_) => Finding::ok(
            C,
            format!(
                "{at}: the caBundle verifies the certificate it presents, for {}",
                probe.server_name
            ),
        ),
        // The leaf's own dates: reported on the expiry line.
        Err(rustls::Error::InvalidCertificate(e)) if is_time_error(&e) && now != within => {
            Finding::ok(
                C,
                format!(
                    "{at}: the caBundle verifies its certificate for {} (apart from its validity period, below)",
                    probe.server_name
                ),
            )
        }
        Err(rustls::Error::InvalidCertificate(e)) if is_time_error(&e) => Finding::fail(
            C,
            format!("{at}: its certificate is valid, but the CA that verifies it has expired (or is not valid yet): the API server refuses it"),
            BUNDLE_FIX,
        ),
        Err(e) => chain_error(at, probe, leaf, &subjects, &e),
    }
}

fn is_time_error(e: &CertificateError) -> bool {
    matches!(
        e,
        CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. }
    )
}

fn chain_error(
    at: &str,
    probe: &Probe,
    leaf: &CertInfo,
    subjects: &[String],
    e: &rustls::Error,
) -> Finding {
    const C: &str = "certificate";
    match e {
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => Finding::fail(
            C,
            format!(
                "{at}: the caBundle does not verify the certificate the webhook presents (issued by {:?}; the caBundle holds {}): the API server refuses to call it, pods are created without injection",
                leaf.issuer,
                subjects.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ")
            ),
            BUNDLE_FIX,
        ),
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => Finding::fail(
            C,
            format!(
                "{at}: its certificate is not valid for {} (its names: {}): the API server refuses it",
                probe.server_name,
                if leaf.names.is_empty() { "none; the common name is not used".into() } else { leaf.names.join(", ") }
            ),
            format!("reissue the serving certificate with the subject alternative name {}", probe.server_name),
        ),
        other => Finding::fail(
            C,
            format!("{at}: its certificate does not verify against the caBundle: {other}"),
            BUNDLE_FIX,
        ),
    }
}

fn expiry(at: &str, leaf: &CertInfo, now: i64, warn_before: Duration) -> Finding {
    const C: &str = "certificate-expiry";
    let lifetime = leaf.not_after - leaf.not_before;
    let margin = i64::try_from(warn_before.as_secs())
        .unwrap_or(i64::MAX)
        .min(lifetime / 3);
    let left = leaf.not_after - now;
    let days = left as f64 / 86_400.0;
    if left <= 0 {
        Finding::fail(
            C,
            format!("{at}: its certificate expired on {}", date(leaf.not_after)),
            "renew it: with cert-manager, kubectl describe certificate in the webhook's namespace; with --self-signed, restart the webhook (it issues a new one)",
        )
    } else if now < leaf.not_before {
        Finding::fail(
            C,
            format!(
                "{at}: its certificate is not valid before {}",
                date(leaf.not_before)
            ),
            "check the clocks of the webhook's node and the API server",
        )
    } else if left < margin {
        Finding::warn(
            C,
            format!(
                "{at}: its certificate expires in {days:.1} days ({}), and its renewal was due",
                date(leaf.not_after)
            ),
            "with cert-manager: kubectl describe certificate (renewal failing?); with --self-signed: the webhook's log (rotation failing?); by hand: renew it now",
        )
    } else {
        Finding::ok(
            C,
            format!(
                "{at}: its certificate is valid until {} ({days:.0} days)",
                date(leaf.not_after)
            ),
        )
    }
}

fn answered(at: &str, answer: &Answer) -> Option<Finding> {
    const C: &str = "webhook-answer";
    match answer {
        Answer::Allowed => Some(Finding::ok(
            C,
            format!("{at}: answers a dry-run AdmissionReview (allowed, same uid)"),
        )),
        Answer::ClientCertificateRequired => Some(Finding::ok(
            C,
            format!("{at}: asks for a client certificate (--client-ca), so only the API server can call it; no review sent"),
        )),
        Answer::NotSent => None,
        Answer::Wrong(e) => Some(Finding::fail(
            C,
            format!("{at}: does not answer an AdmissionReview as it should: {e}"),
            "check that it is otel-inject serve listening there, and read its log",
        )),
    }
}
