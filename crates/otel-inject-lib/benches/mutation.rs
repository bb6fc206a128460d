//! One full mutation of a realistic Deployment pod (three containers, twenty env vars each),
//! next to the floor: serde_json parse plus serialize of the same AdmissionReview.
//! Then the scaling group: a pod listing 1, 10, 100, 1,000 and then 4,000 containers in
//! `container-names`, all injected with the SDK settings; linear cost means the 4,000 case
//! takes about four times the 1,000 one (it took ~10x, and ~100x at 8,000, when every container
//! copied every annotation and every listed name was found by a scan of the pod).
//! The same pod with Java, Python and Node.js, one container each, is measured too.
//! Run: `cargo bench -p otel-inject-lib --bench mutation` (`-- containers` for the scaling only).
//! `bench/instructions.sh` counts the instructions of the same cases (stable on a busy machine).

use std::hint::black_box;

// The allocator the otel-inject binary runs with: what it costs there is what is measured.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod common;

use common::*;
use criterion::{criterion_group, criterion_main, Criterion};
use otel_inject_lib::{mutate, PodContext};

fn bench(c: &mut Criterion) {
    let world = World::shop();
    let body = review_bytes(dotnet_annotations());
    let three = review_bytes(three_agents_annotations());

    c.bench_function("floor: parse + serialize review", |b| {
        b.iter(|| black_box(floor(black_box(&body))))
    });
    for (name, body) in [
        ("mutation: parse + mutate + serialize patch", &body),
        ("mutation: java + python + nodejs", &three),
    ] {
        c.bench_function(name, |b| {
            b.iter(|| black_box(world.mutate_review(black_box(body))))
        });
    }
}

fn scaling(c: &mut Criterion) {
    let mut world = World::shop();
    world.owners.clear();
    let mut group = c.benchmark_group("containers");
    group.sample_size(10);
    for n in [1, 10, 100, 1_000, 4_000] {
        let pod = many_containers(n);
        group.bench_function(format!("{n} listed, all injected"), |b| {
            b.iter(|| {
                let d = mutate(&PodContext {
                    pod: black_box(&pod),
                    namespace: &world.ns,
                    instrumentations: &world.insts,
                    owners: &world.owners,
                    options: &world.options,
                });
                assert!(d.has_patch());
                black_box(d.patch.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench, scaling);
criterion_main!(benches);
