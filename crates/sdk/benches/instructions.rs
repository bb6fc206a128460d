//! The instructions the SDK's pipeline costs per span, per log event and per metric record,
//! next to the same pipeline wired by hand, counted by `valgrind --tool=callgrind`: unlike a
//! timing (`span_cost`), the count is the same on a busy machine, so the ratio the issue sets
//! (within 1.05x) can be read off it. `bench/instructions.sh` runs each case for 1 and 1 + N
//! iterations and divides the difference by N, so the setup cancels out.
//!
//! Run by hand: `cargo bench -p otel-inject-sdk --bench instructions -- <case> <iterations>`;
//! without arguments it lists the cases.

use opentelemetry::metrics::MeterProvider as _;

mod common;
use common::*;

const CASES: &[(&str, &str)] = &[
    (
        "span-wired",
        "one info span, entered and closed: hand-wired",
    ),
    ("span-sdk", "the same through otel_inject_sdk"),
    (
        "log-wired",
        "one info! event in a span (log line + log record): hand-wired",
    ),
    ("log-sdk", "the same through otel_inject_sdk"),
    (
        "metrics-wired",
        "a counter add and a histogram record: hand-wired",
    ),
    ("metrics-sdk", "the same through otel_inject_sdk"),
];

fn run(n: usize, d: &tracing::Dispatch, work: fn()) {
    tracing::dispatcher::with_default(d, || {
        for _ in 0..n {
            work();
        }
    });
}

fn main() {
    // `cargo bench` passes `--bench`; the case and the count are the other arguments.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (Some(case), Some(n)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: instructions <case> <iterations>; cases:");
        for (name, what) in CASES {
            eprintln!("  {name:14} {what}");
        }
        std::process::exit(2);
    };
    match case.as_str() {
        "span-wired" | "log-wired" | "metrics-wired" => {
            let (d, wired) = hand_wired();
            match case.as_str() {
                "span-wired" => run(n, &d, one_span),
                "log-wired" => run(n, &d, one_event),
                _ => {
                    let mut record = records(&wired.meter.meter("bench"));
                    (0..n).for_each(|_| record());
                }
            }
            drop(wired);
        }
        "span-sdk" | "log-sdk" | "metrics-sdk" => {
            let (d, guard) = sdk();
            match case.as_str() {
                "span-sdk" => run(n, &d, one_span),
                "log-sdk" => run(n, &d, one_event),
                _ => {
                    let meter = guard
                        .meter_provider()
                        .expect("metrics are on")
                        .meter("bench");
                    let mut record = records(&meter);
                    (0..n).for_each(|_| record());
                }
            }
            drop(guard);
        }
        other => {
            eprintln!("unknown case {other:?}; run without arguments for the list");
            std::process::exit(2);
        }
    }
}
