//! `otel-inject check`: the health of the install, one line per check (ok, warn or fail, with
//! what to do). Reads the cluster (read-only) and connects to the webhook as the API server
//! does, to judge the certificate it really serves. The judging is pure and lives in `check/`;
//! this file fetches, connects and prints.

pub mod annotations;
pub mod certificate;
pub mod finding;
pub mod install;
pub mod instrumentations;
mod probe;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};
use k8s_openapi::api::admissionregistration::v1::{MutatingWebhook, MutatingWebhookConfiguration};
use k8s_openapi::api::core::v1::{Endpoints, Namespace, Service};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams};
use kube::Client;
use otel_inject_lib::{Instrumentation, NamespaceInfo};
use serde_json::Value;

use crate::cli::{exit, parse_duration};
use crate::cluster::ClusterObjects;
use crate::status::{kube_client, list, resource};
pub use certificate::{Answer, Probe, ProbeOutcome};
pub use finding::{Finding, Level};

/// Exit codes of `check`, also in its `--help`.
pub const CHECK_EXIT_CODES_HELP: &str = "\
Each line is `ok`, `warn` or `fail`, with what to do after the dash. It checks: the
Instrumentation CRD against otel-inject's; the MutatingWebhookConfiguration and its options; the
Service's ready endpoints; that the namespaceSelector keeps the webhook's own namespace out; the
certificate the webhook presents (connecting to it as the API server does: the caBundle must
verify it for the Service's DNS name or the URL's host) and its expiry; that it answers a dry-run
AdmissionReview; every Instrumentation (unknown fields, also those the API server dropped on
`kubectl apply`; exporter host names of invalid DNS syntax, or naming a Service that does not
exist); annotated namespaces and workloads whose request resolves to no Instrumentation, and
inject-* annotations on a workload's own metadata instead of its pod template.

Exit codes:
  0  no check failed (warnings may have been printed)
  1  unexpected failure (cannot write the output)
  2  invalid command line
  5  --strict, and some check warned
  7  the cluster cannot be read: no usable kubeconfig, API server unreachable, or forbidden
     (check needs get/list on customresourcedefinitions, mutatingwebhookconfigurations,
     namespaces, services, endpoints, pods, deployments, statefulsets, daemonsets, replicasets,
     jobs, cronjobs and instrumentations: deploy/cluster-tools)
  8  some check failed";

/// `check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Kubeconfig file. Default: $KUBECONFIG, then ~/.kube/config, then the in-cluster
    /// service account.
    #[arg(long, env = "OTEL_INJECT_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Kubeconfig context (default: its current context).
    #[arg(long, env = "OTEL_INJECT_CONTEXT")]
    pub context: Option<String>,
    /// The MutatingWebhookConfiguration to check. Default: those whose webhook calls --service,
    /// else those with `otel-inject` in their name.
    #[arg(long, env = "OTEL_INJECT_WEBHOOK_CONFIG")]
    pub webhook_config: Option<String>,
    /// The webhook's Service, NAMESPACE/NAME, to find its configuration by.
    #[arg(long, default_value = "otel-inject-system/otel-inject", value_parser = parse_service)]
    pub service: (String, String),
    /// Only the Instrumentations, namespace and workloads of this namespace (the install's
    /// checks still run; an annotation may still name an Instrumentation elsewhere).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// The namespace the webhook's own pods run in, which its namespaceSelector must leave out.
    /// Default: the namespace of the Service it calls, else that of --service.
    #[arg(long)]
    pub webhook_namespace: Option<String>,
    /// Warn when the serving certificate expires within this (or within a third of its
    /// lifetime, when that is shorter: rotation is due then).
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    pub expiry_warning: Duration,
    /// Output: one line per check, or a JSON array of {check, level, what, fix}.
    #[arg(short = 'o', long, value_enum, default_value_t = CheckFormat::Text)]
    pub output: CheckFormat,
    /// Exit with code 5 when a check warned (and none failed).
    #[arg(long)]
    pub strict: bool,
    /// Time allowed for reading the cluster and connecting to the webhook.
    #[arg(long, default_value = "30s", value_parser = parse_duration, env = "OTEL_INJECT_CHECK_TIMEOUT")]
    pub timeout: Duration,
    /// The CRD's name. Only for tests: a name that does not exist shows the missing-CRD case
    /// without deleting the CRD other users of the cluster need.
    #[arg(long, default_value = "instrumentations.opentelemetry.io", hide = true)]
    pub crd_name: String,
}

/// Output formats of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// `ok|warn|fail  what  — fix`, one per line.
    Text,
    /// JSON array.
    Json,
}

fn parse_service(text: &str) -> Result<(String, String), String> {
    match text.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() => {
            Ok((ns.to_string(), name.to_string()))
        }
        _ => Err(format!("expected NAMESPACE/NAME, got {text:?}")),
    }
}

/// Runs `check`; returns the exit code.
pub async fn run(args: CheckArgs) -> u8 {
    let findings = match tokio::time::timeout(args.timeout, fetch(&args)).await {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => {
            eprintln!("otel-inject: check: {e:#}");
            return exit::CLUSTER_UNREADABLE;
        }
        Err(_) => {
            eprintln!(
                "otel-inject: check: the cluster did not answer within {:?}: check the kubeconfig's server address, or raise --timeout",
                args.timeout
            );
            return exit::CLUSTER_UNREADABLE;
        }
    };
    let text = match args.output {
        CheckFormat::Json => match serde_json::to_string_pretty(&findings) {
            Ok(t) => t + "\n",
            Err(e) => {
                eprintln!("otel-inject: check: cannot write JSON: {e}");
                return exit::FAILURE;
            }
        },
        CheckFormat::Text => finding::text(&findings),
    };
    let code = crate::commands::write_out(text.as_bytes());
    if code != exit::OK {
        return code;
    }
    exit_code(&findings, args.strict)
}

/// The exit code for `findings`.
pub fn exit_code(findings: &[Finding], strict: bool) -> u8 {
    match finding::worst(findings) {
        Level::Fail => exit::CHECK_FAILED,
        Level::Warn if strict => exit::STRICT_WARNINGS,
        _ => exit::OK,
    }
}

/// An API error as the reason the cluster cannot be read.
fn unreadable(what: &str, e: kube::Error) -> anyhow::Error {
    match e {
        kube::Error::Api(e) if e.code == 403 => anyhow::anyhow!(
            "forbidden to read {what} ({}): see otel-inject check --help for what it needs",
            e.message
        ),
        e => anyhow::anyhow!("cannot read {what}: {e}"),
    }
}

async fn fetch(args: &CheckArgs) -> anyhow::Result<Vec<Finding>> {
    let client = kube_client(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
    let mut out = Vec::new();

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = crds
        .get_opt(&args.crd_name)
        .await
        .map_err(|e| unreadable("customresourcedefinitions", e))?;
    out.extend(install::crd(
        &args.crd_name,
        crd.as_ref(),
        &otel_inject_lib::crd::crd(),
    ));

    let mwcs: Api<MutatingWebhookConfiguration> = Api::all(client.clone());
    let all = mwcs
        .list(&ListParams::default())
        .await
        .map_err(|e| unreadable("mutatingwebhookconfigurations", e))?
        .items;
    let service = (args.service.0.as_str(), args.service.1.as_str());
    let configs = install::ours(&all, args.webhook_config.as_deref(), service);
    if configs.is_empty() {
        out.push(Finding::fail(
            "webhook-configuration",
            match &args.webhook_config {
                Some(name) => format!("MutatingWebhookConfiguration {name} does not exist: the API server never calls the webhook"),
                None => format!(
                    "no MutatingWebhookConfiguration calls Service {}/{} or has otel-inject in its name (there are {}): the API server never calls the webhook",
                    service.0, service.1, all.len()
                ),
            },
            "apply deploy/otel-inject/base/mutatingwebhook.yaml (or name the configuration with --webhook-config)",
        ));
    }
    for config in &configs {
        let name = config.metadata.name.clone().unwrap_or_default();
        if install::webhooks(config).is_empty() {
            out.push(Finding::fail(
                "webhook-configuration",
                format!("MutatingWebhookConfiguration {name} has no webhooks"),
                "apply deploy/otel-inject/base/mutatingwebhook.yaml",
            ));
        }
        for w in install::webhooks(config) {
            out.extend(install::webhook_options(&name, w));
            out.extend(webhook(&client, args, w).await?);
        }
    }

    // Instrumentations: absent when the CRD is (404), which the CRD line already says.
    let inst_ar = resource(
        "opentelemetry.io",
        "v1alpha1",
        "Instrumentation",
        "instrumentations",
    );
    let scope = args.namespace.as_deref();
    let in_scope = |v: &Value| scope.is_none_or(|n| v["metadata"]["namespace"] == n);
    let insts = match list(&client, None, &inst_ar).await {
        Ok(i) => i.unwrap_or_default(),
        // Without list everywhere, this namespace's at least.
        Err(_) if scope.is_some() => list(&client, scope, &inst_ar).await?.unwrap_or_default(),
        Err(e) => return Err(e),
    };
    // The Services their endpoints name, asked one by one (get, not list everywhere).
    let mut services = instrumentations::Services::new();
    for r in insts
        .iter()
        .filter(|v| in_scope(v))
        .flat_map(instrumentations::service_refs)
    {
        let key = (r.namespace.clone(), r.name.clone());
        if services.contains_key(&key) {
            continue;
        }
        let state = if Api::<Namespace>::all(client.clone())
            .get_opt(&r.namespace)
            .await
            .map_err(|e| unreadable("namespaces", e))?
            .is_none()
        {
            instrumentations::ServiceState::NamespaceMissing
        } else if Api::<Service>::namespaced(client.clone(), &r.namespace)
            .get_opt(&r.name)
            .await
            .map_err(|e| unreadable("services", e))?
            .is_none()
        {
            instrumentations::ServiceState::Missing
        } else {
            instrumentations::ServiceState::Exists
        };
        services.insert(key, state);
    }
    let mut typed = Vec::new();
    let mut judged = 0;
    for v in &insts {
        if in_scope(v) {
            judged += 1;
            out.extend(instrumentations::instrumentation(v, &services));
        }
        let mut objects = ClusterObjects::default();
        let ns = v["metadata"]["namespace"].as_str().unwrap_or_default();
        if objects.add(v, ns, "cluster", 0).is_ok() {
            typed.extend(objects.instrumentations.into_values());
        }
    }
    if judged == 0 {
        out.push(Finding::ok(
            "instrumentation",
            "no Instrumentation in the cluster (pods that ask for one are reported below)",
        ));
    }
    let typed: Vec<Arc<Instrumentation>> = typed;

    let mut namespaces = BTreeMap::new();
    let namespace_list = match scope {
        Some(name) => Api::<Namespace>::all(client.clone())
            .get_opt(name)
            .await
            .map_err(|e| unreadable("namespaces", e))?
            .map(serde_json::to_value)
            .transpose()?
            .into_iter()
            .collect(),
        None => list(
            &client,
            None,
            &resource("", "v1", "Namespace", "namespaces"),
        )
        .await?
        .unwrap_or_default(),
    };
    for n in namespace_list {
        let name = n["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let strings = |field: &str| -> BTreeMap<String, String> {
            n["metadata"][field]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default()
        };
        let info = NamespaceInfo {
            name: name.clone(),
            labels: strings("labels"),
            annotations: strings("annotations"),
        };
        namespaces.insert(name, info);
    }
    let mut workloads = Vec::new();
    for ar in [
        resource("apps", "v1", "Deployment", "deployments"),
        resource("apps", "v1", "StatefulSet", "statefulsets"),
        resource("apps", "v1", "DaemonSet", "daemonsets"),
        resource("apps", "v1", "ReplicaSet", "replicasets"),
        resource("batch", "v1", "Job", "jobs"),
        resource("", "v1", "Pod", "pods"),
    ] {
        workloads.extend(list(&client, scope, &ar).await?.unwrap_or_default());
    }
    // batch/v1 CronJob from Kubernetes 1.21; v1beta1 before.
    match list(
        &client,
        scope,
        &resource("batch", "v1", "CronJob", "cronjobs"),
    )
    .await?
    {
        Some(c) => workloads.extend(c),
        None => workloads.extend(
            list(
                &client,
                scope,
                &resource("batch", "v1beta1", "CronJob", "cronjobs"),
            )
            .await?
            .unwrap_or_default(),
        ),
    }
    out.extend(annotations::annotations(&namespaces, &typed, &workloads));
    Ok(out)
}

/// Endpoints, namespace exclusion and certificate of one webhook.
async fn webhook(
    client: &Client,
    args: &CheckArgs,
    w: &MutatingWebhook,
) -> anyhow::Result<Vec<Finding>> {
    let mut out = Vec::new();
    let bundle = w.client_config.ca_bundle.as_ref().map(|b| b.0.clone());
    let mut targets: Vec<(SocketAddr, String)> = Vec::new();
    let path;
    let own_ns = match (&args.webhook_namespace, &w.client_config.service) {
        (Some(ns), _) => ns.clone(),
        (None, Some(s)) => s.namespace.clone(),
        (None, None) => args.service.0.clone(),
    };
    if let Some(s) = &w.client_config.service {
        path = s.path.clone().unwrap_or_default();
        let svc = Api::<Service>::namespaced(client.clone(), &s.namespace)
            .get_opt(&s.name)
            .await
            .map_err(|e| unreadable("services", e))?;
        let eps = Api::<Endpoints>::namespaced(client.clone(), &s.namespace)
            .get_opt(&s.name)
            .await
            .map_err(|e| unreadable("endpoints", e))?;
        let (finding, ready) = install::service_endpoints(w, svc.as_ref(), eps.as_ref());
        out.push(finding);
        // The API server dials NAME.NAMESPACE.svc and verifies the certificate for that name.
        let dns = format!("{}.{}.svc", s.name, s.namespace);
        targets.extend(ready.into_iter().take(3).map(|a| (a, dns.clone())));
    } else if let Some(url) = &w.client_config.url {
        out.push(install::service_endpoints(w, None, None).0);
        let (host, port, p) = probe::split_url(url);
        path = p;
        let resolved = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map(|addrs| addrs.take(1).collect::<Vec<_>>());
        match resolved {
            Ok(addrs) => targets.extend(addrs.into_iter().map(|a| (a, host.clone()))),
            Err(e) => out.push(Finding::fail(
                "certificate",
                format!(
                    "webhook {}: its URL's host {host:?} does not resolve here ({e})",
                    w.name
                ),
                "fix clientConfig.url, or run check where the API server runs",
            )),
        }
    } else {
        path = String::new();
    }
    let own = Api::<Namespace>::all(client.clone())
        .get_opt(&own_ns)
        .await
        .map_err(|e| unreadable("namespaces", e))?;
    let labels = own.map(|n| n.metadata.labels.unwrap_or_default());
    out.push(install::namespace_exclusion(w, &own_ns, labels.as_ref()));

    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    for (addr, name) in targets {
        let mut p = probe::probe(
            addr,
            &name,
            &path,
            bundle.as_deref(),
            now,
            args.expiry_warning,
        )
        .await;
        p.target = addr.to_string();
        out.extend(certificate::certificate(
            &w.name,
            &p,
            bundle.as_deref(),
            now,
            args.expiry_warning,
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_parse() {
        assert_eq!(parse_service("a/b").unwrap(), ("a".into(), "b".into()));
        assert!(parse_service("ab").is_err());
    }
}
