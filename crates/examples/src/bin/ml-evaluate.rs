//! ml-evaluate: the evaluation step of the ML pipeline. Reads the model `ml-train` wrote,
//! evaluates it and writes the metrics; joins the workflow's trace through `TRACEPARENT`.

use anyhow::Context as _;
use clap::Parser;
use otel_inject_examples::ml::{self, Dataset, Model};

#[derive(Debug, Parser)]
#[command(about = "Evaluates a model written by ml-train")]
struct Args {
    /// The model file.
    #[arg(long, env = "ML_MODEL_IN", default_value = "model.json")]
    model: std::path::PathBuf,
    /// Dataset name or CSV path (the same name as for training gives the same data).
    #[arg(long, env = "ML_DATASET")]
    dataset: String,
    /// Where to write the metrics.
    #[arg(long, env = "ML_METRICS_OUT", default_value = "metrics.json")]
    out: std::path::PathBuf,
    /// Fraction of rows evaluated (the rows ml-train held out when it used the same value).
    #[arg(long, default_value_t = 0.2)]
    holdout: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _telemetry = otel_inject_sdk::Telemetry::builder()
        .service_name("ml-evaluate")
        // A job does not stop itself on SIGTERM: the signal flushes what is finished, then ends it.
        .exit_on_signal()
        .init();
    let root = otel_inject_sdk::root_span!("ml-evaluate", dataset = %args.dataset, model = %args.model.display());
    let result = root.in_scope(|| run(&args));
    if let Err(e) = &result {
        tracing::error!(parent: &root, error = %format!("{e:#}"), "evaluation failed");
    }
    drop(root);
    result
}

fn run(args: &Args) -> anyhow::Result<()> {
    let model: Model = tracing::info_span!("load_model").in_scope(|| {
        let bytes = std::fs::read(&args.model)
            .with_context(|| format!("cannot read {}", args.model.display()))?;
        let model: Model = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not a model written by ml-train",
                args.model.display()
            )
        })?;
        anyhow::Ok(model)
    })?;
    let data = tracing::info_span!("load_dataset", dataset = %args.dataset).in_scope(|| {
        let d = Dataset::load(&args.dataset, model.kind)?;
        anyhow::ensure!(
            d.features.len() == model.features.len(),
            "dataset has {} features, the model {}",
            d.features.len(),
            model.features.len()
        );
        anyhow::Ok(d.split(args.holdout.clamp(0.05, 1.0)).1)
    })?;
    let metrics = tracing::info_span!("evaluate", samples = data.x.len()).in_scope(|| {
        let m = ml::evaluate(&model, &data);
        tracing::info!(loss = m.loss, accuracy = ?m.accuracy, r2 = ?m.r2, "model evaluated");
        m
    });
    tracing::info_span!("write_metrics", path = %args.out.display()).in_scope(|| {
        std::fs::write(&args.out, serde_json::to_vec_pretty(&metrics)?)
            .with_context(|| format!("cannot write {}", args.out.display()))?;
        anyhow::Ok(())
    })
}
