//! Node.js: `--require` of the agent's `autoinstrumentation.js` in `NODE_OPTIONS`, the agent
//! copied by an init container, and `OTEL_METRICS_EXPORTER=otlp` when the user sets none (the
//! Node.js SDK starts no metrics without a reader). The operator's `nodejs.go`.

use serde_json::Value;

use super::{Defaults, LangCx, Unit, EMPTY_BLOCK};
use crate::annotations::Language;
use crate::decision::Reason;
use crate::instrumentation::{AgentBlock, Instrumentation};
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::ContainerList;

/// Volume name.
pub const VOLUME: &str = "opentelemetry-auto-instrumentation-nodejs";
/// Init container name.
pub const INIT_CONTAINER: &str = "opentelemetry-auto-instrumentation-nodejs";
/// Where the agent is mounted in the app and init containers.
pub const MOUNT_PATH: &str = "/otel-auto-instrumentation-nodejs";
/// Source directory inside the agent image.
pub const IMAGE_SOURCE: &str = "/autoinstrumentation/.";
/// The default image (operator 0.158.0: Node.js agent 0.78.0).
pub const DEFAULT_IMAGE: &str =
    "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-nodejs:0.78.0";
/// Node's options variable.
pub const NODE_OPTIONS: &str = "NODE_OPTIONS";
/// What `NODE_OPTIONS` gets (appended to the user's value).
pub const REQUIRE_ARGUMENT: &str =
    " --require /otel-auto-instrumentation-nodejs/autoinstrumentation.js";
/// The metrics exporter variable, `otlp` unless the user sets it.
pub const OTEL_METRICS_EXPORTER: &str = "OTEL_METRICS_EXPORTER";

/// The operator's CR defaults for `spec.nodejs`.
pub(crate) const DEFAULTS: Defaults = Defaults {
    image: DEFAULT_IMAGE,
    limits: ("500m", "256Mi"),
    requests: ("50m", "128Mi"),
};

/// The init container's resources when the CR gives none (the operator's CR defaults).
pub fn default_resources() -> serde_json::Value {
    DEFAULTS.resources(&super::EMPTY_BLOCK)
}

/// The Node.js unit.
pub(crate) struct NodeJs;

fn block(inst: &Instrumentation) -> &dyn AgentBlock {
    inst.spec.nodejs.as_ref().unwrap_or(&EMPTY_BLOCK)
}

impl Unit for NodeJs {
    fn language(&self) -> Language {
        Language::NodeJs
    }

    fn validate(&self, c: &Value, _list: ContainerList, _cx: &LangCx<'_>) -> Option<Reason> {
        super::value_from(c, &[NODE_OPTIONS])
            .or_else(|| super::marked(c, NODE_OPTIONS, "/otel-auto-instrumentation-nodejs/"))
    }

    fn container_env_and_mount(&self, b: &mut PatchBuilder, c: ContainerRef, cx: &LangCx<'_>) {
        super::append_block_env(b, c, block(cx.inst).env());
        super::mount(b, c, VOLUME, MOUNT_PATH);
    }

    fn default_env(&self, b: &mut PatchBuilder, c: ContainerRef, _cx: &LangCx<'_>) {
        super::append_to_value(b, c, NODE_OPTIONS, "", REQUIRE_ARGUMENT);
        super::append_defaults(b, c, &[(OTEL_METRICS_EXPORTER, "otlp")]);
    }

    fn pod(&self, b: &mut PatchBuilder, cx: &LangCx<'_>, first: &str, sc: Option<Value>) {
        let layout = (VOLUME, INIT_CONTAINER, MOUNT_PATH);
        super::copy_tree_to_pod(
            b,
            cx,
            block(cx.inst),
            &DEFAULTS,
            layout,
            IMAGE_SOURCE,
            first,
            sc,
        );
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
            json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "50m", "memory": "128Mi"}})
        );
    }

    #[test]
    fn env_table() {
        let i = inst(json!({}));
        let req = REQUIRE_ARGUMENT;
        let cases: Vec<(serde_json::Value, Vec<(&str, String)>)> = vec![
            (
                json!([]),
                vec![
                    ("NODE_OPTIONS", req.into()),
                    ("OTEL_METRICS_EXPORTER", "otlp".into()),
                ],
            ),
            (
                json!([{"name": "NODE_OPTIONS", "value": "--max-old-space-size=512"}]),
                vec![
                    ("NODE_OPTIONS", format!("--max-old-space-size=512{req}")),
                    ("OTEL_METRICS_EXPORTER", "otlp".into()),
                ],
            ),
            (
                json!([{"name": "OTEL_METRICS_EXPORTER", "value": "none"}]),
                vec![
                    ("OTEL_METRICS_EXPORTER", "none".into()),
                    ("NODE_OPTIONS", req.into()),
                ],
            ),
        ];
        for (env, want) in cases {
            let out = container_steps(&NodeJs, &pod(env.clone()), &i, "");
            let want: Vec<(String, String)> =
                want.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            assert_eq!(env_of(&out), want, "from {env}");
            assert_eq!(
                out["spec"]["containers"][0]["volumeMounts"],
                json!([{"name": VOLUME, "mountPath": MOUNT_PATH}])
            );
        }
    }

    #[test]
    fn validation() {
        let i = inst(json!({}));
        let c = |env: serde_json::Value| json!({"name": "app", "env": env});
        assert_eq!(
            validate(
                &NodeJs,
                &c(json!([{"name": "NODE_OPTIONS", "valueFrom": {"secretKeyRef": {"key": "k"}}}])),
                &i
            ),
            Some(Reason::EnvValueFrom(NODE_OPTIONS.into()))
        );
        assert_eq!(
            validate(
                &NodeJs,
                &c(json!([{"name": "NODE_OPTIONS", "value": REQUIRE_ARGUMENT}])),
                &i
            ),
            Some(Reason::ContainerAlreadyInjected(NODE_OPTIONS.into()))
        );
        assert_eq!(
            validate(
                &NodeJs,
                &c(json!([{"name": "NODE_OPTIONS", "value": "--inspect"}])),
                &i
            ),
            None
        );
    }
}
