package io.streamchat.ai;

import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.NodeSettings;

/**
 * Settings of the AI bridge.
 *
 * @param provider             CHAT_AI_PROVIDER ({@code demo}): {@code demo} or {@code openai}
 * @param baseUrl              CHAT_AI_BASE_URL: an OpenAI-compatible API root, e.g. {@code http://127.0.0.1:11434/v1}
 * @param apiKey               CHAT_AI_API_KEY: sent as a Bearer token when set
 * @param model                CHAT_AI_MODEL: the model name
 * @param systemPrompt         CHAT_AI_SYSTEM_PROMPT: first message of every request, when set
 * @param demoTokensPerSecond  CHAT_AI_DEMO_TOKENS_PER_SECOND (30): pace of the demo provider
 * @param demoTokens           CHAT_AI_DEMO_TOKENS (0 = the whole demo answer): cap on demo answer length
 * @param stallTimeoutMs       CHAT_AI_STALL_TIMEOUT_MS (30000): a provider silent this long ends the answer {@code failed}/{@code stalled}
 * @param connectTimeoutMs     CHAT_AI_CONNECT_TIMEOUT_MS (10000)
 * @param poolSize             CHAT_AI_HTTP_POOL_SIZE (CHAT_AI_MAX_ACTIVE_PER_NODE, 5000): HTTP/1.1 connections to the
 *                             provider per bridge instance; a streaming answer holds one
 * @param maxEventBytes        CHAT_AI_MAX_EVENT_BYTES (1048576): largest event of a provider's stream; a larger one
 *                             fails the answer {@code provider_error} (what came before is kept)
 * @param httpVersion          CHAT_AI_HTTP_VERSION ({@code auto}): {@code auto} (HTTP/2 over TLS where the provider
 *                             offers it by ALPN, else HTTP/1.1), {@code http1}, or {@code h2c} (HTTP/2 without TLS,
 *                             prior knowledge)
 * @param deliveryTimeoutMs    CHAT_AI_DELIVERY_TIMEOUT_MS (500): one delivery of tokens to the session owner; on
 *                             timeout the tokens go again, to whoever owns the session by then
 * @param retainAfterEndMs     CHAT_AI_RETAIN_AFTER_END_MS (60000): how long an ended answer is kept for the owner to store it
 * @param drainMs              CHAT_AI_DRAIN_MS (30000): on shutdown, how long a node with answers running may take
 *                             to stop; the answers get all of it but {@link #answersDrainMs()}'s reserve
 * @param maxRetries           CHAT_AI_MAX_RETRIES (2): tries again after a refused connection, 5xx or 429 before the first token
 * @param retryBackoffMs       CHAT_AI_RETRY_BACKOFF_MS (250): first retry delay, doubled each time
 * @param contextChars         CHAT_AI_CONTEXT_CHARS (24000): budget of the conversation sent with a question, oldest out first
 * @param continuation         CHAT_AI_CONTINUATION ({@code auto}): how a provider is asked to go on with an answer
 *                             that stopped, see {@link Continuation}
 */
public record AiSettings(String provider, String baseUrl, String apiKey, String model, String systemPrompt,
                         int demoTokensPerSecond, int demoTokens, long stallTimeoutMs, int connectTimeoutMs,
                         int poolSize, long deliveryTimeoutMs, long retainAfterEndMs, long drainMs,
                         int maxRetries, long retryBackoffMs, int contextChars, int maxEventBytes,
                         String httpVersion, Continuation continuation) {

  public static AiSettings from(ConfigSource config) {
    return new AiSettings(
        config.string("CHAT_AI_PROVIDER", "demo"),
        config.string("CHAT_AI_BASE_URL", "http://127.0.0.1:11434/v1"),
        config.string("CHAT_AI_API_KEY", ""),
        config.string("CHAT_AI_MODEL", "llama3.2"),
        config.string("CHAT_AI_SYSTEM_PROMPT", ""),
        config.integer("CHAT_AI_DEMO_TOKENS_PER_SECOND", 30),
        config.integer("CHAT_AI_DEMO_TOKENS", 0),
        config.number("CHAT_AI_STALL_TIMEOUT_MS", 30_000),
        config.integer("CHAT_AI_CONNECT_TIMEOUT_MS", 10_000),
        config.integer("CHAT_AI_HTTP_POOL_SIZE", NodeSettings.from(config).maxAnswersPerNode()),
        config.number("CHAT_AI_DELIVERY_TIMEOUT_MS", 500),
        config.number("CHAT_AI_RETAIN_AFTER_END_MS", 60_000),
        config.number("CHAT_AI_DRAIN_MS", 30_000),
        config.integer("CHAT_AI_MAX_RETRIES", 2),
        config.number("CHAT_AI_RETRY_BACKOFF_MS", 250),
        config.integer("CHAT_AI_CONTEXT_CHARS", 24_000),
        config.integer("CHAT_AI_MAX_EVENT_BYTES", 1 << 20),
        httpVersion(config.string("CHAT_AI_HTTP_VERSION", "auto")),
        Continuation.fromSetting(config.string("CHAT_AI_CONTINUATION", "auto"),
            config.string("CHAT_AI_BASE_URL", "http://127.0.0.1:11434/v1")));
  }

  /**
   * How long answers running at shutdown may take to finish: CHAT_AI_DRAIN_MS less what storing,
   * handing off and stopping take after them (0.7 to 1 s as measured; half of a drain under 3 s).
   */
  public long answersDrainMs() {
    return drainMs - Math.min(1500, drainMs / 2);
  }

  private static String httpVersion(String value) {
    if (!java.util.List.of("auto", "http1", "h2c").contains(value)) {
      throw new IllegalArgumentException("CHAT_AI_HTTP_VERSION must be auto, http1 or h2c, got " + value);
    }
    return value;
  }
}
