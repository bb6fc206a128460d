//! The resource: what the environment says, completed by what can be detected (Kubernetes and
//! process facts) without ever overriding the environment. Detection inputs are gathered once
//! ([`Detected::from_process`]) so the merge itself ([`resource_attributes`]) is pure.

use otel_inject_lib::names::{attr, env};

use crate::config::EnvConfig;

/// Where Kubernetes mounts the pod's namespace.
pub const SERVICE_ACCOUNT_NAMESPACE_FILE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// Facts about the running process and its pod, gathered without the environment's
/// `OTEL_RESOURCE_ATTRIBUTES`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Detected {
    /// Content of the service-account namespace file, if readable.
    pub namespace_file: Option<String>,
    /// `HOSTNAME` (the pod name in Kubernetes).
    pub hostname: Option<String>,
    /// The host name the system reports (Linux: `/proc/sys/kernel/hostname`), for `host.name`.
    pub system_hostname: Option<String>,
    /// Whether `KUBERNETES_SERVICE_HOST` is set (we run in a pod).
    pub in_kubernetes: bool,
    /// `OTEL_RESOURCE_ATTRIBUTES_POD_NAME` (downward API).
    pub pod_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES_POD_UID`.
    pub pod_uid: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES_NODE_NAME`.
    pub node_name: Option<String>,
    /// The process id.
    pub pid: u32,
    /// Path of the executable.
    pub executable_path: Option<String>,
}

impl Detected {
    /// Gathers the facts through `lookup` (environment) and the file system.
    pub fn from_process(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        Self {
            namespace_file: std::fs::read_to_string(SERVICE_ACCOUNT_NAMESPACE_FILE)
                .ok()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty()),
            hostname: get("HOSTNAME"),
            system_hostname: system_hostname(),
            in_kubernetes: get("KUBERNETES_SERVICE_HOST").is_some(),
            pod_name: get(env::OTEL_RESOURCE_ATTRIBUTES_POD_NAME),
            pod_uid: get(env::OTEL_RESOURCE_ATTRIBUTES_POD_UID),
            node_name: get(env::OTEL_RESOURCE_ATTRIBUTES_NODE_NAME),
            pid: std::process::id(),
            executable_path: std::env::current_exe()
                .ok()
                .map(|p| p.to_string_lossy().into_owned()),
        }
    }

    fn host_name(&self) -> Option<String> {
        self.system_hostname
            .clone()
            .or_else(|| self.hostname.clone())
    }

    fn executable_name(&self) -> Option<String> {
        let path = self.executable_path.as_deref()?;
        std::path::Path::new(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    }
}

/// The final resource attributes, in a stable order. Precedence, lowest first: detected facts,
/// then code defaults and `OTEL_RESOURCE_ATTRIBUTES` (already merged in `config`), then
/// `OTEL_SERVICE_NAME`. `service.name` falls back to `unknown_service:<executable>`.
pub fn resource_attributes(config: &EnvConfig, detected: &Detected) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let set_if_absent = |out: &mut Vec<(String, String)>, k: &str, v: Option<String>| {
        if let Some(v) = v {
            if !out.iter().any(|(ek, _)| ek == k) {
                out.push((k.to_string(), v));
            }
        }
    };

    for (k, v) in &config.resource_attributes {
        out.retain(|(ek, _)| ek != k);
        out.push((k.clone(), v.clone()));
    }
    if let Some(name) = &config.service_name {
        out.retain(|(k, _)| k != attr::SERVICE_NAME);
        out.insert(0, (attr::SERVICE_NAME.to_string(), name.clone()));
    }
    let unknown = format!(
        "unknown_service:{}",
        detected.executable_name().unwrap_or_else(|| "rust".into())
    );
    set_if_absent(&mut out, attr::SERVICE_NAME, Some(unknown));

    let in_pod = detected.in_kubernetes || detected.namespace_file.is_some();
    set_if_absent(
        &mut out,
        attr::K8S_NAMESPACE_NAME,
        detected.namespace_file.clone(),
    );
    let pod_name = detected
        .pod_name
        .clone()
        .or_else(|| detected.hostname.clone().filter(|_| in_pod));
    set_if_absent(&mut out, attr::K8S_POD_NAME, pod_name);
    set_if_absent(&mut out, attr::K8S_POD_UID, detected.pod_uid.clone());
    set_if_absent(&mut out, attr::K8S_NODE_NAME, detected.node_name.clone());
    set_if_absent(&mut out, "host.name", detected.host_name());
    set_if_absent(&mut out, "process.pid", Some(detected.pid.to_string()));
    set_if_absent(
        &mut out,
        "process.executable.name",
        detected.executable_name(),
    );
    set_if_absent(
        &mut out,
        "process.executable.path",
        detected.executable_path.clone(),
    );
    set_if_absent(&mut out, "process.runtime.name", Some("rust".into()));
    set_if_absent(&mut out, "telemetry.sdk.name", Some("opentelemetry".into()));
    set_if_absent(&mut out, "telemetry.sdk.language", Some("rust".into()));
    set_if_absent(&mut out, "telemetry.sdk.version", Some(sdk_version()));
    set_if_absent(
        &mut out,
        "telemetry.distro.name",
        Some(env!("CARGO_PKG_NAME").into()),
    );
    set_if_absent(
        &mut out,
        "telemetry.distro.version",
        Some(env!("CARGO_PKG_VERSION").into()),
    );
    out
}

/// The host name as the kernel has it (what `gethostname` returns), without a shell-exported
/// `HOSTNAME`; `/etc/hostname` where `/proc` is not mounted.
fn system_hostname() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|f| std::fs::read_to_string(f).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// The version of the opentelemetry_sdk crate this binary was built with, as the SDK's own
/// telemetry detector reports it.
pub fn sdk_version() -> String {
    use opentelemetry_sdk::resource::ResourceDetector as _;
    opentelemetry_sdk::resource::TelemetryResourceDetector
        .detect()
        .get(&opentelemetry::Key::from_static_str(
            "telemetry.sdk.version",
        ))
        .map(|v| v.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Builds the SDK resource from the attributes; `process.pid` stays an integer.
pub fn to_resource(attrs: &[(String, String)]) -> opentelemetry_sdk::Resource {
    use opentelemetry::KeyValue;
    let kvs = attrs.iter().map(|(k, v)| {
        if k == "process.pid" {
            if let Ok(pid) = v.parse::<i64>() {
                return KeyValue::new(k.clone(), pid);
            }
        }
        KeyValue::new(k.clone(), v.clone())
    });
    opentelemetry_sdk::Resource::builder_empty()
        .with_attributes(kvs)
        .build()
}
