// A small HTTP app on the JDK's own server (com.sun.net.httpserver), which the OpenTelemetry
// Java agent instruments (its java-http-server instrumentation): otel-inject's e2e tests run it
// with the agent that the injection adds through JAVA_TOOL_OPTIONS, and nothing of OpenTelemetry
// in the app itself.
//
//   GET /hello   200 "hello from java"
//   GET /healthz 200 "ok"
//
// Listens on 0.0.0.0:$PORT (default 8080).

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;

public final class Hello {
    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(System.getenv().getOrDefault("PORT", "8080"));
        HttpServer server = HttpServer.create(new InetSocketAddress("0.0.0.0", port), 64);
        server.createContext("/hello", exchange -> reply(exchange, "hello from java\n"));
        server.createContext("/healthz", exchange -> reply(exchange, "ok\n"));
        server.setExecutor(Executors.newFixedThreadPool(4));
        server.start();
        System.out.println("hello-java listening on " + port);
    }

    private static void reply(HttpExchange exchange, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        int status = "GET".equals(exchange.getRequestMethod()) ? 200 : 405;
        exchange.getResponseHeaders().set("content-type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
