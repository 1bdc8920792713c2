// SPDX-License-Identifier: MIT
// A JVM HTTP client pool: N concurrent GETs (4 rounds), then the process
// idles with its connections pooled; "ready" goes to READYFILE.
//   java [-Dhttp.keepAlive.time.server=S ...] Client.java hc|url URL N READYFILE
// hc:  java.net.http.HttpClient (one client, HTTP/1.1)
// url: HttpURLConnection (the JDK's KeepAliveCache)
import java.io.InputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

public class Client {
    public static void main(String[] a) throws Exception {
        String mode = a[0], url = a[1];
        int n = Integer.parseInt(a[2]);
        Path ready = Path.of(a[3]);
        // only in hc mode: its selector thread and epoll instance are not
        // part of an HttpURLConnection process
        HttpClient hc = mode.equals("hc")
            ? HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build() : null;
        ExecutorService ex = Executors.newFixedThreadPool(n);
        int ok = 0;
        for (int round = 0; round < 4; round++) {
            // all n at once, so n connections are open together
            CountDownLatch go = new CountDownLatch(1);
            List<Future<Integer>> fs = new ArrayList<>();
            for (int i = 0; i < n; i++)
                fs.add(ex.submit(() -> {
                    go.await();
                    if (mode.equals("hc")) {
                        HttpRequest req = HttpRequest.newBuilder(URI.create(url)).build();
                        return hc.send(req, HttpResponse.BodyHandlers.ofString()).statusCode();
                    }
                    HttpURLConnection c = (HttpURLConnection) new URL(url).openConnection();
                    try (InputStream in = c.getInputStream()) {
                        in.readAllBytes();
                    }
                    return c.getResponseCode();
                }));
            go.countDown();
            for (Future<Integer> f : fs)
                if (f.get() == 200)
                    ok++;
        }
        Files.writeString(ready, "ready ok=" + ok + "\n");
        Thread.sleep(120_000);
        System.exit(0);
    }
}
