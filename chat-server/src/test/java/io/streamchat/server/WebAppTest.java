package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vertx.core.json.JsonObject;
import java.net.http.HttpResponse;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What the gateway serves the browser (no browser needed): the page with its security headers,
 * revalidated; every library it names, from the webjars, cached for good; the favicon.
 */
class WebAppTest {

  @RegisterExtension
  static final TestNode node = TestNode.perClass(new JsonObject());

  private static final Pattern VENDOR = Pattern.compile("/vendor/[A-Za-z0-9._/-]+\\.js");

  @Test
  void thePageRunsOnlyTheServersOwnScriptsAndIsRevalidated() throws Exception {
    HttpResponse<String> page = node.get("/");
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(page.headers().firstValue("content-security-policy").orElse(""))
        .contains("script-src 'self'").contains("frame-ancestors 'none'").doesNotContain("unsafe-inline");
    assertThat(page.headers().firstValue("x-content-type-options")).hasValue("nosniff");
    assertThat(page.headers().firstValue("cache-control")).hasValue("no-cache");
    assertThat(node.get("/app/main.js").headers().firstValue("cache-control")).hasValue("no-cache");
    assertThat(page.body()).as("no inline script").doesNotContain("<script>");
  }

  @Test
  void everyLibraryThePageNamesIsServedAndCachedForGood() throws Exception {
    StringBuilder sources = new StringBuilder(node.get("/").body());
    for (String module : new String[] {"main", "markdown"}) {
      sources.append(node.get("/app/" + module + ".js").body());
    }
    Matcher vendor = VENDOR.matcher(sources);
    int libraries = 0;
    while (vendor.find()) {
      HttpResponse<String> library = node.get(vendor.group());
      assertThat(library.statusCode()).as(vendor.group()).isEqualTo(200);
      assertThat(library.headers().firstValue("content-type").orElse("")).as(vendor.group()).contains("javascript");
      assertThat(library.headers().firstValue("cache-control")).as(vendor.group())
          .hasValue("public, max-age=31536000, immutable");
      libraries++;
    }
    assertThat(libraries).as("marked, DOMPurify, highlight.js").isEqualTo(3);
    HttpResponse<String> missing = node.get("/vendor/none/1.0/none.js");
    assertThat(missing.statusCode()).isEqualTo(404);
    assertThat(missing.headers().firstValue("cache-control")).isEmpty();
  }

  @Test
  void theFaviconIsThere() throws Exception {
    assertThat(node.get("/favicon.ico").statusCode()).isEqualTo(200);
    assertThat(node.get("/favicon.svg").headers().firstValue("content-type")).hasValue("image/svg+xml");
  }
}
