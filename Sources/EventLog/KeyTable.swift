/// The keys of the active segment, to their seqs: an open-addressing hash table with linear
/// probing. Keys are UUIDs, already spread evenly, so one multiply places them; a general
/// `Dictionary` spends most of its time seeding SipHash, on the append path of every record.
struct KeyTable {
    private var keys: [RecordKey]
    private var seqs: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [RecordKey](repeating: .none, count: size)
        seqs = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always) private func slot(_ key: RecordKey) -> Int {
        Int(truncatingIfNeeded: ((key.high ^ key.low) &* 0x9E37_79B9_7F4A_7C15) >> 20) & mask
    }

    /// The seq of `key`, or nil. `key` must not be `.none` (the empty-slot marker).
    subscript(key: RecordKey) -> UInt64? {
        get {
            var i = slot(key)
            while true {
                let k = keys[i]
                if k == key { return seqs[i] }
                if k.isNone { return nil }
                i = (i + 1) & mask
            }
        }
        set {
            if let seq = newValue { insert(key, seq) } else { remove(key) }
        }
    }

    private mutating func insert(_ key: RecordKey, _ seq: UInt64) {
        if (count + 1) * 4 > keys.count * 3 { grow() }
        var i = slot(key)
        while true {
            if keys[i] == key { seqs[i] = seq; return }
            if keys[i].isNone {
                keys[i] = key
                seqs[i] = seq
                count += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    /// Removes `key`, re-placing the entries after it in its run (no tombstones).
    private mutating func remove(_ key: RecordKey) {
        var i = slot(key)
        while true {
            if keys[i].isNone { return }
            if keys[i] == key { break }
            i = (i + 1) & mask
        }
        keys[i] = .none
        count -= 1
        var j = (i + 1) & mask
        while !keys[j].isNone {
            let k = keys[j], s = seqs[j]
            keys[j] = .none
            count -= 1
            insert(k, s)
            j = (j + 1) & mask
        }
    }

    private mutating func grow() {
        let old = zip(keys, seqs).filter { !$0.0.isNone }
        self = KeyTable(capacity: keys.count)
        for (k, s) in old { insert(k, s) }
    }
}
