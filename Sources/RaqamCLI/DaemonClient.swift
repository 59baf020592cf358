import Foundation
import Glibc

/// A connection to a running raqamd's control socket (docs/control-socket.md).
final class DaemonClient {
    let fd: Int32

    /// Connects, or returns nil when no daemon listens at `path`.
    init?(path: String) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { close(fd); return nil }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let ok = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard ok == 0 else { close(fd); return nil }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Sends the lines and returns one reply per line, in order. Writing and reading overlap
    /// (a writer thread), so a large batch cannot fill both directions and stall.
    func exchange(_ lines: [ArraySlice<UInt8>], repliesPerLine: Int = 1) throws -> [String] {
        let fd = self.fd
        var payload: [UInt8] = []
        for l in lines { payload += l; payload.append(0x0A) }
        let data = payload
        let writer = Thread {
            var done = 0
            while done < data.count {
                let n = data.withUnsafeBytes { send(fd, $0.baseAddress! + done, data.count - done, Int32(MSG_NOSIGNAL)) }
                if n < 0 { if errno == EINTR { continue }; return }
                done += n
            }
        }
        writer.start()
        var replies: [String] = []
        var pending: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while replies.count < lines.count * repliesPerLine {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw DaemonClientError("raqamd closed the connection after \(replies.count) of \(lines.count) replies") }
            pending += buffer[0..<n]
            while let nl = pending.firstIndex(of: 0x0A) {
                replies.append(String(decoding: pending[..<nl], as: UTF8.self))
                pending.removeSubrange(...nl)
            }
        }
        return replies
    }
}

/// raqamd's answer to an event line: `ok SEQ` or `duplicate SEQ`; nil for `error …`.
func parseAck(_ reply: String) -> (seq: UInt64, isDuplicate: Bool)? {
    let parts = reply.split(separator: " ", maxSplits: 1)
    guard parts.count == 2, let seq = UInt64(parts[1]), parts[0] == "ok" || parts[0] == "duplicate" else { return nil }
    return (seq, parts[0] == "duplicate")
}

struct DaemonClientError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
