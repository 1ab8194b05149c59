package io.streamchat.testkit;

/** POSIX signals to child processes (SIGSTOP, SIGCONT), for tests that pause servers. */
final class Signals {

  private Signals() {
  }

  static void send(Process process, String name) throws Exception {
    if (new ProcessBuilder("kill", "-" + name, Long.toString(process.pid())).start().waitFor() != 0) {
      throw new IllegalStateException("kill -" + name + " failed");
    }
  }
}
