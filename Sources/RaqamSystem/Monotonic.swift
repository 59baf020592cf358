import Glibc

/// Monotonic time for deadlines (`clock_gettime(2)`, CLOCK_MONOTONIC).
public enum Monotonic {
    /// Milliseconds since an arbitrary start; never goes back.
    public static func milliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}
