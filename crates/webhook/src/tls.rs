//! TLS for the webhook listener. The serving key pair sits behind an `ArcSwap` that a rustls
//! certificate resolver reads on every handshake, so a reload (files changed on disk) or a
//! rotation (self-signed mode) swaps it without a restart and without touching open connections.

use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicI64, Ordering},
        Arc,
    },
    time::Duration,
};

use arc_swap::ArcSwap;
use rustls::{
    crypto::CryptoProvider,
    server::{ClientHello, ResolvesServerCert},
    sign::CertifiedKey,
    ServerConfig,
};
use rustls_pki_types::{pem::PemObject, CertificateDer, PrivateKeyDer};

/// What is wrong with a certificate or key; every variant names the file (or the source) it
/// came from, so a start-up failure tells the operator which Secret to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The file could not be read at all.
    #[error("cannot read {what} file {path}: {source}")]
    Read {
        /// "certificate" or "key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No usable PEM certificate in the certificate source.
    #[error("{source_name}: no PEM certificate found ({detail}); expected a file with -----BEGIN CERTIFICATE-----")]
    NoCertificate {
        /// File name or description of where the PEM came from.
        source_name: String,
        /// What the PEM parser said.
        detail: String,
    },
    /// No usable private key in the key source.
    #[error(
        "{source_name}: no PEM private key found ({detail}); expected PKCS#8, PKCS#1 or SEC1 PEM"
    )]
    NoKey {
        /// File name or description of where the PEM came from.
        source_name: String,
        /// What the PEM parser said.
        detail: String,
    },
    /// The key was parsed but rustls (ring) cannot sign with it, or it does not match the certificate.
    #[error("{cert} / {key}: certificate and key cannot be used together: {detail}")]
    Unusable {
        /// Certificate source.
        cert: String,
        /// Key source.
        key: String,
        /// What rustls said.
        detail: String,
    },
    /// Generating a certificate failed.
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the protocol configuration.
    #[error("cannot build the TLS configuration: {0}")]
    Config(#[from] rustls::Error),
}

/// A parsed, validated serving key pair plus the leaf certificate's expiry.
#[derive(Debug)]
pub struct ServingKey {
    /// What rustls serves.
    pub certified: Arc<CertifiedKey>,
    /// `notAfter` of the leaf, in unix seconds (0 when it could not be read).
    pub not_after_unix: i64,
}

/// The ring provider, explicitly: we never want to depend on whichever provider happens to be
/// installed process-wide (mixing aws-lc-rs and ring panics).
pub fn ring_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Parses PEM certificate chain and key, checks that they belong together and that ring can
/// sign with the key. `cert_name`/`key_name` appear in errors.
pub fn serving_key_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    cert_name: &str,
    key_name: &str,
) -> Result<ServingKey, TlsError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::NoCertificate {
            source_name: cert_name.to_string(),
            detail: e.to_string(),
        })?;
    let Some(leaf) = chain.first() else {
        return Err(TlsError::NoCertificate {
            source_name: cert_name.to_string(),
            detail: "the file holds no CERTIFICATE block".to_string(),
        });
    };
    let not_after_unix = certificate_not_after(leaf).ok_or_else(|| TlsError::NoCertificate {
        source_name: cert_name.to_string(),
        detail: "the first CERTIFICATE block is not a valid X.509 certificate".to_string(),
    })?;
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| TlsError::NoKey {
        source_name: key_name.to_string(),
        detail: e.to_string(),
    })?;
    let certified =
        CertifiedKey::from_der(chain, key, &ring_provider()).map_err(|e| TlsError::Unusable {
            cert: cert_name.to_string(),
            key: key_name.to_string(),
            detail: e.to_string(),
        })?;
    Ok(ServingKey {
        certified: Arc::new(certified),
        not_after_unix,
    })
}

/// `notAfter` of a DER certificate in unix seconds, `None` when it does not parse.
pub fn certificate_not_after(der: &CertificateDer<'_>) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    Some(cert.validity().not_after.timestamp())
}

/// The certificate resolver handed to rustls: one current key pair, swapped atomically.
#[derive(Debug)]
pub struct SwappableCert {
    current: ArcSwap<CertifiedKey>,
    not_after_unix: AtomicI64,
}

impl SwappableCert {
    /// Starts with `initial`.
    pub fn new(initial: ServingKey) -> Arc<Self> {
        Arc::new(Self {
            current: ArcSwap::new(initial.certified),
            not_after_unix: AtomicI64::new(initial.not_after_unix),
        })
    }

    /// Serves `next` from the next handshake on; open connections keep theirs.
    pub fn swap(&self, next: ServingKey) {
        self.current.store(next.certified);
        self.not_after_unix
            .store(next.not_after_unix, Ordering::Relaxed);
    }

    /// Expiry of the certificate being served, unix seconds.
    pub fn not_after_unix(&self) -> i64 {
        self.not_after_unix.load(Ordering::Relaxed)
    }

    /// The leaf certificate being served (DER).
    pub fn leaf_der(&self) -> Option<CertificateDer<'static>> {
        self.current.load().cert.first().cloned()
    }
}

impl ResolvesServerCert for SwappableCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}

/// rustls server configuration: ring, TLS 1.2 and 1.3 only, ALPN h2 + http/1.1 (the API server
/// speaks either), certificates from `resolver`.
pub fn server_config(
    resolver: Arc<SwappableCert>,
    client_ca: Option<&Path>,
) -> Result<ServerConfig, TlsError> {
    let builder = ServerConfig::builder_with_provider(ring_provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => builder.with_client_cert_verifier(client_verifier(path)?),
    };
    let mut config = builder.with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A verifier that requires a client certificate issued by a CA in the PEM file `path`: the
/// API server presents one when its admission configuration names one for this webhook.
pub fn client_verifier(
    path: &Path,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let pem = read(path, "client CA")?;
    let source_name = path.display().to_string();
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| TlsError::NoCertificate {
            source_name: source_name.clone(),
            detail: e.to_string(),
        })?;
        roots.add(cert).map_err(|e| TlsError::NoCertificate {
            source_name: source_name.clone(),
            detail: e.to_string(),
        })?;
    }
    if roots.is_empty() {
        return Err(TlsError::NoCertificate {
            source_name,
            detail: "the file holds no certificate".into(),
        });
    }
    rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), ring_provider())
        .build()
        .map_err(|e| TlsError::NoCertificate {
            source_name: path.display().to_string(),
            detail: e.to_string(),
        })
}

/// Certificate and key files, reloaded when their content changes.
#[derive(Debug, Clone)]
pub struct CertFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

impl CertFiles {
    /// Reads and validates both files. Errors name the file.
    pub fn load(&self) -> Result<(ServingKey, FileFingerprint), TlsError> {
        let cert_pem = read(&self.cert, "certificate")?;
        let key_pem = read(&self.key, "key")?;
        let fingerprint = FileFingerprint::of(&cert_pem, &key_pem);
        let key = serving_key_from_pem(
            &cert_pem,
            &key_pem,
            &self.cert.display().to_string(),
            &self.key.display().to_string(),
        )?;
        Ok((key, fingerprint))
    }

    fn fingerprint(&self) -> Result<FileFingerprint, TlsError> {
        Ok(FileFingerprint::of(
            &read(&self.cert, "certificate")?,
            &read(&self.key, "key")?,
        ))
    }
}

fn read(path: &Path, what: &'static str) -> Result<Vec<u8>, TlsError> {
    // Reading through the path (not a held file descriptor) follows the kubelet's `..data`
    // symlink swap on Secret volumes: after the swap the same path resolves to the new files.
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Content hash of the cert and key files. Content rather than mtime: the kubelet's atomic
/// symlink swap and `cp -p` can both leave mtimes that do not move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileFingerprint(u64);

impl FileFingerprint {
    fn of(cert: &[u8], key: &[u8]) -> Self {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        cert.hash(&mut h);
        key.hash(&mut h);
        Self(h.finish())
    }
}

/// Outcome of one reload poll, for logs, metrics and tests.
#[derive(Debug)]
pub enum ReloadEvent {
    /// New key pair in service.
    Reloaded {
        /// Its expiry, unix seconds.
        not_after_unix: i64,
    },
    /// The files changed but are not usable; the previous pair stays in service.
    Rejected(TlsError),
}

/// Polls the files every `interval` and swaps the served key pair when their content changes.
/// A bad file never stops the loop: the last good pair stays in service and the error is
/// reported through `on_event`; the next change is tried again.
pub async fn watch_files(
    files: CertFiles,
    target: Arc<SwappableCert>,
    mut last: FileFingerprint,
    interval: Duration,
    on_event: impl Fn(ReloadEvent) + Send + 'static,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    // The content last refused: reported once, not on every poll, until the files change again.
    let mut rejected: Option<FileFingerprint> = None;
    loop {
        ticker.tick().await;
        let polling = files.clone();
        // File reads and key parsing are blocking work: keep them off the reactor threads.
        let polled = tokio::task::spawn_blocking(move || match polling.fingerprint() {
            Ok(fp) if fp == last || Some(fp) == rejected => None,
            Ok(fp) => Some((Some(fp), polling.load().map(|(key, _)| key))),
            // Unreadable (e.g. mid-swap): report, and retry on the next poll.
            Err(e) => Some((None, Err(e))),
        })
        .await;
        match polled {
            Ok(None) => {}
            Ok(Some((fp, Ok(key)))) => {
                if let Some(fp) = fp {
                    last = fp;
                }
                rejected = None;
                let not_after_unix = key.not_after_unix;
                target.swap(key);
                on_event(ReloadEvent::Reloaded { not_after_unix });
            }
            Ok(Some((fp, Err(e)))) => {
                rejected = fp;
                on_event(ReloadEvent::Rejected(e));
            }
            // The blocking task panicked (it should not); keep polling.
            Err(join) => on_event(ReloadEvent::Rejected(TlsError::Unusable {
                cert: files.cert.display().to_string(),
                key: files.key.display().to_string(),
                detail: format!("reload task failed: {join}"),
            })),
        }
    }
}
