import ArgumentParser
import RaqamControl
import RaqamEngine
import RaqamModel
import RaqamStore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Register the bundled reference data: 14 regions, 208 districts and cities, 94 state bodies.",
        discussion: """
            Appends one entity.registered event per entity, dated --effective (default \
            2020-01-01, before the programme), with ids derived from the SOATO codes and slugs: \
            running init again stores nothing new.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(parsing: .unconditional, help: ArgumentHelp("The date the entities are registered on (2020-10-05: its start, Tashkent time; or any time journalctl takes).", valueName: "date"), transform: timeArgument)
    var effective: TimeExpression?

    @Option(help: ArgumentHelp("Set the state directory's evaluation clock: wall (live monitoring, the default) or events (history: events count from when they occurred). raqamd and raqamctl lagging follow it.", valueName: "clock"))
    var clock: ClockArgument?

    @Flag(help: "Let --clock change the clock of a state directory that already holds events.") var force = false

    func run() throws {
        let at = effective?.fromWhen ?? ReferenceData.defaultEffective
        let events = ReferenceData.bundled.registrationEvents(effective: at)
        if let daemon = try controlClient(global.socketPath, toDo: "register the entities (nothing was registered)") {
            // raqamd holds the log: register through it (the ids make it idempotent).
            if clock != nil { printError("raqamctl: --clock is set before raqamd starts (in its configuration, or init without a daemon)") }
            let replies = try daemon.exchange(events.map { Array(EventJSON.line($0).utf8)[...] })
            let added = replies.compactMap { ControlProtocol.Ack(reply: $0) }.filter { !$0.isDuplicate }.count
            let refused = replies.filter { $0.hasPrefix("error") }
            for r in refused { printError("raqamctl: raqamd refused: \(r)") }
            print("registered \(added) new entities (\(replies.count - added - refused.count) already registered) through raqamd at \(global.socketPath)")
            if !refused.isEmpty { throw Exit.dataError }
            return
        }
        // A clock decides how every alert of the log is evaluated: changing it on a log that
        // holds events changes its history, so only when asked in so many words.
        var changed: String?
        if let clock {
            let current = FileEventStore.clockSetting(stateDirectory: global.stateDirectory) ?? "wall"
            let holdsEvents = (try? StoredEventReader(stateDirectory: global.stateDirectory).lastSeq()).map { $0 > 0 } ?? false
            if holdsEvents && current != clock.rawValue {
                guard force else {
                    printError("""
                        raqamctl: \(global.stateDirectory) holds events evaluated on the \(current) clock; --clock \(clock.rawValue) would \
                        change how every alert is evaluated (on the \(clock.rawValue) clock events count from when they \
                        \(clock == .events ? "occurred" : "were recorded"), and `lagging --at` answers differently); nothing changed. \
                        Add --force to change it.
                        """)
                    throw ExitCode(64)
                }
                changed = current
            }
        }
        try withStoreErrors {
            if let clock { try FileEventStore.setClock(clock.rawValue, stateDirectory: global.stateDirectory) }
            if let changed, let clock { printError("raqamctl: the clock of \(global.stateDirectory) changed from \(changed) to \(clock.rawValue) (--force)") }
            let store = try FileEventStore(stateDirectory: global.stateDirectory,
                                           acknowledgedThrough: AcknowledgedPosition.ofSnapshots(stateDirectory: global.stateDirectory))
            for line in store.recoveryNotes { printError("raqamctl: \(line)") }
            let results = try store.append(events)
            try store.close()
            let added = results.filter { !$0.isDuplicate }.count
            let data = ReferenceData.bundled
            print("registered \(added) new entities (\(results.count - added) already registered): \(data.regions.count) regions, \(data.districts.count) districts and cities, \(data.organizations.count) organizations in \(global.stateDirectory)\(clock.map { " (clock: \($0.rawValue))" } ?? "")")
        }
    }
}
