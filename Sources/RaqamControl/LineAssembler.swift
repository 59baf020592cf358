/// Cuts a connection's bytes into lines, as they arrive in chunks of any size: the line
/// protocol's framing, a value with no I/O.
///
/// A line longer than `maxLineBytes` yields one `tooLong` piece, with its first bytes, as soon
/// as the limit is passed; the rest of it, up to its newline, is dropped as it arrives and never
/// held in memory, and the next line is whole again. So a client's lines and their replies stay
/// in step whatever it sends. Bytes after the last newline wait for the next chunk; at the end
/// of the input they are not a line (a request ends with its newline).
public struct LineAssembler: Sendable {
    /// One complete line (without its newline), or the start of one that was too long.
    public enum Piece: Equatable, Sendable {
        case line(number: Int, bytes: [UInt8])
        case tooLong(number: Int, head: [UInt8])
    }

    /// How many bytes of a too-long line its piece keeps (for the error reply).
    public static let headBytes = 80

    public let maxLineBytes: Int
    /// Lines seen so far, too-long ones included (the next line's number less one).
    public private(set) var lineNumber = 0
    private var partial: [UInt8] = []
    private var discarding = false

    public init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    /// True while a line has begun and its newline has not come (a client in mid-line).
    public var isInLine: Bool { discarding || !partial.isEmpty }

    /// Bytes held for the line in progress (at most `maxLineBytes`).
    public var heldBytes: Int { partial.count }

    /// The pieces completed by `chunk`, in order.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) -> [Piece] {
        var pieces: [Piece] = []
        var start = 0
        while start < chunk.count {
            let rest = UnsafeRawBufferPointer(rebasing: chunk[start...])
            let newline = rest.firstIndex(of: 0x0A).map { start + ($0 - rest.startIndex) }
            let end = newline ?? chunk.count
            if discarding {
                // The rest of a refused line: skipped unread into memory.
                if newline != nil { discarding = false }
            } else if partial.count + (end - start) > maxLineBytes {
                lineNumber += 1
                let room = max(0, Self.headBytes - partial.count)
                let head = Array(partial.prefix(Self.headBytes)) + Array(UnsafeRawBufferPointer(rebasing: chunk[start..<min(end, start + room)]))
                pieces.append(.tooLong(number: lineNumber, head: head))
                partial = []
                discarding = newline == nil
            } else if newline != nil {
                lineNumber += 1
                partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start..<end]))
                pieces.append(.line(number: lineNumber, bytes: partial))
                partial = []
            } else {
                partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[start..<end]))
            }
            start = end + 1
        }
        return pieces
    }

    /// `feed` for an array of bytes.
    public mutating func feed(_ bytes: [UInt8]) -> [Piece] {
        bytes.withUnsafeBytes { feed($0) }
    }
}
