//! Java: `-javaagent` in `JAVA_TOOL_OPTIONS`, the agent jar copied by an init container, and one
//! more init container per `spec.java.extensions` entry. The operator's `javaagent.go`: the
//! agent is mounted at a path of its own in every container (`/otel-auto-instrumentation-java-
//! <container>`), while the init containers mount the volume at `/otel-auto-instrumentation-java`.

use serde_json::Value;

use super::{CopyContainer, Defaults, LangCx, Unit};
use crate::annotations::Language;
use crate::decision::Reason;
use crate::instrumentation::{AgentBlock, Instrumentation, Java as JavaBlock};
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::{container, ContainerList};

/// Volume name.
pub const VOLUME: &str = "opentelemetry-auto-instrumentation-java";
/// Init container name.
pub const INIT_CONTAINER: &str = "opentelemetry-auto-instrumentation-java";
/// Prefix of the extension init containers' names (`-0`, `-1`, ...).
pub const EXTENSION_INIT_CONTAINER_PREFIX: &str = "opentelemetry-auto-instrumentation-extension-";
/// Where the init containers mount the volume; app containers mount it at this path followed
/// by `-<container name>`.
pub const MOUNT_PATH: &str = "/otel-auto-instrumentation-java";
/// The agent inside the image.
pub const IMAGE_AGENT: &str = "/javaagent.jar";
/// The default image (operator 0.158.0: Java agent 2.30.0).
pub const DEFAULT_IMAGE: &str =
    "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-java:2.30.0";
/// The JVM's options variable.
pub const JAVA_TOOL_OPTIONS: &str = "JAVA_TOOL_OPTIONS";

/// The operator's CR defaults for `spec.java` (its requests are 64Mi, not 128Mi).
pub(crate) const DEFAULTS: Defaults = Defaults {
    image: DEFAULT_IMAGE,
    limits: ("500m", "256Mi"),
    requests: ("50m", "64Mi"),
};

/// The init container's resources when the CR gives none (the operator's CR defaults).
pub fn default_resources() -> serde_json::Value {
    DEFAULTS.resources(&super::EMPTY_BLOCK)
}

/// Where container `name` finds the agent.
pub fn container_mount_path(name: &str) -> String {
    format!("{MOUNT_PATH}-{name}")
}

/// What `JAVA_TOOL_OPTIONS` gets for container `name` (appended to the user's value, so it
/// starts with a space, as the operator's).
pub fn jvm_argument(name: &str, extensions: bool) -> String {
    let path = container_mount_path(name);
    let mut arg = format!(" -javaagent:{path}/javaagent.jar");
    if extensions {
        arg.push_str(&format!(" -Dotel.javaagent.extensions={path}/extensions"));
    }
    arg
}

/// The Java unit.
pub(crate) struct Java;

static EMPTY: JavaBlock = JavaBlock {
    image: None,
    volume_claim_template: None,
    volume_limit_size: None,
    env: Vec::new(),
    resources: None,
    extensions: Vec::new(),
};

fn block(inst: &Instrumentation) -> &JavaBlock {
    inst.spec.java.as_ref().unwrap_or(&EMPTY)
}

impl Unit for Java {
    fn language(&self) -> Language {
        Language::Java
    }

    fn validate(&self, c: &Value, _list: ContainerList, _cx: &LangCx<'_>) -> Option<Reason> {
        super::value_from(c, &[JAVA_TOOL_OPTIONS])
            .or_else(|| super::marked(c, JAVA_TOOL_OPTIONS, &format!("-javaagent:{MOUNT_PATH}")))
    }

    fn container_env_and_mount(&self, b: &mut PatchBuilder, c: ContainerRef, cx: &LangCx<'_>) {
        super::append_block_env(b, c, block(cx.inst).env());
        let path = container_mount_path(container::name(b.container(c)));
        super::mount(b, c, VOLUME, &path);
    }

    fn default_env(&self, b: &mut PatchBuilder, c: ContainerRef, cx: &LangCx<'_>) {
        let name = container::name(b.container(c)).to_string();
        let arg = jvm_argument(&name, !block(cx.inst).extensions.is_empty());
        super::append_to_value(b, c, JAVA_TOOL_OPTIONS, "", &arg);
    }

    fn pod(&self, b: &mut PatchBuilder, cx: &LangCx<'_>, first: &str, sc: Option<Value>) {
        let block = block(cx.inst);
        let resources = DEFAULTS.resources(block);
        let mut inits = vec![CopyContainer {
            name: INIT_CONTAINER.into(),
            image: DEFAULTS.image(block),
            command: vec![
                "cp".into(),
                IMAGE_AGENT.into(),
                format!("{MOUNT_PATH}/javaagent.jar"),
            ],
            resources: resources.clone(),
            volume: VOLUME,
            mount_path: MOUNT_PATH,
            pull_policy: super::pull_policy(cx.inst),
        }
        .build(sc.clone())];
        // As the operator: the extensions' containers carry no imagePullPolicy.
        for (i, ext) in block.extensions.iter().enumerate() {
            inits.push(
                CopyContainer {
                    name: format!("{EXTENSION_INIT_CONTAINER_PREFIX}{i}"),
                    image: &ext.image,
                    command: vec![
                        "cp".into(),
                        "-r".into(),
                        format!("{}/.", ext.dir),
                        format!("{MOUNT_PATH}/extensions"),
                    ],
                    resources: resources.clone(),
                    volume: VOLUME,
                    mount_path: MOUNT_PATH,
                    pull_policy: None,
                }
                .build(sc.clone()),
            );
        }
        super::add_to_pod(b, super::volume(block, VOLUME), inits, first);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{container_steps, env_of, inst, pod, validate};
    use super::*;

    #[test]
    fn defaults_are_the_operators() {
        let i = inst(json!({}));
        assert_eq!(DEFAULTS.image(block(&i)), DEFAULT_IMAGE);
        assert_eq!(
            DEFAULTS.resources(block(&i)),
            json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "50m", "memory": "64Mi"}})
        );
        // Java's key is `resources`, not `resourceRequirements`.
        let i = inst(json!({"java": {"resources": {"requests": {"memory": "1Gi"}}}}));
        assert_eq!(
            DEFAULTS.resources(block(&i)),
            json!({"requests": {"memory": "1Gi"}, "limits": {"cpu": "500m", "memory": "256Mi"}})
        );
    }

    #[test]
    fn java_tool_options_table() {
        let plain = inst(json!({}));
        let ext = inst(json!({"java": {"extensions": [{"image": "e:1", "dir": "/ext"}]}}));
        let agent = " -javaagent:/otel-auto-instrumentation-java-app/javaagent.jar";
        let with_ext = format!(
            "{agent} -Dotel.javaagent.extensions=/otel-auto-instrumentation-java-app/extensions"
        );
        let cases: Vec<(&Instrumentation, serde_json::Value, String)> = vec![
            (&plain, json!([]), agent.to_string()),
            (
                &plain,
                json!([{"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx1g"}]),
                format!("-Xmx1g{agent}"),
            ),
            (&ext, json!([]), with_ext.clone()),
            (
                &ext,
                json!([{"name": "JAVA_TOOL_OPTIONS", "value": "-Da=b"}]),
                format!("-Da=b{with_ext}"),
            ),
        ];
        for (i, env, want) in cases {
            let out = container_steps(&Java, &pod(env.clone()), i, "");
            assert_eq!(
                env_of(&out),
                vec![("JAVA_TOOL_OPTIONS".to_string(), want)],
                "from {env}"
            );
            assert_eq!(
                out["spec"]["containers"][0]["volumeMounts"],
                json!([{"name": VOLUME, "mountPath": "/otel-auto-instrumentation-java-app"}])
            );
        }
    }

    #[test]
    fn block_env_comes_first_and_never_overrides() {
        let i = inst(
            json!({"java": {"env": [{"name": "OTEL_X", "value": "1"}, {"name": "KEEP", "value": "spec"}]}}),
        );
        let out = container_steps(
            &Java,
            &pod(json!([{"name": "KEEP", "value": "user"}])),
            &i,
            "",
        );
        let names: Vec<(String, String)> = env_of(&out);
        assert_eq!(names[0], ("KEEP".into(), "user".into()));
        assert_eq!(names[1], ("OTEL_X".into(), "1".into()));
        assert_eq!(names[2].0, "JAVA_TOOL_OPTIONS");
    }

    #[test]
    fn validation() {
        let i = inst(json!({}));
        let c = |env: serde_json::Value| json!({"name": "app", "env": env});
        assert_eq!(
            validate(
                &Java,
                &c(json!([{"name": "JAVA_TOOL_OPTIONS", "value": "-Xmx1g"}])),
                &i
            ),
            None
        );
        assert_eq!(
            validate(
                &Java,
                &c(
                    json!([{"name": "JAVA_TOOL_OPTIONS", "valueFrom": {"configMapKeyRef": {"key": "k"}}}])
                ),
                &i
            ),
            Some(Reason::EnvValueFrom(JAVA_TOOL_OPTIONS.into()))
        );
        assert_eq!(
            validate(
                &Java,
                &c(
                    json!([{"name": "JAVA_TOOL_OPTIONS", "value": " -javaagent:/otel-auto-instrumentation-java-app/javaagent.jar"}])
                ),
                &i
            ),
            Some(Reason::ContainerAlreadyInjected(JAVA_TOOL_OPTIONS.into()))
        );
    }
}
