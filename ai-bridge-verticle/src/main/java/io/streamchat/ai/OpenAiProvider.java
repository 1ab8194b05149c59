package io.streamchat.ai;

import io.streamchat.protocol.AiCommand.ContextMessage;
import io.streamchat.protocol.AiCommand.Generate;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
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

  OpenAiProvider(Vertx vertx, AiSettings settings) {
    this.vertx = vertx;
    this.settings = settings;
    this.client = vertx.createHttpClient(
        new HttpClientOptions().setConnectTimeout(settings.connectTimeoutMs()).setKeepAlive(true),
        new PoolOptions().setHttp1MaxSize(settings.poolSize()));
  }

  @Override
  public Generation start(Generate request, TokenSink sink) {
    Upstream upstream = new Upstream(sink);
    RequestOptions options = new RequestOptions()
        .setMethod(HttpMethod.POST)
        .setAbsoluteURI(settings.baseUrl().replaceAll("/+$", "") + "/chat/completions")
        .putHeader("content-type", "application/json")
        .putHeader("accept", "text/event-stream");
    if (!settings.apiKey().isEmpty()) {
      options.putHeader("authorization", "Bearer " + settings.apiKey());
    }
    client.request(options)
        .compose(http -> {
          upstream.request = http;
          if (upstream.cancelled) {
            http.reset();
          }
          return http.send(body(request).toBuffer());
        })
        .onSuccess(response -> {
          if (response.statusCode() != 200) {
            response.body().onComplete(body -> upstream.fail(codeFor(response.statusCode()),
                "the AI provider answered HTTP " + response.statusCode()
                    + (body.succeeded() ? ": " + abbreviate(body.result()) : "")));
            return;
          }
          CompletionChunks chunks = new CompletionChunks(upstream);
          SseParser parser = new SseParser(chunks::onData);
          upstream.watch();
          response.handler(buffer -> {
            upstream.progress();
            parser.feed(buffer.getBytes());
          });
          response.exceptionHandler(e -> upstream.fail("provider_error", "the AI provider's stream broke: " + e));
          response.endHandler(v -> {
            parser.end();
            if (chunks.malformed() > 0) {
              LOG.warn("Answer {}: skipped {} malformed stream events", request.messageId(), chunks.malformed());
            }
            chunks.onEnd();
          });
        })
        .onFailure(e -> upstream.fail("provider_unavailable", "the AI provider is unreachable: " + e.getMessage()));
    return upstream;
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
    for (ContextMessage message : request.context()) {
      messages.add(new JsonObject().put("role", message.role()).put("content", message.content()));
    }
    return new JsonObject().put("model", settings.model()).put("stream", true).put("messages", messages);
  }

  private static String codeFor(int status) {
    return status == 401 || status == 403 || status == 404 || status == 400 ? "provider_rejected" : "provider_error";
  }

  private static String abbreviate(Buffer body) {
    String text = body.toString().strip();
    return text.length() > 300 ? text.substring(0, 300) + "..." : text;
  }

  /** One upstream request: forwards to the sink until it ends, fails, stalls or is cancelled. */
  private final class Upstream implements Generation, TokenSink {
    private final TokenSink sink;
    private HttpClientRequest request;
    private boolean cancelled;
    private boolean ended;
    private long lastProgress = System.currentTimeMillis();
    private long stallTimer = -1;

    Upstream(TokenSink sink) {
      this.sink = sink;
    }

    void watch() {
      long period = Math.max(100, settings.stallTimeoutMs() / 4);
      stallTimer = vertx.setPeriodic(period, id -> {
        if (System.currentTimeMillis() - lastProgress > settings.stallTimeoutMs()) {
          fail("stalled", "the AI provider sent nothing for " + settings.stallTimeoutMs() + " ms");
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
        sink.token(text);
      }
    }

    @Override
    public void done() {
      if (!ended) {
        ended = true;
        stopWatching();
        sink.done();
      }
    }

    @Override
    public void failed(String code, String message) {
      fail(code, message);
    }

    void fail(String code, String message) {
      if (!ended) {
        ended = true;
        stopWatching();
        sink.failed(code, message);
      }
    }

    @Override
    public void cancel() {
      cancelled = true;
      ended = true;
      stopWatching();
      close();
    }

    private void close() {
      if (request != null) {
        request.connection().close();
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
