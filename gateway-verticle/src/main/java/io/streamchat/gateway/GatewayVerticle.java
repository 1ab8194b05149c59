package io.streamchat.gateway;

import io.streamchat.protocol.Addresses;
import io.streamchat.protocol.AuditSettings;
import io.streamchat.protocol.CacheCommand;
import io.streamchat.protocol.ChatException;
import io.streamchat.protocol.Codecs;
import io.streamchat.protocol.ConfigSource;
import io.streamchat.protocol.ErrorCode;
import io.streamchat.protocol.FrameBatch;
import io.streamchat.protocol.Identifiers;
import io.streamchat.protocol.Membership;
import io.streamchat.protocol.Metrics;
import io.streamchat.client.SessionClient;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.MultiMap;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.HostAndPort;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PfxOptions;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CorsHandler;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.UUID;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.BiFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP server of a node: the WebSocket endpoint, the HTTP API, the browser page, health and
 * metrics. Each socket is served by the verticle instance that accepted it and written only from
 * its context; frames for it arrive at this instance's own address.
 */
public final class GatewayVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(GatewayVerticle.class);

  private final Map<String, ClientConnection> connections = new HashMap<>();
  /** Open connections by transport, read by the metrics scrape on another thread. */
  private final Map<ClientTransport.Kind, AtomicInteger> openConnections = new EnumMap<>(ClientTransport.Kind.class);
  private ConnectionMeters connectionMeters;
  private static final String CALLER = "caller";

  private GatewaySettings settings;
  private AccessTokens tokens;
  private Origins origins;
  private CallerLimits limits;
  private HealthChecks health;
  private java.util.concurrent.atomic.AtomicInteger nodeSockets;
  private SessionClient sessions;
  private ChatApi api;
  private Metrics metrics;
  private String address;
  private HttpServer server;
  private volatile boolean ready;

  @Override
  public Future<?> start() {
    Codecs.register(vertx);
    settings = GatewaySettings.from(ConfigSource.of(config()));
    AuthSettings auth = AuthSettings.from(ConfigSource.of(config()));
    tokens = AccessTokens.create(vertx, auth);
    origins = new Origins(auth.allowedOrigins(), auth.enabled());
    sessions = new SessionClient(vertx, settings.requestTimeoutMs());
    metrics = Metrics.of(vertx);
    limits = new CallerLimits(vertx, settings, metrics.limitRefusals(), metrics.limitsUnchecked());
    nodeSockets = NodeSockets.of(vertx);
    boolean durable = !"none".equalsIgnoreCase(config().getString("CHAT_DB_URL", "none").strip());
    api = new ChatApi(vertx, sessions, settings.requestTimeoutMs(), durable);
    health = new HealthChecks(vertx, durable, AuditSettings.from(ConfigSource.of(config())).enabled());
    for (ClientTransport.Kind kind : ClientTransport.Kind.values()) {
      AtomicInteger open = new AtomicInteger();
      openConnections.put(kind, open);
      metrics.gauge("chat_connections", "Open client connections, by transport", open::get, "transport", kind.label());
    }
    connectionMeters = new ConnectionMeters(metrics.latency("chat_chunk_delivery",
        "From a token given by the AI provider to its chunk written to a client connection (live delivery)"),
        metrics.counter("chat_connection_writes_off_event_loop_total",
            "Frames written to a client connection off its event loop (always 0: socket writes are serialized)"));
    address = Addresses.gateway(settings.nodeId(), UUID.randomUUID().toString());
    MessageConsumer<FrameBatch> frames = vertx.eventBus().consumer(address, message -> {
      ClientConnection connection = connections.get(message.body().connectionId());
      if (connection != null) {
        connection.deliver(message.body());
      }
    });
    MessageConsumer<Object> chatApi = vertx.eventBus().consumer(Addresses.API, message ->
        apiRequest(message.headers(), apiBody(message.body())).onComplete(result -> {
          if (result.succeeded()) {
            message.reply(result.result());
          } else {
            message.reply(ChatException.of(result.cause()).toApiReply());
          }
        }));
    vertx.setPeriodic(settings.keepAliveMs(), id -> {
      List<CacheCommand.Place> held = new ArrayList<>();
      for (ClientConnection connection : connections.values()) {
        connection.probe();
        held.addAll(connection.places());
      }
      limits.renew(held);
    });
    MessageConsumer<String> memberLeft = vertx.eventBus().localConsumer(Addresses.MEMBER_LEFT, message -> {
      String node = message.body();
      connections.values().forEach(connection -> connection.ownerLeft(node));
    });
    server = vertx.createHttpServer(withTls(new HttpServerOptions()
        .setHost(settings.host())
        .setPort(settings.port())
        // A frame over the limit is refused by the transport as soon as its header arrives, and the
        // socket closes with 1009 (ClientConnection); a fragmented message is limited there too.
        .setMaxWebSocketFrameSize(settings.maxFrameBytes())
        .setMaxWebSocketMessageSize(settings.maxFrameBytes())
        .setRegisterWebSocketWriteHandlers(false)
        .setPerMessageWebSocketCompressionSupported(settings.compression())
        .setPerFrameWebSocketCompressionSupported(false)
        .setIdleTimeout(settings.idleTimeoutSeconds()), settings.tls()));
    return Future.join(frames.completion(), chatApi.completion(), memberLeft.completion())
        .compose(v -> server.requestHandler(router()).listen().recover(failure -> Future.failedFuture(
            new IllegalStateException("cannot listen on " + hostAndPort(settings.host(), settings.port()) + ": "
                + failure, failure))))
        .onSuccess(s -> {
          ready = true;
          LOG.info("Gateway listening on port {}{}", s.actualPort(), settings.tls().enabled() ? " (HTTPS and WSS)" : "");
        });
  }

  /** {@code host:port}, an IPv6 address in brackets. */
  private static String hostAndPort(String host, int port) {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }

  private static HttpServerOptions withTls(HttpServerOptions options, GatewaySettings.Tls tls) {
    if (!tls.enabled()) {
      return options;
    }
    options.setSsl(true);
    if (tls.keystorePath() != null) {
      return options.setKeyCertOptions(new PfxOptions().setPath(tls.keystorePath()).setPassword(tls.keystorePassword()));
    }
    return options.setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certPath()).setKeyPath(tls.keyPath()));
  }

  @Override
  public Future<?> stop() {
    ready = false;
    for (ClientConnection connection : new ArrayList<>(connections.values())) {
      connection.close(ErrorReplies.SERVICE_RESTART, "server restarting; reconnect with your cursor");
    }
    return server == null ? Future.succeededFuture() : server.close();
  }

  private Router router() {
    Router router = Router.router(vertx);
    List<String> corsOrigins = origins.configured();
    if (origins.any() || !corsOrigins.isEmpty()) {
      CorsHandler cors = origins.any() ? CorsHandler.create() : CorsHandler.create().addOrigins(corsOrigins);
      cors.allowedMethods(Set.of(HttpMethod.GET, HttpMethod.POST, HttpMethod.PATCH, HttpMethod.DELETE, HttpMethod.OPTIONS))
          .allowedHeaders(Set.of("content-type", "authorization", "last-event-id"))
          .exposedHeaders(Set.of("retry-after"))
          .maxAgeSeconds(600);
      // Pages of the server itself need no CORS; the handler would refuse their origin when it is not listed.
      router.route().handler(ctx -> {
        String origin = ctx.request().getHeader("origin");
        if (origin == null || Origins.sameOrigin(origin, authorityOf(ctx.request()))) {
          ctx.next();
        } else {
          cors.handle(ctx);
        }
      });
    }
    router.get("/ws/chat").handler(this::upgrade);
    router.get("/ws/chat/v2").handler(this::upgrade);

    for (String path : new String[] {"/api/*", "/chat", "/history/*"}) {
      router.route(path).handler(this::authenticate);
    }
    BodyHandler body = BodyHandler.create(false).setBodyLimit(settings.maxBodyBytes());
    for (String path : new String[] {"/api/chat", "/chat", "/api/chat/stream"}) {
      router.post(path).handler(body).handler(ctx -> respond(ctx, 202, api::send));
    }
    router.post("/api/chat/recover").handler(body).handler(ctx -> respond(ctx, 200, api::recover));
    router.post("/api/chat/cancel").handler(body).handler(ctx -> respond(ctx, 200, api::cancel));
    router.post("/api/chat/regenerate").handler(body).handler(ctx -> respond(ctx, 202, api::regenerate));
    router.post("/api/chat/continue").handler(body).handler(ctx -> respond(ctx, 202, api::continueAnswer));
    router.get("/api/history/:session_id").handler(this::history);
    router.get("/api/chat/events").handler(this::events);
    router.get("/api/sessions").handler(ctx -> reply(ctx, 200, call(() -> api.conversations(
        userOf(ctx, null), ctx.queryParams().get("limit"), ctx.queryParams().get("before")))));
    router.patch("/api/sessions/:session_id").handler(body)
        .handler(ctx -> respond(ctx, 200, (user, json) -> api.rename(user, ctx.pathParam("session_id"), json)));
    router.delete("/api/sessions/:session_id").handler(ctx -> call(() -> api.delete(userOf(ctx, null),
            ctx.pathParam("session_id")))
        .onSuccess(v -> ctx.response().setStatusCode(204).end())
        .onFailure(failure -> sendError(ctx, ChatException.of(failure))));
    router.get("/history/:session_id").handler(this::history);

    router.get("/health/live").handler(ctx -> ctx.response().putHeader("content-type", "application/json")
        .end(new JsonObject().put("status", HealthChecks.UP).put("node_id", settings.nodeId())
            .put("checks", new JsonObject().put("process", HealthChecks.UP)).encode()));
    router.get("/health/ready").handler(this::health);
    router.get("/health").handler(this::health);
    router.get("/metrics").handler(ctx -> ctx.response()
        .putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8")
        .end(metrics.scrape()));
    WebApp.mount(router);

    router.errorHandler(413, ctx -> sendError(ctx, new ChatException(ErrorCode.TOO_LARGE, "request body over the limit")));
    router.errorHandler(403, ctx -> sendError(ctx, new ChatException(ErrorCode.FORBIDDEN, "this origin may not call this API")));
    router.errorHandler(404, ctx -> sendError(ctx, new ChatException(ErrorCode.NOT_FOUND, "no such resource")));
    router.errorHandler(405, ctx -> sendError(ctx, new ChatException(ErrorCode.NOT_FOUND, "method not allowed here")));
    router.errorHandler(500, ctx -> {
      LOG.error("HTTP {} {} failed", ctx.request().method(), ctx.request().path(), ctx.failure());
      sendError(ctx, new ChatException(ErrorCode.INTERNAL));
    });
    return router;
  }

  // ---- WebSocket ----

  private void upgrade(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    if (!isWebSocketUpgrade(request)) {
      refuse(ctx, ErrorCode.BAD_REQUEST, "this path opens a WebSocket: send Connection: Upgrade and Upgrade: websocket");
      return;
    }
    String sessionId = sessionIdOf(ctx);
    if (sessionId == null) {
      return;
    }
    String userId = request.getParam("user_id");
    if (userId != null && !Identifiers.isUserId(userId)) {
      refuse(ctx, ErrorCode.BAD_REQUEST, "user_id must be letters, digits and _.@:- (at most 128)");
      return;
    }
    String lastSeqParam = request.getParam("last_seq");
    Long lastSeq = null;
    if (lastSeqParam != null) {
      try {
        // Digits only: Long.parseLong would take a leading '+'.
        lastSeq = lastSeqParam.chars().allMatch(c -> c >= '0' && c <= '9') ? Long.parseLong(lastSeqParam) : -1L;
      } catch (NumberFormatException e) {
        lastSeq = -1L;
      }
      if (lastSeq < 0) {
        refuse(ctx, ErrorCode.BAD_REQUEST, "last_seq must be a non-negative integer");
        return;
      }
    }
    String epoch = request.getParam("epoch");
    if (!ready) {
      refuse(ctx, ErrorCode.UNAVAILABLE, "not ready");
      return;
    }
    if (!origins.allows(request.getHeader("origin"), authorityOf(request))) {
      refuse(ctx, ErrorCode.FORBIDDEN, "this origin may not open sockets here");
      return;
    }
    // The upgrade happens after asynchronous checks: the request must not be read on meanwhile.
    request.pause();
    boolean cursor = lastSeq != null && epoch != null && !epoch.isEmpty();
    Long cursorSeq = cursor ? lastSeq : null;
    String cursorEpoch = cursor ? epoch : null;
    String id = UUID.randomUUID().toString();
    tokens.verify(AccessTokens.tokenOf(request.headers(), request.params()))
        .compose(caller -> admit(id, sessionId, caller, tokens.userFor(caller, userId), clientAddressOf(request)))
        .onFailure(failure -> sendError(ctx, ChatException.of(failure)))
        .onSuccess(admitted -> request.toWebSocket().onSuccess(socket -> {
          ClientConnection connection = connect(id, sessionId, admitted,
              new WebSocketTransport(vertx, socket, request.connection()));
          socket.frameHandler(connection::onFrame);
          socket.exceptionHandler(connection::onSocketError);
          connection.open(cursorSeq, cursorEpoch);
        }).onFailure(e -> {
          admitted.release().run();
          LOG.debug("WebSocket upgrade failed: {}", e.toString());
        }));
  }

  private static boolean isWebSocketUpgrade(HttpServerRequest request) {
    String connection = request.getHeader("connection");
    return "websocket".equalsIgnoreCase(request.getHeader("upgrade")) && connection != null
        && connection.toLowerCase(Locale.ROOT).contains("upgrade");
  }

  /**
   * {@code GET /api/chat/events}: the session's events as Server-Sent Events. {@code Last-Event-ID}
   * (or the {@code last_event_id} parameter, for a first connection that has a cursor) resumes.
   */
  private void events(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    String sessionId = sessionIdOf(ctx);
    if (sessionId == null) {
      return;
    }
    if (!ready) {
      refuse(ctx, ErrorCode.UNAVAILABLE, "not ready");
      return;
    }
    String lastEventId = request.getHeader("last-event-id");
    if (lastEventId == null) {
      lastEventId = request.getParam("last_event_id");
    }
    EventCursor cursor = EventCursor.parse(lastEventId);
    String user;
    try {
      user = userOf(ctx, null);
    } catch (ChatException e) {
      sendError(ctx, e);
      return;
    }
    String id = UUID.randomUUID().toString();
    AccessTokens.Caller caller = ctx.get(CALLER);
    admit(id, sessionId, caller, user, clientAddressOf(request))
        .onFailure(failure -> sendError(ctx, ChatException.of(failure)))
        .onSuccess(admitted -> {
          if (ctx.response().closed()) {
            admitted.release().run();
            return;
          }
          ClientConnection connection = connect(id, sessionId, admitted,
              new EventStreamTransport(vertx, ctx.request()));
          connection.open(cursor == null ? null : cursor.seq(), cursor == null ? null : cursor.epoch());
        });
  }

  /** The {@code session_id} parameter of a connection; null when it is not one (and the request was refused 400). */
  private static String sessionIdOf(RoutingContext ctx) {
    String sessionId = ctx.request().getParam("session_id");
    if (!Identifiers.isSessionId(sessionId)) {
      refuse(ctx, ErrorCode.BAD_REQUEST, "session_id must match [A-Za-z0-9_-]{1,64}");
      return null;
    }
    return sessionId;
  }

  /** A connection that passed every check: who it is, and the places it holds among the caller limits. */
  private record Admitted(AccessTokens.Caller caller, List<CacheCommand.Place> places, Runnable release) {
  }

  /** The checks every connection passes before it opens: the session's user, the node's room, the caller limits. */
  private Future<Admitted> admit(String connectionId, String sessionId, AccessTokens.Caller token, String user,
                                 String clientAddress) {
    AccessTokens.Caller caller = new AccessTokens.Caller(user, token.expiresAtMs());
    return api.authorize(user, sessionId).compose(v -> {
      if (nodeSockets.incrementAndGet() > settings.maxConnectionsPerNode()) {
        nodeSockets.decrementAndGet();
        return Future.failedFuture(new ChatException(ErrorCode.UNAVAILABLE,
            "this node holds " + settings.maxConnectionsPerNode() + " connections; try another node"));
      }
      List<CacheCommand.Place> places = limits.placesOf(connectionId, user, clientAddress);
      Runnable release = () -> {
        nodeSockets.decrementAndGet();
        limits.vacate(places);
      };
      return limits.hold(places).map(held -> new Admitted(caller, places, release))
          .onFailure(refused -> nodeSockets.decrementAndGet());
    });
  }

  private ClientConnection connect(String id, String sessionId, Admitted admitted, ClientTransport transport) {
    AtomicInteger open = openConnections.get(transport.kind());
    open.incrementAndGet();
    ClientConnection connection = new ClientConnection(id, sessionId, admitted.caller(), transport, settings,
        sessions, address, tokens, vertx, connectionMeters, () -> {
          connections.remove(id);
          open.decrementAndGet();
          admitted.release().run();
        });
    connection.places(admitted.places());
    connections.put(id, connection);
    return connection;
  }

  /**
   * The client's address: the connection's peer, or behind a trusted proxy the last address of
   * {@code X-Forwarded-For}, the one that proxy appended (the ones before it the client may forge).
   */
  private String clientAddressOf(HttpServerRequest request) {
    if (settings.trustForwardedFor()) {
      String forwarded = request.getHeader("x-forwarded-for");
      if (forwarded != null && !forwarded.isBlank()) {
        String[] hops = forwarded.split(",");
        return hops[hops.length - 1].strip();
      }
    }
    return request.remoteAddress() == null ? null : request.remoteAddress().hostAddress();
  }

  private static void refuse(RoutingContext ctx, ErrorCode code, String message) {
    sendError(ctx, new ChatException(code, message));
  }

  // ---- HTTP API ----

  /** Checks the caller of an HTTP API request: its origin and its token ({@code 401}/{@code 403} otherwise). */
  private void authenticate(RoutingContext ctx) {
    if (!origins.allows(ctx.request().getHeader("origin"), authorityOf(ctx.request()))) {
      refuse(ctx, ErrorCode.FORBIDDEN, "this origin may not call this API");
      return;
    }
    tokens.verify(AccessTokens.tokenOf(ctx.request().headers(), ctx.queryParams()))
        .onSuccess(caller -> {
          ctx.put(CALLER, caller);
          ctx.next();
        })
        .onFailure(failure -> sendError(ctx, ChatException.of(failure)));
  }

  /** The {@code host[:port]} a request was sent to. */
  private static String authorityOf(HttpServerRequest request) {
    HostAndPort authority = request.authority();
    if (authority == null) {
      return null;
    }
    return authority.port() < 0 ? authority.host() : authority.host() + ":" + authority.port();
  }

  /** The user an HTTP request acts for: the token's subject, or with authentication off the {@code user_id} given. */
  private String userOf(RoutingContext ctx, JsonObject body) {
    Object requested = body == null ? null : body.getValue("user_id");
    if (requested != null && !(requested instanceof String)) {
      throw ChatApi.badRequest("user_id must be a string");
    }
    String user = requested != null ? (String) requested : ctx.queryParams().get("user_id");
    return tokens.userFor(ctx.get(CALLER), user);
  }

  /** A {@code chat.api} request as a JSON object, whether it came as one, as its text or as its bytes; else null. */
  private static JsonObject apiBody(Object body) {
    try {
      if (body instanceof JsonObject json) {
        return json;
      } else if (body instanceof String text) {
        return new JsonObject(text);
      } else if (body instanceof Buffer bytes) {
        return new JsonObject(bytes);
      }
    } catch (DecodeException notAnObject) {
      // A 400 below.
    }
    return null;
  }

  /** A {@code chat.api} request: its token in the {@code authorization} header or an {@code access_token} field. */
  private Future<JsonObject> apiRequest(MultiMap headers, JsonObject body) {
    if (body == null) {
      return Future.failedFuture(ChatApi.badRequest("the request must be a JSON object"));
    }
    String token = AccessTokens.tokenOf(headers, MultiMap.caseInsensitiveMultiMap());
    if (token == null && body.getValue("access_token") instanceof String field) {
      token = field;
    }
    return tokens.verify(token).compose(caller -> {
      Object requested = body.getValue("user_id");
      if (requested != null && !(requested instanceof String)) {
        throw ChatApi.badRequest("user_id must be a string");
      }
      return api.handle(tokens.userFor(caller, (String) requested), body);
    });
  }

  private void respond(RoutingContext ctx, int status, BiFunction<String, JsonObject, Future<JsonObject>> call) {
    JsonObject body;
    try {
      body = ctx.body().asJsonObject();
    } catch (DecodeException | ClassCastException e) {
      sendError(ctx, ChatApi.badRequest("the body must be a JSON object"));
      return;
    }
    if (body == null) {
      sendError(ctx, ChatApi.badRequest("the body must be a JSON object"));
      return;
    }
    Future<JsonObject> result;
    try {
      result = call.apply(userOf(ctx, body), body);
    } catch (ChatException e) {
      result = Future.failedFuture(e);
    }
    reply(ctx, status, result);
  }

  /** A call whose checks may throw before it returns a future: the failure becomes the future's. */
  private static <T> Future<T> call(java.util.function.Supplier<Future<T>> call) {
    try {
      return call.get();
    } catch (ChatException e) {
      return Future.failedFuture(e);
    }
  }

  private void history(RoutingContext ctx) {
    Future<JsonObject> result;
    try {
      result = api.history(userOf(ctx, null), ctx.pathParam("session_id"));
    } catch (ChatException e) {
      result = Future.failedFuture(e);
    }
    reply(ctx, 200, result);
  }

  private static void reply(RoutingContext ctx, int status, Future<JsonObject> result) {
    result.onSuccess(json -> ctx.response().setStatusCode(status)
            .putHeader("content-type", "application/json").end(json.encode()))
        .onFailure(failure -> {
          ChatException error = ChatException.of(failure);
          if (error.code() == ErrorCode.INTERNAL) {
            LOG.error("HTTP {} {} failed", ctx.request().method(), ctx.request().path(), failure);
          }
          sendError(ctx, error);
        });
  }

  private static void sendError(RoutingContext ctx, ChatException error) {
    ErrorReplies.send(ctx.response(), error);
  }

  /** {@code /health/ready} and {@code /health}: 200 when every dependency answers, 503 with the details otherwise. */
  private void health(RoutingContext ctx) {
    health.run(ready).onComplete(result -> {
      HealthChecks.Report report = result.result();
      JsonObject body = new JsonObject().put("status", report.up() ? "UP" : "DOWN").put("node_id", settings.nodeId())
          .put("checks", report.json())
          .put("authentication", tokens.enabled() ? "on" : "OFF: anyone may act as any user")
          .put("cluster_members", Membership.size(vertx))
          .put("connections", nodeSockets.get())
          .put("sessions_owned", metrics.value("chat_sessions_owned"));
      ctx.response().setStatusCode(report.up() ? 200 : 503).putHeader("content-type", "application/json")
          .end(body.encode());
    });
  }
}
