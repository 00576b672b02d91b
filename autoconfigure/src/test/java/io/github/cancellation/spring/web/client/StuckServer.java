package io.github.cancellation.spring.web.client;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real server on a free loopback port that never finishes an answer: it accepts, reads the
 * request head, reports it, and then either says nothing ({@link Mode#SILENT}) or sends the status
 * line, headers announcing a large body and the first bytes of it, and stalls
 * ({@link Mode#STALLED_BODY}). Connections stay open until the client gives up or
 * {@link #close()} (which resets them).
 */
final class StuckServer implements AutoCloseable {

    enum Mode {
        SILENT, STALLED_BODY
    }

    private final ServerSocket server;

    private final Mode mode;

    private final Thread acceptor;

    private final List<Socket> connections = new CopyOnWriteArrayList<>();

    private final AtomicInteger accepted = new AtomicInteger();

    private final BlockingQueue<String> requestHeads = new LinkedBlockingQueue<>();

    StuckServer(Mode mode) throws IOException {
        this.mode = mode;
        this.server = new ServerSocket();
        this.server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        this.acceptor = new Thread(this::acceptLoop, "stuck-server-" + server.getLocalPort());
        this.acceptor.setDaemon(true);
        this.acceptor.start();
    }

    int port() {
        return server.getLocalPort();
    }

    String url(String path) {
        return "http://127.0.0.1:" + port() + path;
    }

    /** Connections accepted so far. */
    int accepted() {
        return accepted.get();
    }

    /** Waits for the next request head the server has read in full. */
    String nextRequestHead() throws InterruptedException {
        return requestHeads.take();
    }

    private void acceptLoop() {
        while (!server.isClosed()) {
            try {
                Socket socket = server.accept();
                accepted.incrementAndGet();
                connections.add(socket);
                Thread handler = new Thread(() -> handle(socket), "stuck-server-connection");
                handler.setDaemon(true);
                handler.start();
            }
            catch (IOException ex) {
                return; // closed
            }
        }
    }

    private void handle(Socket socket) {
        try {
            InputStream in = socket.getInputStream();
            StringBuilder head = new StringBuilder();
            int c;
            while ((c = in.read()) != -1) {
                head.append((char) c);
                if (head.length() >= 4 && head.lastIndexOf("\r\n\r\n") == head.length() - 4) {
                    break;
                }
            }
            if (mode == Mode.STALLED_BODY) {
                OutputStream out = socket.getOutputStream();
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
                        + "first-bytes").getBytes(StandardCharsets.US_ASCII));
                out.flush();
            }
            requestHeads.add(head.toString());
        }
        catch (IOException ex) {
            // the client went away: nothing to answer
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (Socket socket : connections) {
            if (!socket.isClosed()) {
                socket.setSoLinger(true, 0); // reset, so a client still waiting fails at once
                socket.close();
            }
        }
    }
}
