/// Reporting lateness samples of the last 90 days, kept so that their median costs a few
/// look-ups instead of a sort.
///
/// Holds (occurred_at, seconds late) pairs in two orders: by occurred_at, to find the samples
/// that left the window (a prefix) or lie past the evaluation time (a suffix), and by value in
/// a `SortedBlocks` multiset, for the order statistic. Samples at or before `horizon` are
/// dropped for good: a state answers only for times at or after the latest occurred_at it
/// folded, so no later query can look back before `maxOccurred − 90 days`.
///
/// Costs, n the samples in the window: `insert` O(log n) (a move within one block of at
/// most `SortedBlocks.maxBlock` values; O(1) in the by-time order for a sample that occurred
/// after the others), `expire` O(log n) per sample that leaves, `median(now:)` O(n / block)
/// when nothing lies outside the window, O(k log k + (n / block) · log k) with k samples
/// outside it.
struct LatenessWindow: Sendable {
    /// (occurred_at µs, lateness s), by occurred_at then seconds; entries before `head` have expired.
    private(set) var byTime: [Sample] = []
    private var head = 0
    private var values = SortedBlocks()
    /// Samples that occurred at or before this instant are gone (µs).
    private(set) var horizon = Int64.min

    struct Sample: Sendable, Comparable {
        var occurred: Int64
        var seconds: Int64
        static func < (a: Sample, b: Sample) -> Bool { (a.occurred, a.seconds) < (b.occurred, b.seconds) }
    }

    /// The length of the window (90 days, µs).
    static let length: Int64 = 90 * 86_400_000_000

    init() {}

    /// A window holding `samples` (any order), none at or before `horizon`.
    init(samples: [Sample], horizon: Int64) {
        self.horizon = horizon
        let kept = samples.filter { $0.occurred > horizon }
        // A snapshot's samples come in time order already (they are written so): a linear
        // check spares a start-up the sort of millions of them.
        byTime = zip(kept, kept.dropFirst()).allSatisfy { !($1 < $0) } ? kept : kept.sorted()
        values = SortedBlocks(unsorted: byTime.map(\.seconds))
    }

    /// The window of a roll-up: the samples of `windows` together, none at or before
    /// `horizon`. Each window is in order already (by time and by value), so both orders are
    /// merged, O(n log k) for k windows, not sorted again (a start-up from a snapshot builds
    /// the nation's window of every sample of the last 90 days this way).
    init(merging windows: [LatenessWindow], horizon: Int64) {
        self.horizon = horizon
        let kept = windows.map { w in
            let s = w.samples
            return s[LatenessWindow.firstIndex(in: w.byTime, from: w.head) { $0.occurred > horizon }...]
        }
        byTime = Self.mergeAll(kept.map(Array.init))
        let byValue = zip(windows, kept).map { w, k in k.count == w.count ? w.values.elements : k.map(\.seconds).sorted() }
        values = SortedBlocks(sorted: Self.mergeAll(byValue))
    }

    /// Sorted arrays merged into one, pairwise (a balanced tree of merges): O(n log k).
    static func mergeAll<T: Comparable>(_ runs: [[T]]) -> [T] {
        var runs = runs.filter { !$0.isEmpty }
        guard !runs.isEmpty else { return [] }
        while runs.count > 1 {
            var next: [[T]] = []
            next.reserveCapacity((runs.count + 1) / 2)
            for i in stride(from: 0, to: runs.count, by: 2) {
                guard i + 1 < runs.count else { next.append(runs[i]); break }
                next.append(merge(runs[i], runs[i + 1]))
            }
            runs = next
        }
        return runs[0]
    }

    static func merge<T: Comparable>(_ a: [T], _ b: [T]) -> [T] {
        [T](unsafeUninitializedCapacity: a.count + b.count) { out, count in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    var x = 0, y = 0
                    while x < a.count, y < b.count {
                        if b[y] < a[x] { out.initializeElement(at: count, to: b[y]); y += 1 } else { out.initializeElement(at: count, to: a[x]); x += 1 }
                        count += 1
                    }
                    while x < a.count { out.initializeElement(at: count, to: a[x]); x += 1; count += 1 }
                    while y < b.count { out.initializeElement(at: count, to: b[y]); y += 1; count += 1 }
                }
            }
        }
    }

    /// The samples in the window, oldest first.
    var samples: ArraySlice<Sample> { byTime[head...] }
    var count: Int { byTime.count - head }

    mutating func insert(occurred: Int64, seconds: Int64) {
        guard occurred > horizon else { return }
        let s = Sample(occurred: occurred, seconds: seconds)
        if let last = byTime.last, s < last {
            byTime.insert(s, at: Self.firstIndex(in: byTime, from: head, where: { s < $0 }))
        } else {
            byTime.append(s)
        }
        values.insert(seconds)
    }

    /// Drops the samples that occurred at or before `h`.
    mutating func expire(through h: Int64) {
        guard h > horizon else { return }
        horizon = h
        while head < byTime.count, byTime[head].occurred <= h {
            values.remove(byTime[head].seconds)
            head += 1
        }
        if head > 64 && head * 2 > byTime.count {
            byTime.removeFirst(head)
            head = 0
        }
    }

    /// The median lateness of the samples that occurred in (now − 90 days, now], or nil when
    /// there are none.
    func median(now: Int64) -> Double? {
        let from = now - Self.length
        let first = Self.firstIndex(in: byTime, from: head) { $0.occurred > from }
        let end = Self.firstIndex(in: byTime, from: first) { $0.occurred > now }
        let inside = end - first
        guard inside > 0 else { return nil }
        let outside = count - inside
        if outside == 0 { return Self.middle(inside) { values.element(at: $0) } }
        if outside * 2 > count {
            // Most samples are outside (an entity that went quiet): sort the few that count.
            let sorted = byTime[first..<end].map(\.seconds).sorted()
            return Self.middle(inside) { sorted[$0] }
        }
        let excluded = (byTime[head..<first].map(\.seconds) + byTime[end...].map(\.seconds)).sorted()
        return Self.middle(inside) { rank in values.element(at: rank, excluding: excluded) }
    }

    /// The median of `n` values given the k-th smallest.
    static func middle(_ n: Int, _ kth: (Int) -> Int64) -> Double {
        n % 2 == 1 ? Double(kth(n / 2)) : Double(kth(n / 2 - 1) + kth(n / 2)) / 2
    }

    /// The first index at or after `from` whose sample satisfies `predicate`, which must be
    /// false then true along the array (binary search).
    static func firstIndex(in a: [Sample], from: Int, where predicate: (Sample) -> Bool) -> Int {
        var lo = from, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if predicate(a[mid]) { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

/// A sorted multiset of integers in blocks of at most `maxBlock` values: insertion and
/// removal move at most one block's values, the k-th smallest walks the block counts. Each
/// block's last value and count are kept in flat arrays beside the blocks, so finding a block
/// reads no block but the one it finds.
struct SortedBlocks: Sendable {
    private var blocks: [[Int64]] = []
    private var lasts: [Int64] = []
    private var counts: [Int] = []
    private(set) var count = 0

    /// Small enough that an insertion moves little (a block of 256 values is 2 KiB), large
    /// enough that a rank walks few blocks (n / 128 at most; a roll-up's median is asked at
    /// ticks, an entity's window holds a few thousand samples).
    static let maxBlock = 256

    init() {}

    init(unsorted: [Int64]) {
        self.init(sorted: unsorted.sorted())
    }

    /// Every value, in order.
    var elements: [Int64] { Array(blocks.joined()) }

    init(sorted: [Int64]) {
        count = sorted.count
        var i = 0
        while i < sorted.count {
            let j = min(sorted.count, i + Self.maxBlock / 2)
            blocks.append(Array(sorted[i..<j]))
            lasts.append(sorted[j - 1])
            counts.append(j - i)
            i = j
        }
    }

    /// The block where `v` belongs: the first whose last value is at least `v`, else the last.
    private func block(for v: Int64) -> Int {
        var lo = 0, hi = lasts.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if lasts[mid] >= v { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    /// The first index in `a` whose value is greater than `v` (`orEqual`: at least `v`).
    private static func bound(_ a: [Int64], _ v: Int64, orEqual: Bool) -> Int {
        var lo = 0, hi = a.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if orEqual ? a[mid] >= v : a[mid] > v { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }

    mutating func insert(_ v: Int64) {
        count += 1
        guard !blocks.isEmpty else {
            blocks = [[v]]; lasts = [v]; counts = [1]
            return
        }
        let b = block(for: v)
        blocks[b].insert(v, at: Self.bound(blocks[b], v, orEqual: false))
        counts[b] += 1
        if v > lasts[b] { lasts[b] = v }
        if counts[b] > Self.maxBlock {
            let upper = Array(blocks[b][(Self.maxBlock / 2)...])
            blocks[b].removeLast(upper.count)
            blocks.insert(upper, at: b + 1)
            lasts.insert(lasts[b], at: b + 1)
            lasts[b] = blocks[b].last!
            counts.insert(upper.count, at: b + 1)
            counts[b] -= upper.count
        }
    }

    /// Removes one occurrence of `v` (which must be present).
    mutating func remove(_ v: Int64) {
        guard !blocks.isEmpty else { return }
        let b = block(for: v)
        let i = Self.bound(blocks[b], v, orEqual: true)
        guard i < counts[b], blocks[b][i] == v else { return }
        blocks[b].remove(at: i)
        count -= 1
        counts[b] -= 1
        if counts[b] == 0 {
            blocks.remove(at: b)
            lasts.remove(at: b)
            counts.remove(at: b)
        } else if i == counts[b] {
            lasts[b] = blocks[b][i - 1]
        }
    }

    /// The value of rank `k` (0-based) in sorted order.
    func element(at k: Int) -> Int64 {
        var k = k
        for b in counts.indices {
            if k < counts[b] { return blocks[b][k] }
            k -= counts[b]
        }
        preconditionFailure("rank \(k) out of range")
    }

    /// How many values are at most `v`.
    func countAtMost(_ v: Int64) -> Int {
        var n = 0
        for b in lasts.indices {
            if lasts[b] <= v { n += counts[b] } else { return n + Self.bound(blocks[b], v, orEqual: false) }
        }
        return n
    }

    /// The value of rank `k` among the values without `excluded` (sorted, a sub-multiset).
    /// Its rank among all values lies in k…k + excluded.count: binary search there for the
    /// first whose count of remaining values at or below it exceeds k.
    func element(at k: Int, excluding excluded: [Int64]) -> Int64 {
        var lo = k, hi = min(k + excluded.count, count - 1)
        while lo < hi {
            let mid = (lo + hi) / 2
            let v = element(at: mid)
            if countAtMost(v) - Self.bound(excluded, v, orEqual: false) > k { hi = mid } else { lo = mid + 1 }
        }
        return element(at: lo)
    }
}
