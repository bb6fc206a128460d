//! Any body the `/mutate` handler can be given goes through `Admission::review_bytes`, the
//! function the handler calls, over a static cluster view with the embedded default
//! Instrumentation. It must never panic, and every answer must be a JSON AdmissionReview.
#![no_main]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use otel_inject::admission::Admission;
use otel_inject::cluster::{ClusterObjects, StaticView};
use otel_inject::metrics::Metrics;
use otel_inject_lib::{InjectOptions, Language};

struct Harness {
    runtime: tokio::runtime::Runtime,
    admission: Admission,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let view = StaticView::with_default_instrumentation(ClusterObjects::default())
            .expect("the embedded default Instrumentation parses");
        let mut options = InjectOptions::default();
        for lang in Language::ALL {
            options.set_enabled(lang, true);
        }
        Harness {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a current-thread runtime"),
            admission: Admission::new(
                Arc::new(view),
                options,
                Arc::new(Metrics::new()),
                Duration::ZERO,
            ),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let h = harness();
    if let Ok((response, _record)) = h.runtime.block_on(h.admission.review_bytes(data)) {
        // What the handler writes back: it must serialize and read back as the same JSON.
        let text = serde_json::to_string(&response).expect("the response serializes");
        let back: serde_json::Value = serde_json::from_str(&text).expect("the response is JSON");
        assert_eq!(back, response);
        assert!(
            response.pointer("/response/allowed").is_some(),
            "a response without allowed: {text}"
        );
    }
});
