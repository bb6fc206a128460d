//! Dispatch of the subcommands and the mapping of their failures to exit codes.

use std::io::Write;

use crate::{
    cli::{exit, Command, OfflineArgs},
    manifest::read_source,
    offline::{self, OfflineError, OfflineOptions, OfflineReport},
    serve, status,
};

/// Runs a subcommand; returns the exit code.
pub async fn run(command: Command) -> u8 {
    match command {
        Command::Serve(args) => serve::run(*args).await,
        Command::Inject(args) => {
            let output = args.output;
            offline_command(
                &args.input.file,
                args.input.strict,
                options(&args.input),
                |text, source, options| {
                    Box::pin(async move {
                        offline::inject_report(&text, &source, &options, output).await
                    })
                },
            )
            .await
        }
        Command::Review(args) => {
            offline_command(
                &args.file,
                args.strict,
                options(&args),
                |text, source, options| {
                    Box::pin(async move { offline::review_report(&text, &source, &options).await })
                },
            )
            .await
        }
        Command::Explain(args) => {
            offline_command(
                &args.file,
                args.strict,
                options(&args),
                |text, source, options| {
                    Box::pin(async move { offline::explain_report(&text, &source, &options).await })
                },
            )
            .await
        }
        Command::Validate(args) => {
            let options = OfflineOptions {
                default_namespace: args.namespace.clone(),
                ..OfflineOptions::default()
            };
            offline_command(&args.file, args.strict, options, |text, source, options| {
                Box::pin(async move { offline::validate_report(&text, &source, &options) })
            })
            .await
        }
        Command::Status(args) => status::run(args).await,
        Command::Check(args) => crate::check::run(args).await,
        Command::Controller(args) => crate::controller::run(*args).await,
        Command::Crd => match crd_yaml() {
            Ok(yaml) => write_out(yaml.as_bytes()),
            Err(e) => {
                eprintln!("otel-inject: cannot render the CRD: {e}");
                exit::FAILURE
            }
        },
    }
}

/// The Instrumentation CRD as `otel-inject crd` prints it: byte for byte the checked-in
/// `deploy/otel-inject/base/crd-instrumentation.yaml` (the `crd` test pins that file), written
/// by our YAML writer so that kubectl reads it back as exactly the library's [`crd()`].
///
/// [`crd()`]: otel_inject_lib::crd::crd
pub fn crd_yaml() -> Result<String, serde_json::Error> {
    let value = serde_json::to_value(otel_inject_lib::crd::crd())?;
    Ok(format!(
        "{}{}",
        otel_inject_lib::crd::CRD_HEADER,
        crate::yaml::render(&value)
    ))
}

type OfflineFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<OfflineReport, OfflineError>> + Send>,
>;

fn options(args: &OfflineArgs) -> OfflineOptions {
    OfflineOptions {
        cluster_files: args.cluster_files.clone(),
        default_namespace: args.namespace.clone(),
        inject: args.inject.options(),
    }
}

async fn offline_command(
    file: &str,
    strict: bool,
    options: OfflineOptions,
    run: impl FnOnce(Vec<u8>, String, OfflineOptions) -> OfflineFuture,
) -> u8 {
    let source = if file == "-" {
        "stdin".to_string()
    } else {
        file.to_string()
    };
    let text = match read_source(file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("otel-inject: cannot read {source}: {e}");
            return exit::INVALID_INPUT;
        }
    };
    match run(text, source, options).await {
        Ok(report) => {
            for note in &report.notes {
                eprintln!("otel-inject: note: {note}");
            }
            for warning in &report.warnings {
                eprintln!("otel-inject: warning: {warning}");
            }
            let code = write_out(&report.output);
            if code == exit::OK && strict && !report.warnings.is_empty() {
                eprintln!(
                    "otel-inject: --strict: {} warning(s) above; exiting with code {}",
                    report.warnings.len(),
                    exit::STRICT_WARNINGS
                );
                return exit::STRICT_WARNINGS;
            }
            code
        }
        Err(OfflineError::Input(e)) => {
            eprintln!("otel-inject: {e}");
            exit::INVALID_INPUT
        }
        Err(e) => {
            eprintln!("otel-inject: {e}");
            exit::FAILURE
        }
    }
}

pub(crate) fn write_out(bytes: &[u8]) -> u8 {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => exit::OK,
        // A closed pipe (`| head`) is not worth a stack of errors.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => exit::OK,
        Err(e) => {
            eprintln!("otel-inject: cannot write the output: {e}");
            exit::FAILURE
        }
    }
}
