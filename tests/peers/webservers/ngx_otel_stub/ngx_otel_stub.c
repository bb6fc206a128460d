/*
 * A stand-in for the OpenTelemetry webserver module's nginx build (the operator's image
 * ships the real one, built with opentelemetry-cpp; no registry here has it). It does
 * nothing, but `nginx -t` checks the configuration the injection produced against it as
 * against the real module: the same file name and module name, loaded by the injected
 * `load_module` line, and the real module's directives (webserver module 1.0.4) with the
 * same places and argument kinds (flag, one value, size, milliseconds, three values), so a
 * value the real module would refuse fails here too.
 */
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

typedef struct {
    ngx_flag_t  flags[8];
    ngx_str_t   strs[20];
    size_t      sizes[2];
    ngx_msec_t  msecs[2];
} ngx_otel_stub_conf_t;

static char *ngx_otel_stub_three(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
static void *ngx_otel_stub_create(ngx_conf_t *cf);

#define CTX (NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF)
#define OFF(field) offsetof(ngx_otel_stub_conf_t, field)
#define FLAG(name, i) { ngx_string(name), CTX|NGX_CONF_FLAG, ngx_conf_set_flag_slot, \
    NGX_HTTP_LOC_CONF_OFFSET, OFF(flags[i]), NULL }
#define FLAG1(name, i) { ngx_string(name), CTX|NGX_CONF_TAKE1, ngx_conf_set_flag_slot, \
    NGX_HTTP_LOC_CONF_OFFSET, OFF(flags[i]), NULL }
#define STR(name, i) { ngx_string(name), CTX|NGX_CONF_TAKE1, ngx_conf_set_str_slot, \
    NGX_HTTP_LOC_CONF_OFFSET, OFF(strs[i]), NULL }
#define SIZE(name, i) { ngx_string(name), CTX|NGX_CONF_TAKE1, ngx_conf_set_size_slot, \
    NGX_HTTP_LOC_CONF_OFFSET, OFF(sizes[i]), NULL }
#define MSEC(name, i) { ngx_string(name), CTX|NGX_CONF_TAKE1, ngx_conf_set_msec_slot, \
    NGX_HTTP_LOC_CONF_OFFSET, OFF(msecs[i]), NULL }

static ngx_command_t ngx_otel_stub_commands[] = {
    FLAG("NginxModuleEnabled", 0),
    STR("NginxModuleOtelSpanExporter", 0),
    FLAG("NginxModuleOtelSslEnabled", 1),
    STR("NginxModuleOtelSslCertificatePath", 1),
    STR("NginxModuleOtelExporterEndpoint", 2),
    STR("NginxModuleOtelExporterOtlpHeaders", 3),
    STR("NginxModuleOtelSpanProcessor", 4),
    STR("NginxModuleOtelSampler", 5),
    STR("NginxModuleServiceName", 6),
    STR("NginxModuleServiceNamespace", 7),
    STR("NginxModuleServiceInstanceId", 8),
    SIZE("NginxModuleOtelMaxQueueSize", 0),
    MSEC("NginxModuleOtelScheduledDelayMillis", 0),
    MSEC("NginxModuleOtelExportTimeoutMillis", 1),
    SIZE("NginxModuleOtelMaxExportBatchSize", 1),
    FLAG1("NginxModuleResolveBackends", 2),
    FLAG1("NginxModuleTraceAsError", 3),
    FLAG1("NginxModuleReportAllInstrumentedModules", 4),
    { ngx_string("NginxModuleWebserverContext"), CTX|NGX_CONF_TAKE3, ngx_otel_stub_three,
      NGX_HTTP_LOC_CONF_OFFSET, 0, NULL },
    FLAG1("NginxModuleMaskCookie", 5),
    STR("NginxModuleCookieMatchPattern", 9),
    FLAG1("NginxModuleMaskSmUser", 6),
    STR("NginxModuleDelimiter", 10),
    STR("NginxModuleSegment", 11),
    STR("NginxModuleMatchfilter", 12),
    STR("NginxModuleMatchpattern", 13),
    STR("NginxModuleSegmentType", 14),
    STR("NginxModuleSegmentParameter", 15),
    STR("NginxModuleRequestHeaders", 16),
    STR("NginxModuleResponseHeaders", 17),
    ngx_null_command
};

static ngx_http_module_t ngx_otel_stub_ctx = {
    NULL, NULL, NULL, NULL, NULL, NULL, ngx_otel_stub_create, NULL
};

ngx_module_t ngx_http_opentelemetry_module = {
    NGX_MODULE_V1,
    &ngx_otel_stub_ctx,
    ngx_otel_stub_commands,
    NGX_HTTP_MODULE,
    NULL, NULL, NULL, NULL, NULL, NULL, NULL,
    NGX_MODULE_V1_PADDING
};

static void *
ngx_otel_stub_create(ngx_conf_t *cf)
{
    ngx_otel_stub_conf_t *c = ngx_pcalloc(cf->pool, sizeof(ngx_otel_stub_conf_t));
    ngx_uint_t i;
    if (c == NULL) {
        return NULL;
    }
    for (i = 0; i < 8; i++) {
        c->flags[i] = NGX_CONF_UNSET;
    }
    c->sizes[0] = c->sizes[1] = NGX_CONF_UNSET_SIZE;
    c->msecs[0] = c->msecs[1] = NGX_CONF_UNSET_MSEC;
    return c;
}

static char *
ngx_otel_stub_three(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    return NGX_CONF_OK;
}
