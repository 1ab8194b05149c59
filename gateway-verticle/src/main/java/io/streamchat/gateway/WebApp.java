package io.streamchat.gateway;

import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.StaticHandler;

/**
 * The browser app: its own files under {@code webroot}, always revalidated so a new release is
 * picked up at the next load; its libraries from webjars under {@code /vendor/}, whose paths name
 * their version and so are cached for good; and on every page a Content-Security-Policy that lets
 * only the server's own scripts run, whatever text a model writes.
 */
final class WebApp {

  static final String CONTENT_SECURITY_POLICY = String.join("; ",
      "default-src 'self'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'");
  static final String REVALIDATE = "no-cache";
  static final String FOREVER = "public, max-age=31536000, immutable";

  private WebApp() {
  }

  static void mount(Router router) {
    router.route("/vendor/*")
        .handler(ctx -> cacheControl(ctx, FOREVER))
        .handler(StaticHandler.create("META-INF/resources/webjars").setIncludeHidden(false));
    router.route("/*")
        .handler(ctx -> {
          ctx.response().headers()
              .set("content-security-policy", CONTENT_SECURITY_POLICY)
              .set("x-content-type-options", "nosniff")
              .set("referrer-policy", "no-referrer")
              .set("x-frame-options", "DENY");
          cacheControl(ctx, REVALIDATE);
        })
        .handler(StaticHandler.create("webroot").setIncludeHidden(false));
  }

  /** The static handler writes its own cache headers; this one is set last, over them. */
  private static void cacheControl(RoutingContext ctx, String value) {
    ctx.addHeadersEndHandler(v -> {
      if (ctx.response().getStatusCode() < 400) {
        ctx.response().headers().set(HttpHeaders.CACHE_CONTROL, value);
      }
    });
    ctx.next();
  }
}
