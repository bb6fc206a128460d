//! The OTLP span exporter, built from [`OtlpConfig`] so that nothing depends on the caller's
//! async runtime: HTTP uses a blocking client (driven by the batch processor's own thread), gRPC
//! runs on a small runtime this SDK owns. Both honour the TLS variables (CA, client certificate
//! and key) that upstream opentelemetry-otlp ignores.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use otel_inject_lib::names::env;
use otel_inject_lib::sdk_values::OtlpProtocol;

use crate::config::{Compression, OtlpConfig};

/// Why the exporter could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExporterError {
    /// A TLS file named by a variable could not be read or parsed.
    #[error("{variable}={path:?}: {problem}; set it to a readable PEM file or unset it")]
    TlsFile {
        /// The variable.
        variable: &'static str,
        /// The path.
        path: String,
        /// What went wrong.
        problem: String,
    },
    /// The HTTP client or gRPC channel could not be built.
    #[error("cannot build the OTLP {protocol} exporter for {endpoint}: {problem}")]
    Build {
        /// The protocol.
        protocol: OtlpProtocol,
        /// The endpoint.
        endpoint: String,
        /// What went wrong.
        problem: String,
    },
}

/// The span exporter: OTLP over HTTP or over gRPC.
#[derive(Debug)]
pub enum OtlpSpanExporter {
    /// http/protobuf or http/json with a blocking client.
    Http(Box<opentelemetry_otlp::SpanExporter>),
    /// gRPC on the SDK's runtime.
    Grpc(GrpcExporter),
}

impl OtlpSpanExporter {
    /// Builds the exporter for `config`.
    pub fn build(config: &OtlpConfig) -> Result<Self, ExporterError> {
        match config.protocol {
            OtlpProtocol::Grpc => GrpcExporter::build(config).map(Self::Grpc),
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                build_http(config).map(|e| Self::Http(Box::new(e)))
            }
        }
    }
}

impl SpanExporter for OtlpSpanExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            Self::Http(e) => e.export(batch).await,
            Self::Grpc(e) => e.export(batch).await,
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match self {
            Self::Http(e) => e.shutdown_with_timeout(timeout),
            Self::Grpc(e) => e.shutdown_with_timeout(timeout),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn set_resource(&mut self, resource: &Resource) {
        match self {
            Self::Http(e) => e.set_resource(resource),
            Self::Grpc(e) => e.set_resource(resource),
        }
    }
}

struct Pem {
    ca: Option<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

fn read_pem(variable: &'static str, path: &str) -> Result<Vec<u8>, ExporterError> {
    let bytes = std::fs::read(path).map_err(|e| ExporterError::TlsFile {
        variable,
        path: path.to_string(),
        problem: e.to_string(),
    })?;
    if !String::from_utf8_lossy(&bytes).contains("-----BEGIN ") {
        return Err(ExporterError::TlsFile {
            variable,
            path: path.to_string(),
            problem: "no PEM block (-----BEGIN ...) in the file".into(),
        });
    }
    Ok(bytes)
}

fn read_tls(config: &OtlpConfig) -> Result<Pem, ExporterError> {
    let ca = config
        .ca_file
        .as_deref()
        .map(|p| read_pem(env::OTEL_EXPORTER_OTLP_CERTIFICATE, p))
        .transpose()?;
    let identity = match &config.client_identity {
        Some((cert, key)) => Some((
            read_pem(env::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, cert)?,
            read_pem(env::OTEL_EXPORTER_OTLP_CLIENT_KEY, key)?,
        )),
        None => None,
    };
    Ok(Pem { ca, identity })
}

fn build_err(config: &OtlpConfig, problem: impl ToString) -> ExporterError {
    ExporterError::Build {
        protocol: config.protocol,
        endpoint: config.endpoint.clone(),
        problem: problem.to_string(),
    }
}

fn build_http(config: &OtlpConfig) -> Result<opentelemetry_otlp::SpanExporter, ExporterError> {
    let pem = read_tls(config)?;
    let timeout = config.timeout;
    // reqwest's blocking client owns a runtime; building (and later dropping) it on a plain
    // thread keeps it away from any runtime the caller is in.
    let client = std::thread::Builder::new()
        .name("otel-inject-http-client".into())
        .spawn(move || -> Result<reqwest::blocking::Client, String> {
            let mut b = reqwest::blocking::Client::builder().timeout(timeout);
            if let Some(ca) = &pem.ca {
                for cert in reqwest::Certificate::from_pem_bundle(ca)
                    .map_err(|e| format!("{}: {e}", env::OTEL_EXPORTER_OTLP_CERTIFICATE))?
                {
                    b = b.add_root_certificate(cert);
                }
            }
            if let Some((cert, key)) = &pem.identity {
                let mut both = cert.clone();
                both.push(b'\n');
                both.extend_from_slice(key);
                let id = reqwest::Identity::from_pem(&both).map_err(|e| {
                    format!(
                        "{} / {}: {e}",
                        env::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
                        env::OTEL_EXPORTER_OTLP_CLIENT_KEY
                    )
                })?;
                b = b.identity(id);
            }
            b.build().map_err(|e| e.to_string())
        })
        .map_err(|e| build_err(config, e))?
        .join()
        .map_err(|_| build_err(config, "the thread building the HTTP client panicked"))?
        .map_err(|e| build_err(config, e))?;

    let protocol = match config.protocol {
        OtlpProtocol::HttpJson => opentelemetry_otlp::Protocol::HttpJson,
        _ => opentelemetry_otlp::Protocol::HttpBinary,
    };
    let mut builder = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(protocol)
        .with_endpoint(config.endpoint.clone())
        .with_timeout(config.timeout)
        .with_headers(config.headers.iter().cloned().collect::<HashMap<_, _>>());
    if config.compression == Compression::Gzip {
        builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
    }
    builder.build().map_err(|e| build_err(config, e))
}

/// OTLP/gRPC on a current-thread tokio runtime owned by the SDK (thread
/// `otel-inject-grpc`), so exports work whatever runtime the caller uses, or none.
#[derive(Debug)]
pub struct GrpcExporter {
    inner: Arc<opentelemetry_otlp::SpanExporter>,
    handle: tokio::runtime::Handle,
    stop: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl GrpcExporter {
    fn build(config: &OtlpConfig) -> Result<Self, ExporterError> {
        let pem = read_tls(config)?;
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("otel-inject-grpc".into())
            .spawn(move || {
                // The exporter's own HTTP/2 machinery must not produce spans that it would
                // then export.
                let _quiet =
                    tracing::subscriber::set_default(tracing::subscriber::NoSubscriber::default());
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = handle_tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(rt.handle().clone()));
                rt.block_on(async {
                    let _ = stop_rx.await;
                });
            })
            .map_err(|e| build_err(config, e))?;
        let handle = handle_rx
            .recv()
            .map_err(|e| build_err(config, e))?
            .map_err(|e| build_err(config, e))?;

        let channel = {
            let _enter = handle.enter();
            let mut endpoint = tonic::transport::Endpoint::from_shared(config.endpoint.clone())
                .map_err(|e| build_err(config, e))?
                .timeout(config.timeout)
                .connect_timeout(config.timeout);
            if config.uses_tls() {
                let mut tls = tonic::transport::ClientTlsConfig::new().with_native_roots();
                if let Some(ca) = &pem.ca {
                    tls = tls.ca_certificate(tonic::transport::Certificate::from_pem(ca));
                }
                if let Some((cert, key)) = &pem.identity {
                    tls = tls.identity(tonic::transport::Identity::from_pem(cert, key));
                }
                endpoint = endpoint.tls_config(tls).map_err(|e| build_err(config, e))?;
            }
            endpoint.connect_lazy()
        };
        let mut metadata = tonic::metadata::MetadataMap::new();
        for (k, v) in &config.headers {
            if let (Ok(k), Ok(v)) = (
                tonic::metadata::MetadataKey::from_bytes(k.as_bytes()),
                v.parse::<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>(),
            ) {
                metadata.insert(k, v);
            }
        }
        let mut builder = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_channel(channel)
            .with_timeout(config.timeout)
            .with_metadata(metadata);
        if config.compression == Compression::Gzip {
            builder = builder.with_compression(opentelemetry_otlp::Compression::Gzip);
        }
        let inner = {
            let _enter = handle.enter();
            builder.build().map_err(|e| build_err(config, e))?
        };
        Ok(Self {
            inner: Arc::new(inner),
            handle,
            stop: Mutex::new(Some(stop_tx)),
        })
    }

    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let inner = Arc::clone(&self.inner);
        let task = self.handle.spawn(async move { inner.export(batch).await });
        match task.await {
            Ok(r) => r,
            Err(e) => Err(OTelSdkError::InternalFailure(format!(
                "the gRPC export task failed: {e}"
            ))),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let r = self.inner.shutdown_with_timeout(timeout);
        if let Ok(mut stop) = self.stop.lock() {
            if let Some(tx) = stop.take() {
                let _ = tx.send(());
            }
        }
        r
    }

    fn set_resource(&mut self, resource: &Resource) {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.set_resource(resource);
        }
    }
}

impl Drop for GrpcExporter {
    fn drop(&mut self) {
        if let Ok(mut stop) = self.stop.lock() {
            if let Some(tx) = stop.take() {
                let _ = tx.send(());
            }
        }
    }
}
