//! The offline `inject` against the real kubectl: every manifest under
//! `tests/fixtures/manifests/kubectl/` goes through the real binary, then input and output both
//! through `kubectl create --dry-run=client -o json` (which needs an API server for its kinds:
//! k8s-local's). What kubectl reads from our output must be what it reads from the input plus
//! exactly our injection; untouched documents come back byte for byte, changed ones keep their
//! comments; the bytes around the documents (a BOM, a leading `---`, trailing blank lines) stay.
//!
//! Runs when `OTEL_INJECT_E2E_KUBECONFIG` names a kubeconfig (as the e2e suite; `.ci/run` sets
//! it); fails without one unless `OTEL_INJECT_E2E_SKIP=1` asks to skip it knowingly.

use std::path::{Path, PathBuf};
use std::process::Command;

use otel_inject::manifest::{parse_stream, Document};
use serde_json::Value;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/manifests/kubectl");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the kubectl corpus")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 6, "the corpus is missing files: {files:?}");
    files
}

/// The objects kubectl reads from `file`, in order (a `List` is its items).
fn kubectl_reads(kubeconfig: &Path, file: &Path) -> Result<Vec<Value>, String> {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "create",
            "--dry-run=client",
            "--validate=false",
            "-o",
            "json",
            "-f",
        ])
        .arg(file)
        .output()
        .map_err(|e| format!("cannot run kubectl: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    // One JSON object per object read, one after the other.
    let mut objects = Vec::new();
    for value in serde_json::Deserializer::from_slice(&out.stdout).into_iter::<Value>() {
        objects.extend(flatten(value.map_err(|e| e.to_string())?));
    }
    Ok(objects)
}

fn flatten(value: Value) -> Vec<Value> {
    match value {
        Value::Null => Vec::new(),
        Value::Object(ref m) if m.get("kind") == Some(&Value::from("List")) => m["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .flat_map(flatten)
            .collect(),
        other => vec![other],
    }
}

/// kubectl fills in `metadata.namespace`... only when told; nothing else. Compare without it.
fn normalized(mut objects: Vec<Value>) -> Vec<Value> {
    for o in &mut objects {
        if let Some(m) = o.get_mut("metadata").and_then(Value::as_object_mut) {
            if m.get("namespace") == Some(&Value::from("default")) {
                m.remove("namespace");
            }
        }
    }
    objects
}

fn comment_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_end_matches('\r');
            let at = l.find('#')?;
            let before = &l[..at];
            // A comment: at the start of the line or after a space, outside quotes (good
            // enough for the corpus, whose values hold no `#`).
            (before.trim().is_empty() || before.ends_with(' ')).then(|| l[at..].to_string())
        })
        .collect()
}

#[test]
fn kubectl_reads_our_output_as_the_input_plus_the_injection() {
    let Some(kubeconfig) = std::env::var_os("OTEL_INJECT_E2E_KUBECONFIG").map(PathBuf::from) else {
        if std::env::var("OTEL_INJECT_E2E_SKIP").is_ok_and(|v| v == "1") {
            eprintln!("offline_kubectl: NOT RUN (OTEL_INJECT_E2E_SKIP=1)");
            return;
        }
        panic!(
            "the kubectl corpus needs an API server for kubectl's kinds: run ../shared/k8s-local/up.sh \
             and set OTEL_INJECT_E2E_KUBECONFIG=$HOME/.cache/k8s-local/kubeconfig (.ci/run does this), \
             or set OTEL_INJECT_E2E_SKIP=1 to skip it knowingly"
        );
    };
    let bin = env!("CARGO_BIN_EXE_otel-inject");
    let work = tempfile::tempdir().expect("tempdir");
    let mut checked = 0;
    for input in fixtures() {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&input).unwrap();
        let run = |extra: &[&str]| {
            let out = Command::new(bin)
                .args(["inject", "-f"])
                .arg(&input)
                .args(extra)
                .output()
                .expect("run otel-inject");
            assert!(
                out.status.success(),
                "{name}: otel-inject inject failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out
        };
        let yaml = run(&[]);
        let stderr = String::from_utf8_lossy(&yaml.stderr).into_owned();
        let json = run(&["-o", "json"]);
        let output = work.path().join(&name);
        std::fs::write(&output, &yaml.stdout).unwrap();

        // What we read and what we meant to write, document by document.
        let ours_in = parse_stream(&bytes, &name).expect("our reading of the input");
        let ours_out = parse_stream(&yaml.stdout, &name).expect("our reading of the output");
        let patched: Vec<Value> = parse_stream(&json.stdout, &name)
            .expect("the injected objects")
            .docs
            .into_iter()
            .map(|d| d.value)
            .collect();

        // kubectl agrees with our reading of the input, and reads from the output exactly the
        // objects we injected.
        let kubectl_in = kubectl_reads(&kubeconfig, &input);
        let kubectl_out = kubectl_reads(&kubeconfig, &output);
        match (kubectl_in, kubectl_out) {
            (Ok(kin), Ok(kout)) => {
                let read: Vec<Value> = ours_in
                    .docs
                    .iter()
                    .flat_map(|d| flatten(d.value.clone()))
                    .collect();
                assert_eq!(
                    normalized(kin),
                    normalized(read),
                    "{name}: kubectl reads the input differently from us"
                );
                let meant: Vec<Value> = patched.iter().cloned().flat_map(flatten).collect();
                assert_eq!(
                    normalized(kout),
                    normalized(meant),
                    "{name}: kubectl reads our output differently from what we injected"
                );
            }
            // kubectl refuses some inputs (bytes that are not UTF-8); then it must refuse our
            // output the same way, and our edit must still be what we meant.
            (Err(ein), Err(eout)) => {
                eprintln!(
                    "{name}: kubectl refuses input and output alike: {}",
                    ein.trim()
                );
                assert_eq!(
                    ein.replace(&*input.to_string_lossy(), "FILE"),
                    eout.replace(&*output.to_string_lossy(), "FILE"),
                    "{name}: kubectl refuses input and output differently"
                );
            }
            (kin, kout) => {
                panic!("{name}: kubectl reads one of input and output only: {kin:?} / {kout:?}")
            }
        }
        let ours: Vec<Value> = ours_out.docs.iter().map(|d| d.value.clone()).collect();
        assert_eq!(
            ours.iter().filter(|v| !v.is_null()).collect::<Vec<_>>(),
            patched.iter().collect::<Vec<_>>(),
            "{name}: our output does not read back as the injection"
        );

        // Document by document: untouched ones byte for byte, changed ones with their comments.
        assert_eq!(
            ours_in.docs.len(),
            ours_out.docs.len(),
            "{name}: documents lost or added"
        );
        let mut changed = 0;
        for (a, b) in ours_in.docs.iter().zip(&ours_out.docs) {
            let (ta, tb) = (&bytes[a.range.clone()], &yaml.stdout[b.range.clone()]);
            if a.value == b.value {
                assert_eq!(
                    ta, tb,
                    "{name}: document {} was not injected but its bytes changed",
                    a.number
                );
                continue;
            }
            changed += 1;
            let rewritten = stderr.contains(&format!("document {}: written anew", a.number));
            let (ca, cb) = (comment_lines(&a.text), comment_lines(&b.text));
            if rewritten {
                let leading: Vec<String> = a
                    .text
                    .lines()
                    .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
                    .map(|l| l.trim_end_matches('\r').to_string())
                    .filter(|l| !l.trim().is_empty())
                    .collect();
                assert!(
                    !leading.is_empty() && cb.starts_with(&leading),
                    "{name}: document {}: its leading comments were lost: {leading:?} / {cb:?}",
                    a.number
                );
            } else {
                assert_eq!(ca, cb, "{name}: document {}: comments lost", a.number);
                assert_common_lines_kept(&name, a, b);
            }
        }
        assert!(
            changed > 0,
            "{name}: nothing was injected, so the file tests nothing"
        );
        // The bytes around the documents: BOM, separators, trailing blank lines.
        let (first_in, first_out) = (ours_in.docs[0].range.start, ours_out.docs[0].range.start);
        assert_eq!(
            &bytes[..first_in],
            &yaml.stdout[..first_out],
            "{name}: the stream's start changed"
        );
        let (last_in, last_out) = (
            ours_in.docs.last().unwrap().range.end,
            ours_out.docs.last().unwrap().range.end,
        );
        assert_eq!(
            &bytes[last_in..],
            &yaml.stdout[last_out..],
            "{name}: the stream's end changed"
        );
        checked += 1;
    }
    eprintln!("offline_kubectl: {checked} files checked against kubectl");
}

/// Every line of the input document is in the output document, in order: an in-place edit only
/// adds lines and changes the values it injects into (which keep their line, changed).
fn assert_common_lines_kept(name: &str, a: &Document, b: &Document) {
    let out: Vec<&str> = b.text.lines().collect();
    let mut j = 0;
    let mut changed = 0;
    for line in a.text.lines() {
        match out[j..].iter().position(|l| *l == line) {
            Some(k) => j += k + 1,
            None => changed += 1,
        }
    }
    assert!(
        changed <= 3,
        "{name}: document {}: {changed} of its lines changed, not just kept and added to",
        a.number
    );
}
