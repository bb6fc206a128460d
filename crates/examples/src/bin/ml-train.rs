//! ml-train: the training step of the ML pipeline. Runs without an async runtime; started with
//! `TRACEPARENT` set (an Argo Workflows step), its spans join the workflow's trace.

use anyhow::Context as _;
use clap::Parser;
use otel_inject_examples::ml::{self, Dataset, ModelKind};

#[derive(Debug, Parser)]
#[command(about = "Trains a small model and writes it as JSON")]
struct Args {
    /// Dataset name (generated deterministically) or path of a CSV file (label last).
    #[arg(long, env = "ML_DATASET")]
    dataset: String,
    /// `logistic` or `linear`.
    #[arg(long, env = "ML_MODEL", default_value = "logistic")]
    model: ModelKind,
    /// Where to write the model.
    #[arg(long, env = "ML_MODEL_OUT", default_value = "model.json")]
    out: std::path::PathBuf,
    /// Gradient descent epochs.
    #[arg(long, env = "ML_EPOCHS", default_value_t = 200)]
    epochs: usize,
    /// Learning rate.
    #[arg(long, env = "ML_LEARNING_RATE", default_value_t = 0.3)]
    learning_rate: f64,
    /// Fraction of rows held out (not trained on).
    #[arg(long, default_value_t = 0.2)]
    holdout: f64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let _telemetry = otel_inject_sdk::Telemetry::builder()
        .service_name("ml-train")
        // A job does not stop itself on SIGTERM: the signal flushes what is finished, then ends it.
        .exit_on_signal()
        .init();
    let root =
        otel_inject_sdk::root_span!("ml-train", dataset = %args.dataset, model = ?args.model);
    let result = root.in_scope(|| run(&args));
    if let Err(e) = &result {
        tracing::error!(parent: &root, error = %format!("{e:#}"), "training failed");
    }
    drop(root);
    result
}

fn run(args: &Args) -> anyhow::Result<()> {
    let data = tracing::info_span!("load_dataset", dataset = %args.dataset).in_scope(|| {
        let d = Dataset::load(&args.dataset, args.model)?;
        tracing::info!(
            rows = d.x.len(),
            features = d.features.len(),
            "dataset loaded"
        );
        anyhow::Ok(d)
    })?;
    let (train_set, holdout) = tracing::info_span!("split", holdout = args.holdout)
        .in_scope(|| data.split(args.holdout.clamp(0.0, 0.9)));
    let model = tracing::info_span!(
        "train",
        epochs = args.epochs,
        learning_rate = args.learning_rate
    )
    .in_scope(|| {
        let every = (args.epochs / 5).max(1);
        let model = ml::train(
            &train_set,
            args.model,
            args.epochs,
            args.learning_rate,
            |epoch, loss| {
                if epoch % every == 0 || epoch + 1 == args.epochs {
                    tracing::info!(epoch, loss, "epoch done");
                }
            },
        );
        let holdout_loss = ml::loss(&model, &holdout);
        tracing::info!(final_loss = model.final_loss, holdout_loss, "model trained");
        model
    });
    tracing::info_span!("write_model", path = %args.out.display()).in_scope(|| {
        let json = serde_json::to_vec_pretty(&model)?;
        std::fs::write(&args.out, json)
            .with_context(|| format!("cannot write {}", args.out.display()))?;
        tracing::info!(path = %args.out.display(), "model written");
        anyhow::Ok(())
    })
}
