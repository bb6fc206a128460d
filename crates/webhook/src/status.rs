//! `otel-inject status`: which workloads ask for instrumentation, how many of their pods are
//! injected, injected from an Instrumentation that has changed since (outdated), or not
//! injected and why. Read-only: it lists objects and writes nothing to the cluster.

pub mod report;

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{DynamicObject, GroupVersionKind};
use kube::discovery::ApiResource;
use kube::{Client, Config};
use otel_inject_lib::{Instrumentation, Language, NamespaceInfo};
use serde_json::Value;

use crate::cli::{exit, parse_duration};
pub use report::{report, Filter, PodCounts, ReasonCount, Snapshot, WorkloadStatus};

/// Exit codes of `status`, also in its `--help`.
pub const STATUS_EXIT_CODES_HELP: &str = "\
Exit codes:
  0  every pod that asks for instrumentation is injected from the current Instrumentation
     (or no workload asks)
  1  unexpected failure (cannot write the output)
  2  invalid command line
  6  some pods are outdated or not injected (the report says which and why)
  7  the cluster cannot be read: no usable kubeconfig, API server unreachable, or forbidden
     (status needs list on namespaces, pods, deployments, statefulsets, daemonsets,
     replicasets, jobs, cronjobs and instrumentations)";

/// `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Kubeconfig file. Default: $KUBECONFIG, then ~/.kube/config, then the in-cluster
    /// service account.
    #[arg(long, env = "OTEL_INJECT_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: its current context).
    #[arg(long, env = "OTEL_INJECT_CONTEXT")]
    pub context: Option<String>,
    /// Only this namespace (default: all).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Only workloads that ask for this language (java, nodejs, python, dotnet, go,
    /// apache-httpd, nginx, sdk).
    #[arg(long, value_parser = parse_language)]
    pub language: Option<Language>,
    /// Output format: a table, or a JSON array with one object per workload (kind, namespace,
    /// name, languages, pods {injected, outdated, notInjected}, reasons [{reason, pods}], and
    /// rolloutUndone when the rollout controller undid its rollout there).
    #[arg(short = 'o', long, value_enum, default_value_t = StatusFormat::Table)]
    pub output: StatusFormat,
    /// Time allowed for reading the cluster.
    #[arg(long, default_value = "30s", value_parser = parse_duration, env = "OTEL_INJECT_STATUS_TIMEOUT")]
    pub timeout: Duration,
}

/// Output formats of `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// Human-readable table, reasons under each workload.
    Table,
    /// JSON array.
    Json,
}

fn parse_language(text: &str) -> Result<Language, String> {
    Language::ALL
        .into_iter()
        .find(|l| l.as_str() == text)
        .ok_or_else(|| {
            let all: Vec<&str> = Language::ALL.iter().map(|l| l.as_str()).collect();
            format!(
                "unknown language {text:?}: expected one of {}",
                all.join(", ")
            )
        })
}

/// Runs `status`; returns the exit code.
pub async fn run(args: StatusArgs) -> u8 {
    let snapshot = match tokio::time::timeout(args.timeout, fetch(&args)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            eprintln!("otel-inject: status: {e:#}");
            return exit::CLUSTER_UNREADABLE;
        }
        Err(_) => {
            eprintln!(
                "otel-inject: status: the cluster did not answer within {:?}: check the kubeconfig's server address, or raise --timeout",
                args.timeout
            );
            return exit::CLUSTER_UNREADABLE;
        }
    };
    let filter = Filter {
        language: args.language,
    };
    let rows = report(&snapshot, &filter);
    let text = match args.output {
        StatusFormat::Json => match serde_json::to_string_pretty(&rows) {
            Ok(t) => t + "\n",
            Err(e) => {
                eprintln!("otel-inject: status: cannot write JSON: {e}");
                return exit::FAILURE;
            }
        },
        StatusFormat::Table => table(&rows),
    };
    let code = crate::commands::write_out(text.as_bytes());
    if code != exit::OK {
        return code;
    }
    if rows.iter().all(WorkloadStatus::healthy) {
        exit::OK
    } else {
        exit::NOT_ALL_INJECTED
    }
}

async fn client(args: &StatusArgs) -> anyhow::Result<Client> {
    kube_client(args.kubeconfig.as_deref(), args.context.as_deref()).await
}

/// A client from `kubeconfig` (default: $KUBECONFIG, ~/.kube/config, in-cluster) and its
/// `context`; shared by the read-only cluster commands (status, check).
pub(crate) async fn kube_client(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
) -> anyhow::Result<Client> {
    use anyhow::Context as _;
    let options = KubeConfigOptions {
        context: context.map(str::to_string),
        ..KubeConfigOptions::default()
    };
    let config = match kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
            Config::from_custom_kubeconfig(kc, &options)
                .await
                .with_context(|| format!("the kubeconfig {} is not usable", path.display()))?
        }
        None if context.is_some() => Config::from_kubeconfig(&options)
            .await
            .context("no usable kubeconfig for --context (set --kubeconfig or KUBECONFIG)")?,
        None => Config::infer().await.context(
            "no kubeconfig found: pass --kubeconfig, set KUBECONFIG, or run inside a cluster",
        )?,
    };
    Client::try_from(config).context("cannot build a Kubernetes client from the kubeconfig")
}

pub(crate) fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// Lists one kind, in `namespace` or everywhere; `None` when the API server does not serve it.
pub(crate) async fn list(
    client: &Client,
    namespace: Option<&str>,
    ar: &ApiResource,
) -> anyhow::Result<Option<Vec<Value>>> {
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, ar),
        None => Api::all_with(client.clone(), ar),
    };
    match api.list(&ListParams::default()).await {
        Ok(list) => Ok(Some(
            list.items
                .into_iter()
                .map(|o| {
                    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
                    v["kind"] = Value::String(ar.kind.clone());
                    v["apiVersion"] = Value::String(ar.api_version.clone());
                    v
                })
                .collect(),
        )),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
        Err(kube::Error::Api(e)) if e.code == 403 => Err(anyhow::anyhow!(
            "forbidden to list {} ({}): status and check need list on it (see their --help)",
            ar.plural,
            e.message
        )),
        Err(e) => Err(anyhow::anyhow!("cannot list {}: {e}", ar.plural)),
    }
}

async fn fetch(args: &StatusArgs) -> anyhow::Result<Snapshot> {
    let client = client(args).await?;
    let ns = args.namespace.as_deref();
    let mut snapshot = Snapshot::default();

    let namespaces = match ns {
        // One namespace: `get` needs less than `list` on every namespace.
        Some(name) => {
            let api: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
            match api.get_opt(name).await? {
                Some(n) => vec![serde_json::to_value(n)?],
                None => anyhow::bail!("namespace {name} not found"),
            }
        }
        None => list(
            &client,
            None,
            &resource("", "v1", "Namespace", "namespaces"),
        )
        .await?
        .unwrap_or_default(),
    };
    for n in namespaces {
        let name = n["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut info = NamespaceInfo::named(name.clone());
        for (field, map) in [
            ("labels", &mut info.labels),
            ("annotations", &mut info.annotations),
        ] {
            if let Some(m) = n["metadata"][field].as_object() {
                map.extend(
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))),
                );
            }
        }
        snapshot.namespaces.insert(name, info);
    }

    // Every namespace's Instrumentations: an annotation may name one in another namespace.
    let inst_ar = resource(
        "opentelemetry.io",
        "v1alpha1",
        "Instrumentation",
        "instrumentations",
    );
    let insts = match list(&client, None, &inst_ar).await {
        Ok(i) => i,
        // Without list everywhere, this namespace's at least.
        Err(_) if ns.is_some() => list(&client, ns, &inst_ar).await?,
        Err(e) => return Err(e),
    };
    match insts {
        Some(items) => {
            for mut v in items {
                Instrumentation::fill_missing_spec(&mut v);
                match serde_json::from_value::<Instrumentation>(v.clone()) {
                    Ok(i) => snapshot.instrumentations.push(Arc::new(i)),
                    Err(e) => eprintln!(
                        "otel-inject: status: warning: Instrumentation {}/{} does not read ({e}); pods that use it are reported as if it did not exist (otel-inject validate says more)",
                        v["metadata"]["namespace"].as_str().unwrap_or_default(),
                        v["metadata"]["name"].as_str().unwrap_or_default()
                    ),
                }
            }
        }
        None => eprintln!(
            "otel-inject: status: warning: the Instrumentation CRD (instrumentations.opentelemetry.io) is not installed: no pod can be injected (otel-inject crd | kubectl apply -f -)"
        ),
    }

    let kinds = [
        resource("apps", "v1", "Deployment", "deployments"),
        resource("apps", "v1", "StatefulSet", "statefulsets"),
        resource("apps", "v1", "DaemonSet", "daemonsets"),
        resource("apps", "v1", "ReplicaSet", "replicasets"),
        resource("batch", "v1", "Job", "jobs"),
    ];
    for ar in &kinds {
        snapshot
            .workloads
            .extend(list(&client, ns, ar).await?.unwrap_or_default());
    }
    // batch/v1 CronJob from Kubernetes 1.21; v1beta1 before (and until 1.25).
    let cron = match list(&client, ns, &resource("batch", "v1", "CronJob", "cronjobs")).await? {
        Some(c) => c,
        None => list(
            &client,
            ns,
            &resource("batch", "v1beta1", "CronJob", "cronjobs"),
        )
        .await?
        .unwrap_or_default(),
    };
    snapshot.workloads.extend(cron);
    snapshot.pods = list(&client, ns, &resource("", "v1", "Pod", "pods"))
        .await?
        .unwrap_or_default();
    Ok(snapshot)
}

/// The human table: one line per workload, its reasons indented under it.
pub fn table(rows: &[WorkloadStatus]) -> String {
    if rows.is_empty() {
        return "no workload asks for instrumentation (no inject-* annotation on a pod template or namespace)\n".into();
    }
    let head = [
        "KIND",
        "NAMESPACE",
        "NAME",
        "LANGUAGES",
        "INJECTED",
        "OUTDATED",
        "NOT INJECTED",
    ];
    let cells: Vec<[String; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.kind.clone(),
                r.namespace.clone(),
                r.name.clone(),
                r.languages.join(","),
                r.pods.injected.to_string(),
                r.pods.outdated.to_string(),
                r.pods.not_injected.to_string(),
            ]
        })
        .collect();
    let mut width = head.map(str::len);
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, row: &[&str]| {
        let mut l = String::new();
        for (i, c) in row.iter().enumerate() {
            let _ = write!(l, "{c:<w$}  ", w = width[i]);
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut out, &head);
    for (row, r) in cells.iter().zip(rows) {
        line(&mut out, &row.each_ref().map(String::as_str));
        for reason in &r.reasons {
            let _ = writeln!(out, "    {} pod(s) {}", reason.pods, reason.reason);
        }
        if let Some(undone) = &r.rollout_undone {
            let _ = writeln!(out, "    {undone}");
        }
    }
    out
}
