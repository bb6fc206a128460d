// The .NET demo. No OpenTelemetry reference: the auto-instrumentation agent that otel-inject adds
// traces ASP.NET Core and HttpClient, and picks up this ActivitySource by name
// (OTEL_DOTNET_AUTO_TRACES_ADDITIONAL_SOURCES=demo-dotnet, or any source with the agent's defaults).
using System.Diagnostics;

var source = new ActivitySource("demo-dotnet");
var app = WebApplication.CreateBuilder(args).Build();

app.MapGet("/", () =>
{
    using var activity = source.StartActivity("say-hello");
    activity?.SetTag("demo.greeting", "hello");
    return Results.Ok(new { message = "hello from demo-dotnet", traceId = Activity.Current?.TraceId.ToString() });
});
app.MapGet("/healthz", () => Results.Ok("ok"));

app.Run();
