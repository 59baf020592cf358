public import Foundation
import Glibc
import Synchronization

/// The result of running a command to its end.
public struct Finished: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs the program at `path` to its end, feeding it `stdin`, and collects what it printed.
public func runProcess(_ path: String, _ arguments: [String], stdin: [UInt8]? = nil, environment: [String: String] = [:],
                directory: URL? = nil) throws -> Finished {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = arguments
    if let directory { p.currentDirectoryURL = directory }
    var env = ProcessInfo.processInfo.environment
    env["SWIFT_BACKTRACE"] = "enable=no"
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    let writer = Thread {
        if let stdin { writeAll(input.fileHandleForWriting.fileDescriptor, stdin) }
        try? input.fileHandleForWriting.close()
    }
    writer.start()
    let errData = Mutex<Data>(Data())
    let errReader = Thread { errData.withLock { $0 = err.fileHandleForReading.readDataToEndOfFile() } }
    errReader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    while errReader.isExecuting || !errReader.isFinished { usleep(1000) }
    return Finished(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                    stderr: String(decoding: errData.withLock { $0 }, as: UTF8.self))
}

/// Writes all bytes to a file descriptor, stopping quietly when the reader is gone.
public func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
    signal(SIGPIPE, SIG_IGN)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, bytes.count - done) }
        if n < 0 { if errno == EINTR { continue }; return }
        done += n
    }
}
