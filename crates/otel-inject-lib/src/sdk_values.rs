//! The value grammars of the SDK settings the webhook writes and the SDK reads: propagator
//! names, sampler names and OTLP protocols. One definition serves the Instrumentation model
//! (what a CR may say), the webhook (what it injects) and the SDK (what it accepts).

use std::fmt;
use std::str::FromStr;

/// A value that is not one of the names a setting accepts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {what}; expected one of: {}", expected.join(", "))]
pub struct UnknownValue {
    /// What was being parsed ("propagator", "sampler", ...).
    pub what: &'static str,
    /// The value as written.
    pub value: String,
    /// The accepted names.
    pub expected: &'static [&'static str],
}

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident, $what:literal, { $($(#[$vm:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "k8s", derive(serde::Serialize, serde::Deserialize, schemars::JsonSchema))]
        pub enum $name {
            $($(#[$vm])* #[cfg_attr(feature = "k8s", serde(rename = $text))] $variant),+
        }

        impl $name {
            /// Every accepted name, in the order the specification lists them.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name as written in environment variables and CRs.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s.trim() {
                    $($text => Ok(Self::$variant),)+
                    other => Err(UnknownValue { what: $what, value: other.to_string(), expected: Self::NAMES }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// A context propagator (`OTEL_PROPAGATORS`, `spec.propagators`).
    Propagator, "propagator", {
        /// W3C Trace Context.
        TraceContext => "tracecontext",
        /// W3C Baggage.
        Baggage => "baggage",
        /// B3 single header.
        B3 => "b3",
        /// B3 multiple headers.
        B3Multi => "b3multi",
        /// Jaeger `uber-trace-id`.
        Jaeger => "jaeger",
        /// AWS X-Ray.
        XRay => "xray",
        /// OpenTracing.
        OtTrace => "ottrace",
        /// No propagation.
        None => "none",
    }
);

named_enum!(
    /// A sampler (`OTEL_TRACES_SAMPLER`, `spec.sampler.type`).
    SamplerKind, "sampler", {
        /// Sample everything.
        AlwaysOn => "always_on",
        /// Sample nothing.
        AlwaysOff => "always_off",
        /// Sample a ratio of trace ids.
        TraceIdRatio => "traceidratio",
        /// Follow the parent, else sample.
        ParentBasedAlwaysOn => "parentbased_always_on",
        /// Follow the parent, else drop.
        ParentBasedAlwaysOff => "parentbased_always_off",
        /// Follow the parent, else a ratio.
        ParentBasedTraceIdRatio => "parentbased_traceidratio",
        /// Jaeger remote sampling.
        JaegerRemote => "jaeger_remote",
        /// Follow the parent, else Jaeger remote.
        ParentBasedJaegerRemote => "parentbased_jaeger_remote",
        /// AWS X-Ray sampling.
        XRay => "xray",
    }
);

named_enum!(
    /// An OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
    OtlpProtocol, "OTLP protocol", {
        /// OTLP over gRPC, default port 4317.
        Grpc => "grpc",
        /// OTLP over HTTP with protobuf bodies, default port 4318.
        HttpProtobuf => "http/protobuf",
        /// OTLP over HTTP with JSON bodies, default port 4318.
        HttpJson => "http/json",
    }
);

impl OtlpProtocol {
    /// The specification's default endpoint for this protocol.
    pub fn default_endpoint(self) -> &'static str {
        match self {
            Self::Grpc => "http://localhost:4317",
            Self::HttpProtobuf | Self::HttpJson => "http://localhost:4318",
        }
    }
}

impl SamplerKind {
    /// Whether the sampler takes a ratio in [0, 1] as its argument.
    pub fn takes_ratio(self) -> bool {
        matches!(self, Self::TraceIdRatio | Self::ParentBasedTraceIdRatio)
    }
}

/// Parses a comma-separated propagator list. Empty items are skipped; every unknown name is
/// reported, the known ones are kept in order without duplicates.
pub fn parse_propagators(value: &str) -> (Vec<Propagator>, Vec<UnknownValue>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    for item in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match item.parse::<Propagator>() {
            Ok(p) if !out.contains(&p) => out.push(p),
            Ok(_) => {}
            Err(e) => bad.push(e),
        }
    }
    (out, bad)
}

/// Parses a sampler ratio argument: a float in [0, 1].
pub fn parse_ratio(value: &str) -> Option<f64> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|r| (0.0..=1.0).contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for n in Propagator::NAMES {
            assert_eq!(n.parse::<Propagator>().map(|p| p.as_str()), Ok(*n));
        }
        for n in SamplerKind::NAMES {
            assert_eq!(n.parse::<SamplerKind>().map(|p| p.as_str()), Ok(*n));
        }
    }

    #[test]
    fn unknown_names_say_what_is_accepted() {
        let e = "zipkin".parse::<Propagator>().unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"zipkin\" is not a valid propagator; expected one of: tracecontext, baggage, b3, b3multi, jaeger, xray, ottrace, none"
        );
    }

    #[test]
    fn propagator_lists_keep_order_and_report_unknowns() {
        let (ok, bad) = parse_propagators(" b3 ,tracecontext,,b3,bogus");
        assert_eq!(ok, vec![Propagator::B3, Propagator::TraceContext]);
        assert_eq!(bad.len(), 1);
    }

    #[test]
    fn ratios() {
        assert_eq!(parse_ratio("0.25"), Some(0.25));
        assert_eq!(parse_ratio("1.5"), None);
        assert_eq!(parse_ratio("x"), None);
    }
}
