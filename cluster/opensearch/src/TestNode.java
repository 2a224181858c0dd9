import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

/**
 * A single OpenSearch node in this JVM, for tests and benchmarks on loopback. Plugins come from the classpath,
 * because the jars are Maven artifacts, not an installed distribution. There is no security plugin and no bootstrap
 * check: never expose it beyond 127.0.0.1.
 *
 * Arguments: name home httpPort transportPort seeds(host:port,...) managers(name,...) [plugin classes...]
 * Writes home/ready once the node serves HTTP, so the launcher waits on a file rather than parsing logs.
 */
public final class TestNode {
  private static final class PluginNode extends Node {
    PluginNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
      super(environment, plugins, true);
    }
  }

  public static void main(String[] args) throws Exception {
    if (args.length < 6) {
      System.err.println("usage: TestNode name home httpPort transportPort seeds managers [pluginClass...]");
      System.exit(2);
    }
    long started = System.nanoTime();
    String name = args[0];
    Path home = Path.of(args[1]).toAbsolutePath();
    Files.createDirectories(home.resolve("config"));
    Files.deleteIfExists(home.resolve("ready"));
    Settings settings = Settings.builder()
        .put("cluster.name", "semsearch-test")
        .put("node.name", name)
        .put("path.home", home.toString())
        .put("path.data", home.resolve("data").toString())
        .put("path.logs", home.resolve("logs").toString())
        .put("network.host", "127.0.0.1")
        .put("http.port", args[2])
        .put("transport.port", args[3])
        .putList("discovery.seed_hosts", args[4].split(","))
        .putList("cluster.initial_cluster_manager_nodes", args[5].split(","))
        .put("http.type", "netty4")
        .put("transport.type", "netty4")
        // A test machine's disk is often nearly full; the default watermarks would make shards unassignable.
        .put("cluster.routing.allocation.disk.threshold_enabled", false)
        .build();
    Environment environment = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), home.resolve("config"), () -> name);
    List<Class<? extends Plugin>> plugins = new ArrayList<>();
    plugins.add(pluginClass("org.opensearch.transport.Netty4Plugin"));
    for (int i = 6; i < args.length; i++) plugins.add(pluginClass(args[i]));
    Node node = new PluginNode(environment, plugins);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
      } catch (Exception e) {
        // The JVM is exiting; a failed close leaves only files the next start recovers.
      }
    }));
    node.start();
    String line = String.format("%s http=%s seconds=%.1f%n", name, args[2], (System.nanoTime() - started) / 1e9);
    Files.writeString(home.resolve("ready"), line, StandardCharsets.UTF_8);
    System.out.print("READY " + line);
    Thread.currentThread().join();
  }

  @SuppressWarnings("unchecked")
  private static Class<? extends Plugin> pluginClass(String name) throws ClassNotFoundException {
    return (Class<? extends Plugin>) Class.forName(name);
  }
}
