//! The agent init container's security context. The operator copies the first target
//! container's (or `spec.initContainerSecurityContext`) as is; we start from the same, then
//! make it pass the "restricted" Pod Security Standard whenever that does not depend on the
//! image: no privilege escalation, no added capabilities, ALL dropped, RuntimeDefault seccomp,
//! and a non-root UID when the pod requires non-root but names no UID (the agent image's
//! default user is root, which the kubelet would refuse). A container that runs as root keeps
//! running as root: we never add `runAsNonRoot` ourselves.

use serde_json::{json, Map, Value};

use crate::json::Field;
use crate::pod::PodView;

/// The UID the copy runs as when the pod demands non-root without naming a UID.
pub const NON_ROOT_UID: i64 = 65532;

/// The security context for the agent init container. An explicit
/// `spec.initContainerSecurityContext` is used exactly as written.
pub fn init_container_security_context(
    explicit: Option<&Value>,
    first_target: Option<&Value>,
    pod: &PodView<'_>,
) -> Option<Value> {
    if let Some(e) = explicit.filter(|v| !v.is_null()) {
        return Some(e.clone());
    }
    let mut sc: Map<String, Value> = first_target
        .and_then(|c| c.field("securityContext"))
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let pod_sc = pod.pod_security_context();

    // Copying files needs no privileges.
    sc.remove("privileged");
    sc.insert("allowPrivilegeEscalation".into(), Value::Bool(false));
    let caps = sc
        .entry("capabilities")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .map(|caps| {
            caps.remove("add");
            caps.insert("drop".into(), json!(["ALL"]));
        });
    if caps.is_none() {
        sc.insert("capabilities".into(), json!({"drop": ["ALL"]}));
    }
    let pod_has_seccomp = pod_sc.is_some_and(|p| p.field("seccompProfile").is_some());
    if sc.field("seccompProfile").is_none() && !pod_has_seccomp {
        sc.insert("seccompProfile".into(), json!({"type": "RuntimeDefault"}));
    }
    let flag = |m: Option<&Map<String, Value>>, k: &str| m.and_then(|m| m.get(k)).cloned();
    let non_root = flag(Some(&sc), "runAsNonRoot")
        .or_else(|| flag(pod_sc, "runAsNonRoot"))
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let uid_named = flag(Some(&sc), "runAsUser").is_some() || flag(pod_sc, "runAsUser").is_some();
    if non_root && !uid_named {
        sc.insert("runAsUser".into(), json!(NON_ROOT_UID));
    }
    Some(Value::Object(sc))
}
