import Foundation
import RaqamModel
import RaqamStore
import Testing

/// The registered subjects a writer leaves beside the log when it closes (`STATE/registered`):
/// the next open reads only what follows it, and a file that does not belong to the log, or
/// is damaged, is not believed.
@Suite struct RegisteredCacheTests {
    func stateDirectory() -> String {
        let dir = NSTemporaryDirectory() + "raqam-registered-\(UUID().uuidString.prefix(8))"
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    @Test func subjectsRegisteredAfterTheFileWasWrittenAreStillKnown() throws {
        let dir = stateDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let registrations = ReferenceData.bundled.registrationEvents()
        let all = Set(registrations.map(\.subject)).union([.nation])
        do {
            let store = try FileEventStore(stateDirectory: dir)
            try store.append(Array(registrations.dropLast(5)))
            try store.close()
        }
        #expect(FileManager.default.fileExists(atPath: dir + "/registered"))
        do {
            // A writer that ends without closing (a crash) leaves the older file.
            let store = try FileEventStore(stateDirectory: dir)
            try store.append(Array(registrations.suffix(5)))
        }
        #expect(try FileEventStore.registeredSubjects(stateDirectory: dir) == all)
        let store = try FileEventStore(stateDirectory: dir)
        #expect(registrations.suffix(5).allSatisfy { store.isRegistered($0.subject) })
    }

    @Test func aFileOfAnotherLogOrADamagedOneIsNotBelieved() throws {
        let registrations = ReferenceData.bundled.registrationEvents()
        let full = stateDirectory(), half = stateDirectory()
        defer { for d in [full, half] { try? FileManager.default.removeItem(atPath: d) } }
        for (dir, events) in [(full, registrations), (half, Array(registrations.prefix(registrations.count / 2)))] {
            let store = try FileEventStore(stateDirectory: dir)
            try store.append(events)
            try store.close()
        }
        let halfSubjects = try FileEventStore.registeredSubjects(stateDirectory: half)
        // The other log's file: its seq's record is not the one it names.
        try FileManager.default.removeItem(atPath: half + "/registered")
        try FileManager.default.copyItem(atPath: full + "/registered", toPath: half + "/registered")
        #expect(try FileEventStore.registeredSubjects(stateDirectory: half) == halfSubjects)
        // A damaged file: its CRC fails.
        var bytes = try Data(contentsOf: URL(fileURLWithPath: full + "/registered"))
        bytes[bytes.count / 2] ^= 0x20
        try bytes.write(to: URL(fileURLWithPath: full + "/registered"))
        #expect(try FileEventStore.registeredSubjects(stateDirectory: full) == Set(registrations.map(\.subject)).union([.nation]))
    }
}
