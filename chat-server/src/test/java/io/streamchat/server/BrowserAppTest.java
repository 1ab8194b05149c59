package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.durable.EmbeddedPostgresServer;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.WindowType;

/**
 * The browser app in a real headless Chromium against a real node (Redis, PostgreSQL, a scripted
 * provider): what a person sees must be exactly the server's history, through reloads, a server
 * restart, stop, regenerate, continue, switching conversations and two tabs; model output is
 * never run as HTML; the page passes an automated accessibility check.
 */
class BrowserAppTest {

  private static EmbeddedPostgresServer postgres;
  private static TestNode node;
  @RegisterExtension
  static final Browser browser = Browser.perClass();

  @BeforeAll
  static void start() throws Exception {
    postgres = EmbeddedPostgresServer.start();
    node = new TestNode(new JsonObject().put("CHAT_DB_URL", postgres.url()));
  }

  @AfterAll
  static void stop() {
    if (node != null) {
      node.close();
    }
    if (postgres != null) {
      postgres.close();
    }
  }

  @BeforeEach
  void plainAnswers() {
    node.ai.script(Script.tokens(20, 10));
    browser.emulate(1280, 860, false, "light");
  }

  @Test
  void aMessageStreamsAndThePageShowsExactlyTheServersHistory() throws Exception {
    String session = openNewConversation();
    send("Hello there");
    awaitLatestAnswer("completed");
    assertPageShowsHistory(session);
    assertThat(browser.find("#input").getAttribute("value")).as("the sent message leaves the input").isEmpty();
    assertThat(browser.find("#stop").isDisplayed()).as("Stop while nothing streams").isFalse();
    assertThat(browser.find("#messages .message.user .body").getText()).isEqualTo("Hello there");
  }

  @Test
  void reloadsMidAnswerAndANodeRestartLoseAndDoubleNothing() throws Exception {
    node.ai.script(Script.tokens(160, 40));
    String session = openNewConversation();
    send("Tell me a long story");
    awaitAnswerText(10);
    for (int reload = 0; reload < 3; reload++) {
      Thread.sleep(700);
      int before = answerText().length();
      browser.driver.navigate().refresh();
      // The snapshot kept in the tab redraws the answer at once, before the socket catches up.
      assertThat(answerText().length()).as("redrawn after reload " + reload).isGreaterThanOrEqualTo(before / 2);
      browser.awaitConnected();
    }
    awaitAnswerText(60);
    node.restart();
    awaitLatestAnswer("completed", Duration.ofSeconds(60));
    assertPageShowsHistory(session);
    assertThat(answerText()).isEqualTo(expectedTokens(0, 160));
  }

  @Test
  void aCursorTheServerCannotServeRedrawsTheThreadFromHistory() throws Exception {
    String session = openNewConversation();
    send("Remember this");
    awaitLatestAnswer("completed");
    String epoch = node.history(session).getString("epoch");
    // Redis forgets everything; the conversation comes back from PostgreSQL under a new epoch.
    node.server.stop();
    node.flushRedis();
    node.server = ChatServer.start(node.settings());
    browser.awaitConnected();
    browser.await("the page on the new epoch", d -> !epoch.equals(browser.js(
        "return JSON.parse(sessionStorage.getItem('chat.v1.c." + session + "') || '{}').epoch")));
    assertPageShowsHistory(session);
    send("And go on");
    browser.await("the second answer", d -> browser.findAll("#messages .message.assistant[data-status='completed']").size() == 2);
    assertPageShowsHistory(session);
  }

  @Test
  void aMessageSentWithoutAConnectionGoesOutOnceWhenItIsBackEvenAfterAReload() throws Exception {
    String session = openNewConversation();
    send("First, while all is well");
    awaitLatestAnswer("completed");
    // The page stays reachable, its socket does not (as behind a proxy that drops WebSockets):
    // while the tab says so, every socket the page opens goes to a path that refuses it.
    reloadWithSocketsWrappedBy("const RealWebSocket = window.WebSocket;"
        + "window.WebSocket = class extends RealWebSocket {"
        + "  constructor(url) { super(sessionStorage.getItem('test.noSockets') ? url.replace('/ws/chat', '/ws/none') : url); }"
        + "};");
    browser.js("sessionStorage.setItem('test.noSockets', '1')");
    try {
      node.restart();
      browser.await("the page sees the socket gone",
          d -> !"connected".equals(browser.find("#connection").getAttribute("data-state")));
      send("Sent without a connection");
      browser.await("the message shown as waiting", d -> browser.find("#pending-message .answer-status").getText()
          .startsWith("Waiting for the connection"));
      assertThat(browser.find("#input").getAttribute("value")).isEmpty();
      browser.driver.navigate().refresh();
      assertThat(browser.find("#pending-message .body").getText()).as("kept through a reload")
          .isEqualTo("Sent without a connection");
    } finally {
      browser.js("sessionStorage.removeItem('test.noSockets')");
    }
    browser.await("the second answer", Duration.ofSeconds(30),
        d -> browser.findAll("#messages .message.assistant[data-status='completed']").size() == 2);
    assertThat(browser.findAll("#pending-message")).isEmpty();
    assertPageShowsHistory(session);
    assertThat(node.history(session).getJsonArray("messages").stream()
        .filter(m -> "Sent without a connection".equals(((JsonObject) m).getString("content")))).hasSize(1);
  }

  @Test
  void aQuestionShownLiveButMissingFromTheNextHistoryIsSentAgainOnce() throws Exception {
    String session = openNewConversation();
    send("First, while all is well");
    awaitLatestAnswer("completed");
    // As a node that lost the session before storing a question: the page sees the question's
    // user_message, then the connection drops and the next owner's history does not have it.
    reloadWithSocketsWrappedBy("const SocketBeforeLoss = window.WebSocket;"
        + "window.WebSocket = class extends SocketBeforeLoss {"
        + "  constructor(url) { super(url); this.lastSeq = 0;"
        + "    this.addEventListener('message', e => { try { const f = JSON.parse(e.data);"
        + "      if (Number.isInteger(f.seq)) { this.lastSeq = Math.max(this.lastSeq, f.seq); } } catch (x) {} }); }"
        + "  send(data) { const lost = sessionStorage.getItem('test.lostQuestion'); let f = null;"
        + "    try { f = JSON.parse(data); } catch (x) {}"
        + "    if (!lost || !f || f.type !== 'message' || f.content !== lost) { return super.send(data); }"
        + "    sessionStorage.removeItem('test.lostQuestion');"
        + "    const shown = {type: 'user_message', seq: this.lastSeq + 1, message_id: 'never-stored',"
        + "      client_message_id: f.client_message_id, content: f.content, created_at: new Date().toISOString()};"
        + "    setTimeout(() => { this.onmessage({data: JSON.stringify(shown)});"
        + "      setTimeout(() => this.close(4000, 'the owner lost the session'), 300); }, 50); }"
        + "};");
    browser.js("sessionStorage.setItem('test.lostQuestion', 'Asked of an owner that lost the session')");
    send("Asked of an owner that lost the session");
    browser.await("the second answer", Duration.ofSeconds(30),
        d -> browser.findAll("#messages .message.assistant[data-status='completed']").size() == 2);
    assertThat(browser.js("return sessionStorage.getItem('test.lostQuestion')")).as("the question was lost once").isNull();
    assertPageShowsHistory(session);
    assertThat(node.history(session).getJsonArray("messages").stream()
        .filter(m -> "Asked of an owner that lost the session".equals(((JsonObject) m).getString("content")))).hasSize(1);
  }

  @Test
  void stopContinueAndRegenerate() throws Exception {
    node.ai.script(Script.tokens(400, 15));
    String session = openNewConversation();
    send("Count for me");
    awaitAnswerText(15);

    // A message sent while an answer streams stays in the input, with a plain explanation.
    WebElement input = browser.find("#input");
    input.sendKeys("A second question" + Keys.ENTER);
    browser.await("the busy notice", d -> browser.find("#notice").isDisplayed());
    assertThat(browser.find("#notice-text").getText()).contains("still being written");
    assertThat(input.getAttribute("value")).isEqualTo("A second question");
    input.clear();

    browser.find("#stop").click();
    awaitLatestAnswer("cancelled");
    assertThat(browser.find("#messages .message.assistant .answer-status").getText()).isEqualTo("Stopped.");
    assertPageShowsHistory(session);

    clickAction("Continue the answer");
    browser.await("the continuation joined to its answer",
        d -> browser.find("#messages .message.assistant").getAttribute("data-chain").split(" ").length == 2);
    awaitLatestAnswer("completed", Duration.ofSeconds(30));
    assertThat(browser.findAll("#messages .message.assistant")).as("one answer, continued").hasSize(1);
    assertThat(answerText()).isEqualTo(expectedTokens(0, 400));
    assertPageShowsHistory(session);

    node.ai.script(Script.tokens(8, 10));
    clickAction("Regenerate the answer");
    browser.await("a second answer", d -> browser.findAll("#messages .message.assistant").size() == 2);
    awaitLatestAnswer("completed");
    assertThat(browser.find("#messages .message.assistant").getAttribute("class")).contains("replaced");
    assertThat(answerText()).isEqualTo(expectedTokens(0, 8));
    assertPageShowsHistory(session);
  }

  @Test
  void aFailedProviderIsSaidPlainlyAndTheAnswerCanBeRetried() throws Exception {
    node.ai.script(Script.tokens(20, 10).withStatus(500));
    String session = openNewConversation();
    send("Will this work?");
    awaitLatestAnswer("failed");
    assertThat(browser.find("#messages .message.assistant .answer-status").getText())
        .startsWith("The AI provider failed.");
    assertThat(browser.findAll("button[aria-label='Continue the answer']")).hasSize(1);
    node.ai.script(Script.tokens(5, 10));
    clickAction("Regenerate the answer");
    browser.await("a second answer", d -> browser.findAll("#messages .message.assistant").size() == 2);
    awaitLatestAnswer("completed");
    assertPageShowsHistory(session);
  }

  @Test
  void autoScrollFollowsTheAnswerUntilTheReaderScrollsUp() throws Exception {
    node.ai.script(Script.saying(java.util.Collections.nCopies(400, "line of a long answer\n\n"), 15));
    openNewConversation();
    send("Write a lot");
    browser.await("the answer taller than the thread", d -> (Boolean) browser.js(
        "const t = document.getElementById('thread'); return t.scrollHeight > t.clientHeight * 2;"));
    browser.await("the thread following the answer", d -> (Boolean) browser.js(
        "const t = document.getElementById('thread'); return t.scrollHeight - t.scrollTop - t.clientHeight < 48;"));
    browser.js("const t = document.getElementById('thread'); t.scrollTop = 100; t.dispatchEvent(new Event('scroll'));");
    Thread.sleep(500);
    assertThat(browser.js("return document.getElementById('thread').scrollTop")).as("where the reader left it")
        .isEqualTo(100L);
    assertThat(browser.find("#jump").isDisplayed()).isTrue();
    browser.find("#jump").click();
    browser.await("following again", d -> (Boolean) browser.js(
        "const t = document.getElementById('thread'); return t.scrollHeight - t.scrollTop - t.clientHeight < 48;"));
    browser.find("#stop").click();
    awaitLatestAnswer("cancelled");
  }

  @Test
  void theConversationListCreatesRenamesSwitchesMidAnswerAndDeletes() throws Exception {
    String first = openNewConversation();
    send("First topic\nwith a second line");
    awaitLatestAnswer("completed");
    browser.await("the conversation listed under its first line", d -> listEntryTitle(first).equals("First topic"));

    clickInList(first, "button.rename");
    WebElement title = browser.find("#rename-input");
    title.clear();
    title.sendKeys("Renamed topic" + Keys.ENTER);
    browser.await("the new title in the list",
        d -> listEntryTitle(first).equals("Renamed topic"));
    assertThat(conversation(first).getString("title")).isEqualTo("Renamed topic");
    assertThat(browser.find("#conversation-title").getText()).isEqualTo("Renamed topic");

    node.ai.script(Script.tokens(150, 30));
    browser.find("#new-chat").click();
    String second = browser.await("a new conversation", d -> {
      String id = sessionOfPage();
      return id.equals(first) ? null : id;
    });
    browser.awaitConnected();
    send("Second topic");
    awaitAnswerText(5);
    browser.await("the streaming conversation marked in the list",
        d -> awaitListEntry(second).findElement(org.openqa.selenium.By.cssSelector(".streaming-badge")).isDisplayed());

    clickInList(first, ".conversation-open");
    browser.await("the first conversation's thread", d -> first.equals(sessionOfPage())
        && browser.findAll("#messages .message.user").size() == 1
        && browser.find("#messages .message.user .body").getText().startsWith("First topic"));
    assertPageShowsHistory(first);
    Thread.sleep(1000);
    clickInList(second, ".conversation-open");
    awaitLatestAnswer("completed", Duration.ofSeconds(30));
    assertPageShowsHistory(second);
    assertThat(answerText()).isEqualTo(expectedTokens(0, 150));

    clickInList(first, "button.delete");
    browser.find("#delete-dialog button[value='delete']").click();
    browser.await("the deleted conversation gone from the list",
        d -> browser.findAll("#conversation-list [data-session-id='" + first + "']").isEmpty());
    assertThat(conversations().stream().map(c -> c.getString("session_id"))).doesNotContain(first).contains(second);
    assertThat(node.history(first).getJsonArray("messages")).isEmpty();
  }

  @Test
  void modelOutputIsNeverRunAsHtmlLiveOrAfterAReload() throws Exception {
    node.ai.script(Script.saying(List.of("Look: <scr", "ipt>window.__xss = 1</scr", "ipt> and <img src=x one",
        "rror=\"window.__xss = 2\"> and [a](javascript:window.__xss=3) **done**"), 30));
    String session = openNewConversation();
    send("<b>bold</b> <script>window.__xss = 4</script>");
    awaitLatestAnswer("completed");
    assertNothingRan();
    browser.driver.navigate().refresh();
    browser.awaitConnected();
    browser.await("the answer after the reload", d -> answerText().contains("done"));
    assertNothingRan();
    assertPageShowsHistory(session);
  }

  @Test
  void markdownRendersCodeListsAndTables() throws Exception {
    node.ai.script(Script.saying(List.of("Steps:\n\n1. **one**\n2. `two`\n\n```ja", "va\nint x = 1;\n```\n\n",
        "| a | b |\n|---|---|\n| 1 | 2 |\n"), 20));
    openNewConversation();
    send("Show me markdown");
    awaitLatestAnswer("completed");
    WebElement answer = browser.find("#messages .message.assistant .body");
    assertThat(answer.findElements(org.openqa.selenium.By.cssSelector("ol > li"))).hasSize(2);
    assertThat(answer.findElement(org.openqa.selenium.By.cssSelector("strong")).getText()).isEqualTo("one");
    assertThat(answer.findElement(org.openqa.selenium.By.cssSelector(".code-head span")).getText()).isEqualTo("java");
    assertThat(answer.findElements(org.openqa.selenium.By.cssSelector("pre code span.hljs-type, pre code span.hljs-keyword")))
        .as("highlighted code").isNotEmpty();
    assertThat(answer.findElements(org.openqa.selenium.By.cssSelector(".code-head button.copy"))).hasSize(1);
    assertThat(answer.findElements(org.openqa.selenium.By.cssSelector("table td"))).hasSize(2);
  }

  @Test
  void twoTabsOnOneConversationShowTheSameThread() throws Exception {
    node.ai.script(Script.tokens(60, 20));
    String session = openNewConversation();
    String firstTab = browser.driver.getWindowHandle();
    browser.driver.switchTo().newWindow(WindowType.TAB);
    String secondTab = browser.driver.getWindowHandle();
    try {
      browser.open(baseUrl() + "?session_id=" + session);
      browser.awaitConnected();
      send("From the second tab");
      awaitLatestAnswer("completed");
      List<Map<String, Object>> second = thread();
      browser.driver.switchTo().window(firstTab);
      awaitLatestAnswer("completed");
      assertThat(thread()).isEqualTo(second);
      assertPageShowsHistory(session);
    } finally {
      browser.driver.switchTo().window(secondTab).close();
      browser.driver.switchTo().window(firstTab);
    }
  }

  @Test
  void thePagePassesAnAccessibilityCheckInEveryThemeAndSize() throws Exception {
    node.ai.script(Script.saying(List.of("Here is **how** to do it:\n\n", "1. Measure first.\n2. Change one thing.\n\n",
        "```python\nfor i in range(3):\n    print(i)\n```\n\n", "| step | time |\n|---|---|\n| build | 48 s |\n"), 20));
    openNewConversation();
    send("How do I make it faster?");
    awaitLatestAnswer("completed");
    Path shots = Path.of("target", "screenshots");
    for (String scheme : List.of("light", "dark")) {
      for (boolean phone : List.of(false, true)) {
        if (phone) {
          browser.emulate(390, 844, true, scheme);
        } else {
          browser.emulate(1280, 860, false, scheme);
        }
        Thread.sleep(300);
        assertThat(seriousAccessibilityViolations()).as(scheme + (phone ? " phone" : " desktop")).isEmpty();
        browser.screenshot(shots.resolve((phone ? "phone-" : "desktop-") + scheme + ".png"));
      }
    }
  }

  // ---- helpers ----

  private static String baseUrl() {
    return "http://127.0.0.1:" + node.port + "/";
  }

  private String openNewConversation() {
    String session = "b-" + UUID.randomUUID().toString().substring(0, 12);
    browser.open(baseUrl() + "?session_id=" + session);
    browser.awaitConnected();
    return session;
  }


  /** Pages opened from now on run {@code script} first (it replaces the page's WebSocket); this one reloads with it. */
  private void reloadWithSocketsWrappedBy(String script) {
    browser.driver.executeCdpCommand("Page.addScriptToEvaluateOnNewDocument", Map.of("source", script));
    browser.driver.navigate().refresh();
    browser.awaitConnected();
  }

  private void send(String text) {
    WebElement input = browser.find("#input");
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      input.sendKeys(lines[i]);
      if (i < lines.length - 1) {
        input.sendKeys(Keys.chord(Keys.SHIFT, Keys.ENTER));
      }
    }
    input.sendKeys(Keys.ENTER);
  }

  private void clickAction(String label) {
    browser.await(label, d -> browser.findAll("button[aria-label='" + label + "']").size() == 1);
    browser.find("button[aria-label='" + label + "']").click();
  }

  private void awaitLatestAnswer(String status) {
    awaitLatestAnswer(status, Duration.ofSeconds(20));
  }

  private void awaitLatestAnswer(String status, Duration timeout) {
    browser.await("the latest answer " + status, timeout, d -> {
      List<WebElement> answers = browser.findAll("#messages .message.assistant:not(.replaced)");
      return !answers.isEmpty() && status.equals(answers.get(answers.size() - 1).getAttribute("data-status"));
    });
  }

  private void awaitAnswerText(int minChars) {
    browser.await("at least " + minChars + " characters of the answer", d -> answerText().length() >= minChars);
  }

  /** The text of the latest answer as the page shows it. */
  private String answerText() {
    Object text = browser.js("const a = document.querySelectorAll('#messages .message.assistant:not(.replaced) .body');"
        + "return a.length ? a[a.length - 1].innerText : '';");
    return text == null ? "" : text.toString().strip();
  }

  private static String expectedTokens(int from, int to) {
    StringBuilder text = new StringBuilder();
    for (int i = from; i < to; i++) {
      text.append(io.streamchat.testkit.FakeOpenAi.token(i));
    }
    return text.toString().strip();
  }

  @SuppressWarnings("unchecked")
  private List<Map<String, Object>> thread() {
    return (List<Map<String, Object>>) browser.js("return [...document.querySelectorAll('#messages > li')].map(li => ({"
        + "role: li.classList.contains('user') ? 'user' : 'assistant', id: li.dataset.messageId,"
        + "chain: li.dataset.chain || li.dataset.messageId, status: li.dataset.status || 'completed',"
        + "text: li.querySelector('.body').innerText}));");
  }

  /**
   * The page shows the server's history: the same messages in the same order (an answer and its
   * continuations as one), each with the same status and the same text, nothing doubled.
   */
  private void assertPageShowsHistory(String session) throws Exception {
    JsonObject history = node.history(session);
    List<Map<String, Object>> expected = new ArrayList<>();
    Map<String, Map<String, Object>> answerOf = new java.util.HashMap<>();
    for (Object value : history.getJsonArray("messages")) {
      JsonObject message = (JsonObject) value;
      String id = message.getString("message_id");
      Map<String, Object> joined = message.getString("continues") == null ? null : answerOf.get(message.getString("continues"));
      if (joined != null) {
        joined.put("chain", joined.get("chain") + " " + id);
        joined.put("status", message.getString("status"));
        joined.put("text", joined.get("text") + message.getString("content"));
        answerOf.put(id, joined);
        continue;
      }
      Map<String, Object> item = new java.util.LinkedHashMap<>();
      item.put("role", message.getString("role"));
      item.put("id", id);
      item.put("chain", id);
      item.put("status", message.getString("status"));
      item.put("text", message.getString("content"));
      expected.add(item);
      answerOf.put(id, item);
    }
    List<Map<String, Object>> shown = browser.await("the page to catch up with the history", d -> {
      List<Map<String, Object>> page = thread();
      return page.size() == expected.size() ? page : null;
    });
    for (int i = 0; i < expected.size(); i++) {
      Map<String, Object> want = expected.get(i);
      Map<String, Object> got = shown.get(i);
      assertThat(got.get("id")).as("message " + i).isEqualTo(want.get("id"));
      assertThat(got.get("chain")).as("chain " + i).isEqualTo(want.get("chain"));
      assertThat(got.get("status")).as("status " + i).isEqualTo(want.get("status"));
      String wantText = want.get("role").equals("user") ? (String) want.get("text") : plain((String) want.get("text"));
      assertThat(normalized((String) got.get("text"))).as("text of message " + i).isEqualTo(normalized(wantText));
    }
  }

  private static final Pattern MARKUP = Pattern.compile("\\*\\*|`");

  /** Markdown source as the rendered text reads (only what these tests' answers use). */
  private static String plain(String markdown) {
    Matcher matcher = MARKUP.matcher(markdown);
    return matcher.replaceAll("").replaceAll("\\[([^\\]]*)\\]\\([^)]*\\)", "$1");
  }

  private static String normalized(String text) {
    return text.replaceAll("\\s+", " ").strip();
  }

  private void assertNothingRan() {
    assertThat(browser.js("return window.__xss === undefined")).as("no script of the model or the user ran").isEqualTo(true);
    assertThat(browser.findAll("#messages script, #messages img, #messages [onerror]")).isEmpty();
    assertThat(browser.findAll("#messages a[href^='javascript']")).isEmpty();
    assertThat(answerText()).contains("<script>window.__xss = 1</script>").contains("<img src=x onerror=");
    assertThat(browser.find("#messages .message.user .body").getText())
        .isEqualTo("<b>bold</b> <script>window.__xss = 4</script>");
  }

  private String sessionOfPage() {
    return String.valueOf(browser.js("return new URLSearchParams(location.search).get('session_id')"));
  }

  private WebElement awaitListEntry(String session) {
    return browser.await("conversation " + session + " in the list",
        d -> browser.findAll("#conversation-list [data-session-id='" + session + "']").stream().findFirst().orElse(null));
  }

  private void clickInList(String session, String css) {
    browser.await("a click on " + css + " of " + session, d -> {
      awaitListEntry(session).findElement(org.openqa.selenium.By.cssSelector(css)).click();
      return true;
    });
  }

  private String listEntryTitle(String session) {
    return awaitListEntry(session).findElement(org.openqa.selenium.By.cssSelector(".conversation-title")).getText();
  }

  private List<JsonObject> conversations() throws Exception {
    String user = String.valueOf(browser.js("return localStorage.getItem('chat.v1.user')"));
    HttpResponse<String> response = node.get("/api/sessions?user_id=" + user);
    assertThat(response.statusCode()).isEqualTo(200);
    JsonArray sessions = new JsonObject(response.body()).getJsonArray("sessions");
    List<JsonObject> list = new ArrayList<>();
    sessions.forEach(s -> list.add((JsonObject) s));
    return list;
  }

  private JsonObject conversation(String session) throws Exception {
    return conversations().stream().filter(c -> c.getString("session_id").equals(session)).findFirst().orElseThrow();
  }

  /** Violations of WCAG 2.1 A and AA rules that axe-core rates serious or critical. */
  @SuppressWarnings("unchecked")
  private List<String> seriousAccessibilityViolations() throws Exception {
    String axe;
    try (InputStream in = getClass().getResourceAsStream("/META-INF/resources/webjars/axe-core/4.6.3/axe.min.js")) {
      axe = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    browser.js(axe);
    List<Map<String, Object>> violations = (List<Map<String, Object>>) browser.driver.executeAsyncScript(
        "const done = arguments[arguments.length - 1];"
            + "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
            + ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
            + " nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3)}))), e => done([{id: 'axe failed', impact: 'critical', help: String(e)}]));");
    return violations.stream()
        .filter(v -> "serious".equals(v.get("impact")) || "critical".equals(v.get("impact")))
        .map(v -> v.get("id") + " (" + v.get("impact") + "): " + v.get("help") + " at " + v.get("nodes"))
        .toList();
  }
}
