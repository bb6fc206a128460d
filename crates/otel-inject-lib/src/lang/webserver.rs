//! What Apache httpd and nginx share (the operator writes it twice, in `apachehttpd.go` and
//! `nginx.go`). Their module is not configured by env vars but by a file in the server's own
//! configuration directory, which only the app's image has. So, on the first target container:
//!
//! 1. an init container `otel-agent-source-container-clone` runs the app's image, with the
//!    app container's env, envFrom, mounts, pull policy and security context, and copies the
//!    configuration directory into an emptyDir;
//! 2. an init container `otel-agent-attach-<server>` runs the agent image: it copies the module
//!    into a second volume, writes the module's configuration (handed to it in one env var,
//!    with `<<SID-PLACEHOLDER>>` for the pod's name) and makes the server's main configuration
//!    file load it;
//! 3. the app container mounts the module and, over its configuration directory, the edited
//!    copy.
//!
//! Later target containers get the language block's env and the SDK configuration only, as
//! in the operator (its e2e `instrumentation-{apache,nginx}-multicontainer` asserts exactly
//! that). The init containers run our own shell (`*.sh` beside this file), which takes the
//! user's paths as positional arguments.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::Defaults;
use crate::env;
use crate::instrumentation::{EnvVar, Instrumentation};
use crate::json::{Field, JsonView};
use crate::names::{attr, env as envn};
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::{container, ContainerList, PodView};
use crate::resource_attributes::ResourceAttributes;

/// The clone of the app container that copies its configuration (both servers' name: a pod
/// gets one of the two servers, see `nginx.rs`).
pub const CLONE_CONTAINER: &str = "otel-agent-source-container-clone";
/// Where the agent init container and the app mount the module's volume.
pub const AGENT_DIR: &str = "/opt/opentelemetry-webserver/agent";
/// Where the clone and the agent init container mount the configuration copy.
pub const STAGED_CONF_DIR: &str = "/opt/opentelemetry-webserver/source-conf";
/// The module and its libraries inside the agent image.
pub const IMAGE_AGENT_DIR: &str = "/opt/opentelemetry";
/// What the service instance id is written as in the module's configuration; the agent init
/// container replaces it with the pod's name.
pub const INSTANCE_PLACEHOLDER: &str = "<<SID-PLACEHOLDER>>";
/// The exporter endpoint when the Instrumentation names none.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4317/";
/// The operator's default image for both servers (0.158.0: the webserver module 1.0.4, one
/// image for Apache httpd and nginx).
pub const DEFAULT_IMAGE: &str =
    "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-apache-httpd:1.0.4";

/// The operator's CR defaults for `spec.apacheHttpd` and `spec.nginx` (requests 1m/128Mi).
pub(crate) const DEFAULTS: Defaults = Defaults {
    image: DEFAULT_IMAGE,
    limits: ("500m", "256Mi"),
    requests: ("1m", "128Mi"),
};

/// Whether the working copy has no init container `name` yet (the operator's
/// `isApacheInitContainerMissing` / `isNginxInitContainerMissing`).
pub(crate) fn missing(b: &PatchBuilder, name: &str) -> bool {
    !b.container_names(ContainerList::Init).contains(&name)
}

/// Adds `volume` unless the pod has a volume of that name.
pub(crate) fn add_volume(b: &mut PatchBuilder, volume: Value) {
    let name = volume["name"].as_str().unwrap_or_default();
    if !b.volume_names().contains(&name) {
        b.push(&["spec", "volumes"], volume);
    }
}

/// The clone of app container `app` (as it is now): its image, env, envFrom, mounts (plus the
/// configuration copy's volume), pull policy; `command`/`args` copy the configuration. Probes,
/// lifecycle hooks, ports and resize policies are not copied (an init container may not have
/// them). Its security context is set in the pod step, with the agent init container's.
pub(crate) fn clone_container(
    app: &Value,
    conf_volume: &str,
    command: Vec<String>,
    args: Option<Vec<String>>,
    resources: Value,
) -> Value {
    let mut c = Map::new();
    c.insert("name".into(), json!(CLONE_CONTAINER));
    let image = container::image(app);
    if !image.is_empty() {
        c.insert("image".into(), json!(image));
    }
    c.insert("command".into(), json!(command));
    if let Some(args) = args {
        c.insert("args".into(), json!(args));
    }
    for key in ["envFrom", "env"] {
        if let Some(v) = app
            .get(key)
            .filter(|v| v.as_array().is_some_and(|a| !a.is_empty()))
        {
            c.insert(key.into(), v.clone());
        }
    }
    c.insert("resources".into(), resources);
    let mut mounts: Vec<Value> = app
        .field("volumeMounts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    mounts.push(json!({"name": conf_volume, "mountPath": STAGED_CONF_DIR}));
    c.insert("volumeMounts".into(), Value::Array(mounts));
    if let Some(p) = app
        .field("imagePullPolicy")
        .and_then(Value::as_str)
        .filter(|p| !p.is_empty())
    {
        c.insert("imagePullPolicy".into(), json!(p));
    }
    Value::Object(c)
}

/// The agent init container.
pub(crate) struct AttachContainer<'a> {
    pub name: &'static str,
    pub image: &'a str,
    pub script: &'static str,
    /// The script's one argument, `$1`.
    pub arg: String,
    pub env: Vec<Value>,
    pub resources: Value,
    pub agent_volume: &'static str,
    pub conf_volume: &'static str,
    pub pull_policy: Option<&'a str>,
}

impl AttachContainer<'_> {
    /// The container (its security context is added by `with_security_context`).
    pub fn build(self) -> Value {
        let mut c = json!({
            "name": self.name,
            "image": self.image,
            "command": ["/bin/sh", "-c"],
            // `sh -c SCRIPT -- ARG`: the user's path is `$1`, never part of the script's text.
            "args": [self.script, "--", self.arg],
            "env": self.env,
            "resources": self.resources,
            "volumeMounts": [
                {"name": self.agent_volume, "mountPath": AGENT_DIR},
                {"name": self.conf_volume, "mountPath": STAGED_CONF_DIR},
            ],
        });
        if let (Some(obj), Some(p)) = (
            c.as_object_mut(),
            self.pull_policy.filter(|p| !p.is_empty()),
        ) {
            obj.insert("imagePullPolicy".into(), json!(p));
        }
        c
    }
}

/// The agent init container's env (the operator's `initContainerUserEnv`): the language
/// block's env as written, then `spec.env` and `OTEL_POD_IP`, `OTEL_NODE_IP` where not set
/// yet, then the module's configuration and the pod's name. So a `$(VAR)` in the
/// configuration (an endpoint `http://$(OTEL_NODE_IP):4317`) is expanded by the kubelet.
pub(crate) fn attach_env(
    block_env: &[EnvVar],
    inst: &Instrumentation,
    conf_var: &str,
    conf: String,
    instance_var: &str,
) -> Vec<Value> {
    let mut out: Vec<Value> = block_env.iter().map(EnvVar::to_json).collect();
    let defaults = [
        env::field_ref(envn::OTEL_POD_IP, "status.podIP").into_json(),
        env::field_ref(envn::OTEL_NODE_IP, "status.hostIP").into_json(),
    ];
    for var in inst.spec.env.iter().map(EnvVar::to_json).chain(defaults) {
        if !out.iter().any(|e| e["name"] == var["name"]) {
            out.push(var);
        }
    }
    out.push(env::literal(conf_var, conf).into_json());
    out.push(env::field_ref(instance_var, "metadata.name").into_json());
    out
}

/// Mounts the module and the configuration copy on app container `c`, first dropping every
/// mount at or under `conf_dir` (the clone kept them, so the copy has what they held; left
/// on the app, they would hide the edited files).
pub(crate) fn mount_on_app(
    b: &mut PatchBuilder,
    c: ContainerRef,
    agent_volume: &str,
    conf_volume: &str,
    conf_dir: &str,
) {
    let mounts: Vec<Value> = match b
        .container(c)
        .member("volumeMounts")
        .map(JsonView::to_value)
    {
        Some(Value::Array(mounts)) => mounts,
        _ => Vec::new(),
    };
    let kept: Vec<Value> = mounts
        .iter()
        .filter(|m| !at_or_under(m["mountPath"].as_str().unwrap_or_default(), conf_dir))
        .cloned()
        .collect();
    if kept.len() != mounts.len() {
        let idx = c.index.to_string();
        b.set_member(
            &["spec", c.list.key(), &idx],
            "volumeMounts",
            Value::Array(kept),
        );
    }
    super::mount(b, c, agent_volume, AGENT_DIR);
    super::mount(b, c, conf_volume, conf_dir);
}

/// Whether mount path `path` is `dir` or below it.
pub fn at_or_under(path: &str, dir: &str) -> bool {
    let path = path.trim_end_matches('/');
    let dir = dir.trim_end_matches('/');
    !dir.is_empty()
        && (path == dir
            || path
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/')))
}

/// `container` with `securityContext` set to `sc` (or without one when there is none).
pub(crate) fn with_security_context(mut container: Value, sc: Option<Value>) -> Value {
    if let Some(obj) = container.as_object_mut() {
        match sc {
            Some(sc) => {
                obj.insert("securityContext".into(), sc);
            }
            None => {
                obj.remove("securityContext");
            }
        }
    }
    container
}

/// `service.namespace` in the module's configuration: the pod's own `metadata.namespace`,
/// else the namespace the attributes name, else `fallback` (the operator's; it reads neither
/// the `resource.opentelemetry.io/service.namespace` annotation nor labels here).
pub fn service_namespace(pod: &PodView<'_>, res: &ResourceAttributes, fallback: &str) -> String {
    pod.raw()["metadata"]["namespace"]
        .as_str()
        .filter(|n| !n.is_empty())
        .or_else(|| res.non_empty(attr::K8S_NAMESPACE_NAME))
        .unwrap_or(fallback)
        .to_string()
}

/// The exporter endpoint for the module: `spec.exporter.endpoint`, else the operator's
/// default.
pub fn endpoint(inst: &Instrumentation) -> &str {
    inst.spec.endpoint().unwrap_or(DEFAULT_ENDPOINT)
}

/// The module's attributes: `defaults`, then `spec.<server>.attrs` by name over them (the
/// last of a name wins; a `valueFrom` counts as empty), in key order as the operator writes
/// them.
pub fn attributes<'a>(
    defaults: impl IntoIterator<Item = (&'a str, String)>,
    attrs: &[EnvVar],
) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = defaults
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    for a in attrs {
        let value = a.rest.str_field("value").unwrap_or("");
        map.insert(a.name.clone(), value.to_string());
    }
    map
}

/// Why `dir` (from `configPath` or `configFile`) cannot be the configuration directory: the
/// mount over it would make the pod invalid.
pub fn unusable_conf_dir(dir: &str) -> Option<String> {
    if !dir.starts_with('/') || dir.trim_end_matches('/').is_empty() {
        Some(format!(
            "the configuration directory would be \"{dir}\", which cannot be mounted over"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_paths_at_or_under_the_config_dir() {
        for (path, dir, want) in [
            ("/etc/nginx", "/etc/nginx", true),
            ("/etc/nginx/", "/etc/nginx", true),
            ("/etc/nginx/nginx.conf", "/etc/nginx", true),
            ("/etc/nginx/conf.d", "/etc/nginx/", true),
            // The operator's substring test would drop these.
            ("/etc/nginx-cache", "/etc/nginx", false),
            ("/var/etc/nginx", "/etc/nginx", false),
            (
                "/usr/local/apache2/conf.d",
                "/usr/local/apache2/conf",
                false,
            ),
            ("/etc", "/etc/nginx", false),
            ("/etc/nginx", "", false),
        ] {
            assert_eq!(at_or_under(path, dir), want, "{path} under {dir}");
        }
    }

    #[test]
    fn attributes_override_defaults_by_name_in_key_order() {
        let attrs = vec![
            EnvVar::literal("B", "2"),
            EnvVar::literal("A", "x"),
            EnvVar::literal("A", "y"),
            serde_json::from_value(
                json!({"name": "C", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}),
            )
            .expect("env var"),
        ];
        let map = attributes([("A", "1".to_string()), ("Z", "z".to_string())], &attrs);
        assert_eq!(
            map.into_iter().collect::<Vec<_>>(),
            [
                ("A".to_string(), "y".to_string()),
                ("B".into(), "2".into()),
                ("C".into(), "".into()),
                ("Z".into(), "z".into())
            ]
        );
    }

    /// The operator's `TestInitContainerUserEnv` (helper_test.go), case by case.
    #[test]
    fn attach_env_is_the_operators_init_container_user_env() {
        let lit = |n: &str, v: &str| EnvVar::literal(n, v);
        let node_ip = |v: &str| lit("OTEL_NODE_IP", v);
        // (case, language env, common env, names wanted, the first entry's value)
        type Case<'a> = (
            &'a str,
            Vec<EnvVar>,
            Vec<EnvVar>,
            Vec<&'a str>,
            Option<&'a str>,
        );
        let cases: Vec<Case<'_>> = vec![
            (
                "with no user env returns pod/node defaults plus required",
                vec![],
                vec![],
                vec!["OTEL_POD_IP", "OTEL_NODE_IP", "CONF", "SID"],
                None,
            ),
            (
                "places language and common env before required for kubelet expansion",
                vec![lit("OTEL_SERVICE_NAME", "apache")],
                vec![
                    lit("CUSTOM_ENDPOINT", "http://collector:4317"),
                    serde_json::from_value(json!({"name": "OTEL_NODE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}})).expect("env"),
                ],
                vec!["OTEL_SERVICE_NAME", "CUSTOM_ENDPOINT", "OTEL_NODE_IP", "OTEL_POD_IP", "CONF", "SID"],
                None,
            ),
            (
                "does not duplicate env already set by language spec",
                vec![lit("SHARED", "from-language")],
                vec![lit("SHARED", "from-common")],
                vec!["SHARED", "OTEL_POD_IP", "OTEL_NODE_IP", "CONF", "SID"],
                Some("from-language"),
            ),
            (
                "common env overriding an operator-managed default wins over the default",
                vec![],
                vec![node_ip("203.0.113.5")],
                vec!["OTEL_NODE_IP", "OTEL_POD_IP", "CONF", "SID"],
                Some("203.0.113.5"),
            ),
            (
                "language env overriding an operator-managed default wins over common env and the default",
                vec![node_ip("198.51.100.9")],
                vec![node_ip("203.0.113.5")],
                vec!["OTEL_NODE_IP", "OTEL_POD_IP", "CONF", "SID"],
                Some("198.51.100.9"),
            ),
        ];
        for (name, language, common, want, first_value) in cases {
            let inst: Instrumentation = serde_json::from_value(json!({
                "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
                "metadata": {"name": "i"}, "spec": {"env": common}
            }))
            .expect("Instrumentation");
            let env = attach_env(
                &language,
                &inst,
                "CONF",
                "endpoint $(CUSTOM_ENDPOINT)".into(),
                "SID",
            );
            let names: Vec<&str> = env
                .iter()
                .map(|e| e["name"].as_str().unwrap_or(""))
                .collect();
            assert_eq!(names, want, "{name}");
            if let Some(v) = first_value {
                assert_eq!(env[0]["value"], v, "{name}");
            }
            assert_eq!(env[env.len() - 2]["value"], "endpoint $(CUSTOM_ENDPOINT)");
            assert_eq!(
                env[env.len() - 1]["valueFrom"]["fieldRef"]["fieldPath"],
                "metadata.name"
            );
        }
    }

    #[test]
    fn unusable_conf_dirs() {
        assert_eq!(unusable_conf_dir("/etc/nginx"), None);
        assert!(unusable_conf_dir("/").is_some());
        assert!(unusable_conf_dir("").is_some());
        assert!(unusable_conf_dir(".").is_some());
        assert!(unusable_conf_dir("conf").is_some());
    }
}
