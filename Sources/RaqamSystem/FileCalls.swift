import CRaqamSupport
public import Glibc

/// Typed wrappers over the POSIX file calls raqam makes (the event log's segments, sidecars
/// and locks; snapshots; spool files): errno handling, EINTR retries and the failure's text
/// in one place. A failure is a `SystemError` naming the call and the path, errno kept.
public enum FileCalls {
    /// `open(2)`; retries on EINTR.
    public static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws(SystemError) -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw SystemError("open", path: path)
        }
    }

    /// `close(2)`; errors are ignored because the descriptor is gone either way.
    public static func close(_ fd: Int32) {
        _ = Glibc.close(fd)
    }

    /// `pwrite(2)` of the whole buffer, looping over short writes.
    public static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, at offset: Int, path: String) throws(SystemError) {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path: path)
            }
            done += n
        }
    }

    /// `pwrite(2)` of a whole byte array.
    public static func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int, path: String) throws(SystemError) {
        let result: Result<Void, SystemError> = bytes.withUnsafeBytes { raw in
            do throws(SystemError) { try pwriteAll(fd, raw, at: offset, path: path); return .success(()) } catch { return .failure(error) }
        }
        try result.get()
    }

    /// `pread(2)` filling as much of the buffer as the file has; returns the bytes read.
    public static func preadFull(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, at offset: Int, path: String) throws(SystemError) -> Int {
        var done = 0
        while done < buffer.count {
            let n = Glibc.pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path: path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// `read(2)` of what is there, at most the buffer's size; retries on EINTR. Returns the
    /// bytes read, 0 at the end of the file.
    public static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer, path: String) throws(SystemError) -> Int {
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw SystemError("read", path: path)
        }
    }

    /// `write(2)` of the whole buffer at the descriptor's position, looping over short writes.
    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws(SystemError) {
        var done = 0
        while done < buffer.count {
            let n = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path: path)
            }
            done += n
        }
    }

    /// `fdatasync(2)`: the data and the metadata needed to read it back are on stable storage.
    public static func fdatasync(_ fd: Int32, path: String) throws(SystemError) {
        while Glibc.fdatasync(fd) != 0 {
            if errno == EINTR { continue }
            throw SystemError("fdatasync", path: path)
        }
    }

    /// `fsync(2)`, used on directories after a file is created, renamed or removed in them.
    public static func fsync(_ fd: Int32, path: String) throws(SystemError) {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw SystemError("fsync", path: path)
        }
    }

    /// Opens a directory and `fsync(2)`s it, so that entries created in it survive a crash.
    public static func fsyncDirectory(_ path: String) throws(SystemError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path: path)
    }

    /// `fallocate(2)` (mode 0): reserves the blocks, so later writes inside cannot hit ENOSPC.
    public static func fallocate(_ fd: Int32, length: Int, path: String) throws(SystemError) {
        while raqam_fallocate(fd, Int64(length)) != 0 {
            if errno == EINTR { continue }
            throw SystemError("fallocate", path: path)
        }
    }

    /// `flock(2)` exclusive and non-blocking; false when another process holds it.
    public static func tryLockExclusive(_ fd: Int32, path: String) throws(SystemError) -> Bool {
        while raqam_flock_exclusive_nonblocking(fd) != 0 {
            if errno == EINTR { continue }
            if errno == EWOULDBLOCK { return false }
            throw SystemError("flock", path: path)
        }
        return true
    }

    /// What `stat(2)` says of a path: its modification time (to the nanosecond on the file
    /// systems raqam runs on, but a clock tick coarse) and size; nil when it cannot be stat'ed.
    public static func status(_ path: String) -> (modified: timespec, size: Int)? {
        var st = Glibc.stat()
        guard stat(path, &st) == 0 else { return nil }
        return (st.st_mtim, Int(st.st_size))
    }

    /// `stat(2)` of a path, whole (owner, device and inode, size, times).
    public static func information(_ path: String) throws(SystemError) -> Glibc.stat {
        var st = Glibc.stat()
        if stat(path, &st) != 0 { throw SystemError("stat", path: path) }
        return st
    }

    /// `chown(2)`.
    public static func changeOwner(_ path: String, user: uid_t, group: gid_t) throws(SystemError) {
        if Glibc.chown(path, user, group) != 0 { throw SystemError("chown", path: path) }
    }

    /// True when `t` (a file time) lies within the last second of the wall clock: a change in
    /// the same clock tick as an earlier look would not show in it yet.
    public static func isRecent(_ t: timespec) -> Bool {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return now.tv_sec - t.tv_sec <= 1
    }

    /// `fstat(2)` size in bytes.
    public static func fileSize(_ fd: Int32, path: String) throws(SystemError) -> Int {
        var st = stat()
        if Glibc.fstat(fd, &st) != 0 { throw SystemError("stat", path: path) }
        return Int(st.st_size)
    }

    /// `lseek(2)` to `offset` bytes from the start.
    public static func seek(_ fd: Int32, to offset: Int, path: String) throws(SystemError) {
        if Glibc.lseek(fd, off_t(offset), SEEK_SET) < 0 { throw SystemError("lseek", path: path) }
    }

    /// The file offset of `fd`, or nil when it cannot seek (a pipe, a terminal).
    public static func position(_ fd: Int32) -> Int? {
        let at = Glibc.lseek(fd, 0, SEEK_CUR)
        return at >= 0 ? Int(at) : nil
    }

    /// Linux's O_TMPFILE (__O_TMPFILE | O_DIRECTORY), a macro Swift does not import.
    static let tmpfile: Int32 = 0o20_200_000

    /// A file with no name in `directory`, open for reading and writing, gone when closed
    /// (O_TMPFILE); where the file system has no O_TMPFILE, a file made with `mkstemp(3)` and
    /// unlinked at once.
    public static func unnamedFile(in directory: String) throws(SystemError) -> Int32 {
        let fd = Glibc.open(directory, tmpfile | O_RDWR | O_CLOEXEC, 0o600)
        if fd >= 0 { return fd }
        let made = try temporaryFile(directory + "/.raqam-tmp.XXXXXX")
        try? unlink(made.path)
        return made.fd
    }

    /// `mkstemp(3)`: a new file named after `template` (ending in XXXXXX), open for reading
    /// and writing; its descriptor and name.
    public static func temporaryFile(_ template: String) throws(SystemError) -> (fd: Int32, path: String) {
        var name = Array(template.utf8CString)
        let fd = name.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd < 0 { throw SystemError("mkstemp", path: template) }
        return (fd, String(cString: name.map { UInt8(bitPattern: $0) }))
    }

    /// `access(2)`: whether this process may use `path` as `mode` says (R_OK, W_OK, X_OK, F_OK).
    public static func isAccessible(_ path: String, _ mode: Int32) -> Bool {
        Glibc.access(path, mode) == 0
    }

    /// `ftruncate(2)`.
    public static func ftruncate(_ fd: Int32, length: Int, path: String) throws(SystemError) {
        while Glibc.ftruncate(fd, off_t(length)) != 0 {
            if errno == EINTR { continue }
            throw SystemError("truncate", path: path)
        }
    }

    /// `mmap(2)` read-only and shared: the reader sees the writer's later writes to the same pages.
    public static func mapReadOnly(_ fd: Int32, length: Int, path: String) throws(SystemError) -> UnsafeRawBufferPointer {
        if length == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
        guard let p = Glibc.mmap(nil, length, PROT_READ, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw SystemError("mmap", path: path)
        }
        return UnsafeRawBufferPointer(start: p, count: length)
    }

    /// `madvise(MADV_DONTNEED)` on a read-only file mapping: its pages leave this process's
    /// resident set (the page cache keeps them; a later access maps them again).
    public static func dropResidentPages(_ region: UnsafeRawBufferPointer) {
        if let base = region.baseAddress { _ = Glibc.madvise(UnsafeMutableRawPointer(mutating: base), region.count, MADV_DONTNEED) }
    }

    /// `munmap(2)`.
    public static func unmap(_ region: UnsafeRawBufferPointer) {
        if let base = region.baseAddress { _ = Glibc.munmap(UnsafeMutableRawPointer(mutating: base), region.count) }
    }

    /// `rename(2)`.
    public static func rename(_ from: String, _ to: String) throws(SystemError) {
        if Glibc.rename(from, to) != 0 { throw SystemError("rename", path: from) }
    }

    /// True when something exists at `path` (`access(2)` with F_OK).
    public static func exists(_ path: String) -> Bool {
        Glibc.access(path, F_OK) == 0
    }

    /// `unlink(2)`; a missing file is not an error.
    public static func unlink(_ path: String) throws(SystemError) {
        if Glibc.unlink(path) != 0 && errno != ENOENT { throw SystemError("unlink", path: path) }
    }

    /// `mkdir(2)` of every missing component.
    public static func makeDirectories(_ path: String) throws(SystemError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if Glibc.mkdir(current, 0o750) != 0 && errno != EEXIST {
                throw SystemError("mkdir", path: current)
            }
        }
    }

    /// The names in a directory (no `.` or `..`), unsorted.
    public static func listDirectory(_ path: String) throws(SystemError) -> [String] {
        guard let dir = Glibc.opendir(path) else { throw SystemError("opendir", path: path) }
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
    public static func describe(errno code: Int32) -> String {
        String(cString: Glibc.strerror(code))
    }

    /// Wall-clock time in microseconds since the Unix epoch.
    public static func nowMicros() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1_000
    }

    /// Monotonic time in nanoseconds, for intervals.
    public static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Runs `body` on a new, detached thread of its own (`pthread_create(3)`).
    public static func startThread(_ body: @escaping @Sendable () -> Void) throws(SystemError) {
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
            throw SystemError("pthread_create", errno: code)
        }
        pthread_detach(thread)
    }
}
