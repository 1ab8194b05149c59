package io.streamchat.protocol;

import io.vertx.core.Vertx;
import io.vertx.core.shareddata.LocalMap;
import io.vertx.core.shareddata.Shareable;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/** The node's counters and gauges, rendered in the Prometheus text format by the gateway. */
public final class Metrics implements Shareable {

  private record Entry(String help, String kind, LongSupplier value) {
  }

  private final Map<String, Entry> entries = new ConcurrentSkipListMap<>();
  private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();

  /** The node's registry, shared by all verticles of one Vert.x instance. */
  public static Metrics of(Vertx vertx) {
    LocalMap<String, Metrics> map = vertx.sharedData().getLocalMap("streamchat.metrics");
    Metrics fresh = new Metrics();
    Metrics existing = map.putIfAbsent("node", fresh);
    return existing == null ? fresh : existing;
  }

  public LongAdder counter(String name, String help) {
    return counters.computeIfAbsent(name, n -> {
      LongAdder adder = new LongAdder();
      entries.put(n, new Entry(help, "counter", adder::sum));
      return adder;
    });
  }

  /** A gauge summed over every supplier registered under its name (one per verticle instance). */
  public void gauge(String name, String help, LongSupplier value) {
    entries.merge(name, new Entry(help, "gauge", value),
        (old, added) -> new Entry(help, "gauge", () -> old.value().getAsLong() + added.value().getAsLong()));
  }

  /** The current value of a metric, or 0 when it is not registered. */
  public long value(String name) {
    Entry entry = entries.get(name);
    return entry == null ? 0 : entry.value().getAsLong();
  }

  public String scrape() {
    StringBuilder out = new StringBuilder();
    entries.forEach((name, entry) -> out.append("# HELP ").append(name).append(' ').append(entry.help()).append('\n')
        .append("# TYPE ").append(name).append(' ').append(entry.kind()).append('\n')
        .append(name).append(' ').append(entry.value().getAsLong()).append('\n'));
    return out.toString();
  }
}
