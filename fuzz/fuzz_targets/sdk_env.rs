//! The SDK's configuration reader, `EnvConfig::from_lookup`, over any environment. Lines
//! `NAME=value` (NAME in capitals, digits and `_`) set that variable; every other line is the value of the next variable the
//! reader asks for that the input did not set, so the fuzzer reaches every variable without
//! having to guess its name. It must never panic.
#![no_main]

use std::cell::Cell;
use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use otel_inject_sdk::config::{is_valid_traceparent, EnvConfig};

fn is_variable_name(k: &str) -> bool {
    !k.is_empty()
        && k.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut named = HashMap::new();
    let mut positional = Vec::new();
    for line in text.split('\n') {
        match line.split_once('=') {
            Some((k, v)) if is_variable_name(k) => {
                named.insert(k.to_string(), v.to_string());
            }
            _ => positional.push(line.to_string()),
        }
    }
    let next = Cell::new(0usize);
    let config = EnvConfig::from_lookup(|key| {
        if let Some(v) = named.get(key) {
            return Some(v.clone());
        }
        let i = next.get();
        next.set(i + 1);
        positional.get(i).cloned()
    });
    // Warnings are printed to the user: their text must be buildable too.
    for warning in &config.warnings {
        let _ = warning.to_string();
    }
    let _ = format!("{config:?}");
    for line in text.split('\n') {
        let _ = is_valid_traceparent(line);
    }
});
