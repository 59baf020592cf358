import Crypto
import Foundation
import Glibc

/// What this machine allows any log, measured in the same run as the figures: the ceilings they
/// sit under, so that a ratio target can be read against what the hardware permits.
enum Ceilings {
    struct ProbeError: Error, CustomStringConvertible {
        var description: String
    }

    /// Median µs of one `pwrite` of `records` frames of `recordBytes` after the previous ones +
    /// `fdatasync`, in a preallocated file in `dir`: the pattern of a durable append (or of a
    /// group commit of `records`) to a log segment, without the log. What it waits for at least.
    static func fdatasyncMicros(dir: String, recordBytes: Int, records: Int = 1, count: Int = 300) throws -> Double {
        medianOf(try fdatasyncLatencies(dir: dir, recordBytes: recordBytes, records: records, count: count))
    }

    /// Every sample (µs, in the order taken) of the probe `fdatasyncMicros` takes the median of.
    static func fdatasyncLatencies(dir: String, recordBytes: Int, records: Int = 1, count: Int = 300) throws -> [Double] {
        let path = dir + "/fdatasync-probe"
        let fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ProbeError(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd); unlink(path) }
        let write = recordBytes * records
        _ = posix_fallocate(fd, 0, off_t(write * count))
        _ = fsync(fd)
        let bytes = [UInt8](repeating: 0xA5, count: write)
        var times: [Double] = []
        for i in 0..<count {
            let t0 = now()
            _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, write, off_t(i * write)) }
            _ = fdatasync(fd)
            times.append((now() - t0) * 1e6)
        }
        return times
    }

    /// µs per record of the work a hash-chained log cannot skip: SHA-256 over the record and an
    /// 80-byte head (the previous hash and the fixed fields), and the copy of its frame (88-byte
    /// header + payload) into the page cache, 1,000 frames per `pwrite`, no sync.
    static func recordFloorMicros(payloads: ArraySlice<[UInt8]>, dir: String) throws -> (hash: Double, copy: Double) {
        let head = [UInt8](repeating: 0x5A, count: 80)
        let hashTimes = (0..<3).map { _ in
            let t0 = now()
            var sink: UInt8 = 0
            for p in payloads {
                var h = SHA256()
                h.update(data: head)
                h.update(data: p)
                sink ^= h.finalize().withUnsafeBytes { $0[0] }
            }
            precondition(sink != 1 || !payloads.isEmpty)
            return (now() - t0) / Double(payloads.count)
        }

        let path = dir + "/copy-probe"
        let fd = open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ProbeError(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd); unlink(path) }
        var buffer: [UInt8] = []
        let copyTimes = (0..<3).map { _ in
            _ = ftruncate(fd, 0)
            var offset: off_t = 0, i = payloads.startIndex
            let t0 = now()
            while i < payloads.endIndex {
                buffer.removeAll(keepingCapacity: true)
                for p in payloads[i..<min(i + 1000, payloads.endIndex)] {
                    buffer.append(contentsOf: head)
                    buffer.append(contentsOf: head.prefix(8))
                    buffer.append(contentsOf: p)
                }
                _ = buffer.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, offset) }
                offset += off_t(buffer.count)
                i = min(i + 1000, payloads.endIndex)
            }
            return (now() - t0) / Double(payloads.count)
        }
        return (medianOf(hashTimes) * 1e6, medianOf(copyTimes) * 1e6)
    }
}
