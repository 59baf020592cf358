import Glibc
import RaqamSystem

/// Small files that must be whole or absent after a crash (sidecars, snapshots): written to a
/// temporary name, synced, renamed into place, the directory synced.
public enum DurableFile {
    /// Writes `bytes` to `path` atomically and durably.
    public static func write(_ bytes: [UInt8], to path: String) throws(EventLogError) {
        let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        let tmp = path + ".tmp"
        try writeSynced(bytes, to: tmp, flags: O_TRUNC)
        try sys(FileCalls.rename(tmp, path))
        try sys(FileCalls.fsyncDirectory(directory.isEmpty ? "." : directory))
    }

    /// Creates `path` (with `flags` beside O_WRONLY | O_CREAT: O_TRUNC, or O_EXCL for a file
    /// that must be new), writes `bytes` and fdatasyncs them; on failure the file is removed.
    /// The directory is not synced: the caller does that once its files are in place.
    static func writeSynced(_ bytes: [UInt8], to path: String, flags: Int32) throws(EventLogError) {
        let fd = try sys(FileCalls.open(path, O_WRONLY | O_CREAT | flags, 0o640))
        do throws(EventLogError) {
            try sys(FileCalls.pwriteAll(fd, bytes, at: 0, path: path))
            try sys(FileCalls.fdatasync(fd, path: path))
        } catch {
            FileCalls.close(fd)
            try? FileCalls.unlink(path)
            throw error
        }
        FileCalls.close(fd)
    }

    /// The whole file, or nil when it cannot be read.
    public static func read(_ path: String) -> [UInt8]? {
        guard let fd = try? FileCalls.open(path, O_RDONLY) else { return nil }
        defer { FileCalls.close(fd) }
        guard let size = try? FileCalls.fileSize(fd, path: path) else { return nil }
        // Not zeroed first: every byte is read over (a snapshot is tens of megabytes).
        var complete = false
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            let n = (try? FileCalls.preadFull(fd, UnsafeMutableRawBufferPointer(buffer), at: 0, path: path)) ?? -1
            complete = n == size
            count = complete ? size : 0
        }
        return complete ? bytes : nil
    }

    /// CRC-32C, the log's own checksum, for files derived from it.
    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        bytes.withUnsafeBytes { CRC32C.checksum($0) }
    }

    /// Creates a directory and its parents.
    public static func makeDirectories(_ path: String) throws(EventLogError) {
        try sys(FileCalls.makeDirectories(path))
    }

    /// The names in a directory, or none when it does not exist.
    public static func list(_ directory: String) -> [String] {
        (try? FileCalls.listDirectory(directory)) ?? []
    }

    /// Removes a file; a missing one is not an error.
    public static func remove(_ path: String) throws(EventLogError) {
        try sys(FileCalls.unlink(path))
    }
}
