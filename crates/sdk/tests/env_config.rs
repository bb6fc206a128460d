//! Every variable the SDK reads: parsing, precedence, and the one warning a malformed value
//! gives (variable, value, fallback). All through `EnvConfig::from_lookup` over a map.
#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

use std::collections::HashMap;
use std::time::Duration;

use otel_inject_lib::sdk_values::{OtlpProtocol, Propagator, SamplerKind};
use otel_inject_sdk::config::{
    CodeDefaults, Compression, EnvConfig, Exporter, LogFormat, Signal, TemporalityPreference,
    TlsFile, TracesExporter,
};
use otel_inject_sdk::exporter::describe_export_error;
use rstest::rstest;

fn cfg(vars: &[(&str, &str)]) -> EnvConfig {
    cfg_with(vars, &CodeDefaults::default())
}

fn cfg_with(vars: &[(&str, &str)], defaults: &CodeDefaults) -> EnvConfig {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    EnvConfig::from_lookup_with(|k| map.get(k).cloned(), defaults)
}

fn only_warning(c: &EnvConfig) -> String {
    assert_eq!(c.warnings.len(), 1, "{:#?}", c.warnings);
    c.warnings[0].to_string()
}

#[test]
fn empty_environment_gives_spec_defaults() {
    let c = cfg(&[]);
    assert!(!c.disabled);
    assert_eq!(c.service_name, None);
    assert_eq!(c.traces_exporter, TracesExporter::Otlp);
    assert_eq!(c.otlp.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(c.otlp.endpoint, "http://localhost:4318/v1/traces");
    assert_eq!(c.otlp.timeout, Duration::from_secs(10));
    assert_eq!(c.otlp.compression, Compression::None);
    assert_eq!(c.sampler.kind, SamplerKind::ParentBasedAlwaysOn);
    assert_eq!(
        c.propagators,
        vec![Propagator::TraceContext, Propagator::Baggage]
    );
    assert_eq!(c.batch.max_queue_size, 2048);
    assert_eq!(c.batch.max_export_batch_size, 512);
    assert_eq!(c.batch.schedule_delay, Duration::from_millis(5000));
    assert_eq!(c.batch.export_timeout, Duration::from_millis(30000));
    assert_eq!(c.log_format, LogFormat::Text);
    assert!(c.warnings.is_empty());
}

#[rstest]
#[case::generic_http_gets_signal_path(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")], OtlpProtocol::HttpProtobuf, "http://collector:4318/v1/traces")]
#[case::generic_trailing_slash(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")], OtlpProtocol::HttpProtobuf, "http://collector:4318/v1/traces")]
#[case::generic_with_base_path(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://gw.example/otlp")], OtlpProtocol::HttpProtobuf, "https://gw.example/otlp/v1/traces")]
#[case::signal_used_as_is(&[("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://collector:4318/custom"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other:4318")], OtlpProtocol::HttpProtobuf, "http://collector:4318/custom")]
#[case::grpc_generic_as_is(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")], OtlpProtocol::Grpc, "http://collector:4317")]
#[case::grpc_default_endpoint(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")], OtlpProtocol::Grpc, "http://localhost:4317")]
#[case::port_4317_means_grpc(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")], OtlpProtocol::Grpc, "http://collector:4317")]
#[case::explicit_protocol_beats_port(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")], OtlpProtocol::HttpProtobuf, "http://collector:4317/v1/traces")]
#[case::signal_protocol_beats_generic(&[("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")], OtlpProtocol::Grpc, "http://localhost:4317")]
#[case::http_json(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")], OtlpProtocol::HttpJson, "http://localhost:4318/v1/traces")]
#[case::schemeless_grpc_is_https(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")], OtlpProtocol::Grpc, "https://collector:4317")]
#[case::schemeless_grpc_insecure(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("OTEL_EXPORTER_OTLP_INSECURE", "true")], OtlpProtocol::Grpc, "http://collector:4317")]
fn endpoints_and_protocols(
    #[case] vars: &[(&str, &str)],
    #[case] protocol: OtlpProtocol,
    #[case] endpoint: &str,
) {
    let c = cfg(vars);
    assert_eq!(c.otlp.protocol, protocol);
    assert_eq!(c.otlp.endpoint, endpoint);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[rstest]
#[case::env_endpoint_beats_code(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://env:4318")], "http://env:4318/v1/traces")]
#[case::code_endpoint_when_env_unset(&[], "http://code:4318/v1/traces")]
#[case::empty_env_counts_as_unset(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "  ")], "http://code:4318/v1/traces")]
fn code_endpoint_is_only_a_default(#[case] vars: &[(&str, &str)], #[case] endpoint: &str) {
    let d = CodeDefaults {
        endpoint: Some("http://code:4318".into()),
        ..Default::default()
    };
    assert_eq!(cfg_with(vars, &d).otlp.endpoint, endpoint);
}

#[rstest]
#[case::env_wins(&[("OTEL_SERVICE_NAME", "from-env")], Some("from-env"), Some("from-code"))]
#[case::code_default(&[], None, Some("from-code"))]
#[case::resource_attributes_beat_code(&[("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs")], None, Some("from-attrs"))]
fn service_name_precedence(
    #[case] vars: &[(&str, &str)],
    #[case] env_name: Option<&str>,
    #[case] attr_name: Option<&str>,
) {
    let d = CodeDefaults {
        service_name: Some("from-code".into()),
        ..Default::default()
    };
    let c = cfg_with(vars, &d);
    assert_eq!(c.service_name.as_deref(), env_name);
    let attr = c
        .resource_attributes
        .iter()
        .find(|(k, _)| k == "service.name")
        .map(|(_, v)| v.as_str());
    assert_eq!(attr, attr_name);
}

#[test]
fn resource_attributes_expand_unexpanded_references_and_override_code() {
    let d = CodeDefaults {
        resource_attributes: vec![
            ("service.version".into(), "code".into()),
            ("team".into(), "a".into()),
        ],
        ..Default::default()
    };
    let c = cfg_with(
        &[
            ("OTEL_RESOURCE_ATTRIBUTES_POD_NAME", "orders-7d9f-x2"),
            ("OTEL_RESOURCE_ATTRIBUTES_NODE_NAME", "node-1"),
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "k8s.pod.name=$(OTEL_RESOURCE_ATTRIBUTES_POD_NAME),k8s.node.name=$(OTEL_RESOURCE_ATTRIBUTES_NODE_NAME),service.version=1.2,note=a%20b",
            ),
        ],
        &d,
    );
    let get = |k: &str| {
        c.resource_attributes
            .iter()
            .find(|(ek, _)| ek == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("k8s.pod.name"), Some("orders-7d9f-x2"));
    assert_eq!(get("k8s.node.name"), Some("node-1"));
    assert_eq!(get("service.version"), Some("1.2"));
    assert_eq!(get("team"), Some("a"));
    assert_eq!(get("note"), Some("a b"));
    assert!(c.warnings.is_empty());
}

#[rstest]
#[case::malformed_entry("a=1,broken", "OTEL_RESOURCE_ATTRIBUTES=\"a=1,broken\" is invalid: entry \"broken\" is not of the form key=value; using the other entries")]
#[case::unresolvable_reference("k8s.pod.uid=$(OTEL_RESOURCE_ATTRIBUTES_POD_UID)", "OTEL_RESOURCE_ATTRIBUTES=\"k8s.pod.uid=$(OTEL_RESOURCE_ATTRIBUTES_POD_UID)\" is invalid: k8s.pod.uid=$(OTEL_RESOURCE_ATTRIBUTES_POD_UID) references a variable that is not set; using no k8s.pod.uid from this variable")]
fn resource_attribute_warnings(#[case] value: &str, #[case] warning: &str) {
    let c = cfg(&[("OTEL_RESOURCE_ATTRIBUTES", value)]);
    assert_eq!(only_warning(&c), warning);
    assert!(!c.resource_attributes.iter().any(|(_, v)| v.contains("$(")));
}

#[rstest]
#[case::sdk_disabled_true("OTEL_SDK_DISABLED", "true", "")]
#[case::sdk_disabled_mixed_case("OTEL_SDK_DISABLED", "TRUE", "")]
#[case::sdk_disabled_bad(
    "OTEL_SDK_DISABLED",
    "yes",
    "OTEL_SDK_DISABLED=\"yes\" is invalid: expected true or false; using false"
)]
#[case::insecure_bad(
    "OTEL_EXPORTER_OTLP_INSECURE",
    "maybe",
    "OTEL_EXPORTER_OTLP_INSECURE=\"maybe\" is invalid: expected true or false; using false"
)]
#[case::protocol_bad("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift", "OTEL_EXPORTER_OTLP_PROTOCOL=\"thrift\" is invalid: expected one of: grpc, http/protobuf, http/json; using the next setting (the other protocol variable, else inferred from the endpoint port, else http/protobuf)")]
#[case::traces_protocol_bad("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=\"udp\" is invalid: expected one of: grpc, http/protobuf, http/json; using the next setting (the other protocol variable, else inferred from the endpoint port, else http/protobuf)")]
#[case::endpoint_bad_scheme("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://x:1", "OTEL_EXPORTER_OTLP_ENDPOINT=\"ftp://x:1\" is invalid: the scheme must be http or https; using the next endpoint setting or the default")]
#[case::endpoint_schemeless_http("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "OTEL_EXPORTER_OTLP_ENDPOINT=\"collector:4318\" is invalid: an HTTP endpoint needs a scheme (http:// or https://); using http://collector:4318")]
#[case::traces_endpoint_garbage("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=\"http://\" is invalid: not a valid URL; using the next endpoint setting or the default")]
#[case::timeout_bad("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", "OTEL_EXPORTER_OTLP_TIMEOUT=\"10s\" is invalid: expected a whole number of milliseconds; using 10000 ms")]
#[case::traces_timeout_bad("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "-1", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT=\"-1\" is invalid: expected a whole number of milliseconds; using 10000 ms")]
#[case::compression_bad("OTEL_EXPORTER_OTLP_COMPRESSION", "brotli", "OTEL_EXPORTER_OTLP_COMPRESSION=\"brotli\" is invalid: expected gzip or none; using no compression")]
#[case::headers_bad("OTEL_EXPORTER_OTLP_HEADERS", "api-key=secret,oops", "OTEL_EXPORTER_OTLP_HEADERS=\"api-key=***,oops\" is invalid: entry \"oops\" is not of the form key=value; using the other headers")]
#[case::client_cert_without_key("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/tls/client.crt", "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE=\"/tls/client.crt\" is invalid: OTEL_EXPORTER_OTLP_CLIENT_KEY is not set; using no client certificate")]
#[case::client_key_without_cert("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/tls/client.key", "OTEL_EXPORTER_OTLP_CLIENT_KEY=\"/tls/client.key\" is invalid: OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is not set; using no client certificate")]
#[case::sampler_bad("OTEL_TRACES_SAMPLER", "sometimes", "OTEL_TRACES_SAMPLER=\"sometimes\" is invalid: expected one of: always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio, jaeger_remote, parentbased_jaeger_remote, xray; using parentbased_always_on")]
#[case::sampler_unimplemented("OTEL_TRACES_SAMPLER", "xray", "OTEL_TRACES_SAMPLER=\"xray\" is invalid: xray is not implemented by this SDK; using parentbased_always_on")]
#[case::propagator_unknown("OTEL_PROPAGATORS", "tracecontext,zipkin", "OTEL_PROPAGATORS=\"tracecontext,zipkin\" is invalid: \"zipkin\" is not a propagator; expected one of: tracecontext, baggage, b3, b3multi, jaeger, xray, ottrace, none; using the other propagators")]
#[case::propagator_unimplemented("OTEL_PROPAGATORS", "xray,b3", "OTEL_PROPAGATORS=\"xray,b3\" is invalid: xray is not implemented by this SDK; using the other propagators")]
#[case::propagators_all_bad("OTEL_PROPAGATORS", "foo", "OTEL_PROPAGATORS=\"foo\" is invalid: \"foo\" is not a propagator; expected one of: tracecontext, baggage, b3, b3multi, jaeger, xray, ottrace, none; no usable propagator; using tracecontext,baggage")]
#[case::propagators_none_mixed("OTEL_PROPAGATORS", "none,b3", "OTEL_PROPAGATORS=\"none,b3\" is invalid: none cannot be combined with other propagators; using none")]
#[case::traces_exporter_bad(
    "OTEL_TRACES_EXPORTER",
    "zipkin",
    "OTEL_TRACES_EXPORTER=\"zipkin\" is invalid: \"zipkin\" is not supported; expected otlp, console or none; using the other entries, else otlp"
)]
#[case::metrics_exporter_bad("OTEL_METRICS_EXPORTER", "prometheus", "OTEL_METRICS_EXPORTER=\"prometheus\" is invalid: \"prometheus\" is not supported; expected otlp, console or none; using the other entries, else otlp")]
#[case::logs_exporter_two(
    "OTEL_LOGS_EXPORTER",
    "console,otlp",
    "OTEL_LOGS_EXPORTER=\"console,otlp\" is invalid: one exporter per signal; using console"
)]
#[case::metric_interval_bad("OTEL_METRIC_EXPORT_INTERVAL", "1m", "OTEL_METRIC_EXPORT_INTERVAL=\"1m\" is invalid: expected a whole number of milliseconds; using 60000 ms")]
#[case::metric_interval_zero(
    "OTEL_METRIC_EXPORT_INTERVAL",
    "0",
    "OTEL_METRIC_EXPORT_INTERVAL=\"0\" is invalid: must be positive; using 60000 ms"
)]
#[case::metric_timeout_bad("OTEL_METRIC_EXPORT_TIMEOUT", "x", "OTEL_METRIC_EXPORT_TIMEOUT=\"x\" is invalid: expected a whole number of milliseconds; using 30000 ms")]
#[case::temporality_bad("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", "sometimes", "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=\"sometimes\" is invalid: expected cumulative, delta or lowmemory; using cumulative")]
#[case::metrics_protocol_bad("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "udp", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL=\"udp\" is invalid: expected one of: grpc, http/protobuf, http/json; using the next setting (the other protocol variable, else inferred from the endpoint port, else http/protobuf)")]
#[case::logs_endpoint_bad("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "ftp://x:1", "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT=\"ftp://x:1\" is invalid: the scheme must be http or https; using the next endpoint setting or the default")]
#[case::metrics_timeout_bad("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "soon", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT=\"soon\" is invalid: expected a whole number of milliseconds; using 10000 ms")]
#[case::logs_compression_bad("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "zstd", "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION=\"zstd\" is invalid: expected gzip or none; using no compression")]
#[case::logs_headers_bad("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "token=abc,bad", "OTEL_EXPORTER_OTLP_LOGS_HEADERS=\"token=***,bad\" is invalid: entry \"bad\" is not of the form key=value; using the other headers")]
#[case::blrp_delay_bad("OTEL_BLRP_SCHEDULE_DELAY", "soon", "OTEL_BLRP_SCHEDULE_DELAY=\"soon\" is invalid: expected a whole number of milliseconds; using 1000 ms")]
#[case::blrp_timeout_bad("OTEL_BLRP_EXPORT_TIMEOUT", "-5", "OTEL_BLRP_EXPORT_TIMEOUT=\"-5\" is invalid: expected a whole number of milliseconds; using 30000 ms")]
#[case::blrp_queue_bad(
    "OTEL_BLRP_MAX_QUEUE_SIZE",
    "0",
    "OTEL_BLRP_MAX_QUEUE_SIZE=\"0\" is invalid: expected a positive whole number; using 2048"
)]
#[case::blrp_batch_bad("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "many", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE=\"many\" is invalid: expected a positive whole number; using 512")]
#[case::bsp_delay_bad("OTEL_BSP_SCHEDULE_DELAY", "soon", "OTEL_BSP_SCHEDULE_DELAY=\"soon\" is invalid: expected a whole number of milliseconds; using 5000 ms")]
#[case::bsp_timeout_bad("OTEL_BSP_EXPORT_TIMEOUT", "1.5", "OTEL_BSP_EXPORT_TIMEOUT=\"1.5\" is invalid: expected a whole number of milliseconds; using 30000 ms")]
#[case::bsp_queue_bad(
    "OTEL_BSP_MAX_QUEUE_SIZE",
    "0",
    "OTEL_BSP_MAX_QUEUE_SIZE=\"0\" is invalid: expected a positive whole number; using 2048"
)]
#[case::bsp_batch_bad("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "lots", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=\"lots\" is invalid: expected a positive whole number; using 512")]
#[case::traceparent_bad("TRACEPARENT", "00-abc-def-01", "TRACEPARENT=\"00-abc-def-01\" is invalid: expected a W3C traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>, ids not all zero; using no parent (root spans start new traces)")]
#[case::traceparent_zero_ids("TRACEPARENT", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "TRACEPARENT=\"00-00000000000000000000000000000000-00f067aa0ba902b7-01\" is invalid: expected a W3C traceparent: 00-<32 hex trace id>-<16 hex span id>-<2 hex flags>, ids not all zero; using no parent (root spans start new traces)")]
#[case::log_format_bad(
    "OTEL_INJECT_LOG_FORMAT",
    "xml",
    "OTEL_INJECT_LOG_FORMAT=\"xml\" is invalid: expected text or json; using text"
)]
fn one_variable(#[case] var: &str, #[case] value: &str, #[case] warning: &str) {
    let c = cfg(&[(var, value)]);
    if warning.is_empty() {
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    } else {
        assert_eq!(only_warning(&c), warning);
        assert_eq!(c.warnings[0].variable, var);
    }
}

#[test]
fn sdk_disabled_is_read() {
    assert!(cfg(&[("OTEL_SDK_DISABLED", "true")]).disabled);
    assert!(!cfg(&[("OTEL_SDK_DISABLED", "false")]).disabled);
    assert!(!cfg(&[("OTEL_SDK_DISABLED", "yes")]).disabled);
}

#[rstest]
#[case::generic(&[("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%3Db,X-Tenant=acme")], &[("api-key", "a=b"), ("x-tenant", "acme")])]
#[case::signal_replaces_generic(&[("OTEL_EXPORTER_OTLP_HEADERS", "a=1"), ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "b=2")], &[("b", "2")])]
fn headers(#[case] vars: &[(&str, &str)], #[case] expected: &[(&str, &str)]) {
    let c = cfg(vars);
    let mut got: Vec<(&str, &str)> = c
        .otlp
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    got.sort();
    assert_eq!(got, expected);
}

#[rstest]
#[case::generic(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500")], 2500)]
#[case::signal_wins(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"), ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "700")], 700)]
#[case::zero_means_default(&[("OTEL_EXPORTER_OTLP_TIMEOUT", "0")], 10000)]
fn timeouts(#[case] vars: &[(&str, &str)], #[case] ms: u64) {
    assert_eq!(cfg(vars).otlp.timeout, Duration::from_millis(ms));
}

#[rstest]
#[case::gzip(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")], Compression::Gzip)]
#[case::signal_none_wins(&[("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"), ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "none")], Compression::None)]
#[case::case_insensitive(&[("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "GZIP")], Compression::Gzip)]
fn compression(#[case] vars: &[(&str, &str)], #[case] expected: Compression) {
    assert_eq!(cfg(vars).otlp.compression, expected);
}

fn tls(variable: &'static str, path: &str) -> TlsFile {
    TlsFile {
        variable,
        path: path.into(),
    }
}

#[test]
fn tls_files_are_kept() {
    let c = cfg(&[
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/tls/ca.crt"),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/tls/client.crt"),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/tls/client.key"),
    ]);
    for otlp in [&c.otlp, &c.metrics_otlp, &c.logs_otlp] {
        assert_eq!(
            otlp.ca_file,
            Some(tls("OTEL_EXPORTER_OTLP_CERTIFICATE", "/tls/ca.crt"))
        );
        assert_eq!(
            otlp.client_identity,
            Some((
                tls("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/tls/client.crt"),
                tls("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/tls/client.key")
            ))
        );
    }
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

/// The per-signal TLS variables win over the generic ones, each on its own and for its signal
/// only; the other signals keep the generic value.
#[rstest]
#[case::traces(Signal::Traces)]
#[case::metrics(Signal::Metrics)]
#[case::logs(Signal::Logs)]
fn per_signal_tls_variables_win(#[case] signal: Signal) {
    let v = signal.vars();
    let c = cfg(&[
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/generic/ca.crt"),
        ("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/generic/tls.crt"),
        ("OTEL_EXPORTER_OTLP_CLIENT_KEY", "/generic/tls.key"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "false"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        (v.certificate, "/signal/ca.crt"),
        (v.client_key, "/signal/tls.key"),
        (v.insecure, "TRUE"),
    ]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let all = [
        (Signal::Traces, &c.otlp),
        (Signal::Metrics, &c.metrics_otlp),
        (Signal::Logs, &c.logs_otlp),
    ];
    for (s, otlp) in all {
        if s == signal {
            assert_eq!(otlp.ca_file, Some(tls(v.certificate, "/signal/ca.crt")));
            // The certificate has no per-signal value: the generic one pairs with the
            // per-signal key.
            assert_eq!(
                otlp.client_identity,
                Some((
                    tls("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", "/generic/tls.crt"),
                    tls(v.client_key, "/signal/tls.key")
                ))
            );
            assert!(otlp.insecure);
            assert_eq!(otlp.endpoint, "http://collector:4317", "{s}");
        } else {
            assert_eq!(
                otlp.ca_file,
                Some(tls("OTEL_EXPORTER_OTLP_CERTIFICATE", "/generic/ca.crt"))
            );
            assert_eq!(
                otlp.client_identity.as_ref().map(|(_, k)| k.variable),
                Some("OTEL_EXPORTER_OTLP_CLIENT_KEY")
            );
            assert!(!otlp.insecure);
            assert_eq!(otlp.endpoint, "https://collector:4317", "{s}");
        }
    }
}

#[rstest]
#[case::traces_insecure_bad(&[("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "yes"), ("OTEL_EXPORTER_OTLP_INSECURE", "true")], true, "OTEL_EXPORTER_OTLP_TRACES_INSECURE=\"yes\" is invalid: expected true or false; using OTEL_EXPORTER_OTLP_INSECURE, else false")]
#[case::traces_insecure_bad_alone(&[("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "1")], false, "OTEL_EXPORTER_OTLP_TRACES_INSECURE=\"1\" is invalid: expected true or false; using OTEL_EXPORTER_OTLP_INSECURE, else false")]
fn malformed_per_signal_insecure_falls_back_to_the_generic(
    #[case] vars: &[(&str, &str)],
    #[case] insecure: bool,
    #[case] warning: &str,
) {
    let c = cfg(vars);
    assert_eq!(c.otlp.insecure, insecure);
    // The other signals read the generic variable alone.
    assert_eq!(c.metrics_otlp.insecure, insecure);
    assert_eq!(only_warning(&c), warning);
}

#[rstest]
#[case::signal_cert_without_any_key(&[("OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE", "/l/tls.crt")], "OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE=\"/l/tls.crt\" is invalid: neither OTEL_EXPORTER_OTLP_LOGS_CLIENT_KEY nor OTEL_EXPORTER_OTLP_CLIENT_KEY is set; using no client certificate")]
#[case::signal_key_without_any_cert(&[("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", "/m/tls.key")], "OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY=\"/m/tls.key\" is invalid: neither OTEL_EXPORTER_OTLP_METRICS_CLIENT_CERTIFICATE nor OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE is set; using no client certificate")]
fn half_a_per_signal_client_identity_is_one_warning(
    #[case] vars: &[(&str, &str)],
    #[case] warning: &str,
) {
    let c = cfg(vars);
    assert_eq!(only_warning(&c), warning);
    for otlp in [&c.otlp, &c.metrics_otlp, &c.logs_otlp] {
        assert_eq!(otlp.client_identity, None);
    }
}

#[rstest]
#[case::always_on("always_on", None, SamplerKind::AlwaysOn, 1.0)]
#[case::always_off("always_off", None, SamplerKind::AlwaysOff, 1.0)]
#[case::ratio("traceidratio", Some("0.25"), SamplerKind::TraceIdRatio, 0.25)]
#[case::parent_ratio(
    "parentbased_traceidratio",
    Some("0.5"),
    SamplerKind::ParentBasedTraceIdRatio,
    0.5
)]
#[case::ratio_without_arg("traceidratio", None, SamplerKind::TraceIdRatio, 1.0)]
#[case::parent_off("parentbased_always_off", None, SamplerKind::ParentBasedAlwaysOff, 1.0)]
#[case::arg_ignored_for_non_ratio("always_on", Some("nonsense"), SamplerKind::AlwaysOn, 1.0)]
fn samplers(
    #[case] name: &str,
    #[case] arg: Option<&str>,
    #[case] kind: SamplerKind,
    #[case] ratio: f64,
) {
    let mut vars = vec![("OTEL_TRACES_SAMPLER", name)];
    if let Some(a) = arg {
        vars.push(("OTEL_TRACES_SAMPLER_ARG", a));
    }
    let c = cfg(&vars);
    assert_eq!(c.sampler.kind, kind);
    assert_eq!(c.sampler.ratio, ratio);
    assert!(c.warnings.is_empty());
}

#[rstest]
#[case::out_of_range("1.5")]
#[case::not_a_number("half")]
fn sampler_arg_malformed(#[case] arg: &str) {
    let c = cfg(&[
        ("OTEL_TRACES_SAMPLER", "traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", arg),
    ]);
    assert_eq!(
        only_warning(&c),
        format!("OTEL_TRACES_SAMPLER_ARG={arg:?} is invalid: expected a number between 0 and 1; using 1.0")
    );
    assert_eq!(c.sampler.ratio, 1.0);
}

#[rstest]
#[case::w3c("tracecontext,baggage", &[Propagator::TraceContext, Propagator::Baggage])]
#[case::b3("b3", &[Propagator::B3])]
#[case::b3multi_and_jaeger("b3multi, jaeger", &[Propagator::B3Multi, Propagator::Jaeger])]
#[case::none("none", &[])]
#[case::uppercase("TraceContext", &[Propagator::TraceContext])]
fn propagators(#[case] value: &str, #[case] expected: &[Propagator]) {
    let c = cfg(&[("OTEL_PROPAGATORS", value)]);
    assert_eq!(c.propagators, expected);
    assert!(c.warnings.is_empty());
}

#[rstest]
#[case::otlp("otlp", Exporter::Otlp)]
#[case::none("none", Exporter::None)]
#[case::console("console", Exporter::Console)]
#[case::console_any_case(" Console ", Exporter::Console)]
#[case::unknown_skipped("zipkin,console", Exporter::Console)]
fn exporters(#[case] value: &str, #[case] expected: Exporter) {
    for (var, get) in [
        (
            "OTEL_TRACES_EXPORTER",
            (|c: &EnvConfig| c.traces_exporter) as fn(&EnvConfig) -> Exporter,
        ),
        ("OTEL_METRICS_EXPORTER", |c: &EnvConfig| c.metrics_exporter),
        ("OTEL_LOGS_EXPORTER", |c: &EnvConfig| c.logs_exporter),
    ] {
        let c = cfg(&[(var, value)]);
        assert_eq!(get(&c), expected, "{var}={value}");
        // The other signals keep their default.
        let others = [c.traces_exporter, c.metrics_exporter, c.logs_exporter];
        assert_eq!(
            others.iter().filter(|e| **e == Exporter::Otlp).count(),
            if expected == Exporter::Otlp { 3 } else { 2 },
            "{var}"
        );
    }
}

#[test]
fn metrics_and_logs_defaults() {
    let c = cfg(&[]);
    assert_eq!(c.metrics_exporter, Exporter::Otlp);
    assert_eq!(c.logs_exporter, Exporter::Otlp);
    assert_eq!(c.metrics_otlp.endpoint, "http://localhost:4318/v1/metrics");
    assert_eq!(c.logs_otlp.endpoint, "http://localhost:4318/v1/logs");
    assert_eq!(c.metrics.interval, Duration::from_secs(60));
    assert_eq!(c.metrics.timeout, Duration::from_secs(30));
    assert_eq!(c.metrics.temporality, TemporalityPreference::Cumulative);
    assert_eq!(c.log_batch.schedule_delay, Duration::from_millis(1000));
    assert_eq!(c.log_batch.export_timeout, Duration::from_millis(30000));
    assert_eq!(c.log_batch.max_queue_size, 2048);
    assert_eq!(c.log_batch.max_export_batch_size, 512);
    assert_eq!(c.otlp.protocol_source, "default");
}

#[rstest]
#[case::generic_gets_each_path(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")], "http://c:4318/v1/metrics", "http://c:4318/v1/logs", "http://c:4318/v1/traces")]
#[case::signal_endpoints_as_is(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "http://m:9090/in"), ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://l:3100/otlp")], "http://m:9090/in", "http://l:3100/otlp", "http://c:4318/v1/traces")]
#[case::one_signal_only(&[("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "http://l:3100/otlp")], "http://localhost:4318/v1/metrics", "http://l:3100/otlp", "http://localhost:4318/v1/traces")]
#[case::grpc_port_for_all(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317")], "http://c:4317", "http://c:4317", "http://c:4317")]
fn per_signal_endpoints(
    #[case] vars: &[(&str, &str)],
    #[case] metrics: &str,
    #[case] logs: &str,
    #[case] traces: &str,
) {
    let c = cfg(vars);
    assert_eq!(c.metrics_otlp.endpoint, metrics);
    assert_eq!(c.logs_otlp.endpoint, logs);
    assert_eq!(c.otlp.endpoint, traces);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn per_signal_protocol_headers_timeout_and_compression_beat_the_generic_ones() {
    let c = cfg(&[
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "tenant=a"),
        ("OTEL_EXPORTER_OTLP_LOGS_HEADERS", "tenant=logs,x-key=k"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
        ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "7000"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "none"),
        ("OTEL_EXPORTER_OTLP_LOGS_COMPRESSION", "gzip"),
    ]);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.metrics_otlp.protocol, OtlpProtocol::Grpc);
    assert_eq!(
        c.metrics_otlp.protocol_source,
        "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"
    );
    assert_eq!(c.metrics_otlp.endpoint, "http://localhost:4317");
    assert_eq!(c.logs_otlp.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(c.logs_otlp.protocol_source, "OTEL_EXPORTER_OTLP_PROTOCOL");
    assert_eq!(
        c.otlp.headers,
        vec![("tenant".to_string(), "a".to_string())]
    );
    assert_eq!(
        c.logs_otlp.headers,
        vec![
            ("tenant".to_string(), "logs".to_string()),
            ("x-key".to_string(), "k".to_string())
        ]
    );
    assert_eq!(c.metrics_otlp.headers, c.otlp.headers);
    assert_eq!(c.metrics_otlp.timeout, Duration::from_millis(7000));
    assert_eq!(c.logs_otlp.timeout, Duration::from_millis(2000));
    assert_eq!(c.logs_otlp.compression, Compression::Gzip);
    assert_eq!(c.metrics_otlp.compression, Compression::None);
}

#[test]
fn a_malformed_generic_variable_warns_once_for_all_signals() {
    let c = cfg(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "thrift")]);
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert!(
        !c.warnings[0].problem.contains("; expected"),
        "{}",
        c.warnings[0]
    );
}

#[rstest]
#[case::cumulative("cumulative", TemporalityPreference::Cumulative)]
#[case::delta("Delta", TemporalityPreference::Delta)]
#[case::lowmemory("lowmemory", TemporalityPreference::LowMemory)]
fn temporality(#[case] value: &str, #[case] expected: TemporalityPreference) {
    let c = cfg(&[("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", value)]);
    assert_eq!(c.metrics.temporality, expected);
    assert!(c.warnings.is_empty());
}

#[test]
fn metric_reader_and_log_batch_settings() {
    let c = cfg(&[
        ("OTEL_METRIC_EXPORT_INTERVAL", "15000"),
        ("OTEL_METRIC_EXPORT_TIMEOUT", "5000"),
        ("OTEL_BLRP_SCHEDULE_DELAY", "250"),
        ("OTEL_BLRP_EXPORT_TIMEOUT", "4000"),
        ("OTEL_BLRP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "500"),
    ]);
    assert_eq!(c.metrics.interval, Duration::from_secs(15));
    assert_eq!(c.metrics.timeout, Duration::from_secs(5));
    assert_eq!(c.log_batch.schedule_delay, Duration::from_millis(250));
    assert_eq!(c.log_batch.export_timeout, Duration::from_secs(4));
    assert_eq!(c.log_batch.max_queue_size, 100);
    assert_eq!(
        c.log_batch.max_export_batch_size, 100,
        "clamped to the queue"
    );
    assert_eq!(c.warnings.len(), 1, "{:?}", c.warnings);
    assert_eq!(c.warnings[0].variable, "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE");
    // The span processor's settings are untouched.
    assert_eq!(c.batch.schedule_delay, Duration::from_millis(5000));
}

#[rstest]
#[case::http_on_4317(
    OtlpProtocol::HttpProtobuf,
    "http://c:4317/v1/traces",
    "error sending request",
    Some("4317 is the OTLP/gRPC port: set OTEL_EXPORTER_OTLP_PROTOCOL=grpc")
)]
#[case::grpc_on_4318(
    OtlpProtocol::Grpc,
    "http://c:4318",
    "transport error",
    Some("4318 is the OTLP/HTTP port: set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf")
)]
#[case::grpc_against_http(OtlpProtocol::Grpc, "http://c:4317", "h2 protocol error: frame with invalid size", Some("does not answer as OTLP/gRPC; if http://c:4317 is an OTLP/HTTP endpoint, set OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf"))]
#[case::no_metrics_pipeline(OtlpProtocol::Grpc, "http://c:4317", "status: Unimplemented, message: unknown service", Some("the collector does not take traces: give it a traces pipeline, or set OTEL_TRACES_EXPORTER=none"))]
#[case::refused(
    OtlpProtocol::HttpProtobuf,
    "http://c:4318/v1/traces",
    "tcp connect error: Connection refused",
    Some("nothing answers at http://c:4318/v1/traces")
)]
#[case::other(
    OtlpProtocol::HttpProtobuf,
    "http://c:4318/v1/traces",
    "HTTP 500",
    None
)]
fn export_errors_name_endpoint_protocol_and_the_fix(
    #[case] protocol: OtlpProtocol,
    #[case] endpoint: &str,
    #[case] error: &str,
    #[case] hint: Option<&str>,
) {
    let m = describe_export_error(Signal::Traces, protocol, endpoint, error);
    assert!(
        m.starts_with(&format!(
            "OTLP traces export to {endpoint} over {protocol} failed: {error}"
        )),
        "{m}"
    );
    match hint {
        Some(h) => assert!(m.contains(h), "{m}"),
        None => assert!(!m.contains("; "), "{m}"),
    }
}

#[test]
fn batch_settings() {
    let c = cfg(&[
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        ("OTEL_BSP_EXPORT_TIMEOUT", "1000"),
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "50"),
    ]);
    assert_eq!(c.batch.schedule_delay, Duration::from_millis(200));
    assert_eq!(c.batch.export_timeout, Duration::from_millis(1000));
    assert_eq!(
        (c.batch.max_queue_size, c.batch.max_export_batch_size),
        (100, 50)
    );
}

#[test]
fn batch_larger_than_queue_is_clamped() {
    let c = cfg(&[
        ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "500"),
    ]);
    assert_eq!(c.batch.max_export_batch_size, 100);
    assert_eq!(
        only_warning(&c),
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE=\"500\" is invalid: larger than OTEL_BSP_MAX_QUEUE_SIZE=100; using 100"
    );
}

#[test]
fn small_queue_lowers_the_default_batch() {
    let c = cfg(&[("OTEL_BSP_MAX_QUEUE_SIZE", "100")]);
    assert_eq!(c.batch.max_export_batch_size, 100);
    assert!(c.warnings.is_empty());
}

#[test]
fn parent_context_variables() {
    let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let c = cfg(&[
        ("TRACEPARENT", tp),
        ("TRACESTATE", "a=b"),
        ("BAGGAGE", "k=v"),
    ]);
    assert_eq!(c.parent.traceparent.as_deref(), Some(tp));
    assert_eq!(c.parent.tracestate.as_deref(), Some("a=b"));
    assert_eq!(c.parent.baggage.as_deref(), Some("k=v"));
    // A tracestate without a valid traceparent means nothing.
    let c = cfg(&[("TRACESTATE", "a=b")]);
    assert_eq!(c.parent.tracestate, None);
}

#[rstest]
#[case::json("json", None, LogFormat::Json)]
#[case::text_beats_code("text", Some(LogFormat::Json), LogFormat::Text)]
#[case::code_default("", Some(LogFormat::Json), LogFormat::Json)]
fn log_format(#[case] value: &str, #[case] code: Option<LogFormat>, #[case] expected: LogFormat) {
    let d = CodeDefaults {
        log_format: code,
        ..Default::default()
    };
    assert_eq!(
        cfg_with(&[("OTEL_INJECT_LOG_FORMAT", value)], &d).log_format,
        expected
    );
}

#[test]
fn several_problems_with_one_variable_give_one_warning() {
    let c = cfg(&[("OTEL_PROPAGATORS", "foo,bar")]);
    assert_eq!(c.warnings.len(), 1);
}

#[rstest]
#[case::defaults(None, "http://localhost:5778/sampling", 60000, 0.001, 0)]
#[case::all_set(
    Some("endpoint=http://jaeger:5778/sampling, pollingIntervalMs=5000,initialSamplingRate=0.25"),
    "http://jaeger:5778/sampling",
    5000,
    0.25,
    0
)]
#[case::bad_endpoint(
    Some("endpoint=jaeger"),
    "http://localhost:5778/sampling",
    60000,
    0.001,
    1
)]
#[case::bad_interval(
    Some("pollingIntervalMs=0"),
    "http://localhost:5778/sampling",
    60000,
    0.001,
    1
)]
#[case::bad_rate(
    Some("initialSamplingRate=2"),
    "http://localhost:5778/sampling",
    60000,
    0.001,
    1
)]
#[case::unknown_key_and_bare_entry(
    Some("maxOperations=10,oops,initialSamplingRate=0.5"),
    "http://localhost:5778/sampling",
    60000,
    0.5,
    1
)]
fn jaeger_remote_arguments(
    #[case] arg: Option<&str>,
    #[case] endpoint: &str,
    #[case] interval_ms: u64,
    #[case] rate: f64,
    #[case] warnings: usize,
) {
    for sampler in ["jaeger_remote", "parentbased_jaeger_remote"] {
        let mut vars = vec![("OTEL_TRACES_SAMPLER", sampler)];
        if let Some(a) = arg {
            vars.push(("OTEL_TRACES_SAMPLER_ARG", a));
        }
        let c = cfg(&vars);
        let r = c.sampler.remote.clone().expect("remote settings");
        assert_eq!(r.endpoint, endpoint);
        assert_eq!(r.polling_interval, Duration::from_millis(interval_ms));
        assert_eq!(r.initial_sampling_rate, rate);
        assert_eq!(c.warnings.len(), warnings, "{:?}", c.warnings);
        if warnings > 0 {
            assert_eq!(c.warnings[0].variable, "OTEL_TRACES_SAMPLER_ARG");
        }
    }
    assert!(cfg(&[("OTEL_TRACES_SAMPLER_ARG", "0.5")])
        .sampler
        .remote
        .is_none());
}
