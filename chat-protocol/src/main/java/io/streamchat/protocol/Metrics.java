package io.streamchat.protocol;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.shareddata.LocalMap;
import io.vertx.core.shareddata.Shareable;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * The node's meters, in one Micrometer registry that Vert.x's own metrics share, every series
 * labelled with the node's id; the gateway serves them in the Prometheus text format.
 *
 * <p>Names are given as Prometheus will show them: a counter's {@code _total} and a timer's
 * {@code _seconds} are the registry's to add.
 */
public final class Metrics implements Shareable {

  private static final String SHARED_KEY = "node";
  private static final Duration[] LATENCY_BUCKETS = {
      Duration.ofNanos(250_000), Duration.ofNanos(500_000), Duration.ofMillis(1), Duration.ofMillis(2),
      Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25), Duration.ofMillis(50),
      Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1),
      Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10), Duration.ofSeconds(30)};

  private final PrometheusMeterRegistry registry;
  /** The suppliers of a gauge or function counter, one per verticle instance that registered it: it shows their sum. */
  private final Map<Meter.Id, List<LongSupplier>> gaugeParts = new ConcurrentHashMap<>();

  private final Counter eventBusTimeouts;

  public Metrics(String nodeId) {
    registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().commonTags("node", nodeId);
    eventBusTimeouts = counter("chat_eventbus_timeouts_total",
        "Event-bus requests between the node's verticles and the cluster's that got no reply in time");
  }

  /** Counts a failed event-bus request when it failed for want of a reply in time. */
  public void requestFailed(Throwable failure) {
    if (failure instanceof ReplyException reply && reply.failureType() == ReplyFailure.TIMEOUT) {
      eventBusTimeouts.increment();
    }
  }

  /** Makes {@code metrics} the node's registry; call before any verticle is deployed. */
  public static void install(Vertx vertx, Metrics metrics) {
    LocalMap<String, Metrics> map = vertx.sharedData().getLocalMap("streamchat.metrics");
    if (map.putIfAbsent(SHARED_KEY, metrics) != null) {
      throw new IllegalStateException("this Vert.x instance has its metrics already");
    }
  }

  /** The node's registry; one is made (labelled {@code local}) where no launcher installed one. */
  public static Metrics of(Vertx vertx) {
    LocalMap<String, Metrics> map = vertx.sharedData().getLocalMap("streamchat.metrics");
    Metrics existing = map.get(SHARED_KEY);
    if (existing != null) {
      return existing;
    }
    Metrics fresh = new Metrics("local");
    existing = map.putIfAbsent(SHARED_KEY, fresh);
    return existing == null ? fresh : existing;
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** A counter; {@code tags} are label name and value pairs. */
  public Counter counter(String name, String help, String... tags) {
    return Counter.builder(withoutTotal(name)).description(help).tags(tags).register(registry);
  }

  /** Callers refused {@code rate_limited} by a cluster-wide caller limit (the gateway's and the owner's). */
  public Counter limitRefusals() {
    return counter("chat_limit_refusals_total", "Connections and messages refused rate_limited by a caller limit");
  }

  /** Cluster-wide caller limits let through because Redis could not be asked. */
  public Counter limitsUnchecked() {
    return counter("chat_limit_unchecked_total", "Caller limits let through because Redis could not be asked");
  }

  /** The stores the node writes to, as the {@code store} label names them. */
  public enum Store {
    REDIS, POSTGRES, KAFKA;

    String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** Write requests (batches) to {@code store} that succeeded or failed (failed ones are retried). */
  public Counter storeWrites(Store store, boolean succeeded) {
    return counter("chat_store_writes_total", "Write requests to Redis, PostgreSQL and Kafka, by outcome",
        "store", store.label(), "outcome", succeeded ? "ok" : "failed");
  }

  /** A gauge summed over every supplier registered under its name and labels (one per verticle instance). */
  public void gauge(String name, String help, LongSupplier value, String... tags) {
    summed(new Meter.Id(name, Tags.of(tags), null, help, Meter.Type.GAUGE), value, parts ->
        Gauge.builder(name, parts, Metrics::sum).description(help).tags(tags).register(registry));
  }

  /**
   * A counter kept by its owners (one per verticle instance, each on its own thread) and read at
   * scrape time: on a path taken for every event, no atomic operation.
   */
  public void functionCounter(String name, String help, LongSupplier value) {
    String base = withoutTotal(name);
    summed(new Meter.Id(base, Tags.empty(), null, help, Meter.Type.COUNTER), value, parts ->
        FunctionCounter.builder(base, parts, Metrics::sum).description(help).register(registry));
  }

  /** Adds {@code value} to the suppliers of meter {@code id}, registering it with {@code register} the first time. */
  private void summed(Meter.Id id, LongSupplier value, Consumer<List<LongSupplier>> register) {
    gaugeParts.computeIfAbsent(id, key -> {
      List<LongSupplier> parts = new CopyOnWriteArrayList<>();
      register.accept(parts);
      return parts;
    }).add(value);
  }

  private static double sum(List<LongSupplier> parts) {
    return parts.stream().mapToLong(LongSupplier::getAsLong).sum();
  }

  /** Micrometer names a counter without {@code _total}; the Prometheus registry adds it. */
  private static String withoutTotal(String name) {
    return name.endsWith("_total") ? name.substring(0, name.length() - "_total".length()) : name;
  }

  /** A latency histogram, in seconds, with buckets from 250 µs to 30 s. */
  public Timer latency(String name, String help, String... tags) {
    return Timer.builder(name).description(help).tags(tags).serviceLevelObjectives(LATENCY_BUCKETS)
        .register(registry);
  }

  /** The sum of every series of a counter or gauge (named as in Prometheus), or 0 when there is none. */
  public long value(String name) {
    double sum = 0;
    for (Meter meter : registry.find(withoutTotal(name)).meters()) {
      if (meter instanceof Counter counter) {
        sum += counter.count();
      } else if (meter instanceof FunctionCounter counter) {
        sum += counter.count();
      } else if (meter instanceof Gauge gauge) {
        sum += gauge.value();
      }
    }
    return (long) sum;
  }

  /** Every series, in the Prometheus text format (version 0.0.4). */
  public String scrape() {
    return registry.scrape();
  }
}
