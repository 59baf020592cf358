import CRaqamSupport
import Glibc

/// Typed wrappers over the POSIX calls the log makes. Every C call of this module goes
/// through here, so errno handling, EINTR retries and the error text live in one place.
enum Syscalls {
    /// `open(2)`; retries on EINTR.
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws(EventLogError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw .io("open", path: path, errno: errno)
        }
    }

    /// `close(2)`; errors are ignored because the descriptor is gone either way.
    static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// `pwrite(2)` of the whole buffer, looping over short writes.
    static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int, path: String) throws(EventLogError) {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io("write", path: path, errno: errno)
            }
            done += n
        }
    }

    /// `pwrite(2)` of a whole byte array.
    static func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String) throws(EventLogError) {
        let result: Result<Void, EventLogError> = bytes.withUnsafeBytes { raw in
            do throws(EventLogError) { try pwriteAll(fd, raw, at: offset, path: path); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// `pread(2)` filling as much of the buffer as the file has; returns the bytes read.
    static func preadFull(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws(EventLogError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io("read", path: path, errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// `fdatasync(2)`: the data and the metadata needed to read it back are on stable storage.
    static func fdatasync(_ fd: Int32, path: String) throws(EventLogError) {
        while Glibc.fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw .io("fdatasync", path: path, errno: errno)
        }
    }

    /// `fsync(2)`, used on directories after a file is created, renamed or removed in them.
    static func fsync(_ fd: Int32, path: String) throws(EventLogError) {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw .io("fsync", path: path, errno: errno)
        }
    }

    /// Opens a directory and `fsync(2)`s it, so that entries created in it survive a crash.
    static func fsyncDirectory(_ path: String) throws(EventLogError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// `fallocate(2)` (mode 0): reserves the blocks, so later writes inside cannot hit ENOSPC.
    static func fallocate(_ fd: Int32, length: Int, path: String) throws(EventLogError) {
        while raqam_fallocate(fd, Int64(length)) != 0 {
            if errno == EINTR { continue }
            throw .io("fallocate", path: path, errno: errno)
        }
    }

    /// `flock(2)` exclusive and non-blocking; false when another process holds it.
    static func tryLockExclusive(_ fd: Int32, path: String) throws(EventLogError) -> Bool {
        while raqam_flock_exclusive_nonblocking(fd) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK { return false }
            throw .io("flock", path: path, errno: errno)
        }
        return true
    }

    /// `fstat(2)` size in bytes.
    static func fileSize(_ fd: Int32, path: String) throws(EventLogError) -> Int {
        var st = stat()
        if Glibc.fstat(fd, &st) != 0 { throw .io("stat", path: path, errno: errno) }
        return Int(st.st_size)
    }

    /// `ftruncate(2)`.
    static func ftruncate(_ fd: Int32, length: Int, path: String) throws(EventLogError) {
        while Glibc.ftruncate(fd, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw .io("truncate", path: path, errno: errno)
        }
    }

    /// `mmap(2)` read-only and shared: the reader sees the writer's later writes to the same pages.
    static func mapReadOnly(_ fd: Int32, length: Int, path: String) throws(EventLogError) -> UnsafeRawBufferPointer {
        if length == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard let p = Glibc.mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw .io("mmap", path: path, errno: errno)
        }
        return UnsafeRawBufferPointer(start: p, count: length)
    }

    /// `munmap(2)`.
    static func unmap(_ region: UnsafeRawBufferPointer) {
        if let base = region.baseAddress { _ = Glibc.munmap(UnsafeMutableRawPointer(mutating: base), region.count) }
    }

    /// `rename(2)`.
    static func rename(_ from: String, _ to: String) throws(EventLogError) {
        if Glibc.rename(from, to) != 0 { throw .io("rename", path: from, errno: errno) }
    }

    /// True when something exists at `path` (`access(2)` with F_OK).
    static func exists(_ path: String) -> Bool {
        Glibc.access(path, F_OK) == 0
    }

    /// `unlink(2)`; a missing file is not an error.
    static func unlink(_ path: String) throws(EventLogError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw .io("unlink", path: path, errno: errno) }
    }

    /// `mkdir(2)` of every missing component.
    static func makeDirectories(_ path: String) throws(EventLogError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if Glibc.mkdir(current, 0o750) != 0 && errno != EEXIST {
                throw .io("mkdir", path: current, errno: errno)
            }
        }
    }

    /// The names in a directory (no `.` or `..`), unsorted.
    static func listDirectory(_ path: String) throws(EventLogError) -> [String] {
        guard let dir = Glibc.opendir(path) else { throw .io("opendir", path: path, errno: errno) }
        defer { Glibc.closedir(dir) }
        var names: [String] = []
        while let entry = Glibc.readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// The text of an errno value, as strerror(3) gives it.
    static func describe(errno code: Int32) -> String {
        String(cString: Glibc.strerror(code))
    }

    /// Wall-clock time in microseconds since the Unix epoch.
    static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }

    /// Monotonic time in nanoseconds, for intervals.
    static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Runs `body` on a new, detached thread of its own.
    static func startThread(_ body: @escaping @Sendable () -> Void) throws(EventLogError) {
        final class Box: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let code = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        guard code == 0 else {
            Unmanaged<Box>.fromOpaque(context).release()
            throw EventLogError(code: .io, message: "cannot start the log's sync thread: \(describe(errno: code))")
        }
        pthread_detach(thread)
    }
}
