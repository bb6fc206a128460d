//! Go: not an agent copied into the app, but an eBPF agent in a sidecar beside it, sharing the
//! pod's process namespace and reading `/sys/kernel/debug` from the node. The operator's
//! `golang.go`: the env goes into the sidecar, the resource attributes describe the app; one
//! target, a regular container, and a target executable are required.
//!
//! The sidecar is privileged (unless `spec.go.securityContext` says otherwise) and mounts a
//! hostPath, so a namespace that enforces the `baseline` or `restricted` Pod Security level
//! rejects the pod; there Go is skipped with the reason, where the operator produces a pod the
//! API server refuses.

use serde_json::{json, Value};

use super::{Annotations, Defaults, LangCx, Unit};
use crate::annotations::Language;
use crate::decision::Reason;
use crate::env;
use crate::instrumentation::{AgentBlock, Go as GoBlock, Instrumentation};
use crate::names::GO_SIDECAR;
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::{ContainerList, PodView};

/// The sidecar's name (also the operator's "already instrumented" marker).
pub const SIDECAR: &str = GO_SIDECAR;
/// The node's debug filesystem, as a hostPath volume.
pub const KERNEL_DEBUG_VOLUME: &str = "kernel-debug";
/// Where the debug filesystem is, on the node and in the sidecar.
pub const KERNEL_DEBUG_PATH: &str = "/sys/kernel/debug";
/// The executable the agent attaches to.
pub const OTEL_GO_AUTO_TARGET_EXE: &str = "OTEL_GO_AUTO_TARGET_EXE";
/// The pod annotation naming it (pod only; it beats `spec.go.env`).
pub const TARGET_EXE_ANNOTATION: &str = "instrumentation.opentelemetry.io/otel-go-auto-target-exe";
/// The namespace label the Pod Security admission enforces.
pub const POD_SECURITY_ENFORCE_LABEL: &str = "pod-security.kubernetes.io/enforce";
/// The default image (operator 0.158.0: Go agent v0.24.0).
pub const DEFAULT_IMAGE: &str =
    "ghcr.io/open-telemetry/opentelemetry-go-instrumentation/autoinstrumentation-go:v0.24.0";

/// The operator's CR defaults for `spec.go`.
pub(crate) const DEFAULTS: Defaults = Defaults {
    image: DEFAULT_IMAGE,
    limits: ("500m", "256Mi"),
    requests: ("50m", "64Mi"),
};

/// The sidecar's resources when the CR gives none (the operator's CR defaults).
pub fn default_resources() -> Value {
    DEFAULTS.resources(&super::EMPTY_BLOCK)
}

/// The Go unit.
pub(crate) struct Go;

static EMPTY: GoBlock = GoBlock {
    image: None,
    volume_claim_template: None,
    volume_limit_size: None,
    env: Vec::new(),
    resource_requirements: None,
    security_context: None,
};

fn block(inst: &Instrumentation) -> &GoBlock {
    inst.spec.go.as_ref().unwrap_or(&EMPTY)
}

fn unmet(label: &'static str, message: String) -> Option<Reason> {
    Some(Reason::RequirementUnmet { label, message })
}

/// Whether the namespace's enforced Pod Security level admits a privileged container with a
/// hostPath volume: only `privileged` does, or no level at all. A value the admission would
/// not recognise counts as not admitting it (never produce a pod the API server may refuse).
fn pod_security_admits_privileged(ns_labels: &Annotations) -> Result<(), String> {
    match ns_labels.get(POD_SECURITY_ENFORCE_LABEL).map(|v| v.trim()) {
        None | Some("") | Some("privileged") => Ok(()),
        Some(level) => Err(level.to_string()),
    }
}

impl Unit for Go {
    fn language(&self) -> Language {
        Language::Go
    }

    fn validate(&self, _c: &Value, list: ContainerList, cx: &LangCx<'_>) -> Option<Reason> {
        if list == ContainerList::Init {
            return unmet(
                "go_init_container",
                "the Go agent runs beside a regular container; an init container cannot be instrumented".into(),
            );
        }
        if cx.targets.len() > 1 {
            return unmet(
                "go_several_containers",
                format!(
                    "Go instruments one container per pod, and {} are listed ({}); name one in go-container-names",
                    cx.targets.len(),
                    cx.targets.join(", ")
                ),
            );
        }
        if cx.pod.raw()["spec"]["shareProcessNamespace"] == json!(false) {
            return unmet(
                "go_process_namespace",
                "the pod sets shareProcessNamespace: false; the Go agent must see the app's process, so remove it".into(),
            );
        }
        if let Err(level) = pod_security_admits_privileged(&cx.ns.labels) {
            return unmet(
                "pod_security_level",
                format!(
                    "namespace {} enforces the \"{level}\" Pod Security level ({POD_SECURITY_ENFORCE_LABEL}), which rejects the Go agent's privileged sidecar and hostPath volume; the pod is admitted without it",
                    cx.ns.name
                ),
            );
        }
        let named = |vars: &[crate::instrumentation::EnvVar]| {
            vars.iter().any(|e| e.name == OTEL_GO_AUTO_TARGET_EXE)
        };
        if target_exe(&cx.pod).is_none()
            && !named(block(cx.inst).env())
            && !named(&cx.inst.spec.env)
        {
            return unmet(
                "go_target_exe_missing",
                format!(
                    "the Go agent needs the app's executable: set the pod annotation {TARGET_EXE_ANNOTATION} to its path"
                ),
            );
        }
        None
    }

    fn env_target(
        &self,
        b: &mut PatchBuilder,
        _app: ContainerRef,
        cx: &LangCx<'_>,
    ) -> ContainerRef {
        let block = block(cx.inst);
        let sc = block
            .security_context
            .as_ref()
            .and_then(|sc| serde_json::to_value(sc).ok())
            .unwrap_or_else(|| json!({"runAsUser": 0, "privileged": true}));
        let mut sidecar = json!({
            "name": SIDECAR,
            "image": DEFAULTS.image(block),
            "resources": DEFAULTS.resources(block),
            "securityContext": sc,
            "volumeMounts": [{"mountPath": KERNEL_DEBUG_PATH, "name": KERNEL_DEBUG_VOLUME}],
        });
        if let (Some(obj), Some(p)) = (
            sidecar.as_object_mut(),
            super::pull_policy(cx.inst).filter(|p| !p.is_empty()),
        ) {
            obj.insert("imagePullPolicy".into(), json!(p));
        }
        let index = b.container_names(ContainerList::Regular).len();
        b.push(&["spec", "containers"], sidecar);
        ContainerRef {
            list: ContainerList::Regular,
            index,
        }
    }

    fn container_env_and_mount(&self, b: &mut PatchBuilder, c: ContainerRef, cx: &LangCx<'_>) {
        // The annotation first, so it beats the same variable in `spec.go.env`.
        if let Some(exe) = target_exe(&cx.pod) {
            env::append_if_absent(b, c, env::literal(OTEL_GO_AUTO_TARGET_EXE, exe));
        }
        super::append_block_env(b, c, block(cx.inst).env());
    }

    fn pod(&self, b: &mut PatchBuilder, _cx: &LangCx<'_>, _first: &str, _sc: Option<Value>) {
        b.set_member(&["spec"], "shareProcessNamespace", json!(true));
        if !b.volume_names().contains(&KERNEL_DEBUG_VOLUME) {
            b.push(
                &["spec", "volumes"],
                json!({"name": KERNEL_DEBUG_VOLUME, "hostPath": {"path": KERNEL_DEBUG_PATH}}),
            );
        }
    }
}

/// The pod annotation's executable, when set (the operator reads the pod's annotations only).
fn target_exe<'a>(pod: &PodView<'a>) -> Option<&'a str> {
    pod.annotation(TARGET_EXE_ANNOTATION)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testing::{inst, with_cx};
    use super::*;

    #[test]
    fn defaults_are_the_operators() {
        assert_eq!(DEFAULTS.image(block(&inst(json!({})))), DEFAULT_IMAGE);
        assert_eq!(
            default_resources(),
            json!({"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "50m", "memory": "64Mi"}})
        );
    }

    #[test]
    fn pod_security_levels() {
        let ns = |v: Option<&str>| {
            v.map(|v| Annotations::from([(POD_SECURITY_ENFORCE_LABEL.to_string(), v.to_string())]))
                .unwrap_or_default()
        };
        assert!(pod_security_admits_privileged(&ns(None)).is_ok());
        assert!(pod_security_admits_privileged(&ns(Some("privileged"))).is_ok());
        for level in ["baseline", "restricted", "Restricted", "nonsense"] {
            assert_eq!(
                pod_security_admits_privileged(&ns(Some(level))),
                Err(level.to_string())
            );
        }
    }

    #[test]
    fn requirements() {
        let i = inst(json!({}));
        let with_exe = json!({"metadata": {"annotations": {TARGET_EXE_ANNOTATION: "/app"}},
                              "spec": {"containers": [{"name": "app"}]}});
        let c = json!({"name": "app"});
        let label = |r: Option<Reason>| r.map(|r| r.label().to_string());
        assert_eq!(
            with_cx(&i, "", &with_exe, |cx| label(Go.validate(
                &c,
                ContainerList::Regular,
                cx
            ))),
            None
        );
        assert_eq!(
            with_cx(&i, "", &with_exe, |cx| label(Go.validate(
                &c,
                ContainerList::Init,
                cx
            ))),
            Some("go_init_container".into())
        );
        let no_exe = json!({"spec": {"containers": [{"name": "app"}]}});
        assert_eq!(
            with_cx(&i, "", &no_exe, |cx| label(Go.validate(
                &c,
                ContainerList::Regular,
                cx
            ))),
            Some("go_target_exe_missing".into())
        );
        // The variable in spec.go.env or spec.env will do.
        for spec in [
            json!({"go": {"env": [{"name": OTEL_GO_AUTO_TARGET_EXE, "value": "/app"}]}}),
            json!({"env": [{"name": OTEL_GO_AUTO_TARGET_EXE, "value": "/app"}]}),
        ] {
            let i = inst(spec);
            assert_eq!(
                with_cx(&i, "", &no_exe, |cx| label(Go.validate(
                    &c,
                    ContainerList::Regular,
                    cx
                ))),
                None
            );
        }
        let unshared = json!({"metadata": {"annotations": {TARGET_EXE_ANNOTATION: "/app"}},
                              "spec": {"shareProcessNamespace": false, "containers": [{"name": "app"}]}});
        assert_eq!(
            with_cx(&i, "", &unshared, |cx| label(Go.validate(
                &c,
                ContainerList::Regular,
                cx
            ))),
            Some("go_process_namespace".into())
        );
    }
}
