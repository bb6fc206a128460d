//! One unit per language, each in its own file: its names and paths, its default image and
//! init-container resources (the operator's CR defaults), its annotation options, which
//! containers can take it, the env and mount it adds to a container, and the volume and init
//! containers it adds to the pod. [`mutate`](crate::mutate()) runs every unit through the same steps, in
//! the operator's order:
//!
//! 1. `Unit::validate` a target container (skip it, with the reason, when it cannot take the
//!    language);
//! 2. `Unit::container_env_and_mount`: the language block's `env` and the agent mount;
//! 3. the common env (`OTEL_NODE_IP`, `OTEL_POD_IP`, `spec.env`), shared;
//! 4. `Unit::default_env`: the language's own variables (`JAVA_TOOL_OPTIONS`, ...);
//! 5. the SDK configuration, shared, once per container;
//! 6. once at least one container took it, `Unit::pod`: the volume and the init containers.
//!
//! A new language is one new file and one line in `UNITS`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::annotations::{AnnotationError, Language};
use crate::context::NamespaceInfo;
use crate::decision::Reason;
use crate::env;
use crate::instrumentation::{AgentBlock, EnvVar, Instrumentation, LanguageSpec};
use crate::json::Field;
use crate::names::DEFAULT_VOLUME_SIZE_LIMIT;
use crate::patch::{ContainerRef, Current, PatchBuilder};
use crate::pod::{container, ContainerList, PodView};
use crate::sdk::{self, Description, SdkInputs};

pub mod apache_httpd;
pub mod dotnet;
pub mod go;
pub mod java;
pub mod nginx;
pub mod nodejs;
pub mod python;
mod sdk_only;
pub mod webserver;

/// The languages otel-inject injects, in the operator's order. A language requested but not
/// listed here is reported as not supported.
pub(crate) static UNITS: &[&dyn Unit] = &[
    &java::Java,
    &nodejs::NodeJs,
    &python::Python,
    &dotnet::DotNet,
    &go::Go,
    &apache_httpd::ApacheHttpd,
    &nginx::Nginx,
    &sdk_only::Sdk,
];

/// The unit of `lang`, if otel-inject injects it.
pub(crate) fn unit(lang: Language) -> Option<&'static dyn Unit> {
    UNITS.iter().copied().find(|u| u.language() == lang)
}

/// The languages otel-inject injects, in the operator's order.
pub fn supported() -> impl Iterator<Item = Language> {
    UNITS.iter().map(|u| u.language())
}

/// What a unit's steps read: the Instrumentation, the pod-wide option its annotation chose
/// (the .NET runtime's profiler path, Python's copy source; empty for languages without one),
/// the pod as it came in, its namespace, the language's target containers, what the SDK
/// configuration is computed from, and the languages already injected into this pod.
pub(crate) struct LangCx<'a> {
    pub inst: &'a Instrumentation,
    pub variant: &'static str,
    pub pod: PodView<'a>,
    pub ns: &'a NamespaceInfo,
    pub targets: &'a [String],
    pub sdk: &'a SdkInputs<'a>,
    /// The languages injected into this pod before this one, in the operator's order.
    pub before: &'a [Language],
}

impl LangCx<'_> {
    /// Container `c` (as it is now) as the SDK configuration would describe it: for an agent
    /// that takes the service name and resource attributes from a file rather than the env.
    pub fn describe(&self, c: Current<'_>) -> Description {
        sdk::describe(self.sdk, c)
    }

    /// The security context of the init containers added for target `first` (as the pod came
    /// in): `spec.initContainerSecurityContext` as written, else the target's, hardened.
    pub fn init_security_context(&self, first: &str) -> Option<Value> {
        let explicit = self
            .inst
            .spec
            .init_container_security_context
            .as_ref()
            .and_then(|sc| serde_json::to_value(sc).ok());
        let target = self.pod.find_container(first).map(|(_, _, c)| c);
        crate::security::init_container_security_context(explicit.as_ref(), target, &self.pod)
    }
}

/// Namespace and pod annotations.
pub(crate) type Annotations = BTreeMap<String, String>;

/// One language's injection. Every step has a default that does nothing, so a unit states only
/// what its language does.
pub(crate) trait Unit: Sync {
    /// The language.
    fn language(&self) -> Language;

    /// The pod-wide option read from the language's annotation (`otel-dotnet-auto-runtime`,
    /// `otel-python-platform`), by the usual pod-over-namespace precedence. An unsupported
    /// value skips every container of this language with the error.
    fn variant(
        &self,
        _ns: &Annotations,
        _pod: &Annotations,
    ) -> Result<&'static str, AnnotationError> {
        Ok("")
    }

    /// Why container `c` (in `list`) cannot take the language, if it cannot.
    fn validate(&self, _c: &Value, _list: ContainerList, _cx: &LangCx<'_>) -> Option<Reason> {
        None
    }

    /// The container that receives the env for target `app`: `app` itself for every language
    /// that runs in the app's process. A unit whose agent runs beside the app (Go's sidecar)
    /// adds that container here and returns it; the SDK configuration then goes into it and
    /// still describes `app`.
    fn env_target(
        &self,
        _b: &mut PatchBuilder,
        app: ContainerRef,
        _cx: &LangCx<'_>,
    ) -> ContainerRef {
        app
    }

    /// Step 1: the language block's `env` (append-if-absent) and the agent mount. The web
    /// servers also add their init containers here, on the first container, because one of
    /// them is a copy of that container as it is at this step (the operator's order).
    fn container_env_and_mount(&self, _b: &mut PatchBuilder, _c: ContainerRef, _cx: &LangCx<'_>) {}

    /// Step 4: the language's own variables, after the common env.
    fn default_env(&self, _b: &mut PatchBuilder, _c: ContainerRef, _cx: &LangCx<'_>) {}

    /// Step 6: the volume and init containers, placed for `first` (the first container that
    /// took the language), with the init containers' security context.
    fn pod(&self, _b: &mut PatchBuilder, _cx: &LangCx<'_>, _first: &str, _sc: Option<Value>) {}
}

/// An empty language block, for a CR that leaves the language out.
pub(crate) static EMPTY_BLOCK: LanguageSpec = LanguageSpec {
    image: None,
    volume_claim_template: None,
    volume_limit_size: None,
    env: Vec::new(),
    resource_requirements: None,
};

/// The operator's CR defaults for an agent: image and init-container resources.
pub(crate) struct Defaults {
    /// Image when the CR leaves it empty.
    pub image: &'static str,
    /// `limits` (cpu, memory) when the CR has none.
    pub limits: (&'static str, &'static str),
    /// `requests` (cpu, memory) when the CR has none.
    pub requests: (&'static str, &'static str),
}

impl Defaults {
    /// The image, the CR's when it names one.
    pub fn image<'a>(&'a self, block: &'a dyn AgentBlock) -> &'a str {
        block.image().unwrap_or(self.image)
    }

    /// The init container's resources: the CR's, with a missing `limits` or `requests` filled
    /// in as the operator's CR defaulter does.
    pub fn resources(&self, block: &dyn AgentBlock) -> Value {
        let list = |(cpu, memory): (&str, &str)| json!({"cpu": cpu, "memory": memory});
        let mut r = block
            .resources()
            .and_then(|r| serde_json::to_value(r).ok())
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({}));
        if let Some(obj) = r.as_object_mut() {
            if obj.field("limits").is_none_or(Value::is_null) {
                obj.insert("limits".into(), list(self.limits));
            }
            if obj.field("requests").is_none_or(Value::is_null) {
                obj.insert("requests".into(), list(self.requests));
            }
        }
        r
    }
}

/// Appends the language block's env vars the container does not set yet.
pub(crate) fn append_block_env(b: &mut PatchBuilder, c: ContainerRef, vars: &[EnvVar]) {
    for var in vars {
        env::append_if_absent(b, c, var.to_json());
    }
}

/// Mounts `volume` at `path`, unless the container already mounts that volume or that path
/// (a second mount of either would make the pod invalid).
pub(crate) fn mount(b: &mut PatchBuilder, c: ContainerRef, volume: &str, path: &str) {
    let cont = b.container(c);
    if container::mount_names(cont).contains(&volume)
        || container::mount_paths(cont).contains(&path)
    {
        return;
    }
    let idx = c.index.to_string();
    b.push(
        &["spec", c.list.key(), &idx, "volumeMounts"],
        json!({"name": volume, "mountPath": path}),
    );
}

/// The agent volume: an ephemeral claim when the block has a template, else an emptyDir of the
/// block's size limit (200Mi by default).
pub(crate) fn volume(block: &dyn AgentBlock, name: &str) -> Value {
    match block.volume_claim_template() {
        Some(t) => json!({"name": name, "ephemeral": {"volumeClaimTemplate": t}}),
        None => {
            let size = block
                .volume_limit_size()
                .map(|q| q.0.as_str())
                .unwrap_or(DEFAULT_VOLUME_SIZE_LIMIT);
            json!({"name": name, "emptyDir": {"sizeLimit": size}})
        }
    }
}

/// An init container that copies an agent into its volume.
pub(crate) struct CopyContainer<'a> {
    pub name: String,
    pub image: &'a str,
    pub command: Vec<String>,
    pub resources: Value,
    pub volume: &'a str,
    pub mount_path: &'a str,
    pub pull_policy: Option<&'a str>,
}

impl CopyContainer<'_> {
    /// The container, with `securityContext` when there is one.
    pub fn build(self, sc: Option<Value>) -> Value {
        let mut c = json!({
            "name": self.name,
            "image": self.image,
            "command": self.command,
            "resources": self.resources,
            "volumeMounts": [{"name": self.volume, "mountPath": self.mount_path}],
        });
        if let Some(obj) = c.as_object_mut() {
            if let Some(p) = self.pull_policy.filter(|p| !p.is_empty()) {
                obj.insert("imagePullPolicy".into(), json!(p));
            }
            if let Some(sc) = sc {
                obj.insert("securityContext".into(), sc);
            }
        }
        c
    }
}

/// The pod step of an agent whose init container copies a directory of its image with
/// `cp -r <source> <mount path>` into a volume mounted at the same path everywhere (Node.js,
/// Python, .NET): the volume and that one init container.
#[allow(clippy::too_many_arguments)]
pub(crate) fn copy_tree_to_pod(
    b: &mut PatchBuilder,
    cx: &LangCx<'_>,
    block: &dyn AgentBlock,
    defaults: &Defaults,
    (volume, init_container, mount_path): (&str, &str, &str),
    source: &str,
    first: &str,
    sc: Option<Value>,
) {
    let init = CopyContainer {
        name: init_container.into(),
        image: defaults.image(block),
        command: vec!["cp".into(), "-r".into(), source.into(), mount_path.into()],
        resources: defaults.resources(block),
        volume,
        mount_path,
        pull_policy: pull_policy(cx.inst),
    }
    .build(sc);
    add_to_pod(b, self::volume(block, volume), vec![init], first);
}

/// The CR's `imagePullPolicy` for the agent init containers.
pub(crate) fn pull_policy(inst: &Instrumentation) -> Option<&str> {
    inst.spec.image_pull_policy.as_deref()
}

/// Adds the volume and the init containers once (nothing when `inits[0]` is already there):
/// before `first` when it is an init container, so the agent is in place when it runs, else at
/// the end of the init containers.
pub(crate) fn add_to_pod(b: &mut PatchBuilder, volume: Value, inits: Vec<Value>, first: &str) {
    let Some(main) = inits.first().and_then(|c| c["name"].as_str()) else {
        return;
    };
    if b.container_names(ContainerList::Init).contains(&main) {
        return;
    }
    let vol_name = volume["name"].as_str().unwrap_or_default();
    if !b.volume_names().contains(&vol_name) {
        b.push(&["spec", "volumes"], volume);
    }
    for init in inits {
        match b.find_container(first) {
            Some(ContainerRef {
                list: ContainerList::Init,
                index,
            }) => b.insert(&["spec", "initContainers"], index, init),
            _ => b.push(&["spec", "initContainers"], init),
        }
    }
}

/// `var` set through `valueFrom` in the container: the language cannot extend it.
pub(crate) fn value_from(c: &Value, vars: &[&str]) -> Option<Reason> {
    vars.iter()
        .find(|v| container::env_is_value_from(c, v))
        .map(|v| Reason::EnvValueFrom(v.to_string()))
}

/// The container's `var` already holds `marker`: this language was injected before.
pub(crate) fn marked(c: &Value, var: &str, marker: &str) -> Option<Reason> {
    container::env_value(c, var)
        .filter(|v| v.contains(marker))
        .map(|_| Reason::ContainerAlreadyInjected(var.to_string()))
}

/// Sets `var` to `ours` when absent, else to the user's value, `separator`, then `ours` (the
/// operator's `appendOrReplace` of `JAVA_TOOL_OPTIONS` and `NODE_OPTIONS`, whose values start
/// with a space, its `setDotNetEnvVar` lists and nginx's `LD_LIBRARY_PATH`, joined with `:`).
/// A `valueFrom` is never touched.
pub(crate) fn append_to_value(
    b: &mut PatchBuilder,
    c: ContainerRef,
    var: &str,
    separator: &str,
    ours: &str,
) {
    let cont = b.container(c);
    match container::env_index(cont, var) {
        None => env::append_if_absent(b, c, env::literal(var, ours)),
        Some(_) if container::env_is_value_from(cont, var) => {}
        Some(i) => {
            let old = container::env_value(cont, var).unwrap_or("").to_string();
            env::set_value(b, c, i, &format!("{old}{separator}{ours}"));
        }
    }
}

/// Appends literal `vars` the container does not set yet, in order.
pub(crate) fn append_defaults(b: &mut PatchBuilder, c: ContainerRef, vars: &[(&str, &str)]) {
    for (name, value) in vars {
        env::append_if_absent(b, c, env::literal(name, *value));
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! Table-test helpers for the units: one container, one step, the env it ends with.

    use serde_json::{json, Value};

    use super::{LangCx, Unit};
    use crate::context::NamespaceInfo;
    use crate::instrumentation::Instrumentation;
    use crate::patch::{ContainerRef, PatchBuilder};
    use crate::pod::{ContainerList, PodView};
    use crate::sdk::{OwnerAttributes, SdkInputs};

    /// An Instrumentation from its `spec`.
    pub fn inst(spec: Value) -> Instrumentation {
        serde_json::from_value(json!({
            "apiVersion": "opentelemetry.io/v1alpha1", "kind": "Instrumentation",
            "metadata": {"name": "i", "namespace": "ns"}, "spec": spec
        }))
        .expect("Instrumentation")
    }

    /// A pod with one container `app` holding `env`.
    pub fn pod(env: Value) -> Value {
        json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "app", "image": "app:1", "env": env}]}})
    }

    /// Runs `f` with a context for `inst` and `variant` over `pod`.
    pub fn with_cx<R>(
        inst: &Instrumentation,
        variant: &'static str,
        pod: &Value,
        f: impl FnOnce(&LangCx<'_>) -> R,
    ) -> R {
        let ns = NamespaceInfo::named("ns");
        let view = PodView::new(pod);
        let owners = OwnerAttributes::default();
        let sdk = SdkInputs {
            inst,
            ns: &ns,
            pod: view,
            owners: &owners,
            argo: false,
        };
        f(&LangCx {
            inst,
            variant,
            pod: view,
            ns: &ns,
            targets: &[],
            sdk: &sdk,
            before: &[],
        })
    }

    /// Runs steps 1 and 4 of `unit` on the pod's container and returns the pod after.
    pub fn container_steps(
        unit: &dyn Unit,
        pod: &Value,
        inst: &Instrumentation,
        variant: &'static str,
    ) -> Value {
        let mut b = PatchBuilder::new(pod);
        let c = ContainerRef {
            list: ContainerList::Regular,
            index: 0,
        };
        with_cx(inst, variant, pod, |cx| {
            unit.container_env_and_mount(&mut b, c, cx);
            unit.default_env(&mut b, c, cx);
        });
        b.finish().1
    }

    /// `unit`'s verdict on container `c` (a regular container).
    pub fn validate(
        unit: &dyn Unit,
        c: &Value,
        inst: &Instrumentation,
    ) -> Option<crate::decision::Reason> {
        let pod = json!({"spec": {"containers": [c]}});
        with_cx(inst, "", &pod, |cx| {
            unit.validate(c, ContainerList::Regular, cx)
        })
    }

    /// The container's env as (name, value) pairs.
    pub fn env_of(pod: &Value) -> Vec<(String, String)> {
        pod["spec"]["containers"][0]["env"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["name"].as_str().unwrap_or_default().to_string(),
                    e["value"].as_str().unwrap_or("<valueFrom>").to_string(),
                )
            })
            .collect()
    }
}
