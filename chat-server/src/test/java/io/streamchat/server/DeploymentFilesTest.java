package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamchat.testkit.FakeOpenAi.Script;
import io.streamchat.testkit.PrometheusText;
import io.streamchat.testkit.ShippedJvmOptions;
import io.streamchat.testkit.TestSocket;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * The deployment files say what the server does: the dashboard and the alerts query series the
 * node exports, the settings they pass are documented ones, the probes ask the health endpoints,
 * and the files the compose files mount exist. (CI also validates the compose files with
 * docker-compose itself.)
 */
class DeploymentFilesTest {

  private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
  /** Series that appear only once something happened (the first GC), or that Prometheus makes. */
  private static final Set<String> SERIES_ONLY_AFTER_EVENTS = Set.of("jvm_gc_pause_seconds_sum", "up");
  private static final Pattern SERIES = Pattern.compile("\\b((?:chat|vertx|jvm|process)_[a-z0-9_]+|up)\\b");

  @RegisterExtension
  static final TestNode node = TestNode.perClass(new JsonObject());

  private static String read(String path) throws Exception {
    return Files.readString(ROOT.resolve(path));
  }

  private static List<Object> yamlDocuments(String path) throws Exception {
    List<Object> documents = new ArrayList<>();
    new Yaml(new LoaderOptions()).loadAll(read(path)).forEach(documents::add);
    return documents;
  }

  @Test
  void theDashboardAndTheAlertsQuerySeriesTheNodeExports() throws Exception {
    node.ai.script(Script.tokens(3, 1));
    try (TestSocket socket = node.connect("session_id=deployment-files")) {
      socket.next();
      socket.send(StreamingProtocolTest.message("some traffic first", null));
      socket.until("complete");
    }
    PrometheusText exported = PrometheusText.parse(node.get("/metrics").body());
    Set<String> families = new TreeSet<>();
    exported.samples.forEach(sample -> families.add(sample.name()));
    String sources = mainSources();
    List<String> queries = new ArrayList<>();
    JsonObject dashboard = new JsonObject(read("deploy/grafana/dashboards/chat.json"));
    for (Object panel : dashboard.getJsonArray("panels")) {
      for (Object target : ((JsonObject) panel).getJsonArray("targets", new JsonArray())) {
        queries.add(((JsonObject) target).getString("expr"));
      }
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> alerts = (Map<String, Object>) yamlDocuments("deploy/alerts.yml").get(0);
    for (Object group : (List<?>) alerts.get("groups")) {
      for (Object rule : (List<?>) ((Map<?, ?>) group).get("rules")) {
        queries.add((String) ((Map<?, ?>) rule).get("expr"));
      }
    }
    assertThat(queries).hasSizeGreaterThan(20);
    List<String> unknown = new ArrayList<>();
    for (String query : queries) {
      Matcher matcher = SERIES.matcher(query);
      while (matcher.find()) {
        String series = matcher.group(1);
        boolean exportedNow = families.contains(series);
        // Meters of the durable tier and the audit log exist only when those are on.
        boolean registeredInTheSources = sources.contains("\"" + series + "\"");
        if (!exportedNow && !registeredInTheSources && !SERIES_ONLY_AFTER_EVENTS.contains(series)) {
          unknown.add(series + " in " + query);
        }
      }
    }
    assertThat(unknown).as("series no node exports").isEmpty();
  }

  @Test
  void everySettingTheDeploymentFilesPassIsDocumented() throws Exception {
    String readme = read("README.md");
    Pattern setting = Pattern.compile("\\b(CHAT_[A-Z0-9_]+)\\b");
    Set<String> undocumented = new TreeSet<>();
    for (String file : List.of("docker-compose.yml", "docker-compose.single.yml", "deploy/kubernetes/chat.yaml",
        "deploy/kubernetes/backends-secret.example.yaml", "Dockerfile")) {
      Matcher matcher = setting.matcher(read(file));
      while (matcher.find()) {
        if (!readme.contains("`" + matcher.group(1) + "`")) {
          undocumented.add(matcher.group(1) + " (" + file + ")");
        }
      }
    }
    assertThat(undocumented).isEmpty();
  }

  @Test
  void theKubernetesProbesAskTheHealthEndpointsAndTheComposeMountsExist() throws Exception {
    List<Object> manifests = yamlDocuments("deploy/kubernetes/chat.yaml");
    assertThat(manifests.stream().map(m -> String.valueOf(((Map<?, ?>) m).get("kind"))).toList())
        .contains("Deployment", "Service", "PodDisruptionBudget");
    Map<?, ?> deployment = manifests.stream().map(m -> (Map<?, ?>) m)
        .filter(m -> "Deployment".equals(m.get("kind"))).findFirst().orElseThrow();
    Map<?, ?> pod = (Map<?, ?>) ((Map<?, ?>) ((Map<?, ?>) deployment.get("spec")).get("template")).get("spec");
    Map<?, ?> container = (Map<?, ?>) ((List<?>) pod.get("containers")).get(0);
    for (String probe : List.of("readinessProbe", "livenessProbe", "startupProbe")) {
      String path = (String) ((Map<?, ?>) ((Map<?, ?>) container.get(probe)).get("httpGet")).get("path");
      assertThat(node.get(path).statusCode()).as(probe + " " + path).isEqualTo(200);
    }
    assertThat((Integer) pod.get("terminationGracePeriodSeconds")).isGreaterThanOrEqualTo(30);

    for (String compose : List.of("docker-compose.yml", "docker-compose.single.yml")) {
      @SuppressWarnings("unchecked")
      Map<String, Map<String, Object>> services = (Map<String, Map<String, Object>>)
          ((Map<?, ?>) yamlDocuments(compose).get(0)).get("services");
      for (Map.Entry<String, Map<String, Object>> service : services.entrySet()) {
        assertThat(service.getValue()).as(compose + ": " + service.getKey() + " has a health check")
            .containsKey("healthcheck");
        for (Object volume : (List<?>) service.getValue().getOrDefault("volumes", List.of())) {
          String source = volume.toString().split(":")[0];
          if (source.startsWith("./")) {
            assertThat(ROOT.resolve(source)).as(compose + " mounts " + source).exists();
          }
        }
      }
    }
  }

  @Test
  void everyWayOfStartingANodeUsesTheShippedJvmOptionsAndTheLauncherAcceptsThem() throws Exception {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process version = new ProcessBuilder(java.toString(), "@" + ROOT.resolve("jvm.options"), "-version")
        .redirectErrorStream(true).start();
    String output = new String(version.getInputStream().readAllBytes());
    assertThat(version.waitFor()).as(output).isZero();
    assertThat(ShippedJvmOptions.load()).as("the options tests and the benchmark give their nodes")
        .contains("-XX:+ExitOnOutOfMemoryError");
    assertThat(read("README.md")).contains("java @jvm.options -jar chat-server/target/chat-server.jar");
    assertThat(read("Dockerfile")).contains("COPY jvm.options").contains("\"@/app/jvm.options\"");
  }

  private static String mainSources() throws Exception {
    StringBuilder all = new StringBuilder();
    try (Stream<Path> files = Files.walk(ROOT)) {
      for (Path file : files.filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/"))
          .toList()) {
        all.append(Files.readString(file));
      }
    }
    return all.toString();
  }
}
