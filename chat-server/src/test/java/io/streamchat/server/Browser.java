package io.streamchat.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.logging.Level;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.logging.LogEntry;
import org.openqa.selenium.logging.LogType;
import org.openqa.selenium.logging.LoggingPreferences;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * A real headless Chromium driven through chromedriver: the system's own binaries (Debian's
 * {@code chromium} and {@code chromium-driver}, or {@code CHROME_BIN} and {@code CHROMEDRIVER}),
 * never a download.
 */
final class Browser implements AutoCloseable, BeforeAllCallback, AfterEachCallback, AfterAllCallback {

  static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("CHROME_BIN", "/usr/bin/chromium"));
  static final Path CHROMEDRIVER = Path.of(System.getenv().getOrDefault("CHROMEDRIVER", "/usr/bin/chromedriver"));
  static final String MISSING = "no Chromium here: install Debian's chromium and chromium-driver"
      + " (or set CHROME_BIN and CHROMEDRIVER) to run the browser tests";

  private static final java.util.regex.Pattern NETWORK =
      java.util.regex.Pattern.compile("net::ERR_|WebSocket connection to|status of (401|5\\d\\d)");

  ChromeDriver driver;

  private Browser() {
  }

  /**
   * A browser for {@code @RegisterExtension}: the test class is skipped, saying why, where there is
   * no Chromium; else one browser serves the class's tests, each of which must leave no error in
   * the page's console.
   */
  static Browser perClass() {
    return new Browser();
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    if (!available()) {
      // Surefire counts a class skipped in its set-up as 0 tests run, without the reason: say it here.
      System.err.println(context.getDisplayName() + " SKIPPED: " + MISSING);
    }
    assumeTrue(available(), MISSING);
    driver = start();
  }

  @Override
  public void afterEach(ExtensionContext context) {
    assertThat(consoleErrors()).as("errors in the page's console").isEmpty();
  }

  @Override
  public void afterAll(ExtensionContext context) {
    close();
  }

  static boolean available() {
    return Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER);
  }

  private static ChromeDriver start() {
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--no-first-run", "--window-size=1280,860",
        // Tests run tabs side by side: a background tab must not be throttled to a crawl.
        "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
        "--disable-backgrounding-occluded-windows");
    LoggingPreferences logs = new LoggingPreferences();
    logs.enable(LogType.BROWSER, Level.ALL);
    options.setCapability("goog:loggingPrefs", logs);
    ChromeDriverService service = new ChromeDriverService.Builder()
        .usingDriverExecutable(new File(CHROMEDRIVER.toString()))
        .usingAnyFreePort()
        .build();
    return new ChromeDriver(service, options);
  }

  void open(String url) {
    driver.get(url);
  }

  Object js(String script, Object... args) {
    return ((JavascriptExecutor) driver).executeScript(script, args);
  }

  WebElement find(String css) {
    return driver.findElement(By.cssSelector(css));
  }

  List<WebElement> findAll(String css) {
    return driver.findElements(By.cssSelector(css));
  }

  <T> T await(String what, Duration timeout, Function<WebDriver, T> condition) {
    return new WebDriverWait(driver, timeout, Duration.ofMillis(50)).withMessage(what)
        .ignoring(StaleElementReferenceException.class).until(condition);
  }

  <T> T await(String what, Function<WebDriver, T> condition) {
    return await(what, Duration.ofSeconds(20), condition);
  }

  /** Waits until the chat page says its socket is connected. */
  void awaitConnected() {
    await("connected", d -> "connected".equals(find("#connection").getAttribute("data-state")));
  }

  /** Media features and screen size as a phone or a desktop in light or dark mode would report them. */
  void emulate(int width, int height, boolean mobile, String colorScheme) {
    driver.executeCdpCommand("Emulation.setDeviceMetricsOverride", Map.of("width", width, "height", height,
        "deviceScaleFactor", mobile ? 2 : 1, "mobile", mobile));
    driver.executeCdpCommand("Emulation.setEmulatedMedia", Map.of("features",
        List.of(Map.of("name", "prefers-color-scheme", "value", colorScheme))));
  }

  void screenshot(Path file) throws java.io.IOException {
    Files.createDirectories(file.getParent());
    Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
  }

  /**
   * Errors the page logged since the last call: uncaught exceptions, failed loads of its own files.
   * A refused connection while the server is down, or a request refused for want of a token, is
   * logged by the browser itself and is not one.
   */
  List<String> consoleErrors() {
    List<String> consoleErrors = new ArrayList<>();
    for (LogEntry entry : driver.manage().logs().get(LogType.BROWSER)) {
      String message = entry.getMessage();
      if (entry.getLevel().intValue() >= Level.SEVERE.intValue() && !NETWORK.matcher(message).find()) {
        consoleErrors.add(message);
      }
    }
    return consoleErrors;
  }

  @Override
  public void close() {
    if (driver != null) {
      driver.quit();
    }
  }
}
