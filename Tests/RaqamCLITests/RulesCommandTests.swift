import Foundation
import Testing

@Suite struct RulesCommandTests {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func theBundledRulesPassRulesCheck() throws {
        let r = try run("raqamctl", ["rules", "check", root.appendingPathComponent("rules").path])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(r.stdout.hasPrefix("ok: "))
    }

    @Test func rulesCheckPrintsEveryProblemAndExitsOne() throws {
        let dir = StateDirectory()
        let file = dir.path + "/broken.yaml"
        try """
        groups:
          - name: g
            rules:
              - alert: A
                scope: district
                expr: projects.complete < 0.6
              - alert: B
                scope: org
                expr: true
                severity: loud
        """.write(toFile: file, atomically: true, encoding: .utf8)
        let r = try run("raqamctl", ["rules", "check", file])
        #expect(r.status == 1)
        #expect(r.stdout == """
            \(file):6:15: unknown metric 'projects.complete'; did you mean 'projects.completion'?
            \(file):10:19: severity 'loud' is not one of critical, warning, info
            2 problems in 1 file

            """)
    }
}
