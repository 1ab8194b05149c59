package io.streamchat.gateway;

import io.streamchat.protocol.ConfigSource;
import java.util.Arrays;
import java.util.List;

/**
 * How callers prove who they are, and which web origins may call.
 *
 * @param jwtSecret      CHAT_AUTH_JWT_SECRET: HS256 secret of access tokens
 * @param publicKey      CHAT_AUTH_JWT_PUBLIC_KEY: a PEM public key (RS256 or ES256), or the path of a PEM file
 * @param jwksFile       CHAT_AUTH_JWKS_FILE: path of a JWKS file ({@code {"keys":[…]}}) of public keys
 * @param issuer         CHAT_AUTH_JWT_ISSUER: when set, tokens must carry this {@code iss}
 * @param audience       CHAT_AUTH_JWT_AUDIENCE: when set, tokens must carry this {@code aud}
 * @param leewaySeconds  CHAT_AUTH_LEEWAY_SECONDS (5): clock skew tolerated on {@code exp} and {@code nbf}
 * @param allowedOrigins CHAT_ALLOWED_ORIGINS: origins allowed to open sockets and call the API ({@code *}: any);
 *                       empty: any origin when authentication is off, only the server's own when it is on
 */
public record AuthSettings(String jwtSecret, String publicKey, String jwksFile, String issuer, String audience,
                           int leewaySeconds, List<String> allowedOrigins) {

  public static AuthSettings from(ConfigSource config) {
    String origins = config.string("CHAT_ALLOWED_ORIGINS", "");
    return new AuthSettings(
        config.string("CHAT_AUTH_JWT_SECRET", null),
        config.string("CHAT_AUTH_JWT_PUBLIC_KEY", null),
        config.string("CHAT_AUTH_JWKS_FILE", null),
        config.string("CHAT_AUTH_JWT_ISSUER", null),
        config.string("CHAT_AUTH_JWT_AUDIENCE", null),
        config.integer("CHAT_AUTH_LEEWAY_SECONDS", 5),
        Arrays.stream(origins.split(",")).map(String::strip).filter(origin -> !origin.isEmpty())
            .map(origin -> origin.endsWith("/") ? origin.substring(0, origin.length() - 1) : origin).toList());
  }

  /** Whether any key is configured: without one, authentication is off. */
  public boolean enabled() {
    return jwtSecret != null || publicKey != null || jwksFile != null;
  }

  /** Never prints the secret. */
  @Override
  public String toString() {
    return "AuthSettings[enabled=" + enabled() + ", hs256=" + (jwtSecret != null) + ", publicKey=" + (publicKey != null)
        + ", jwksFile=" + jwksFile + ", issuer=" + issuer + ", audience=" + audience + ", allowedOrigins="
        + allowedOrigins + "]";
  }
}
