/*
 * A stand-in for the OpenTelemetry webserver module's Apache httpd build (the operator's
 * image ships the real one; no registry here has it). It does nothing, but `apache2 -t`
 * checks the configuration the injection produced against it as against the real module:
 * the same module symbol (otel_apache_module), loaded by the injected LoadModule line, and
 * the real module's directives (webserver module 1.0.4), each taking one value (three for
 * the webserver context), allowed anywhere.
 */
#include "httpd.h"
#include "http_config.h"

static const char *take(cmd_parms *cmd, void *cfg, const char *arg)
{
    return NULL;
}

static const char *take3(cmd_parms *cmd, void *cfg, const char *a, const char *b, const char *c)
{
    return NULL;
}

#define ONE(name) AP_INIT_TAKE1(name, take, NULL, OR_ALL, "stand-in")

static const command_rec otel_stub_cmds[] = {
    ONE("ApacheModuleEnabled"),
    ONE("ApacheModuleOtelSpanExporter"),
    ONE("ApacheModuleOtelExporterEndpoint"),
    ONE("ApacheModuleOtelExporterHeaders"),
    ONE("ApacheModuleOtelSslEnabled"),
    ONE("ApacheModuleOtelSslCertificatePath"),
    ONE("ApacheModuleOtelSpanProcessor"),
    ONE("ApacheModuleOtelSampler"),
    ONE("ApacheModuleServiceName"),
    ONE("ApacheModuleServiceNamespace"),
    ONE("ApacheModuleServiceInstanceId"),
    ONE("ApacheModuleOtelMaxQueueSize"),
    ONE("ApacheModuleOtelScheduledDelayMillis"),
    ONE("ApacheModuleOtelExportTimeoutMillis"),
    ONE("ApacheModuleOtelMaxExportBatchSize"),
    ONE("ApacheModuleResolveBackends"),
    ONE("ApacheModuleTraceAsError"),
    ONE("ApacheModuleReportAllInstrumentedModules"),
    AP_INIT_TAKE3("ApacheModuleWebserverContext", take3, NULL, OR_ALL, "stand-in"),
    ONE("ApacheModuleMaskCookie"),
    ONE("ApacheModuleCookieMatchPattern"),
    ONE("ApacheModuleMaskSmUser"),
    ONE("ApacheModuleDelimiter"),
    ONE("ApacheModuleSegment"),
    ONE("ApacheModuleMatchfilter"),
    ONE("ApacheModuleMatchpattern"),
    ONE("ApacheModuleSegmentType"),
    ONE("ApacheModuleSegmentParameter"),
    {NULL}
};

module AP_MODULE_DECLARE_DATA otel_apache_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, otel_stub_cmds, NULL
};
