import CRaqamSupport
import Glibc

/// The calling thread's CPU priority (`setpriority(2)` on the thread's id: on Linux a nice
/// value is per thread).
public enum ThreadPriority {
    /// Lowers the calling thread's priority by `niceness` (1…19): the scheduler gives it the
    /// CPU after the threads at the default priority. Work that may lag (folding what is
    /// already acknowledged) yields to work a caller waits for (the next acknowledgement).
    /// - Throws: `SystemError` with the errno when the kernel refuses.
    public static func lower(by niceness: Int32) throws(SystemError) {
        let tid = id_t(raqam_gettid())
        errno = 0
        let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), tid)
        if current == -1, errno != 0 { throw SystemError("getpriority", errno: errno) }
        guard setpriority(__priority_which_t(PRIO_PROCESS.rawValue), tid, min(19, current + niceness)) == 0 else {
            throw SystemError("setpriority", errno: errno)
        }
    }
}
