package io.streamchat.testkit;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongConsumer;

/**
 * A real HTTP server that speaks the OpenAI streaming chat completions format, with answers whose
 * length, pace and failures a test or the load tool decides. Tokens are {@code "t<i> "} unless
 * the script says otherwise; each carries its emit time when {@code stampTokens} is on. A request
 * whose messages end with an assistant message (a continuation) goes on from the token after the
 * ones that message holds, as a model continuing a prefilled answer does.
 */
public final class FakeOpenAi implements AutoCloseable {

  /**
   * What the next answers look like: {@code tokens} tokens every {@code intervalMs}; a non-200
   * {@code status}; silence from token {@code stallAfter}; the connection reset at token
   * {@code dropAfter}; no {@code [DONE]}; CRLF line ends; every event written a few bytes at a
   * time ({@code splitWrites}); a malformed event before every {@code malformedEvery}-th token;
   * tokens stamped with their emit time in nanoseconds; tokens longer by {@code padding} bytes;
   * tokens of the given {@code texts} instead of {@code "t<i> "}.
   */
  public record Script(int tokens, long intervalMs, int status, int stallAfter, int dropAfter, boolean sendDone,
                       boolean crlf, boolean stampTokens, boolean splitWrites, int malformedEvery, String finishReason,
                       int padding, List<String> texts) {
    public static Script tokens(int count, long intervalMs) {
      return new Script(count, intervalMs, 200, -1, -1, true, false, false, false, 0, "stop", 0, null);
    }

    /** An answer of exactly these tokens, in this order (any text: it is JSON-escaped). */
    public static Script saying(List<String> texts, long intervalMs) {
      return new Script(texts.size(), intervalMs, 200, -1, -1, true, false, false, false, 0, "stop", 0, List.copyOf(texts));
    }

    /** The answer ends with this {@code finish_reason} (e.g. {@code length}: cut at the model's limit). */
    public Script finishingWith(String reason) {
      return new Script(tokens, intervalMs, status, stallAfter, dropAfter, sendDone, crlf, stampTokens, splitWrites,
          malformedEvery, reason, padding, texts);
    }

    public Script withStatus(int code) {
      return new Script(tokens, intervalMs, code, stallAfter, dropAfter, sendDone, crlf, stampTokens, splitWrites,
          malformedEvery, finishReason, padding, texts);
    }

    public Script stallingAfter(int count) {
      return new Script(tokens, intervalMs, status, count, dropAfter, sendDone, crlf, stampTokens, splitWrites,
          malformedEvery, finishReason, padding, texts);
    }

    public Script droppingAfter(int count) {
      return new Script(tokens, intervalMs, status, stallAfter, count, sendDone, crlf, stampTokens, splitWrites,
          malformedEvery, finishReason, padding, texts);
    }

    public Script withoutDone() {
      return new Script(tokens, intervalMs, status, stallAfter, dropAfter, false, crlf, stampTokens, splitWrites,
          malformedEvery, finishReason, padding, texts);
    }

    public Script withCrlf() {
      return new Script(tokens, intervalMs, status, stallAfter, dropAfter, sendDone, true, stampTokens, splitWrites,
          malformedEvery, finishReason, padding, texts);
    }

    public Script stamped() {
      return new Script(tokens, intervalMs, status, stallAfter, dropAfter, sendDone, crlf, true, splitWrites,
          malformedEvery, finishReason, padding, texts);
    }

    public Script splittingWrites() {
      return new Script(tokens, intervalMs, status, stallAfter, dropAfter, sendDone, crlf, stampTokens, true,
          malformedEvery, finishReason, padding, texts);
    }

    /** Every token is {@code bytes} longer ({@code x}s before its space), for large answers. */
    public Script paddedBy(int bytes) {
      return new Script(tokens, intervalMs, status, stallAfter, dropAfter, sendDone, crlf, stampTokens, splitWrites,
          malformedEvery, finishReason, bytes, texts);
    }

    public Script withMalformedEvery(int every) {
      return new Script(tokens, intervalMs, status, stallAfter, dropAfter, sendDone, crlf, stampTokens, splitWrites,
          every, finishReason, padding, texts);
    }
  }

  /** Answers with {@code status} to the next {@code count} requests, then follows the script again. */
  public void failNext(int count, int status) {
    failures.set(count);
    failureStatus = status;
  }

  private final Vertx vertx;
  private final HttpServer server;
  private volatile Script script = Script.tokens(20, 5);
  private final List<JsonObject> requests = new CopyOnWriteArrayList<>();
  private final AtomicInteger closedEarly = new AtomicInteger();
  private final AtomicInteger failures = new AtomicInteger();
  private volatile int failureStatus = 500;

  private FakeOpenAi(Vertx vertx, HttpServer server) {
    this.vertx = vertx;
    this.server = server;
  }

  public static FakeOpenAi start(Vertx vertx) {
    FakeOpenAi[] holder = new FakeOpenAi[1];
    HttpServer server = vertx.createHttpServer().requestHandler(request -> holder[0].handle(request));
    holder[0] = new FakeOpenAi(vertx, server);
    server.listen(0, "127.0.0.1").await();
    return holder[0];
  }

  public String baseUrl() {
    return "http://127.0.0.1:" + server.actualPort() + "/v1";
  }

  public void script(Script next) {
    this.script = next;
  }

  public List<JsonObject> requests() {
    return requests;
  }

  /** Streams the client closed before the answer ended (a cancel upstream). */
  public int closedEarly() {
    return closedEarly.get();
  }

  public static String token(int index) {
    return "t" + index + " ";
  }

  private void handle(HttpServerRequest request) {
    if (!request.path().endsWith("/chat/completions")) {
      request.response().setStatusCode(404).end();
      return;
    }
    Script current = script;
    request.body().onSuccess(body -> {
      requests.add(body.toJsonObject());
      HttpServerResponse response = request.response();
      int status = failures.getAndUpdate(n -> Math.max(0, n - 1)) > 0 ? failureStatus : current.status();
      if (status != 200) {
        response.setStatusCode(status).putHeader("content-type", "application/json")
            .end(new JsonObject().put("error", new JsonObject().put("message", "scripted failure")).encode());
        return;
      }
      response.setChunked(true).putHeader("content-type", "text/event-stream");
      stream(response, current, tokensAlreadyWritten(body.toJsonObject(), current));
    });
  }

  /** Tokens of a prefilled answer (the request's final assistant message): the continuation starts after them. */
  private static int tokensAlreadyWritten(JsonObject request, Script script) {
    io.vertx.core.json.JsonArray messages = request.getJsonArray("messages");
    if (messages == null || messages.isEmpty()) {
      return 0;
    }
    JsonObject last = messages.getJsonObject(messages.size() - 1);
    if (!"assistant".equals(last.getString("role"))) {
      return 0;
    }
    String text = last.getString("content", "");
    if (script.texts() != null) {
      int count = 0;
      int at = 0;
      while (count < script.texts().size() && text.startsWith(script.texts().get(count), at)) {
        at += script.texts().get(count++).length();
      }
      return count;
    }
    return (int) text.chars().filter(c -> c == ' ').count();
  }

  private void stream(HttpServerResponse response, Script current, int firstToken) {
    String eol = current.crlf() ? "\r\n" : "\n";
    boolean[] ended = {false};
    response.closeHandler(v -> {
      if (!ended[0]) {
        ended[0] = true;
        closedEarly.incrementAndGet();
      }
    });
    int[] next = {firstToken};
    LongConsumer[] tick = new LongConsumer[1];
    tick[0] = id -> {
      if (ended[0]) {
        return;
      }
      int index = next[0]++;
      if (index == current.dropAfter()) {
        ended[0] = true;
        response.reset();
        return;
      }
      if (index == current.stallAfter()) {
        return;
      }
      if (index < current.tokens()) {
        String chunk;
        if (current.texts() != null) {
          chunk = new JsonObject().put("id", "c").put("object", "chat.completion.chunk")
              .put("choices", new io.vertx.core.json.JsonArray().add(new JsonObject().put("index", 0)
                  .put("delta", new JsonObject().put("content", current.texts().get(index))).putNull("finish_reason")))
              .encode();
        } else {
          String text = current.stampTokens() ? token(index).strip() + "@" + System.nanoTime() + " " : token(index);
          if (current.padding() > 0) {
            text = text.strip() + "x".repeat(current.padding()) + " ";
          }
          // Tokens hold only [a-z0-9@ ], so the JSON can be written without escaping.
          chunk = "{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
              + "\"delta\":{\"content\":\"" + text + "\"},\"finish_reason\":null}]}";
        }
        if (current.malformedEvery() > 0 && index % current.malformedEvery() == 0) {
          write(response, "data: {\"choices\": [" + eol + eol, current);
        }
        write(response, "data: " + chunk + eol + eol, current);
        vertx.setTimer(Math.max(1, current.intervalMs()), tick[0]::accept);
        return;
      }
      JsonObject last = new JsonObject().put("choices", new io.vertx.core.json.JsonArray().add(
          new JsonObject().put("index", 0).put("delta", new JsonObject()).put("finish_reason", current.finishReason())));
      StringBuilder tail = new StringBuilder("data: " + last.encode() + eol + eol);
      if (current.sendDone()) {
        tail.append("data: [DONE]").append(eol).append(eol);
      }
      ended[0] = true;
      response.end(tail.toString());
    };
    response.write(": keep-alive" + eol + eol);
    vertx.setTimer(Math.max(1, current.intervalMs()), tick[0]::accept);
  }

  private static void write(HttpServerResponse response, String text, Script script) {
    if (!script.splitWrites()) {
      response.write(Buffer.buffer(text));
      return;
    }
    byte[] bytes = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    for (int from = 0; from < bytes.length; from += 3) {
      response.write(Buffer.buffer(java.util.Arrays.copyOfRange(bytes, from, Math.min(bytes.length, from + 3))));
    }
  }

  @Override
  public void close() {
    server.close().await();
  }
}
