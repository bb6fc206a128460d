//! Python: the agent's `sitecustomize` put first on `PYTHONPATH`, the agent copied by an init
//! container from the glibc or musl tree the `otel-python-platform` annotation picks, and the
//! exporters the Python agent supports (`http/protobuf`, `otlp`) when the user sets none. The
//! operator's `python.go`.

use serde_json::Value;

use super::{Annotations, Defaults, LangCx, Unit, EMPTY_BLOCK};
use crate::annotations::{annotation_value, AnnotationError, Language};
use crate::decision::Reason;
use crate::env;
use crate::instrumentation::{AgentBlock, Instrumentation};
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::{container, ContainerList};

/// Volume name.
pub const VOLUME: &str = "opentelemetry-auto-instrumentation-python";
/// Init container name.
pub const INIT_CONTAINER: &str = "opentelemetry-auto-instrumentation-python";
/// Where the agent is mounted in the app and init containers.
pub const MOUNT_PATH: &str = "/otel-auto-instrumentation-python";
/// The glibc tree inside the agent image.
pub const IMAGE_SOURCE_GLIBC: &str = "/autoinstrumentation/.";
/// The musl tree inside the agent image.
pub const IMAGE_SOURCE_MUSL: &str = "/autoinstrumentation-musl/.";
/// The default image (operator 0.158.0: Python agent 0.64b0).
pub const DEFAULT_IMAGE: &str =
    "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-python:0.64b0";
/// The platform annotation (pod, then namespace).
pub const PLATFORM_ANNOTATION: &str = "instrumentation.opentelemetry.io/otel-python-platform";
/// Python's module path.
pub const PYTHONPATH: &str = "PYTHONPATH";
/// Put before the user's `PYTHONPATH`: where the agent's `sitecustomize` is.
pub const PYTHONPATH_PREFIX: &str =
    "/otel-auto-instrumentation-python/opentelemetry/instrumentation/auto_instrumentation";
/// Put after the user's `PYTHONPATH`: the agent's packages.
pub const PYTHONPATH_SUFFIX: &str = "/otel-auto-instrumentation-python";
/// The defaults added when absent, in the operator's order.
pub const DEFAULT_ENV: &[(&str, &str)] = &[
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
    ("OTEL_TRACES_EXPORTER", "otlp"),
    ("OTEL_METRICS_EXPORTER", "otlp"),
    ("OTEL_LOGS_EXPORTER", "otlp"),
];

/// The operator's CR defaults for `spec.python` (its requests are 64Mi).
pub(crate) const DEFAULTS: Defaults = Defaults {
    image: DEFAULT_IMAGE,
    limits: ("500m", "256Mi"),
    requests: ("50m", "64Mi"),
};

/// The init container's resources when the CR gives none (the operator's CR defaults).
pub fn default_resources() -> serde_json::Value {
    DEFAULTS.resources(&super::EMPTY_BLOCK)
}

/// The Python unit.
pub(crate) struct Python;

fn block(inst: &Instrumentation) -> &dyn AgentBlock {
    inst.spec.python.as_ref().unwrap_or(&EMPTY_BLOCK)
}

impl Unit for Python {
    fn language(&self) -> Language {
        Language::Python
    }

    fn variant(
        &self,
        ns: &Annotations,
        pod: &Annotations,
    ) -> Result<&'static str, AnnotationError> {
        match annotation_value(ns, pod, PLATFORM_ANNOTATION) {
            "" | "glibc" => Ok(IMAGE_SOURCE_GLIBC),
            "musl" => Ok(IMAGE_SOURCE_MUSL),
            v => Err(AnnotationError::UnsupportedValue {
                key: PLATFORM_ANNOTATION.to_string(),
                value: v.to_string(),
                expected: "write \"glibc\" (the default) or \"musl\" for musl (Alpine) images",
            }),
        }
    }

    fn validate(&self, c: &Value, _list: ContainerList, _cx: &LangCx<'_>) -> Option<Reason> {
        super::value_from(c, &[PYTHONPATH])
            .or_else(|| super::marked(c, PYTHONPATH, PYTHONPATH_PREFIX))
    }

    fn container_env_and_mount(&self, b: &mut PatchBuilder, c: ContainerRef, cx: &LangCx<'_>) {
        super::append_block_env(b, c, block(cx.inst).env());
        let cont = b.container(c);
        match container::env_index(cont, PYTHONPATH) {
            None => env::append_if_absent(
                b,
                c,
                env::literal(
                    PYTHONPATH,
                    format!("{PYTHONPATH_PREFIX}:{PYTHONPATH_SUFFIX}"),
                ),
            ),
            Some(i) => {
                let old = container::env_value(cont, PYTHONPATH)
                    .unwrap_or("")
                    .to_string();
                env::set_value(
                    b,
                    c,
                    i,
                    &format!("{PYTHONPATH_PREFIX}:{old}:{PYTHONPATH_SUFFIX}"),
                );
            }
        }
        super::mount(b, c, VOLUME, MOUNT_PATH);
    }

    fn default_env(&self, b: &mut PatchBuilder, c: ContainerRef, _cx: &LangCx<'_>) {
        super::append_defaults(b, c, DEFAULT_ENV);
    }

    fn pod(&self, b: &mut PatchBuilder, cx: &LangCx<'_>, first: &str, sc: Option<Value>) {
        let layout = (VOLUME, INIT_CONTAINER, MOUNT_PATH);
        super::copy_tree_to_pod(
            b,
            cx,
            block(cx.inst),
            &DEFAULTS,
            layout,
            cx.variant,
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
            json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "50m", "memory": "64Mi"}})
        );
    }

    #[test]
    fn platform_annotation() {
        let none = Annotations::new();
        let with = |v: &str| Annotations::from([(PLATFORM_ANNOTATION.to_string(), v.to_string())]);
        assert_eq!(Python.variant(&none, &none), Ok(IMAGE_SOURCE_GLIBC));
        assert_eq!(
            Python.variant(&none, &with("glibc")),
            Ok(IMAGE_SOURCE_GLIBC)
        );
        assert_eq!(Python.variant(&none, &with("musl")), Ok(IMAGE_SOURCE_MUSL));
        // The namespace's value applies when the pod has none.
        assert_eq!(Python.variant(&with("musl"), &none), Ok(IMAGE_SOURCE_MUSL));
        let err = Python.variant(&none, &with("alpine")).unwrap_err();
        assert!(err.to_string().contains("\"musl\""), "{err}");
    }

    #[test]
    fn env_table() {
        let i = inst(json!({}));
        let path = format!("{PYTHONPATH_PREFIX}:{PYTHONPATH_SUFFIX}");
        let defaults = || {
            DEFAULT_ENV
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
        };
        let mut fresh = vec![("PYTHONPATH".to_string(), path)];
        fresh.extend(defaults());
        let mut joined = vec![(
            "PYTHONPATH".to_string(),
            format!("{PYTHONPATH_PREFIX}:/app/lib:{PYTHONPATH_SUFFIX}"),
        )];
        joined.extend(defaults());
        let mut user_protocol = vec![
            (
                "OTEL_EXPORTER_OTLP_PROTOCOL".to_string(),
                "grpc".to_string(),
            ),
            (
                "PYTHONPATH".to_string(),
                format!("{PYTHONPATH_PREFIX}:{PYTHONPATH_SUFFIX}"),
            ),
        ];
        user_protocol.extend(defaults().skip(1));
        for (env, want) in [
            (json!([]), fresh),
            (json!([{"name": "PYTHONPATH", "value": "/app/lib"}]), joined),
            (
                json!([{"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "grpc"}]),
                user_protocol,
            ),
        ] {
            let out = container_steps(&Python, &pod(env.clone()), &i, IMAGE_SOURCE_GLIBC);
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
                &Python,
                &c(json!([{"name": "PYTHONPATH", "valueFrom": {"configMapKeyRef": {"key": "k"}}}])),
                &i
            ),
            Some(Reason::EnvValueFrom(PYTHONPATH.into()))
        );
        assert_eq!(
            validate(
                &Python,
                &c(
                    json!([{"name": "PYTHONPATH", "value": format!("{PYTHONPATH_PREFIX}:{PYTHONPATH_SUFFIX}")}])
                ),
                &i
            ),
            Some(Reason::ContainerAlreadyInjected(PYTHONPATH.into()))
        );
        assert_eq!(
            validate(
                &Python,
                &c(json!([{"name": "PYTHONPATH", "value": "/app"}])),
                &i
            ),
            None
        );
    }
}
