import Synchronization

/// A token bucket: `rate` events a second, at most `burst` at once. A value; the caller
/// passes the time, so it tests without a clock.
struct TokenBucket: Sendable {
    let rate: Double
    let burst: Double
    private(set) var available: Double
    private var last: Int64

    init(rate: Double, burst: Double, now: Int64) {
        self.rate = rate
        self.burst = burst
        available = burst
        last = now
    }

    /// Takes `count` events' worth when there is that much, else nothing.
    /// - Returns: nil when taken, else the seconds until there will be enough.
    mutating func take(_ count: Double, now: Int64) -> Double? {
        available = min(burst, available + Double(max(0, now - last)) / 1e6 * rate)
        last = now
        if count <= available {
            available -= count
            return nil
        }
        return (min(count, burst) - available) / rate
    }
}

/// One bucket per token id (`http.rate_limit`, `http.rate_burst`). Thread-safe.
final class RateLimiter: Sendable {
    let rate: Double
    let burst: Double
    private let buckets = Mutex<[String: TokenBucket]>([:])

    init(rate: Double, burst: Double) {
        self.rate = rate
        self.burst = burst
    }

    /// nil when `count` events may pass now, else the seconds to wait (Retry-After).
    func admit(_ count: Int, token: String, now: Int64) -> Double? {
        guard rate > 0 else { return nil }
        return buckets.withLock { b in
            var bucket = b[token] ?? TokenBucket(rate: rate, burst: burst, now: now)
            let wait = bucket.take(Double(count), now: now)
            b[token] = bucket
            return wait
        }
    }
}
