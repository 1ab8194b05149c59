package io.streamchat.session;

import io.streamchat.protocol.ConfigSource;

/**
 * Settings of the session actors.
 *
 * @param idleMs              CHAT_SESSION_IDLE_MS (300000): a session with no connection and no answer streaming is passivated after this
 * @param replayEvents        CHAT_SESSION_REPLAY_EVENTS (2048): events kept in memory (and loaded on activation) to serve cursors and reconnects
 * @param maxMessages         CHAT_HISTORY_MAX_MESSAGES (1000): messages in a history snapshot and in memory
 * @param maxMessageChars     CHAT_MAX_MESSAGE_CHARS (32000): longest user message
 * @param windowFrames        CHAT_CONNECTION_WINDOW_FRAMES (256): frames sent to a connection before it must report progress
 * @param maxUnstoredEvents   CHAT_CACHE_MAX_PENDING_EVENTS (50000): events waiting for Redis before new messages are refused
 * @param appendLingerMs      CHAT_CACHE_APPEND_LINGER_MS (50): how long new events wait for others of their session before
 *                            they are sent to Redis together (live delivery never waits for it; 0: at once)
 * @param generatorTimeoutMs  CHAT_GENERATOR_TIMEOUT_MS (15000): an answer whose generator is silent this long (no token, no keep-alive) ends {@code interrupted}
 * @param connectionTimeoutMs CHAT_CONNECTION_TIMEOUT_MS (30000): a connection not heard from for this long is dropped
 * @param requestTimeoutMs    CHAT_REQUEST_TIMEOUT_MS (5000): every event-bus request
 * @param contextMessages     CHAT_AI_CONTEXT_MESSAGES (50): earlier messages sent to the AI with a new question
 * @param maxAnswerChars      CHAT_MAX_ANSWER_CHARS (16777216): longest answer; one that reaches it ends {@code completed}
 *                            there and its generator is stopped
 * @param autoContinue        CHAT_AUTO_CONTINUE (true): when an answer's generator is lost (its node left, it went
 *                            silent, or it did not come back after the owner changed), another run goes on from the
 *                            last chunk held, in the same message; false: the answer ends {@code interrupted}
 * @param maxAutoContinuations CHAT_AUTO_CONTINUE_MAX (3): runs one answer may start that way before it ends
 *                            {@code interrupted}
 * @param durable             CHAT_DB_URL is not {@code none}: conversations are written to the durable tier
 * @param maxPendingDurableWrites CHAT_DB_MAX_PENDING_WRITES (100000): conversation changes waiting for the durable
 *                            tier (per session verticle) before new messages are refused {@code unavailable}
 * @param clusterMemberTimeoutMs CHAT_CLUSTER_MEMBER_TIMEOUT_MS (the Hazelcast heartbeat timeout, set by the launcher):
 *                            a pause longer than this means the cluster has dropped this node
 */
public record SessionSettings(long idleMs, int replayEvents, int maxMessages, int maxMessageChars, int windowFrames,
                              int maxUnstoredEvents, long appendLingerMs, long generatorTimeoutMs, long connectionTimeoutMs,
                              long requestTimeoutMs, int contextMessages, long maxAnswerChars,
                              boolean autoContinue, int maxAutoContinuations, boolean durable,
                              int maxPendingDurableWrites, long clusterMemberTimeoutMs) {

  public static SessionSettings from(ConfigSource config) {
    return new SessionSettings(
        config.number("CHAT_SESSION_IDLE_MS", 300_000),
        config.integer("CHAT_SESSION_REPLAY_EVENTS", 2048),
        config.integer("CHAT_HISTORY_MAX_MESSAGES", 1000),
        config.integer("CHAT_MAX_MESSAGE_CHARS", 32_000),
        config.integer("CHAT_CONNECTION_WINDOW_FRAMES", 256),
        config.integer("CHAT_CACHE_MAX_PENDING_EVENTS", 50_000),
        config.number("CHAT_CACHE_APPEND_LINGER_MS", 50),
        config.number("CHAT_GENERATOR_TIMEOUT_MS", 15_000),
        config.number("CHAT_CONNECTION_TIMEOUT_MS", 30_000),
        config.number("CHAT_REQUEST_TIMEOUT_MS", 5000),
        config.integer("CHAT_AI_CONTEXT_MESSAGES", 50),
        config.number("CHAT_MAX_ANSWER_CHARS", 16L << 20),
        config.bool("CHAT_AUTO_CONTINUE", true),
        config.integer("CHAT_AUTO_CONTINUE_MAX", 3),
        !"none".equalsIgnoreCase(config.string("CHAT_DB_URL", "none").strip()),
        config.integer("CHAT_DB_MAX_PENDING_WRITES", 100_000),
        config.number("CHAT_CLUSTER_MEMBER_TIMEOUT_MS", 60_000));
  }
}
