package io.streamchat.ai;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.protocol.AnswerStatus;
import io.streamchat.protocol.AiCommand.ContextMessage;
import io.streamchat.protocol.AiCommand.Generate;
import io.streamchat.protocol.AiCommand.StopGeneration;
import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.Codecs;
import io.streamchat.protocol.SessionCommand;
import io.streamchat.protocol.SessionCommand.GenerationEnded;
import io.streamchat.protocol.SessionCommand.Tokens;
import io.streamchat.protocol.SessionReply.TokenAck;
import io.streamchat.testkit.FakeOpenAi;
import io.streamchat.testkit.FakeOpenAi.Script;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import java.net.ServerSocket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The AI bridge against a real OpenAI-compatible streaming HTTP server, with a stand-in session
 * owner on the event bus that records what arrives.
 */
@ExtendWith(VertxExtension.class)
class AiBridgeTest {

  private static Vertx serverVertx;
  private static FakeOpenAi fake;

  /** What the stand-in owner received for one answer. */
  private static final class Owner {
    final StringBuilder text = new StringBuilder();
    int next;
    final CompletableFuture<GenerationEnded> ended = new CompletableFuture<>();
    final List<Tokens> received = new java.util.concurrent.CopyOnWriteArrayList<>();
  }

  @BeforeAll
  static void startProvider() {
    serverVertx = Vertx.vertx();
    fake = FakeOpenAi.start(serverVertx);
  }

  @AfterAll
  static void stopProvider() {
    fake.close();
    serverVertx.close().await();
  }

  private static JsonObject settings(String baseUrl) {
    return new JsonObject().put("CHAT_AI_PROVIDER", "openai").put("CHAT_AI_BASE_URL", baseUrl)
        .put("CHAT_AI_MODEL", "m").put("CHAT_AI_API_KEY", "k").put("CHAT_AI_STALL_TIMEOUT_MS", 2000)
        .put("CHAT_AI_RETRY_BACKOFF_MS", 20).put("CHAT_AI_SYSTEM_PROMPT", "be brief")
        .put("CHAT_AI_CONTEXT_CHARS", 30);
  }

  private static Owner run(Vertx vertx, JsonObject settings, String session, Script script) throws Exception {
    Codecs.register(vertx);
    fake.script(script);
    vertx.deployVerticle(AiBridgeVerticle::new, new DeploymentOptions().setConfig(settings)).await();
    Owner owner = new Owner();
    standIn(vertx, session, owner);
    vertx.eventBus().request(Addresses.AI_GENERATE, new Generate(session, "a-" + session, "u-" + session,
        List.of(new ContextMessage("user", "an old question that is long"), new ContextMessage("assistant", "old"),
            new ContextMessage("user", "the question")))).await();
    return owner;
  }

  /** A stand-in session owner that takes tokens in order and records what it got. */
  private static void standIn(Vertx vertx, String session, Owner owner) {
    vertx.eventBus().<SessionCommand>consumer(Addresses.session(session), message -> {
      if (message.body() instanceof Tokens tokens) {
        owner.received.add(tokens);
        for (int i = 0; i < tokens.texts().size(); i++) {
          if (tokens.fromIndex() + i == owner.next) {
            owner.text.append(tokens.texts().get(i));
            owner.next++;
          }
        }
        message.reply(new TokenAck(true, owner.next, 1));
      } else if (message.body() instanceof GenerationEnded ended) {
        owner.ended.complete(ended);
        message.reply(new TokenAck(false, owner.next, 1));
      }
    }).completion().await();
  }

  private static String tokens(int count) {
    return IntStream.range(0, count).mapToObj(FakeOpenAi::token).collect(Collectors.joining());
  }

  private static GenerationEnded ended(Owner owner) throws Exception {
    return owner.ended.get(10, TimeUnit.SECONDS);
  }

  @Test
  void eventsSplitAcrossPacketsWithCrlfCommentsAndNoDoneArriveWhole(Vertx vertx) throws Exception {
    Owner owner = run(vertx, settings(fake.baseUrl()), "split",
        Script.tokens(30, 1).splittingWrites().withCrlf().withoutDone());
    GenerationEnded ended = ended(owner);
    assertThat(ended.status()).isEqualTo(AnswerStatus.COMPLETED);
    assertThat(ended.totalChunks()).isEqualTo(30);
    assertThat(owner.text.toString()).isEqualTo(tokens(30));
  }

  @Test
  void theRequestCarriesTheSystemPromptAndTheNewestContextThatFitsTheBudget(Vertx vertx) throws Exception {
    ended(run(vertx, settings(fake.baseUrl()), "context", Script.tokens(2, 1)));
    JsonObject request = fake.requests().get(fake.requests().size() - 1);
    assertThat(request.getString("model")).isEqualTo("m");
    assertThat(request.getBoolean("stream")).isTrue();
    JsonArray messages = request.getJsonArray("messages");
    assertThat(messages.getJsonObject(0).getString("role")).isEqualTo("system");
    assertThat(messages.stream().map(m -> ((JsonObject) m).getString("content")).toList())
        .containsExactly("be brief", "old", "the question");
  }

  @Test
  void malformedEventsAreSkippedNotFatal(Vertx vertx) throws Exception {
    Owner owner = run(vertx, settings(fake.baseUrl()), "malformed", Script.tokens(20, 1).withMalformedEvery(5));
    assertThat(ended(owner).status()).isEqualTo(AnswerStatus.COMPLETED);
    assertThat(owner.text.toString()).isEqualTo(tokens(20));
  }

  @Test
  void serverErrorsBeforeTheFirstTokenAreRetriedThenTheAnswerFails(Vertx vertx) throws Exception {
    int before = fake.requests().size();
    fake.failNext(2, 503);
    Owner recovered = run(vertx, settings(fake.baseUrl()), "retry-ok", Script.tokens(3, 1));
    assertThat(ended(recovered).status()).isEqualTo(AnswerStatus.COMPLETED);
    assertThat(fake.requests().size() - before).isEqualTo(3);

    before = fake.requests().size();
    Owner failed = run(vertx, settings(fake.baseUrl()), "retry-fail", Script.tokens(3, 1).withStatus(500));
    GenerationEnded ended = ended(failed);
    assertThat(ended.status()).isEqualTo(AnswerStatus.FAILED);
    assertThat(ended.errorCode().wire()).isEqualTo("provider_error");
    assertThat(fake.requests().size() - before).isEqualTo(3);
  }

  @Test
  void rejectedCredentialsFailAtOnceWithAMessageAnOperatorUnderstands(Vertx vertx) throws Exception {
    int before = fake.requests().size();
    GenerationEnded ended = ended(run(vertx, settings(fake.baseUrl()), "rejected", Script.tokens(3, 1).withStatus(401)));
    assertThat(ended.status()).isEqualTo(AnswerStatus.FAILED);
    assertThat(ended.errorCode().wire()).isEqualTo("provider_rejected");
    assertThat(ended.errorMessage()).contains("CHAT_AI_API_KEY");
    assertThat(fake.requests().size() - before).isEqualTo(1);
  }

  @Test
  void anUnreachableProviderFailsAfterItsRetries(Vertx vertx) throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    GenerationEnded ended = ended(run(vertx, settings("http://127.0.0.1:" + closedPort + "/v1"), "refused",
        Script.tokens(1, 1)));
    assertThat(ended.status()).isEqualTo(AnswerStatus.FAILED);
    assertThat(ended.errorCode().wire()).isEqualTo("provider_unavailable");
    assertThat(ended.errorMessage()).as("the provider's address is for the operators' log, not for readers")
        .doesNotContain("127.0.0.1").doesNotContain(Integer.toString(closedPort));
  }

  @Test
  void aStallFailsTheAnswerKeepingWhatWasProduced(Vertx vertx) throws Exception {
    Owner owner = run(vertx, settings(fake.baseUrl()), "stall", Script.tokens(50, 1).stallingAfter(7));
    GenerationEnded ended = ended(owner);
    assertThat(ended.status()).isEqualTo(AnswerStatus.FAILED);
    assertThat(ended.errorCode().wire()).isEqualTo("stalled");
    assertThat(owner.text.toString()).isEqualTo(tokens(7));
    assertThat(ended.totalChunks()).isEqualTo(7);
  }

  @Test
  void aDisconnectMidStreamFailsTheAnswerKeepingWhatWasProduced(Vertx vertx) throws Exception {
    Owner owner = run(vertx, settings(fake.baseUrl()), "drop", Script.tokens(50, 1).droppingAfter(9));
    GenerationEnded ended = ended(owner);
    assertThat(ended.status()).isEqualTo(AnswerStatus.FAILED);
    assertThat(ended.errorCode().wire()).isEqualTo("provider_error");
    assertThat(owner.text.toString()).isEqualTo(tokens(9));
  }

  @Test
  void stopClosesTheUpstreamConnectionWithinASecond(Vertx vertx) throws Exception {
    int closedBefore = fake.closedEarly();
    Owner owner = run(vertx, settings(fake.baseUrl()), "stop", Script.tokens(1000, 10));
    long deadline = System.currentTimeMillis() + 5000;
    while (owner.next < 3 && System.currentTimeMillis() < deadline) {
      Thread.sleep(5);
    }
    String bridge = vertx.eventBus().<String>request(Addresses.AI_GENERATE,
        new Generate("stop", "a-stop", "u-stop", List.of())).await().body();
    long stoppedAt = System.nanoTime();
    vertx.eventBus().send(bridge, new StopGeneration("stop", "a-stop", 1, 1));
    while (fake.closedEarly() == closedBefore && System.nanoTime() - stoppedAt < 2_000_000_000L) {
      Thread.sleep(5);
    }
    assertThat(fake.closedEarly()).isGreaterThan(closedBefore);
    assertThat((System.nanoTime() - stoppedAt) / 1_000_000).isLessThan(1000);
  }

  @Test
  void aContinuationSendsTheTextSoFarAsTheStartOfTheAnswerAndNumbersItsTokensFromWhereItStopped(Vertx vertx)
      throws Exception {
    Codecs.register(vertx);
    fake.script(Script.tokens(6, 1).finishingWith("length"));
    vertx.deployVerticle(AiBridgeVerticle::new, new DeploymentOptions().setConfig(settings(fake.baseUrl())
        .put("CHAT_AI_CONTINUATION", "vllm").put("CHAT_AI_CONTEXT_CHARS", 1000))).await();
    Owner owner = new Owner();
    owner.next = 2;
    standIn(vertx, "cont", owner);
    int before = fake.requests().size();
    vertx.eventBus().request(Addresses.AI_GENERATE, new Generate("cont", "a-cont", "u", List.of(
        new ContextMessage("user", "the question")), FakeOpenAi.token(0) + FakeOpenAi.token(1), 2, 7, 1)).await();
    GenerationEnded ended = ended(owner);
    JsonObject request = fake.requests().get(before);
    io.vertx.core.json.JsonArray messages = request.getJsonArray("messages");
    assertThat(messages.getJsonObject(messages.size() - 1).getString("role")).isEqualTo("assistant");
    assertThat(messages.getJsonObject(messages.size() - 1).getString("content")).isEqualTo("t0 t1 ");
    assertThat(messages.getJsonObject(messages.size() - 2).getString("content")).isEqualTo("the question");
    assertThat(request.getBoolean("continue_final_message")).isTrue();
    assertThat(request.getBoolean("add_generation_prompt")).isFalse();
    assertThat(owner.received).allSatisfy(tokens -> assertThat(tokens.run()).isEqualTo(7));
    assertThat(owner.received.get(0).fromIndex()).as("numbered from where the answer stopped").isEqualTo(2);
    assertThat(owner.text.toString()).isEqualTo("t2 t3 t4 t5 ");
    assertThat(ended.totalChunks()).isEqualTo(6);
    assertThat(ended.finishReason()).isEqualTo("length");
    assertThat(ended.run()).isEqualTo(7);
  }
}
