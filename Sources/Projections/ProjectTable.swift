/// (owner, project id hash) to the project's place in `ProjectionState.projects`: open
/// addressing with linear probing over one 64-bit key per project. A `Dictionary` spends most
/// of its time in SipHash here (hundreds of thousands of projects, built again after a
/// snapshot is restored); the keys are hashes already, so one multiply places them.
struct ProjectTable: Sendable {
    private var keys: [UInt64]
    private var values: [Int32]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: 0, count: size)
        values = [Int32](repeating: -1, count: size)
        mask = size - 1
    }

    /// One word for (owner, project): the project's hash mixed with its owner's index.
    static func key(owner: Int, project: UInt64) -> UInt64 {
        project ^ (UInt64(owner) &+ 1) &* 0x9E37_79B9_7F4A_7C15
    }

    @inline(__always) private func slot(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0xBF58_476D_1CE4_E5B9) >> 24) & mask
    }

    subscript(key: UInt64) -> Int? {
        var i = slot(key)
        while values[i] >= 0 {
            if keys[i] == key { return Int(values[i]) }
            i = (i + 1) & mask
        }
        return nil
    }

    /// Adds a key that is not in the table.
    mutating func insert(_ key: UInt64, _ value: Int) {
        if (count + 1) * 4 > keys.count * 3 { grow() }
        var i = slot(key)
        while values[i] >= 0 { i = (i + 1) & mask }
        keys[i] = key
        values[i] = Int32(value)
        count += 1
    }

    private mutating func grow() {
        let old = self
        self = ProjectTable(capacity: keys.count)
        for (k, v) in zip(old.keys, old.values) where v >= 0 { insert(k, Int(v)) }
    }
}

/// The project figures of one entity, kept as its project events are folded so that an
/// evaluation reads them instead of walking every project the entity ever registered.
///
/// Costs, n the entity's open projects: a project event O(log n) (its due date moves
/// within one block of `SortedBlocks`); `overdue(today:)` O(n / block).
struct ProjectCounts: Sendable {
    var planned = 0, implemented = 0, cancelled = 0
    var sectorPlanned = 0, sectorImplemented = 0
    /// The due dates (days) of the open projects: registered, neither implemented nor cancelled.
    var openDue = SortedBlocks()

    /// Adds (`sign` 1) or takes away (−1) what one project counts for.
    mutating func count(_ p: ProjectRecord, _ sign: Int) {
        guard let reg = p.registered else { return }
        if p.cancelled { cancelled += sign; return }
        planned += sign
        if reg.value.sector { sectorPlanned += sign }
        if p.implemented {
            implemented += sign
            if reg.value.sector { sectorImplemented += sign }
        } else if let due = p.due {
            if sign > 0 { openDue.insert(Int64(due.days)) } else { openDue.remove(Int64(due.days)) }
        }
    }

    /// The open projects due before `today` (a day number).
    func overdue(today: Int32) -> Int { openDue.countAtMost(Int64(today) - 1) }
}
