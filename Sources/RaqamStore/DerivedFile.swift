import EventLog

/// Small files derived from a log (snapshots, the registered subjects), which must be whole or
/// absent after a crash: written to a temporary name, synced, renamed into place, the folder
/// synced. The engine's snapshots use it, so that nothing above the store names the file log.
public enum DerivedFile {
    /// Writes `bytes` to `path` atomically and durably.
    public static func write(_ bytes: [UInt8], to path: String) throws(StoreFailure) {
        do { try DurableFile.write(bytes, to: path) } catch { throw StoreFailure(error) }
    }

    /// The whole file, or nil when it cannot be read.
    public static func read(_ path: String) -> [UInt8]? { DurableFile.read(path) }

    /// CRC-32C, the log's own checksum, for files derived from it.
    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt32 { DurableFile.checksum(bytes) }

    /// Creates a folder and its parents.
    public static func makeDirectories(_ path: String) throws(StoreFailure) {
        do { try DurableFile.makeDirectories(path) } catch { throw StoreFailure(error) }
    }

    /// The names in a folder, or none when it does not exist.
    public static func list(_ directory: String) -> [String] { DurableFile.list(directory) }

    /// Removes a file; a missing one is not an error.
    public static func remove(_ path: String) throws(StoreFailure) {
        do { try DurableFile.remove(path) } catch { throw StoreFailure(error) }
    }
}
