//! .NET: the CLR profiler and startup hook env, the agent volume and the init container that
//! copies the agent into it. The operator's `dotnet.go`, name for name and value for value.

use serde_json::Value;

use super::{Annotations, Defaults, LangCx, Unit, EMPTY_BLOCK};
use crate::annotations::{annotation_value, AnnotationError, Language};
use crate::decision::Reason;
use crate::env;
use crate::instrumentation::{AgentBlock, Instrumentation};
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::{container, ContainerList};

/// Volume name.
pub const VOLUME: &str = "opentelemetry-auto-instrumentation-dotnet";
/// Init container name.
pub const INIT_CONTAINER: &str = "opentelemetry-auto-instrumentation-dotnet";
/// Where the agent is mounted in the app and init containers.
pub const MOUNT_PATH: &str = "/otel-auto-instrumentation-dotnet";
/// Source directory inside the agent image.
pub const IMAGE_SOURCE: &str = "/autoinstrumentation/.";
/// The default image (operator 0.158.0: .NET agent 1.16.0).
pub const DEFAULT_IMAGE: &str =
    "ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-dotnet:1.16.0";
/// The runtime annotation (pod, then namespace).
pub const RUNTIME_ANNOTATION: &str = "instrumentation.opentelemetry.io/otel-dotnet-auto-runtime";
/// Runtime annotation value for glibc (the default).
pub const RUNTIME_GLIBC: &str = "linux-x64";
/// Runtime annotation value for musl.
pub const RUNTIME_MUSL: &str = "linux-musl-x64";
/// The CLR profiler CLSID.
pub const PROFILER_ID: &str = "{918728DD-259F-4A6A-AC2B-B85E1B658318}";
/// Profiler path for glibc images.
pub const PROFILER_PATH_GLIBC: &str =
    "/otel-auto-instrumentation-dotnet/linux/OpenTelemetry.AutoInstrumentation.Native.so";
/// Profiler path for musl (Alpine) images.
pub const PROFILER_PATH_MUSL: &str =
    "/otel-auto-instrumentation-dotnet/linux-musl/OpenTelemetry.AutoInstrumentation.Native.so";
/// Startup hook assembly.
pub const STARTUP_HOOK: &str =
    "/otel-auto-instrumentation-dotnet/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll";
/// Additional deps directory.
pub const ADDITIONAL_DEPS: &str = "/otel-auto-instrumentation-dotnet/AdditionalDeps";
/// Shared store directory.
pub const SHARED_STORE: &str = "/otel-auto-instrumentation-dotnet/store";

/// Turns the CLR profiler on.
pub const CORECLR_ENABLE_PROFILING: &str = "CORECLR_ENABLE_PROFILING";
/// The profiler's CLSID.
pub const CORECLR_PROFILER: &str = "CORECLR_PROFILER";
/// The native profiler library.
pub const CORECLR_PROFILER_PATH: &str = "CORECLR_PROFILER_PATH";
/// Startup hooks, `:`-separated.
pub const DOTNET_STARTUP_HOOKS: &str = "DOTNET_STARTUP_HOOKS";
/// Additional deps, `:`-separated.
pub const DOTNET_ADDITIONAL_DEPS: &str = "DOTNET_ADDITIONAL_DEPS";
/// Shared store, `:`-separated.
pub const DOTNET_SHARED_STORE: &str = "DOTNET_SHARED_STORE";
/// Home of the auto-instrumentation; the operator's ".NET already injected" marker.
pub const OTEL_DOTNET_AUTO_HOME: &str = "OTEL_DOTNET_AUTO_HOME";

/// The operator's CR defaults for `spec.dotnet`.
pub(crate) const DEFAULTS: Defaults = Defaults {
    image: DEFAULT_IMAGE,
    limits: ("500m", "256Mi"),
    requests: ("50m", "128Mi"),
};

/// The init container's resources when the CR gives none (the operator's CR defaults).
pub fn default_resources() -> serde_json::Value {
    DEFAULTS.resources(&super::EMPTY_BLOCK)
}

/// The .NET unit.
pub(crate) struct DotNet;

fn block(inst: &Instrumentation) -> &dyn AgentBlock {
    inst.spec.dotnet.as_ref().unwrap_or(&EMPTY_BLOCK)
}

impl Unit for DotNet {
    fn language(&self) -> Language {
        Language::DotNet
    }

    fn variant(
        &self,
        ns: &Annotations,
        pod: &Annotations,
    ) -> Result<&'static str, AnnotationError> {
        match annotation_value(ns, pod, RUNTIME_ANNOTATION) {
            "" | RUNTIME_GLIBC => Ok(PROFILER_PATH_GLIBC),
            RUNTIME_MUSL => Ok(PROFILER_PATH_MUSL),
            v => Err(AnnotationError::UnsupportedValue {
                key: RUNTIME_ANNOTATION.to_string(),
                value: v.to_string(),
                expected: "write \"linux-x64\" for glibc images (the default) or \"linux-musl-x64\" for musl (Alpine) images",
            }),
        }
    }

    fn validate(&self, c: &Value, _list: ContainerList, cx: &LangCx<'_>) -> Option<Reason> {
        if let Some(r) = super::value_from(
            c,
            &[
                DOTNET_STARTUP_HOOKS,
                DOTNET_ADDITIONAL_DEPS,
                DOTNET_SHARED_STORE,
            ],
        ) {
            return Some(r);
        }
        if container::env_index(c, OTEL_DOTNET_AUTO_HOME).is_some() {
            return Some(Reason::ContainerAlreadyInjected(
                OTEL_DOTNET_AUTO_HOME.into(),
            ));
        }
        if block(cx.inst)
            .env()
            .iter()
            .any(|e| e.name == OTEL_DOTNET_AUTO_HOME)
        {
            return Some(Reason::MarkerInSpec {
                language: Language::DotNet,
                var: OTEL_DOTNET_AUTO_HOME.into(),
            });
        }
        None
    }

    fn container_env_and_mount(&self, b: &mut PatchBuilder, c: ContainerRef, cx: &LangCx<'_>) {
        super::append_block_env(b, c, block(cx.inst).env());
        super::mount(b, c, VOLUME, MOUNT_PATH);
    }

    fn default_env(&self, b: &mut PatchBuilder, c: ContainerRef, cx: &LangCx<'_>) {
        // The operator's `setDotNetEnvVar`, in its order: the `:` lists are joined with the
        // user's, the rest keep the user's value.
        let keep = |b: &mut PatchBuilder, name: &str, value: &str| {
            env::append_if_absent(b, c, env::literal(name, value))
        };
        keep(b, CORECLR_ENABLE_PROFILING, "1");
        keep(b, CORECLR_PROFILER, PROFILER_ID);
        keep(b, CORECLR_PROFILER_PATH, cx.variant);
        super::append_to_value(b, c, DOTNET_STARTUP_HOOKS, ":", STARTUP_HOOK);
        super::append_to_value(b, c, DOTNET_ADDITIONAL_DEPS, ":", ADDITIONAL_DEPS);
        keep(b, OTEL_DOTNET_AUTO_HOME, MOUNT_PATH);
        super::append_to_value(b, c, DOTNET_SHARED_STORE, ":", SHARED_STORE);
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
        let i = inst(
            json!({"dotnet": {"image": "mine:1", "resourceRequirements": {"limits": {"cpu": "1"}}}}),
        );
        assert_eq!(DEFAULTS.image(block(&i)), "mine:1");
        assert_eq!(
            DEFAULTS.resources(block(&i)),
            json!({"limits": {"cpu": "1"}, "requests": {"cpu": "50m", "memory": "128Mi"}})
        );
    }

    #[test]
    fn runtime_annotation() {
        let none = Annotations::new();
        let with = |v: &str| Annotations::from([(RUNTIME_ANNOTATION.to_string(), v.to_string())]);
        for (ann, want) in [
            (none.clone(), Ok(PROFILER_PATH_GLIBC)),
            (with("linux-x64"), Ok(PROFILER_PATH_GLIBC)),
            (with("linux-musl-x64"), Ok(PROFILER_PATH_MUSL)),
        ] {
            assert_eq!(DotNet.variant(&none, &ann), want);
        }
        let err = DotNet.variant(&none, &with("win-x64")).unwrap_err();
        assert!(err.to_string().contains("linux-musl-x64"), "{err}");
    }

    #[test]
    fn env_table() {
        let i = inst(json!({}));
        let cases: &[(serde_json::Value, &[(&str, &str)])] = &[
            (json!([]), &[
                ("CORECLR_ENABLE_PROFILING", "1"),
                ("CORECLR_PROFILER", PROFILER_ID),
                ("CORECLR_PROFILER_PATH", PROFILER_PATH_GLIBC),
                ("DOTNET_STARTUP_HOOKS", STARTUP_HOOK),
                ("DOTNET_ADDITIONAL_DEPS", ADDITIONAL_DEPS),
                ("OTEL_DOTNET_AUTO_HOME", MOUNT_PATH),
                ("DOTNET_SHARED_STORE", SHARED_STORE),
            ]),
            // The user's lists are extended with ours; the user's profiler stays.
            (json!([{"name": "DOTNET_STARTUP_HOOKS", "value": "/a.dll"},
                    {"name": "CORECLR_PROFILER", "value": "{mine}"}]), &[
                ("DOTNET_STARTUP_HOOKS", "/a.dll:/otel-auto-instrumentation-dotnet/net/OpenTelemetry.AutoInstrumentation.StartupHook.dll"),
                ("CORECLR_PROFILER", "{mine}"),
                ("CORECLR_ENABLE_PROFILING", "1"),
                ("CORECLR_PROFILER_PATH", PROFILER_PATH_GLIBC),
                ("DOTNET_ADDITIONAL_DEPS", ADDITIONAL_DEPS),
                ("OTEL_DOTNET_AUTO_HOME", MOUNT_PATH),
                ("DOTNET_SHARED_STORE", SHARED_STORE),
            ]),
        ];
        for (env, want) in cases {
            let out = container_steps(&DotNet, &pod(env.clone()), &i, PROFILER_PATH_GLIBC);
            let want: Vec<(String, String)> = want
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
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
        assert_eq!(validate(&DotNet, &c(json!([])), &i), None);
        assert_eq!(
            validate(
                &DotNet,
                &c(
                    json!([{"name": "DOTNET_SHARED_STORE", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}])
                ),
                &i
            ),
            Some(Reason::EnvValueFrom("DOTNET_SHARED_STORE".into()))
        );
        assert_eq!(
            validate(
                &DotNet,
                &c(json!([{"name": "OTEL_DOTNET_AUTO_HOME", "value": "/x"}])),
                &i
            ),
            Some(Reason::ContainerAlreadyInjected(
                "OTEL_DOTNET_AUTO_HOME".into()
            ))
        );
        let i =
            inst(json!({"dotnet": {"env": [{"name": "OTEL_DOTNET_AUTO_HOME", "value": "/x"}]}}));
        assert!(matches!(
            validate(&DotNet, &c(json!([])), &i),
            Some(Reason::MarkerInSpec { .. })
        ));
    }
}
