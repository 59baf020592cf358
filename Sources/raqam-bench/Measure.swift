import Foundation
import Glibc

/// Monotonic seconds.
func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body` once to warm up, then `runs` times, and returns the median of the rates it
/// reports (items per second). `body` returns (items, seconds) of its timed part.
func medianRate(runs: Int, _ body: (Int) throws -> (items: Int, seconds: Double)) rethrows -> (median: Double, all: [Double]) {
    _ = try body(-1)
    var rates: [Double] = []
    for run in 0..<runs {
        let (n, s) = try body(run)
        rates.append(Double(n) / s)
    }
    let sorted = rates.sorted()
    let mid = sorted.count / 2
    let median = sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    return (median, rates)
}

/// 1234567 → "1,234,567".
func grouped(_ v: Double) -> String {
    let n = Int(v.rounded())
    var s = String(abs(n))
    var i = s.count - 3
    while i > 0 {
        s.insert(",", at: s.index(s.startIndex, offsetBy: i))
        i -= 3
    }
    return (n < 0 ? "-" : "") + s
}

/// Peak resident set size of this process, in MiB (ru_maxrss).
func peakRSSMiB() -> Double {
    var usage = rusage()
    getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
    return Double(usage.ru_maxrss) / 1024
}

/// Runs `body(i)` for i in 0..<count, each on its own thread (not a pool: producers block in
/// fsync, and a pool as wide as the cores would hide the concurrency being measured), and
/// returns when all have finished.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        let t = Thread {
            body(i)
            group.leave()
        }
        t.stackSize = 1 << 20
        t.start()
    }
    group.wait()
}

/// Runs `body(i)` for i in 0..<count as concurrent tasks and waits for all of them: how
/// raqamd serves many clients (suspended appenders cost no thread).
func runTasks(_ count: Int, _ body: @escaping @Sendable (Int) async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<count { group.addTask { await body(i) } }
        }
        done.signal()
    }
    done.wait()
}
