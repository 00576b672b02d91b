package io.github.cancellation.spring.web.client;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

import io.github.cancellation.CancellationToken;
import io.github.cancellation.CancelledException;
import org.jspecify.annotations.Nullable;

import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.client.ClientHttpResponse;

/**
 * A response whose body is read under the call's token: a read that starts after the cancel fails
 * at once, and each read runs through {@link CancellationToken#call}, so an interrupt reaches a read
 * blocked in the socket (which wakes it on clients whose body streams honour interrupts, Jetty's
 * for one). A read that fails because of the cancellation throws {@link CancelledException} with
 * the token's reason. A body abandoned that way is closed before the response (whose
 * {@code close()} would otherwise read the rest to reuse the connection), so the connection is
 * discarded, never pooled half-read.
 *
 * <p>Thread-safety: read and closed by one thread, as any response.
 */
final class CancellableClientHttpResponse implements ClientHttpResponse {

    private final ClientHttpResponse delegate;

    private final CancellationToken token;

    private @Nullable InputStream body;

    private CancellableClientHttpResponse(ClientHttpResponse delegate, CancellationToken token) {
        this.delegate = delegate;
        this.token = token;
    }

    static ClientHttpResponse watch(ClientHttpResponse response, CancellationToken token) {
        return new CancellableClientHttpResponse(response, token);
    }

    @Override
    public HttpStatusCode getStatusCode() throws IOException {
        return delegate.getStatusCode();
    }

    @Override
    public String getStatusText() throws IOException {
        return delegate.getStatusText();
    }

    @Override
    public HttpHeaders getHeaders() {
        return delegate.getHeaders();
    }

    @Override
    public InputStream getBody() throws IOException {
        InputStream current = body;
        if (current == null) {
            token.throwIfCancelled();
            current = new CancellableBody(delegate.getBody());
            body = current;
        }
        return current;
    }

    @Override
    public void close() {
        CancellableBody current = (CancellableBody) body;
        if (current != null && !current.ended && token.isCancelled()) {
            // Spring's responses read the rest of the body on close, to reuse the connection: a body
            // abandoned because of the cancel is closed first instead, which ends that read at once
            // and lets the client discard the connection.
            current.closeRaw();
        }
        delegate.close();
    }

    /** The body: every read under the token, and a failure after a cancellation reported as one. */
    private final class CancellableBody extends FilterInputStream {

        /** Whether a read reached the end of the body. */
        boolean ended;

        CancellableBody(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int read = guarded(() -> super.read());
            ended |= read < 0;
            return read;
        }

        @Override
        public int read(byte[] buffer, int offset, int length) throws IOException {
            int read = guarded(() -> super.read(buffer, offset, length));
            ended |= read < 0;
            return read;
        }

        void closeRaw() {
            try {
                in.close();
            }
            catch (IOException ex) {
                // The body was abandoned because of the cancel; the caller already has that failure.
                ended = true;
            }
        }

        @Override
        public long skip(long count) throws IOException {
            return guarded(() -> super.skip(count));
        }

        private <T> T guarded(IoCall<T> read) throws IOException {
            try {
                return token.call(read::call);
            }
            catch (IOException | RuntimeException | Error ex) {
                throw ex;
            }
            catch (Exception ex) { // reads declare IOException only
                throw new IllegalStateException("unexpected checked exception from a body read", ex);
            }
        }
    }

    @FunctionalInterface
    private interface IoCall<T> {

        T call() throws IOException;
    }
}
