//! The offline commands' manifest reader: any text given to `otel-inject inject` (YAML or JSON
//! output), `explain` and `review` must give an answer or an error, never a panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use otel_inject::offline::{
    explain_stream, inject_stream, review_stream, OfflineOptions, OutputFormat,
};
use otel_inject_lib::Language;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a current-thread runtime")
    })
}

fn options() -> &'static OfflineOptions {
    static OPTIONS: OnceLock<OfflineOptions> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut options = OfflineOptions::default();
        for lang in Language::ALL {
            options.inject.set_enabled(lang, true);
        }
        options
    })
}

fuzz_target!(|data: &[u8]| {
    // The CLI reads bytes: YAML that is not UTF-8 in its comments is accepted, elsewhere refused.
    let text = data;
    let rt = runtime();
    let options = options();
    let _ = rt.block_on(inject_stream(
        text,
        "fuzz.yaml",
        options,
        OutputFormat::Yaml,
    ));
    let _ = rt.block_on(inject_stream(
        text,
        "fuzz.yaml",
        options,
        OutputFormat::Json,
    ));
    let _ = rt.block_on(explain_stream(text, "fuzz.yaml", options));
    let _ = rt.block_on(review_stream(text, "fuzz.yaml", options));
});
