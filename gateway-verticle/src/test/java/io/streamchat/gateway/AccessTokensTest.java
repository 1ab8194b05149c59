package io.streamchat.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.ErrorCode;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.ECGenParameterSpec;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Access tokens signed with public-key algorithms (RS256, ES256), from a PEM or a JWKS file. */
class AccessTokensTest {

  private static Vertx vertx;

  @TempDir
  Path dir;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx();
  }

  @AfterAll
  static void stop() {
    vertx.close().await();
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private static KeyPair keys(String algorithm) throws Exception {
    KeyPairGenerator generator = KeyPairGenerator.getInstance(algorithm);
    if (algorithm.equals("EC")) {
      generator.initialize(new ECGenParameterSpec("secp256r1"));
    } else {
      generator.initialize(2048);
    }
    return generator.generateKeyPair();
  }

  private static String sign(KeyPair keys, String algorithm, String kid, JsonObject claims) {
    PubSecKeyOptions key = new PubSecKeyOptions().setAlgorithm(algorithm)
        .setBuffer(pem("PRIVATE KEY", keys.getPrivate().getEncoded()));
    if (kid != null) {
      key.setId(kid);
    }
    JWTOptions options = new JWTOptions().setAlgorithm(algorithm);
    if (kid != null) {
      options.setHeader(new JsonObject().put("kid", kid));
    }
    return JWTAuth.create(vertx, new JWTAuthOptions().addPubSecKey(key)).generateToken(claims, options);
  }

  private static AccessTokens tokens(Map<String, String> settings) {
    return AccessTokens.create(vertx, AuthSettings.from(new ConfigSource(new JsonObject(), new Properties(), settings)));
  }

  private static JsonObject claims(String user) {
    return new JsonObject().put("sub", user).put("exp", Instant.now().getEpochSecond() + 600);
  }

  private static ErrorCode refusal(AccessTokens tokens, String token) {
    try {
      tokens.verify(token).await(5, TimeUnit.SECONDS);
      return null;
    } catch (ChatException e) {
      return e.code();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void rs256AndEs256TokensAreCheckedAgainstAPemPublicKey() throws Exception {
    for (String[] kind : new String[][] {{"RSA", "RS256"}, {"EC", "ES256"}}) {
      KeyPair keys = keys(kind[0]);
      AccessTokens tokens = tokens(Map.of("CHAT_AUTH_JWT_PUBLIC_KEY", pem("PUBLIC KEY", keys.getPublic().getEncoded())));
      AccessTokens.Caller caller = tokens.verify(sign(keys, kind[1], null, claims("dana"))).await(5, TimeUnit.SECONDS);
      assertThat(caller.userId()).as(kind[1]).isEqualTo("dana");
      assertThat(caller.expiresAtMs()).isGreaterThan(System.currentTimeMillis());
      assertThat(refusal(tokens, sign(keys(kind[0]), kind[1], null, claims("dana")))).as(kind[1] + " other key")
          .isEqualTo(ErrorCode.UNAUTHORIZED);
    }
  }

  @Test
  void aPemFileAndAJwksFileWork() throws Exception {
    KeyPair keys = keys("RSA");
    Path pemFile = dir.resolve("public.pem");
    Files.writeString(pemFile, pem("PUBLIC KEY", keys.getPublic().getEncoded()));
    assertThat(tokens(Map.of("CHAT_AUTH_JWT_PUBLIC_KEY", pemFile.toString()))
        .verify(sign(keys, "RS256", null, claims("erin"))).await(5, TimeUnit.SECONDS).userId()).isEqualTo("erin");

    RSAPublicKey publicKey = (RSAPublicKey) keys.getPublic();
    Base64.Encoder url = Base64.getUrlEncoder().withoutPadding();
    JsonObject jwk = new JsonObject().put("kty", "RSA").put("kid", "k1").put("alg", "RS256").put("use", "sig")
        .put("n", url.encodeToString(unsigned(publicKey.getModulus())))
        .put("e", url.encodeToString(unsigned(publicKey.getPublicExponent())));
    Path jwks = dir.resolve("jwks.json");
    Files.writeString(jwks, new JsonObject().put("keys", new JsonArray().add(jwk)).encode());
    AccessTokens tokens = tokens(Map.of("CHAT_AUTH_JWKS_FILE", jwks.toString()));
    assertThat(tokens.verify(sign(keys, "RS256", "k1", claims("fay"))).await(5, TimeUnit.SECONDS).userId())
        .isEqualTo("fay");
    assertThat(refusal(tokens, sign(keys("RSA"), "RS256", "k1", claims("fay")))).isEqualTo(ErrorCode.UNAUTHORIZED);
  }

  private static byte[] unsigned(BigInteger value) {
    byte[] bytes = value.toByteArray();
    return bytes[0] == 0 ? java.util.Arrays.copyOfRange(bytes, 1, bytes.length) : bytes;
  }

  @Test
  void issuerAndAudienceAreCheckedWhenConfigured() {
    String secret = "another-secret-long-enough-for-hs256-signing";
    AccessTokens tokens = tokens(Map.of("CHAT_AUTH_JWT_SECRET", secret, "CHAT_AUTH_JWT_ISSUER", "https://id.example",
        "CHAT_AUTH_JWT_AUDIENCE", "chat"));
    JWTAuth signer = JWTAuth.create(vertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm("HS256").setBuffer(secret)));
    String good = signer.generateToken(claims("gus").put("iss", "https://id.example").put("aud", "chat"));
    String otherIssuer = signer.generateToken(claims("gus").put("iss", "https://evil.example").put("aud", "chat"));
    String otherAudience = signer.generateToken(claims("gus").put("iss", "https://id.example").put("aud", "mail"));
    assertThat(refusal(tokens, good)).isNull();
    assertThat(refusal(tokens, otherIssuer)).isEqualTo(ErrorCode.UNAUTHORIZED);
    assertThat(refusal(tokens, otherAudience)).isEqualTo(ErrorCode.UNAUTHORIZED);
  }

  /** An HS256 token of any header and claims, as a client could make it. */
  private static String hs256(String secret, JsonObject header, JsonObject claims) throws Exception {
    Base64.Encoder base64 = Base64.getUrlEncoder().withoutPadding();
    String signed = base64.encodeToString(header.encode().getBytes(StandardCharsets.UTF_8)) + "."
        + base64.encodeToString(claims.encode().getBytes(StandardCharsets.UTF_8));
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
    return signed + "." + base64.encodeToString(mac.doFinal(signed.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void signedTokensWithClaimsOfTheWrongTypeOrUnknownCriticalExtensionsAreUnauthorized() throws Exception {
    String secret = "a-secret-long-enough-for-hs256-signing-y";
    AccessTokens tokens = tokens(Map.of("CHAT_AUTH_JWT_SECRET", secret));
    JsonObject header = new JsonObject().put("alg", "HS256").put("typ", "JWT");
    assertThat(refusal(tokens, hs256(secret, header, claims("kim")))).as("the signing is right").isNull();
    for (String claim : new String[] {"exp", "nbf", "iat"}) {
      for (Object value : new Object[] {"1796017000", "tomorrow", true, new JsonObject(), new JsonArray().add(1)}) {
        assertThat(refusal(tokens, hs256(secret, header, new JsonObject().put("sub", "kim").put(claim, value))))
            .as("%s: %s", claim, value).isEqualTo(ErrorCode.UNAUTHORIZED);
      }
    }
    assertThat(refusal(tokens, hs256(secret, header.copy().put("crit", new JsonArray().add("foo")).put("foo", 1),
        claims("kim")))).as("RFC 7515: a critical extension this server does not know").isEqualTo(ErrorCode.UNAUTHORIZED);
    AccessTokens.Caller farFuture = tokens.verify(hs256(secret, header,
        new JsonObject().put("sub", "kim").put("exp", 1_000_000_000_000L))).await(5, TimeUnit.SECONDS);
    assertThat(farFuture.expiresAtMs()).as("after the year 9999: never, as without exp").isZero();
  }

  @Test
  void theTokensUserDecidesAndAnotherUserIdIsForbidden() {
    AccessTokens on = tokens(Map.of("CHAT_AUTH_JWT_SECRET", "a-secret-long-enough-for-hs256-signing-x"));
    AccessTokens.Caller hal = new AccessTokens.Caller("hal", 0);
    assertThat(on.userFor(hal, null)).isEqualTo("hal");
    assertThat(on.userFor(hal, "hal")).isEqualTo("hal");
    assertThatThrownBy(() -> on.userFor(hal, "ivy")).isInstanceOfSatisfying(ChatException.class,
        e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
    AccessTokens off = tokens(Map.of());
    assertThat(off.enabled()).isFalse();
    assertThat(off.userFor(AccessTokens.Caller.ANONYMOUS, "ivy")).isEqualTo("ivy");
    assertThat(off.userFor(AccessTokens.Caller.ANONYMOUS, null)).isNull();
  }

  @Test
  void theSecretIsNeverPrinted() {
    AuthSettings settings = AuthSettings.from(new ConfigSource(new JsonObject(), new Properties(),
        Map.of("CHAT_AUTH_JWT_SECRET", "do-not-print-me")));
    assertThat(settings.toString()).doesNotContain("do-not-print-me");
  }

  @Test
  void originsAreTheConfiguredOnesAndTheServersOwn() {
    Origins list = new Origins(java.util.List.of("https://chat.example"), true);
    assertThat(list.allows(null, "api.example")).as("not a browser").isTrue();
    assertThat(list.allows("https://chat.example", "api.example")).isTrue();
    assertThat(list.allows("https://CHAT.example", "api.example")).isTrue();
    assertThat(list.allows("https://evil.example", "api.example")).isFalse();
    assertThat(list.allows("http://api.example:8080", "api.example:8080")).as("own origin").isTrue();
    Origins sameOnly = new Origins(java.util.List.of(), true);
    assertThat(sameOnly.allows("https://chat.example", "api.example")).isFalse();
    assertThat(new Origins(java.util.List.of(), false).allows("https://evil.example", "api.example")).isTrue();
    assertThat(new Origins(java.util.List.of("*"), true).allows("https://evil.example", "api.example")).isTrue();
  }
}
