package io.streamchat.gateway;

import io.streamchat.protocol.ConfigSource;

/**
 * Settings of the gateway.
 *
 * @param port           CHAT_HTTP_PORT (8080): HTTP and WebSocket port
 * @param host           CHAT_HTTP_HOST (0.0.0.0): address the HTTP server binds
 * @param nodeId         CHAT_NODE_ID: this node's name
 * @param maxFrameBytes  CHAT_WS_MAX_FRAME_BYTES (65536): larger client frames close the socket with 1009
 * @param maxBadFrames   CHAT_WS_MAX_BAD_FRAMES (50): a socket sending more bad frames than this in a minute is closed with 1008
 * @param maxBodyBytes   CHAT_HTTP_MAX_BODY_BYTES (1048576): larger HTTP bodies get 413
 * @param windowFrames   CHAT_CONNECTION_WINDOW_FRAMES (256): frames the owner may send before the gateway reports progress
 * @param keepAliveMs    CHAT_CONNECTION_KEEPALIVE_MS (10000): how often a connection tells its owner it is alive
 * @param requestTimeoutMs CHAT_REQUEST_TIMEOUT_MS (5000): every event-bus request
 * @param maxQueuedCommands CHAT_WS_MAX_QUEUED_COMMANDS (64): client frames waiting for the owner before {@code rate_limited}
 * @param maxConnectionsPerNode CHAT_MAX_CONNECTIONS_PER_NODE (50000): sockets this node holds; beyond, 503 at upgrade
 * @param maxConnectionsPerUser CHAT_LIMIT_CONNECTIONS_PER_USER (50): open sockets of one user across the cluster (0: off)
 * @param maxConnectionsPerAddress CHAT_LIMIT_CONNECTIONS_PER_IP (0: off): open sockets of one client address across the
 *                          cluster; off by default since many users may share an address behind NAT
 * @param trustForwardedFor CHAT_TRUST_FORWARDED_FOR (false): the client address is the last of {@code X-Forwarded-For},
 *                          the one the proxy in front appended (only behind a proxy that sets it)
 * @param slowClientCloseMs CHAT_WS_SLOW_CLIENT_CLOSE_MS (60000): a socket that takes none of its frames for this long is closed
 * @param idleTimeoutSeconds CHAT_HTTP_IDLE_TIMEOUT_SECONDS (120): a connection with no traffic either way for this long is closed
 * @param compression    CHAT_WS_COMPRESSION (false): accept the permessage-deflate extension that browsers offer. Off, a
 *                       chunk costs 40 % less server CPU and an idle socket about 90 KB less native memory; on, frames
 *                       take less bandwidth (a chunk is a small frame: little to gain but for history and complete)
 * @param tls            HTTPS and WSS: CHAT_TLS_CERT_PATH and CHAT_TLS_KEY_PATH (PEM), or CHAT_TLS_KEYSTORE_PATH and
 *                       CHAT_TLS_KEYSTORE_PASSWORD (PKCS#12); none set: plain HTTP (TLS ends at a proxy)
 */
public record GatewaySettings(int port, String host, String nodeId, int maxFrameBytes, int maxBadFrames,
                              int maxBodyBytes, int windowFrames, long keepAliveMs, long requestTimeoutMs,
                              int maxQueuedCommands, int maxConnectionsPerNode, int maxConnectionsPerUser,
                              int maxConnectionsPerAddress, boolean trustForwardedFor,
                              long slowClientCloseMs, int idleTimeoutSeconds, boolean compression, Tls tls) {

  /** Where the server's certificate and key are; {@code null} fields are unset. */
  public record Tls(String certPath, String keyPath, String keystorePath, String keystorePassword) {
    public boolean enabled() {
      return (certPath != null && keyPath != null) || keystorePath != null;
    }

    @Override
    public String toString() {
      return "Tls[certPath=" + certPath + ", keyPath=" + keyPath + ", keystorePath=" + keystorePath + "]";
    }
  }

  public static GatewaySettings from(ConfigSource config) {
    return new GatewaySettings(
        config.integer("CHAT_HTTP_PORT", 8080),
        config.string("CHAT_HTTP_HOST", "0.0.0.0"),
        config.string("CHAT_NODE_ID", "local"),
        config.integer("CHAT_WS_MAX_FRAME_BYTES", 65_536),
        config.integer("CHAT_WS_MAX_BAD_FRAMES", 50),
        config.integer("CHAT_HTTP_MAX_BODY_BYTES", 1_048_576),
        config.integer("CHAT_CONNECTION_WINDOW_FRAMES", 256),
        config.number("CHAT_CONNECTION_KEEPALIVE_MS", 10_000),
        config.number("CHAT_REQUEST_TIMEOUT_MS", 5000),
        config.integer("CHAT_WS_MAX_QUEUED_COMMANDS", 64),
        config.integer("CHAT_MAX_CONNECTIONS_PER_NODE", 50_000),
        config.integer("CHAT_LIMIT_CONNECTIONS_PER_USER", 50),
        config.integer("CHAT_LIMIT_CONNECTIONS_PER_IP", 0),
        config.bool("CHAT_TRUST_FORWARDED_FOR", false),
        config.number("CHAT_WS_SLOW_CLIENT_CLOSE_MS", 60_000),
        config.integer("CHAT_HTTP_IDLE_TIMEOUT_SECONDS", 120),
        config.bool("CHAT_WS_COMPRESSION", false),
        new Tls(config.string("CHAT_TLS_CERT_PATH", null), config.string("CHAT_TLS_KEY_PATH", null),
            config.string("CHAT_TLS_KEYSTORE_PATH", null), config.string("CHAT_TLS_KEYSTORE_PASSWORD", null)));
  }
}
