import Foundation
import Testing

/// An id names one report: sent again with the same content it is a duplicate (acknowledged
/// with its seq, stored once); sent with other content it is a conflict, refused the same
/// way by every entry point, and nothing of it is stored.
@Suite(.serialized) struct ConflictTests {
    /// `projectEvent(i)` with another title: the same id, other content.
    func changed(_ i: Int) -> String {
        projectEvent(i).replacingOccurrences(of: "Project number \(i)", with: "Project number \(i), renamed")
    }

    func prepared() throws -> StateDirectory {
        let dir = StateDirectory()
        #expect(try run("raqamctl", ["init", "--state-dir", dir.path]).status == 0)
        #expect(try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: ndjson(0..<3)).status == 0)
        return dir
    }

    @Test func appendOfAFileRefusesAConflictNamingItsLineAndTheStoredSeqAndStoresNothing() throws {
        let dir = try prepared()
        let file = dir.path + "/batch.ndjson"
        try ([projectEvent(10), changed(1), projectEvent(11)].joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let r = try run("raqamctl", ["append", "--state-dir", dir.path, file])
        #expect(r.status == 65)
        #expect(r.stderr.contains("batch.ndjson:2: id: conflict: 00000000-0000-4000-8000-000000000001 is stored at seq 318 with another data.title"), "\(r.stderr)")
        #expect(r.stderr.contains("nothing was appended"))
        #expect(try storedEvents(dir.path).count == 319)
    }

    @Test func theSameInstantWrittenWithAnotherOffsetIsADuplicateNotAConflict() throws {
        let dir = try prepared()
        let utc = projectEvent(2).replacingOccurrences(of: "2021-03-12T10:00:00+05:00", with: "2021-03-12T05:00:00Z")
        #expect(utc != projectEvent(2))
        let r = try run("raqamctl", ["append", "--state-dir", dir.path, "-"], stdin: Array((utc + "\n").utf8))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "appended 0 events; 1 event already stored\n")
    }

    @Test func appendStreamRefusesTheConflictingLineAndStoresTheOthers() throws {
        let dir = try prepared()
        let input = [projectEvent(20), changed(0), projectEvent(0), projectEvent(21)].joined(separator: "\n") + "\n"
        let r = try run("raqamctl", ["append", "--state-dir", dir.path, "--stream", "-"], stdin: Array(input.utf8))
        #expect(r.status == 65)
        #expect(r.stderr.contains("<stdin>:2: id: conflict: 00000000-0000-4000-8000-000000000000 is stored at seq 317"), "\(r.stderr)")
        #expect(r.stdout == #"""
            {"line":1,"seq":320,"duplicate":false}
            {"line":3,"seq":317,"duplicate":true}
            {"line":4,"seq":321,"duplicate":false}

            """#)
        #expect(try storedEvents(dir.path).count == 321)
    }

    @Test func oneIdTwiceWithDifferentContentInOneStreamIsAConflictWithTheFirst() throws {
        let dir = try prepared()
        let input = [projectEvent(30), changed(30)].joined(separator: "\n") + "\n"
        let r = try run("raqamctl", ["append", "--state-dir", dir.path, "--stream", "-"], stdin: Array(input.utf8))
        #expect(r.status == 65)
        #expect(r.stderr.contains("<stdin>:2: id: conflict: 00000000-0000-4000-8000-000000000030 is stored at seq 320 with another data.title"), "\(r.stderr)")
        #expect(try storedEvents(dir.path).count == 320)
    }

    @Test func theControlSocketAnswersAConflictAsAnErrorOfItsLine() throws {
        let d = try DaemonProcess(rules: [DaemonProcessTests().districtRules])
        _ = d.notify.receive(for: 20) { $0.contains { $0.contains("READY=1") } }
        let replies = try d.send([projectEvent(0), changed(0), projectEvent(0)], replies: 3)
        #expect(replies.count == 3)
        #expect(replies[0] == "ok 317")
        #expect(replies[1].hasPrefix("error 2: conflict: 00000000-0000-4000-8000-000000000000 is stored at seq 317 with another data.title"), "\(replies)")
        #expect(replies[2] == "duplicate 317")
        // raqamctl append through the daemon: the conflict is refused, exit 65.
        let r = try run("raqamctl", ["append", "--state-dir", d.dir.path, "--socket", d.socketPath, "-"], stdin: Array((changed(0) + "\n" + projectEvent(1) + "\n").utf8))
        #expect(r.status == 65)
        #expect(r.stderr.contains("<stdin>:1: raqamd refused it: error 1: conflict:"), "\(r.stderr)")
        d.signal(SIGTERM)
        #expect(d.waitExit() == 0)
        #expect(try storedEvents(d.dir.path).count == 318)
    }
}
