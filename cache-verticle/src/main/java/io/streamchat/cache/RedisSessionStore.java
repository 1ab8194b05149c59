package io.streamchat.cache;

import io.streamchat.protocol.CacheCommand;
import io.streamchat.protocol.CacheCommand.Append;
import io.streamchat.protocol.CacheCommand.AppendOutcome;
import io.streamchat.protocol.CacheCommand.AppendResult;
import io.streamchat.protocol.CacheCommand.AuditMark;
import io.streamchat.protocol.CacheCommand.LogEvents;
import io.streamchat.protocol.CacheCommand.MarkAudited;
import io.streamchat.protocol.CacheCommand.ReadLog;
import io.streamchat.protocol.CacheCommand.Appended;
import io.streamchat.protocol.CacheCommand.Claim;
import io.streamchat.protocol.CacheCommand.Claimed;
import io.streamchat.protocol.CacheCommand.Forget;
import io.streamchat.protocol.CacheCommand.Release;
import io.streamchat.protocol.CacheCommand.Seed;
import io.streamchat.protocol.CacheCommand.StoredEvent;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisAPI;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A session's log, history and metadata in Redis. Every key of a session shares the hash tag
 * {@code {sessionId}} so that the scripts work on Redis Cluster. Layout:
 * <ul>
 *   <li>{@code chat:{id}:meta} hash: fence (the newest fencing token), claims (how many were issued), epoch,
 *       released (the last owner handed off cleanly), last_seq, user_id, stream_seq (start of the answer
 *       in progress), epochs (the epoch of each stored event: "firstSeq:epoch,…"), audited ("seq:offset": how
 *       far the audit log holds the events), audit_exact (nothing beyond it is in the audit log)</li>
 *   <li>{@code chat:{id}:log} stream: one entry per event, entry id {@code <seq>-0}</li>
 *   <li>{@code chat:{id}:messages} hash: message id to the message JSON of the history</li>
 *   <li>{@code chat:{id}:order} list: message ids in order</li>
 * </ul>
 * and the cluster-wide limits on callers: {@code chat:limit:…} sorted sets of held places (scored by
 * when each lapses) and fixed-window counters, each limit one key.
 */
final class RedisSessionStore {

  static final String FENCED = "fenced";

  /**
   * Requests pipelined on one connection at most: the Redis client gives every connection a queue
   * of this many reply handlers, allocated whole when the connection opens. The appends of a batch
   * (one request per session) fit in one.
   */
  static final int MAX_PIPELINED = 4096;

  /** A session's keys, in the order the scripts take them: {@code chat:{<id>}:<name>}. */
  private static final List<String> KEY_NAMES = List.of("meta", "log", "messages", "order");
  private static final byte[] KEY_START = ascii("chat:{");
  private static final byte[][] KEY_SUFFIXES = KEY_NAMES.stream().map(name -> ascii("}:" + name)).toArray(byte[][]::new);
  private static final byte[] KEY_COUNT = ascii(Integer.toString(KEY_SUFFIXES.length));
  private static final byte[] EMPTY = new byte[0];
  private static final Map<String, byte[]> EVENT_TYPES = Map.of("user_message", ascii("user_message"),
      "stream_start", ascii("stream_start"), "chunk", ascii("chunk"), "complete", ascii("complete"));

  private final RedisAPI redis;
  private final Redis client;
  private final CacheConfig config;
  private final Map<String, String> scripts = Map.of(
      "claim", load("claim.lua"), "append", load("append.lua"), "release", load("release.lua"), "seed", load("seed.lua"),
      "forget", load("forget.lua"), "audited", load("audited.lua"), "hold", load("hold.lua"), "renew", load("renew.lua"), "count", load("count.lua"),
      "uncount", load("uncount.lua"));
  private final Map<String, String> shas = scripts.entrySet().stream()
      .collect(java.util.stream.Collectors.toUnmodifiableMap(Map.Entry::getKey, script -> sha1(script.getValue())));

  private final byte[] appendSha;
  /** The history's time to live, the log's length and the number of messages kept, as the append script takes them. */
  private final byte[][] appendLimits;

  RedisSessionStore(Redis client, CacheConfig config) {
    this.client = client;
    this.redis = RedisAPI.api(client);
    this.config = config;
    this.appendSha = ascii(shas.get("append"));
    this.appendLimits = new byte[][] {ascii(Long.toString(config.historyTtlSeconds())),
        ascii(Integer.toString(config.logMaxEvents())), ascii(Integer.toString(config.maxMessages()))};
  }

  static List<String> keys(String sessionId) {
    String prefix = "chat:{" + sessionId + "}:";
    return KEY_NAMES.stream().map(prefix::concat).toList();
  }

  Future<Claimed> claim(Claim claim) {
    List<String> args = List.of(claim.proposedEpoch(), Long.toString(config.historyTtlSeconds()),
        Integer.toString(claim.replayEvents()), Integer.toString(Math.max(1, claim.maxMessages())));
    return eval("claim", keys(claim.sessionId()), args).map(RedisSessionStore::toClaimed);
  }

  /** One append: its stored last seq, or a failure {@link #FENCED}. */
  Future<Long> append(Append append) {
    return appendAll(List.of(append)).compose(appended -> {
      AppendResult result = appended.results().get(0);
      return result.outcome() == AppendOutcome.FENCED ? Future.failedFuture(FENCED) : Future.succeededFuture(result.storedSeq());
    });
  }

  /** Appends of many sessions, pipelined in one write to Redis; each is atomic and fenced on its own. */
  Future<Appended> appendAll(List<Append> appends) {
    List<Request> requests = new ArrayList<>(appends.size());
    for (Append append : appends) {
      requests.add(appendRequest(append));
    }
    return batchWithScripts(requests).map(responses -> {
      List<AppendResult> results = new ArrayList<>(responses.size());
      for (Response response : responses) {
        long stored = response.toLong();
        results.add(stored < 0 ? new AppendResult(AppendOutcome.FENCED, -1) : new AppendResult(AppendOutcome.STORED, stored));
      }
      return new Appended(results);
    });
  }

  /**
   * An append is sent for every batch of tokens: what is the same in every append is encoded once,
   * and a chunk (which changes no message) is sent without its message id.
   */
  private Request appendRequest(Append append) {
    Request request = Request.cmd(Command.EVALSHA).arg(appendSha).arg(KEY_COUNT);
    byte[] id = append.sessionId().getBytes(StandardCharsets.UTF_8);
    for (byte[] suffix : KEY_SUFFIXES) {
      request.arg(sessionKey(id, suffix));
    }
    request.arg(append.fence()).arg(appendLimits[0]).arg(appendLimits[1]).arg(appendLimits[2])
        .arg(append.userId() == null ? EMPTY : append.userId().getBytes(StandardCharsets.UTF_8));
    for (StoredEvent event : append.events()) {
      byte[] type = EVENT_TYPES.get(event.type());
      request.arg(event.seq()).arg(type != null ? type : event.type().getBytes(StandardCharsets.UTF_8)).arg(event.json());
      if (event.messageJson() == null) {
        request.arg(EMPTY).arg(EMPTY);
      } else {
        request.arg(event.messageId()).arg(event.messageJson());
      }
    }
    return request;
  }

  private static byte[] ascii(String text) {
    return text.getBytes(StandardCharsets.US_ASCII);
  }

  /** {@code chat:{<id>}:<name>}, as {@link #keys} names it, as bytes. */
  private static byte[] sessionKey(byte[] id, byte[] suffix) {
    byte[] key = new byte[KEY_START.length + id.length + suffix.length];
    System.arraycopy(KEY_START, 0, key, 0, KEY_START.length);
    System.arraycopy(id, 0, key, KEY_START.length, id.length);
    System.arraycopy(suffix, 0, key, KEY_START.length + id.length, suffix.length);
    return key;
  }

  /** A pipelined batch; when Redis has lost the scripts (a restart, a failover), they are loaded and the batch sent again. */
  private Future<List<Response>> batchWithScripts(List<Request> requests) {
    return pipelined(requests)
        .recover(failure -> {
          if (failure.getMessage() == null || !failure.getMessage().contains("NOSCRIPT")) {
            return Future.failedFuture(failure);
          }
          return Future.all(scripts.values().stream().map(script -> redis.script(List.of("LOAD", script))).toList())
              .compose(loaded -> pipelined(requests));
        })
        .timeout(config.timeoutMs(), TimeUnit.MILLISECONDS);
  }

  /**
   * The requests pipelined, at most {@link #MAX_PIPELINED} on one connection (each connection of
   * the pool has room for that many replies), the replies in the order of the requests. The parts
   * of a larger batch go one after another, so that it takes one connection of the pool at a time.
   */
  private Future<List<Response>> pipelined(List<Request> requests) {
    if (requests.size() <= MAX_PIPELINED) {
      return client.batch(requests);
    }
    List<Response> responses = new ArrayList<>(requests.size());
    Future<Void> sent = Future.succeededFuture();
    for (int from = 0; from < requests.size(); from += MAX_PIPELINED) {
      List<Request> part = requests.subList(from, Math.min(requests.size(), from + MAX_PIPELINED));
      sent = sent.compose(v -> client.batch(part)).map(replies -> {
        responses.addAll(replies);
        return null;
      });
    }
    return sent.map(v -> responses);
  }

  /** Fills the history of a session Redis had forgotten with its messages from the durable tier. */
  Future<Void> seed(Seed seed) {
    List<String> args = new ArrayList<>(List.of(Long.toString(seed.fence()), Long.toString(config.historyTtlSeconds()),
        seed.userId() == null ? "" : seed.userId()));
    for (int i = 0; i < seed.messageIds().size(); i++) {
      args.add(seed.messageIds().get(i));
      args.add(seed.messages().get(i));
    }
    return eval("seed", keys(seed.sessionId()), args).mapEmpty();
  }

  /** Forgets a deleted conversation: its log and history go; its fencing token only grows. */
  Future<Void> forget(Forget forget) {
    return eval("forget", keys(forget.sessionId()), List.of(Long.toString(forget.fence()))).mapEmpty();
  }

  /** Writes down how far the session's events are in the audit log. */
  Future<Void> markAudited(MarkAudited mark) {
    AuditMark audit = mark.mark();
    return eval("audited", keys(mark.sessionId()).subList(0, 1), List.of(Long.toString(mark.fence()),
        Long.toString(audit.seq()), Long.toString(audit.offset()), audit.exact() ? "1" : "0")).mapEmpty();
  }

  /**
   * Stored events after a seq, oldest first; those that change a message (a question, an answer's
   * end) with that message as the history holds it.
   */
  Future<LogEvents> readLog(ReadLog read) {
    List<String> keys = keys(read.sessionId());
    return redis.xrange(List.of(keys.get(1), "(" + read.afterSeq() + "-0", "+", "COUNT",
            Integer.toString(Math.max(1, read.max()))))
        .timeout(config.timeoutMs(), TimeUnit.MILLISECONDS)
        .compose(entries -> {
          List<StoredEvent> events = entries == null ? List.of() : events(entries);
          List<String> ids = new ArrayList<>();
          for (StoredEvent event : events) {
            if (changesMessage(event)) {
              ids.add(new JsonObject(event.json()).getString("message_id"));
            }
          }
          if (ids.isEmpty()) {
            return Future.succeededFuture(new LogEvents(events));
          }
          List<String> args = new ArrayList<>(ids.size() + 1);
          args.add(keys.get(2));
          args.addAll(ids);
          return redis.hmget(args).timeout(config.timeoutMs(), TimeUnit.MILLISECONDS).map(messages -> {
            List<StoredEvent> withMessages = new ArrayList<>(events.size());
            int next = 0;
            for (StoredEvent event : events) {
              if (changesMessage(event)) {
                Response message = messages.get(next);
                withMessages.add(new StoredEvent(event.seq(), event.type(), event.json(), ids.get(next),
                    message == null ? null : message.toString()));
                next++;
              } else {
                withMessages.add(event);
              }
            }
            return new LogEvents(withMessages);
          });
        });
  }

  private static boolean changesMessage(StoredEvent event) {
    return "user_message".equals(event.type()) || "stream_start".equals(event.type())
        || "complete".equals(event.type());
  }

  // ---- limits on callers, shared by the cluster ----

  /** Takes every place or none: the index of the first refused, or -1. */
  Future<Integer> hold(List<CacheCommand.Place> places) {
    return batchWithScripts(places.stream().map(this::holdRequest).toList())
        .compose(responses -> {
          for (int i = 0; i < responses.size(); i++) {
            if (responses.get(i).toInteger() == 0) {
              int refused = i;
              List<CacheCommand.Place> taken = new ArrayList<>(places);
              taken.remove(refused);
              return vacate(taken).map(refused);
            }
          }
          return Future.succeededFuture(-1);
        });
  }

  /** Extends the places still held; a place given up meanwhile stays given up. The number renewed. */
  Future<Integer> renew(List<CacheCommand.Place> places) {
    return batchWithScripts(places.stream().map(place -> Request.cmd(Command.EVALSHA).arg(shas.get("renew")).arg(1)
            .arg(place.key()).arg(place.holderId()).arg(place.leaseMs())).toList())
        .map(responses -> (int) responses.stream().filter(response -> response.toInteger() == 1).count());
  }

  Future<Void> vacate(List<CacheCommand.Place> places) {
    if (places.isEmpty()) {
      return Future.succeededFuture();
    }
    return pipelined(places.stream().map(place -> Request.cmd(Command.ZREM).arg(place.key()).arg(place.holderId()))
            .toList())
        .timeout(config.timeoutMs(), TimeUnit.MILLISECONDS).mapEmpty();
  }

  /** 0 when counted within the limit, else the milliseconds until the window ends. */
  Future<Long> count(CacheCommand.Count count) {
    return eval("count", List.of(count.key()), List.of(Integer.toString(count.limit()), Long.toString(count.windowMs())))
        .map(Response::toLong);
  }

  Future<Void> uncount(CacheCommand.Uncount uncount) {
    return eval("uncount", List.of(uncount.key()), List.of()).mapEmpty();
  }

  private Request holdRequest(CacheCommand.Place place) {
    return Request.cmd(Command.EVALSHA).arg(shas.get("hold")).arg(1).arg(place.key())
        .arg(place.holderId()).arg(place.limit()).arg(place.leaseMs());
  }

  Future<Boolean> ping() {
    return redis.ping(List.of()).timeout(config.timeoutMs(), TimeUnit.MILLISECONDS).map(true);
  }

  Future<Boolean> holds(String sessionId) {
    return redis.hexists(keys(sessionId).get(0), "epoch").timeout(config.timeoutMs(), TimeUnit.MILLISECONDS)
        .map(Response::toBoolean);
  }

  Future<Void> release(Release release) {
    return eval("release", keys(release.sessionId()).subList(0, 1), List.of(Long.toString(release.fence())))
        .mapEmpty();
  }

  Future<Void> checkFence(String sessionId, long fence) {
    return redis.hget(keys(sessionId).get(0), "fence").timeout(config.timeoutMs(), TimeUnit.MILLISECONDS)
        .compose(current -> current != null && current.toLong() == fence
            ? Future.<Void>succeededFuture()
            : Future.failedFuture(FENCED));
  }

  static boolean isFenced(Throwable failure) {
    return failure.getMessage() != null && failure.getMessage().contains(FENCED);
  }

  /** Runs a script by its SHA-1; only when Redis does not know it yet (restart, failover) is its text sent. */
  private Future<Response> eval(String name, List<String> keys, List<String> args) {
    List<String> call = new ArrayList<>(2 + keys.size() + args.size());
    call.add(shas.get(name));
    call.add(Integer.toString(keys.size()));
    call.addAll(keys);
    call.addAll(args);
    return redis.evalsha(call)
        .recover(failure -> {
          if (failure.getMessage() == null || !failure.getMessage().startsWith("NOSCRIPT")) {
            return Future.failedFuture(failure);
          }
          List<String> withText = new ArrayList<>(call);
          withText.set(0, scripts.get(name));
          return redis.eval(withText);
        })
        .timeout(config.timeoutMs(), TimeUnit.MILLISECONDS);
  }

  private static String sha1(String script) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Claimed toClaimed(Response r) {
    List<String> messages = new ArrayList<>();
    for (Response message : r.get(5)) {
      if (message != null) {
        messages.add(message.toString());
      }
    }
    List<StoredEvent> recent = events(r.get(6));
    Collections.reverse(recent);
    String[] audited = r.get(9).toString().split(":");
    AuditMark audit = new AuditMark(Long.parseLong(audited[0]), Long.parseLong(audited[1]),
        "1".equals(r.get(10).toString()));
    return new Claimed(Long.parseLong(r.get(0).toString()), r.get(1).toString(), r.get(2).toInteger() == 1,
        Long.parseLong(r.get(3).toString()), r.get(4).toString(), messages, recent, events(r.get(7)),
        r.get(8).toString(), audit, Long.parseLong(r.get(11).toString()));
  }

  private static List<StoredEvent> events(Response entries) {
    List<StoredEvent> events = new ArrayList<>(entries.size());
    for (Response entry : entries) {
      String id = entry.get(0).toString();
      long seq = Long.parseLong(id.substring(0, id.indexOf('-')));
      Response fields = entry.get(1);
      String type = null;
      String json = null;
      for (int i = 0; i + 1 < fields.size(); i += 2) {
        switch (fields.get(i).toString()) {
          case "type" -> type = fields.get(i + 1).toString();
          case "event" -> json = fields.get(i + 1).toString();
          default -> { }
        }
      }
      events.add(new StoredEvent(seq, type, json, null, null));
    }
    return events;
  }

  private static String load(String resource) {
    try (InputStream in = RedisSessionStore.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("missing script " + resource);
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
