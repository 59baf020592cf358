import RaqamModel

/// The 14 regions as a tile map laid out geographically (west to east, north to south: not
/// their boundaries, which raqam ships no open data for), each tile shaded by the share of its
/// districts and cities flagged and linking to its region's page. Drawn by the server as SVG.
enum RegionTileMap {
    /// Column and row of each region's tile, by SOATO code.
    static let tiles: [String: (col: Int, row: Int)] = [
        "1735": (0, 0), "1733": (0, 1), "1712": (1, 0), "1706": (1, 1), "1718": (2, 1), "1708": (2, 0),
        "1710": (2, 2), "1722": (3, 3), "1724": (3, 1), "1726": (3, 0), "1727": (4, 0), "1714": (5, 0),
        "1730": (5, 1), "1703": (6, 1),
    ]

    struct Tile {
        var key: EntityKey
        var name: String
        var districts: Int
        var flagged: Int
        var href: String
        var share: Double { districts == 0 ? 0 : Double(flagged) / Double(districts) }
    }

    static let width = 120, height = 64, gap = 6

    /// The fill for a share of 0…1: from white (none flagged) to a deep red (all), on one
    /// line through RGB, so that a test can read the share back from the colour.
    static func fill(_ share: Double) -> (r: Int, g: Int, b: Int) {
        let s = min(max(share, 0), 1)
        return (255 - Int((255 - 164) * s), 255 - Int((255 - 22) * s), 255 - Int((255 - 26) * s))
    }

    static func svg(_ tiles: [Tile], flaggedWord: String) -> String {
        let cols = 7, rows = 4
        let w = cols * (width + gap), h = rows * (height + gap)
        var out = "<svg id=\"region-map\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(w) \(h)\" width=\"\(w)\" height=\"\(h)\" role=\"img\" aria-label=\"regions\">"
        for t in tiles.sorted(by: { $0.key < $1.key }) {
            guard let place = Self.tiles[t.key.code] else { continue }
            let x = place.col * (width + gap), y = place.row * (height + gap)
            let c = fill(t.share)
            let dark = t.share > 0.55
            out += "<a href=\"\(escape(t.href))\" class=\"tile\" data-region=\"\(t.key)\" data-districts=\"\(t.districts)\" data-flagged=\"\(t.flagged)\">"
            out += "<title>\(escape(t.name)): \(t.flagged)/\(t.districts) \(escape(flaggedWord))</title>"
            out += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(width)\" height=\"\(height)\" rx=\"6\" fill=\"rgb(\(c.r),\(c.g),\(c.b))\"/>"
            let label = t.name.count > 18 ? String(t.name.prefix(17)) + "…" : t.name
            out += "<text x=\"\(x + 8)\" y=\"\(y + 24)\"\(dark ? " class=\"dark\"" : "")>\(escape(label))</text>"
            out += "<text x=\"\(x + 8)\" y=\"\(y + 46)\"\(dark ? " class=\"dark\"" : "")>\(t.flagged)/\(t.districts) · \(WebFormat.percent(t.share))</text>"
            out += "</a>"
        }
        return out + "</svg>"
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(ch)
            }
        }
        return out
    }
}
