/// The record keys of every sealed segment, for the writer's duplicate check.
///
/// Each sealed segment's keys arrive sorted (its sidecar index keeps them so); they are kept
/// as sorted runs, small ones merged as a binary counter is carried: a new run is merged with
/// the newest one while that one is at most twice its size and smaller than `closedRun` keys.
/// So a key costs a binary search in each of n / `closedRun` + O(log `closedRun`) runs, not
/// one in every sealed segment: a log of thousands of small segments (the alert log after a
/// storm of transitions) checked each new key against every one of them. A segment of the
/// event log holds more keys than `closedRun` and is kept as it comes: opening a large log
/// copies nothing more than it did. Each key is moved here from its segment's index, held once.
struct SealedKeys {
    typealias Entry = (key: RecordKey, seq: UInt64)
    private var runs: [[Entry]] = []

    /// A run this long is not merged again (about 1.5 MiB of keys).
    static let closedRun = 1 << 16

    /// How many keys are held.
    private(set) var count = 0

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
