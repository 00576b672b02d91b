package io.github.cancellation.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The load generator of the request token overhead benchmark against a minimal loopback HTTP/1.1
 * server whose answers each test chooses: that it counts what it should as requests and what it
 * should as errors. Rounds are bounded by their request count here, so no test depends on speed.
 */
class HttpLoadTest {

    private static final Duration LONG = Duration.ofMinutes(1);

    private TinyServer server;

    @AfterEach
    void stopServer() throws IOException {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void contentLengthAnswersWithTheExpectedBodyShouldAllCountAsRequests() throws Exception {
        server = new TinyServer((n) -> "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 5\r\n\r\nhello");
        try (HttpLoad load = new HttpLoad(server.address(), "/hello", "hello", 3, 5_000)) {
            HttpLoad.Result result = load.round(LONG, 300);

            assertThat(result.requests()).isEqualTo(300);
            assertThat(result.errors()).isZero();
            assertThat(result.reconnects()).isZero();
            assertThat(result.p50Nanos()).isPositive().isLessThanOrEqualTo(result.p99Nanos());
            assertThat(result.p99Nanos()).isLessThanOrEqualTo(result.maxNanos());
        }
        assertThat(server.requests.get()).isEqualTo(300);
        assertThat(server.connections.get()).isEqualTo(3);
    }

    @Test
    void chunkedAnswersShouldBeReadToTheirLastChunk() throws Exception {
        server = new TinyServer((n) -> "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhe\r\n3;x=y\r\nllo\r\n0\r\n\r\n");
        try (HttpLoad load = new HttpLoad(server.address(), "/hello", "hello", 2, 5_000)) {
            HttpLoad.Result result = load.round(LONG, 100);

            assertThat(result.requests()).isEqualTo(100);
            assertThat(result.errors()).isZero();
        }
    }

    @Test
    void connectionCloseShouldReconnectWithoutAnError() throws Exception {
        server = new TinyServer((n) -> "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
        try (HttpLoad load = new HttpLoad(server.address(), "/hello", "hello", 1, 5_000)) {
            HttpLoad.Result result = load.round(LONG, 20);

            assertThat(result.requests()).isEqualTo(20);
            assertThat(result.errors()).isZero();
            assertThat(result.reconnects()).isEqualTo(20);
        }
    }

    @Test
    void aStatusOtherThan200OrAnotherBodyShouldCountAsAnErrorNotARequest() throws Exception {
        server = new TinyServer((n) -> switch (n % 3) {
            case 0 -> "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
            case 1 -> "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops";
            default -> "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhullo";
        });
        try (HttpLoad load = new HttpLoad(server.address(), "/hello", "hello", 1, 5_000)) {
            HttpLoad.Result result = load.round(LONG, 30);

            assertThat(result.requests()).isEqualTo(10);
            assertThat(result.errors()).isEqualTo(20);
            assertThat(result.firstError()).contains("HTTP 500").contains("oops");
        }
    }

    @Test
    void percentileShouldBeTheNearestRank() {
        long[] sorted = new long[100];
        for (int i = 0; i < sorted.length; i++) {
            sorted[i] = i + 1;
        }
        assertThat(HttpLoad.percentile(sorted, 0.50)).isEqualTo(50);
        assertThat(HttpLoad.percentile(sorted, 0.99)).isEqualTo(99);
        assertThat(HttpLoad.percentile(sorted, 0.999)).isEqualTo(100);
        assertThat(HttpLoad.percentile(new long[] {7}, 0.99)).isEqualTo(7);
        assertThat(HttpLoad.percentile(new long[0], 0.99)).isNaN();
    }

    @Test
    void checkVariantShouldAcceptOnlyWhatTheVariantPromises() {
        String on = "cancellationRequestTokenFilter,characterEncodingFilter";
        assertThat(WebOverheadBench.checkVariant(true, on, "request")).isNull();
        assertThat(WebOverheadBench.checkVariant(false, "characterEncodingFilter", "none")).isNull();
        assertThat(WebOverheadBench.checkVariant(false, "", "")).isNull();
        assertThat(WebOverheadBench.checkVariant(true, "characterEncodingFilter", "request")).contains("no filter bean");
        assertThat(WebOverheadBench.checkVariant(true, on, "")).contains("no request token");
        assertThat(WebOverheadBench.checkVariant(false, on, "none")).contains("a filter bean of the starter");
        assertThat(WebOverheadBench.checkVariant(false, "", "request")).contains("saw a request token");
    }

    /** Answers every request on a connection with the next canned response; one thread per connection. */
    private static final class TinyServer implements AutoCloseable {

        final AtomicInteger requests = new AtomicInteger();
        final AtomicInteger connections = new AtomicInteger();
        private final ServerSocket socket;
        private final IntFunction<String> answers;

        TinyServer(IntFunction<String> answers) throws IOException {
            this.answers = answers;
            this.socket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
            Thread acceptor = new Thread(this::accept, "tiny-server");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        InetSocketAddress address() {
            return new InetSocketAddress(socket.getInetAddress(), socket.getLocalPort());
        }

        private void accept() {
            while (!socket.isClosed()) {
                Socket connection;
                try {
                    connection = socket.accept();
                }
                catch (IOException ex) {
                    return; // closed by the test
                }
                connections.incrementAndGet();
                Thread handler = new Thread(() -> serve(connection), "tiny-server-connection");
                handler.setDaemon(true);
                handler.start();
            }
        }

        private void serve(Socket connection) {
            try (connection;
                    BufferedReader in = new BufferedReader(new InputStreamReader(connection.getInputStream(), StandardCharsets.US_ASCII))) {
                OutputStream out = connection.getOutputStream();
                String line;
                while ((line = in.readLine()) != null) {
                    if (!line.isEmpty()) {
                        continue;
                    }
                    String answer = answers.apply(requests.getAndIncrement());
                    out.write(answer.getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    if (answer.contains("Connection: close")) {
                        return;
                    }
                }
            }
            catch (IOException ex) {
                // The client closed the connection (end of a test): nothing left to answer.
            }
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
