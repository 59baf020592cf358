import Glibc

/// A segment file mapped read-only: its header and all its bytes. The mapping is shared, so
/// records the writer adds later become visible through it.
final class MappedSegment {
    let path: String
    let header: SegmentHeader
    let region: UnsafeRawBufferPointer
    private let fd: Int32

    /// Maps `path`; throws `.corrupt` when the header is not intact.
    init(path: String) throws(EventLogError) {
        self.path = path
        fd = try Syscalls.open(path, O_RDONLY)
        do throws(EventLogError) {
            let size = try Syscalls.fileSize(fd, path: path)
            region = try Syscalls.mapReadOnly(fd, length: size, path: path)
        } catch {
            Syscalls.close(fd)
            throw error
        }
        switch SegmentHeader.decode(region) {
        case .success(let h):
            header = h
        case .failure(let problem):
            Syscalls.unmap(region)
            Syscalls.close(fd)
            throw EventLogError.corrupt(problem.reason, path: path, offset: 0)
        }
    }

    deinit {
        Syscalls.unmap(region)
        Syscalls.close(fd)
    }
}

/// The segment files of a log directory.
enum SegmentDirectory {
    struct Listed {
        var baseSeq: UInt64
        var path: String
    }

    /// Segments sorted by base seq.
    static func list(_ directory: String) throws(EventLogError) -> [Listed] {
        try Syscalls.listDirectory(directory).compactMap { name in
            SegmentHeader.baseSeq(fromFileName: name).map { Listed(baseSeq: $0, path: directory + "/" + name) }
        }.sorted { $0.baseSeq < $1.baseSeq }
    }
}
