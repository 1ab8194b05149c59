package io.streamchat.gateway;

import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.Identifiers;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.interfaces.ECPublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.List;

/**
 * Checks access tokens (JWT): signature, expiry, optional issuer and audience. The caller is the
 * token's subject. Without a configured key authentication is off and every caller is anonymous,
 * named only by the {@code user_id} it gives.
 */
final class AccessTokens {

  /** Who makes a request: {@code userId} null for an anonymous caller; {@code expiresAtMs} 0 for never. */
  record Caller(String userId, long expiresAtMs) {
    static final Caller ANONYMOUS = new Caller(null, 0);
  }

  private final JWTAuth jwt;
  private final long leewayMs;

  /** 9999-12-31T23:59:59Z. */
  private static final long LATEST_EXPIRY_SECONDS = 253_402_300_799L;

  private AccessTokens(JWTAuth jwt, long leewayMs) {
    this.jwt = jwt;
    this.leewayMs = leewayMs;
  }

  static AccessTokens create(Vertx vertx, AuthSettings settings) {
    if (!settings.enabled()) {
      return new AccessTokens(null, 0);
    }
    JWTAuthOptions options = new JWTAuthOptions().setJWTOptions(new JWTOptions()
        .setLeeway(settings.leewaySeconds())
        .setIssuer(settings.issuer())
        .setAudience(settings.audience() == null ? null : List.of(settings.audience())));
    if (settings.jwtSecret() != null) {
      options.addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(settings.jwtSecret()));
    }
    if (settings.publicKey() != null) {
      String pem = pem(settings.publicKey());
      for (String algorithm : algorithmsOf(pem)) {
        options.addPubSecKey(new PubSecKeyOptions().setAlgorithm(algorithm).setBuffer(pem));
      }
    }
    if (settings.jwksFile() != null) {
      JsonArray keys = new JsonObject(read(settings.jwksFile(), "CHAT_AUTH_JWKS_FILE")).getJsonArray("keys");
      if (keys == null || keys.isEmpty()) {
        throw new IllegalArgumentException("CHAT_AUTH_JWKS_FILE has no \"keys\"");
      }
      keys.forEach(key -> options.addJwk((JsonObject) key));
    }
    return new AccessTokens(JWTAuth.create(vertx, options), settings.leewaySeconds() * 1000L);
  }

  boolean enabled() {
    return jwt != null;
  }

  private static boolean hasCriticalExtensions(String token) {
    int dot = token.indexOf('.');
    if (dot <= 0) {
      return false;
    }
    try {
      JsonObject header = new JsonObject(new String(Base64.getUrlDecoder().decode(token.substring(0, dot)),
          StandardCharsets.UTF_8));
      return header.containsKey("crit");
    } catch (RuntimeException malformed) {
      return false; // the provider refuses it
    }
  }

  /** When a caller whose token expires at {@code expiresAtMs} is no longer served: the clock skew tolerated past it. */
  long servedUntilMs(long expiresAtMs) {
    return expiresAtMs + leewayMs;
  }

  /** The caller a token names; fails {@code unauthorized} for a missing, malformed, forged or expired token. */
  Future<Caller> verify(String token) {
    if (jwt == null) {
      return Future.succeededFuture(Caller.ANONYMOUS);
    }
    if (token == null || token.isBlank()) {
      return Future.failedFuture(new ChatException(ErrorCode.UNAUTHORIZED, "an access token is required"));
    }
    String jwtText = token.strip();
    Future<User> authenticated;
    try {
      // RFC 7515 §4.1.11: a token that needs extensions this server does not implement is refused.
      authenticated = hasCriticalExtensions(jwtText) ? Future.failedFuture("a critical extension")
          : jwt.authenticate(new TokenCredentials(jwtText));
    } catch (RuntimeException malformed) {
      // The provider throws, rather than fails, on claims of the wrong type (an "exp" that is a string).
      authenticated = Future.failedFuture(malformed);
    }
    return authenticated.transform(result -> {
      if (result.failed()) {
        return Future.failedFuture(new ChatException(ErrorCode.UNAUTHORIZED, "the access token is not valid"));
      }
      // The provider keeps the token's claims in the user's attributes, under "accessToken".
      JsonObject claims = result.result().attributes().getJsonObject("accessToken", result.result().principal());
      Object subject = claims.getValue("sub");
      if (!(subject instanceof String user) || !Identifiers.isUserId(user)) {
        return Future.failedFuture(new ChatException(ErrorCode.UNAUTHORIZED,
            "the access token's subject must be a user id of letters, digits and _.@:- (at most 128)"));
      }
      Object exp = claims.getValue("exp");
      // An "exp" past the year 9999 has no RFC 3339 form: such a token is treated as never expiring.
      long expiresAtMs = exp instanceof Number seconds && seconds.longValue() > 0
          && seconds.longValue() <= LATEST_EXPIRY_SECONDS ? seconds.longValue() * 1000 : 0;
      return Future.succeededFuture(new Caller(user, expiresAtMs));
    });
  }

  /**
   * The user a request acts for: the token's subject, which a {@code user_id} given alongside must
   * match ({@code forbidden} otherwise); with authentication off, the {@code user_id} given.
   */
  String userFor(Caller caller, String requestedUser) {
    if (requestedUser != null && !Identifiers.isUserId(requestedUser)) {
      throw new ChatException(ErrorCode.BAD_REQUEST, "user_id must be letters, digits and _.@:- (at most 128)");
    }
    if (jwt == null) {
      return requestedUser;
    }
    if (requestedUser != null && !requestedUser.equals(caller.userId())) {
      throw new ChatException(ErrorCode.FORBIDDEN, "user_id does not match the access token");
    }
    return caller.userId();
  }

  /** The token of an HTTP request: {@code Authorization: Bearer …}, else the {@code access_token} parameter. */
  static String tokenOf(MultiMap headers, MultiMap params) {
    String authorization = headers.get("authorization");
    if (authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return authorization.substring(7).strip();
    }
    return params.get("access_token");
  }

  private static String pem(String value) {
    return value.contains("-----BEGIN") ? value : read(value, "CHAT_AUTH_JWT_PUBLIC_KEY");
  }

  private static String read(String file, String setting) {
    try {
      return Files.readString(Path.of(file.strip()));
    } catch (IOException e) {
      throw new IllegalArgumentException(setting + ": cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** RSA keys verify RS256/384/512; an EC key the ES algorithm of its curve. */
  private static List<String> algorithmsOf(String pem) {
    byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", "").strip());
    try {
      KeyFactory.getInstance("RSA").generatePublic(new X509EncodedKeySpec(der));
      return List.of("RS256", "RS384", "RS512");
    } catch (Exception notRsa) {
      try {
        ECPublicKey key = (ECPublicKey) KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(der));
        int bits = key.getParams().getCurve().getField().getFieldSize();
        return List.of(bits <= 256 ? "ES256" : bits <= 384 ? "ES384" : "ES512");
      } catch (Exception notEc) {
        throw new IllegalArgumentException("CHAT_AUTH_JWT_PUBLIC_KEY is neither an RSA nor an EC public key (PEM)");
      }
    }
  }
}
