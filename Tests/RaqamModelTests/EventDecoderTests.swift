import Foundation
import Testing
import RaqamModel

func decode(_ line: String) -> EventDecoder.Decoded { EventDecoder.decode(line: Array(line.utf8)) }

func issues(_ line: String) -> [String] {
    if case .invalid(let found) = decode(line) { return found.map(\.description) }
    return []
}

func event(_ line: String) throws -> Event {
    guard case .event(let e) = decode(line) else { throw ExpectationFailed(issues(line).joined(separator: "; ")) }
    return e
}

struct ExpectationFailed: Error { let text: String; init(_ t: String) { text = t } }

@Suite struct EventDecoderTests {
    @Test func theExampleOfTheDesignDecodes() throws {
        let e = try event(#"{"id":"2b0f5c8e-7d0a-4d1e-9a55-0c1f7e2f4a10","type":"project.implemented","subject":"district:1703202","occurred_at":"2021-05-14T09:30:00+05:00","source":"hokimiyat-andijan","data":{"project":"RP-1703202-004"}}"#)
        #expect(e.type == .projectImplemented)
        #expect(e.subject.description == "district:1703202")
        #expect(e.subject.regionKey?.description == "region:1703")
        #expect(e.occurredAt.rfc3339 == "2021-05-14T09:30:00+05:00")
        #expect(e.occurredAt.micros == 1_620_966_600_000_000)
        #expect(e.id?.description == "2b0f5c8e-7d0a-4d1e-9a55-0c1f7e2f4a10")
        #expect(e[field: "project"] == .string("RP-1703202-004"))
        #expect(EventJSON.line(e) == #"{"id":"2b0f5c8e-7d0a-4d1e-9a55-0c1f7e2f4a10","type":"project.implemented","subject":"district:1703202","occurred_at":"2021-05-14T09:30:00+05:00","source":"hokimiyat-andijan","data":{"project":"RP-1703202-004"}}"#)
    }

    @Test(arguments: [
        (#"{"type":"project.registered","subject":"org:ministry-digital-technologies","occurred_at":"2020-10-05T10:00:00Z","data":{"project":"SP-1","program":"sector","title":"E-archive","due":"2021-12-31"}}"#, "due"),
        (#"{"type":"service.launched","subject":"org:ministry-justice","occurred_at":"2021-01-10T10:00:00Z","data":{"service":"S-1","channel":"mobile"}}"#, "channel"),
        (#"{"type":"assessment.recorded","subject":"region:1703","occurred_at":"2021-03-01T00:00:00+05:00","data":{"organized":false,"score":41.5,"note":"no CIO"}}"#, "score"),
        (#"{"type":"economy.reported","subject":"nation","occurred_at":"2021-07-01T00:00:00+05:00","data":{"period":"2021-H1","services_volume_uzs":7200000000000}}"#, "period"),
        (#"{"type":"training.reported","subject":"district:1703202","occurred_at":"2021-04-01T00:00:00+05:00","data":{"staff":40,"trained":12}}"#, "staff"),
        (#"{"type":"target.set","subject":"nation","occurred_at":"2021-07-13T00:00:00+05:00","data":{"metric":"services.mobile","value":100,"deadline":"2022-12-31"}}"#, "metric"),
    ])
    func everyTypeRoundTripsThroughJSONAndTheBinaryForm(line: String, someField: String) throws {
        let e = try event(line)
        #expect(e[field: someField] != nil)
        #expect(try EventCodec.decode(EventCodec.encode(e)) == e)
        #expect(try event(EventJSON.line(e)) == e)
    }

    @Test(arguments: [
        ("{\"type\":", "type: malformed JSON at column 9: unexpected end of line; expected a value"),
        (#"{"type":"economy.reported","subject":"nation","occurred_at":"2021-06-30T10:00:00+05:00","data":{"period":"2021-H1","services_volume_uzs":1e400}}"#,
         "data.services_volume_uzs: malformed JSON at column 138: the number 1e400 is out of range; expected a finite number (at most about 1.8e308 in magnitude)"),
        ("\u{FEFF}{\"type\":5", "malformed JSON at column 10: unexpected end of line; expected ',' or '}'"),
        (#"{"type":"project.implemnted","subject":"org:x","occurred_at":"2021-01-01T00:00:00Z","data":{}}"#,
         #"type: unknown event type "project.implemnted"; did you mean "project.implemented"?"#),
        (#"{"type":"project.implemented","subject":"district:17","occurred_at":"2021-01-01T00:00:00Z","data":{"project":"P"}}"#,
         #"subject: a district key has a 7- or 10-digit SOATO code (district:1703202), got "district:17""#),
        (#"{"type":"project.implemented","subject":"district:1703202","occurred_at":"2021-01-01T00:00:00Z","data":{}}"#,
         "data.project: missing; expected a non-empty string"),
        (#"{"type":"roadmap.approved","subject":"org:x","occurred_at":"2021-01-01T00:00:00Z","data":{"products_planned":"12"}}"#,
         #"data.products_planned: expected a whole number ≥ 0, got "12""#),
        (#"{"type":"project.implemented","subject":"org:x","occurred_at":"2021-05-14 25:00","data":{"project":"P"}}"#,
         #"occurred_at: "2021-05-14 25:00" is not an RFC 3339 time; expected e.g. "2021-05-14T09:30:00+05:00""#),
        (#"{"type":"economy.reported","subject":"org:x","occurred_at":"2021-01-01T00:00:00Z","data":{"period":"2021-H1","services_volume_uzs":1}}"#,
         "subject: economy.reported is about nation, region, not org"),
        (#"{"type":"training.reported","subject":"org:x","occurred_at":"2021-01-01T00:00:00Z","data":{"staff":10,"trained":11}}"#,
         "data.trained: 11 trained is more than the 10 staff reported"),
        (#"{"type":"portal.updated","subject":"org:x","occurred_at":"2021-01-01T00:00:00Z","data":{"posts":3,"views":9}}"#,
         "data.views: unknown field for portal.updated; it takes posts"),
        (#"[1,2]"#, "expected a JSON object, got an array"),
    ])
    func badInputNamesTheFieldAndWhatWasExpected(line: String, message: String) {
        #expect(issues(line) == [message])
    }

    @Test func everyProblemOfALineIsReported() {
        let found = issues(#"{"type":"project.registered","subject":"org:x","occurred_at":"yesterday","data":{"project":"P","program":"state","due":"2021-02-30"}}"#)
        #expect(found == [
            #"occurred_at: "yesterday" is not an RFC 3339 time; expected e.g. "2021-05-14T09:30:00+05:00""#,
            #"data.program: expected one of "sector", "regional", got "state""#,
            "data.title: missing; expected a non-empty string",
            #"data.due: expected a date YYYY-MM-DD, got "2021-02-30""#,
        ])
    }

    @Test func invalidUTF8AndOverlongLinesAreRefused() {
        var bytes = Array(#"{"type":"project.implemented","subject":"org:x","occurred_at":"2021-01-01T00:00:00Z","data":{"project":"P"#.utf8)
        bytes += [0xC3, 0x28] + Array(#""}}"#.utf8)
        guard case .invalid(let found) = EventDecoder.decode(line: bytes) else { Issue.record("accepted invalid UTF-8"); return }
        #expect(found.map(\.description) == ["invalid UTF-8 at byte \(bytes.count - 4); the input must be UTF-8"])

        let long = #"{"type":"project.implemented","subject":"org:x","occurred_at":"2021-01-01T00:00:00Z","data":{"project":"\#(String(repeating: "x", count: 70_000))"}}"#
        #expect(issues(long).first?.hasPrefix("the line has 70") == true)
        #expect(issues(long).first?.hasSuffix("an event may have at most 65536") == true)
    }

    @Test func outputMembersSeqAndRecordedAtAreAcceptedAndIgnored() throws {
        let e = try event(#"{"seq":7,"type":"service.simplified","subject":"org:x","occurred_at":"2021-01-01T00:00:00Z","recorded_at":"2021-01-02T00:00:00Z","data":{"service":"S"}}"#)
        #expect(e.type == .serviceSimplified)
    }

    @Test(arguments: [
        ("2021-05-14T09:30:00+05:00", "2021-05-14T09:30:00+05:00"),
        ("2021-05-14t04:30:00.25z", "2021-05-14T04:30:00.25Z"),
        ("1969-12-31T23:59:59.999999Z", "1969-12-31T23:59:59.999999Z"),
        ("2024-02-29T00:00:00-03:30", "2024-02-29T00:00:00-03:30"),
    ])
    func timestampsParseAndPrintBackTheSame(text: String, printed: String) throws {
        let t = try #require(Timestamp(rfc3339: text))
        #expect(t.rfc3339 == printed)
        #expect(Timestamp(rfc3339: t.rfc3339) == t)
    }

    @Test(arguments: ["2021-13-01T00:00:00Z", "2021-02-29T00:00:00Z", "2021-01-01T00:00:00", "2021-01-01", "2021-01-01T24:00:00Z", "2021-01-01T00:00:00+5:00"])
    func malformedTimestampsAreRefused(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }
}

@Suite struct ReferenceDataTests {
    @Test func bundledDataHasEveryRegionDistrictAndBody() {
        let data = ReferenceData.bundled
        #expect(data.regions.count == 14)
        #expect(data.districts.count == 208)
        #expect(data.districts.filter { $0.kind == "city" }.count == 31)
        #expect(data.organizations.count == 94)
        #expect(data.organizations.first { $0.slug == "ministry-investment-industry-trade" }?.nameEn == "Ministry of Investment, Industry and Trade")
        #expect(Set(data.districts.map(\.regionCode)).isSubset(of: Set(data.regions.map(\.code))))
    }

    @Test func embeddedCopyMatchesTheFilesInData() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let source = try String(contentsOf: root.appendingPathComponent("Sources/RaqamModel/ReferenceData+Embedded.swift"), encoding: .utf8)
        for name in ["regions", "districts", "organizations"] {
            let csv = try String(contentsOf: root.appendingPathComponent("data/\(name).csv"), encoding: .utf8)
            #expect(source.contains("static let \(name)CSV = #\"\"\"\n\(csv)\"\"\"#"), "data/\(name).csv changed: run python3 scripts/embed-reference-data.py")
        }
    }

    @Test func registrationEventsAreValidAndTheirIdsAreStable() throws {
        let events = ReferenceData.bundled.registrationEvents()
        #expect(events.count == 14 + 208 + 94)
        #expect(Set(events.compactMap(\.id)).count == events.count)
        #expect(events.map(\.id) == ReferenceData.bundled.registrationEvents().map(\.id))
        for e in events {
            // Each one passes the same validation as reported input.
            #expect(try event(EventJSON.line(e)) == e)
        }
        let andijanDistrict = try #require(events.first { $0.subject.description == "district:1703203" })
        #expect(andijanDistrict[field: "parent"] == .string("region:1703"))
        #expect(andijanDistrict[field: "name"] == .string("Andijan District"))
    }
}
