import RaqamModel

/// Each owner's history: projects, portal, training, assessment, road map; the regions' own
/// reports; the services of the Single Portal and the mobile app; the nation's figures.
extension ScenarioBuilder {
    static let implementedDues = ["2020-12-31", "2021-03-31", "2021-06-30", "2021-09-30", "2021-12-31", "2022-06-30", "2022-12-31"].map(day)
    static let overdueDues = ["2021-01-31", "2021-02-28", "2021-03-31", "2021-04-30", "2021-05-31"].map(day)
    static let laterDues = ["2021-09-30", "2021-12-31", "2022-06-30", "2022-12-31"].map(day)
    static let districtProjects = [
        "Electronic document flow in the hokimiyat", "Internet in the district's schools", "Digital land register",
        "Online queue for kindergartens", "Video surveillance at crossroads", "Broadband for rural settlements",
        "Marketplace for local producers", "Public services centre", "Register of social aid", "Smart street lighting",
        "Digital mahalla records", "Electronic medical cards in the polyclinic", "Wi-Fi in public places",
        "Online reception of the hokim", "Digital irrigation accounting",
    ]
    static let sectorProjects = [
        "Interagency data exchange", "Electronic archive", "Open data set", "Internal information system",
        "Electronic licensing", "Data centre migration", "Analytics of the sector", "Mobile inspections",
        "Registry on the Single Portal", "Electronic procurement", "Staff records system", "Cyber security audit",
    ]
    static let serviceNames = [
        "Certificate of no criminal record", "Business registration", "Building permit", "Licence renewal",
        "Social benefit application", "Land plot allocation", "Passport application", "Vehicle registration",
        "Pension calculation", "Customs declaration", "Tax certificate", "Kindergarten enrolment",
        "Utility connection", "Export certificate", "Medical certificate", "Property registration",
    ]

    // MARK: Organizations and districts

    mutating func history(of o: Owner) {
        let end = figures.end.days, last = reportsUntil(o.key)

        // Projects, registered in the programme's first weeks.
        let program = o.isOrg ? "sector" : "regional"
        let names = o.isOrg ? Self.sectorProjects : Self.districtProjects
        let registered = [day("2020-10-12", "2020-11-10"), day("2020-11-11", "2020-11-30")]
        let done = Set(rng.sample(o.implemented, of: o.projects))
        let open = (0..<o.projects).filter { !done.contains($0) }
        var overdue = o.causes.contains(.overdue) ? Set(open.prefix(min(open.count, rng.int(in: 2...3)))) : []
        if overdue.isEmpty, let first = open.first, rng.chance(0.15) { overdue = [first] }  // one slip is not a pattern
        for n in 0..<o.projects {
            let id = "\(o.isOrg ? "SP" : "RP")-\(o.key.code)-\(String(n + 1).leftPadded(3))"
            let on = registered[n % 2]
            let title = rng.element(of: names)
            if done.contains(n) {
                let implemented = day(on + 21, min(last, end - 2))
                let due = rng.element(of: Self.implementedDues.filter { $0 >= implemented })
                emit(.projectRegistered, o.key, on: on, source: o.source, [.string(id), .string(program), .string(title), .date(CalendarDate(days: due))])
                emit(.projectImplemented, o.key, on: implemented, source: o.source, [.string(id), nil])
            } else if overdue.contains(n) {
                let due = o.causes.contains(.overdue) ? rng.element(of: Self.overdueDues) : Self.day("2021-06-15")
                emit(.projectRegistered, o.key, on: on, source: o.source, [.string(id), .string(program), .string(title), .date(CalendarDate(days: due))])
            } else {
                let due = rng.element(of: Self.laterDues)
                let first = Self.day("2021-03-31"), moved = day(first - 30, min(first - 3, last))
                if rng.chance(0.12), moved < first, moved <= last {
                    // Registered for March, moved before it fell due.
                    emit(.projectRegistered, o.key, on: on, source: o.source, [.string(id), .string(program), .string(title), .date(CalendarDate(days: first))])
                    emit(.projectRescheduled, o.key, on: moved, source: o.source, [.string(id), .date(CalendarDate(days: due))])
                } else {
                    emit(.projectRegistered, o.key, on: on, source: o.source, [.string(id), .string(program), .string(title), .date(CalendarDate(days: due))])
                }
            }
        }

        portal(o.key, url: o.url, source: o.source, missing: o.causes.contains(.portalMissing), stale: o.causes.contains(.portalStale))
        training(o.key, source: o.source, staff: o.isOrg ? 60...900 : 30...150, untrained: o.causes.contains(.untrained))
        assessment(o.key, source: o.source, poor: o.causes.contains(.assessment))
        if o.isOrg, !o.causes.contains(.roadmap) { roadmap(o.key, source: o.source, by: rng.chance(0.5) ? "2020-11-03" : "2021-03-31") }
    }

    /// A portal launched and posted to every few weeks; a stale one stops posting by mid-March.
    mutating func portal(_ key: EntityKey, url: String, source: String, missing: Bool, stale: Bool) {
        guard !missing else { return }
        let end = figures.end.days
        let launched = stale || rng.chance(0.6) ? day("2020-10-15", "2020-11-30") : day("2020-12-01", "2021-04-30")
        emit(.portalLaunched, key, on: launched, source: source, [.string(url)])
        let until = stale ? day("2021-01-20", "2021-03-15") : end - 3
        var on = launched + Int32(rng.int(in: 18...40)), last = launched
        while on <= until {
            emit(.portalUpdated, key, on: on, source: source, [.integer(Int64(rng.int(in: 2...30)))])
            last = on
            on += Int32(rng.int(in: 18...40))
        }
        if !stale, last < Self.day("2021-06-01") {
            emit(.portalUpdated, key, on: day("2021-06-01", "2021-06-25"), source: source, [.integer(Int64(rng.int(in: 2...30)))])
        }
    }

    /// Quarterly training reports (December, March, early June): over half the staff trained
    /// and rising, or under half throughout.
    mutating func training(_ key: EntityKey, source: String, staff: ClosedRange<Int>, untrained: Bool) {
        let total = rng.int(in: staff)
        var share = untrained ? rng.unit(0.10, 0.25) : rng.unit(0.50, 0.62)
        for (from, to) in [("2020-12-07", "2020-12-24"), ("2021-03-09", "2021-03-24"), ("2021-06-01", "2021-06-10")] {
            let trained = untrained ? min(share, 0.45) : max(share, 0.56)
            emit(.trainingReported, key, on: day(from, to), source: source,
                 [.integer(Int64(total)), .integer(Int64((Double(total) * min(trained, 0.95)).rounded(.down)))])
            share += untrained ? rng.unit(0, 0.08) : rng.unit(0.03, 0.10)
        }
    }

    /// The spring assessment: organized at the proper level with a good score, or not.
    mutating func assessment(_ key: EntityKey, source: String, poor: Bool) {
        let last = reportsUntil(key)
        let on = poor && last < figures.end.days ? day(Self.day("2021-03-01"), last) : day("2021-04-05", "2021-06-20")
        if !poor {
            emit(.assessmentRecorded, key, on: on, source: source, [.boolean(true), .number(Double(rng.int(in: 55...96))), nil])
        } else if rng.chance(0.7) {
            emit(.assessmentRecorded, key, on: on, source: source,
                 [.boolean(false), .number(Double(rng.int(in: 15...48))), .string("digitalization is not organized at the proper level")])
        } else {
            emit(.assessmentRecorded, key, on: on, source: source, [.boolean(true), .number(Double(rng.int(in: 30...49))), nil])
        }
    }

    /// A road map of new software products, and the products introduced since.
    mutating func roadmap(_ key: EntityKey, source: String, by: String) {
        let approved = day(Self.day("2020-10-12"), Self.day(by))
        let planned = rng.int(in: 3...12)
        emit(.roadmapApproved, key, on: approved, source: source, [.integer(Int64(planned))])
        for n in 0..<rng.int(in: 0...(planned / 2)) {
            emit(.roadmapProductIntroduced, key, on: day(approved + 14, figures.end.days - 2), source: source,
                 [.string("\(key.code)-product-\(n + 1)")])
        }
    }

    // MARK: Regions, services, the nation

    mutating func history(of region: ReferenceData.Region) {
        let source = "hokimiyat-\(region.slug)"
        roadmap(region.key, source: source, by: "2020-12-20")
        portal(region.key, url: "https://\(region.slug).uz", source: source, missing: false, stale: false)
        training(region.key, source: source, staff: 40...200, untrained: false)
    }

    /// The Single Portal's services and the mobile app's, by body, weighted by its kind; some
    /// portal services simplified later.
    mutating func services(_ orgs: [Owner]) {
        let weights = reference.organizations.map { ["ministry": 3.0, "committee": 2.0, "agency": 1.5][$0.category] ?? 0.5 }
        let start = Self.day("2020-10-06"), end = Self.day("2021-06-25")
        var launched: [(EntityKey, String, Int32)] = []
        for n in 1...figures.portalServices {
            let o = orgs[rng.index(weights: weights)]
            let on = day(start, min(end, reportsUntil(o.key)))
            let id = "PS-\(String(n).leftPadded(3))"
            emit(.serviceLaunched, o.key, on: on, source: o.source, [.string(id), .string("portal"), .string(rng.element(of: Self.serviceNames))])
            launched.append((o.key, id, on))
        }
        for n in 1...figures.mobileServices {
            let o = orgs[rng.index(weights: weights)]
            // A few before the targets were set, the rest through 2021.
            let window = n <= 8 ? (start, Self.day("2020-12-30")) : (Self.day("2021-01-05"), end)
            let on = day(window.0, min(window.1, reportsUntil(o.key)))
            emit(.serviceLaunched, o.key, on: on, source: o.source,
                 [.string("MS-\(String(n).leftPadded(3))"), .string("mobile"), .string(rng.element(of: Self.serviceNames))])
        }
        var simplified = 0
        for i in rng.sample(launched.count, of: launched.count) where simplified < figures.simplifiedServices {
            let (key, id, on) = launched[i]
            let until = min(end, reportsUntil(key))
            guard on + 10 <= until else { continue }
            emit(.serviceSimplified, key, on: day(on + 10, until), source: orgs.first { $0.key == key }!.source, [.string(id)])
            simplified += 1
        }
    }

    /// The targets for 2021 and the half-year's figures.
    mutating func nation() {
        let set = figures.targetsSet.days, deadline = FieldValue.date(figures.targetsDeadline)
        for (metric, value) in [("economy.services_volume_uzs", figures.economyTargetUZS), ("export.software_usd", figures.exportTargetUSD),
                                ("services.mobile", figures.mobileTarget)] {
            emit(.targetSet, .nation, on: set, source: "ministry-digital-technologies", [.string(metric), .number(value), deadline])
        }
        let end = figures.end.days, period = FieldValue.string(figures.economyPeriod)
        emit(.economyReported, .nation, on: end, source: "committee-statistics", [period, .number(figures.economyVolumeUZS)])
        emit(.exportReported, .nation, on: end, source: "committee-statistics", [period, .number(figures.softwareExportUSD)])
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? self : String(repeating: "0", count: width - count) + self }
}
