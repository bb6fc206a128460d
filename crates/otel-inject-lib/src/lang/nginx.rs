//! nginx: the OpenTelemetry webserver module, loaded by a `load_module` line put at the top of
//! the main configuration file and configured by `conf.d/opentelemetry_agent.conf`
//! (`NginxModule*` directives). The operator's `nginx.go`: a clone of the first target
//! container copies the directory of `spec.nginx.configFile` (default `/etc/nginx/nginx.conf`)
//! and records `nginx -v` (the module is built per nginx version), the agent init container
//! edits the copy, and the app mounts the module and the copy, and gets the module's
//! libraries on `LD_LIBRARY_PATH`. See [`super::webserver`] for the shared part.
//!
//! Regular containers only; not in a pod that Apache httpd was injected into (both need the
//! one `otel-agent-source-container-clone`).

use serde_json::{json, Value};

use super::webserver::{self, CLONE_CONTAINER, DEFAULTS, INSTANCE_PLACEHOLDER};
use super::{LangCx, Unit};
use crate::annotations::Language;
use crate::decision::Reason;
use crate::instrumentation::{AgentBlock, Instrumentation, Nginx as NginxBlock};
use crate::json::JsonView;
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::{container, ContainerList};

/// The agent init container.
pub const ATTACH_CONTAINER: &str = "otel-agent-attach-nginx";
/// The clone of the app container.
pub const CLONE: &str = CLONE_CONTAINER;
/// The module's volume.
pub const AGENT_VOLUME: &str = "otel-nginx-agent";
/// The configuration copy's volume.
pub const CONFIG_VOLUME: &str = "otel-nginx-conf-dir";
/// Where the module is, in the agent init container and the app.
pub const AGENT_DIR: &str = webserver::AGENT_DIR;
/// The main configuration file when `spec.nginx.configFile` is empty.
pub const DEFAULT_CONFIG_FILE: &str = "/etc/nginx/nginx.conf";
/// The module's configuration, handed to the agent init container.
pub const OTEL_NGINX_AGENT_CONF: &str = "OTEL_NGINX_AGENT_CONF";
/// The pod's name, for the module's service instance id.
pub const OTEL_NGINX_SERVICE_INSTANCE_ID: &str = "OTEL_NGINX_SERVICE_INSTANCE_ID";
/// The app's library path, which gets the module's libraries.
pub const LD_LIBRARY_PATH: &str = "LD_LIBRARY_PATH";
/// The module's libraries, added to `LD_LIBRARY_PATH`.
pub const LIBRARY_DIR: &str = "/opt/opentelemetry-webserver/agent/sdk_lib/lib";
/// `service.namespace` when neither the pod nor the attributes name a namespace.
pub const FALLBACK_NAMESPACE: &str = "nginx";
/// The default image (operator 0.158.0: the webserver module 1.0.4, the Apache httpd image).
pub const DEFAULT_IMAGE: &str = webserver::DEFAULT_IMAGE;
/// The clone's script (`sh -c SCRIPT -- <configuration directory>`).
pub const CLONE_SCRIPT: &str = include_str!("nginx_clone.sh");
/// The agent init container's script (`sh -c SCRIPT -- <main file name>`).
pub const ATTACH_SCRIPT: &str = include_str!("nginx.sh");

/// The init containers' resources when the CR gives none (the operator's CR defaults).
pub fn default_resources() -> Value {
    DEFAULTS.resources(&super::EMPTY_BLOCK)
}

/// The nginx unit.
pub(crate) struct Nginx;

static EMPTY: NginxBlock = NginxBlock {
    image: None,
    volume_claim_template: None,
    volume_limit_size: None,
    env: Vec::new(),
    attrs: Vec::new(),
    config_file: None,
    resource_requirements: None,
};

fn block(inst: &Instrumentation) -> &NginxBlock {
    inst.spec.nginx.as_ref().unwrap_or(&EMPTY)
}

fn config_file(block: &NginxBlock) -> &str {
    block
        .config_file
        .as_deref()
        .filter(|f| !f.is_empty())
        .unwrap_or(DEFAULT_CONFIG_FILE)
}

/// Go's `path.Clean` (the operator's `filepath.Dir` and `filepath.Base` go through it).
fn go_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if rooted => {}
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// The configuration directory: Go's `filepath.Dir` of the main file (the operator's
/// `getNginxConfDir`).
pub fn config_dir(config_file: &str) -> String {
    match config_file.rfind('/') {
        Some(i) => go_clean(&config_file[..=i]),
        None => ".".to_string(),
    }
}

/// The main file's name: Go's `filepath.Base` (the operator's `getNginxConfFile`).
pub fn config_file_name(config_file: &str) -> String {
    if config_file.is_empty() {
        return ".".to_string();
    }
    let trimmed = config_file.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".to_string();
    }
    match trimmed.rfind('/') {
        Some(i) => trimmed[i + 1..].to_string(),
        None => trimmed.to_string(),
    }
}

/// The module's configuration, as the operator's `getNginxOtelConfig` writes it: one
/// `Name value;` line per attribute in key order, `spec.nginx.attrs` over the defaults.
pub fn agent_configuration(
    block: &NginxBlock,
    endpoint: &str,
    service_name: &str,
    service_namespace: &str,
) -> String {
    let defaults = [
        ("NginxModuleEnabled", "ON".to_string()),
        ("NginxModuleOtelSpanExporter", "otlp".into()),
        ("NginxModuleOtelExporterEndpoint", endpoint.into()),
        ("NginxModuleServiceName", service_name.into()),
        ("NginxModuleServiceNamespace", service_namespace.into()),
        ("NginxModuleServiceInstanceId", INSTANCE_PLACEHOLDER.into()),
        ("NginxModuleResolveBackends", "ON".into()),
        ("NginxModuleTraceAsError", "ON".into()),
    ];
    webserver::attributes(defaults, &block.attrs)
        .into_iter()
        .map(|(k, v)| format!("{k} {v};\n"))
        .collect()
}

fn unmet(label: &'static str, message: String) -> Option<Reason> {
    Some(Reason::RequirementUnmet { label, message })
}

impl Unit for Nginx {
    fn language(&self) -> Language {
        Language::Nginx
    }

    fn validate(&self, c: &Value, list: ContainerList, cx: &LangCx<'_>) -> Option<Reason> {
        if list == ContainerList::Init {
            return unmet(
                "init_container_unsupported",
                "the nginx module is loaded by the server in a regular container; an init container cannot be instrumented (name a regular container in inject-nginx-container-names)".into(),
            );
        }
        // The operator's "already instrumented" list has Apache's agent init container but
        // not nginx's: with this one alone it adds the clone and mounts a module volume it
        // never adds (an invalid pod). Here it counts as instrumented.
        if cx
            .pod
            .container_names(ContainerList::Init)
            .contains(&ATTACH_CONTAINER)
        {
            return Some(Reason::ContainerAlreadyInjected(ATTACH_CONTAINER.into()));
        }
        if cx.before.contains(&Language::ApacheHttpd) {
            return unmet(
                "shared_init_container",
                format!(
                    "Apache httpd was injected into this pod, and nginx would need the same {CLONE} init container for its own configuration (the pod would be invalid); instrument Apache httpd and nginx in separate pods"
                ),
            );
        }
        let dir = config_dir(config_file(block(cx.inst)));
        if let Some(why) = webserver::unusable_conf_dir(&dir) {
            return unmet(
                "config_location_unusable",
                format!("{why}; set spec.nginx.configFile to the absolute path of nginx.conf"),
            );
        }
        // Extended in place below; a `valueFrom` cannot be, and the operator's value beside
        // it makes the API server refuse the pod.
        super::value_from(c, &[LD_LIBRARY_PATH])
    }

    fn container_env_and_mount(&self, b: &mut PatchBuilder, c: ContainerRef, cx: &LangCx<'_>) {
        let block = block(cx.inst);
        // The operator computes the description before it adds the block's env.
        let desc = cx.describe(b.container(c));
        super::append_block_env(b, c, block.env());
        let file = config_file(block);
        let dir = config_dir(file);
        let resources = DEFAULTS.resources(block);
        // Both init containers get the first target's context, hardened like every agent
        // copy's, written with them (not patched in afterwards): the clone runs the app's
        // image as the app's user, and the agent init container must run as the same user to
        // rewrite what the clone copied (the scripts rename new files over the copies, so no
        // capability is needed even when the two users differ).
        let sc = cx.init_security_context(container::name(b.container(c)));
        if webserver::missing(b, CLONE) {
            webserver::add_volume(b, json!({"name": CONFIG_VOLUME, "emptyDir": {}}));
            let clone = webserver::clone_container(
                &b.container(c).to_value(),
                CONFIG_VOLUME,
                vec!["/bin/sh".into(), "-c".into()],
                Some(vec![CLONE_SCRIPT.into(), "--".into(), dir.clone()]),
                resources.clone(),
            );
            b.push(
                &["spec", "initContainers"],
                webserver::with_security_context(clone, sc.clone()),
            );
            webserver::mount_on_app(b, c, AGENT_VOLUME, CONFIG_VOLUME, &dir);
        }
        if webserver::missing(b, ATTACH_CONTAINER) {
            // The operator gives nginx plain emptyDirs (no size limit, no claim template).
            webserver::add_volume(b, json!({"name": AGENT_VOLUME, "emptyDir": {}}));
            let namespace =
                webserver::service_namespace(&cx.pod, &desc.resource, FALLBACK_NAMESPACE);
            let conf = agent_configuration(
                block,
                webserver::endpoint(cx.inst),
                &desc.service_name,
                &namespace,
            );
            let attach = webserver::AttachContainer {
                name: ATTACH_CONTAINER,
                image: DEFAULTS.image(block),
                script: ATTACH_SCRIPT,
                arg: config_file_name(file),
                env: webserver::attach_env(
                    block.env(),
                    cx.inst,
                    OTEL_NGINX_AGENT_CONF,
                    conf,
                    OTEL_NGINX_SERVICE_INSTANCE_ID,
                ),
                resources,
                agent_volume: AGENT_VOLUME,
                conf_volume: CONFIG_VOLUME,
                pull_policy: super::pull_policy(cx.inst),
            }
            .build();
            b.push(
                &["spec", "initContainers"],
                webserver::with_security_context(attach, sc.clone()),
            );
            // Validation skipped a container whose LD_LIBRARY_PATH comes from valueFrom.
            super::append_to_value(b, c, LD_LIBRARY_PATH, ":", LIBRARY_DIR);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{inst, with_cx};
    use super::*;

    #[test]
    fn defaults_are_the_operators() {
        let i = inst(json!({}));
        assert_eq!(DEFAULTS.image(block(&i)), DEFAULT_IMAGE);
        assert_eq!(
            DEFAULTS.resources(block(&i)),
            json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "1m", "memory": "128Mi"}})
        );
        assert_eq!(config_file(block(&i)), "/etc/nginx/nginx.conf");
        let i = inst(json!({"nginx": {"configFile": ""}}));
        assert_eq!(config_file(block(&i)), "/etc/nginx/nginx.conf");
    }

    /// What Go's `filepath.Dir` and `filepath.Base` return (checked against Go 1.26).
    #[test]
    fn config_dir_and_file_name_are_gos() {
        for (file, dir, base) in [
            ("/etc/nginx/nginx.conf", "/etc/nginx", "nginx.conf"),
            (
                "/opt/nginx/custom-nginx.conf",
                "/opt/nginx",
                "custom-nginx.conf",
            ),
            (
                "/etc/nginx/conf.d/default.conf",
                "/etc/nginx/conf.d",
                "default.conf",
            ),
            ("/etc//nginx/./nginx.conf", "/etc/nginx", "nginx.conf"),
            ("/etc/nginx/../nginx/nginx.conf", "/etc/nginx", "nginx.conf"),
            ("/etc/nginx/", "/etc/nginx", "nginx"),
            ("/nginx.conf", "/", "nginx.conf"),
            ("nginx.conf", ".", "nginx.conf"),
            ("conf/nginx.conf", "conf", "nginx.conf"),
            ("../a/b.conf", "../a", "b.conf"),
            ("/../a.conf", "/", "a.conf"),
            ("/", "/", "/"),
        ] {
            assert_eq!(config_dir(file), dir, "Dir({file})");
            assert_eq!(config_file_name(file), base, "Base({file})");
        }
    }

    #[test]
    fn agent_configuration_is_the_operators() {
        // nginx_test.go, "Clone Container not present".
        let b: NginxBlock = serde_json::from_value(
            json!({"attrs": [{"name": "NginxModuleOtelMaxQueueSize", "value": "4096"}]}),
        )
        .expect("block");
        assert_eq!(
            agent_configuration(&b, "http://otlp-endpoint:4317", "nginx-service-name", "req-namespace"),
            "NginxModuleEnabled ON;\nNginxModuleOtelExporterEndpoint http://otlp-endpoint:4317;\nNginxModuleOtelMaxQueueSize 4096;\nNginxModuleOtelSpanExporter otlp;\nNginxModuleResolveBackends ON;\nNginxModuleServiceInstanceId <<SID-PLACEHOLDER>>;\nNginxModuleServiceName nginx-service-name;\nNginxModuleServiceNamespace req-namespace;\nNginxModuleTraceAsError ON;\n"
        );
        let b: NginxBlock = serde_json::from_value(
            json!({"attrs": [{"name": "NginxModuleEnabled", "value": "OFF"}]}),
        )
        .expect("block");
        assert!(agent_configuration(&b, "e", "s", "n").starts_with("NginxModuleEnabled OFF;\n"));
    }

    #[test]
    fn validation() {
        let label = |spec: serde_json::Value, c: serde_json::Value, list: ContainerList| {
            let i = inst(spec);
            let pod = json!({"spec": {"containers": [c.clone()]}});
            with_cx(&i, "", &pod, |cx| {
                Nginx.validate(&c, list, cx).map(|r| r.label().to_string())
            })
        };
        let app = json!({"name": "app"});
        assert_eq!(label(json!({}), app.clone(), ContainerList::Regular), None);
        assert_eq!(
            label(json!({}), app.clone(), ContainerList::Init).as_deref(),
            Some("init_container_unsupported")
        );
        assert_eq!(
            label(
                json!({"nginx": {"configFile": "nginx.conf"}}),
                app.clone(),
                ContainerList::Regular
            )
            .as_deref(),
            Some("config_location_unusable")
        );
        let from = json!({"name": "app", "env": [{"name": "LD_LIBRARY_PATH", "valueFrom": {"configMapKeyRef": {"name": "c", "key": "k"}}}]});
        assert_eq!(
            label(json!({}), from, ContainerList::Regular).as_deref(),
            Some("env_value_from")
        );
        let plain = json!({"name": "app", "env": [{"name": "LD_LIBRARY_PATH", "value": "/opt"}]});
        assert_eq!(label(json!({}), plain, ContainerList::Regular), None);
    }
}
