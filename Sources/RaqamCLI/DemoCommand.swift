import ArgumentParser
import Foundation
import RaqamModel
import Scenario

/// `raqamctl demo`: the H1-2021 scenario as NDJSON, ready for `raqamctl append`.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Write the H1-2021 scenario: the programme's events from 2020-10-05 to 2021-06-30, as NDJSON.",
        discussion: """
            A seeded generator over the bundled reference data (14 regions, 208 districts and \
            cities, 94 state bodies) reproduces the report of 13 July 2021: 443 sector projects \
            (194 implemented), 1,643 regional projects (1,172 implemented), 253 portal services, \
            7.2 trillion sums of digital-economy services and 17.5 million USD of software export \
            in 2021-H1, the targets of 16 trillion sums, 40 million USD and 100 mobile services. \
            The bundled rules flag 65 organizations and 116 districts and cities as of 2021-06-30 \
            because of what their events say (a poor assessment, projects behind or overdue, no \
            road map, a missing or stale portal, untrained staff, silence); the rest are clean. \
            The same seed writes the same bytes; event ids derive from it, so appending the \
            scenario twice stores it once.

            Replay it with the events clock, so that time moves with the events:
              raqamctl init --clock events --effective 2020-10-05
              raqamctl demo | raqamctl append -
              raqamctl lagging --at 2021-06-30
            (make demo does this through a running raqamd.)
            """
    )

    @Option(help: ArgumentHelp("The generator's seed.", valueName: "n"))
    var seed: UInt64 = H1Scenario.defaultSeed

    @Option(help: ArgumentHelp("Write to this file instead of standard output.", valueName: "file"))
    var output: String?

    func run() throws {
        let scenario = H1Scenario(seed: seed)
        var text = ""
        text.reserveCapacity(scenario.events.count * 220)
        for e in scenario.events {
            text += EventJSON.line(e)
            text += "\n"
        }
        guard let output else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output))
        } catch {
            printError("raqamctl: cannot write \(output): \(error.localizedDescription)")
            throw Exit.ioError
        }
        let f = scenario.figures
        printError("raqamctl demo: wrote \(scenario.events.count) events (seed \(seed), \(f.start) to \(f.end)) to \(output)")
    }
}
