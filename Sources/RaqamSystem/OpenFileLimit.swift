import Glibc

/// The process's limit on open descriptors (`getrlimit(2)`/`setrlimit(2)`, RLIMIT_NOFILE).
public enum OpenFileLimit {
    /// Raises the soft limit to the hard one (systemd's default soft limit is 1024, its hard
    /// one far higher: a program that needs more descriptors is expected to raise it itself).
    /// Returns the soft limit in force afterwards.
    @discardableResult
    public static func raiseToHardLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }
}
