import Foundation
@testable import EventLog

/// A fresh directory under the system temp dir, removed when the test ends.
final class TemporaryDirectory: Sendable {
    let path: String

    init(_ name: String = #function) {
        let clean = name.filter { $0.isLetter || $0.isNumber }
        path = NSTemporaryDirectory() + "raqam-test-\(clean)-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// A payload whose bytes are derived from `n`, so a reader can check it is whole and unaltered.
func payload(_ n: Int, size: Int = 250) -> [UInt8] {
    var bytes = Array("event-\(n)|".utf8)
    var x = UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15
    while bytes.count < size {
        x ^= x >> 33
        x = x &* 0xFF51_AFD7_ED55_8CCD
        bytes.append(UInt8(truncatingIfNeeded: x))
    }
    return bytes
}

func key(_ n: Int) -> RecordKey { RecordKey(high: 0xABCD, low: UInt64(n)) }

func entries(_ range: Range<Int>, keyed: Bool = true, size: Int = 250) -> [EventLog.Entry] {
    range.map { EventLog.Entry(key: keyed ? key($0) : .none, time: Int64($0) * 1_000_000, payload: payload($0, size: size)) }
}

/// Every record of the log: (seq, payload).
func readAll(_ directory: String) throws -> [(seq: UInt64, payload: [UInt8])] {
    var out: [(UInt64, [UInt8])] = []
    try EventLogReader(directory: directory).scan { r in
        out.append((r.seq, Array(r.payload)))
        return true
    }
    return out
}

func segmentFiles(_ directory: String) -> [String] {
    (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.hasSuffix(".seg") }.sorted().map { directory + "/" + $0 } ?? []
}

/// Reads, changes and writes back bytes of a file in place.
func patch(_ path: String, _ body: (inout [UInt8]) -> Void) {
    var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
    body(&bytes)
    try! Data(bytes).write(to: URL(fileURLWithPath: path))
}

/// Offsets of each record frame in a segment file, in order.
func recordOffsets(_ path: String) -> [Int] {
    let bytes = [UInt8](FileManager.default.contents(atPath: path)!)
    var offsets: [Int] = []
    var o = SegmentHeader.size
    while o + RecordFrame.headerSize <= bytes.count {
        let magic = bytes[o..<o + 4].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) }
        if magic != RecordFrame.magic { break }
        let len = Int(bytes[o + 8..<o + 12].withUnsafeBytes { $0.loadUnaligned(as: UInt32.self) })
        offsets.append(o)
        o += RecordFrame.size(payloadLength: len)
    }
    return offsets
}
