//! Log lines that carry `trace_id` and `span_id` when a span is active, as text or JSON.
//! The ids come from the active OpenTelemetry context, which the tracing-opentelemetry layer
//! keeps in step with the entered `tracing` span.

use std::fmt;

use opentelemetry::trace::TraceContextExt;
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

use crate::config::LogFormat;

/// Formats events as one line of text or JSON, with the active trace and span ids.
#[derive(Debug, Clone, Copy)]
pub struct CorrelatedFormat {
    format: LogFormat,
}

impl CorrelatedFormat {
    /// A formatter for `format`.
    pub fn new(format: LogFormat) -> Self {
        Self { format }
    }
}

fn active_ids() -> Option<(String, String)> {
    let cx = opentelemetry::Context::current();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid()
        .then(|| (sc.trace_id().to_string(), sc.span_id().to_string()))
}

#[derive(Default)]
struct Fields {
    message: Option<String>,
    rest: Vec<(&'static str, FieldValue)>,
}

enum FieldValue {
    Str(String),
    I64(i64),
    U64(u64),
    F64(f64),
    Bool(bool),
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let s = format!("{value:?}");
        if field.name() == "message" {
            self.message = Some(s);
        } else {
            self.rest.push((field.name(), FieldValue::Str(s)));
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message = Some(value.to_string());
        } else {
            self.rest
                .push((field.name(), FieldValue::Str(value.to_string())));
        }
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.rest.push((field.name(), FieldValue::I64(value)));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.rest.push((field.name(), FieldValue::U64(value)));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.rest.push((field.name(), FieldValue::F64(value)));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.rest.push((field.name(), FieldValue::Bool(value)));
    }
}

impl FieldValue {
    fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Str(s) => serde_json::Value::String(s.clone()),
            Self::I64(v) => (*v).into(),
            Self::U64(v) => (*v).into(),
            Self::F64(v) => serde_json::Number::from_f64(*v)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Self::Bool(v) => (*v).into(),
        }
    }
}

impl fmt::Display for FieldValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) if s.contains(' ') || s.is_empty() => write!(f, "{s:?}"),
            Self::Str(s) => f.write_str(s),
            Self::I64(v) => write!(f, "{v}"),
            Self::U64(v) => write!(f, "{v}"),
            Self::F64(v) => write!(f, "{v}"),
            Self::Bool(v) => write!(f, "{v}"),
        }
    }
}

impl<S, N> FormatEvent<S, N> for CorrelatedFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let mut ts = String::new();
        SystemTime.format_time(&mut Writer::new(&mut ts))?;
        let ids = active_ids();
        match self.format {
            LogFormat::Text => {
                write!(
                    writer,
                    "{ts} {:>5} {}: {}",
                    meta.level(),
                    meta.target(),
                    fields.message.as_deref().unwrap_or("")
                )?;
                for (k, v) in &fields.rest {
                    write!(writer, " {k}={v}")?;
                }
                if let Some((t, s)) = ids {
                    write!(writer, " trace_id={t} span_id={s}")?;
                }
                writeln!(writer)
            }
            LogFormat::Json => {
                let mut obj = serde_json::Map::new();
                obj.insert("timestamp".into(), ts.into());
                obj.insert("level".into(), meta.level().as_str().into());
                obj.insert("target".into(), meta.target().into());
                if let Some(m) = fields.message {
                    obj.insert("message".into(), m.into());
                }
                for (k, v) in &fields.rest {
                    obj.insert((*k).into(), v.to_json());
                }
                if let Some((t, s)) = ids {
                    obj.insert("trace_id".into(), t.into());
                    obj.insert("span_id".into(), s.into());
                }
                let line = serde_json::Value::Object(obj).to_string();
                writeln!(writer, "{line}")
            }
        }
    }
}
