package io.streamchat.ai;

import io.streamchat.protocol.AiCommand.ContextMessage;
import io.streamchat.protocol.AiCommand.Generate;
import io.streamchat.protocol.AnswerError;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.streamchat.protocol.Metrics;
import io.micrometer.core.instrument.Counter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Any OpenAI-compatible chat completions API (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio),
 * streamed over the Vert.x HTTP client. Cancel closes the upstream connection.
 */
final class OpenAiProvider implements Provider {

  private static final Logger LOG = LoggerFactory.getLogger(OpenAiProvider.class);

  private final Vertx vertx;
  private final AiSettings settings;
  private final HttpClientAgent client;
  private final Counter malformedEvents;
  private final Counter oversizedEvents;
  private final Counter promptTokens;
  private final Counter completionTokens;
  /** The completions endpoint, parsed once: where every request goes. */
  private final RequestOptions endpoint;

  OpenAiProvider(Vertx vertx, AiSettings settings) {
    this.vertx = vertx;
    this.settings = settings;
    this.endpoint = new RequestOptions().setAbsoluteURI(settings.baseUrl().replaceAll("/+$", "") + "/chat/completions");
    Metrics metrics = Metrics.of(vertx);
    this.malformedEvents = metrics.counter("chat_ai_malformed_events_total", "Malformed stream events skipped");
    this.oversizedEvents = metrics.counter("chat_ai_oversized_events_total",
        "Provider stream events over CHAT_AI_MAX_EVENT_BYTES (the answer failed)");
    this.promptTokens = metrics.counter("chat_ai_prompt_tokens_total", "Prompt tokens the provider reported");
    this.completionTokens = metrics.counter("chat_ai_completion_tokens_total", "Completion tokens the provider reported");
    this.client = vertx.createHttpClient(clientOptions(settings), new PoolOptions()
        .setHttp1MaxSize(settings.poolSize())
        .setHttp2MaxSize(Math.max(1, settings.poolSize() / HTTP2_STREAMS_PER_CONNECTION)));
  }

  /** A common server limit on concurrent streams of one HTTP/2 connection (100 to 256 in practice). */
  private static final int HTTP2_STREAMS_PER_CONNECTION = 100;

  /**
   * HTTP/1.1 holds one connection per streaming answer; HTTP/2 multiplexes answers over a few. In
   * {@code auto}, TLS providers that offer h2 by ALPN (OpenAI, most hosted APIs) get HTTP/2 and
   * the rest HTTP/1.1; {@code h2c} speaks HTTP/2 in clear text with prior knowledge.
   */
  private static HttpClientOptions clientOptions(AiSettings settings) {
    HttpClientOptions options = new HttpClientOptions().setConnectTimeout(settings.connectTimeoutMs()).setKeepAlive(true);
    switch (settings.httpVersion()) {
      case "auto" -> options.setUseAlpn(true).setProtocolVersion(settings.baseUrl().startsWith("https:")
          ? HttpVersion.HTTP_2 : HttpVersion.HTTP_1_1);
      case "h2c" -> options.setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false);
      default -> options.setProtocolVersion(HttpVersion.HTTP_1_1);
    }
    return options;
  }

  @Override
  public Generation start(Generate request, TokenSink sink) {
    Upstream upstream = new Upstream(sink);
    upstream.watch();
    attempt(upstream, request, body(request).toBuffer(), 0);
    return upstream;
  }

  /**
   * One try. Before the first token, a refused connection, a 5xx or a 429 is tried again with
   * backoff, up to CHAT_AI_MAX_RETRIES times; once tokens have flowed, a failure ends the answer.
   */
  private void attempt(Upstream upstream, Generate request, Buffer body, int attempt) {
    if (upstream.ended) {
      return;
    }
    upstream.progress();
    RequestOptions options = new RequestOptions(endpoint)
        .setMethod(HttpMethod.POST)
        .putHeader("content-type", "application/json")
        .putHeader("accept", "text/event-stream");
    if (!settings.apiKey().isEmpty()) {
      options.putHeader("authorization", "Bearer " + settings.apiKey());
    }
    client.request(options)
        .compose(http -> {
          upstream.request = http;
          // Failures reach the send's future and the response's handlers; a reset of ours is no error to log.
          http.exceptionHandler(e -> LOG.debug("Answer {}: provider request ended: {}", request.messageId(), e.toString()));
          if (upstream.ended) {
            http.reset();
            return Future.failedFuture("the answer ended before its request was sent");
          }
          return http.send(body);
        })
        .onSuccess(response -> {
          if (response.statusCode() == 200) {
            stream(upstream, request, response);
            return;
          }
          int status = response.statusCode();
          response.body().onComplete(answer -> {
            String detail = answer.succeeded() ? abbreviate(answer.result()) : "";
            if (retryable(status) && !upstream.hasTokens && attempt < settings.maxRetries()) {
              retryLater(upstream, request, body, attempt, "HTTP " + status);
            } else {
              upstream.fail(codeFor(status), explain(status, detail));
            }
          });
        })
        .onFailure(e -> {
          if (upstream.ended) {
            return;
          }
          if (!upstream.hasTokens && attempt < settings.maxRetries()) {
            retryLater(upstream, request, body, attempt, e.toString());
          } else {
            // The provider's address and the socket's error are for operators, not for the answer's readers.
            LOG.atWarn().addKeyValue("session_id", request.sessionId()).log("Answer {}: the AI provider is unreachable at {}: {}",
                request.messageId(), settings.baseUrl(), e.toString());
            upstream.fail(AnswerError.PROVIDER_UNAVAILABLE, "the AI provider could not be reached");
          }
        });
  }

  private void retryLater(Upstream upstream, Generate request, Buffer body, int attempt, String reason) {
    long backoff = settings.retryBackoffMs() << attempt;
    LOG.info("Answer {}: the AI provider failed ({}); trying again in {} ms", request.messageId(), reason, backoff);
    vertx.setTimer(backoff, id -> attempt(upstream, request, body, attempt + 1));
  }

  private void stream(Upstream upstream, Generate request, HttpClientResponse response) {
    CompletionChunks chunks = new CompletionChunks(upstream);
    SseParser parser = new SseParser(chunks::onData, settings.maxEventBytes());
    response.handler(buffer -> {
      upstream.progress();
      try {
        parser.feed(buffer.getBytes());
      } catch (SseParser.EventTooLarge e) {
        oversizedEvents.increment();
        upstream.fail(AnswerError.PROVIDER_ERROR, e.getMessage());
        upstream.cancel();
      }
    });
    response.exceptionHandler(e -> upstream.fail(AnswerError.PROVIDER_ERROR, "the AI provider's stream broke: " + e));
    response.endHandler(v -> {
      parser.end();
      if (chunks.malformed() > 0) {
        malformedEvents.increment(chunks.malformed());
        LOG.warn("Answer {}: skipped {} malformed stream events", request.messageId(), chunks.malformed());
      }
      CompletionChunks.Usage usage = chunks.usage();
      if (usage != null) {
        promptTokens.increment(usage.promptTokens());
        completionTokens.increment(usage.completionTokens());
      }
      chunks.onEnd();
    });
  }

  private static boolean retryable(int status) {
    return status >= 500 || status == 429;
  }

  private static String explain(int status, String detail) {
    String suffix = detail.isEmpty() ? "" : ": " + detail;
    return switch (status) {
      case 401, 403 -> "the AI provider refused the credentials (HTTP " + status + "); check CHAT_AI_API_KEY" + suffix;
      case 404 -> "the AI provider does not know this model or endpoint (HTTP 404); check CHAT_AI_MODEL and "
          + "CHAT_AI_BASE_URL" + suffix;
      case 400 -> "the AI provider rejected the request (HTTP 400)" + suffix;
      default -> "the AI provider answered HTTP " + status + suffix;
    };
  }

  @Override
  public void close() {
    client.close();
  }

  private JsonObject body(Generate request) {
    JsonArray messages = new JsonArray();
    if (!settings.systemPrompt().isEmpty()) {
      messages.add(new JsonObject().put("role", "system").put("content", settings.systemPrompt()));
    }
    String prefix = request.prefix() == null ? "" : request.prefix();
    // A long answer being continued keeps its end: that is where the model goes on.
    String kept = prefix.substring(Math.max(0, prefix.length() - settings.contextChars() / 2));
    int budget = settings.contextChars() - kept.length();
    for (ContextMessage message : ContextWindow.fit(request.context(), budget)) {
      messages.add(new JsonObject().put("role", message.role()).put("content", message.content()));
    }
    JsonObject body = new JsonObject().put("model", settings.model()).put("stream", true).put("messages", messages);
    if (!kept.isEmpty()) {
      settings.continuation().apply(body, kept);
    }
    return body;
  }

  private static AnswerError codeFor(int status) {
    return status >= 400 && status < 500 && status != 429 ? AnswerError.PROVIDER_REJECTED : AnswerError.PROVIDER_ERROR;
  }

  private static String abbreviate(Buffer body) {
    String text = body.toString().strip();
    return text.length() > 300 ? text.substring(0, 300) + "..." : text;
  }

  /** One upstream request: forwards to the sink until it ends, fails, stalls or is cancelled. */
  private final class Upstream implements Generation, TokenSink {
    private final TokenSink sink;
    private HttpClientRequest request;
    private boolean ended;
    private boolean hasTokens;
    private long lastProgress = System.currentTimeMillis();
    private long stallTimer = -1;

    Upstream(TokenSink sink) {
      this.sink = sink;
    }

    void watch() {
      long period = Math.max(100, settings.stallTimeoutMs() / 4);
      stallTimer = vertx.setPeriodic(period, id -> {
        if (!ended && System.currentTimeMillis() - lastProgress > settings.stallTimeoutMs()) {
          fail(AnswerError.STALLED, "the AI provider sent nothing for " + settings.stallTimeoutMs() + " ms");
          close();
        }
      });
    }

    void progress() {
      lastProgress = System.currentTimeMillis();
    }

    @Override
    public void token(String text) {
      if (!ended) {
        hasTokens = true;
        sink.token(text);
      }
    }

    @Override
    public void done(String finishReason) {
      if (!ended) {
        ended = true;
        stopWatching();
        sink.done(finishReason);
      }
    }

    @Override
    public void failed(AnswerError code, String message) {
      fail(code, message);
    }

    void fail(AnswerError code, String message) {
      if (!ended) {
        ended = true;
        stopWatching();
        sink.failed(code, message);
      }
    }

    @Override
    public void cancel() {
      ended = true;
      stopWatching();
      close();
    }

    /** Ends this answer's request: its stream alone over HTTP/2 (others share the connection), the connection over HTTP/1.1. */
    private void close() {
      if (request != null) {
        request.reset();
      }
    }

    private void stopWatching() {
      if (stallTimer >= 0) {
        vertx.cancelTimer(stallTimer);
        stallTimer = -1;
      }
    }
  }
}
