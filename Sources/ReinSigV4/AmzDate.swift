/// SigV4 time stamps: `yyyyMMdd'T'HHmmss'Z'` (X-Amz-Date) and the HTTP
/// `Date` header, as whole seconds since the Unix epoch (UTC).
public enum AmzDate {
    /// Parses the basic ISO 8601 form, strictly.
    public static func parse(_ text: String) -> Int64? {
        guard text.utf8.count == 16 else { return nil }
        if let t = text.utf8.withContiguousStorageIfAvailable({ parse(bytes: $0) }) { return t }
        return Array(text.utf8).withUnsafeBufferPointer { parse(bytes: $0) }
    }

    private static func parse(bytes u: UnsafeBufferPointer<UInt8>) -> Int64? {
        guard u.count == 16, u[8] == UInt8(ascii: "T"), u[15] == UInt8(ascii: "Z") else { return nil }
        guard let y = digits(u, 0, 4), let mo = digits(u, 4, 2), let d = digits(u, 6, 2),
              let h = digits(u, 9, 2), let mi = digits(u, 11, 2), let s = digits(u, 13, 2)
        else { return nil }
        return epoch(year: y, month: mo, day: d, hour: h, minute: mi, second: s)
    }

    /// Formats seconds since the epoch as `yyyyMMdd'T'HHmmss'Z'`.
    public static func format(_ t: Int64) -> String {
        let (y, mo, d, h, mi, s, _) = civil(t)
        return String(unsafeUninitializedCapacity: 16) { out in
            func put(_ v: Int, _ at: Int, _ width: Int) {
                var v = v
                for i in stride(from: at + width - 1, through: at, by: -1) {
                    out[i] = UInt8(ascii: "0") + UInt8(v % 10)
                    v /= 10
                }
            }
            put(y, 0, 4); put(mo, 4, 2); put(d, 6, 2)
            out[8] = UInt8(ascii: "T")
            put(h, 9, 2); put(mi, 11, 2); put(s, 13, 2)
            out[15] = UInt8(ascii: "Z")
            return 16
        }
    }

    /// Parses an RFC 7231 IMF-fixdate (`Fri, 24 May 2013 00:00:00 GMT`), also
    /// accepting the numeric zones `+0000`/`-0000` that Python's formatdate writes.
    public static func parseHTTPDate(_ text: String) -> Int64? {
        let parts = text.split(separator: " ")
        guard parts.count == 6, parts[0].hasSuffix(","),
              let d = Int(parts[1]), let mo = months.firstIndex(of: String(parts[2])), let y = Int(parts[3]),
              ["GMT", "UTC", "+0000", "-0000", "Z"].contains(parts[5])
        else { return nil }
        let hms = parts[4].split(separator: ":")
        guard hms.count == 3, let h = Int(hms[0]), let mi = Int(hms[1]), let s = Int(hms[2]) else { return nil }
        return epoch(year: y, month: mo + 1, day: d, hour: h, minute: mi, second: s)
    }

    /// Formats as Python's `email.utils.formatdate(t)` does (botocore's Date header).
    public static func formatHTTPDate(_ t: Int64) -> String {
        let (y, mo, d, h, mi, s, wd) = civil(t)
        return "\(weekdays[wd]), \(pad(d, 2)) \(months[mo - 1]) \(pad(y, 4)) \(pad(h, 2)):\(pad(mi, 2)):\(pad(s, 2)) -0000"
    }

    /// Parses RFC 3339 / ISO 8601 extended (`2015-08-30T12:36:00Z`), for CLI flags.
    public static func parseISO8601(_ text: String) -> Int64? {
        let compact = String(decoding: text.utf8.filter { $0 != UInt8(ascii: "-") && $0 != UInt8(ascii: ":") }, as: UTF8.self)
        return parse(compact)
    }

    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    static let weekdays = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]

    private static func digits(_ u: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int? {
        var v = 0
        for i in start..<(start + count) {
            let c = u[i]
            guard c >= 0x30 && c <= 0x39 else { return nil }
            v = v * 10 + Int(c - 0x30)
        }
        return v
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return s.count >= width ? s : String(repeating: "0", count: width - s.count) + s
    }

    /// Days from civil (Howard Hinnant's algorithm); validates ranges.
    static func epoch(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64? {
        guard (1...12).contains(month), (1...31).contains(day), (0...23).contains(hour),
              (0...59).contains(minute), (0...60).contains(second), (1970...9999).contains(year)
        else { return nil }
        let dim = [31, (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard day <= dim[month - 1] else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146097 + doe - 719468
        return Int64(days) * 86400 + Int64(hour * 3600 + minute * 60 + second)
    }

    static func civil(_ t: Int64) -> (Int, Int, Int, Int, Int, Int, Int) {
        let days = Int(t >= 0 ? t / 86400 : (t - 86399) / 86400)
        let secs = Int(t - Int64(days) * 86400)
        let z = days + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
        let weekday = ((days % 7) + 11) % 7 // 1970-01-01 was a Thursday (4)
        return (y, m, d, secs / 3600, (secs % 3600) / 60, secs % 60, weekday)
    }
}
