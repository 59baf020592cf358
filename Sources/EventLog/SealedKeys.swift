import RaqamSystem

/// The record keys of every sealed segment, for the writer's duplicate check.
///
/// A segment of the event log (at least `closedRun` keys) keeps its keys where its sidecar
/// has them: the file mapped read-only (`SidecarKeys`), searched in place. One `KeyFilter`
/// over all of them answers the common case, a new key, without touching their pages: the
/// writer's memory is about 2–3 bytes a sealed key (the filter), not the 24 of a copy, and a
/// new key costs one cache miss, not a binary search in every segment. A key the filter
/// may hold is searched for in each mapped segment, newest first.
///
/// Building the filter of a large log is a cache miss per key (about half a second for 10 M
/// keys), so a log being opened builds it off the writer's lock (`filterToBuild`, then
/// `install`): until then, and for the segments sealed meanwhile, every key is searched for in
/// the mapped segments themselves (one or two pages each), slower but with the same answers.
///
/// Small segments (the alert log after a storm of transitions has thousands) are copied and
/// kept as sorted runs, small ones merged as a binary counter is carried: a new run is merged
/// with the newest one while that one is at most twice its size and smaller than `closedRun`
/// keys. So a key costs a binary search in O(log n) runs, not in every small segment.
struct SealedKeys {
    typealias Entry = (key: RecordKey, seq: UInt64)
    private var runs: [[Entry]] = []
    private var mapped: [SidecarKeys] = []
    /// Nil while it is being built.
    private var filter: KeyFilter? = KeyFilter(capacity: 0)
    /// How many of `mapped` (the oldest) the filter holds the keys of.
    private var filtered = 0
    private var mappedCount = 0
    private let pages = ResidentPages()

    /// A run this long is not merged again (about 1.5 MiB of keys); a sidecar with this many
    /// keys is mapped, not copied.
    static let closedRun = 1 << 16

    /// How many keys are held.
    private(set) var count = 0

    /// Bytes of the writer's memory the keys take (the copied runs and the filter).
    var heapBytes: Int { runs.reduce(0) { $0 + $1.count * 24 } + (filter?.bytes ?? 0) }

    /// True while lookups go without the filter (it is being built).
    var isBuildingFilter: Bool { filter == nil }

    /// Takes a segment's keys, sorted by key.
    mutating func add(_ keys: [Entry]) {
        guard !keys.isEmpty else { return }
        count += keys.count
        // A sidecar's keys are written sorted; one read back is checked, not trusted.
        let ordered = zip(keys, keys.dropFirst()).allSatisfy { $0.key < $1.key }
        var run = ordered ? keys : keys.sorted { $0.key < $1.key }
        while let newest = runs.last, newest.count < Self.closedRun, newest.count <= 2 * run.count {
            run = Self.merge(runs.removeLast(), run)
        }
        runs.append(run)
    }

    /// Hands the mapped segments to a builder off the lock (nil when there are none), and
    /// searches without the filter until `install` gives one back.
    mutating func filterToBuild() -> (keys: [SidecarKeys], capacity: Int)? {
        guard !mapped.isEmpty else {
            if filter == nil { filter = KeyFilter(capacity: 0) }
            return nil
        }
        filter = nil
        filtered = 0
        return (mapped, mappedCount + mappedCount / 2)
    }

    /// Lets the segments added next go without the filter (a log being opened adds them all,
    /// then hands them to `filterToBuild`).
    mutating func deferFilter() {
        filter = nil
        filtered = 0
    }

    /// Takes a filter built from the oldest `covering` mapped segments; the keys of those
    /// sealed since are added to it.
    mutating func install(_ built: KeyFilter, covering: Int) {
        var f = built
        if mappedCount > f.capacity {
            f = KeyFilter(capacity: mappedCount + mappedCount / 2)
            for m in mapped { f.insert(allOf: m) }
        } else {
            for m in mapped[covering...] { f.insert(allOf: m) }
        }
        filter = f
        filtered = mapped.count
    }

    /// Takes a segment's keys in its mapped sidecar. Keys found out of order (a sidecar that
    /// passed its CRC but is wrong) are copied and sorted instead.
    mutating func add(_ keys: SidecarKeys) {
        guard keys.count > 0 else { return }
        guard keys.prepare() else { return add(keys.entries().sorted { $0.key < $1.key }) }
        count += keys.count
        mapped.append(keys)
        mappedCount += keys.count
        // While the filter is being built, `install` takes these keys up.
        guard var f = filter else { return }
        filter = nil
        if mappedCount > f.capacity {
            // Rebuilt at 1.5 × the keys: amortised, each key is inserted about three times.
            f = KeyFilter(capacity: max(1 << 17, mappedCount + mappedCount / 2))
            for m in mapped { f.insert(allOf: m) }
        } else {
            f.insert(allOf: keys)
        }
        filter = f
        filtered = mapped.count
    }

    /// The seq of `key`, or nil when no sealed segment holds it.
    func seq(for key: RecordKey) -> UInt64? {
        for run in runs.reversed() {
            var lo = 0, hi = run.count
            while lo < hi {
                let mid = (lo + hi) / 2
                if run[mid].key < key { lo = mid + 1 } else { hi = mid }
            }
            if lo < run.count, run[lo].key == key { return run[lo].seq }
        }
        guard !mapped.isEmpty else { return nil }
        if let filter, filtered == mapped.count, !filter.mayContain(key) { return nil }
        defer { pages.searched(mapped.count, in: mapped) }
        for m in mapped.reversed() {
            if let seq = m.seq(for: key) { return seq }
        }
        return nil
    }

    static func merge(_ a: [Entry], _ b: [Entry]) -> [Entry] {
        var out: [Entry] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count, j < b.count {
            if b[j].key < a[i].key { out.append(b[j]); j += 1 } else { out.append(a[i]); i += 1 }
        }
        out += a[i...]
        out += b[j...]
        return out
    }
}

/// How many pages of the mapped sidecars searches may have brought in since they were last let
/// go: past `limit` (64 MiB), all are let go. A reference, so a look-up (not mutating) counts.
/// `@unchecked Sendable`: used only under the writer's lock, like the `SealedKeys` holding it.
final class ResidentPages: @unchecked Sendable {
    private var touched = 0
    static let limit = 16_384

    /// Counts a search that looked in `segments` mapped sidecars (two pages each at most).
    func searched(_ segments: Int, in mapped: [SidecarKeys]) {
        touched += 2 * segments
        guard touched > Self.limit else { return }
        touched = 0
        for m in mapped { m.dropResidentPages() }
    }
}

/// A sealed segment's sorted keys read in place from its sidecar (`SegmentIndex`'s layout:
/// 16 bytes of big-endian key, 8 of little-endian seq, each), the file mapped read-only. The
/// pages are the page cache's: the kernel reads in what a search touches, and
/// `dropResidentPages` lets them go from this process's resident set.
///
/// In memory it keeps one key of every `fenceStride` (about one a page, 0.7 % of the keys'
/// bytes): a search finds its stretch there and touches one or two pages of the file.
///
/// `@unchecked Sendable`: immutable after `prepare`, the mapping read-only and private to this
/// object, which unmaps it when the last reference goes (the writer's lock guards its users).
final class SidecarKeys: @unchecked Sendable {
    private let region: UnsafeRawBufferPointer
    private let keys: UnsafeRawPointer
    let count: Int
    private var fences: [RecordKey] = []

    /// Keys a page holds (4,096 / 24).
    static let fenceStride = 170

    /// Takes ownership of `region`, a mapping of the whole sidecar, whose keys start at
    /// byte `offset`.
    init(region: UnsafeRawBufferPointer, offset: Int, count: Int) {
        self.region = region
        keys = region.baseAddress! + offset
        self.count = count
    }

    deinit { FileCalls.unmap(region) }

    @inline(__always) func key(_ i: Int) -> RecordKey {
        RecordKey(high: UInt64(bigEndian: keys.loadUnaligned(fromByteOffset: i * 24, as: UInt64.self)),
                  low: UInt64(bigEndian: keys.loadUnaligned(fromByteOffset: i * 24 + 8, as: UInt64.self)))
    }

    @inline(__always) func seq(_ i: Int) -> UInt64 {
        UInt64(littleEndian: keys.loadUnaligned(fromByteOffset: i * 24 + 16, as: UInt64.self))
    }

    /// Walks every key once: checks the order and keeps the fences, then lets the pages go.
    /// False when the keys are out of order (nothing is kept).
    func prepare() -> Bool {
        defer { dropResidentPages() }
        var fences: [RecordKey] = []
        fences.reserveCapacity(count / Self.fenceStride + 1)
        var previous = RecordKey.none
        for i in 0..<count {
            let k = key(i)
            if i > 0 && !(previous < k) { return false }
            if i % Self.fenceStride == 0 { fences.append(k) }
            previous = k
        }
        self.fences = fences
        return true
    }

    /// Lets the pages searches brought in go from the process's resident set.
    func dropResidentPages() { FileCalls.dropResidentPages(region) }

    /// The seq of `key`, from the one stretch of `fenceStride` keys that may hold it.
    func seq(for key: RecordKey) -> UInt64? {
        var lo = 0, hi = fences.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if fences[mid] <= key { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        var first = (lo - 1) * Self.fenceStride, end = min(count, first + Self.fenceStride)
        while first < end {
            let mid = (first + end) / 2
            if self.key(mid) < key { first = mid + 1 } else { end = mid }
        }
        return first < count && self.key(first) == key ? seq(first) : nil
    }

    func entries() -> [SealedKeys.Entry] { (0..<count).map { (key($0), seq($0)) } }
}
