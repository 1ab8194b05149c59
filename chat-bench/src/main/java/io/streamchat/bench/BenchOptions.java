package io.streamchat.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * What to run.
 *
 * @param mode        {@code stream} (sessions ask and receive answers), {@code idle} (connections only, memory),
 *                    {@code storm} (sessions drop and reconnect at once)
 * @param sessions    concurrent sessions, one WebSocket each
 * @param tokens      tokens per answer
 * @param rate        tokens per second per answer
 * @param rampBatch   connections opened at a time
 * @param nodes       server nodes (more than one: clustered)
 * @param heap        server -Xmx
 * @param timeoutSec  give up after this long
 * @param jfr         when set, the server records a Java Flight Recording (profile settings) to this file
 * @param warmup      sessions run (short answers) before measuring, so that the JIT has compiled the hot paths
 * @param audit       {@code on}: the nodes write the Kafka audit log to a Kafka the tool starts; {@code off} (default)
 * @param largeAnswerTokens when above 0, one more session asks for an answer of this many 4 KB tokens while the
 *                    others stream ({@code --large-answer N}: it reads it as it comes; {@code --slow-reader N}: it
 *                    stops reading until the others are done, then reads on and must catch up exactly)
 * @param largeReaderStops whether that session stops reading
 * @param rounds      streaming runs measured one after another on the same nodes (a node that has run for a
 *                    while, its JIT done, against one freshly started); each round is reported
 * @param compression {@code --compression on}: the clients offer permessage-deflate, as browsers and most WebSocket
 *                    libraries do (the server decides whether to accept it)
 * @param embedded    {@code --stack embedded}: the node is started as the README's first command starts it, with only
 *                    the provider set: its own embedded Redis, PostgreSQL and Kafka, the shipped JVM options and
 *                    the JVM's default heap ({@code --heap} and {@code --audit} do not apply); its CPU is that of
 *                    the whole process tree. {@code external} (default): the tool's Redis (and Kafka with
 *                    {@code --audit on}), no durable tier, {@code --heap} fixed and touched
 */
record BenchOptions(String mode, int sessions, int tokens, int rate, int rampBatch, int nodes, String heap,
                    int timeoutSec, String jfr, int warmup, boolean audit, int largeAnswerTokens,
                    boolean largeReaderStops, int rounds, boolean compression, boolean embedded) {

  static BenchOptions parse(String[] args) {
    String mode = "stream";
    int sessions = 100;
    int tokens = 100;
    int rate = 30;
    int rampBatch = 250;
    int nodes = 1;
    String heap = "1g";
    int timeout = 300;
    String jfr = null;
    int warmup = 200;
    boolean audit = false;
    int largeAnswer = 0;
    boolean stops = false;
    int rounds = 1;
    boolean compression = false;
    String stack = "external";
    List<String> rest = new ArrayList<>(List.of(args));
    for (int i = 0; i + 1 < rest.size(); i += 2) {
      String value = rest.get(i + 1);
      switch (rest.get(i)) {
        case "--mode" -> mode = value;
        case "--sessions" -> sessions = Integer.parseInt(value);
        case "--tokens" -> tokens = Integer.parseInt(value);
        case "--rate" -> rate = Integer.parseInt(value);
        case "--ramp-batch" -> rampBatch = Integer.parseInt(value);
        case "--nodes" -> nodes = Integer.parseInt(value);
        case "--heap" -> heap = value;
        case "--timeout" -> timeout = Integer.parseInt(value);
        case "--jfr" -> jfr = value;
        case "--warmup" -> warmup = Integer.parseInt(value);
        case "--audit" -> audit = "on".equals(value);
        case "--large-answer" -> largeAnswer = Integer.parseInt(value);
        case "--rounds" -> rounds = Integer.parseInt(value);
        case "--compression" -> compression = "on".equals(value);
        case "--stack" -> stack = value;
        case "--slow-reader" -> {
          largeAnswer = Integer.parseInt(value);
          stops = true;
        }
        default -> throw new IllegalArgumentException("unknown option " + rest.get(i) + "; see BENCHMARKS.md");
      }
    }
    if (!List.of("stream", "idle", "storm").contains(mode)) {
      throw new IllegalArgumentException("--mode must be stream, idle or storm");
    }
    if (!List.of("external", "embedded").contains(stack)) {
      throw new IllegalArgumentException("--stack must be external or embedded");
    }
    boolean embedded = "embedded".equals(stack);
    if (embedded && (nodes > 1 || audit)) {
      throw new IllegalArgumentException("--stack embedded runs one node with its own Kafka: no --nodes, no --audit");
    }
    return new BenchOptions(mode, sessions, tokens, rate, rampBatch, nodes, heap, timeout, jfr, warmup, audit,
        largeAnswer, stops, Math.max(1, rounds), compression, embedded);
  }
}
