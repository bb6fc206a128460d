//! Apache httpd: the OpenTelemetry webserver module loaded by `httpd.conf`, configured by a
//! file of `ApacheModule*` directives. The operator's `apachehttpd.go`: a clone of the first
//! target container copies its configuration directory (`spec.apacheHttpd.configPath`,
//! default `/usr/local/apache2/conf`, the official httpd image's), the agent init container
//! adds `opentemetry_agent.conf` (the operator's spelling) and an `Include` of it, and the app
//! mounts the module and the edited copy. See [`super::webserver`] for the shared part.
//!
//! Regular containers only: an init container target is skipped with the reason.

use serde_json::{json, Value};

use super::webserver::{self, CLONE_CONTAINER, DEFAULTS, INSTANCE_PLACEHOLDER};
use super::{LangCx, Unit};
use crate::annotations::Language;
use crate::decision::Reason;
use crate::instrumentation::{AgentBlock, ApacheHttpd as ApacheBlock, Instrumentation};
use crate::json::JsonView;
use crate::names::DEFAULT_VOLUME_SIZE_LIMIT;
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::container;
use crate::pod::ContainerList;

/// The agent init container.
pub const ATTACH_CONTAINER: &str = "otel-agent-attach-apache";
/// The clone of the app container.
pub const CLONE: &str = CLONE_CONTAINER;
/// The module's volume.
pub const AGENT_VOLUME: &str = "otel-apache-agent";
/// The configuration copy's volume.
pub const CONFIG_VOLUME: &str = "otel-apache-conf-dir";
/// Where the module is, in the agent init container and the app.
pub const AGENT_DIR: &str = webserver::AGENT_DIR;
/// The configuration directory when `spec.apacheHttpd.configPath` is empty.
pub const DEFAULT_CONFIG_PATH: &str = "/usr/local/apache2/conf";
/// The module's configuration, handed to the agent init container.
pub const OTEL_APACHE_AGENT_CONF: &str = "OTEL_APACHE_AGENT_CONF";
/// The pod's name, for the module's service instance id.
pub const APACHE_SERVICE_INSTANCE_ID: &str = "APACHE_SERVICE_INSTANCE_ID";
/// The file the module's configuration is written to, in the configuration directory (the
/// operator's spelling).
pub const AGENT_CONF_FILE: &str = "opentemetry_agent.conf";
/// `service.namespace` when neither the pod nor the attributes name a namespace.
pub const FALLBACK_NAMESPACE: &str = "apache-httpd";
/// The default image (operator 0.158.0: the webserver module 1.0.4).
pub const DEFAULT_IMAGE: &str = webserver::DEFAULT_IMAGE;
/// The agent init container's script (`sh -c SCRIPT -- <configuration directory>`).
pub const ATTACH_SCRIPT: &str = include_str!("apache_httpd.sh");

/// The init containers' resources when the CR gives none (the operator's CR defaults).
pub fn default_resources() -> Value {
    DEFAULTS.resources(&super::EMPTY_BLOCK)
}

/// The Apache httpd unit.
pub(crate) struct ApacheHttpd;

static EMPTY: ApacheBlock = ApacheBlock {
    image: None,
    volume_claim_template: None,
    volume_limit_size: None,
    env: Vec::new(),
    attrs: Vec::new(),
    version: None,
    config_path: None,
    resource_requirements: None,
};

fn block(inst: &Instrumentation) -> &ApacheBlock {
    inst.spec.apache_httpd.as_ref().unwrap_or(&EMPTY)
}

/// The configuration directory: `configPath` without one trailing `/`, or the default (the
/// operator's `getApacheConfDir`).
pub fn config_dir(config_path: Option<&str>) -> String {
    match config_path.filter(|p| !p.is_empty()) {
        None => DEFAULT_CONFIG_PATH.to_string(),
        Some(p) => p.strip_suffix('/').unwrap_or(p).to_string(),
    }
}

/// The module's file name suffix: `22` for `version: "2.2"`, none for 2.4 (the default) or
/// anything else.
pub fn module_suffix(version: Option<&str>) -> &'static str {
    if version == Some("2.2") {
        "22"
    } else {
        ""
    }
}

/// The module's configuration, as the operator's `getApacheOtelConfig` writes it: the
/// `LoadFile` and `LoadModule` lines, then the attributes in key order, `spec.apacheHttpd.attrs`
/// over the defaults. (Two defaults have a leading space in their value, so the line has two.)
pub fn agent_configuration(
    block: &ApacheBlock,
    endpoint: &str,
    service_name: &str,
    service_namespace: &str,
) -> String {
    let dir = AGENT_DIR;
    let suffix = module_suffix(block.version.as_deref());
    let mut out = format!(
        "
#Load the Otel Webserver SDK
LoadFile {dir}/sdk_lib/lib/libopentelemetry_common.so
LoadFile {dir}/sdk_lib/lib/libopentelemetry_resources.so
LoadFile {dir}/sdk_lib/lib/libopentelemetry_trace.so
LoadFile {dir}/sdk_lib/lib/libopentelemetry_otlp_recordable.so
LoadFile {dir}/sdk_lib/lib/libopentelemetry_exporter_ostream_span.so
LoadFile {dir}/sdk_lib/lib/libopentelemetry_exporter_otlp_grpc.so
#Load the Otel ApacheModule SDK
LoadFile {dir}/sdk_lib/lib/libopentelemetry_webserver_sdk.so
#Load the Apache Module. In this example for Apache 2.4
#LoadModule otel_apache_module {dir}/WebServerModule/Apache/libmod_apache_otel.so
#Load the Apache Module. In this example for Apache 2.2
#LoadModule otel_apache_module {dir}/WebServerModule/Apache/libmod_apache_otel22.so
LoadModule otel_apache_module {dir}/WebServerModule/Apache/libmod_apache_otel{suffix}.so
#Attributes
"
    );
    let defaults = [
        ("ApacheModuleEnabled", "ON".to_string()),
        ("ApacheModuleOtelSpanExporter", "otlp".into()),
        ("ApacheModuleOtelExporterEndpoint", endpoint.into()),
        ("ApacheModuleServiceName", service_name.into()),
        ("ApacheModuleServiceNamespace", service_namespace.into()),
        ("ApacheModuleServiceInstanceId", INSTANCE_PLACEHOLDER.into()),
        ("ApacheModuleResolveBackends", " ON".into()),
        ("ApacheModuleTraceAsError", " ON".into()),
    ];
    for (k, v) in webserver::attributes(defaults, &block.attrs) {
        out.push_str(&format!("{k} {v}\n"));
    }
    out
}

impl Unit for ApacheHttpd {
    fn language(&self) -> Language {
        Language::ApacheHttpd
    }

    fn validate(&self, _c: &Value, list: ContainerList, cx: &LangCx<'_>) -> Option<Reason> {
        if list == ContainerList::Init {
            return Some(Reason::RequirementUnmet {
                label: "init_container_unsupported",
                message: "the Apache httpd module is loaded by the server in a regular container; an init container cannot be instrumented (name a regular container in apache-httpd-container-names)".into(),
            });
        }
        let dir = config_dir(block(cx.inst).config_path.as_deref());
        webserver::unusable_conf_dir(&dir).map(|why| Reason::RequirementUnmet {
            label: "config_location_unusable",
            message: format!(
                "{why}; set spec.apacheHttpd.configPath to the absolute directory of httpd.conf"
            ),
        })
    }

    fn container_env_and_mount(&self, b: &mut PatchBuilder, c: ContainerRef, cx: &LangCx<'_>) {
        let block = block(cx.inst);
        // The operator computes the description before it adds the block's env.
        let desc = cx.describe(b.container(c));
        super::append_block_env(b, c, block.env());
        let dir = config_dir(block.config_path.as_deref());
        let resources = DEFAULTS.resources(block);
        // Both init containers get the first target's context, hardened like every agent
        // copy's, written with them (not patched in afterwards): the clone runs the app's
        // image as the app's user, and the agent init container must run as the same user to
        // rewrite what the clone copied (the scripts rename new files over the copies, so no
        // capability is needed even when the two users differ).
        let sc = cx.init_security_context(container::name(b.container(c)));
        if webserver::missing(b, CLONE) {
            let size = block
                .volume_limit_size()
                .map(|q| q.0.as_str())
                .unwrap_or(DEFAULT_VOLUME_SIZE_LIMIT);
            webserver::add_volume(
                b,
                json!({"name": CONFIG_VOLUME, "emptyDir": {"sizeLimit": size}}),
            );
            let clone = webserver::clone_container(
                &b.container(c).to_value(),
                CONFIG_VOLUME,
                vec![
                    "cp".into(),
                    "-r".into(),
                    format!("{dir}/."),
                    webserver::STAGED_CONF_DIR.into(),
                ],
                None,
                resources.clone(),
            );
            b.push(
                &["spec", "initContainers"],
                webserver::with_security_context(clone, sc.clone()),
            );
            webserver::mount_on_app(b, c, AGENT_VOLUME, CONFIG_VOLUME, &dir);
        }
        if webserver::missing(b, ATTACH_CONTAINER) {
            webserver::add_volume(b, super::volume(block, AGENT_VOLUME));
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
                arg: dir,
                env: webserver::attach_env(
                    block.env(),
                    cx.inst,
                    OTEL_APACHE_AGENT_CONF,
                    conf,
                    APACHE_SERVICE_INSTANCE_ID,
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
            DEFAULT_IMAGE,
            "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-apache-httpd:1.0.4"
        );
        assert_eq!(
            DEFAULTS.resources(block(&i)),
            json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "1m", "memory": "128Mi"}})
        );
        assert_eq!(default_resources(), DEFAULTS.resources(block(&i)));
        // The key is `resourceRequirements`.
        let i = inst(json!({"apacheHttpd": {"resourceRequirements": {"limits": {"cpu": "1"}}}}));
        assert_eq!(
            DEFAULTS.resources(block(&i)),
            json!({"limits": {"cpu": "1"}, "requests": {"cpu": "1m", "memory": "128Mi"}})
        );
        assert_eq!(config_dir(None), "/usr/local/apache2/conf");
        assert_eq!(module_suffix(None), "");
    }

    #[test]
    fn config_dir_table() {
        for (path, want) in [
            (None, "/usr/local/apache2/conf"),
            (Some(""), "/usr/local/apache2/conf"),
            (Some("/opt/customPath"), "/opt/customPath"),
            (Some("/opt/customPath/"), "/opt/customPath"),
            // One slash only, as the operator.
            (Some("/opt/customPath//"), "/opt/customPath/"),
            (Some("/"), ""),
        ] {
            assert_eq!(config_dir(path), want, "{path:?}");
        }
    }

    #[test]
    fn module_suffix_table() {
        for (version, want) in [
            (None, ""),
            (Some("2.4"), ""),
            (Some("2.2"), "22"),
            (Some("2"), ""),
            (Some(" 2.2"), ""),
        ] {
            assert_eq!(module_suffix(version), want, "{version:?}");
        }
    }

    /// The operator's expected value in `apachehttpd_test.go` ("Clone Container not present").
    const OPERATOR_CONF: &str = "\n#Load the Otel Webserver SDK\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_common.so\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_resources.so\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_trace.so\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_otlp_recordable.so\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_exporter_ostream_span.so\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_exporter_otlp_grpc.so\n#Load the Otel ApacheModule SDK\nLoadFile /opt/opentelemetry-webserver/agent/sdk_lib/lib/libopentelemetry_webserver_sdk.so\n#Load the Apache Module. In this example for Apache 2.4\n#LoadModule otel_apache_module /opt/opentelemetry-webserver/agent/WebServerModule/Apache/libmod_apache_otel.so\n#Load the Apache Module. In this example for Apache 2.2\n#LoadModule otel_apache_module /opt/opentelemetry-webserver/agent/WebServerModule/Apache/libmod_apache_otel22.so\nLoadModule otel_apache_module /opt/opentelemetry-webserver/agent/WebServerModule/Apache/libmod_apache_otel.so\n#Attributes\nApacheModuleEnabled ON\nApacheModuleOtelExporterEndpoint http://otlp-endpoint:4317\nApacheModuleOtelSpanExporter otlp\nApacheModuleResolveBackends  ON\nApacheModuleServiceInstanceId <<SID-PLACEHOLDER>>\nApacheModuleServiceName apache-httpd-service-name\nApacheModuleServiceNamespace req-namespace\nApacheModuleTraceAsError  ON\n";

    #[test]
    fn agent_configuration_is_the_operators() {
        let b = ApacheBlock::default();
        assert_eq!(
            agent_configuration(
                &b,
                "http://otlp-endpoint:4317",
                "apache-httpd-service-name",
                "req-namespace"
            ),
            OPERATOR_CONF
        );
        // 2.2 loads the other module; attrs add lines and override defaults.
        let b: ApacheBlock = serde_json::from_value(json!({"version": "2.2", "attrs": [
            {"name": "ApacheModuleOtelMaxQueueSize", "value": "4096"},
            {"name": "ApacheModuleTraceAsError", "value": "OFF"}]}))
        .expect("block");
        let conf = agent_configuration(&b, "e", "s", "n");
        assert!(conf.contains(
            "\nLoadModule otel_apache_module /opt/opentelemetry-webserver/agent/WebServerModule/Apache/libmod_apache_otel22.so\n"
        ));
        assert!(conf.ends_with("ApacheModuleOtelMaxQueueSize 4096\nApacheModuleOtelSpanExporter otlp\nApacheModuleResolveBackends  ON\nApacheModuleServiceInstanceId <<SID-PLACEHOLDER>>\nApacheModuleServiceName s\nApacheModuleServiceNamespace n\nApacheModuleTraceAsError OFF\n"), "{conf}");
    }

    #[test]
    fn validation() {
        let label = |spec: serde_json::Value, list: ContainerList| {
            let i = inst(spec);
            let pod = json!({"spec": {"containers": [{"name": "app"}]}});
            with_cx(&i, "", &pod, |cx| {
                ApacheHttpd
                    .validate(&json!({"name": "app"}), list, cx)
                    .map(|r| r.label())
            })
        };
        assert_eq!(label(json!({}), ContainerList::Regular), None);
        assert_eq!(
            label(json!({}), ContainerList::Init),
            Some("init_container_unsupported")
        );
        for bad in ["/", "conf", "./conf"] {
            assert_eq!(
                label(
                    json!({"apacheHttpd": {"configPath": bad}}),
                    ContainerList::Regular
                ),
                Some("config_location_unusable"),
                "{bad}"
            );
        }
    }
}
