//! The part every language shares, and all that `inject-sdk` does: the node/pod IP env, the
//! Instrumentation's common env, and the SDK configuration (`OTEL_SERVICE_NAME`, exporter,
//! resource attributes, propagators, sampler) in the operator's order, with
//! `OTEL_RESOURCE_ATTRIBUTES` last so its `$(VAR)` references resolve.

use serde_json::json;

use crate::context::{NamespaceInfo, OwnerObject};
use crate::env;
use crate::instrumentation::Instrumentation;
use crate::json::JsonView;
use crate::names::{annotation, attr, env as envn, label};
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::{container, PodView};
use crate::resource_attributes::{existing_keys, reference, ResourceAttributes};

/// `OTEL_NODE_IP` and `OTEL_POD_IP` (prepended, node first), then `spec.env` (appended).
pub(crate) fn inject_common_env(b: &mut PatchBuilder, c: ContainerRef, inst: &Instrumentation) {
    env::prepend_if_absent(b, c, env::field_ref(envn::OTEL_POD_IP, "status.podIP"));
    env::prepend_if_absent(b, c, env::field_ref(envn::OTEL_NODE_IP, "status.hostIP"));
    for var in &inst.spec.env {
        env::append_if_absent(b, c, var.to_json());
    }
}

/// Owner-derived attributes of a pod, and what could not be resolved.
#[derive(Debug, Clone, Default)]
pub(crate) struct OwnerAttributes {
    pub attrs: Vec<(&'static str, String)>,
    pub warnings: Vec<String>,
}

/// Walks the pod's owner references (ReplicaSet → Deployment, Job → CronJob, StatefulSet,
/// DaemonSet, and Deployment/CronJob directly for offline templates).
pub(crate) fn owner_attributes(
    pod: &PodView<'_>,
    owners: &[OwnerObject],
    add_uid: bool,
) -> OwnerAttributes {
    let mut out = OwnerAttributes::default();
    walk_owners(&pod.owner_references(), owners, add_uid, &mut out, 0);
    out
}

fn walk_owners(
    refs: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference],
    owners: &[OwnerObject],
    add_uid: bool,
    out: &mut OwnerAttributes,
    depth: usize,
) {
    if depth > 4 {
        return;
    }
    for r in refs {
        let kind = r.kind.to_ascii_lowercase();
        let (name_key, uid_key, lookup) = match kind.as_str() {
            "replicaset" => (attr::K8S_REPLICASET_NAME, attr::K8S_REPLICASET_UID, true),
            "deployment" => (attr::K8S_DEPLOYMENT_NAME, attr::K8S_DEPLOYMENT_UID, false),
            "statefulset" => (attr::K8S_STATEFULSET_NAME, attr::K8S_STATEFULSET_UID, false),
            "daemonset" => (attr::K8S_DAEMONSET_NAME, attr::K8S_DAEMONSET_UID, false),
            "job" => (attr::K8S_JOB_NAME, attr::K8S_JOB_UID, true),
            "cronjob" => (attr::K8S_CRONJOB_NAME, attr::K8S_CRONJOB_UID, false),
            _ => continue,
        };
        out.attrs.push((name_key, r.name.clone()));
        if add_uid {
            out.attrs.push((uid_key, r.uid.clone()));
        }
        if lookup {
            match owners
                .iter()
                .find(|o| o.kind.eq_ignore_ascii_case(&r.kind) && o.name == r.name)
            {
                Some(o) => walk_owners(&o.owner_references, owners, add_uid, out, depth + 1),
                None => {
                    out.warnings.push(format!(
                    "{} {} was not found in time, so the attributes of its owner ({}) are missing",
                    r.kind,
                    r.name,
                    if kind == "job" { "k8s.cronjob.name" } else { "k8s.deployment.name" }
                ))
                }
            }
        }
    }
}

/// What the SDK configuration of one container is computed from.
pub(crate) struct SdkInputs<'a> {
    pub inst: &'a Instrumentation,
    pub ns: &'a NamespaceInfo,
    pub pod: PodView<'a>,
    pub owners: &'a OwnerAttributes,
    /// The pod is an Argo Workflows step (and Argo awareness is on).
    pub argo: bool,
}

/// The service name of an Argo Workflows step: its `app.kubernetes.io/name` label (set through
/// the WorkflowTemplate's `podMetadata`), else the workflow's name without the random suffix
/// `generateName` added. The pod name would give one "service" per step run.
fn argo_service_name(pod: &PodView<'_>) -> Option<String> {
    if let Some(n) = pod.label(label::APP_NAME).filter(|n| !n.is_empty()) {
        return Some(n.to_string());
    }
    let wf = pod.label(label::ARGO_WORKFLOW).filter(|n| !n.is_empty())?;
    let base = match wf.rsplit_once('-') {
        Some((base, suffix))
            if suffix.len() == 5
                && suffix
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
        {
            base
        }
        _ => wf,
    };
    Some(base.to_string())
}

fn label_or_annotation(pod: &PodView<'_>, use_labels: bool, key: &str, labels: &[&str]) -> String {
    let ann = format!("{}{key}", annotation::RESOURCE_PREFIX);
    if let Some(v) = pod.annotation(&ann).filter(|v| !v.is_empty()) {
        return v.to_string();
    }
    if use_labels {
        for l in labels {
            if let Some(v) = pod.label(l).filter(|v| !v.is_empty()) {
                return v.to_string();
            }
        }
    }
    String::new()
}

/// The operator's `createResourceMap`, except that keys the user already set in the
/// container's `OTEL_RESOURCE_ATTRIBUTES` are never added again (it re-adds some).
fn resource_map<'v>(
    inputs: &SdkInputs<'_>,
    c: impl JsonView<'v>,
    existing: &[&str],
) -> ResourceAttributes {
    let mut res = ResourceAttributes::new();
    let free = |k: &str| !existing.contains(&k);
    if let Some(r) = &inputs.inst.spec.resource {
        for (k, v) in &r.resource_attributes {
            if free(k) {
                res.insert(k.clone(), v.clone());
            }
        }
    }
    let ns = inputs.ns.name.as_str();
    let cname = container::name(c);
    let instance_id = {
        let a = label_or_annotation(&inputs.pod, false, attr::SERVICE_INSTANCE_ID, &[]);
        if !a.is_empty() {
            a
        } else if !ns.is_empty() && !cname.is_empty() {
            format!(
                "{ns}.{}.{cname}",
                reference(envn::OTEL_RESOURCE_ATTRIBUTES_POD_NAME)
            )
        } else {
            String::new()
        }
    };
    let mut k8s: Vec<(&str, String)> = vec![
        (attr::K8S_NAMESPACE_NAME, ns.to_string()),
        (attr::K8S_CONTAINER_NAME, cname.to_string()),
        (attr::K8S_POD_NAME, inputs.pod.name().to_string()),
        (attr::K8S_POD_UID, inputs.pod.uid().to_string()),
        (attr::K8S_NODE_NAME, inputs.pod.node_name().to_string()),
        (attr::SERVICE_INSTANCE_ID, instance_id),
    ];
    k8s.extend(inputs.owners.attrs.iter().map(|(k, v)| (*k, v.clone())));
    for (k, v) in k8s {
        if free(k) && !v.is_empty() {
            res.insert(k, v);
        }
    }
    for (k, v) in inputs.pod.annotation_pairs() {
        if let Some(key) = k.strip_prefix(annotation::RESOURCE_PREFIX) {
            if free(key) && key != attr::SERVICE_NAME {
                res.insert(key, v.to_string());
            }
        }
    }
    let service_ns = label_or_annotation(
        &inputs.pod,
        inputs.inst.spec.use_labels(),
        attr::SERVICE_NAMESPACE,
        &[],
    );
    let service_ns = if service_ns.is_empty() {
        ns.to_string()
    } else {
        service_ns
    };
    if !service_ns.is_empty() && free(attr::SERVICE_NAMESPACE) {
        res.insert(attr::SERVICE_NAMESPACE, service_ns);
    }
    res
}

fn service_name<'v>(
    inputs: &SdkInputs<'_>,
    res: &ResourceAttributes,
    c: impl JsonView<'v>,
) -> String {
    let from_meta = label_or_annotation(
        &inputs.pod,
        inputs.inst.spec.use_labels(),
        attr::SERVICE_NAME,
        &[label::APP_INSTANCE, label::APP_NAME],
    );
    if !from_meta.is_empty() {
        return from_meta;
    }
    let owner = [
        attr::K8S_DEPLOYMENT_NAME,
        attr::K8S_REPLICASET_NAME,
        attr::K8S_STATEFULSET_NAME,
        attr::K8S_DAEMONSET_NAME,
        attr::K8S_CRONJOB_NAME,
        attr::K8S_JOB_NAME,
    ]
    .iter()
    .find_map(|k| res.non_empty(k));
    if let Some(name) = owner {
        return name.to_string();
    }
    if inputs.argo {
        if let Some(name) = argo_service_name(&inputs.pod) {
            return name;
        }
    }
    res.non_empty(attr::K8S_POD_NAME)
        .map(str::to_string)
        .unwrap_or_else(|| container::name(c).to_string())
}

fn service_version<'v>(inputs: &SdkInputs<'_>, c: impl JsonView<'v>) -> Option<String> {
    let v = label_or_annotation(
        &inputs.pod,
        inputs.inst.spec.use_labels(),
        attr::SERVICE_VERSION,
        &[label::APP_VERSION],
    );
    if !v.is_empty() {
        return Some(v);
    }
    crate::image::service_version(container::image(c))
}

/// How the SDK configuration would describe a container: its resource attributes (the
/// operator's `createResourceMap`, before the downward-API references are added) and its
/// service name (`chooseServiceName`). For agents configured by a file instead of env vars
/// (the web servers' modules), which write the same description into that file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Description {
    /// `OTEL_SERVICE_NAME` as the SDK step would choose it.
    pub service_name: String,
    /// The resource attributes, keys the container already sets in its own
    /// `OTEL_RESOURCE_ATTRIBUTES` left out.
    pub resource: ResourceAttributes,
}

/// Describes container `c` (as it is now) of the pod in `inputs`.
pub(crate) fn describe<'v>(inputs: &SdkInputs<'_>, c: impl JsonView<'v>) -> Description {
    let existing: Vec<&str> = container::env_value(c, envn::OTEL_RESOURCE_ATTRIBUTES)
        .map(existing_keys)
        .unwrap_or_default();
    let resource = resource_map(inputs, c, &existing);
    let service_name = service_name(inputs, &resource, c);
    Description {
        service_name,
        resource,
    }
}

/// The operator's `naming.Truncate(prefix+"%s", 63, name)`: shorten the name so the whole fits,
/// then trim non-alphanumerics from both ends.
pub(crate) fn truncated_name(prefix: &str, name: &str) -> String {
    let max = 63;
    let mut s = format!("{prefix}{name}");
    if s.len() > max {
        let keep = name.len().saturating_sub(s.len() - max);
        let mut cut = keep;
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        s = format!("{prefix}{}", &name[..cut]);
        s.truncate(max);
    }
    s.trim_matches(|ch: char| !ch.is_ascii_alphanumeric())
        .to_string()
}

fn configure_exporter(b: &mut PatchBuilder, c: ContainerRef, inst: &Instrumentation) {
    let Some(exporter) = &inst.spec.exporter else {
        return;
    };
    if let Some(ep) = exporter.endpoint.as_deref().filter(|e| !e.is_empty()) {
        env::append_if_absent(b, c, env::literal(envn::OTEL_EXPORTER_OTLP_ENDPOINT, ep));
    }
    let Some(tls) = &exporter.tls else {
        return;
    };
    let secret = tls.secret_name.as_deref().unwrap_or("");
    let cm = tls.config_map_name.as_deref().unwrap_or("");
    let secret_mount = format!("/otel-auto-instrumentation-secret-{secret}");
    let cm_mount = format!("/otel-auto-instrumentation-configmap-{cm}");
    let path = |dir: &str, file: &str| {
        if file.starts_with('/') {
            file.to_string()
        } else {
            format!("{dir}/{file}")
        }
    };
    if let Some(ca) = tls.ca_file.as_deref().filter(|f| !f.is_empty()) {
        let dir = if cm.is_empty() {
            &secret_mount
        } else {
            &cm_mount
        };
        env::append_if_absent(
            b,
            c,
            env::literal(envn::OTEL_EXPORTER_OTLP_CERTIFICATE, path(dir, ca)),
        );
    }
    if let Some(cert) = tls.cert_file.as_deref().filter(|f| !f.is_empty()) {
        env::append_if_absent(
            b,
            c,
            env::literal(
                envn::OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
                path(&secret_mount, cert),
            ),
        );
    }
    if let Some(key) = tls.key_file.as_deref().filter(|f| !f.is_empty()) {
        env::append_if_absent(
            b,
            c,
            env::literal(
                envn::OTEL_EXPORTER_OTLP_CLIENT_KEY,
                path(&secret_mount, key),
            ),
        );
    }
    // `optional: true`, unlike the operator: a Secret or ConfigMap that does not exist (yet)
    // leaves the mount empty and the pod starts, where a required one holds it in
    // ContainerCreating. Checking existence instead would take `get` on every Secret in the
    // cluster, which reads their contents; the exporter says which file it misses.
    let mut mounts = Vec::new();
    if !secret.is_empty() {
        let name = truncated_name("otel-auto-secret-", secret);
        mounts.push((
            name.clone(),
            secret_mount.clone(),
            json!({"name": name, "secret": {"secretName": secret, "optional": true}}),
        ));
    }
    if !cm.is_empty() {
        let name = truncated_name("otel-auto-configmap-", cm);
        mounts.push((
            name.clone(),
            cm_mount.clone(),
            json!({"name": name, "configMap": {"name": cm, "optional": true}}),
        ));
    }
    for (name, mount_path, volume) in mounts {
        if !b.volume_names().contains(&name.as_str()) {
            b.push(&["spec", "volumes"], volume);
        }
        if !container::mount_names(b.container(c)).contains(&name.as_str()) {
            let idx = c.index.to_string();
            b.push(
                &["spec", c.list.key(), &idx, "volumeMounts"],
                json!({"name": name, "mountPath": mount_path, "readOnly": true}),
            );
        }
    }
}

/// The operator's `injectCommonSDKConfig`, in its order: the env goes into container `c`, the
/// resource attributes, service name and version describe container `app` (the same container
/// for every language that runs in the app's process).
pub(crate) fn inject_sdk_config(
    b: &mut PatchBuilder,
    c: ContainerRef,
    app: ContainerRef,
    inputs: &SdkInputs<'_>,
) {
    let inst = inputs.inst;
    let existing_value =
        container::env_value(b.container(c), envn::OTEL_RESOURCE_ATTRIBUTES).map(str::to_string);
    let existing: Vec<&str> = existing_value
        .as_deref()
        .map(existing_keys)
        .unwrap_or_default();
    let mut res = resource_map(inputs, b.container(app), &existing);
    let free = |k: &str| !existing.contains(&k);

    if !env::has(b, c, envn::OTEL_SERVICE_NAME) {
        let name = service_name(inputs, &res, b.container(app));
        env::append_if_absent(b, c, env::literal(envn::OTEL_SERVICE_NAME, &name));
    }
    configure_exporter(b, c, inst);

    env::append_if_absent(
        b,
        c,
        env::field_ref(envn::OTEL_RESOURCE_ATTRIBUTES_POD_NAME, "metadata.name"),
    );
    if free(attr::K8S_POD_NAME) {
        res.insert(
            attr::K8S_POD_NAME,
            reference(envn::OTEL_RESOURCE_ATTRIBUTES_POD_NAME),
        );
    }
    if inst.spec.add_uid_attributes() && res.non_empty(attr::K8S_POD_UID).is_none() {
        env::append_if_absent(
            b,
            c,
            env::field_ref(envn::OTEL_RESOURCE_ATTRIBUTES_POD_UID, "metadata.uid"),
        );
        if free(attr::K8S_POD_UID) {
            res.insert(
                attr::K8S_POD_UID,
                reference(envn::OTEL_RESOURCE_ATTRIBUTES_POD_UID),
            );
        }
    }
    if !existing_value
        .as_deref()
        .is_some_and(|v| v.contains(attr::SERVICE_VERSION))
    {
        if let Some(v) = service_version(inputs, b.container(app)) {
            res.insert(attr::SERVICE_VERSION, v);
        }
    }
    if res.non_empty(attr::K8S_NODE_NAME).is_none() {
        env::append_if_absent(
            b,
            c,
            env::field_ref(envn::OTEL_RESOURCE_ATTRIBUTES_NODE_NAME, "spec.nodeName"),
        );
        if free(attr::K8S_NODE_NAME) {
            res.insert(
                attr::K8S_NODE_NAME,
                reference(envn::OTEL_RESOURCE_ATTRIBUTES_NODE_NAME),
            );
        }
    }

    let rendered = res.render();
    // Ours is appended last, after the propagators and the sampler, where the operator moves
    // it: one op instead of an add, a remove and an add again.
    let mut ours = None;
    match container::env_index(b.container(c), envn::OTEL_RESOURCE_ATTRIBUTES) {
        None => ours = Some(env::literal(envn::OTEL_RESOURCE_ATTRIBUTES, &rendered)),
        // A value from `valueFrom` cannot be extended: an entry with both `value` and
        // `valueFrom` is rejected by the API server (the operator writes exactly that, and the
        // pod cannot be created). The user's variable wins, as every user variable does.
        Some(i)
            if container::env_item(b.container(c), i)
                .and_then(|e| e.member("valueFrom"))
                .is_some() => {}
        Some(i) if !rendered.is_empty() => {
            let old = existing_value.unwrap_or_default();
            let joined = if old.is_empty() || old.ends_with(',') {
                format!("{old}{rendered}")
            } else {
                format!("{old},{rendered}")
            };
            env::set_value(b, c, i, &joined);
        }
        Some(_) => {}
    }

    if !inst.spec.propagators.is_empty() {
        let joined = inst
            .spec
            .propagators
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(",");
        env::append_if_absent(b, c, env::literal(envn::OTEL_PROPAGATORS, &joined));
    }
    if let Some(sampler) = &inst.spec.sampler {
        if let Some(kind) = sampler.type_ {
            if !env::has(b, c, envn::OTEL_TRACES_SAMPLER)
                && !env::has(b, c, envn::OTEL_TRACES_SAMPLER_ARG)
            {
                env::append_if_absent(b, c, env::literal(envn::OTEL_TRACES_SAMPLER, kind.as_str()));
                if let Some(arg) = sampler.argument.as_deref().filter(|a| !a.is_empty()) {
                    env::append_if_absent(b, c, env::literal(envn::OTEL_TRACES_SAMPLER_ARG, arg));
                }
            }
        }
    }
    match ours {
        Some(var) => env::append_if_absent(b, c, var),
        None => env::move_to_end(b, c, envn::OTEL_RESOURCE_ATTRIBUTES),
    }
}

#[cfg(test)]
mod tests {
    use super::truncated_name;

    #[test]
    fn volume_names_are_truncated_like_the_operator() {
        assert_eq!(
            truncated_name("otel-auto-secret-", "certs"),
            "otel-auto-secret-certs"
        );
        let long = "a".repeat(60);
        let n = truncated_name("otel-auto-secret-", &long);
        assert_eq!(n.len(), 63);
        assert!(n.starts_with("otel-auto-secret-aaa"));
        assert_eq!(
            truncated_name("otel-auto-secret-", &format!("{}-b", "a".repeat(45))),
            format!("otel-auto-secret-{}", "a".repeat(45))
        );
    }
}
