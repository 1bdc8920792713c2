// SPDX-License-Identifier: MIT
// com.sun.net.httpserver.HttpServer (the JDK's own server) whose handler
// waits for something that never comes, on a thread pool.
//   java [-Dsun.net.httpserver.maxReqTime=S -Dsun.net.httpserver.maxRspTime=S] BlockServer.java PORT
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;

public class BlockServer {
    public static void main(String[] a) throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", Integer.parseInt(a[0])), 50);
        s.createContext("/", ex -> {
            try {
                never.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ex.close();
        });
        s.setExecutor(Executors.newCachedThreadPool());
        s.start();
    }
}
