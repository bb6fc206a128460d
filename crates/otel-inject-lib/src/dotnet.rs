//! .NET injection: the CLR profiler and startup hook env, the agent volume and the init
//! container that copies the agent into it. Same names, paths, values and order as the
//! OpenTelemetry Operator, so the result is interchangeable with its.

use serde_json::{json, Value};

use crate::annotations::DotnetRuntime;
use crate::decision::Reason;
use crate::env;
use crate::instrumentation::Instrumentation;
use crate::names::{dotnet, env as envn, DEFAULT_VOLUME_SIZE_LIMIT};
use crate::patch::{ContainerRef, PatchBuilder};
use crate::pod::container;

/// Why a container cannot take the .NET agent, if it cannot.
pub(crate) fn validate(c: &Value, inst: &Instrumentation) -> Option<Reason> {
    for var in [
        envn::DOTNET_STARTUP_HOOKS,
        envn::DOTNET_ADDITIONAL_DEPS,
        envn::DOTNET_SHARED_STORE,
    ] {
        if container::env_is_value_from(c, var) {
            return Some(Reason::EnvValueFrom(var.to_string()));
        }
    }
    if container::env_index(c, envn::OTEL_DOTNET_AUTO_HOME).is_some() {
        return Some(Reason::ContainerAlreadyInjected(
            envn::OTEL_DOTNET_AUTO_HOME.to_string(),
        ));
    }
    let spec = inst.spec.dotnet_or_default();
    if spec
        .env
        .iter()
        .any(|e| e.name == envn::OTEL_DOTNET_AUTO_HOME)
    {
        return Some(Reason::DotnetHomeInSpec);
    }
    None
}

/// Step 1 of the operator: the language env and the agent mount.
pub(crate) fn inject_container_env_and_mount(
    b: &mut PatchBuilder,
    c: ContainerRef,
    inst: &Instrumentation,
) {
    for var in &inst.spec.dotnet_or_default().env {
        if let Ok(v) = serde_json::to_value(var) {
            env::append_if_absent(b, c, v);
        }
    }
    let cont = b.container(c);
    if !container::mount_names(cont).contains(&dotnet::VOLUME)
        && !container::mount_paths(cont).contains(&dotnet::MOUNT_PATH)
    {
        let idx = c.index.to_string();
        b.push(
            &["spec", c.list.key(), &idx, "volumeMounts"],
            json!({"name": dotnet::VOLUME, "mountPath": dotnet::MOUNT_PATH}),
        );
    }
}

/// The operator's `setDotNetEnvVar`: add when absent; when present, concatenate the `:` lists
/// and keep the user's value for the rest; never touch a `valueFrom`.
fn set_dotnet_env(b: &mut PatchBuilder, c: ContainerRef, name: &str, value: &str, concat: bool) {
    let cont = b.container(c);
    match container::env_index(cont, name) {
        None => env::append_if_absent(b, c, env::literal(name, value)),
        Some(_) if container::env_is_value_from(cont, name) => {}
        Some(i) if concat => {
            let old = container::env_value(cont, name).unwrap_or("").to_string();
            env::set_value(b, c, i, &format!("{old}:{value}"));
        }
        Some(_) => {}
    }
}

/// The .NET env defaults, in the operator's order.
pub(crate) fn inject_defaults(b: &mut PatchBuilder, c: ContainerRef, runtime: DotnetRuntime) {
    set_dotnet_env(b, c, envn::CORECLR_ENABLE_PROFILING, "1", false);
    set_dotnet_env(b, c, envn::CORECLR_PROFILER, dotnet::PROFILER_ID, false);
    set_dotnet_env(
        b,
        c,
        envn::CORECLR_PROFILER_PATH,
        runtime.profiler_path(),
        false,
    );
    set_dotnet_env(b, c, envn::DOTNET_STARTUP_HOOKS, dotnet::STARTUP_HOOK, true);
    set_dotnet_env(
        b,
        c,
        envn::DOTNET_ADDITIONAL_DEPS,
        dotnet::ADDITIONAL_DEPS,
        true,
    );
    set_dotnet_env(b, c, envn::OTEL_DOTNET_AUTO_HOME, dotnet::MOUNT_PATH, false);
    set_dotnet_env(b, c, envn::DOTNET_SHARED_STORE, dotnet::SHARED_STORE, true);
}

/// The agent volume: an ephemeral claim when the CR has a template, else an emptyDir.
pub(crate) fn volume(inst: &Instrumentation) -> Value {
    let spec = inst.spec.dotnet_or_default();
    match &spec.volume_claim_template {
        Some(t) => json!({"name": dotnet::VOLUME, "ephemeral": {"volumeClaimTemplate": t}}),
        None => {
            let size = spec
                .volume_limit_size
                .as_ref()
                .map(|q| q.0.clone())
                .unwrap_or_else(|| DEFAULT_VOLUME_SIZE_LIMIT.to_string());
            json!({"name": dotnet::VOLUME, "emptyDir": {"sizeLimit": size}})
        }
    }
}

/// The copy init container.
pub(crate) fn init_container(inst: &Instrumentation, security_context: Option<Value>) -> Value {
    let spec = inst.spec.dotnet_or_default();
    let mut c = json!({
        "name": dotnet::INIT_CONTAINER,
        "image": spec.dotnet_image_or_default(),
        "command": ["cp", "-r", dotnet::IMAGE_SOURCE, dotnet::MOUNT_PATH],
        "resources": spec.dotnet_resources_or_default(),
        "volumeMounts": [{"name": dotnet::VOLUME, "mountPath": dotnet::MOUNT_PATH}],
    });
    if let Some(obj) = c.as_object_mut() {
        if let Some(p) = inst
            .spec
            .image_pull_policy
            .as_deref()
            .filter(|p| !p.is_empty())
        {
            obj.insert("imagePullPolicy".into(), json!(p));
        }
        if let Some(sc) = security_context {
            obj.insert("securityContext".into(), sc);
        }
    }
    c
}
