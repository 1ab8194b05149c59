package io.streamchat.bench;

import java.util.Locale;
import org.HdrHistogram.Histogram;

/** What one run measured, and its report. */
final class BenchResult {

  final BenchOptions options;
  String machine;
  Histogram latency = new Histogram(3);
  Histogram firstToken = new Histogram(3);
  long chunks;
  int completed;
  int gaps;
  int duplicates;
  int errors;
  int connectFailures;
  double rampSeconds;
  double wallSeconds;
  double stormSeconds;
  double serverCpuPercent;
  double redisCpuPercent;
  long allocatedBytes;
  long rssBytes;
  long heapBeforeBytes;
  long heapAfterBytes;
  long openConnections;
  int slowReaderChunks;
  boolean slowReaderExact = true;
  /** With {@code --rounds}: whether every round before this one was clean. */
  boolean earlierRoundsClean = true;
  double slowReaderCatchUpSeconds;
  String slowReaderState;

  BenchResult(BenchOptions options) {
    this.options = options;
  }

  /** No loss, no duplicate, no error, and every session did what it came for. */
  boolean clean() {
    return earlierRoundsClean && gaps == 0 && duplicates == 0 && errors == 0 && connectFailures == 0 && slowReaderExact
        && ("idle".equals(options.mode()) ? openConnections >= options.sessions() : completed == options.sessions());
  }

  String report() {
    StringBuilder out = new StringBuilder();
    out.append(String.format(Locale.ROOT, "machine: %s%n", machine));
    out.append(String.format(Locale.ROOT, "run: mode=%s sessions=%d tokens=%d rate=%d/s nodes=%d %s "
        + "compression=%s%n", options.mode(), options.sessions(), options.tokens(), options.rate(), options.nodes(),
        options.embedded()
            ? "stack=embedded (Redis, PostgreSQL and Kafka of the node's own; the JVM's default heap)"
            : "heap=" + options.heap() + " audit=" + (options.audit() ? "on" : "off"),
        options.compression() ? "offered" : "off"));
    switch (options.mode()) {
      case "idle" -> out.append(String.format(Locale.ROOT,
          "idle: connections=%d ramp=%.1fs heap_before=%.1fMB heap_after=%.1fMB per_connection=%.1fKB "
              + "connections_per_GB_heap=%.0f rss=%.1fMB%n",
          openConnections, rampSeconds, heapBeforeBytes / 1e6, heapAfterBytes / 1e6,
          perConnection() / 1e3, 1e9 / Math.max(1, perConnection()), rssBytes / 1e6));
      case "storm" -> out.append(String.format(Locale.ROOT,
          "storm: reconnected=%d/%d in %.2fs; per-client recovery p50=%sms p99=%sms max=%sms%n",
          completed, options.sessions(), stormSeconds, Bench.ms(firstToken, 50), Bench.ms(firstToken, 99),
          Bench.ms(firstToken, 100)));
      default -> {
        out.append(String.format(Locale.ROOT,
            "delivery latency ms: p50=%s p90=%s p99=%s p99.9=%s max=%s (%d chunks)%n",
            Bench.ms(latency, 50), Bench.ms(latency, 90), Bench.ms(latency, 99), Bench.ms(latency, 99.9),
            Bench.ms(latency, 100), latency.getTotalCount()));
        out.append(String.format(Locale.ROOT, "time to first token ms: p50=%s p99=%s max=%s%n",
            Bench.ms(firstToken, 50), Bench.ms(firstToken, 99), Bench.ms(firstToken, 100)));
        out.append(String.format(Locale.ROOT,
            "throughput: %.0f chunks/s over %.1fs (ramp %.1fs); completed=%d/%d%n",
            chunks / Math.max(0.001, wallSeconds), wallSeconds, rampSeconds, completed, options.sessions()));
        out.append(String.format(Locale.ROOT,
            "server: cpu=%.0f%% of one core, cpu per delivered chunk=%.1fus, allocated per chunk=%.1fKB, peak rss=%.1fMB, "
                + "peak heap used=%.1fMB%n",
            serverCpuPercent, cpuMicrosPerChunk(), chunks == 0 ? 0 : allocatedBytes / 1e3 / chunks, rssBytes / 1e6,
            heapAfterBytes / 1e6));
        out.append(String.format(Locale.ROOT, "redis: cpu=%.0f%% of one core, cpu per delivered chunk=%.1fus%n",
            redisCpuPercent, perChunk(redisCpuPercent)));
        if (options.largeAnswerTokens() > 0) {
          out.append(String.format(Locale.ROOT, "large answer: %.1f MB %s while the others streamed, then %.1fs to its "
                  + "end: %d/%d chunks (%s) -> %s%n", options.largeAnswerTokens() * 4.0 / 1000,
              options.largeReaderStops() ? "NOT READ" : "read as it came", slowReaderCatchUpSeconds,
              slowReaderChunks, options.largeAnswerTokens(), slowReaderState, slowReaderExact ? "EXACT" : "NOT EXACT"));
        }
      }
    }
    out.append(String.format(Locale.ROOT, "correctness: gaps=%d duplicates=%d errors=%d connect_failures=%d -> %s",
        gaps, duplicates, errors, connectFailures, clean() ? "CLEAN" : "FAILED"));
    return out.toString();
  }

  /** Server CPU time (user + system, every node) per chunk delivered to a client. */
  double cpuMicrosPerChunk() {
    return perChunk(serverCpuPercent);
  }

  private double perChunk(double cpuPercent) {
    return chunks == 0 ? 0 : cpuPercent / 100.0 * wallSeconds * 1e6 / chunks;
  }

  private long perConnection() {
    return openConnections == 0 ? 0 : (heapAfterBytes - heapBeforeBytes) / openConnections;
  }
}
