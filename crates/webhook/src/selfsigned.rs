//! Self-signed serving certificates: a fresh CA and a leaf signed by it at start-up, the CA
//! published as the `caBundle` of every webhook in our MutatingWebhookConfiguration, and a
//! rotation before expiry that publishes old + new CA first and switches the leaf afterwards,
//! so the API server trusts both sides of the switch. No cert-manager, no Secret, no reload race.

use std::{sync::Arc, time::Duration};

use k8s_openapi::{api::admissionregistration::v1::MutatingWebhookConfiguration, ByteString};
use kube::{
    api::{Api, Patch, PatchParams},
    Client,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use time::OffsetDateTime;

use crate::tls::{serving_key_from_pem, ServingKey, SwappableCert, TlsError};

/// A CA and the serving key pair it signed.
#[derive(Debug)]
pub struct Issued {
    /// What the listener serves.
    pub serving: ServingKey,
    /// The CA certificate, PEM: what clients (the API server, curl) must trust.
    pub ca_pem: String,
    /// The leaf certificate, PEM (for writing out, e.g. into a Secret or test files).
    pub cert_pem: String,
    /// The leaf's private key, PEM.
    pub key_pem: String,
}

/// The DNS names the API server uses to reach a Service, plus extra SANs (IPs for local use).
pub fn service_sans(service: &str, namespace: &str, extra: &[String]) -> Vec<String> {
    let mut sans = vec![
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ];
    for san in extra {
        if !sans.contains(san) {
            sans.push(san.clone());
        }
    }
    sans
}

/// Generates a new CA and a leaf for `sans`, both valid for `validity` from now (backdated by
/// five minutes for clock skew between nodes).
pub fn issue(sans: &[String], validity: Duration) -> Result<Issued, TlsError> {
    let now = OffsetDateTime::now_utc();
    let not_before = now - time::Duration::minutes(5);
    let not_after =
        now + time::Duration::seconds(i64::try_from(validity.as_secs()).unwrap_or(i64::MAX / 2));

    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    let mut ca_name = DistinguishedName::new();
    // A distinct subject per CA: verifiers pick candidate issuers by name, and two CAs with one
    // name (old and new during a rotation) would make them try the wrong key.
    ca_name.push(
        DnType::CommonName,
        format!("otel-inject CA {}", now.unix_timestamp_nanos()),
    );
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;

    let mut leaf_params = CertificateParams::new(sans.to_vec())?;
    let mut leaf_name = DistinguishedName::new();
    leaf_name.push(
        DnType::CommonName,
        sans.first()
            .cloned()
            .unwrap_or_else(|| "otel-inject".to_string()),
    );
    leaf_params.distinguished_name = leaf_name;
    leaf_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf_params.not_before = not_before;
    leaf_params.not_after = not_after;
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate()?;
    let leaf = leaf_params.signed_by(&leaf_key, &ca)?;

    let cert_pem = leaf.pem();
    let key_pem = leaf_key.serialize_pem();
    let serving = serving_key_from_pem(
        cert_pem.as_bytes(),
        key_pem.as_bytes(),
        "generated certificate",
        "generated key",
    )?;
    Ok(Issued {
        serving,
        ca_pem: ca.pem(),
        cert_pem,
        key_pem,
    })
}

/// Errors publishing the CA.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The configuration could not be read.
    #[error("cannot read MutatingWebhookConfiguration {name}: {source}")]
    Get {
        /// Its name.
        name: String,
        /// The API error.
        source: kube::Error,
    },
    /// It has no webhooks to patch.
    #[error("MutatingWebhookConfiguration {0} has no webhooks; nothing to put a caBundle on")]
    NoWebhooks(String),
    /// The patch was refused.
    #[error("cannot patch the caBundle of MutatingWebhookConfiguration {name}: {source}")]
    Patch {
        /// Its name.
        name: String,
        /// The API error.
        source: kube::Error,
    },
}

/// How many CA certificates a merged bundle keeps at most (newest last).
pub const MAX_BUNDLE_CAS: usize = 8;

/// The bundle to publish: the CAs already there that have not expired (other replicas' and
/// the previous rotation's, which still sign certificates in service), then ours, without
/// duplicates and capped at [`MAX_BUNDLE_CAS`]. Overwriting instead would cut off every other
/// replica until its own next publish.
pub fn merge_bundle(existing_pem: &[u8], ours_pem: &str, now_unix: i64) -> String {
    use rustls_pki_types::{pem::PemObject, CertificateDer};
    let ours: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(ours_pem.as_bytes())
        .filter_map(Result::ok)
        .collect();
    let mut kept: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(existing_pem)
        .filter_map(Result::ok)
        .filter(|c| crate::tls::certificate_not_after(c).is_some_and(|t| t > now_unix))
        .filter(|c| !ours.contains(c))
        .collect();
    kept.extend(ours);
    let skip = kept.len().saturating_sub(MAX_BUNDLE_CAS);
    kept.into_iter()
        .skip(skip)
        .map(|c| pem_certificate(c.as_ref()))
        .collect()
}

fn pem_certificate(der: &[u8]) -> String {
    // Re-encode through rcgen's PEM writer's format: 64-column base64 between the markers.
    let b64 = serde_json::to_value(ByteString(der.to_vec()))
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END CERTIFICATE-----\n");
    out
}

/// What [`ensure_published`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Publication {
    /// The bundle of this many webhooks was patched.
    Patched(usize),
    /// Every webhook already trusts every CA we serve with: nothing to write.
    UpToDate,
    /// The configuration does not exist (yet): nothing to write until it appears.
    Absent,
}

/// The certificates of a PEM bundle, in order (what a caBundle means; its spelling does not).
fn bundle_ders(pem: &[u8]) -> Vec<Vec<u8>> {
    use rustls_pki_types::{pem::PemObject, CertificateDer};
    CertificateDer::pem_slice_iter(pem)
        .filter_map(Result::ok)
        .map(|c| c.as_ref().to_vec())
        .collect()
}

/// Whether `existing` already is what [`merge_bundle`] would make of it: then a patch would
/// change nothing, and our own patch's watch event must not cause another.
pub fn bundle_is_current(existing_pem: &[u8], ours_pem: &str, now_unix: i64) -> bool {
    let merged = merge_bundle(existing_pem, ours_pem, now_unix);
    bundle_ders(merged.as_bytes()) == bundle_ders(existing_pem)
}

/// Adds `ours_pem` to `clientConfig.caBundle` of every webhook in the configuration `name`
/// (see [`merge_bundle`]), unless every one already has it. A JSON patch with a `test` on each
/// webhook's name, so a concurrent edit that reorders the list fails the patch instead of
/// putting our CA on someone else's webhook. A configuration that does not exist yet is not an
/// error ([`Publication::Absent`]): the server serves without it and [`keep_published`] writes
/// the bundle when it appears, whatever order GitOps applies the two in.
pub async fn ensure_published(
    client: Client,
    name: &str,
    ours_pem: &str,
) -> Result<Publication, PublishError> {
    let api: Api<MutatingWebhookConfiguration> = Api::all(client);
    let current = match api.get_opt(name).await {
        Ok(Some(c)) => c,
        Ok(None) => return Ok(Publication::Absent),
        Err(source) => {
            return Err(PublishError::Get {
                name: name.to_string(),
                source,
            })
        }
    };
    let webhooks = current.webhooks.unwrap_or_default();
    if webhooks.is_empty() {
        return Err(PublishError::NoWebhooks(name.to_string()));
    }
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let existing = |hook: &k8s_openapi::api::admissionregistration::v1::MutatingWebhook| {
        hook.client_config
            .ca_bundle
            .as_ref()
            .map(|b| b.0.clone())
            .unwrap_or_default()
    };
    if webhooks
        .iter()
        .all(|hook| bundle_is_current(&existing(hook), ours_pem, now))
    {
        return Ok(Publication::UpToDate);
    }
    let mut ops = Vec::new();
    for (i, hook) in webhooks.iter().enumerate() {
        let bundle = merge_bundle(&existing(hook), ours_pem, now);
        let bundle = serde_json::to_value(ByteString(bundle.into_bytes())).unwrap_or_default();
        ops.push(serde_json::json!({"op": "test", "path": format!("/webhooks/{i}/name"), "value": hook.name}));
        ops.push(serde_json::json!({"op": "add", "path": format!("/webhooks/{i}/clientConfig/caBundle"), "value": bundle}));
    }
    let patch: json_patch::Patch =
        serde_json::from_value(serde_json::Value::Array(ops)).map_err(|e| PublishError::Patch {
            name: name.to_string(),
            source: kube::Error::SerdeError(e),
        })?;
    api.patch(name, &PatchParams::default(), &Patch::Json::<()>(patch))
        .await
        .map_err(|source| PublishError::Patch {
            name: name.to_string(),
            source,
        })?;
    Ok(Publication::Patched(webhooks.len()))
}

/// What [`keep_published`] reports, for logs and metrics.
#[derive(Debug)]
#[non_exhaustive]
pub enum SyncEvent {
    /// The bundle was written on this many webhooks.
    Published(usize),
    /// The configuration is not there (at start, or deleted): serving on, waiting for it.
    Waiting,
    /// Reading, patching or watching failed; retried.
    Failed(String),
}

/// How long after a failed publish [`keep_published`] tries again when no watch event comes.
pub const REPUBLISH_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// Keeps the bundle in `desired` on the configuration `name` for as long as it runs: on start,
/// whenever the configuration appears or changes (a watch on that one object: a `metadata.name`
/// field selector, which RBAC's `resourceNames` allows for list and watch), whenever `desired`
/// changes (a rotation), and after a failure. Each time it runs [`ensure_published`], so a
/// configuration applied after the server started (Argo CD's waves register it once the
/// Deployment is Ready), re-created, or re-applied without its caBundle gets it back, merged
/// with the live CAs already there; our own patch's event finds the bundle current and stops.
pub async fn keep_published(
    client: Client,
    name: String,
    mut desired: tokio::sync::watch::Receiver<String>,
    on_event: impl Fn(SyncEvent) + Send + 'static,
) {
    use futures::StreamExt;
    use kube::core::PartialObjectMeta;
    use kube::runtime::{watcher, WatchStreamExt};

    let api: Api<PartialObjectMeta<MutatingWebhookConfiguration>> = Api::all(client.clone());
    let config = watcher::Config::default().fields(&format!("metadata.name={name}"));
    // Metadata only: the watch is a trigger; ensure_published reads the object itself.
    let mut events = watcher(api, config).default_backoff().boxed();
    // Whether the last attempt left the configuration without our bundle (failed, or absent).
    let mut last: Option<Publication> = None;
    let mut retry_at: Option<tokio::time::Instant> = Some(tokio::time::Instant::now());
    loop {
        let at = retry_at;
        let retry = async move {
            match at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = events.next() => match event {
                None => return,
                Some(Err(e)) => {
                    on_event(SyncEvent::Failed(format!("watch on MutatingWebhookConfiguration {name}: {e}")));
                    continue;
                }
                // Deleted: nothing to write until it comes back (an Apply event then).
                Some(Ok(watcher::Event::Delete(_))) => {
                    last = Some(Publication::Absent);
                    on_event(SyncEvent::Waiting);
                    continue;
                }
                Some(Ok(watcher::Event::Init | watcher::Event::InitDone)) => continue,
                Some(Ok(watcher::Event::Apply(_) | watcher::Event::InitApply(_))) => {}
            },
            changed = desired.changed() => if changed.is_err() { return },
            () = retry => {}
        }
        retry_at = None;
        let bundle = desired.borrow_and_update().clone();
        match ensure_published(client.clone(), &name, &bundle).await {
            Ok(Publication::Patched(n)) => {
                last = Some(Publication::Patched(n));
                on_event(SyncEvent::Published(n));
            }
            Ok(Publication::UpToDate) => last = Some(Publication::UpToDate),
            Ok(Publication::Absent) => {
                // Say it once, not on every retry.
                if last != Some(Publication::Absent) {
                    on_event(SyncEvent::Waiting);
                }
                last = Some(Publication::Absent);
            }
            Err(e) => {
                last = None;
                on_event(SyncEvent::Failed(e.to_string()));
                retry_at = Some(tokio::time::Instant::now() + REPUBLISH_AFTER_FAILURE);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ca_file_is_0644_and_never_written_through_a_planted_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("otel-inject-ca.pem");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        // The old fixed temporary name, planted as a link to someone else's file.
        std::os::unix::fs::symlink(&victim, dir.path().join("otel-inject-ca.pem.tmp")).unwrap();
        std::os::unix::fs::symlink(&victim, dir.path().join("otel-inject-ca.pem.pem.tmp")).unwrap();
        write_public_file(&target, b"-----BEGIN CERTIFICATE-----\n").unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "-----BEGIN CERTIFICATE-----\n"
        );
        let meta = std::fs::symlink_metadata(&target).unwrap();
        assert!(meta.file_type().is_file(), "the CA is a plain file");
        assert_eq!(meta.permissions().mode() & 0o777, 0o644);
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp") && n.starts_with('.'))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn merged_bundles_keep_live_cas_and_drop_expired_ones() {
        let sans = vec!["localhost".to_string()];
        let a = issue(&sans, Duration::from_secs(3600)).unwrap();
        let b = issue(&sans, Duration::from_secs(3600)).unwrap();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let first = merge_bundle(b"", &a.ca_pem, now);
        assert_eq!(first, a.ca_pem);
        let both = merge_bundle(first.as_bytes(), &b.ca_pem, now);
        assert_eq!(both, format!("{}{}", a.ca_pem, b.ca_pem));
        // Publishing the same CA again changes nothing.
        assert_eq!(merge_bundle(both.as_bytes(), &b.ca_pem, now), both);
        // Two hours on, `a` has expired (and so has `b`, but ours is always kept).
        let later = merge_bundle(both.as_bytes(), &b.ca_pem, now + 7200);
        assert_eq!(later, b.ca_pem);
        // Garbage in the existing bundle is dropped, not fatal.
        assert_eq!(merge_bundle(b"junk", &a.ca_pem, now), a.ca_pem);
    }

    #[test]
    fn a_bundle_is_current_only_when_a_merge_would_change_nothing() {
        let sans = vec!["localhost".to_string()];
        let a = issue(&sans, Duration::from_secs(3600)).unwrap();
        let b = issue(&sans, Duration::from_secs(3600)).unwrap();
        let now = OffsetDateTime::now_utc().unix_timestamp();
        // A webhook without a caBundle (just applied by GitOps) needs ours.
        assert!(!bundle_is_current(b"", &a.ca_pem, now));
        // Ours there, alone or beside another live CA: our own patch's event writes nothing.
        assert!(bundle_is_current(a.ca_pem.as_bytes(), &a.ca_pem, now));
        let both = format!("{}{}", b.ca_pem, a.ca_pem);
        assert!(bundle_is_current(both.as_bytes(), &a.ca_pem, now));
        // Someone else's CA only (a re-apply replaced ours): ours is added.
        assert!(!bundle_is_current(b.ca_pem.as_bytes(), &a.ca_pem, now));
        // A rotation's old + new bundle is current only once both are there.
        let rotated = format!("{}{}", a.ca_pem, b.ca_pem);
        assert!(!bundle_is_current(a.ca_pem.as_bytes(), &rotated, now));
        // Expired CAs left behind are cleaned up by a patch.
        assert!(!bundle_is_current(both.as_bytes(), &a.ca_pem, now + 7200));
        // PEM spelled differently (no trailing newline) is the same bundle.
        assert!(bundle_is_current(
            a.ca_pem.trim_end().as_bytes(),
            &a.ca_pem,
            now
        ));
    }
}

/// Rotation settings.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// SANs of every leaf.
    pub sans: Vec<String>,
    /// Lifetime of each CA and leaf.
    pub validity: Duration,
    /// Rotate when less than this is left.
    pub renew_before: Duration,
    /// Wait between publishing the new CA and serving the new leaf, so that every API server
    /// has seen the new bundle.
    pub propagation: Duration,
}

/// Where a new CA bundle goes.
pub trait CaPublisher: Send + Sync {
    /// Publishes `bundle_pem` (one or more CA certificates).
    fn publish<'a>(
        &'a self,
        bundle_pem: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<(), String>>;
}

/// Publishes to a MutatingWebhookConfiguration: the bundle becomes the one [`keep_published`]
/// keeps there (so a configuration that appears later gets the rotated bundle), and is written
/// at once. A rotation must not switch its leaf before the API server trusts the new CA, so a
/// configuration that is absent is an error here (the rotation retries; nobody calls a webhook
/// that is not registered).
pub struct WebhookConfigPublisher {
    client: Client,
    name: String,
    desired: tokio::sync::watch::Sender<String>,
}

impl WebhookConfigPublisher {
    /// A publisher for the configuration `name`, whose bundle is `ca_pem` to begin with.
    pub fn new(client: Client, name: String, ca_pem: String) -> Self {
        Self {
            client,
            name,
            desired: tokio::sync::watch::Sender::new(ca_pem),
        }
    }

    /// The task that keeps the bundle published ([`keep_published`]); run it once.
    pub fn keep_published(
        &self,
        on_event: impl Fn(SyncEvent) + Send + 'static,
    ) -> impl std::future::Future<Output = ()> + Send + 'static {
        keep_published(
            self.client.clone(),
            self.name.clone(),
            self.desired.subscribe(),
            on_event,
        )
    }
}

impl CaPublisher for WebhookConfigPublisher {
    fn publish<'a>(
        &'a self,
        bundle_pem: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            self.desired.send_replace(bundle_pem.to_string());
            match ensure_published(self.client.clone(), &self.name, bundle_pem).await {
                Ok(Publication::Patched(_) | Publication::UpToDate) => Ok(()),
                Ok(Publication::Absent) => Err(format!(
                    "MutatingWebhookConfiguration {} does not exist; the bundle is written when it appears",
                    self.name
                )),
                Err(e) => Err(e.to_string()),
            }
        })
    }
}

/// Writes the bundle to a file (standalone mode: for curl's `--cacert`).
pub struct FilePublisher(pub std::path::PathBuf);

impl CaPublisher for FilePublisher {
    fn publish<'a>(
        &'a self,
        bundle_pem: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<(), String>> {
        let path = self.0.clone();
        let bundle = bundle_pem.to_string();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || write_public_file(&path, bundle.as_bytes()))
                .await
                .map_err(|e| e.to_string())?
        })
    }
}

/// Writes `content` to `path` through a new temporary file beside it, then renames it over
/// `path`: a reader never sees half a bundle, and a file or symlink planted at the temporary
/// name is never followed or reused (the name is unique and opened with O_CREAT|O_EXCL). The
/// mode is 0644 whatever the umask: a CA certificate is public, and meant to be read.
pub fn write_public_file(path: &std::path::Path, content: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let fail = |e: std::io::Error| format!("cannot write {}: {e}", path.display());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "ca".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.{nanos}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&tmp)
        .map_err(fail)?;
    let written = file
        .set_permissions(std::fs::Permissions::from_mode(0o644))
        .and_then(|()| file.write_all(content))
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}

/// Rotates forever: sleeps until `renew_before` before expiry, issues a new CA + leaf,
/// publishes old + new CA, waits `propagation`, serves the new leaf. A failed publish is retried
/// a minute later with the old leaf still in service (it is still valid).
pub async fn rotate_forever(
    rotation: Rotation,
    target: Arc<SwappableCert>,
    mut ca_pem: String,
    publisher: Arc<dyn CaPublisher>,
    on_rotated: impl Fn(Result<i64, String>) + Send + 'static,
) {
    loop {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let renew_at =
            target.not_after_unix() - i64::try_from(rotation.renew_before.as_secs()).unwrap_or(0);
        // Wall clock rather than a monotonic timer: a suspended VM must not sleep past expiry.
        let wait = u64::try_from(renew_at - now).unwrap_or(0).min(300);
        if wait > 0 {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        let issued = match issue(&rotation.sans, rotation.validity) {
            Ok(i) => i,
            Err(e) => {
                on_rotated(Err(e.to_string()));
                tokio::time::sleep(Duration::from_secs(60)).await;
                continue;
            }
        };
        let bundle = format!("{}{}", ca_pem, issued.ca_pem);
        if let Err(e) = publisher.publish(&bundle).await {
            on_rotated(Err(e));
            tokio::time::sleep(Duration::from_secs(60)).await;
            continue;
        }
        tokio::time::sleep(rotation.propagation).await;
        let not_after = issued.serving.not_after_unix;
        target.swap(issued.serving);
        ca_pem = issued.ca_pem;
        on_rotated(Ok(not_after));
    }
}
