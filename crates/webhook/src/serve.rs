//! `otel-inject serve`: assembles the cluster view, the serving certificate (files or
//! self-signed), the metrics and the two listeners, then runs until SIGTERM/SIGINT.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use otel_inject_lib::InjectOptions;
use tokio::net::TcpListener;

use crate::{
    admission::Admission,
    cli::{exit, ServeArgs},
    cluster::{kube_view::KubeView, ClusterObjects, ClusterView, StaticView},
    metrics::{Metrics, ResultLabels},
    selfsigned::{self, CaPublisher, FilePublisher, Rotation, SyncEvent, WebhookConfigPublisher},
    server::{self, Shutdown, Timeouts},
    tls::{self, CertFiles, ReloadEvent, SwappableCert},
};

/// Everything a running webhook is made of.
pub struct ServerSetup {
    /// HTTPS address (port 0 for any).
    pub listen: SocketAddr,
    /// Plain-HTTP admin address, if any.
    pub admin_listen: Option<SocketAddr>,
    /// Cluster view.
    pub view: Arc<dyn ClusterView>,
    /// Serving certificate.
    pub cert: Arc<SwappableCert>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Decision options.
    pub options: InjectOptions,
    /// Owner lookup budget.
    pub owner_budget: Duration,
    /// Listener timeouts and limits.
    pub timeouts: Timeouts,
    /// PEM file of the CA whose client certificates are required (the API server's), if any.
    pub client_ca: Option<std::path::PathBuf>,
}

/// A started webhook.
pub struct RunningServer {
    /// Where the HTTPS listener is bound.
    pub addr: SocketAddr,
    /// Where the admin listener is bound.
    pub admin_addr: Option<SocketAddr>,
    /// Triggers the graceful shutdown.
    pub shutdown: Shutdown,
    join: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    /// Waits until both listeners have stopped (after the shutdown trigger, once drained).
    pub async fn wait(self) {
        let _ = self.join.await;
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The address is taken or not ours.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// Address.
        addr: SocketAddr,
        /// OS error.
        source: std::io::Error,
    },
    /// TLS configuration.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { addr, source })
}

/// Binds both listeners and starts serving. The TLS configuration is built (and so checked)
/// before anything is bound.
pub async fn start(setup: ServerSetup) -> Result<RunningServer, StartError> {
    let tls = Arc::new(tls::server_config(
        setup.cert.clone(),
        setup.client_ca.as_deref(),
    )?);
    setup
        .metrics
        .set_certificate_expiry(setup.cert.not_after_unix());
    let admission = Arc::new(Admission::new(
        setup.view,
        setup.options,
        setup.metrics.clone(),
        setup.owner_budget,
    ));
    let listener = bind(setup.listen).await?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: setup.listen,
        source,
    })?;
    let admin = match setup.admin_listen {
        Some(a) => Some(bind(a).await?),
        None => None,
    };
    let admin_addr = admin.as_ref().and_then(|l| l.local_addr().ok());
    // Two steps: `shutdown` (SIGTERM) fails /readyz at once; `stop`, `shutdown_delay` later,
    // closes the listener and drains. In between the pod leaves the Service's endpoints while
    // everything still sent to it is answered.
    let shutdown = Shutdown::new();
    let stop = Shutdown::new();
    {
        let (shutdown, stop, delay) = (
            shutdown.clone(),
            stop.clone(),
            setup.timeouts.shutdown_delay,
        );
        tokio::spawn(async move {
            shutdown.wait().await;
            tokio::time::sleep(delay).await;
            stop.trigger();
        });
    }
    let router = server::admission_router(
        admission.clone(),
        setup.metrics.clone(),
        setup.timeouts.request,
        setup.timeouts.max_reviews,
    );
    let admin_router = server::admin_router(admission, setup.metrics.clone(), shutdown.clone());
    let tls_task = tokio::spawn(server::serve_tls(
        listener,
        tls,
        router,
        setup.timeouts,
        setup.metrics,
        stop.clone(),
    ));
    let admin_shutdown = stop;
    let join = tokio::spawn(async move {
        let admin_task =
            admin.map(|l| tokio::spawn(server::serve_admin(l, admin_router, admin_shutdown)));
        let _ = tls_task.await;
        if let Some(t) = admin_task {
            let _ = t.await;
        }
    });
    Ok(RunningServer {
        addr,
        admin_addr,
        shutdown,
        join,
    })
}

/// Says why `serve` stops, once: in the log when errors are logged, else on stderr.
fn fail(code: u8, message: impl std::fmt::Display) -> u8 {
    if tracing::enabled!(tracing::Level::ERROR) {
        tracing::error!("{message}");
    } else {
        eprintln!("otel-inject: {message}");
    }
    code
}

/// Where the generated CA goes.
enum CaTarget {
    /// A file, for curl (standalone).
    File(Arc<FilePublisher>),
    /// The caBundle of our MutatingWebhookConfiguration, kept there by a watch.
    WebhookConfig(Arc<WebhookConfigPublisher>),
}

/// The generated CA, published only once the server has started: a `serve` that fails to
/// bind or to read `--cluster` must not replace the CA its running predecessor's clients use.
struct PendingCa {
    target: CaTarget,
    ca_pem: String,
    rotation: Rotation,
    cert: Arc<SwappableCert>,
}

impl PendingCa {
    /// Publishes the CA (to a file at once; to the webhook configuration by a watch that writes
    /// it whenever the configuration exists without it, so the server does not depend on the
    /// order GitOps applies it in), then rotates it before expiry in the background.
    async fn publish(
        self,
        metrics: Arc<Metrics>,
        ca_out: Option<&std::path::Path>,
    ) -> Result<Vec<tokio::task::JoinHandle<()>>, String> {
        let mut tasks = Vec::new();
        let publisher: Arc<dyn CaPublisher> = match self.target {
            CaTarget::File(file) => {
                file.publish(&self.ca_pem)
                    .await
                    .map_err(|e| format!("cannot publish the generated CA: {e}"))?;
                if let Some(path) = ca_out {
                    tracing::info!(path = %path.display(), "wrote the generated CA; use it with curl --cacert");
                }
                file
            }
            CaTarget::WebhookConfig(config) => {
                tasks.push(tokio::spawn(config.keep_published(|event| match event {
                    SyncEvent::Published(webhooks) => {
                        tracing::info!(webhooks, "published the generated CA as the caBundle of the MutatingWebhookConfiguration");
                    }
                    SyncEvent::Waiting => tracing::info!(
                        "the MutatingWebhookConfiguration does not exist (yet): serving without it, its caBundle is written when it appears"
                    ),
                    SyncEvent::Failed(e) => {
                        tracing::warn!("cannot publish the generated CA yet, retrying: {e}");
                    }
                })));
                config
            }
        };
        tasks.push(tokio::spawn(selfsigned::rotate_forever(
            self.rotation,
            self.cert,
            self.ca_pem,
            publisher,
            move |result| match result {
                Ok(not_after_unix) => {
                    tracing::info!(
                        not_after_unix,
                        "rotated the self-signed CA and serving certificate"
                    );
                    metrics.set_certificate_expiry(not_after_unix);
                    metrics
                        .certificate_reloads
                        .get_or_create(&ResultLabels { result: "success" })
                        .inc();
                }
                Err(e) => {
                    tracing::error!("certificate rotation failed, retrying in a minute: {e}");
                    metrics
                        .certificate_reloads
                        .get_or_create(&ResultLabels { result: "failure" })
                        .inc();
                }
            },
        )));
        Ok(tasks)
    }
}

/// `otel-inject serve`. Returns the exit code.
pub async fn run(args: ServeArgs) -> u8 {
    let metrics = Arc::new(Metrics::new());
    let needs_client = !args.cluster.standalone;
    let client = if needs_client {
        match kube::Client::try_default().await {
            Ok(c) => Some(c),
            Err(e) => {
                return fail(
                    exit::STARTUP,
                    format!("cannot configure the Kubernetes client ({e}); run in a cluster, set KUBECONFIG, or use --standalone"),
                )
            }
        }
    } else {
        None
    };

    // Serving certificate first: bad TLS material must stop us before we bind anything.
    let mut background = Vec::new();
    let mut pending_ca = None;
    let cert = if let (Some(cert_path), Some(key_path)) = (&args.tls.tls_cert, &args.tls.tls_key) {
        let files = CertFiles {
            cert: cert_path.clone(),
            key: key_path.clone(),
        };
        let (key, fingerprint) = match files.load() {
            Ok(k) => k,
            Err(e) => return fail(exit::STARTUP, format!("invalid TLS material: {e}")),
        };
        let cert = SwappableCert::new(key);
        let m = metrics.clone();
        background.push(tokio::spawn(tls::watch_files(
            files,
            cert.clone(),
            fingerprint,
            args.tls.tls_reload_interval,
            move |event| match event {
                ReloadEvent::Reloaded { not_after_unix } => {
                    tracing::info!(not_after_unix, "serving certificate reloaded from disk");
                    m.set_certificate_expiry(not_after_unix);
                    m.certificate_reloads.get_or_create(&ResultLabels { result: "success" }).inc();
                }
                ReloadEvent::Rejected(e) => {
                    tracing::error!("certificate files changed but cannot be used, keeping the previous pair: {e}");
                    m.certificate_reloads.get_or_create(&ResultLabels { result: "failure" }).inc();
                }
            },
        )));
        cert
    } else if args.tls.self_signed {
        let mut extra_sans = args.tls.sans.clone();
        if client.is_none() {
            // Standalone is for trying it out on this machine: make `curl https://127.0.0.1`
            // and `https://localhost` verify without having to know about --san.
            for local in ["localhost", "127.0.0.1", "::1"] {
                if !extra_sans.iter().any(|s| s == local) {
                    extra_sans.push(local.to_string());
                }
            }
        }
        let sans = selfsigned::service_sans(
            &args.tls.service_name,
            &args.tls.service_namespace,
            &extra_sans,
        );
        let issued = match selfsigned::issue(&sans, args.tls.cert_validity) {
            Ok(i) => i,
            Err(e) => return fail(exit::STARTUP, e),
        };
        let target = match (&client, &args.tls.webhook_config) {
            (Some(client), Some(name)) => CaTarget::WebhookConfig(Arc::new(
                WebhookConfigPublisher::new(client.clone(), name.clone(), issued.ca_pem.clone()),
            )),
            (Some(_), None) => {
                return fail(
                    exit::STARTUP,
                    "--self-signed in a cluster needs --webhook-config NAME: the API server must be given the generated CA",
                )
            }
            (None, _) => CaTarget::File(Arc::new(FilePublisher(args.tls.ca_out.clone()))),
        };
        let cert = SwappableCert::new(issued.serving);
        pending_ca = Some(PendingCa {
            target,
            ca_pem: issued.ca_pem,
            rotation: Rotation {
                sans,
                validity: args.tls.cert_validity,
                renew_before: args.tls.cert_validity / 3,
                propagation: Duration::from_secs(if client.is_some() { 10 } else { 0 }),
            },
            cert: cert.clone(),
        });
        cert
    } else {
        return fail(
            exit::STARTUP,
            "no serving certificate: give --tls-cert and --tls-key, or --self-signed",
        );
    };

    let view: Arc<dyn ClusterView> = match &client {
        None => {
            let mut objects = ClusterObjects::default();
            for file in &args.cluster.cluster_files {
                if let Err(e) = objects.load_file(file, "default") {
                    return fail(exit::INVALID_INPUT, e);
                }
            }
            for warning in &objects.warnings {
                tracing::warn!("{warning}");
            }
            match StaticView::with_default_instrumentation(objects) {
                Ok(v) => {
                    if v.uses_default_instrumentation() {
                        tracing::info!("standalone: no Instrumentation given, the built-in default applies to every namespace");
                    }
                    Arc::new(v)
                }
                Err(e) => return fail(exit::FAILURE, e),
            }
        }
        Some(client) => {
            let m = metrics.clone();
            let (view, tasks) = KubeView::start(
                client.clone(),
                Arc::new(move |cache, error| {
                    tracing::warn!(cache, "watch error (retrying): {error}");
                    m.watch_errors
                        .get_or_create(&crate::metrics::CacheLabels { cache })
                        .inc();
                }),
            );
            background.extend(tasks);
            view
        }
    };

    let running = match start(ServerSetup {
        listen: args.listen.listen,
        admin_listen: Some(args.listen.metrics_listen),
        view,
        cert,
        metrics: metrics.clone(),
        options: args.inject.options(),
        owner_budget: args.cluster.owner_lookup_timeout,
        timeouts: Timeouts {
            header_read: args.timeouts.header_read_timeout,
            request: args.timeouts.request_timeout,
            idle: args.timeouts.idle_timeout,
            write: args.timeouts.write_timeout,
            shutdown_delay: args.timeouts.shutdown_delay,
            drain: args.timeouts.drain_timeout,
            max_connections: args.timeouts.max_connections as usize,
            max_reviews: args.timeouts.max_reviews(),
            ..Timeouts::default()
        },
        client_ca: args.tls.client_ca.clone(),
    })
    .await
    {
        Ok(r) => r,
        Err(e) => return fail(exit::STARTUP, e),
    };
    if let Some(pending) = pending_ca {
        let ca_out = client.is_none().then_some(args.tls.ca_out.as_path());
        match pending.publish(metrics, ca_out).await {
            Ok(tasks) => background.extend(tasks),
            Err(e) => return fail(exit::STARTUP, e),
        }
    }
    tracing::info!(
        "serving admission reviews on https://{}/mutate, metrics on http://{}/metrics",
        running.addr,
        running
            .admin_addr
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    let trigger = running.shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutdown signal received: /readyz fails now; serving on for the shutdown delay, then draining");
        trigger.trigger();
    });
    running.wait().await;
    for task in background {
        task.abort();
    }
    tracing::info!("stopped");
    exit::OK
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
