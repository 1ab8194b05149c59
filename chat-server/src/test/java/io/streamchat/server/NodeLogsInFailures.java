package io.streamchat.server;

import io.streamchat.testkit.NodeProcess;

import java.time.LocalTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Supplier;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;
import org.opentest4j.TestAbortedException;

/**
 * A test of node processes that fails carries, in its message, each node's state and its last
 * warnings and errors, and prints the end of every node's log. A CI run's report may show nothing
 * but the failure's message, and the node logs are gone with its machine.
 */
final class NodeLogsInFailures implements TestExecutionExceptionHandler {

  /** Warnings and errors per node in the message: a report shows the end of the build's output. */
  private static final int LINES_PER_NODE = 4;

  private final Supplier<? extends Collection<NodeProcess>> nodes;

  NodeLogsInFailures(Supplier<? extends Collection<NodeProcess>> nodes) {
    this.nodes = nodes;
  }

  @Override
  public void handleTestExecutionException(ExtensionContext context, Throwable thrown) throws Throwable {
    List<NodeProcess> started = new ArrayList<>(nodes.get());
    if (started.isEmpty() || thrown instanceof TestAbortedException) {
      throw thrown;
    }
    StringBuilder message = new StringBuilder(String.valueOf(thrown.getMessage()).strip()).append("\nThe nodes at ")
        .append(LocalTime.now().truncatedTo(ChronoUnit.MILLIS)).append(':');
    for (NodeProcess node : started) {
      System.out.printf("---- the end of %s's log ----%n%s%n", node.nodeId, node.tail(60));
      message.append('\n').append(node.digest(LINES_PER_NODE));
    }
    AssertionError withNodes = new AssertionError(message.toString(), thrown);
    withNodes.setStackTrace(thrown.getStackTrace());
    throw withNodes;
  }
}
