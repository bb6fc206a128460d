//! `otel_inject_lib::mutate` with every language switched on, over any pod (a JSON object, or the
//! `request.object` of an AdmissionReview, so the admission fixtures seed it). Its patch must
//! apply to the pod, and deciding again on the injected pod must change nothing.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use otel_inject::cluster::static_view::default_instrumentation;
use otel_inject_lib::{
    mutate, InjectOptions, Instrumentation, Language, NamespaceInfo, PodContext,
};
use serde_json::Value;

struct Harness {
    namespace: NamespaceInfo,
    instrumentations: Vec<Arc<Instrumentation>>,
    options: InjectOptions,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let mut inst = default_instrumentation().expect("the embedded default parses");
        inst.metadata.namespace = Some("default".to_string());
        let mut options = InjectOptions::default();
        for lang in Language::ALL {
            options.set_enabled(lang, true);
        }
        Harness {
            namespace: NamespaceInfo::named("default"),
            instrumentations: vec![Arc::new(inst)],
            options,
        }
    })
}

fn decide(h: &Harness, pod: &Value) -> otel_inject_lib::InjectionDecision {
    mutate(&PodContext {
        pod,
        namespace: &h.namespace,
        instrumentations: &h.instrumentations,
        owners: &[],
        options: &h.options,
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let pod = match value.pointer("/request/object") {
        Some(object) => object.clone(),
        None => value,
    };
    if !pod.is_object() {
        return;
    }
    let h = harness();
    let first = decide(h, &pod);
    let mut injected = pod.clone();
    if let Err(e) = first.patch.apply(&mut injected) {
        panic!(
            "the patch does not apply: {e}\npatch: {}",
            serde_json::to_string(&first.patch).unwrap_or_default()
        );
    }
    let second = decide(h, &injected);
    assert!(
        second.patch.is_empty(),
        "a second decision on the injected pod patches again:\nfirst: {}\nsecond: {}\nexplain: {}",
        serde_json::to_string(&first.patch).unwrap_or_default(),
        serde_json::to_string(&second.patch).unwrap_or_default(),
        second.explain()
    );
});
