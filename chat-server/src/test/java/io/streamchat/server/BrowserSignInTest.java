package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.FakeOpenAi.Script;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.WindowType;

/**
 * The browser app with authentication on: a token from the URL fragment or the sign-in box, kept
 * for the tab, and renewed on the open socket with the {@code auth} frame before it expires.
 */
class BrowserSignInTest {

  private static final String SECRET = "a-browser-test-secret-long-enough-for-hs256";

  private static TestNode node;
  private static JWTAuth issuer;
  @RegisterExtension
  static final Browser browser = Browser.perClass();

  @BeforeAll
  static void start() throws Exception {
    node = new TestNode(new JsonObject().put("CHAT_AUTH_JWT_SECRET", SECRET).put("CHAT_AUTH_LEEWAY_SECONDS", 0));
    issuer = JWTAuth.create(node.clientVertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(SECRET)));
    node.ai.script(Script.tokens(12, 10));
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
  }

  @Test
  void aTokenInTheUrlFragmentSignsInAndLeavesTheAddressBar() {
    inFreshTab(() -> {
      browser.open(url() + "#access_token=" + token("alice", 600));
      browser.awaitConnected();
      assertThat(browser.js("return location.hash")).isEqualTo("");
      assertThat(browser.find("#who").getText()).isEqualTo("Signed in as alice");
      askAndAwaitAnswer("Hello as alice");
    });
  }

  @Test
  void withoutATokenThePageAsksForOneAndGoesOnWithIt() {
    inFreshTab(() -> {
      browser.open(url());
      browser.await("the sign-in box", d -> browser.find("#sign-in-dialog").isDisplayed());
      browser.find("#token-input").sendKeys(token("bob", 600));
      browser.find("#sign-in-dialog button[type='submit']").click();
      browser.awaitConnected();
      assertThat(browser.find("#who").getText()).isEqualTo("Signed in as bob");
      askAndAwaitAnswer("Hello as bob");
    });
  }

  @Test
  void aTokenAboutToExpireIsRenewedOnTheOpenSocket() throws Exception {
    inFreshTab(() -> {
      long expiresIn = 12;
      browser.open(url() + "#access_token=" + token("carol", expiresIn));
      browser.awaitConnected();
      // Less than a minute left: the page says so at once and offers to sign in again.
      browser.await("the renewal notice", d -> browser.find("#notice-text").getText().contains("sign-in ends"));
      browser.find("#notice .notice-action").click();
      browser.await("the sign-in box", d -> browser.find("#sign-in-dialog").isDisplayed());
      browser.find("#token-input").sendKeys(token("carol", 600));
      browser.find("#sign-in-dialog button[type='submit']").click();
      sleep(Duration.ofSeconds(expiresIn + 2));
      // Without the auth frame the server would have closed the socket (1008) and the page asked again.
      assertThat(browser.find("#sign-in-dialog").isDisplayed()).isFalse();
      assertThat(browser.find("#connection").getAttribute("data-state")).isEqualTo("connected");
      askAndAwaitAnswer("Still here");
    });
  }

  private static String url() {
    return "http://127.0.0.1:" + node.port + "/?session_id=a-" + UUID.randomUUID().toString().substring(0, 12);
  }

  private static String token(String user, long expiresInSeconds) {
    return issuer.generateToken(new JsonObject().put("sub", user)
        .put("exp", Instant.now().getEpochSecond() + expiresInSeconds), new JWTOptions().setAlgorithm("HS256"));
  }

  /** A tab of its own: sessionStorage, where the token is kept, starts empty. */
  private static void inFreshTab(Runnable test) {
    String previous = browser.driver.getWindowHandle();
    browser.driver.switchTo().newWindow(WindowType.TAB);
    try {
      test.run();
    } finally {
      browser.driver.close();
      browser.driver.switchTo().window(previous);
    }
  }


  private static void askAndAwaitAnswer(String question) {
    WebElement input = browser.find("#input");
    input.sendKeys(question + Keys.ENTER);
    browser.await("the answer", d -> browser.findAll("#messages .message.assistant[data-status='completed']").size() == 1);
    assertThat(browser.find("#messages .message.user .body").getText()).isEqualTo(question);
  }

  private static void sleep(Duration duration) {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
