//! The instructions one mutation costs, next to the floor (parse + serialise the same review),
//! counted by `valgrind --tool=callgrind`: unlike time, the count is the same on a busy machine.
//! `bench/instructions.sh` runs each case twice, for 1 and for 1 + N iterations, and divides the
//! difference by N, so the setup (building the inputs, the process itself) cancels out.
//!
//! Run by hand: `cargo bench -p otel-inject-lib --bench instructions -- <case> <iterations>`;
//! without arguments it lists the cases.

use std::hint::black_box;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use common::*;
use otel_inject_lib::{mutate, PodContext};

const CASES: &[(&str, &str)] = &[
    ("floor", "parse + serialise the .NET review (the floor)"),
    (
        "dotnet",
        "parse + mutate + serialise the patch: .NET into 2 of 3 containers",
    ),
    (
        "three",
        "the same with Java, Python and Node.js, one container each",
    ),
    ("java", "Java into one container"),
    ("nodejs", "Node.js into one container"),
    ("python", "Python into one container"),
    (
        "sdk-1",
        "mutate only: the SDK settings into 1 listed container",
    ),
    ("sdk-10", "mutate only: 10 listed containers"),
    ("sdk-100", "mutate only: 100 listed containers"),
];

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
            eprintln!("  {name:8} {what}");
        }
        std::process::exit(2);
    };
    let world = World::shop();
    let body = match case.as_str() {
        "floor" | "dotnet" => review_bytes(dotnet_annotations()),
        "three" => review_bytes(three_agents_annotations()),
        "java" | "nodejs" | "python" => review_bytes(one_language_annotations(case)),
        _ => Vec::new(),
    };
    let wide = case
        .strip_prefix("sdk-")
        .and_then(|n| n.parse::<usize>().ok())
        .map(many_containers);
    for _ in 0..n {
        match (case.as_str(), &wide) {
            ("floor", _) => {
                black_box(floor(black_box(&body)));
            }
            (_, Some(pod)) => {
                let d = mutate(&PodContext {
                    pod: black_box(pod),
                    namespace: &world.ns,
                    instrumentations: &world.insts,
                    owners: &[],
                    options: &world.options,
                });
                assert!(d.has_patch());
                black_box(d);
            }
            (c, None) if CASES.iter().any(|(name, _)| *name == c) => {
                black_box(world.mutate_review(black_box(&body)));
            }
            (c, None) => {
                eprintln!("unknown case {c}");
                std::process::exit(2);
            }
        }
    }
}
