import CSystemd
import Glibc

/// Every call into libsystemd, each a thin typed wrapper (the rest of the module never calls
/// C directly).
enum Systemd {
    /// `sd_journal_sendv(3)`: sends one entry, each element a `FIELD=value` pair (values may
    /// hold any bytes, newlines included). Returns 0 or a negative errno. It returns 0 even
    /// when no journald listens on the socket: `JournalSocket.isListening` tells.
    static func journalSendv(_ fields: [[UInt8]]) -> Int32 {
        var buffers = fields.map { bytes -> UnsafeMutableRawBufferPointer in
            let b = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
            b.copyBytes(from: bytes)
            return b
        }
        defer { for b in buffers { b.deallocate() } }
        var iov = zip(buffers.indices, fields).map { i, bytes in iovec(iov_base: buffers[i].baseAddress, iov_len: bytes.count) }
        buffers = buffers.map { $0 }  // keep alive until after the call
        return iov.withUnsafeMutableBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
    }

    /// `sd_notify(3)` with `unset_environment` 0: returns > 0 when sent, 0 when no service
    /// manager listens (`NOTIFY_SOCKET` unset), < 0 (errno) on failure.
    static func notify(_ state: String) -> Int32 {
        sd_notify(0, state)
    }

    /// `sd_watchdog_enabled(3)`: the watchdog interval in µs the service manager expects
    /// keep-alives for (`WATCHDOG_USEC`), or nil when the watchdog is off for this process.
    static func watchdogInterval() -> UInt64? {
        var usec: UInt64 = 0
        return sd_watchdog_enabled(0, &usec) > 0 ? usec : nil
    }
}
