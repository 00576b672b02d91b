package io.github.cancellation.benchmarks.peers;

/** The registry of peers, by the name used in the benchmarks' {@code @Param("peer")}. */
public final class Peers {

    private Peers() {
    }

    /**
     * Returns the adapter for a peer name.
     *
     * @param name {@code ours}, {@code grpc}, {@code kotlin}, {@code naive}, {@code future} or {@code volatile}
     * @return the adapter
     */
    @SuppressWarnings("unchecked")
    public static TokenAdapter<Object> byName(String name) {
        TokenAdapter<?> adapter = switch (name) {
            case "ours" -> new OursAdapter();
            case "grpc" -> new GrpcContextAdapter();
            case "kotlin" -> new KotlinJobAdapter();
            case "naive" -> new NaiveAdapter();
            case "future" -> new FutureAdapter();
            case "volatile" -> new VolatileFlagAdapter();
            default -> throw new IllegalArgumentException("unknown peer '" + name
                    + "': expected one of ours, grpc, kotlin, naive, future, volatile");
        };
        return (TokenAdapter<Object>) adapter;
    }
}
