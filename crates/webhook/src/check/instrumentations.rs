//! Every Instrumentation in the cluster, read as the webhook reads it (the same reader as
//! `otel-inject validate`): fields it does not know, also those the API server already dropped
//! (seen in `kubectl apply`'s last-applied configuration), and exporter endpoints whose host
//! name no resolver can look up. Pure: the objects come in as JSON.

use std::collections::BTreeMap;

use serde_json::Value;

use super::finding::Finding;
use crate::cluster::fields::unknown_fields;
use crate::cluster::ClusterObjects;

const C: &str = "instrumentation";
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The Service an exporter host names in the cluster's DNS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRef {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// `NAME.NAMESPACE.svc[.DOMAIN]`: surely a Service. `NAME.NAMESPACE` may be an outside
    /// host too, and is judged only when that namespace exists.
    pub sure: bool,
}

/// Whether a referenced Service exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceState {
    /// It does.
    Exists,
    /// Its namespace exists, the Service does not.
    Missing,
    /// Not even its namespace.
    NamespaceMissing,
}

/// The Services the cluster was asked about, by (namespace, name).
pub type Services = BTreeMap<(String, String), ServiceState>;

/// The Service `host` names, if it looks like one (`a.b`, `a.b.svc`, `a.b.svc.cluster.local`).
pub fn service_reference(host: &str) -> Option<ServiceRef> {
    let host = host.strip_suffix('.').unwrap_or(host).to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    match labels.as_slice() {
        [name, namespace] => Some((name, namespace, false)),
        [name, namespace, "svc", ..] => Some((name, namespace, true)),
        _ => None,
    }
    .map(|(name, namespace, sure)| ServiceRef {
        namespace: namespace.to_string(),
        name: name.to_string(),
        sure,
    })
}

/// The Services the exporter endpoints of `value` (an Instrumentation) name.
pub fn service_refs(value: &Value) -> Vec<ServiceRef> {
    endpoints(&value["spec"])
        .iter()
        .filter_map(|(_, e)| endpoint_host(e).ok())
        .filter_map(|h| service_reference(&h))
        .collect()
}

/// The findings for one Instrumentation as the API server returned it; `services` says which
/// of the Services its endpoints name exist (those not in it are not judged).
pub fn instrumentation(value: &Value, services: &Services) -> Vec<Finding> {
    let namespace = value["metadata"]["namespace"].as_str().unwrap_or_default();
    let name = value["metadata"]["name"].as_str().unwrap_or_default();
    let id = format!("Instrumentation {namespace}/{name}");
    let mut out = Vec::new();
    let mut objects = ClusterObjects::default();
    if let Err(e) = objects.add(value, namespace, "cluster", 0) {
        out.push(Finding::fail(
            C,
            format!(
                "{id} cannot be read: {}: pods that ask for it are not injected",
                e.message
                    .strip_prefix(&format!("{id}: "))
                    .unwrap_or(&e.message)
            ),
            format!("kubectl -n {namespace} edit instrumentation {name}"),
        ));
    }
    let stored: Vec<String> = unknown_fields(value);
    for field in &stored {
        out.push(Finding::fail(
            C,
            format!("{id}: {field}"),
            format!("kubectl -n {namespace} edit instrumentation {name} and correct the field"),
        ));
    }
    // What the user wrote: the API server prunes fields its schema does not know, so a typo is
    // gone from the stored object; kubectl apply keeps what was sent in an annotation.
    if let Some(applied) = value["metadata"]["annotations"][LAST_APPLIED]
        .as_str()
        .and_then(|a| serde_json::from_str::<Value>(a).ok())
        .filter(|a| a["kind"] == "Instrumentation")
    {
        for field in unknown_fields(&applied) {
            if stored.contains(&field) {
                continue;
            }
            out.push(Finding::fail(
                C,
                format!("{id}: {field} (in what kubectl last applied: the API server dropped it)"),
                "correct the field name in the manifest and apply it again",
            ));
        }
    }
    for (at, endpoint) in endpoints(&value["spec"]) {
        let host = match endpoint_host(&endpoint) {
            Ok(h) => h,
            Err(why) => {
                out.push(Finding::fail(
                    C,
                    format!("{id}: {at} {endpoint:?}: {why}: the agents cannot export"),
                    format!("kubectl -n {namespace} edit instrumentation {name}: use the collector's Service name, e.g. http://otel-collector.observability:4318"),
                ));
                continue;
            }
        };
        let Some(svc) = service_reference(&host) else {
            continue;
        };
        let state = services.get(&(svc.namespace.clone(), svc.name.clone()));
        let missing = match state {
            Some(ServiceState::Missing) => {
                format!("namespace {} has no Service {}", svc.namespace, svc.name)
            }
            Some(ServiceState::NamespaceMissing) if svc.sure => {
                format!("there is no namespace {}", svc.namespace)
            }
            _ => continue,
        };
        out.push(Finding::warn(
            C,
            format!("{id}: {at} {endpoint:?} names Service {}/{}, but {missing}: the agents cannot export until it exists", svc.namespace, svc.name),
            format!("deploy the collector there, or correct the endpoint (kubectl -n {namespace} edit instrumentation {name})"),
        ));
    }
    if out.is_empty() {
        let endpoint = value["spec"]["exporter"]["endpoint"]
            .as_str()
            .map(|e| format!(" (exporter {e})"))
            .unwrap_or_default();
        out.push(Finding::ok(C, format!("{id} is valid{endpoint}")));
    }
    out
}

/// `(where, value)` of every literal exporter endpoint: `spec.exporter.endpoint` and the
/// `OTEL_EXPORTER_*_ENDPOINT` variables of `spec.env` and of each language's `env`.
fn endpoints(spec: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(e) = spec["exporter"]["endpoint"].as_str() {
        out.push(("spec.exporter.endpoint".to_string(), e.to_string()));
    }
    let env_lists = std::iter::once(("spec.env".to_string(), &spec["env"])).chain(
        spec.as_object()
            .into_iter()
            .flatten()
            .filter(|(_, v)| v["env"].is_array())
            .map(|(k, v)| (format!("spec.{k}.env"), &v["env"])),
    );
    for (at, list) in env_lists {
        for var in list.as_array().into_iter().flatten() {
            let name = var["name"].as_str().unwrap_or_default();
            if name.starts_with("OTEL_EXPORTER_") && name.ends_with("_ENDPOINT") {
                if let Some(v) = var["value"].as_str() {
                    out.push((format!("{at} {name}"), v.to_string()));
                }
            }
        }
    }
    // `$(VAR)` is expanded by the kubelet: nothing to judge before then.
    out.retain(|(_, v)| !v.contains("$("));
    out
}

/// The host of an OTLP endpoint URL, when it could be looked up: an IP address or a host name
/// of valid DNS syntax (RFC 1123 labels).
pub fn endpoint_host(endpoint: &str) -> Result<String, String> {
    let e = endpoint.trim();
    if e.is_empty() {
        return Err("the endpoint is empty".into());
    }
    let rest = match e.split_once("://") {
        Some(("http" | "https", rest)) => rest,
        Some((scheme, _)) => {
            return Err(format!("scheme {scheme:?} is not http or https"));
        }
        None => {
            return Err(
                "it has no scheme: the OTLP exporters expect http://host:port or https://host:port"
                    .into(),
            );
        }
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = authority.strip_prefix('[') {
        let Some((addr, _)) = v6.split_once(']') else {
            return Err("an IPv6 address without its closing `]`".into());
        };
        return addr
            .parse::<std::net::Ipv6Addr>()
            .map(|_| addr.to_string())
            .map_err(|_| format!("{addr:?} is not an IPv6 address"));
    } else {
        match authority.rsplit_once(':') {
            Some((h, port)) => {
                if port.parse::<u16>().is_err() {
                    return Err(format!("port {port:?} is not a number from 0 to 65535"));
                }
                h
            }
            None => authority,
        }
    };
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        return Ok(host.to_string());
    }
    dns_name(host).map(|()| host.to_string())
}

fn dns_name(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("it has no host".into());
    }
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.len() > 253 {
        return Err(format!("host {host:?} is longer than 253 characters"));
    }
    for label in name.split('.') {
        if label.is_empty() {
            return Err(format!("host {host:?} has an empty label"));
        }
        if label.len() > 63 {
            return Err(format!(
                "host {host:?} has a label longer than 63 characters"
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Err(format!(
                "host {host:?} is not a valid DNS name ({c:?} is not allowed; letters, digits and `-` only)"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "host {host:?} is not a valid DNS name (a label starts or ends with `-`)"
            ));
        }
    }
    // All-numeric with dots but not an IPv4 address (e.g. 10.0.0.300): no resolver takes it.
    if name
        .rsplit('.')
        .next()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
        && name.contains('.')
    {
        return Err(format!(
            "host {host:?} is neither an IPv4 address nor a DNS name"
        ));
    }
    Ok(())
}
