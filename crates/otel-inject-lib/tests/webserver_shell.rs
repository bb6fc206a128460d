//! The web servers' init containers, run for real. `mutate` gives a pod its clone and agent
//! init containers; each runs here as the kubelet would run it (its command, args, env with
//! the downward API and `$(VAR)` resolved, its mounts, its user and no capabilities as its
//! security context says), in Debian's nginx and apache2 as installed (the "app image") or in
//! busybox with a stand-in agent (the "agent image"), see `tests/peers/webservers/`. What the
//! two leave in the pod's volumes is compared, file by file, with what the operator's scripts
//! (0.158.0, `internal/instrumentation/scripts/`) leave from the same input, as read from
//! them and written down below; then the app's server checks the result: `nginx -t` and
//! `apache2 -t`, with stub modules of the real module's names and directives built from
//! Debian's nginx-dev and apache2-dev (the real module is in the operator's image only).
//!
//! Needs root (a private mount namespace per container) and, once, Debian's packages
//! (`tests/peers/webservers/build.sh`, cached). `OTEL_INJECT_WEBSERVERS_SKIP=1` skips it on a
//! machine that has neither; CI never sets it.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::operator::names;
use common::*;
use otel_inject_lib::{InjectOptions, Language, NamespaceInfo};
use serde_json::{json, Value};

const POD_NAME: &str = "web-7d4b9c-x2x9q";
const POD_IP: &str = "10.1.2.3";
const HOST_IP: &str = "192.168.7.9";
const STAGED: &str = "/opt/opentelemetry-webserver/source-conf";
const AGENT: &str = "/opt/opentelemetry-webserver/agent";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The images, built once (`build.sh` prints where), or `None` when told to skip.
fn images() -> Option<PathBuf> {
    static IMAGES: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    IMAGES.get_or_init(build_images).clone()
}

fn build_images() -> Option<PathBuf> {
    if std::env::var("OTEL_INJECT_WEBSERVERS_SKIP").is_ok_and(|v| v == "1") {
        eprintln!("OTEL_INJECT_WEBSERVERS_SKIP=1: the web servers' scripts are not run");
        return None;
    }
    let start = Instant::now();
    let out = Command::new("bash")
        .arg(repo().join("tests/peers/webservers/build.sh"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "tests/peers/webservers/build.sh failed; it needs apt (Debian's packages) and gcc"
    );
    let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
    eprintln!("webservers: images ready in {:?}", start.elapsed());
    Some(PathBuf::from(dir))
}

/// A directory on the host that stands for an emptyDir (mode 0777, as the kubelet makes it).
struct Volume(PathBuf);

impl Volume {
    fn new(what: &str) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "otel-inject-webservers-{}-{}-{what}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        Self(dir)
    }
}

impl Drop for Volume {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The kubelet's `$(VAR)` expansion: a variable defined before expands, `$$` is `$`, anything
/// else stays as written.
fn expand(s: &str, vars: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = after.strip_prefix('(').and_then(|a| a.split_once(')')) {
            match vars.iter().rev().find(|(k, _)| k == name) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&format!("$({name})")),
            }
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// The container's env as the kubelet gives it to the process.
fn kubelet_env(c: &Value) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for e in c["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or_default().to_string();
        let value = if let Some(v) = e["value"].as_str() {
            expand(v, &vars)
        } else {
            match e["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                Some("metadata.name") => POD_NAME.into(),
                Some("status.podIP") => POD_IP.into(),
                Some("status.hostIP") => HOST_IP.into(),
                Some("spec.nodeName") => "node-1".into(),
                other => panic!("{name}: no downward value for {other:?} in this test"),
            }
        };
        vars.push((name, value));
    }
    vars
}

/// How a container runs: its image, the pod's user and the image's own (when the container's
/// security context names none, in that order, as the kubelet has it) and the host
/// directories behind its mounts.
struct Run<'a> {
    image: &'a str,
    pod_user: Option<u64>,
    image_user: Option<u32>,
    mounts: Vec<(&'a Path, String)>,
}

/// Runs `c` (a container of the mutated pod) and returns its stderr; panics, with it, when
/// the container fails.
fn run(images: &Path, c: &Value, how: Run<'_>) -> String {
    let mut argv: Vec<String> = vec![
        repo()
            .join("tests/peers/webservers/container.sh")
            .display()
            .to_string(),
        images.display().to_string(),
        how.image.to_string(),
    ];
    for (src, dest) in &how.mounts {
        argv.push("--mount".into());
        argv.push(format!("{}:{dest}", src.display()));
    }
    let sc = &c["securityContext"];
    let uid = sc["runAsUser"]
        .as_u64()
        .or(how.pod_user)
        .or(how.image_user.map(u64::from));
    if let Some(uid) = uid {
        argv.push("--user".into());
        argv.push(uid.to_string());
    }
    let drops_all = sc["capabilities"]["drop"]
        .as_array()
        .is_some_and(|d| d.iter().any(|c| c == "ALL"));
    if drops_all {
        argv.push("--no-caps".into());
    }
    argv.push("--".into());
    argv.push("env".into());
    argv.push("-i".into());
    let path = if how.image == "app" {
        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    } else {
        "/bin:/usr/sbin"
    };
    argv.push(format!("PATH={path}"));
    for (k, v) in kubelet_env(c) {
        argv.push(format!("{k}={v}"));
    }
    for part in ["command", "args"] {
        for a in c[part].as_array().into_iter().flatten() {
            argv.push(a.as_str().unwrap_or_default().to_string());
        }
    }
    let start = Instant::now();
    let out = Command::new("bash")
        .args(&argv)
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stderr}",
        c["name"],
        out.status
    );
    eprintln!("webservers: {} ran in {:?}", c["name"], start.elapsed());
    stderr
}

/// A file tree: relative path to what is there.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Dir,
    File(String),
    Link(String),
}

type Tree = BTreeMap<String, Node>;

fn tree(dir: &Path) -> Tree {
    fn walk(base: &Path, dir: &Path, out: &mut Tree) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(Result::ok)
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let rel = p.strip_prefix(base).unwrap_or(&p).display().to_string();
            let meta = std::fs::symlink_metadata(&p).expect("metadata");
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&p).expect("link");
                out.insert(rel, Node::Link(target.display().to_string()));
            } else if meta.is_dir() {
                out.insert(rel, Node::Dir);
                walk(base, &p, out);
            } else {
                let bytes = std::fs::read(&p).expect("read");
                out.insert(rel, Node::File(String::from_utf8_lossy(&bytes).into()));
            }
        }
    }
    let mut out = Tree::new();
    walk(dir, dir, &mut out);
    out
}

/// Fails with the entries that differ, not two whole trees.
fn assert_tree(what: &str, got: &Tree, want: &Tree) {
    let mut diffs = Vec::new();
    for (k, w) in want {
        match got.get(k) {
            None => diffs.push(format!("missing {k}: {w:?}")),
            Some(g) if g != w => diffs.push(format!("{k}:\n  got  {g:?}\n  want {w:?}")),
            _ => {}
        }
    }
    for k in got.keys().filter(|k| !want.contains_key(*k)) {
        diffs.push(format!("unexpected {k}: {:?}", got[k]));
    }
    assert!(diffs.is_empty(), "{what} differs:\n{}", diffs.join("\n"));
}

/// `tree`, with `sub` under `prefix`.
fn under(prefix: &str, sub: &Tree) -> Tree {
    sub.iter()
        .map(|(k, v)| (format!("{prefix}/{k}"), v.clone()))
        .collect()
}

fn file(s: impl Into<String>) -> Node {
    Node::File(s.into())
}

/// The module's configuration as the agent init container gets it: the env value with `$(VAR)`
/// expanded, then every `<<SID-PLACEHOLDER>>` replaced by the pod's name.
fn module_conf(attach: &Value, var: &str) -> String {
    let env = kubelet_env(attach);
    let conf = env
        .iter()
        .find(|(k, _)| k == var)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {var}"));
    conf.replace("<<SID-PLACEHOLDER>>", POD_NAME)
}

/// What the agent init container leaves in the module's volume, by the operator's script:
/// `cp -r /opt/opentelemetry/* agent` and the log4cxx file from the template.
fn expected_agent(images: &Path) -> Tree {
    let mut t = tree(&images.join("agent-image/opt/opentelemetry"));
    let template = match t.get("conf/opentelemetry_sdk_log4cxx.xml.template") {
        Some(Node::File(s)) => s.clone(),
        other => panic!("no log4cxx template: {other:?}"),
    };
    t.insert(
        "conf/opentelemetry_sdk_log4cxx.xml".into(),
        file(template.replace("__agent_log_dir__", &format!("{AGENT}/logs"))),
    );
    t
}

fn options() -> InjectOptions {
    let mut o = InjectOptions::default();
    o.set_enabled(Language::Nginx, true);
    o
}

fn inject(pod: Value, spec: Value) -> Value {
    let out = run_with(
        &pod,
        &NamespaceInfo::named("shop"),
        &[instrumentation("shop", "web", spec)],
        &[],
        &options(),
    );
    out.mutated
}

fn pod(annotation: &str, container: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": POD_NAME, "namespace": "shop",
                        "annotations": {annotation: "true"}},
           "spec": {"containers": [container]}})
}

/// An endpoint the kubelet must expand in the agent init container (spec env before the
/// module's configuration), as the operator's e2e `02-verify-endpoint-interpolation.sh`.
fn spec_with(server: &str, block: Value) -> Value {
    let mut spec = json!({
        "env": [{"name": "OTEL_NODE_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}}],
        "exporter": {"endpoint": "http://$(OTEL_NODE_IP):4317"},
    });
    spec[server] = block;
    spec
}

// === nginx ===

/// What the operator's `nginx_clone.sh` and `nginx_agent.sh` leave in the configuration
/// volume, from the configuration directory `source` (its non-dot entries: `cp -r dir/*`), the
/// main file's name, the module's configuration and nginx's version.
fn expected_nginx_conf(source: &Tree, main: &str, conf: &str, version: &str) -> Tree {
    let mut t: Tree = source
        .iter()
        .filter(|(k, _)| !k.starts_with('.'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    t.insert("version.txt".into(), file(format!("{version}\n")));
    // `sed -i "1s,^,load_module ...;\n,"` then `sed -i "1s,^,env ...;\n,"`: both before line 1.
    if let Some(Node::File(content)) = t.get(main).cloned() {
        if !content.is_empty() {
            t.insert(
                main.into(),
                file(format!(
                    "env OTEL_RESOURCE_ATTRIBUTES;\nload_module {AGENT}/WebServerModule/Nginx/{version}/ngx_http_opentelemetry_module.so;\n{content}"
                )),
            );
        }
    }
    // `echo "$OTEL_NGINX_AGENT_CONF" > f` (a newline more), then `mv f conf.d`.
    let agent_conf = file(format!("{conf}\n"));
    match t.get("conf.d") {
        Some(Node::Dir) => t.insert("conf.d/opentelemetry_agent.conf".into(), agent_conf),
        _ => t.insert("conf.d".into(), agent_conf),
    };
    t
}

fn nginx_version(images: &Path) -> String {
    std::fs::read_to_string(images.join("nginx-version"))
        .expect("nginx-version")
        .trim()
        .to_string()
}

/// A mutated pod's two init containers and what they run with.
struct InitContainers<'a> {
    images: &'a Path,
    pod: &'a Value,
    attach_name: &'a str,
    /// The configuration volume and the module's volume.
    conf: &'a Volume,
    agent: &'a Volume,
    /// The app's own volumes the clone mounts too: name, host path.
    app_mounts: &'a [(&'a str, &'a Path)],
    /// The app's image (`app`, `app-busybox`) and its own user.
    clone_image: &'a str,
    clone_image_user: Option<u32>,
}

/// Runs the clone, then the agent init container.
fn run_init_containers(i: InitContainers<'_>) {
    let InitContainers {
        images,
        pod,
        attach_name,
        conf,
        agent,
        app_mounts,
        clone_image,
        clone_image_user,
    } = i;
    let clone = container(pod, "initContainers", "otel-agent-source-container-clone");
    let attach = container(pod, "initContainers", attach_name);
    let conf_volume = &attach["volumeMounts"][1]["name"];
    let mut mounts = Vec::new();
    for m in clone["volumeMounts"].as_array().into_iter().flatten() {
        let dest = m["mountPath"].as_str().unwrap_or_default().to_string();
        if &m["name"] == conf_volume {
            mounts.push((conf.0.as_path(), dest));
        } else if let Some((_, src)) = app_mounts.iter().find(|(n, _)| m["name"] == *n) {
            mounts.push((*src, dest));
        } else {
            panic!("the clone mounts {m}, which this test has no volume for");
        }
    }
    let pod_user = pod["spec"]["securityContext"]["runAsUser"].as_u64();
    run(
        images,
        clone,
        Run {
            image: clone_image,
            pod_user,
            image_user: clone_image_user,
            mounts,
        },
    );
    run(
        images,
        attach,
        Run {
            image: "agent",
            pod_user,
            image_user: None,
            mounts: vec![
                (agent.0.as_path(), AGENT.to_string()),
                (conf.0.as_path(), STAGED.to_string()),
            ],
        },
    );
}

/// Debian's nginx as installed, its default `/etc/nginx`, the Instrumentation's defaults:
/// the files are the operator's, `nginx -t` accepts them with the module loaded.
#[test]
fn nginx_debian_default_configuration() {
    let Some(images) = images() else { return };
    let start = Instant::now();
    let p = inject(
        pod(
            "instrumentation.opentelemetry.io/inject-nginx",
            json!({"name": "web", "image": "debian-nginx:1.22"}),
        ),
        spec_with(
            "nginx",
            json!({"attrs": [{"name": "NginxModuleOtelMaxQueueSize", "value": "4096"}]}),
        ),
    );
    let (conf, agent) = (Volume::new("conf"), Volume::new("agent"));
    run_init_containers(InitContainers {
        images: &images,
        pod: &p,
        attach_name: "otel-agent-attach-nginx",
        conf: &conf,
        agent: &agent,
        app_mounts: &[],
        clone_image: "app",
        clone_image_user: None,
    });
    let attach = container(&p, "initContainers", "otel-agent-attach-nginx");
    let module = module_conf(attach, "OTEL_NGINX_AGENT_CONF");
    assert!(module.contains(&format!(
        "NginxModuleOtelExporterEndpoint http://{HOST_IP}:4317;\n"
    )));
    assert!(module.contains(&format!("NginxModuleServiceInstanceId {POD_NAME};\n")));
    let source = tree(&images.join("root/etc/nginx"));
    assert_tree(
        "the configuration volume",
        &tree(&conf.0),
        &expected_nginx_conf(&source, "nginx.conf", &module, &nginx_version(&images)),
    );
    assert_tree(
        "the module's volume",
        &tree(&agent.0),
        &expected_agent(&images),
    );
    let app = container(&p, "containers", "web");
    let stderr = run(
        &images,
        &json!({"name": "nginx -t", "command": ["nginx", "-t"], "env": app["env"],
                "securityContext": app["securityContext"]}),
        Run {
            image: "app",
            pod_user: None,
            image_user: None,
            mounts: vec![
                (conf.0.as_path(), "/etc/nginx".into()),
                (agent.0.as_path(), AGENT.into()),
            ],
        },
    );
    assert!(stderr.contains("test is successful"), "{stderr}");
    eprintln!(
        "webservers: nginx, Debian's configuration: {:?}",
        start.elapsed()
    );
}

/// The operator's e2e app (`instrumentation-nginx`): its ConfigMap's nginx.conf mounted by
/// subPath over the image's, the pod's user 1000 for every container, an alpine-like app
/// image (busybox sh runs the clone). The ConfigMap's file is what the copy has, the mount
/// leaves the app, and `nginx -t` (as user 1000) accepts the result.
#[test]
fn nginx_operator_e2e_app() {
    let Some(images) = images() else { return };
    let configmap_conf = "# user nginx;\nworker_processes  1;\npid /tmp/nginx.pid;\nevents {\n  worker_connections  10240;\n}\nhttp {\n  include /etc/nginx/conf.d/*.conf;\n  client_body_temp_path /tmp/client_temp;\n  proxy_temp_path       /tmp/proxy_temp_path;\n  fastcgi_temp_path     /tmp/fastcgi_temp;\n  uwsgi_temp_path       /tmp/uwsgi_temp;\n  scgi_temp_path        /tmp/scgi_temp;\n  server {\n    listen       8765;\n    server_name  localhost;\n    location / {\n      root   /usr/share/nginx/html;\n      index  index.html index.htm;\n    }\n\n    location /api/customer/ {\n      proxy_pass http://localhost:8282/api/customer/;\n    }\n    location /api/vendor/ {\n      proxy_pass http://localhost:8383/api/vendor/;\n    }\n\n  }\n\n}\n";
    let cm = Volume::new("configmap");
    std::fs::write(cm.0.join("nginx.conf"), configmap_conf).expect("write");
    let mut p = pod(
        "instrumentation.opentelemetry.io/inject-nginx",
        json!({"name": "myapp", "image": "nginx-unprivileged:1.25.3",
               "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
               "env": [{"name": "LD_LIBRARY_PATH", "value": "/opt"}],
               "volumeMounts": [{"name": "nginx-conf", "mountPath": "/etc/nginx/nginx.conf",
                                 "subPath": "nginx.conf", "readOnly": true}]}),
    );
    p["spec"]["securityContext"] = json!({"runAsUser": 1000, "runAsGroup": 3000, "fsGroup": 3000});
    p["spec"]["volumes"] = json!([{"name": "nginx-conf", "configMap": {"name": "nginx-conf"}}]);
    let p = inject(
        p,
        spec_with(
            "nginx",
            json!({"attrs": [{"name": "NginxModuleOtelMaxQueueSize", "value": "4096"}]}),
        ),
    );
    let file_mount = cm.0.join("nginx.conf");
    let (conf, agent) = (Volume::new("conf"), Volume::new("agent"));
    run_init_containers(InitContainers {
        images: &images,
        pod: &p,
        attach_name: "otel-agent-attach-nginx",
        conf: &conf,
        agent: &agent,
        app_mounts: &[("nginx-conf", file_mount.as_path())],
        clone_image: "app-busybox",
        clone_image_user: Some(1000),
    });
    let attach = container(&p, "initContainers", "otel-agent-attach-nginx");
    let module = module_conf(attach, "OTEL_NGINX_AGENT_CONF");
    let mut source = tree(&images.join("root/etc/nginx"));
    source.insert("nginx.conf".into(), file(configmap_conf));
    assert_tree(
        "the configuration volume",
        &tree(&conf.0),
        &expected_nginx_conf(&source, "nginx.conf", &module, &nginx_version(&images)),
    );
    let app = container(&p, "containers", "myapp");
    assert_eq!(
        names(&app["volumeMounts"]),
        ["otel-nginx-agent", "otel-nginx-conf-dir"]
    );
    let stderr = run(
        &images,
        &json!({"name": "nginx -t", "command": ["nginx", "-t"], "env": app["env"],
                "securityContext": {"runAsUser": 1000, "capabilities": {"drop": ["ALL"]}}}),
        Run {
            image: "app",
            pod_user: None,
            image_user: None,
            mounts: vec![
                (conf.0.as_path(), "/etc/nginx".into()),
                (agent.0.as_path(), AGENT.into()),
            ],
        },
    );
    assert!(stderr.contains("test is successful"), "{stderr}");
}

/// The clone runs as the image's user (101, nginx-unprivileged's) and the agent init container
/// as its image's (root) without capabilities, as with a pod that names no user: the agent
/// init container cannot write into the clone's `conf.d`, so it swaps in a copy of its own
/// (the old one stays as `.conf.d.otel-inject-orig`); the files nginx reads are the
/// operator's, and `nginx -t` accepts them.
#[test]
fn nginx_clone_and_agent_as_different_users() {
    let Some(images) = images() else { return };
    let p = inject(
        pod(
            "instrumentation.opentelemetry.io/inject-nginx",
            json!({"name": "web", "image": "nginx-unprivileged:1.22"}),
        ),
        spec_with("nginx", json!({})),
    );
    let (conf, agent) = (Volume::new("conf"), Volume::new("agent"));
    run_init_containers(InitContainers {
        images: &images,
        pod: &p,
        attach_name: "otel-agent-attach-nginx",
        conf: &conf,
        agent: &agent,
        app_mounts: &[],
        clone_image: "app",
        clone_image_user: Some(101),
    });
    let attach = container(&p, "initContainers", "otel-agent-attach-nginx");
    let module = module_conf(attach, "OTEL_NGINX_AGENT_CONF");
    let source = tree(&images.join("root/etc/nginx"));
    let mut want = expected_nginx_conf(&source, "nginx.conf", &module, &nginx_version(&images));
    let conf_d: Tree = source
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("conf.d/")
                .map(|r| (r.to_string(), v.clone()))
        })
        .collect();
    want.insert(".conf.d.otel-inject-orig".into(), Node::Dir);
    want.extend(under(".conf.d.otel-inject-orig", &conf_d));
    assert_tree("the configuration volume", &tree(&conf.0), &want);
    let stderr = run(
        &images,
        &json!({"name": "nginx -t", "command": ["nginx", "-t"]}),
        Run {
            image: "app",
            pod_user: None,
            image_user: None,
            mounts: vec![
                (conf.0.as_path(), "/etc/nginx".into()),
                (agent.0.as_path(), AGENT.into()),
            ],
        },
    );
    assert!(stderr.contains("test is successful"), "{stderr}");
}

/// `nginx -t` checks the module's directives as the real module would: an `attrs` value the
/// module refuses (a queue size that is no size) fails it. (Neither the operator nor we check
/// `attrs`.)
#[test]
fn nginx_refuses_what_the_module_refuses() {
    let Some(images) = images() else { return };
    let p = inject(
        pod(
            "instrumentation.opentelemetry.io/inject-nginx",
            json!({"name": "web", "image": "debian-nginx:1.22"}),
        ),
        spec_with(
            "nginx",
            json!({"attrs": [{"name": "NginxModuleOtelMaxQueueSize", "value": "lots"}]}),
        ),
    );
    let (conf, agent) = (Volume::new("conf"), Volume::new("agent"));
    run_init_containers(InitContainers {
        images: &images,
        pod: &p,
        attach_name: "otel-agent-attach-nginx",
        conf: &conf,
        agent: &agent,
        app_mounts: &[],
        clone_image: "app",
        clone_image_user: None,
    });
    let script = repo().join("tests/peers/webservers/container.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&images)
        .args(["app", "--mount"])
        .arg(format!("{}:/etc/nginx", conf.0.display()))
        .arg("--mount")
        .arg(format!("{}:{AGENT}", agent.0.display()))
        .args(["--", "nginx", "-t"])
        .output()
        .expect("bash runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("\"NginxModuleOtelMaxQueueSize\" directive invalid value"),
        "{stderr}"
    );
}

// === Apache httpd ===

/// What the operator's `cp -r <dir>/. source-conf` and `apache_httpd_agent.sh` leave in the
/// configuration volume: the directory (dot-files too), `opentemetry_agent.conf`, and an
/// `Include` of it appended to `httpd.conf` (created when there is none).
fn expected_apache_conf(source: &Tree, dir: &str, conf: &str) -> Tree {
    let mut t = source.clone();
    t.insert("opentemetry_agent.conf".into(), file(format!("{conf}\n")));
    let before = match t.get("httpd.conf") {
        Some(Node::File(s)) => s.clone(),
        _ => String::new(),
    };
    t.insert(
        "httpd.conf".into(),
        file(format!("{before}\nInclude {dir}/opentemetry_agent.conf\n")),
    );
    t
}

/// Debian's apache2 as installed, `configPath: /etc/apache2`: the files are the operator's.
/// Debian's `apache2.conf` does not read `httpd.conf` (the operator's injection assumes the
/// official httpd image, whose main file it is), so `apache2 -t` reads it after Debian's
/// configuration (`-c Include ...`) and accepts both, the module loaded.
#[test]
fn apache_debian_default_configuration() {
    let Some(images) = images() else { return };
    let start = Instant::now();
    let p = inject(
        pod(
            "instrumentation.opentelemetry.io/inject-apache-httpd",
            json!({"name": "web", "image": "debian-apache2:2.4"}),
        ),
        spec_with(
            "apacheHttpd",
            json!({"configPath": "/etc/apache2", "attrs": [{"name": "ApacheModuleOtelMaxQueueSize", "value": "4096"}]}),
        ),
    );
    let (conf, agent) = (Volume::new("conf"), Volume::new("agent"));
    run_init_containers(InitContainers {
        images: &images,
        pod: &p,
        attach_name: "otel-agent-attach-apache",
        conf: &conf,
        agent: &agent,
        app_mounts: &[],
        clone_image: "app",
        clone_image_user: None,
    });
    let attach = container(&p, "initContainers", "otel-agent-attach-apache");
    let module = module_conf(attach, "OTEL_APACHE_AGENT_CONF");
    assert!(module.contains(&format!(
        "\nApacheModuleOtelExporterEndpoint http://{HOST_IP}:4317\n"
    )));
    let source = tree(&images.join("root/etc/apache2"));
    assert_tree(
        "the configuration volume",
        &tree(&conf.0),
        &expected_apache_conf(&source, "/etc/apache2", &module),
    );
    assert_tree(
        "the module's volume",
        &tree(&agent.0),
        &expected_agent(&images),
    );
    let stderr = run(
        &images,
        &json!({"name": "apache2 -t", "command": ["/bin/sh", "-c",
                ". /etc/apache2/envvars && exec apache2 -t -c 'Include /etc/apache2/httpd.conf'"]}),
        Run {
            image: "app",
            pod_user: None,
            image_user: None,
            mounts: vec![
                (conf.0.as_path(), "/etc/apache2".into()),
                (agent.0.as_path(), AGENT.into()),
            ],
        },
    );
    assert!(stderr.contains("Syntax OK"), "{stderr}");
    eprintln!(
        "webservers: apache, Debian's configuration: {:?}",
        start.elapsed()
    );
}

/// The official httpd image's layout (`configPath` default, `httpd.conf` the main file, here
/// serving Debian's configuration, from a volume), the clone as the image's user (33) and the agent init
/// container as root without capabilities: the Include goes at the end of the clone's
/// `httpd.conf` all the same, and `apache2 -t -f httpd.conf` accepts the result. Without the
/// module's volume it refuses it: the `LoadFile` lines are checked.
#[test]
fn apache_httpd_conf_layout_as_different_users() {
    let Some(images) = images() else { return };
    let image_conf = Volume::new("image-conf");
    let main = "# The official httpd image's layout, where httpd.conf is the main file; here it\n# serves Debian's configuration (modules, MPM, the default site).\nServerRoot \"/etc/apache2\"\nInclude /etc/apache2/apache2.conf\n";
    std::fs::write(image_conf.0.join("httpd.conf"), main).expect("write");
    std::fs::write(image_conf.0.join(".htpasswd"), "nobody:*\n").expect("write");
    // The configuration from a volume (a ConfigMap's, say) over the default configPath: the
    // clone keeps the mount and copies from it, the app gets the edited copy instead.
    let p = inject(
        pod(
            "instrumentation.opentelemetry.io/inject-apache-httpd",
            json!({"name": "web", "image": "httpd:2.4",
                   "volumeMounts": [{"name": "site-conf", "mountPath": "/usr/local/apache2/conf"}]}),
        ),
        spec_with("apacheHttpd", json!({})),
    );
    assert_eq!(
        names(&container(&p, "containers", "web")["volumeMounts"]),
        ["otel-apache-agent", "otel-apache-conf-dir"]
    );
    let (conf, agent) = (Volume::new("conf"), Volume::new("agent"));
    run_init_containers(InitContainers {
        images: &images,
        pod: &p,
        attach_name: "otel-agent-attach-apache",
        conf: &conf,
        agent: &agent,
        app_mounts: &[("site-conf", image_conf.0.as_path())],
        clone_image: "app",
        clone_image_user: Some(33),
    });
    let attach = container(&p, "initContainers", "otel-agent-attach-apache");
    let module = module_conf(attach, "OTEL_APACHE_AGENT_CONF");
    assert_tree(
        "the configuration volume",
        &tree(&conf.0),
        &expected_apache_conf(&tree(&image_conf.0), "/usr/local/apache2/conf", &module),
    );
    let check = |with_module: bool| {
        let mut argv = vec![
            repo()
                .join("tests/peers/webservers/container.sh")
                .display()
                .to_string(),
            images.display().to_string(),
            "app".into(),
            "--mount".into(),
            format!("{}:/usr/local/apache2/conf", conf.0.display()),
        ];
        if with_module {
            argv.push("--mount".into());
            argv.push(format!("{}:{AGENT}", agent.0.display()));
        }
        argv.extend(
            [
                "--",
                "/bin/sh",
                "-c",
                ". /etc/apache2/envvars && exec apache2 -t -f /usr/local/apache2/conf/httpd.conf",
            ]
            .map(String::from),
        );
        let out = Command::new("bash")
            .args(&argv)
            .output()
            .expect("bash runs");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok, stderr) = check(true);
    assert!(ok && stderr.contains("Syntax OK"), "{stderr}");
    let (ok, stderr) = check(false);
    assert!(
        !ok && stderr.contains("libopentelemetry_common.so"),
        "{stderr}"
    );
}
