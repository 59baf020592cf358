import CRaqamSupport

/// CRC-32C (Castagnoli) of the log's frames and files.
enum CRC32C {
    /// The checksum of `bytes`, continuing from `crc` (0 to start). Calls `raqam_crc32c`.
    static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return crc }
        return raqam_crc32c(crc, base, bytes.count)
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }

    /// True when the CPU's crc32 instruction is in use (`raqam_crc32c_is_hardware`).
    static var isHardware: Bool { raqam_crc32c_is_hardware() != 0 }
}
