import RaqamStore
import Projections

/// The files of one kind of snapshot, shared by `SnapshotStore` and `EngineSnapshotStore`:
/// `NNN.snap` in one folder, named by log position (20 digits), each `magic ‖ body ‖ CRC-32C
/// of everything before it`, written atomically (write, fsync, rename, fsync the folder); the
/// newest `keep` are kept.
struct SnapshotFiles: Sendable {
    let directory: String
    let magic: [UInt8]
    let keep: Int

    static func fileName(_ position: UInt64) -> String {
        let digits = String(position)
        return String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".snap"
    }

    /// File names, oldest first.
    func names() -> [String] {
        DerivedFile.list(directory).filter { $0.hasSuffix(".snap") && $0.count == 25 }.sorted()
    }

    /// The position of the newest file (by its name; not checked), or nil.
    var newestPosition: UInt64? {
        names().last.flatMap { UInt64($0.dropLast(5)) }
    }

    /// Writes `body` as the snapshot at `position` and removes the files beyond `keep`.
    /// - Returns: the file written.
    func write(body: [UInt8], position: UInt64) throws(StoreFailure) -> String {
        try DerivedFile.makeDirectories(directory)
        var w = BinaryWriter()
        w.bytes = magic + body
        w.u64(UInt64(DerivedFile.checksum(w.bytes[...])))
        let path = directory + "/" + Self.fileName(position)
        try DerivedFile.write(w.bytes, to: path)
        for old in names().dropLast(keep) { try? DerivedFile.remove(directory + "/" + old) }
        return path
    }

    /// What reading one file found.
    enum Read {
        /// A reader over the body (between the magic and the checksum).
        case body(BinaryReader)
        case notASnapshot
        case damaged
    }

    func read(path: String) -> Read {
        guard let bytes = DerivedFile.read(path), bytes.count > magic.count + 8, Array(bytes.prefix(magic.count)) == magic else { return .notASnapshot }
        var crcReader = BinaryReader(bytes: bytes, from: bytes.count - 8)
        guard let crc = try? crcReader.u64(), crc == UInt64(DerivedFile.checksum(bytes[..<(bytes.count - 8)])) else { return .damaged }
        return .body(BinaryReader(bytes: bytes, from: magic.count, end: bytes.count - 8))
    }
}
