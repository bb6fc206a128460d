//! Command line: `serve` (the webhook), `inject` / `review` / `explain` (offline), `crd`,
//! `status` and `check` (a cluster, read-only).
//! Every flag can also be set through an `OTEL_INJECT_*` environment variable, which is how
//! the Deployment in deploy/ configures it.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};
use otel_inject_lib::{InjectOptions, Language};

use crate::offline::OutputFormat;

/// Exit codes, also listed in `--help`.
pub mod exit {
    /// Success.
    pub const OK: u8 = 0;
    /// Unexpected failure (I/O on output, internal error, server stopped abnormally).
    pub const FAILURE: u8 = 1;
    /// Invalid command line (clap's own code).
    pub const USAGE: u8 = 2;
    /// An input document or cluster file is invalid; the message names the file, the
    /// document number and the field.
    pub const INVALID_INPUT: u8 = 3;
    /// `serve` could not start: TLS material invalid, address in use, cluster unreachable.
    pub const STARTUP: u8 = 4;
    /// An offline command run with `--strict` printed warnings (its output is still written).
    pub const STRICT_WARNINGS: u8 = 5;
    /// `status`: some pods that ask for instrumentation are outdated or not injected.
    pub const NOT_ALL_INJECTED: u8 = 6;
    /// `status`: the cluster cannot be read (kubeconfig, unreachable, forbidden).
    pub const CLUSTER_UNREADABLE: u8 = 7;
    /// `check`: at least one check failed.
    pub const CHECK_FAILED: u8 = 8;
}

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  unexpected failure (internal error, cannot write output, server stopped abnormally)
  2  invalid command line
  3  an input document or cluster file is invalid (the message names file, document number and field)
  4  serve could not start (TLS material invalid, cannot bind, Kubernetes API unreachable)
  5  inject/review/explain/validate/check --strict printed warnings (the output is still written)
  6  status: some pods that ask for instrumentation are outdated or not injected
  7  status, check: the cluster cannot be read (kubeconfig, API server unreachable, forbidden)
  8  check: some check failed";

/// Mutating admission webhook that injects OpenTelemetry auto-instrumentation, compatible
/// with the OpenTelemetry Operator's annotations and Instrumentation resource.
#[derive(Debug, Parser)]
#[command(name = "otel-inject", version, after_help = EXIT_CODES_HELP)]
pub struct Cli {
    /// Log output format (logs go to standard error).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "OTEL_INJECT_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter (tracing-subscriber EnvFilter syntax, e.g. `info` or `otel_inject=debug`).
    #[arg(long, global = true, default_value = "info", env = "OTEL_INJECT_LOG")]
    pub log: String,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Text,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the admission webhook (HTTPS) and the metrics/health endpoint (HTTP).
    #[command(after_help = EXIT_CODES_HELP)]
    Serve(Box<ServeArgs>),
    /// Write a manifest stream back with every Pod and pod template injected as the webhook
    /// would inject the pods they create.
    #[command(after_help = EXIT_CODES_HELP)]
    Inject(InjectArgs),
    /// Print the AdmissionReview response the webhook would send for each review in the
    /// input, or for the creation of each Pod / pod template in it.
    #[command(after_help = EXIT_CODES_HELP)]
    Review(OfflineArgs),
    /// Say, per pod and container, what would be injected or why not.
    #[command(after_help = EXIT_CODES_HELP)]
    Explain(OfflineArgs),
    /// Check the Instrumentations in a file as the other commands read them: the version,
    /// every field's type, unknown fields (with the nearest known name).
    #[command(after_help = EXIT_CODES_HELP)]
    Validate(ValidateArgs),
    /// Print the Instrumentation CustomResourceDefinition (YAML).
    Crd,
    /// Read a cluster (read-only): every workload whose pods ask for instrumentation, with its
    /// pods injected, outdated (their Instrumentation changed since) or not injected, and why.
    #[command(after_help = crate::status::STATUS_EXIT_CODES_HELP)]
    Status(crate::status::StatusArgs),
    /// Check the install (read-only): the CRD, the MutatingWebhookConfiguration, the
    /// certificate the webhook presents, its endpoints, every Instrumentation, and annotated
    /// workloads with no Instrumentation to resolve. One line each: ok, warn or fail, with the fix.
    #[command(after_help = crate::check::CHECK_EXIT_CODES_HELP)]
    Check(crate::check::CheckArgs),
    /// The opt-in rollout controller: restarts opted-in Deployments, StatefulSets and DaemonSets
    /// whose pods are outdated or not injected (as `kubectl rollout restart` does), a few at a
    /// time, and undoes a restart whose pods do not become ready in time.
    #[command(after_help = crate::controller::CONTROLLER_EXIT_CODES_HELP)]
    Controller(Box<crate::controller::ControllerArgs>),
}

/// `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub listen: ListenArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    #[command(flatten)]
    pub timeouts: TimeoutArgs,
    #[command(flatten)]
    pub inject: InjectFlags,
}

/// Where to listen.
#[derive(Debug, Args)]
#[command(next_help_heading = "Listeners")]
pub struct ListenArgs {
    /// Address of the HTTPS admission endpoint (`/mutate`, `/mutate-v1-pod`).
    #[arg(long, default_value = "0.0.0.0:8443", env = "OTEL_INJECT_LISTEN")]
    pub listen: SocketAddr,
    /// Address of the plain-HTTP `/metrics`, `/healthz` and `/readyz` endpoint.
    #[arg(
        long,
        default_value = "0.0.0.0:9090",
        env = "OTEL_INJECT_METRICS_LISTEN"
    )]
    pub metrics_listen: SocketAddr,
}

/// Serving certificate.
#[derive(Debug, Args)]
#[command(next_help_heading = "TLS")]
pub struct TlsArgs {
    /// PEM certificate chain (leaf first). Reloaded when its content changes.
    #[arg(
        long,
        env = "OTEL_INJECT_TLS_CERT",
        requires = "tls_key",
        conflicts_with = "self_signed"
    )]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "OTEL_INJECT_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// How often the certificate files are checked for changes.
    #[arg(long, default_value = "5s", value_parser = parse_duration, env = "OTEL_INJECT_TLS_RELOAD_INTERVAL")]
    pub tls_reload_interval: Duration,
    /// Generate a CA and serving certificate at start-up and rotate them before expiry.
    /// In a cluster, the CA is written into the caBundle of --webhook-config; with
    /// --standalone, into --ca-out.
    #[arg(long, env = "OTEL_INJECT_SELF_SIGNED")]
    pub self_signed: bool,
    /// MutatingWebhookConfiguration whose webhooks get the generated CA as caBundle.
    #[arg(long, env = "OTEL_INJECT_WEBHOOK_CONFIG")]
    pub webhook_config: Option<String>,
    /// Service name in the generated certificate (`NAME.NAMESPACE.svc`).
    #[arg(long, default_value = "otel-inject", env = "OTEL_INJECT_SERVICE_NAME")]
    pub service_name: String,
    /// Service namespace in the generated certificate.
    #[arg(
        long,
        default_value = "otel-inject",
        env = "OTEL_INJECT_SERVICE_NAMESPACE"
    )]
    pub service_namespace: String,
    /// Require a client certificate issued by the CA in this PEM file: the API server presents
    /// one when its AdmissionConfiguration gives it one for this webhook (see README), so that
    /// nobody else can ask for an injection (which may carry exporter headers).
    #[arg(long, env = "OTEL_INJECT_CLIENT_CA")]
    pub client_ca: Option<PathBuf>,
    /// Extra subject alternative names (DNS names or IPs), e.g. 127.0.0.1. Repeatable.
    #[arg(long = "san", value_delimiter = ',', env = "OTEL_INJECT_SAN")]
    pub sans: Vec<String>,
    /// Lifetime of generated certificates.
    #[arg(long, default_value = "30d", value_parser = parse_duration, env = "OTEL_INJECT_CERT_VALIDITY")]
    pub cert_validity: Duration,
    /// Where --standalone --self-signed writes the CA certificate (PEM), for `curl --cacert`.
    #[arg(long, default_value = "otel-inject-ca.pem", env = "OTEL_INJECT_CA_OUT")]
    pub ca_out: PathBuf,
}

/// Where Instrumentations, Namespaces and owners come from.
#[derive(Debug, Args)]
#[command(next_help_heading = "Cluster view")]
pub struct ClusterArgs {
    /// Run without a Kubernetes API: cluster objects come from --cluster files, or when none
    /// is given a built-in Instrumentation (Jaeger collector in `monitoring`) applies everywhere.
    #[arg(long, env = "OTEL_INJECT_STANDALONE")]
    pub standalone: bool,
    /// YAML/JSON file of Instrumentations, Namespaces, ReplicaSets and Jobs (other kinds are
    /// ignored). Repeatable. Only with --standalone.
    #[arg(
        long = "cluster",
        value_name = "FILE",
        requires = "standalone",
        env = "OTEL_INJECT_CLUSTER",
        value_delimiter = ','
    )]
    pub cluster_files: Vec<String>,
    /// Total time a decision may spend reading owners missing from the cache from the API.
    #[arg(long, default_value = "200ms", value_parser = parse_duration, env = "OTEL_INJECT_OWNER_LOOKUP_TIMEOUT")]
    pub owner_lookup_timeout: Duration,
}

/// Listener timeouts.
#[derive(Debug, Args)]
#[command(next_help_heading = "Timeouts")]
pub struct TimeoutArgs {
    /// Time allowed for the request line and headers of each request.
    #[arg(long, default_value = "5s", value_parser = parse_duration, env = "OTEL_INJECT_HEADER_READ_TIMEOUT")]
    pub header_read_timeout: Duration,
    /// Time allowed for a whole request (the API server's own default is 10s).
    #[arg(long, default_value = "10s", value_parser = parse_duration, env = "OTEL_INJECT_REQUEST_TIMEOUT")]
    pub request_timeout: Duration,
    /// A connection that sends nothing for this long is closed (never sooner than the request
    /// timeout). The API server's own idle timeout for webhook connections is 90s.
    #[arg(long, default_value = "90s", value_parser = parse_duration, env = "OTEL_INJECT_IDLE_TIMEOUT")]
    pub idle_timeout: Duration,
    /// A client that reads nothing of its response for this long is disconnected.
    #[arg(long, default_value = "10s", value_parser = parse_duration, env = "OTEL_INJECT_WRITE_TIMEOUT")]
    pub write_timeout: Duration,
    /// On SIGTERM, how long to go on serving with /readyz failing, so that the pod leaves the
    /// Service's endpoints before the listener closes (kube-proxy and the API server need a
    /// few seconds to notice).
    #[arg(long, default_value = "5s", value_parser = parse_duration, env = "OTEL_INJECT_SHUTDOWN_DELAY")]
    pub shutdown_delay: Duration,
    /// After the shutdown delay, how long in-flight requests may take to finish.
    /// terminationGracePeriodSeconds must cover shutdown delay + drain timeout.
    #[arg(long, default_value = "20s", value_parser = parse_duration, env = "OTEL_INJECT_DRAIN_TIMEOUT")]
    pub drain_timeout: Duration,
    /// Open TLS connections at most; more wait in the kernel's accept queue.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..), env = "OTEL_INJECT_MAX_CONNECTIONS")]
    pub max_connections: u32,
    /// Reviews decided at once (on the blocking pool); more wait for a slot within their
    /// request timeout. Default: two per CPU.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..), env = "OTEL_INJECT_MAX_CONCURRENT_REVIEWS")]
    pub max_concurrent_reviews: Option<u32>,
}

impl TimeoutArgs {
    /// Reviews decided at once: `--max-concurrent-reviews`, else two per CPU.
    pub fn max_reviews(&self) -> usize {
        self.max_concurrent_reviews
            .map_or_else(crate::server::default_max_reviews, |n| n as usize)
    }
}

/// Decision switches (defaults are the operator's).
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Injection")]
pub struct InjectFlags {
    /// Inject Java auto-instrumentation when asked to (the operator's flag and default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "OTEL_INJECT_ENABLE_JAVA_INSTRUMENTATION")]
    pub enable_java_instrumentation: bool,
    /// Inject Node.js auto-instrumentation when asked to (the operator's flag and default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "OTEL_INJECT_ENABLE_NODEJS_INSTRUMENTATION")]
    pub enable_nodejs_instrumentation: bool,
    /// Inject Python auto-instrumentation when asked to (the operator's flag and default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "OTEL_INJECT_ENABLE_PYTHON_INSTRUMENTATION")]
    pub enable_python_instrumentation: bool,
    /// Inject .NET auto-instrumentation when asked to (the operator's flag and default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "OTEL_INJECT_ENABLE_DOTNET_INSTRUMENTATION", alias = "enable-dotnet")]
    pub enable_dotnet_instrumentation: bool,
    /// Inject Go auto-instrumentation when asked to (the operator's flag and default).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, env = "OTEL_INJECT_ENABLE_GO_INSTRUMENTATION")]
    pub enable_go_instrumentation: bool,
    /// Inject Apache httpd auto-instrumentation when asked to (the operator's flag and default).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "OTEL_INJECT_ENABLE_APACHE_HTTPD_INSTRUMENTATION")]
    pub enable_apache_httpd_instrumentation: bool,
    /// Inject nginx auto-instrumentation when asked to (the operator's flag and default).
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, env = "OTEL_INJECT_ENABLE_NGINX_INSTRUMENTATION")]
    pub enable_nginx_instrumentation: bool,
    /// Honour per-language container lists (`instrumentation.opentelemetry.io/dotnet-container-names`).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "OTEL_INJECT_MULTI_INSTRUMENTATION", alias = "enable-multi-instrumentation")]
    pub multi_instrumentation: bool,
    /// Argo Workflows step pods: inject into `main` only, never into Argo's own containers.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, env = "OTEL_INJECT_ARGO_WORKFLOWS_AWARE")]
    pub argo_workflows_aware: bool,
}

impl InjectFlags {
    /// The lib's options.
    // The struct update keeps this compiling when the lib grows options we do not expose yet.
    #[allow(clippy::needless_update)]
    pub fn options(&self) -> InjectOptions {
        let mut options = InjectOptions {
            multi_instrumentation: self.multi_instrumentation,
            argo_workflows_aware: self.argo_workflows_aware,
            ..InjectOptions::default()
        };
        for (lang, on) in [
            (Language::Java, self.enable_java_instrumentation),
            (Language::NodeJs, self.enable_nodejs_instrumentation),
            (Language::Python, self.enable_python_instrumentation),
            (Language::DotNet, self.enable_dotnet_instrumentation),
            (Language::Go, self.enable_go_instrumentation),
            (
                Language::ApacheHttpd,
                self.enable_apache_httpd_instrumentation,
            ),
            (Language::Nginx, self.enable_nginx_instrumentation),
        ] {
            options.set_enabled(lang, on);
        }
        options
    }
}

/// `review` and `explain`.
#[derive(Debug, Args)]
pub struct OfflineArgs {
    /// Input file (YAML or JSON, multi-document), `-` for standard input.
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE|-",
        env = "OTEL_INJECT_FILENAME"
    )]
    pub file: String,
    /// File of cluster objects (Instrumentations, Namespaces, ReplicaSets, Jobs). Repeatable.
    /// Those in the input count too. With none at all, a built-in Instrumentation applies.
    #[arg(
        long = "cluster",
        value_name = "FILE",
        env = "OTEL_INJECT_CLUSTER",
        value_delimiter = ','
    )]
    pub cluster_files: Vec<String>,
    /// Namespace of objects that name none.
    #[arg(
        short = 'n',
        long,
        default_value = "default",
        env = "OTEL_INJECT_NAMESPACE"
    )]
    pub namespace: String,
    /// Exit with code 5 when any warning was printed (a workload that asked for
    /// instrumentation and got none, a language skipped, the built-in default Instrumentation
    /// used, an unknown Instrumentation field), for CI. The output is written all the same.
    #[arg(long, env = "OTEL_INJECT_STRICT")]
    pub strict: bool,
    #[command(flatten)]
    pub inject: InjectFlags,
}

/// `validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Input file (YAML or JSON, multi-document), `-` for standard input. Objects other than
    /// Instrumentations are ignored.
    #[arg(
        short = 'f',
        long = "filename",
        value_name = "FILE|-",
        env = "OTEL_INJECT_FILENAME"
    )]
    pub file: String,
    /// Namespace of Instrumentations that name none.
    #[arg(
        short = 'n',
        long,
        default_value = "default",
        env = "OTEL_INJECT_NAMESPACE"
    )]
    pub namespace: String,
    /// Exit with code 5 when any warning was printed (an unknown field, no Instrumentation).
    #[arg(long, env = "OTEL_INJECT_STRICT")]
    pub strict: bool,
}

/// `inject`.
#[derive(Debug, Args)]
pub struct InjectArgs {
    #[command(flatten)]
    pub input: OfflineArgs,
    /// Output syntax.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Yaml, env = "OTEL_INJECT_OUTPUT")]
    pub output: OutputFormat,
}

/// Parses `250ms`, `5s`, `10m`, `12h`, `30d` (a bare number is seconds).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().map_err(|_| {
        format!("invalid duration {text:?}: expected e.g. 200ms, 5s, 10m, 12h, 30d")
    })?;
    let secs = |m: u64| Duration::from_secs(n.saturating_mul(m));
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "" | "s" => Ok(secs(1)),
        "m" => Ok(secs(60)),
        "h" => Ok(secs(3600)),
        "d" => Ok(secs(86_400)),
        _ => Err(format!(
            "invalid duration unit {unit:?} in {text:?}: use ms, s, m, h or d"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    fn explain_options(args: &[&str]) -> InjectOptions {
        let argv = [&["otel-inject", "explain", "-f", "-"], args].concat();
        match Cli::try_parse_from(argv).expect("parses").command {
            Command::Explain(a) => a.inject.options(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn language_switches_have_the_operators_names_and_defaults() {
        let defaults = explain_options(&[]);
        assert_eq!(defaults, InjectOptions::default());
        for lang in [
            Language::Java,
            Language::NodeJs,
            Language::Python,
            Language::DotNet,
            Language::ApacheHttpd,
        ] {
            assert!(defaults.enabled(lang), "{lang} is on by default");
        }
        assert!(!defaults.enabled(Language::Go));
        assert!(!defaults.enabled(Language::Nginx));

        let off = explain_options(&[
            "--enable-java-instrumentation=false",
            "--enable-go-instrumentation",
            "true",
        ]);
        assert!(!off.enabled(Language::Java));
        assert!(off.enabled(Language::Go));
        assert!(off.enabled(Language::Python));
        // The earlier spelling still works.
        assert!(!explain_options(&["--enable-dotnet=false"]).enabled(Language::DotNet));
        assert!(!explain_options(&["--enable-multi-instrumentation=false"]).multi_instrumentation);
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(
            parse_duration("30d").unwrap(),
            Duration::from_secs(30 * 86_400)
        );
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("5y").is_err());
        assert!(parse_duration("ms").is_err());
    }
}
