import Glibc
import RaqamSystem

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
        fd = try sys(FileCalls.open(path, O_RDONLY))
        do throws(EventLogError) {
            let size = try sys(FileCalls.fileSize(fd, path: path))
            region = try sys(FileCalls.mapReadOnly(fd, length: size, path: path))
        } catch {
            FileCalls.close(fd)
            throw error
        }
        switch SegmentHeader.decode(region) {
        case .success(let h):
            header = h
        case .failure(let problem):
            FileCalls.unmap(region)
            FileCalls.close(fd)
            throw EventLogError.corrupt(problem.reason, path: path, offset: 0)
        }
    }

    deinit {
        FileCalls.unmap(region)
        FileCalls.close(fd)
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
        try sys(FileCalls.listDirectory(directory)).compactMap { name in
            SegmentHeader.baseSeq(fromFileName: name).map { Listed(baseSeq: $0, path: directory + "/" + name) }
        }.sorted { $0.baseSeq < $1.baseSeq }
    }
}
