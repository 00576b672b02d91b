package io.github.cancellation.benchmarks;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ProtocolException;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A closed-loop HTTP/1.1 load generator for one {@code GET} path on a loopback server: a fixed
 * number of keep-alive connections, one thread each, each sending its next request as soon as
 * the previous response is read in full. Raw sockets and a minimal response parser (status line,
 * {@code Content-Length} or {@code chunked} body, {@code Connection: close}), so that the client
 * costs little CPU beside the server on a small machine.
 *
 * <p>Every response must be {@code 200} with exactly the expected body; anything else counts as an
 * error (its first message is kept), and the connection is replaced. A round is bounded both by
 * time and by a request count. Latency is measured per request from just before the request is
 * written to just after the last byte of the response is read, and kept in full per round (the
 * request count bounds the memory), so that percentiles are exact.
 *
 * <p>Thread-safety: {@link #round} is not reentrant: call it from one thread at a time.
 */
final class HttpLoad implements AutoCloseable {

    /** Longest status or header line, and largest body, accepted. */
    private static final int MAX_LINE = 8192;
    private static final int MAX_BODY = 1 << 20;

    /** What one round measured. Latencies in nanoseconds; NaN when no request completed. */
    record Result(long requests, long errors, long reconnects, double seconds, double p50Nanos, double p99Nanos,
            double p999Nanos, double maxNanos, String firstError) {

        double requestsPerSecond() {
            return requests / seconds;
        }
    }

    private final InetSocketAddress address;
    private final byte[] request;
    private final byte[] expectedBody;
    private final int timeoutMillis;
    private final Connection[] connections;

    /**
     * Opens {@code connectionCount} connections to {@code address}.
     *
     * @param path the request target, e.g. {@code /hello}
     * @param expectedBody the body every response must have
     * @param timeoutMillis connect and read timeout of every socket
     */
    HttpLoad(InetSocketAddress address, String path, String expectedBody, int connectionCount, int timeoutMillis)
            throws IOException {
        if (connectionCount < 1) {
            throw new IllegalArgumentException("connections must be at least 1, was " + connectionCount);
        }
        this.address = address;
        this.request = ("GET " + path + " HTTP/1.1\r\nHost: " + address.getHostString() + ":" + address.getPort()
                + "\r\nAccept: */*\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        this.expectedBody = expectedBody.getBytes(StandardCharsets.UTF_8);
        this.timeoutMillis = timeoutMillis;
        this.connections = new Connection[connectionCount];
        try {
            for (int i = 0; i < connectionCount; i++) {
                connections[i] = new Connection();
                connections[i].open();
            }
        }
        catch (IOException ex) {
            close();
            throw ex;
        }
    }

    /**
     * Runs one round: every connection sends requests until {@code duration} has passed or
     * {@code maxRequests} requests were sent in all, whichever comes first.
     *
     * @throws IllegalStateException if a load thread failed with something other than an I/O
     *         error (a bug, not a server answer)
     */
    Result round(Duration duration, long maxRequests) throws InterruptedException {
        AtomicLong budget = new AtomicLong(maxRequests);
        CountDownLatch start = new CountDownLatch(1);
        Worker[] workers = new Worker[connections.length];
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(connections[i], start, budget);
            workers[i].start();
        }
        long begin = System.nanoTime();
        long deadline = begin + duration.toNanos();
        for (Worker worker : workers) {
            worker.deadline = deadline;
        }
        start.countDown();
        for (Worker worker : workers) {
            worker.join();
        }
        double seconds = (System.nanoTime() - begin) / 1e9;
        long requests = 0;
        long errors = 0;
        long reconnects = 0;
        String firstError = "";
        int latencyCount = 0;
        for (Worker worker : workers) {
            if (worker.failure != null) {
                throw new IllegalStateException("load thread failed", worker.failure);
            }
            requests += worker.latencies.size;
            errors += worker.errors;
            reconnects += worker.reconnects;
            if (firstError.isEmpty() && worker.firstError != null) {
                firstError = worker.firstError;
            }
            latencyCount += worker.latencies.size;
        }
        long[] all = new long[latencyCount];
        int at = 0;
        for (Worker worker : workers) {
            System.arraycopy(worker.latencies.values, 0, all, at, worker.latencies.size);
            at += worker.latencies.size;
        }
        Arrays.sort(all);
        return new Result(requests, errors, reconnects, seconds, percentile(all, 0.50), percentile(all, 0.99),
                percentile(all, 0.999), (all.length == 0) ? Double.NaN : all[all.length - 1], firstError);
    }

    /** The nearest-rank percentile of sorted values: the smallest value with at least {@code p} of them at or below it. */
    static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(p * sorted.length);
        return sorted[Math.min(Math.max(rank, 1), sorted.length) - 1];
    }

    @Override
    public void close() {
        for (Connection connection : connections) {
            if (connection != null) {
                connection.close();
            }
        }
    }

    /** One connection's load thread for one round. */
    private final class Worker extends Thread {

        private final Connection connection;
        private final CountDownLatch start;
        private final AtomicLong budget;
        private final Latencies latencies = new Latencies();
        volatile long deadline;
        long errors;
        long reconnects;
        String firstError;
        Throwable failure;

        Worker(Connection connection, CountDownLatch start, AtomicLong budget) {
            super("http-load");
            setDaemon(true);
            this.connection = connection;
            this.start = start;
            this.budget = budget;
        }

        @Override
        public void run() {
            try {
                start.await();
                long end = deadline;
                while (System.nanoTime() - end < 0 && budget.decrementAndGet() >= 0) {
                    long sent = System.nanoTime();
                    boolean closeAfter;
                    try {
                        closeAfter = connection.exchange();
                    }
                    catch (IOException ex) {
                        errors++;
                        if (firstError == null) {
                            firstError = ex.toString();
                        }
                        if (!reopen()) {
                            return;
                        }
                        continue;
                    }
                    latencies.add(System.nanoTime() - sent);
                    if (closeAfter && !reopen()) {
                        return;
                    }
                }
            }
            catch (Throwable ex) {
                failure = ex;
            }
        }

        /** Replaces the connection; false (an error counted) if the server cannot be reached. */
        private boolean reopen() {
            connection.close();
            reconnects++;
            try {
                connection.open();
                return true;
            }
            catch (IOException ex) {
                errors++;
                if (firstError == null) {
                    firstError = "reconnect failed: " + ex;
                }
                return false;
            }
        }
    }

    /** A growable array of latencies; bounded by the round's request count. */
    private static final class Latencies {

        long[] values = new long[1 << 14];
        int size;

        void add(long value) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = value;
        }
    }

    /** One keep-alive connection and its response parser. Used by one thread at a time. */
    private final class Connection {

        private final byte[] line = new byte[MAX_LINE];
        private byte[] body = new byte[256];
        private Socket socket;
        private InputStream in;
        private OutputStream out;

        void open() throws IOException {
            Socket opened = new Socket();
            try {
                opened.setTcpNoDelay(true);
                opened.setSoTimeout(timeoutMillis);
                opened.connect(address, timeoutMillis);
                in = new BufferedInputStream(opened.getInputStream(), 16 * 1024);
                out = opened.getOutputStream();
            }
            catch (IOException ex) {
                opened.close();
                throw ex;
            }
            socket = opened;
        }

        void close() {
            Socket current = socket;
            socket = null;
            if (current != null) {
                try {
                    current.close();
                }
                catch (IOException ex) {
                    // Closing a socket we are done with: nothing was in flight, nothing is lost.
                    System.err.println("[http-load] closing a connection failed: " + ex);
                }
            }
        }

        /**
         * Sends the request and reads its whole response.
         *
         * @return whether the server asked to close the connection after it
         * @throws IOException on an I/O error, a malformed response, a status other than 200 or
         *         another body than the expected one
         */
        boolean exchange() throws IOException {
            if (socket == null) {
                throw new IOException("not connected");
            }
            out.write(request);
            out.flush();
            int length = readLine();
            if (length < 12 || !startsWith(length, "http/1.")) {
                throw new ProtocolException("bad status line: " + text(length));
            }
            int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
            long contentLength = -1;
            boolean chunked = false;
            boolean closeAfter = false;
            while ((length = readLine()) > 0) {
                if (startsWith(length, "content-length:")) {
                    contentLength = parseLong(length, "content-length:".length(), 10);
                }
                else if (startsWith(length, "transfer-encoding:")) {
                    chunked = contains(length, "chunked");
                }
                else if (startsWith(length, "connection:")) {
                    closeAfter = contains(length, "close");
                }
            }
            int bodyLength;
            if (chunked) {
                bodyLength = readChunked();
            }
            else if (contentLength >= 0) {
                bodyLength = (int) Math.min(contentLength, MAX_BODY + 1L);
                ensureBody(bodyLength);
                readFully(body, 0, bodyLength);
            }
            else {
                throw new ProtocolException("response without Content-Length or chunked body, status " + status);
            }
            if (status != 200) {
                throw new IOException("HTTP " + status + ": " + new String(body, 0, Math.min(bodyLength, 200),
                        StandardCharsets.UTF_8));
            }
            if (!Arrays.equals(body, 0, bodyLength, expectedBody, 0, expectedBody.length)) {
                throw new IOException("unexpected body: " + new String(body, 0, Math.min(bodyLength, 200),
                        StandardCharsets.UTF_8));
            }
            return closeAfter;
        }

        private int readChunked() throws IOException {
            int total = 0;
            while (true) {
                int length = readLine();
                int end = 0;
                while (end < length && line[end] != ';' && line[end] != ' ') {
                    end++;
                }
                long size = parseLong(end, 0, 16);
                if (size == 0) {
                    while (readLine() > 0) {
                        // trailer fields: none expected, read and ignored
                    }
                    return total;
                }
                if (total + size > MAX_BODY) {
                    throw new ProtocolException("chunked body larger than " + MAX_BODY + " bytes");
                }
                ensureBody(total + (int) size);
                readFully(body, total, (int) size);
                total += (int) size;
                if (readLine() != 0) {
                    throw new ProtocolException("chunk not followed by CRLF");
                }
            }
        }

        private void ensureBody(int size) throws ProtocolException {
            if (size > MAX_BODY) {
                throw new ProtocolException("body larger than " + MAX_BODY + " bytes");
            }
            if (body.length < size) {
                body = Arrays.copyOf(body, Math.max(size, body.length * 2));
            }
        }

        private void readFully(byte[] into, int offset, int count) throws IOException {
            int done = 0;
            while (done < count) {
                int read = in.read(into, offset + done, count - done);
                if (read < 0) {
                    throw new EOFException("connection closed in a response body");
                }
                done += read;
            }
        }

        /** Reads one line into {@link #line} without its CRLF; returns its length. */
        private int readLine() throws IOException {
            int length = 0;
            while (true) {
                int b = in.read();
                if (b < 0) {
                    throw new EOFException("connection closed in a response head");
                }
                if (b == '\n') {
                    return (length > 0 && line[length - 1] == '\r') ? length - 1 : length;
                }
                if (length == MAX_LINE) {
                    throw new ProtocolException("response line longer than " + MAX_LINE + " bytes");
                }
                line[length++] = (byte) b;
            }
        }

        /** Whether the line starts with {@code prefix}, ignoring ASCII case ({@code prefix} in lower case). */
        private boolean startsWith(int length, String prefix) {
            if (length < prefix.length()) {
                return false;
            }
            for (int i = 0; i < prefix.length(); i++) {
                if (Character.toLowerCase((char) line[i]) != prefix.charAt(i)) {
                    return false;
                }
            }
            return true;
        }

        private boolean contains(int length, String word) {
            return text(length).toLowerCase(Locale.ROOT).contains(word);
        }

        private long parseLong(int end, int from, int radix) throws ProtocolException {
            long value = 0;
            int digits = 0;
            for (int i = from; i < end; i++) {
                char c = (char) line[i];
                if (c == ' ' || c == '\t') {
                    if (digits > 0) {
                        break;
                    }
                    continue;
                }
                int digit = Character.digit(c, radix);
                if (digit < 0 || digits > 15) {
                    throw new ProtocolException("bad number in: " + text(end));
                }
                value = value * radix + digit;
                digits++;
            }
            if (digits == 0) {
                throw new ProtocolException("no number in: " + text(end));
            }
            return value;
        }

        private String text(int length) {
            return new String(line, 0, length, StandardCharsets.ISO_8859_1);
        }
    }
}
