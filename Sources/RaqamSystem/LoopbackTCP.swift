import Glibc

/// TCP on 127.0.0.1 by hand, for what the tests and the benchmarks listen on or connect to
/// beside raqamd's HTTP API (which Hummingbird serves): a free port, a listener on one, a
/// connection. Descriptors are plain, owned by the caller (close them).
public enum LoopbackTCP {
    /// A port nothing listens on this instant: one the kernel gave a socket bound to port 0,
    /// read back, and closed.
    public static func freePort() throws(SystemError) -> Int {
        let (fd, port) = try bound()
        close(fd)
        return port
    }

    /// A socket listening on 127.0.0.1 at a port the kernel chose, and that port.
    public static func listen(backlog: Int32 = 64) throws(SystemError) -> (fd: Int32, port: Int) {
        let (fd, port) = try bound()
        guard Glibc.listen(fd, backlog) == 0 else {
            let e = SystemError("listen on 127.0.0.1:\(port)")
            close(fd)
            throw e
        }
        return (fd, port)
    }

    /// A connection to 127.0.0.1:`port`.
    public static func connect(port: Int) throws(SystemError) -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var addr = address(port: port)
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else {
            let e = SystemError("connect to 127.0.0.1:\(port)")
            close(fd)
            throw e
        }
        return fd
    }

    static func address(port: Int) -> sockaddr_in {
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = UInt16(port).bigEndian
        return addr
    }

    /// A TCP socket bound to 127.0.0.1 at a port the kernel chose (SO_REUSEADDR set).
    static func bound() throws(SystemError) -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = address(port: 0)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &addr, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }) == 0,
              withUnsafeMutablePointer(to: &addr, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }) == 0 else {
            let e = SystemError("bind to 127.0.0.1:0")
            close(fd)
            throw e
        }
        return (fd, Int(UInt16(bigEndian: addr.sin_port)))
    }
}
