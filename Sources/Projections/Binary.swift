package import RaqamModel

/// Little-endian fields and varints for snapshot files.
package struct BinaryWriter {
    package var bytes: [UInt8] = []

    package init() {}

    package mutating func u8(_ v: UInt8) { bytes.append(v) }
    package mutating func bool(_ v: Bool) { bytes.append(v ? 1 : 0) }
    package mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    package mutating func double(_ v: Double) { u64(v.bitPattern) }
    package mutating func varint(_ v: Int) {
        var x = UInt64(v)
        while x >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: x) | 0x80)
            x >>= 7
        }
        bytes.append(UInt8(x))
    }
    package mutating func string(_ s: String) {
        var s = s
        s.withUTF8 { u in
            varint(u.count)
            bytes.append(contentsOf: u)
        }
    }
    package mutating func timestamp(_ t: Timestamp) {
        i64(t.micros)
        u64(UInt64(UInt16(bitPattern: t.offsetMinutes)))
    }
    package mutating func optional<T>(_ v: T?, _ body: (inout BinaryWriter, T) -> Void) {
        bool(v != nil)
        if let v { body(&self, v) }
    }
    /// The raw bytes of an array of plain values (little-endian hosts only, as raqam's are).
    package mutating func raw<T: BitwiseCopyable>(_ values: [T]) {
        varint(values.count)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
    }
}

/// Reads what `BinaryWriter` wrote; every read checks the bounds.
package struct BinaryReader {
    package struct Truncated: Error { package init() {} }

    package let bytes: [UInt8]
    package var offset = 0
    /// Reading stops here (the end of the part being read).
    package var end: Int

    package init(bytes: [UInt8], from offset: Int = 0, end: Int? = nil) {
        self.bytes = bytes
        self.offset = offset
        self.end = end ?? bytes.count
    }

    package mutating func u8() throws(Truncated) -> UInt8 {
        guard offset < end else { throw Truncated() }
        defer { offset += 1 }
        return bytes[offset]
    }
    package mutating func bool() throws(Truncated) -> Bool { try u8() != 0 }
    package mutating func u64() throws(Truncated) -> UInt64 {
        guard offset + 8 <= end else { throw Truncated() }
        defer { offset += 8 }
        return bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt64.self)) }
    }
    package mutating func i64() throws(Truncated) -> Int64 { Int64(bitPattern: try u64()) }
    package mutating func double() throws(Truncated) -> Double { Double(bitPattern: try u64()) }
    package mutating func varint() throws(Truncated) -> Int {
        var v: UInt64 = 0, shift: UInt64 = 0
        while true {
            let b = try u8()
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { break }
            shift += 7
            guard shift < 64 else { throw Truncated() }
        }
        guard v <= UInt64(Int.max) else { throw Truncated() }
        return Int(v)
    }
    package mutating func string() throws(Truncated) -> String {
        let n = try varint()
        guard n <= end - offset else { throw Truncated() }
        defer { offset += n }
        return bytes.withUnsafeBytes { String(decoding: UnsafeRawBufferPointer(rebasing: $0[offset..<offset + n]), as: UTF8.self) }
    }
    package mutating func timestamp() throws(Truncated) -> Timestamp {
        let micros = try i64()
        return Timestamp(micros: micros, offsetMinutes: Int16(bitPattern: UInt16(truncatingIfNeeded: try u64())))
    }
    package mutating func optional<T>(_ body: (inout BinaryReader) throws(Truncated) -> T) throws(Truncated) -> T? {
        try bool() ? try body(&self) : nil
    }
    /// What `BinaryWriter.raw` wrote.
    package mutating func raw<T: BitwiseCopyable>(_ type: T.Type) throws(Truncated) -> [T] {
        let n = try varint()
        let size = n.multipliedReportingOverflow(by: MemoryLayout<T>.stride)
        guard !size.overflow, size.partialValue <= end - offset else { throw Truncated() }
        defer { offset += size.partialValue }
        return [T](unsafeUninitializedCapacity: n) { buffer, count in
            bytes.withUnsafeBytes { src in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<offset + size.partialValue]))
            }
            count = n
        }
    }
}
