import Foundation
public import RaqamSystem

/// A connection to a running raqamd's control socket (docs/control-socket.md).
public final class ControlClient: Sendable {
    let socket: UnixSocket

    /// Connects, or returns nil when no daemon listens at `path` (no socket file, nobody
    /// accepting, or a path no socket can have).
    public init?(path: String) {
        guard let s = try? UnixSocket(connectingTo: path) else { return nil }
        socket = s
    }

    /// Connects.
    /// - Throws: `SystemError` naming the path and the errno.
    public init(connectingTo path: String) throws(SystemError) {
        socket = try UnixSocket(connectingTo: path)
    }

    /// Sends the lines and returns `repliesPerLine` replies per line, in order. Writing and
    /// reading overlap (a writer thread), so a large batch cannot fill both directions and stall.
    /// - Throws: `ControlClientError` when raqamd closes the connection before the last reply.
    public func exchange(_ lines: [ArraySlice<UInt8>], repliesPerLine: Int = 1) throws(ControlClientError) -> [String] {
        var payload: [UInt8] = []
        for l in lines { payload += l; payload.append(0x0A) }
        let data = payload
        let socket = self.socket
        // A failed write shows as a closed connection to the reader below.
        let writer = Thread { try? socket.send(data) }
        writer.start()
        var replies: [String] = []
        var reader = ReplyReader(socket: socket)
        while replies.count < lines.count * repliesPerLine {
            guard let line = reader.next() else {
                throw ControlClientError("raqamd closed the connection after \(replies.count) of \(lines.count * repliesPerLine) replies")
            }
            replies.append(line)
        }
        return replies
    }

    /// Sends one command and returns raqamd's reply line.
    public func request(_ command: ControlProtocol.Command) throws(ControlClientError) -> String {
        try exchange([Array(command.rawValue.utf8)[...]]).first ?? ""
    }
}

/// Lines read from a socket, without their newlines: raqamd's replies to a client.
public struct ReplyReader {
    let socket: UnixSocket
    private var pending: [UInt8] = []
    private var buffer = [UInt8](repeating: 0, count: 65536)

    public init(socket: UnixSocket) { self.socket = socket }

    /// The next line, or nil once the peer closed the connection (or reading failed).
    public mutating func next() -> String? {
        while true {
            if let nl = pending.firstIndex(of: 0x0A) {
                let line = String(decoding: pending[..<nl], as: UTF8.self)
                pending.removeSubrange(...nl)
                return line
            }
            let socket = self.socket
            guard let n = try? buffer.withUnsafeMutableBytes({ raw throws(SystemError) in try socket.receive(into: raw) }), n > 0 else { return nil }
            pending += buffer[0..<n]
        }
    }
}

public struct ControlClientError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
