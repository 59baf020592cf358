/// The service manager's notification protocol (sd_notify(3)), for `Type=notify` units.
public enum SystemdNotifier {
    /// Sends a state string such as `READY=1` through `sd_notify`; returns false when no
    /// service manager listens (NOTIFY_SOCKET unset) or sending failed.
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        Systemd.notify(state) > 0
    }

    /// The interval (µs) at which the service manager expects `WATCHDOG=1`, or nil when the
    /// watchdog is off. Send at half of it.
    public static var watchdogInterval: UInt64? { Systemd.watchdogInterval() }

    /// Names the C library this binary links, for `--version`.
    public static var libraryDescription: String { "libsystemd" }
}
